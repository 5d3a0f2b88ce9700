"""NLP / Transformers: scaled dot-product attention, the softmax Jacobian, backprop through attention."""

import numpy as np
import streamlit as st

import ui
from calc_core.attention import core, lab
from ui.controls import Choice, Number, Slider, Steps, Text, Toggle

GRADIENT_COLUMNS = 32  # the gradient heatmaps show at most this many feature columns

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
FORMULAS = [
    r"S = c\,QK^\top,\qquad c = \frac{1}{\sqrt{d_k}\,T}",
    r"P = \operatorname{softmax}(S)\ \text{row by row},\qquad O = PV",
    r"s_i = \frac{e^{z_i - m}}{\sum_j e^{z_j - m}},\quad m = \max_j z_j",
    r"\frac{\partial s_i}{\partial z_j} = s_i(\delta_{ij} - s_j) \iff J = \operatorname{diag}(s) - s s^\top",
    r"L = \tfrac12 \lVert O - Y \rVert^2,\qquad dO = O - Y",
    r"dV = P^\top dO,\qquad dP = dO\,V^\top",
    r"dS = P \odot \big(dP - \operatorname{rowsum}(dP \odot P)\big)",
    r"dQ = c\; dS\, K,\qquad dK = c\; dS^\top Q",
]

run = ui.cached(lab.run, spinner="Checking gradients…")
row_of = ui.cached(lab.query_row)


def render_summary(r: lab.Result) -> None:
    cols = st.columns(4)
    cols[0].metric("Logit factor c", f"{r.view.logit_factor:.4g}", help="S = c·QKᵀ, c = 1/(√d_k·T), or 1/T unscaled.")
    cols[1].metric("Mean row entropy", f"{r.view.row_entropy.mean():.2f} nats",
                   help="H = −Σ s log s: log n for equal weights, 0 for one-hot.")
    cols[2].metric("Saturated rows", f"{r.saturation.count} of {r.n}", help="Rows with over 99% of their weight on one key.")
    cols[3].metric("Largest weight", f"{r.view.weights.max():.3f}", help="1.000 means some query attends to one key only.")
    ui.panels.show_messages(r.diagnosis, st.container())


def render_weights(r: lab.Result) -> None:
    heat, table = st.columns([3, 2], gap="large")
    with heat:
        ui.charts.show(ui.charts.heatmap(
            np.where(r.view.mask, r.view.weights, np.nan), x_labels=r.labels, y_labels=r.labels, x_title="key j",
            y_title="query i", value_title="P_ij", domain=(0, 1), title="Attention weights P = softmax(c·QKᵀ)"),
            export="attention_weights")
        if r.settings.causal:
            st.caption("Blank cells are masked: their weight is exactly 0.")
    with table:
        sums, entropy = "row sum Σⱼ Pᵢⱼ", "entropy H"
        st.dataframe({"query": r.labels, sums: r.view.row_sums, entropy: r.view.row_entropy,
                      "looks most at": [r.labels[j] for j in r.view.weights.argmax(axis=1)]},
                     hide_index=True, column_config={k: st.column_config.NumberColumn(format="%.4f")
                                                     for k in (sums, entropy)})
        st.caption("Every row sums to 1: each query hands out one unit of attention over the keys it may see.")


@st.fragment
def render_query_row(settings: lab.Settings, labels: tuple[str, ...]) -> None:
    # the labels are the options: new tokens are new options, never a stale label on an old index
    choice = ui.controls.draw(ROW, container=st.columns([1, 3])[0], options=lab.row_options(labels))
    with ui.guard("compute the softmax Jacobian"):
        q = row_of(settings, lab.row_index(choice, labels))
    st.caption(q.caption)
    probs, jac = st.columns(2, gap="large")
    with probs:
        ui.charts.show(ui.charts.bars(labels, q.jacobian.probabilities, active=q.jacobian.attends,
                                      inactive_label="masked", value_title="weight s_j = P_ij", category_title="key j",
                                      domain=(0, 1), title="The chosen query's weights s over the keys", height=300),
                       export="query_weights")
    with jac:
        ui.charts.show(ui.charts.heatmap(
            q.jacobian.jacobian, x_labels=labels, y_labels=labels, x_title="logit z_j", y_title="weight s_i",
            diverging=True, value_format=".3f", value_title="∂s_i/∂z_j", domain=(-0.25, 0.25),
            title="Softmax Jacobian J = diag(s) − s sᵀ  (|J_ij| ≤ ¼)"), export="softmax_jacobian")
    ui.workshop.explain(q.reading)


