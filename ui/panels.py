"""The lab's signature panels: the formula beside the code that ran, and the live gradient check."""

from __future__ import annotations

import inspect
import textwrap
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from calc_core.common.gradcheck import DEFAULT_STEP, GradientCheck
from ui import charts


CODE_LINES_SHOWN = 18  # longer sources scroll inside a box of fixed height
CODE_BOX_HEIGHT = 380


def source_of(function: Callable) -> str:
    """The Python source of a calc_core function (of the Python function behind a numba kernel)."""
    function = getattr(function, "py_func", function)
    return textwrap.dedent(inspect.getsource(function))


def formula_and_code(formulas: Sequence[str], functions: Sequence[Callable], *,
                     notes: str | None = None) -> None:
    """The math on the left (``st.latex``), the calc_core code that computed this page on the right.

    The code is read from the running module, so what is shown is what ran.
    """
    math, code = st.columns([5, 6], gap="large")
    with math:
        st.markdown("##### The formula")
        for formula in formulas:
            st.latex(formula)
        if notes:
            st.caption(notes)
    with code:
        st.markdown("##### The code that ran")
        for function in functions:
            function = getattr(function, "py_func", function)
            st.caption(f"`{function.__module__}.{function.__qualname__}`")
            source = source_of(function)
            long = source.count("\n") > CODE_LINES_SHOWN
            st.code(source, language="python", line_numbers=True, wrap_lines=True,
                    height=CODE_BOX_HEIGHT if long else "content")


def gradient_check(checks: Sequence[GradientCheck], *, what: str, symbols: dict[str, str] | None = None) -> None:
    """Analytic gradient against central differences, with the relative error and a verdict.

    ``what`` names the function differentiated (“the loss on 32 training ratings”); ``symbols``
    maps parameter names to how the page writes them (``{"P": "p_u"}``). The h shown is the step the
    checks were made with (``GradientCheck.step``).
    """
    symbols = symbols or {}
    step = checks[0].step if checks else DEFAULT_STEP
    st.markdown("##### Gradient check")
    st.markdown(
        f"Each analytic derivative of {what} is compared with a central difference, "
        rf"$\frac{{f(\theta + h) - f(\theta - h)}}{{2h}}$ with $h = 10^{{{np.log10(step):.0f}}}$; the relative error is "
        r"$\lVert g_{\text{analytic}} - g_{\text{numeric}} \rVert \,/\, "
        r"(\lVert g_{\text{analytic}} \rVert + \lVert g_{\text{numeric}} \rVert)$."
    )
    if not checks:
        st.info("There is nothing to check for these settings.", icon=":material/info:")
        return
    all_passed = all(check.passed for check in checks)
    worst = max(checks, key=lambda c: c.relative_error if np.isfinite(c.relative_error) else np.inf)
    verdict = (f"Pass: the analytic gradient agrees with finite differences (worst relative error "
               f"{worst.relative_error:.1e}, tolerance {worst.tolerance:.0e}).")
    if all_passed:
        st.success(verdict, icon=":material/check_circle:")
    else:
        st.error(f"Fail: {worst.name} differs from finite differences (relative error "
                 f"{worst.relative_error:.1e} > {worst.tolerance:.0e}).", icon=":material/cancel:")
    table, plot = st.columns([4, 5], gap="large")
    with table:
        st.dataframe(
            pd.DataFrame({
                "parameter": [symbols.get(c.name, c.name) for c in checks],
                "coords": [c.n_checked for c in checks],
                "rel. error": [f"{c.relative_error:.1e}" for c in checks],
                "verdict": ["pass" if c.passed else "FAIL" for c in checks],
            }),
            hide_index=True, width="stretch",
        )
    with plot:
        analytic = np.concatenate([c.analytic for c in checks])
        numeric = np.concatenate([c.numeric for c in checks])
        charts.show(charts.scatter_against_identity(
            numeric, analytic, x_title="central difference", y_title="analytic gradient", height=240))
