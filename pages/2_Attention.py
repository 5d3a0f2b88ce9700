"""NLP / Transformers: scaled dot-product attention, the softmax Jacobian, backprop through attention."""

import streamlit as st

import ui
from calc_core.attention import core, formulas, lab
from ui.charts import attention as views
from ui.controls import Choice, Number, Slider, Steps, Text, Toggle

CONTROLS = (
    Text("text", "Sentence (optional)", section="Tokens", max_chars=400, placeholder="the cat sat on the mat",
         help=f"Its words label the tokens and set the length ({lab.MIN_TOKENS}–{lab.MAX_TOKENS} words). "
              "Empty: t0, t1, …"),
    Slider("n", "Sequence length n", field="seq_len", min_value=lab.MIN_TOKENS, max_value=lab.MAX_TOKENS,
           disabled_when=lambda v: lab.uses_sentence(v["text"]),
           help="Number of tokens. A sentence in the box above sets it instead."),
    Slider("dk", "Key width d_k", field="d_k", min_value=1, max_value=lab.MAX_D_K, section="Attention",
           help="Each logit qᵀk sums d_k products."),
    Slider("dv", "Value width d_v", field="d_v", min_value=1, max_value=lab.MAX_D_V,
           help="Width of the values and of the output."),
    Steps("temp", "Temperature T", field="temperature", options=lab.TEMPERATURES,
          help="Logits are divided by T: T < 1 sharpens the weights, T > 1 flattens them."),
    Toggle("scale", "Divide by √d_k", help="Keeps the logits' spread near 1/T for any d_k."),
    Toggle("causal", "Causal mask", help="Query i may look only at keys j ≤ i."),
    Number("seed", "Random seed", help="Same seed, same Q, K, V and target: a shared link shows the same numbers."),
)
ROW = Choice("row", "Query row", default=lab.LAST_ROW, labels={lab.LAST_ROW: lab.LAST_ROW_LABEL},
             widget_kind="selectbox", help="Its weights and softmax Jacobian are shown.")

run = ui.cached(lab.run, spinner="Checking gradients…")
row_of = ui.cached(lab.query_row)


def render_summary(r: lab.Result) -> None:
    cols = ui.panels.metric_row(4)
    cols[0].metric("Logit factor c", f"{r.view.logit_factor:.4g}", help="S = c·QKᵀ, c = 1/(√d_k·T), or 1/T unscaled.")
    cols[1].metric("Mean row entropy", f"{r.mean_entropy:.2f} nats",
                   help="H = −Σ s log s: log n for equal weights, 0 for one-hot.")
    cols[2].metric("Saturated rows", f"{r.saturation.count} of {r.n}",
                   help=f"Rows with over {lab.SATURATED:.0%} of their weight on one key.")
    cols[3].metric("Largest weight", f"{r.largest_weight:.3f}", help="1.000 means some query attends to one key only.")
    ui.panels.show_messages(r.diagnosis, st.container())


def render_weights(r: lab.Result) -> None:
    heat, table = st.columns([3, 2], gap="large")
    ui.charts.show(views.weights(r.weights_shown, r.labels), container=heat, export="attention_weights")
    if r.settings.causal:
        heat.caption("Blank cells are masked: their weight is exactly 0.")
    sums, entropy = "row sum Σⱼ Pᵢⱼ", "entropy H"
    ui.panels.table({"query": r.labels, sums: r.view.row_sums, entropy: r.view.row_entropy,
                     "looks most at": r.looks_most_at}, formats={sums: ".4f", entropy: ".4f"}, container=table)
    table.caption("Every row sums to 1: each query hands out one unit of attention over the keys it may see.")


@st.fragment
def render_query_row(settings: lab.Settings, labels: tuple[str, ...]) -> None:
    # the labels are the options: new tokens are new options, never a stale label on an old index
    choice = ui.controls.draw(ROW, container=st.columns([1, 3])[0], options=lab.row_options(labels))
    with ui.guard("compute the softmax Jacobian"):
        q = row_of(settings, lab.row_index(choice, labels))
    st.caption(q.caption)
    probs, jac = st.columns(2, gap="large")
    ui.charts.show(views.query_weights(q.jacobian.probabilities, q.jacobian.attends, labels), container=probs,
                   export="query_weights")
    ui.charts.show(views.softmax_jacobian(q.jacobian.jacobian, labels), container=jac, export="softmax_jacobian")
    ui.workshop.explain(q.reading)


def render_sweep(r: lab.Result) -> None:
    ui.workshop.explain(r.sweep_lesson)
    charts = views.sqrt_dk_sweep(r.sweep, r.settings.d_k, f"no scaling, {lab.GATE_QUANTILE:.0%} point")
    for column, (export, spec) in zip(st.columns(2) + st.columns(2), charts):
        ui.charts.show(spec, container=column, export=export)


def render_backprop(r: lab.Result) -> None:
    b = r.backprop
    cols = ui.panels.metric_row(4)
    cols[0].metric("Loss L = ½‖O − Y‖²", f"{b.loss:.4g}")
    for col, name in zip(cols[1:], "QKV"):
        col.metric(f"‖d{name}‖", f"{b.norms[name]:.3g}", help=f"Frobenius norm of ∂L/∂{name}.")
    for col, (name, grad) in zip(st.columns(3, gap="medium"), b.gradients.items()):
        ui.charts.show(views.gradient(grad, r.labels, name), container=col, export=f"grad_{name}")
        if grad.shape[1] > views.GRADIENT_COLUMNS:
            col.caption(f"The first {views.GRADIENT_COLUMNS} of {grad.shape[1]} columns.")
    st.caption("Red is positive, blue negative, each scale symmetric about 0. Values get their gradient straight "
               "through P; queries and keys only through the softmax Jacobian.")
    ui.panels.gradient_check(r.gradient_checks, what="L = ½‖O − Y‖² (O = attention output, Y a fixed random target)",
                             symbols={"Q": "Q (queries)", "K": "K (keys)", "V": "V (values)"})


def main() -> None:
    _, settings, _ = ui.page.begin("pages/2_Attention.py", CONTROLS, lab.Settings)
    ui.workshop.explain("Each token's **query** is compared with every **key**; a softmax turns the scores into "
                        "weights that mix the **values**. Pick a lesson above, or move the sliders: switch off "
                        "*Divide by √d_k*, drag d_k, lower T, turn on the causal mask, type a sentence.")
    with ui.guard("compute attention"):
        result = run(settings)
    render_summary(result)
    st.subheader("Attention weights")
    render_weights(result)
    st.subheader("One query through the softmax")
    render_query_row(settings, result.labels)
    st.subheader("Why divide by √d_k")
    render_sweep(result)
    st.subheader("Backprop through attention")
    render_backprop(result)
    st.subheader("The formulas and the code that ran")
    ui.panels.formula_and_code(
        formulas.FORMULAS, [core.softmax, core.softmax_jacobian, core.scaled_dot_product_attention, core.softmax_backward,
                   core.attention_backward],
        notes="Without the √d_k, c = 1/T. A masked key gets weight exactly 0 and no gradient; a row with nothing "
              "to attend to gets all-zero weights. The backward pass never forms J: the rule for dS is Jᵀ dP, "
              "row by row, with dP first shifted by its entry at the row's largest weight (the same result, since "
              "the weights sum to 1), so a nearly one-hot row loses no digits to cancellation.")


with ui.guard("draw this page"):
    main()
