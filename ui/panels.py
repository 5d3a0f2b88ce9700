"""The lab's signature panels: the formula beside the code that ran, the live gradient check, and a
diagnosis placed as calc_core wrote it."""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
import zlib
from typing import Callable, Sequence

import numpy as np
import streamlit as st

from calc_core.common.gradcheck import FAIL_MARGIN, RESOLUTION_NEEDED, GradientCheck, summarize
from calc_core.common.jit import python_source_of
from calc_core.common.messages import Message
from ui import charts, workshop
from ui.markdown import plain  # noqa: F401 - the pages call it as ui.panels.plain

#: ``st.metric(..., delta=..., **REFERENCE_DELTA)``: a delta that names a reference value, not a change
REFERENCE_DELTA = {"delta_color": "off", "delta_arrow": "off"}


def figure(value, spec: str = ".3f", *, missing: str = "—", unit: str = "", large: str | None = None) -> str:
    """A number as shown on a metric, followed by ``unit``, or ``missing`` when there is none (a run
    that stopped before its first finished epoch has no RMSE: "—", not "nan"). ``large`` is the
    format from 10⁴ on (".3g": a diverged filter's 3.2e+07 m, not 32000000.000 m)."""
    try:
        if not np.isfinite(value):
            return missing
        return format(value, large if large and abs(value) >= 1e4 else spec) + unit
    except (TypeError, ValueError):
        return missing


def metric_row(n: int) -> list:
    """Where a row of ``n`` metrics goes: ``n`` times one horizontal container that wraps (``row[i].metric``
    as with ``st.columns(n)``). Columns cut a metric that does not fit to "0.26…" (five of them in the 724
    pixels a 1024-pixel projector leaves beside the sidebar); here a metric keeps its full width, and the
    row breaks in two where they do not fit side by side."""
    return [st.container(horizontal=True, gap="medium")] * n


def metrics(*items, widths: Sequence[int] | None = None) -> None:
    """A row of ``st.metric``s (:func:`metric_row`; in columns of these ``widths`` when given): an item is
    ``(label, value, help)`` or a dict of st.metric's arguments; ``reference=…`` in a dict is a delta that
    names a reference value."""
    for column, item in zip(st.columns(list(widths)) if widths else metric_row(len(items)), items):
        if isinstance(item, dict):
            item = dict(item)
            if "reference" in item:
                item.update(delta=item.pop("reference"), **REFERENCE_DELTA)
            column.metric(**item)
        else:
            label, value, tip = item
            column.metric(label, value, help=tip)

FORMULA_KEY = "lab-formula"  # the formulas' containers: CSS classes st-key-lab-formula-…
CODE_LINES_SHOWN = 18  # longer sources scroll inside a box of fixed height
CODE_BOX_HEIGHT = 380
ICONS = {"pass": ":material/check_circle:", "fail": ":material/cancel:", "flat": ":material/help:"}


#: numpydoc sections a reader of the code box can do without: the summary and the formula stay
REFERENCE_SECTIONS = frozenset({"Parameters", "Returns", "Yields", "Raises", "Other Parameters", "Attributes",
                                "See Also", "Examples", "Warns"})


@functools.lru_cache(maxsize=256)
def source_of(function: Callable) -> str:
    """The Python source of a calc_core function (of the Python function behind a numba kernel), read
    once per process (inspect re-reads and re-tokenizes the file on every call), its docstring's
    reference sections (Parameters, Returns, …) left out so that the box opens on code; every line of
    code is shown as it is in the module."""
    return without_reference_sections(textwrap.dedent(inspect.getsource(python_source_of(function))))


