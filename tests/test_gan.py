"""calc_core.gan: the facts of issue 12 about the three games, and the hand-derived GAN gradients.

Closed-form facts of the linear games are exact to ~1e-12; the 1-D GAN's outcomes are asserted with
margins that last-bit differences between CPUs cannot cross.
"""

import math

import numpy as np
import pytest

from calc_core.common.gradcheck import check_gradients
from calc_core.gan import (
    METHODS,
    alternating_invariant,
    dirac_gan_eigenvalues,
    dirac_gan_field,
    dirac_gan_jacobian,
    dirac_gan_run,
    dirac_gan_spectral_radius,
    dirac_gan_trajectory,
    dirac_gan_update_matrix,
    dirac_gan_value,
    game_eigenvalues,
    game_run,
    game_spectral_radius,
    game_trajectory,
    game_update_matrix,
    gan_1d_gradients,
    gan_1d_losses,
    match,
    train_gan_1d,
)
from calc_core.gan.checks import game_checks
from calc_core.gan.linear import eigenvalues, update_eigenvalues, update_matrix

ETAS = (0.01, 0.1, 0.3, 0.5, 0.9, 1.5)


def norms(z):
    return np.hypot(z[:, 0], z[:, 1])


def assert_same_eigenvalues(actual, expected, atol):
    """The same multiset of complex numbers, whatever order (sorting ties breaks on last bits)."""
    actual, remaining = list(np.asarray(actual)), list(np.asarray(expected))
    assert len(actual) == len(remaining)
    for value in actual:
        k = int(np.argmin(np.abs(np.array(remaining) - value)))
        assert abs(remaining.pop(k) - value) <= atol, (actual, expected)


# ----------------------------------------------------------------------------- the bilinear game

@pytest.mark.parametrize("method", METHODS)
def test_game_trajectory_has_steps_plus_one_rows_starting_at_the_start(method):
    z = game_trajectory(method, 0.2, 37, (0.7, -1.3))
    assert z.shape == (38, 2)
    assert z[0].tolist() == [0.7, -1.3]
    assert np.all(np.isfinite(z))


@pytest.mark.parametrize("eta", ETAS)
def test_simultaneous_gda_multiplies_the_norm_by_exactly_sqrt_1_plus_eta_squared(eta):
    z = game_trajectory("simultaneous", eta, 60, (0.3, 1.1))
    ratios = norms(z)[1:] / norms(z)[:-1]
    np.testing.assert_allclose(ratios, math.sqrt(1 + eta * eta), rtol=1e-13, atol=0)
    assert game_spectral_radius("simultaneous", eta) == pytest.approx(math.sqrt(1 + eta * eta), rel=1e-15)


def test_simultaneous_gda_is_the_two_line_update_of_the_issue():
    eta, (x, y) = 0.3, (0.4, -0.9)
    z = game_trajectory("simultaneous", eta, 1, (x, y))
    assert z[1].tolist() == [x - eta * y, y + eta * x]
    z = game_trajectory("alternating", eta, 1, (x, y))
    assert z[1].tolist() == [x - eta * y, y + eta * (x - eta * y)]


@pytest.mark.parametrize("eta", (0.05, 0.5, 1.0, 1.5, 1.99))
def test_alternating_gda_has_determinant_one_and_conserves_x2_plus_y2_minus_eta_xy(eta):
    assert np.linalg.det(game_update_matrix("alternating", eta)) == pytest.approx(1.0, abs=1e-14)
    z = game_trajectory("alternating", eta, 3000, (1.0, 0.4))
    q = alternating_invariant(z[:, 0], z[:, 1], eta)
    np.testing.assert_allclose(q, q[0], rtol=1e-11)
    # bounded: the conserved quadratic form is positive definite for η < 2
    assert norms(z).max() < 2 / math.sqrt(1 - eta / 2) * norms(z)[0]
    assert game_spectral_radius("alternating", eta) == pytest.approx(1.0, abs=1e-12)


def test_alternating_gda_grows_beyond_eta_2():
    assert game_spectral_radius("alternating", 2.1) > 1.3
    z = game_trajectory("alternating", 2.1, 60, (1.0, 0.4))
    assert norms(z)[-1] > 1e5


