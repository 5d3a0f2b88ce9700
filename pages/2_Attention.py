"""NLP / Transformers: scaled dot-product attention, the softmax Jacobian, backprop through attention."""

from dataclasses import dataclass

import numpy as np
import streamlit as st

import ui
import ui.bars
import ui.sweeps
from calc_core.attention import core as attention
from calc_core.attention import lab as lessons

ui.setup_page("pages/2_Attention.py")

TEMPERATURES = (0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
VALUES_ON_CELLS = 12  # numbers written on heatmap cells up to this many rows and columns (tooltips beyond)
MAX_COLUMNS = 32  # gradient heatmaps show at most this many feature columns


def grid_height(n_rows: int, n_cols: int) -> int:  # square-ish cells; Streamlit fits title and axes in too
    return max(12, min(40, 480 // max(n_rows, n_cols))) * n_rows + (110 if n_cols > 12 else 75)


@dataclass(frozen=True)
class Settings:
    seq_len: int
    d_k: int
    d_v: int
    seed: int
    causal: bool
    scale: bool
    temperature: float
    tokens: tuple[str, ...]  # () = numbered tokens t0, t1, …

    @property
    def key(self) -> tuple:  # the scalars every cached calc_core call of the page is keyed on
        return self.seq_len, self.d_k, self.d_v, self.seed

    @property
    def options(self) -> dict:
        return dict(causal=self.causal, scale=self.scale, temperature=self.temperature, tokens=self.tokens)


def controls() -> Settings:
    st.sidebar.header("Tokens")
    sentence = ui.controls.text("Sentence (optional)", "", key="text", max_chars=400, placeholder="the cat sat on the mat",
                                help="Its words label the tokens and set the length (2–32 words). Empty: t0, t1, …")
    tokens = ()
    if sentence.strip():
        try:
            tokens = lessons.parse_tokens(sentence)
        except ValueError as exc:  # the page goes on with numbered tokens
            st.warning(f"**The sentence was not used.** {exc} Numbered tokens are shown meanwhile.",
                       icon=":material/edit_note:")
    seq_len = ui.controls.slider("Sequence length n", 2, lessons.MAX_TOKENS, 5, key="n", disabled=bool(tokens),
                                 help="Number of tokens. A sentence in the box above sets it instead.")
    st.sidebar.header("Attention")
    d_k = ui.controls.slider("Key width d_k", 1, 256, 8, key="dk", help="Each logit qᵀk sums d_k products.")
    d_v = ui.controls.slider("Value width d_v", 1, 64, 8, key="dv", help="Width of the values and of the output.")
    temperature = ui.controls.log_slider("Temperature T", TEMPERATURES, 1.0, key="temp",
                                         help="Logits are divided by T: T < 1 sharpens the weights, T > 1 flattens them.")
    scale = ui.controls.toggle("Divide by √d_k", True, key="scale", help="Keeps the logits' spread near 1 for any d_k.")
    causal = ui.controls.toggle("Causal mask", False, key="causal", help="Query i may look only at keys j ≤ i.")
    seed = ui.controls.seed(42)
    ui.controls.reset_button()
    ui.sidebar_note()
    return Settings(len(tokens) or seq_len, d_k, d_v, seed, causal, scale, temperature, tokens)


weights_of = ui.cached(lessons.attention_view)
row_of = ui.cached(lessons.query_row_jacobian)
backprop_of = ui.cached(lessons.attention_gradients)
checks_of = ui.cached(lessons.attention_gradient_checks, spinner="Checking gradients…")
lesson_of = ui.cached(lessons.sqrt_dk_lesson, spinner="Sampling attention rows for every d_k…")


def render_weights(view, s: Settings) -> None:
    labels, n, saturated = view.problem.labels, len(view.problem.labels), int(view.saturated_rows.sum())
    cols = st.columns(4)
    cols[0].metric("Logit factor c", f"{view.logit_factor:.4g}", help="S = c·QKᵀ, c = 1/(√d_k·T), or 1/T unscaled.")
    cols[1].metric("Mean row entropy", f"{view.row_entropy.mean():.2f} nats",
                   help=f"H = −Σ s log s: log n = {np.log(n):.2f} for uniform weights, 0 for one-hot.")
    cols[2].metric("Saturated rows", f"{saturated} of {n}", help="Rows with over 99% of their weight on one key.")
    cols[3].metric("Largest weight", f"{view.weights.max():.3f}", help="1.000 means some query attends to one key only.")
    if saturated >= max(1, n // 4):
        ui.show_problem(
            "The softmax has saturated", f"{saturated} of {n} queries put more than 99% of their weight on one key.",
            f"Each logit is c·qᵀk with c = {view.logit_factor:.3g}; qᵀk sums {s.d_k} products, so its spread grows "
            "like √d_k. A near one-hot softmax has a Jacobian near zero: those queries' rows of dL/dQ all but "
            "vanish and they cannot learn where to look, while rows caught between two keys get huge gradients.",
            ([] if s.scale else ["Turn on **Divide by √d_k**."]) + ["Lower d_k."]
            + (["Raise the temperature T."] if s.temperature < 1 else []))
    heat, table = st.columns([3, 2], gap="large")
    with heat:
        ui.charts.show(ui.charts.heatmap(
            np.where(view.mask, view.weights, np.nan), x_labels=labels, y_labels=labels, x_title="key j",
            y_title="query i", value_title="P_ij", show_values=n <= VALUES_ON_CELLS, height=grid_height(n, n),
            domain=(0, 1), title="Attention weights P = softmax(c·QKᵀ)" + (" (blank: masked)" if s.causal else "")))
    with table:
        sums, entropy = "row sum Σⱼ Pᵢⱼ", "entropy H"
        st.dataframe({"query": labels, sums: view.row_sums, entropy: view.row_entropy,
                      "looks most at": [labels[j] for j in view.weights.argmax(axis=1)]},
                     hide_index=True, height=min(38 + 35 * n, 560),
                     column_config={k: st.column_config.NumberColumn(format="%.4f") for k in (sums, entropy)})
        st.caption("Every row sums to 1: each query hands out one unit of attention over the keys it may see.")


@st.fragment
def render_query_row(s: Settings, labels: tuple[str, ...]) -> None:
    n = len(labels)
    # the labels themselves are the options: new tokens are new options, never a stale label on an old index
    label = ui.controls.choice("Query row", labels, labels[-1], key="row", widget="selectbox",
                               container=st.columns([1, 3])[0])
    with ui.guard("compute the softmax Jacobian"):
        q = row_of(*s.key, labels.index(label), **s.options)
    probs, jac = st.columns(2, gap="large")
    with probs:
        ui.charts.show(ui.bars.bars(labels, q.probabilities, active=q.attends, inactive_label="masked",
                                    value_title="weight s_j = P_ij", category_title="key j", domain=(0, 1),
                                    title=f"Query {q.label}: its weights s over the keys", height=300 + 40 * (n > 12)))
    with jac:
        ui.charts.show(ui.charts.heatmap(
            q.jacobian, x_labels=labels, y_labels=labels, x_title="logit z_j", y_title="weight s_i",
            diverging=True, value_format=".3f", value_title="∂s_i/∂z_j", show_values=n <= VALUES_ON_CELLS,
            height=grid_height(n, n), domain=(-0.25, 0.25), title="Softmax Jacobian J = diag(s) − s sᵀ  (|J_ij| ≤ ¼)"))
    p, J = q.probabilities, q.jacobian
    i, j = np.argsort(p)[::-1][:2]
    first, second = (f"`{labels[k].replace('`', '')}`" for k in (i, j))  # code spans: no emoji, no markup
    ending = ("; at a one-hot row it would be 0." if p[i] <= lessons.SATURATED else
              " — this row is saturated, so almost no gradient reaches its logits." if q.attends.sum() > 1 else
              " — this query sees a single key, whose weight is 1 whatever the logits, so J = 0.")
    st.markdown(
        f"**Reading J.** Diagonal: $J_{{ii}} = s_i(1 - s_i)$, e.g. for {first}: "
        f"${p[i]:.3g} \\times {1 - p[i]:.3g} = {J[i, i]:.4g}$ — raising a logit raises its own weight, "
        f"most when that weight is near ½. Off-diagonal: $J_{{ij}} = -s_i s_j$, e.g. {first} against "
        f"{second}: $-{p[i]:.3g} \\times {p[j]:.3g} = {J[i, j]:.4g}$ — the weight gained is taken "
        f"from the others. J is symmetric and each row sums to 0 (the weights still sum to 1). "
        f"$\\lVert J\\rVert_F = {q.jacobian_norm:.4g}$" + ending)


def render_lesson(s: Settings) -> None:
    with ui.guard("sample the √d_k lesson"):
        lesson = lesson_of(seq_len=s.seq_len, n_draws=20, seed=s.seed, temperature=s.temperature)
    st.markdown(
        f"Random queries and keys, n = {s.seq_len} tokens, T = {s.temperature:g}, {lesson.n_draws} draws per d_k. "
        "Without the √d_k the logits spread like √d_k: the entropy drops towards 0 and the typical row's "
        "Jacobian — the gate every gradient to Q and K passes through — collapses. With it, both stay flat.")
    curves = [("mean row entropy (nats)", "entropy", [ui.charts.Rule(lesson.max_entropy, "log n (uniform)")]),
              ("median ‖J‖_F of a row", "jacobian_norm_median", []),
              ("share of saturated rows", "saturated_fraction", [])]
    for column, (y_title, field, rules) in zip(st.columns(3), curves):
        with column:
            ui.charts.show(ui.sweeps.sweep(
                lesson.d_k, {"÷ √d_k": getattr(lesson, f"{field}_scaled"),
                             "no scaling": getattr(lesson, f"{field}_unscaled")},
                x_title="d_k (log scale)", y_title=y_title, rules=rules, log_base=2, current=s.d_k,
                current_label=f"your d_k = {s.d_k}", title=y_title[0].upper() + y_title[1:] + " vs d_k"))


def render_backprop(view, s: Settings) -> None:
    with ui.guard("backpropagate through attention"):
        g, checks = backprop_of(*s.key, **s.options), checks_of(*s.key, **s.options)
    cols = st.columns(4)
    cols[0].metric("Loss L = ½‖O − Y‖²", f"{g.loss:.4g}")
    for col, name, grad in zip(cols[1:], ("dQ", "dK", "dV"), (g.dQ, g.dK, g.dV)):
        col.metric(f"‖{name}‖", f"{np.linalg.norm(grad):.3g}", help=f"Frobenius norm of ∂L/∂{name[1]}.")
    for col, name, grad in zip(st.columns(3, gap="medium"), "QKV", (g.dQ, g.dK, g.dV)):
        with col:
            shown = grad[:, :MAX_COLUMNS]
            ui.charts.show(ui.charts.heatmap(
                shown, y_labels=view.problem.labels, x_title="feature", y_title="token", diverging=True,
                value_format=".1f", value_title=f"∂L/∂{name}", show_values=max(shown.shape) <= 8,
                height=grid_height(*shown.shape), title=f"dL/d{name}" + (
                    f" (first {MAX_COLUMNS} of {grad.shape[1]} columns)" if grad.shape[1] > MAX_COLUMNS else "")))
    st.caption("Red is positive, blue negative, each scale symmetric about 0. Values get their gradient straight through "
               "P; queries and keys only through the softmax Jacobian. Turn off the √d_k at d_k = 256: rows of dL/dQ of "
               "saturated queries go blank, and queries left between two keys get huge, erratic gradients.")
    ui.panels.gradient_check(checks, what="L = ½‖O − Y‖² (O = attention output, Y a fixed random target)",
                             symbols={"Q": "Q (queries)", "K": "K (keys)", "V": "V (values)"})


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


def main() -> None:
    s = controls()
    st.markdown("Each token's **query** is compared with every **key**; a softmax turns the scores into weights that mix "
                "the **values**. **Try:** switch off *Divide by √d_k* and drag d_k to 256 — the heatmap turns one-hot and "
                "the gradient to those queries vanishes. Lower T to sharpen the weights the same way (T and √d_k multiply). "
                "Turn on the causal mask and type a sentence to see a decoder's triangle.")
    with ui.guard("compute attention"):
        view = weights_of(*s.key, **s.options)
    st.subheader("Attention weights")
    render_weights(view, s)
    st.subheader("One query through the softmax")
    render_query_row(s, view.problem.labels)
    st.subheader("Why divide by √d_k")
    render_lesson(s)
    st.subheader("Backprop through attention")
    render_backprop(view, s)
    st.subheader("The formulas and the code that ran")
    ui.panels.formula_and_code(
        FORMULAS, [attention.softmax, attention.softmax_jacobian, attention.scaled_dot_product_attention,
                   attention.softmax_backward, attention.attention_backward],
        notes="Without the √d_k, c = 1/T. A masked key gets weight exactly 0 and no gradient; a row with nothing "
              "to attend to gets all-zero weights. The backward pass never forms J: the rule for dS is Jᵀ dP, row by row.")


with ui.guard("draw this page"):
    main()