def without_reference_sections(source: str) -> str:
    """``source`` of one function with its docstring's numpydoc reference sections cut (a header line
    such as ``Parameters`` over a line of dashes, up to the next section that is kept or the closing
    quotes). Anything that is not a function with a docstring comes back unchanged."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    function = tree.body[0] if tree.body else None
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) or not ast.get_docstring(function):
        return source
    doc = function.body[0]
    lines = source.splitlines(keepends=True)
    first, last = doc.lineno - 1, doc.end_lineno - 1  # 0-based lines of the docstring
    kept, cutting, cut = [], False, False
    for number, line in enumerate(lines):
        inside = first < number < last
        if inside and number + 1 < last and set(lines[number + 1].strip()) == {"-"}:  # a section's header
            cutting = line.strip() in REFERENCE_SECTIONS
            cut = cut or cutting
        if number == last and cut and kept and not kept[-1].strip():
            kept.pop()  # the blank line the cut left before the closing quotes
        if not (inside and cutting):
            kept.append(line)
    return "".join(kept)


def formula_and_code(formulas: Sequence[str], functions: Sequence[Callable], *, notes: str | None = None) -> None:
    """The math (``st.latex``), then the calc_core code that computed this page, each the page's full
    width: side by side, a column held half a long formula (cut at its right edge) and wrapped the
    code so that its indentation broke.

    The code is read from the running module, so what is shown is what ran.
    """
    st.markdown("##### The formula")
    # a formula wider than a phone scrolls inside its box (ui.page's CSS); a page may show two panels
    key = f"{FORMULA_KEY}-{zlib.crc32(repr(list(formulas)).encode()):08x}"
    with st.container(key=key):
        for formula in formulas:
            st.latex(formula)
    if notes:
        workshop.explain(notes, caption=True)
    st.markdown("##### The code that ran")
    for function in functions:
        function = python_source_of(function)
        st.caption(f"`{function.__module__}.{function.__qualname__}`")
        source = source_of(function)
        long = source.count("\n") > CODE_LINES_SHOWN
        st.code(source, language="python", line_numbers=True, wrap_lines=False,
                height=CODE_BOX_HEIGHT if long else "content")


def gradient_check(checks: Sequence[GradientCheck], *, what: str, symbols: dict[str, str] | None = None) -> None:
    """The analytic gradient against derivative-free estimates, with the verdict: Pass, Fail, or
    too flat to check at this precision — each with its numbers (see calc_core.common.gradcheck).

    ``what`` names the function differentiated (“the loss on 32 training ratings”); ``symbols``
    maps parameter names to how the page writes them (``{"P": "p_u"}``)."""
    symbols = symbols or {}
    st.markdown("##### Gradient check")
    if not checks:
        st.info("There is nothing to check for these settings.", icon=":material/info:")
        return
    summary = summarize(checks)
    extended = any(c.precision == "extended" for c in checks)
    workshop.explain(
        f"Each hand-derived derivative of {what} is compared with an estimate made from values of the "
        "function alone: central differences at shrinking steps, extrapolated to a step of zero (Ridders' "
        "method)" + (", in extended precision" if extended else "") + ", each with an error bar from rounding "
        f"and truncation. **{summary.coordinates_checked:,} of {summary.coordinates:,} "
        f"coordinate{'s' * (summary.coordinates != 1)}** {'is' if summary.coordinates_checked == 1 else 'are'} "
        "checked one by one (all of a small parameter; otherwise the largest, every structurally different "
        "part and a random sample), and the whole gradient along two directions through every coordinate. "
        f"A difference counts only beyond {FAIL_MARGIN:g}× its error bar; a pass needs estimates good to "
        f"{RESOLUTION_NEEDED:.0e} relative.")
    worst = summary.worst
    if summary.verdict == "pass":
        st.success(f"**Pass:** the hand-derived gradient agrees (worst relative error "
                   f"{max(c.relative_error for c in checks):.1e}).", icon=ICONS["pass"])
    elif summary.verdict == "fail":
        st.error(f"**Fail:** {worst.reason}", icon=ICONS["fail"])
    else:
        st.warning(f"**Too flat to check at this precision:** {worst.reason}", icon=ICONS["flat"])
    left, plot = st.columns([3, 2], gap="medium")  # the table first: at 1024 pixels a 4/9 column hid its verdicts
    with left:
        table({
            "parameter": [symbols.get(c.name, c.name) for c in checks],
            "checked": [f"{c.n_checked:,} of {c.size:,}" for c in checks],
            "rel. error": [f"{c.relative_error:.1e}" for c in checks],
            "resolves": ["— (zero)" if c.zero_by_hand and c.verdict == "flat" else f"{max(c.resolution, 1e-16):.0e}"
                         for c in checks],
            "verdict": [c.verdict.upper() if c.verdict == "fail" else c.verdict for c in checks],
        })
    with plot:
        analytic = np.concatenate([c.analytic for c in checks])
        numeric = np.concatenate([c.numeric for c in checks])
        charts.show(charts.scatter_against_identity(numeric, analytic, x_title="from values of f alone",
                                                    y_title="derived by hand", height=240))


def table(columns: dict, *, formats: dict[str, str] | None = None, container=None) -> None:
    """A small table of named columns, numbers written with ``formats`` (``{"r̂": ".3f"}``).

    A static ``st.table``, not ``st.dataframe``: measured in headless Chromium, one interactive data
    grid costs ≈ 200 ms of redraw on every rerun, a static table nothing noticeable."""
    formats = formats or {}
    shown = {name: [format(v, formats[name]) if name in formats else str(v) for v in values]
             for name, values in columns.items()}
    (container or st).table(shown, hide_index=True)


def show_messages(messages: Sequence[Message], container=None) -> None:
    """Place a diagnosis: a problem as what happened / why / what to try, the rest in one box each."""
    where = container or st
    for message in messages:
        if message.kind == "problem":
            tips = "\n".join(f"- {tip}" for tip in message.try_instead)
            body = (f"**{message.title}**\n\n**What happened:** {message.what}\n\n**Why:** {message.why}"
                    + (f"\n\n**What to try:**\n{tips}" if tips else ""))
            where.warning(body, icon=":material/warning:")
            continue
        title = message.title if message.title.endswith((".", "!", "?", ":")) or not message.what else f"{message.title}."
        text = f"**{title}**" + (f" {message.what}" if message.what else "") + (
            f" {message.why}" if message.why else "")
        if message.try_instead:  # a warning or a note may carry hints too: they are shown, not dropped
            text += "\n\n**What to try:**\n" + "\n".join(f"- {tip}" for tip in message.try_instead)
        {"success": where.success, "info": where.info, "warning": where.warning}[message.kind](
            text, icon={"success": ":material/check_circle:", "info": ":material/info:",
                        "warning": ":material/warning:"}[message.kind])