@pytest.mark.parametrize("eta", (0.05, 0.3, 0.5, 0.8, 0.99))
def test_extragradient_eigenvalues_have_modulus_sqrt_1_minus_eta2_plus_eta4(eta):
    expected = math.sqrt(1 - eta**2 + eta**4)
    assert expected < 1
    np.testing.assert_allclose(np.abs(game_eigenvalues("extragradient", eta)), expected, rtol=1e-14)
    np.testing.assert_allclose(np.abs(eigenvalues(game_update_matrix("extragradient", eta))), expected, rtol=1e-13)
    z = game_trajectory("extragradient", eta, 50, (1.0, -2.0))
    np.testing.assert_allclose(norms(z)[1:] / norms(z)[:-1], expected, rtol=1e-13)


def test_extragradient_converges_on_the_bilinear_game():
    z = game_trajectory("extragradient", 0.5, 400, (1.0, 1.0))
    assert norms(z)[-1] < 1e-15 * 1e3
    assert np.all(np.diff(norms(z)) < 0)


def test_optimistic_spectral_radius_is_below_one_exactly_for_eta_below_one_over_root_3():
    boundary = 1 / math.sqrt(3)
    assert game_spectral_radius("optimistic", boundary) == pytest.approx(1.0, abs=1e-12)
    for eta in np.linspace(0.005, boundary - 1e-3, 60):
        assert game_spectral_radius("optimistic", eta) < 1, eta
    for eta in np.linspace(boundary + 1e-3, 2.0, 60):
        assert game_spectral_radius("optimistic", eta) > 1, eta
    assert game_spectral_radius("optimistic", 0.5) == pytest.approx(1 / math.sqrt(2), abs=1e-12)
    assert round(game_spectral_radius("optimistic", 0.5), 3) == 0.707
    assert round(game_spectral_radius("optimistic", 0.6), 3) == 1.057


