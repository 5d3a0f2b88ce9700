"""calc_core.gan's accessors for the code the GAN page shows: the function that takes one step of a
method (play.stepper) and one optimizer update (training.optimizer_step) are the ones that ran."""

import numpy as np
import pytest

from calc_core.gan import bilinear_field, game_trajectory, train_gan_1d
from calc_core.gan.linear import METHODS
from calc_core.gan.play import stepper
from calc_core.gan.training import OPTIMIZERS, optimizer_step


@pytest.mark.parametrize("method", METHODS)
def test_iterating_the_stepper_by_hand_reproduces_the_trajectory(method):
    field = lambda x, y: bilinear_field(x, y, 0.3)  # noqa: E731
    x, y, memory = 1.0, -0.5, field(1.0, -0.5)
    rows = [(x, y)]
    for _ in range(25):
        x, y, memory = stepper(method)(field, 0.2, x, y, memory)
        rows.append((x, y))
    np.testing.assert_array_equal(rows, game_trajectory(method, 0.2, 25, (1.0, -0.5), 0.3))


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_the_optimizer_step_shown_is_the_one_training_uses(optimizer, monkeypatch):
    step = optimizer_step(optimizer)
    calls = []
    owner = step.__globals__["_OPTIMIZERS"][optimizer]
    monkeypatch.setattr(owner, "step", lambda self, theta, grad: calls.append(len(theta)) or step(self, theta, grad))
    train_gan_1d(steps=3, batch_size=8, optimizer=optimizer, d_steps=2)
    assert calls == [3, 3, 2] * 3  # two discriminator updates, then the generator's, each step


def test_unknown_names_raise_a_clear_error():
    with pytest.raises(ValueError, match="method"):
        stepper("gradient")
    with pytest.raises(ValueError, match="optimizer"):
        optimizer_step("rmsprop")
