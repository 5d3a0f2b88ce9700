"""Sensor Fusion: an extended Kalman filter tracking a turning vehicle — its Jacobian and its consistency."""

import streamlit as st

import ui
from calc_core.kalman import ekf, formulas, lab
from ui.charts import tracking as view
from ui.controls import Choice, Number, Slider, Steps

NOISE_SCALES = (0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
CONTROLS = (
    Slider("v", "Speed v", field="speed", min_value=0.0, max_value=20.0, step=0.5, fmt="%.1f m/s",
           section="The vehicle and its sensor",
           help="At the start: with process noise q > 0 the speed then changes at random."),
    Slider("omega", "Turn rate ω", field="turn_rate", min_value=-1.0, max_value=1.0, step=0.05, fmt="%.2f rad/s",
           help="At the start: with process noise q > 0 the turn rate then changes at random. "
                "ω = 0 and q = 0 drive the tutorial's straight line."),
    Slider("q", "Process noise q", field="process_noise", min_value=0.0, max_value=5.0, step=0.1, fmt="%.1f",
           help="Random changes of speed, heading and turn rate (0: a perfectly regular vehicle)."),
    Slider("sigma", "Sensor noise σ", field="measurement_noise", min_value=0.05, max_value=5.0, step=0.05,
           fmt="%.2f m", help="Standard deviation of each measured coordinate."),
    Slider("dt", "Time step Δt", min_value=0.02, max_value=0.5, step=0.01, fmt="%.2f s"),
    Slider("steps", "Steps", field="n_steps", min_value=20, max_value=2000, step=10),
    Choice("model", "Filter's motion model", field="filter_model", options=tuple(lab.FILTER_MODELS), horizontal=True,
           section="The filter", help="Turning: state [x, y, v, θ, ω]. Straight, the tutorial's: [x, y, v, θ]."),
    Steps("qscale", "Assumed ÷ true process noise", field="assumed_process_scale", options=NOISE_SCALES,
          help="The filter's σ's over the true ones: its Q is this² × the true Q (1: tuned right)."),
    Steps("rscale", "Assumed ÷ true sensor noise", field="assumed_measurement_scale", options=NOISE_SCALES,
          help="The filter's σ over the true one: its R is this² × the true R (1: tuned right)."),
    Slider("heading", "Initial heading error", field="heading_error", min_value=-180, max_value=180, step=5, fmt="%d°",
           help="An error in the filter's starting heading that its P₀ (σ_θ ≈ 5.7°) does not admit."),
    Number("seed", "Random seed", help="Same seed, same drive, noise and start: a shared link shows the same run."),
)
K = Slider("k", "Step k", default=lab.INSPECT_STEP, min_value=1, max_value=lambda values: values.get("last", 1),
           help="The update to look at (at time k·Δt); its range is the updates the filter completed.")

CONSISTENCY = {  # what the two consistency numbers are, for the metrics' help
    "NEES": "Normalized estimation error squared, eᵀP⁻¹e: the estimate's true error e in units of the filter's "
            "own covariance P, averaged over the steps; a filter that knows its uncertainty averages the state's "
            "dimension.",
    "NIS": "Normalized innovation squared, νᵀS⁻¹ν: the surprise ν = z − Hx̂ of each measurement in units of its "
           "predicted covariance S; it needs no truth, so a real filter can compute it.",
}
run = ui.cached(lab.run, spinner="Simulating the drive and filtering it…")
close_up = ui.cached(lab.step_up_close)


def render_summary(r: lab.Result) -> None:
    cols = ui.panels.metric_row(5)
    cols[0].metric("Mean position error", ui.panels.figure(r.mean_position_error, unit=" m", large=".3g"), delta_color="inverse",
                   delta=f"{r.error_against_sensor:+.3f} m vs the sensor" if r.completed else None,
                   help="Mean distance between the EKF's position and the true one.")
    cols[1].metric("Raw sensor error", ui.panels.figure(r.mean_measurement_error, unit=" m", large=".3g"),
                   help="Mean distance between a measurement and the true position (≈ 1.25 σ).")
    for col, name, mean, band, n in ((cols[2], "NEES", r.mean_nees, r.nees_mean_band, r.n_state),
                                     (cols[3], "NIS", r.mean_nis, r.nis_mean_band, 2)):
        col.metric(f"Mean {name}", ui.panels.figure(mean, ".2f", large=".3g"), help=f"{CONSISTENCY[name]} Expected {n}; 95% band "
                   f"[{band[0]:.2f}, {band[1]:.2f}].")
    cols[4].metric("Verdict", r.verdict, help="NEES against its band; NIS's when NEES is inside.")
    ui.panels.show_messages(r.diagnosis, st.container())


def render_step(r: lab.Result, index: int) -> None:
    """The drive with the vehicle at the scrubbed step, and the error, NEES and NIS marked there."""
    at, step = r.snapshots.at(index), int(r.snapshots.steps[index])
    marker = dict(marker=float(r.times[step]), marker_label=f"step {step}")
    left, right = st.columns([11, 9], gap="large")
    ui.charts.show(view.drive(r.truth[:, :2], r.estimates[:, :2], r.measurements, r.ellipses, vehicle=at["truth"][:2],
                              estimate=at["estimate"][:2], ring=at["ellipse"]), container=left, export="drive")
    with right:
        ui.charts.show(ui.charts.lines(
            r.times[1:], {"EKF estimate": r.position_error, "raw measurement": r.measurement_error}, x_title="time (s)",
            y_title="distance to the truth (m)", colors=[view.ESTIMATE, view.MEASURED], height=340,
            title="Position error over time", **marker), "The filter stopped before its first update.",
            export="position_error")
        ui.workshop.explain(
            "The filter **fuses** a motion model with the measurements: each predict moves the estimate by the model "
            "and carries its covariance P through the motion; each update pulls it toward the measurement by the "
            "gain K and narrows P. The blue curve stays below the red one when the fusion works, and a consistent "
            "filter's 2σ ellipses hold the true position 86% of the time.")
    ui.workshop.explain(formulas.CONSISTENCY)
    for col, name, values, step_band, mean, band in zip(
            st.columns(2, gap="large"), ("NEES", "NIS"), (r.nees, r.nis), (r.nees_step_band, r.nis_step_band),
            (r.mean_nees, r.mean_nis), (r.nees_mean_band, r.nis_mean_band)):
        ui.charts.show(view.consistency(r.times[1:], values, name=name, step_band=step_band, mean=mean, mean_band=band,
                                        x_title="time (s)", title=f"{name} at each step", **marker),
                       f"No {name} to draw: the filter stopped before its first update.", container=col,
                       export=name.lower())


@st.fragment
def render_close_up(settings: lab.Settings, last: int) -> None:
    st.subheader("One step up close: predict, update, and the Jacobian")
    if last < 1:
        st.info("The filter stopped before its first update: there is no step to show.", icon=":material/info:")
        return
    remembered = ui.controls.state_key(K)  # kit workaround: a new range makes a new widget, which forgets the
    if remembered in st.session_state:  # value unless it is set again before the widget exists
        st.session_state[remembered] = st.session_state[remembered]
    k, f = ui.controls.draw(K, container=st, max_value=last), None
    with ui.guard("replay this step", stop=False):  # the formulas and code below still show on a failure
        f = close_up(settings, int(k))
    if f is None:
        return
    zoom, text = st.columns([9, 11], gap="large")
    zoom.caption(f.label)
    ui.charts.show(view.fusion_step(truth=f.truth, prior=f.prior[:2], prior_ellipse=f.prior_ellipse,
                                    measurement=f.measurement, measurement_ellipse=f.measurement_ellipse,
                                    posterior=f.posterior[:2], posterior_ellipse=f.posterior_ellipse),
                   container=zoom, export="one_step")
    with text:
        for paragraph in f.words:
            ui.workshop.explain(paragraph)
        if f.omega_column:
            ui.panels.table(dict(zip(("entry of F", "value", "meaning"), zip(*f.omega_column))),
                            formats={"value": ".5f"})
    heat = dict(x_labels=list(f.state_names), y_labels=[f"{n}′" for n in f.state_names], diverging=True,
                value_format=".4~f", value_title="∂f_i/∂x_j", domain=(-1.0, 1.0), height=260)
    by_hand, numeric = st.columns(2, gap="large")
    ui.charts.show(ui.charts.heatmap(f.jacobian.analytic, title="F = ∂f/∂x by hand", **heat),
                   container=by_hand, export="jacobian")
    ui.charts.show(ui.charts.heatmap(f.jacobian.numeric, title="F from values of f alone", **heat),
                   container=numeric, export="jacobian_numeric")
    ui.panels.gradient_check(f.jacobian.rows, what=f.check_what)


def main() -> None:
    _, settings, _ = ui.page.begin("pages/5_Sensor_Fusion.py", CONTROLS, lab.Settings)
    ui.workshop.explain("A simulated vehicle drives and turns; a sensor reports its position with noise; an extended "
                        "Kalman filter fuses the two, linearizing the motion with its Jacobian. Pick a lesson above, "
                        "or move the sliders.")
    with ui.guard("simulate and filter the drive"):
        result = run(settings)
    render_summary(result)
    st.subheader("The drive, step by step")
    ui.workshop.scrubber(result.snapshots, lambda index: render_step(result, index), label="Step shown")
    render_close_up(settings, result.completed)
    st.subheader("How predict and update work")
    ui.panels.formula_and_code(
        formulas.FORMULAS, [ekf.ekf_predict, ekf.ekf_update, ekf.ctrv_jacobian],
        notes="s → 1 and c → 0 as ω → 0: the straight line needs no special case (series near 0). H = [I₂ 0] picks "
              "the position, so the code slices instead of multiplying by H. S is never inverted: a 2×2 Cholesky "
              "solve gives K. The Joseph form for P stays symmetric positive definite even with a very precise sensor.")


with ui.guard("draw this page"):
    main()