def test_optimistic_update_matrix_is_4x4_on_the_current_and_previous_iterate():
    eta = 0.35
    M = game_update_matrix("optimistic", eta)
    assert M.shape == (4, 4)
    z = game_trajectory("optimistic", eta, 30, (0.8, -0.3))
    state = np.concatenate([z[0], z[0]])  # z₋₁ = z₀
    for t in range(30):
        state = M @ state
        np.testing.assert_allclose(state[:2], z[t + 1], rtol=1e-12, atol=1e-15)
    # the closed-form eigenvalues are the general solver's, away from the double root at η = 1/2
    assert_same_eigenvalues(game_eigenvalues("optimistic", eta), np.linalg.eigvals(M), atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("gamma", (0.0, 0.7))
def test_every_update_matrix_is_the_step_the_trajectory_takes(method, gamma):
    eta, start = 0.45, np.array([0.9, -0.4])
    z = game_trajectory(method, eta, 5, start, gamma)
    M = game_update_matrix(method, eta, gamma)
    state = start if M.shape == (2, 2) else np.concatenate([start, start])
    for t in range(5):
        state = M @ state
        np.testing.assert_allclose(state[:2], z[t + 1], rtol=1e-12, atol=1e-15)


def test_a_blown_up_game_stops_at_the_step_and_keeps_only_finite_iterates():
    run = game_run("simultaneous", 2.0, 2000, (1e6, 1e6))
    assert run.diverged_step is not None and run.diverged_step < 2000
    assert np.all(np.isfinite(run.trajectory))
    assert run.trajectory.shape[0] == run.diverged_step + 1
    assert game_run("alternating", 0.5, 2000, (1e6, 1e6)).diverged_step is None


# ----------------------------------------------------------------------------- the Dirac-GAN

def test_dirac_gan_field_is_minus_psi_f_prime_and_theta_f_prime_minus_gamma_psi():
    rng = np.random.default_rng(3)
    theta, psi = rng.normal(size=50) * 3, rng.normal(size=50) * 3
    for gamma in (0.0, 0.8):
        f_prime = 1 / (1 + np.exp(psi * theta))  # f(t) = −log(1 + e^{−t}), f′(t) = 1/(1 + eᵗ)
        theta_dot, psi_dot = dirac_gan_field(theta, psi, gamma)
        np.testing.assert_allclose(theta_dot, -psi * f_prime, rtol=1e-13)
        np.testing.assert_allclose(psi_dot, theta * f_prime - gamma * psi, rtol=1e-12, atol=1e-15)
    assert dirac_gan_field(0.0, 0.0) == (0.0, 0.0)


def test_dirac_gan_field_is_the_players_gradients_of_the_objective():
    h = 1e-6
    for theta, psi, gamma in ((0.7, -1.2, 0.0), (-2.0, 0.5, 1.5)):
        L = lambda t, p: dirac_gan_value(t, p, gamma)  # noqa: E731
        dL_dtheta = (L(theta + h, psi)[0] - L(theta - h, psi)[0]) / (2 * h)
        dLD_dpsi = (L(theta, psi + h)[1] - L(theta, psi - h)[1]) / (2 * h)
        theta_dot, psi_dot = dirac_gan_field(theta, psi, gamma)
        assert theta_dot == pytest.approx(-dL_dtheta, rel=1e-8)
        assert psi_dot == pytest.approx(dLD_dpsi, rel=1e-8)


def test_dirac_gan_jacobian_matches_central_differences_of_the_field():
    h = 1e-6
    for theta, psi, gamma in ((0.0, 0.0, 0.0), (0.0, 0.0, 1.3), (0.8, -0.6, 0.4)):
        numeric = np.empty((2, 2))
        for k, (dt, dp) in enumerate(((h, 0), (0, h))):
            plus = np.array(dirac_gan_field(theta + dt, psi + dp, gamma))
            minus = np.array(dirac_gan_field(theta - dt, psi - dp, gamma))
            numeric[:, k] = (plus - minus) / (2 * h)
        np.testing.assert_allclose(dirac_gan_jacobian(gamma, theta, psi), numeric, atol=1e-9)


def test_dirac_gan_eigenvalues_are_plus_minus_i_over_2_without_the_penalty():
    assert_same_eigenvalues(np.linalg.eigvals(dirac_gan_jacobian(0.0)), [0.5j, -0.5j], atol=1e-15)
    assert_same_eigenvalues(dirac_gan_eigenvalues(0.0), [0.5j, -0.5j], atol=1e-15)


@pytest.mark.parametrize("gamma", (0.2, 0.6, 1.0, 1.7, 4.0))
def test_dirac_gan_eigenvalues_with_r1_are_minus_gamma_over_2_plus_minus_root(gamma):
    root = np.sqrt(complex(gamma**2 / 4 - 1 / 4))
    expected = [-gamma / 2 + root, -gamma / 2 - root]
    # at γ = 1 the eigenvalue −1/2 is double: a general solver finds it only to about √ε
    assert_same_eigenvalues(np.linalg.eigvals(dirac_gan_jacobian(gamma)), expected, atol=1e-7)
    assert_same_eigenvalues(dirac_gan_eigenvalues(gamma), expected, atol=1e-15)
    assert np.all(dirac_gan_eigenvalues(gamma).real < 0)  # local convergence
    # no oscillation once γ ≥ 1: both eigenvalues real
    assert np.all(np.abs(dirac_gan_eigenvalues(gamma).imag) < 1e-15) == (gamma >= 1)


@pytest.mark.parametrize("method", ("simultaneous", "alternating"))
def test_dirac_gan_converges_with_r1(method):
    z = dirac_gan_trajectory(method, 0.2, 600, (1.0, 1.0), gamma=1.0)
    assert norms(z)[-1] < 1e-8
    assert dirac_gan_spectral_radius(method, 0.2, 1.0) < 1


def test_dirac_gan_without_penalty_does_not_converge():
    simultaneous = dirac_gan_trajectory("simultaneous", 0.2, 2000, (1.0, 1.0))
    assert norms(simultaneous)[-1] > 1.5 * norms(simultaneous)[0]  # spirals out
    alternating = dirac_gan_trajectory("alternating", 0.2, 2000, (1.0, 1.0))
    assert norms(alternating).min() > 0.5 * norms(alternating)[0]  # circles, never closes in
    assert norms(alternating).max() < 2.0 * norms(alternating)[0]
    assert dirac_gan_spectral_radius("simultaneous", 0.2) > 1
    assert dirac_gan_spectral_radius("alternating", 0.2) == pytest.approx(1.0, abs=1e-12)


def test_dirac_gan_converges_with_extragradient():
    z = dirac_gan_trajectory("extragradient", 0.5, 1500, (1.0, 1.0))
    assert norms(z)[-1] < 1e-4
    assert dirac_gan_spectral_radius("extragradient", 0.5) < 1


def test_dirac_gan_update_matrix_is_the_linearized_step():
    eps = 1e-7
    for method in METHODS:
        z = dirac_gan_trajectory(method, 0.3, 1, (eps, -eps), gamma=0.4)
        M = dirac_gan_update_matrix(method, 0.3, 0.4)
        start = np.array([eps, -eps])
        expected = (M @ (start if M.shape == (2, 2) else np.concatenate([start, start])))[:2]
        np.testing.assert_allclose(z[1], expected, rtol=1e-6)


def test_dirac_gan_runs_stay_finite_far_from_the_equilibrium():
    for method in METHODS:
        run = dirac_gan_run(method, 2.0, 300, (1e6, -1e6), gamma=5.0)
        assert np.all(np.isfinite(run.trajectory))


# ----------------------------------------------------------------------------- linear algebra

def test_closed_form_eigenvalues_agree_with_a_general_solver_on_a_grid():
    rng = np.random.default_rng(0)
    for _ in range(40):
        J = rng.normal(size=(2, 2))
        eta = rng.uniform(0.01, 1.5)
        for method in METHODS:
            assert_same_eigenvalues(update_eigenvalues(J, method, eta),
                                    np.linalg.eigvals(update_matrix(J, method, eta)), atol=1e-6)


# ----------------------------------------------------------------------------- the 1-D GAN's gradients

def random_point(rng, logit_scale=1.0):
    params = {"a": rng.normal(1, 0.5), "b": rng.normal(0, 2), "w2": rng.normal(0, 0.2) * logit_scale,
              "w1": rng.normal(0, 1) * logit_scale, "c": rng.normal(0, 1) * logit_scale}
    return params, rng.normal(rng.uniform(-3, 3), rng.uniform(0.3, 2), 24), rng.normal(size=24)


def player_checks(params, x_real, z, loss, gamma, analytic=None, **kw):
    """check_gradients on L_D over (w2, w1, c) and on L_G over (a, b), each coordinate a parameter."""
    grads = analytic or gan_1d_gradients(params, x_real, z, loss, gamma)["grad"]
    wide = (np.asarray(x_real, dtype=np.longdouble), np.asarray(z, dtype=np.longdouble))
    checks = []
    for names, which in ((("w2", "w1", "c"), 0), (("a", "b"), 1)):
        def f(values, batch=(np.asarray(x_real), np.asarray(z)), which=which):
            merged = {**params, **{k: v[0] for k, v in values.items()}}
            return float(gan_1d_losses(merged, *batch, loss, gamma)[which])

        def f_ext(values, which=which):
            merged = {**{k: np.longdouble(v) for k, v in params.items()}, **{k: v[0] for k, v in values.items()}}
            return gan_1d_losses(merged, *wide, loss, gamma)[which]

        checks += check_gradients(f, {k: np.array([params[k]]) for k in names},
                                  {k: np.array([grads[k]]) for k in names}, extended=f_ext, **kw)
    return checks


@pytest.mark.parametrize("loss", ("non_saturating", "saturating"))
@pytest.mark.parametrize("gamma", (0.0, 0.8))
def test_gan_1d_gradients_match_central_differences_at_random_points(loss, gamma):
    rng = np.random.default_rng(11 if gamma else 7)
    verdicts = []
    for _ in range(8):
        params, x_real, z = random_point(rng)
        verdicts += [check.verdict for check in player_checks(params, x_real, z, loss, gamma)]
    assert "fail" not in verdicts
    assert verdicts.count("pass") >= 0.9 * len(verdicts), verdicts


@pytest.mark.parametrize("loss", ("non_saturating", "saturating"))
def test_a_slightly_wrong_or_sign_flipped_gradient_never_passes(loss):
    rng = np.random.default_rng(5)
    for trial in range(6):
        params, x_real, z = random_point(rng)
        gamma = 0.5 * (trial % 2)
        grads = gan_1d_gradients(params, x_real, z, loss, gamma)["grad"]
        scaled = {k: v * (1 + 1e-4) for k, v in grads.items()}
        assert not any(c.passed for c in player_checks(params, x_real, z, loss, gamma, scaled))
        for group in (("w2", "w1", "c"), ("a", "b")):
            largest = max(group, key=lambda k: abs(grads[k]))
            flipped = {**grads, largest: -grads[largest]}
            checks = player_checks(params, x_real, z, loss, gamma, flipped)
            assert not [c for c in checks if c.name == largest][0].passed


def test_gan_1d_loss_values_are_the_formulas_of_the_issue():
    params, x_real, z = random_point(np.random.default_rng(2))
    sigmoid = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731 — moderate logits: the naive formula is fine
    h = lambda x: params["w2"] * x**2 + params["w1"] * x + params["c"]  # noqa: E731
    fake = params["a"] * z + params["b"]
    for loss, expected_g in (("saturating", np.mean(np.log(1 - sigmoid(h(fake))))),
                             ("non_saturating", -np.mean(np.log(sigmoid(h(fake)))))):
        out = gan_1d_gradients(params, x_real, z, loss, gamma=0.3)
        r1 = 0.15 * np.mean((2 * params["w2"] * x_real + params["w1"]) ** 2)
        expected_d = -np.mean(np.log(sigmoid(h(x_real)))) - np.mean(np.log(1 - sigmoid(h(fake)))) + r1
        assert out["loss_d"] == pytest.approx(expected_d, rel=1e-12)
        assert out["loss_g"] == pytest.approx(expected_g, rel=1e-12)
        assert set(out["grad"]) == {"a", "b", "w2", "w1", "c"}
        assert all(isinstance(v, float) for v in out["grad"].values())


def torch_reference(params, x_real, z, loss, gamma):
    """L_D and L_G and their gradients by PyTorch's autograd (float64, log-sigmoid forms)."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    p = {k: torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    xr, zz = torch.tensor(x_real, dtype=torch.float64), torch.tensor(z, dtype=torch.float64)
    fake = p["a"] * zz + p["b"]

    def h(x):
        return p["w2"] * x * x + p["w1"] * x + p["c"]

    u = 2 * p["w2"] * xr + p["w1"]
    loss_d = -F.logsigmoid(h(xr)).mean() - F.logsigmoid(-h(fake)).mean() + gamma / 2 * (u * u).mean()
    loss_g = F.logsigmoid(-h(fake)).mean() if loss == "saturating" else -F.logsigmoid(h(fake)).mean()
    grad_d = torch.autograd.grad(loss_d, [p["w2"], p["w1"], p["c"]])
    grad_g = torch.autograd.grad(loss_g, [p["a"], p["b"]])
    grads = dict(zip(("w2", "w1", "c", "a", "b"), (float(g) for g in grad_d + grad_g)))
    return float(loss_d.detach()), float(loss_g.detach()), grads


@pytest.mark.parametrize("loss", ("non_saturating", "saturating"))
@pytest.mark.parametrize("gamma", (0.0, 1.3))
def test_gan_1d_gradients_match_pytorch_autograd(loss, gamma):
    rng = np.random.default_rng(21)
    for _ in range(10):
        params, x_real, z = random_point(rng, logit_scale=rng.uniform(0.1, 5))
        out = gan_1d_gradients(params, x_real, z, loss, gamma)
        loss_d, loss_g, grads = torch_reference(params, x_real, z, loss, gamma)
        assert out["loss_d"] == pytest.approx(loss_d, rel=1e-12)
        assert out["loss_g"] == pytest.approx(loss_g, rel=1e-12, abs=1e-300)
        scale = max(abs(v) for v in grads.values())
        for name, value in grads.items():
            assert out["grad"][name] == pytest.approx(value, rel=1e-9, abs=1e-12 * scale), name


@pytest.mark.parametrize("c", (50.0, -50.0, 300.0, -300.0))
@pytest.mark.parametrize("loss", ("non_saturating", "saturating"))
def test_gan_1d_gradients_are_stable_at_saturated_logits(c, loss):
    """Logits of ±50 and beyond: σ is 1 − 2·10⁻²² or 2·10⁻²²; no NaN or inf, every digit kept."""
    rng = np.random.default_rng(4)
    x_real, z = rng.normal(0, 0.1, 16), rng.normal(size=16)
    params = {"a": 0.05, "b": 0.0, "w2": 0.3, "w1": 0.7, "c": c}
    out = gan_1d_gradients(params, x_real, z, loss, gamma=0.5)
    values = [out["loss_d"], out["loss_g"], *out["grad"].values()]
    assert np.all(np.isfinite(values))
    loss_d, loss_g, grads = torch_reference(params, x_real, z, loss, 0.5)
    assert out["loss_d"] == pytest.approx(loss_d, rel=1e-12)
    assert out["loss_g"] == pytest.approx(loss_g, rel=1e-12)
    for name, value in grads.items():
        # even a gradient of 1e-22 (the saturating loss at c = −50) keeps its relative precision
        assert out["grad"][name] == pytest.approx(value, rel=1e-9, abs=1e-300), name
    if loss == "saturating" and c < 0:
        assert 0 < abs(out["grad"]["b"]) < 1e-20  # the saturating loss vanishes when D rejects the fakes


def test_gan_1d_gradients_stay_finite_for_huge_logits():
    params = {"a": 10.0, "b": 100.0, "w2": 50.0, "w1": -30.0, "c": 1e4}
    out = gan_1d_gradients(params, np.linspace(-50, 50, 9), np.linspace(-3, 3, 9), "saturating", 2.0)
    assert np.all(np.isfinite([out["loss_d"], out["loss_g"], *out["grad"].values()]))


# ----------------------------------------------------------------------------- training the 1-D GAN

@pytest.mark.slow
def test_the_non_saturating_gan_learns_at_its_defaults_for_19_of_seeds_0_to_19():
    learned, errors = 0, []
    for seed in range(20):
        m = match(train_gan_1d(seed=seed))
        learned += m.learned
        errors.append(max(m.spread_error, m.mean_error))
    assert learned >= 19, errors


def test_train_gan_1d_returns_histories_and_snapshots():
    run = train_gan_1d(steps=120, seed=3)
    for name in ("a", "b", "w2", "w1", "c"):
        assert getattr(run, name).shape == (121,)
    assert run.loss_d.shape == run.loss_g.shape == run.d_fake.shape == (120,)
    assert run.discriminator.shape == (121, 3)
    assert run.a[0] == 1.0 and run.b[0] == 0.0
    assert run.snapshots.steps[0] == 0 and run.snapshots.steps[-1] == 120 and len(run.snapshots) <= 41
    np.testing.assert_array_equal(run.snapshots.states["b"], run.b[run.snapshots.steps])
    assert run.diverged_step is None


def test_train_gan_1d_is_reproducible_for_a_seed():
    a, b = train_gan_1d(steps=50, seed=9), train_gan_1d(steps=50, seed=9)
    np.testing.assert_array_equal(a.b, b.b)
    assert not np.array_equal(a.b, train_gan_1d(steps=50, seed=10).b)


@pytest.mark.parametrize("order", ("simultaneous", "alternating"))
def test_train_gan_1d_draws_its_batches_in_blocks_that_change_nothing(monkeypatch, order):
    from calc_core.gan import training
    options = {"steps": 90, "d_steps": 3, "batch_size": 16, "seed": 5, "order": order}
    whole_run = train_gan_1d(**options)
    monkeypatch.setattr(training, "BATCH_NUMBERS", 3 * 16 * 7)  # a block of 7 steps: 13 blocks, the last short
    in_blocks = train_gan_1d(**options)
    for field in ("a", "b", "w2", "w1", "c", "loss_d", "loss_g"):
        np.testing.assert_array_equal(getattr(in_blocks, field), getattr(whole_run, field))


def test_train_gan_1d_memory_stays_bounded_on_the_page_s_largest_run():
    import tracemalloc
    tracemalloc.start()
    try:
        train_gan_1d(steps=200, d_steps=10, batch_size=1024, seed=0)  # 2,048,000 samples per stream in all
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # blocks of 2¹⁸ samples per stream (2 MB each), not the run's 16 MB per stream at once
    assert peak < 12e6


@pytest.mark.parametrize("options", (
    {"optimizer": "sgd"}, {"order": "alternating"}, {"d_steps": 3}, {"gamma": 1.0}, {"loss": "saturating"},
    {"batch_size": 1}, {"steps": 1},
))
def test_train_gan_1d_runs_every_option_without_nan(options):
    run = train_gan_1d(**{"steps": 60, **options})
    assert np.all(np.isfinite(np.concatenate([run.a, run.b, run.w2, run.w1, run.c, run.loss_d, run.loss_g])))


def test_a_blown_up_gan_stops_and_reports_the_step():
    run = train_gan_1d(optimizer="sgd", lr_d=1.0, lr_g=1.0, steps=500, seed=0)
    assert run.diverged_step is not None and run.diverged_step <= 500
    assert run.a.size == run.diverged_step  # the states before the blow-up
    assert run.loss_d.size == run.diverged_step - 1
    assert np.all(np.isfinite(np.concatenate([run.a, run.b, run.w2, run.w1, run.c, run.loss_d])))
    assert run.snapshots.steps[-1] == run.completed_steps


# ----------------------------------------------------------------------------- bad settings

@pytest.mark.parametrize("lr", (0, -0.1, float("nan"), float("inf"), "0.1", None, True))
def test_a_bad_learning_rate_raises_a_clear_value_error(lr):
    with pytest.raises(ValueError, match="lr"):
        game_trajectory("simultaneous", lr, 10, (1, 0))
    with pytest.raises(ValueError, match="lr"):
        dirac_gan_trajectory("simultaneous", lr, 10, (1, 0))
    with pytest.raises(ValueError, match="lr"):
        game_update_matrix("alternating", lr)
    with pytest.raises(ValueError, match="lr_d"):
        train_gan_1d(lr_d=lr)


@pytest.mark.parametrize("steps", (0, -3, 2.5, float("nan"), "10"))
def test_bad_steps_raise(steps):
    with pytest.raises(ValueError, match="steps"):
        game_trajectory("simultaneous", 0.1, steps, (1, 0))
    with pytest.raises(ValueError, match="steps"):
        train_gan_1d(steps=steps)


def test_unknown_method_loss_or_option_raises():
    with pytest.raises(ValueError, match="method"):
        game_trajectory("momentum", 0.1, 10, (1, 0))
    with pytest.raises(ValueError, match="method"):
        game_update_matrix("adam", 0.1)
    with pytest.raises(ValueError, match="loss"):
        gan_1d_gradients({"a": 1, "b": 0, "w2": 0, "w1": 0, "c": 0}, [1.0], [0.0], "wasserstein")
    with pytest.raises(ValueError, match="loss"):
        train_gan_1d(loss="hinge")
    with pytest.raises(ValueError, match="optimizer"):
        train_gan_1d(optimizer="rmsprop")
    with pytest.raises(ValueError, match="order"):
        train_gan_1d(order="random")


def test_bad_inputs_of_the_gradients_raise():
    good = {"a": 1.0, "b": 0.0, "w2": 0.1, "w1": 0.2, "c": 0.0}
    with pytest.raises(ValueError, match="keys"):
        gan_1d_gradients({"a": 1.0}, [1.0], [0.0], "saturating")
    with pytest.raises(ValueError, match="w1"):
        gan_1d_gradients({**good, "w1": float("nan")}, [1.0], [0.0], "saturating")
    with pytest.raises(ValueError, match="x_real"):
        gan_1d_gradients(good, [1.0, float("inf")], [0.0], "saturating")
    with pytest.raises(ValueError, match="z"):
        gan_1d_gradients(good, [1.0], [[0.0]], "saturating")
    with pytest.raises(ValueError, match="gamma"):
        gan_1d_gradients(good, [1.0], [0.0], "saturating", gamma=-1)


def test_bad_start_gamma_and_data_raise():
    with pytest.raises(ValueError, match="start"):
        game_trajectory("simultaneous", 0.1, 10, (1.0, float("nan")))
    with pytest.raises(ValueError, match="start"):
        game_trajectory("simultaneous", 0.1, 10, (1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="gamma"):
        dirac_gan_field(1.0, 1.0, gamma=-0.5)
    with pytest.raises(ValueError, match="data_std"):
        train_gan_1d(data_std=0)
    with pytest.raises(ValueError, match="batch_size"):
        train_gan_1d(batch_size=0)
    with pytest.raises(ValueError, match="d_steps"):
        train_gan_1d(d_steps=0)
    with pytest.raises(ValueError, match="seed"):
        train_gan_1d(seed=-1)


def test_the_dirac_gradient_check_resolves_a_start_next_to_the_equilibrium(monkeypatch):
    """At (−0.0117, −9.9·10⁻¹⁰) the logit ψθ is 10⁻¹¹: f(ψθ) ≈ −log 2 + ψθ/2, and the rounding of −log 2 hid
    the slope. The check differences f(t) − f(t₀) computed from the move itself."""
    from calc_core.gan import checks as checks_module
    for start, gamma in (((-0.0117, -9.9e-10), 0.0), ((1e-8, 1e-8), 0.3), ((3e-6, -2e-7), 1.0)):
        assert [c.verdict for c in game_checks("dirac", start, gamma)] == ["pass", "pass"], start
    honest = checks_module.dirac_gan_field
    for factor in (1 + 1e-4, -1.0):  # a field wrong by 10⁻⁴, or of the wrong sign, fails there
        monkeypatch.setattr(checks_module, "dirac_gan_field",
                            lambda theta, psi, gamma=0.0, k=factor: tuple(v * k for v in honest(theta, psi, gamma)))
        assert [c.verdict for c in game_checks("dirac", (-0.0117, -9.9e-10), 0.2)] == ["fail", "fail"]


def test_f_change_is_the_change_of_f_to_its_own_rounding():
    from calc_core.gan.dirac import f_change
    # f(t) − f(0) = t/2 − t²/8 + … near 0
    assert f_change(0.0, 1e-12) == pytest.approx(5e-13 * (1 - 2.5e-13), rel=1e-14)
    assert f_change(242.0, 0.5) == pytest.approx(math.exp(-242) * (1 - math.exp(-0.5)), rel=1e-13)
    wide = np.longdouble
    for t0, dt in ((0.3, -0.2), (-40.0, 0.7), (5.0, 3.0), (-2.0, -300.0)):
        exact = -np.logaddexp(wide(0), -(wide(t0) + wide(dt))) + np.logaddexp(wide(0), -wide(t0))
        assert float(f_change(t0, dt)) == pytest.approx(float(exact), rel=1e-13, abs=1e-300)
        assert f_change(wide(t0), wide(dt)).dtype == np.longdouble


def test_over_a_sweep_of_starts_the_dirac_check_never_fails_and_is_rarely_too_flat():
    rng = np.random.default_rng(3)
    verdicts = []
    for _ in range(150):
        start = tuple(float(rng.normal() * 10 ** rng.uniform(-10, 4)) for _ in range(2))
        verdicts += [c.verdict for c in game_checks("dirac", start, float(rng.choice([0.0, rng.uniform(0, 5)])))]
    assert "fail" not in verdicts
    assert verdicts.count("flat") <= 0.1 * len(verdicts), verdicts.count("flat")


def test_the_1d_gan_training_reports_its_progress_in_order_and_trains_the_same_with_it():
    from calc_core.gan.training import train_gan_1d

    seen = []
    with_bar = train_gan_1d(steps=400, batch_size=16, seed=3, progress=seen.append)
    without = train_gan_1d(steps=400, batch_size=16, seed=3)
    assert 15 <= len(seen) <= 25 and seen[0] == 0.0 and seen == sorted(seen) and seen[-1] < 1.0
    np.testing.assert_array_equal(with_bar.a, without.a)  # the same arithmetic, in the same order