def render_sweep(r: lab.Result) -> None:
    ui.workshop.explain(r.sweep_lesson)
    sw, top = r.sweep, f"no scaling, {lab.GATE_QUANTILE:.0%} point"
    charts = [
        ("Mean row entropy", "nats", {"÷ √d_k": sw.entropy.scaled, "no scaling": sw.entropy.unscaled},
         [ui.charts.Rule(sw.max_entropy, "log n (equal weights)")], False, "sqrt_dk_entropy"),
        ("Share of saturated rows", "share of rows", {"÷ √d_k": sw.saturated_fraction.scaled,
                                                       "no scaling": sw.saturated_fraction.unscaled}, [], False,
         "sqrt_dk_saturated"),
        ("Median ‖J‖_F of a row", "‖J‖_F", {"÷ √d_k": sw.jacobian_norm_median.scaled,
                                             "no scaling": sw.jacobian_norm_median.unscaled},
         [ui.charts.Rule(sw.uniform_jacobian_norm, "√(n−1)/n (equal weights)")], False, "sqrt_dk_jacobian"),
        ("Gate to a query, c‖J K‖_F", "c‖J K‖_F (log scale)", {
            "÷ √d_k, median": sw.gate_median.scaled, "no scaling, median": sw.gate_median.unscaled,
            top: sw.gate_top.unscaled}, [], True, "sqrt_dk_gate"),
    ]
    columns = st.columns(2) + st.columns(2)
    for column, (title, y_title, series, rules, log_y, export) in zip(columns, charts):
        with column:
            ui.charts.show(ui.charts.sweep(sw.d_k, series, x_title="d_k (log scale)", y_title=y_title, rules=rules,
                                           log_base=2, log_y=log_y, current=r.settings.d_k,
                                           current_label=f"your d_k = {r.settings.d_k}", title=f"{title} vs d_k"),
                           export=export)


def render_backprop(r: lab.Result) -> None:
    b = r.backprop
    cols = st.columns(4)
    cols[0].metric("Loss L = ½‖O − Y‖²", f"{b.loss:.4g}")
    for col, name in zip(cols[1:], "QKV"):
        col.metric(f"‖d{name}‖", f"{b.norms[name]:.3g}", help=f"Frobenius norm of ∂L/∂{name}.")
    for col, name in zip(st.columns(3, gap="medium"), "QKV"):
        grad = b.gradients[name]
        with col:
            ui.charts.show(ui.charts.heatmap(
                grad[:, :GRADIENT_COLUMNS], y_labels=r.labels, x_title="feature", y_title="token", diverging=True,
                value_title=f"∂L/∂{name}", title=f"dL/d{name}"), export=f"grad_{name}")
            if grad.shape[1] > GRADIENT_COLUMNS:
                st.caption(f"The first {GRADIENT_COLUMNS} of {grad.shape[1]} columns.")
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
        FORMULAS, [core.softmax, core.softmax_jacobian, core.scaled_dot_product_attention, core.softmax_backward,
                   core.attention_backward],
        notes="Without the √d_k, c = 1/T. A masked key gets weight exactly 0 and no gradient; a row with nothing "
              "to attend to gets all-zero weights. The backward pass never forms J: the rule for dS is Jᵀ dP, "
              "row by row.")


with ui.guard("draw this page"):
    main()
