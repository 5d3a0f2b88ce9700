"""Controls bound to the URL.

Every control takes a ``key``, which is also its URL parameter (``?lr=0.03&reg=0.1``), so a copied
link reproduces what the sender saw, seed included. A value equal to the default is left out of
the URL; an invalid one (``?lr=abc``) is dropped by Streamlit and the default is used.

Each call records its default, so :func:`reset_button` can put every control of the page back.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import streamlit as st

_DEFAULTS = "_lab_control_defaults"
BIND = "query-params"


def _register(key: str, default: Any) -> None:
    st.session_state.setdefault(_DEFAULTS, {})[key] = default


def _where(container):
    return st.sidebar if container is None else container


def slider(label: str, min_value, max_value, default, *, key: str, step=None, fmt: str | None = None,
           help: str | None = None, container=None, disabled: bool = False):
    """A number slider. Floats need ``fmt`` (Streamlit's default shows 0.006 as "0.01").
    ``disabled`` greys it out while another control overrides it (its value stays in the URL)."""
    if isinstance(default, float) and fmt is None:
        raise ValueError(f"slider {key!r}: give fmt= for a float slider")
    _register(key, default)
    return _where(container).slider(label, min_value, max_value, default, step=step, format=fmt,
                                    key=key, help=help, bind=BIND, disabled=disabled)


def log_slider(label: str, options: Sequence[float], default: float, *, key: str,
               fmt: Callable[[float], str] = "{:g}".format, help: str | None = None, container=None):
    """A slider over values spread on a log scale (learning rates: 0.0005 … 0.5)."""
    if default not in options:
        raise ValueError(f"log_slider {key!r}: the default {default} is not one of the options")
    _register(key, default)
    return _where(container).select_slider(label, options=list(options), value=default,
                                           format_func=fmt, key=key, help=help, bind=BIND)


def integer(label: str, min_value: int, max_value: int, default: int, *, key: str,
            help: str | None = None, container=None) -> int:
    """A whole number typed or stepped (seeds, ids)."""
    _register(key, default)
    return int(_where(container).number_input(label, min_value, max_value, default, step=1, key=key,
                                              help=help, bind=BIND))


def seed(default: int = 0, *, key: str = "seed", container=None) -> int:
    """The random seed: part of the URL like every other control, so a link reproduces the run."""
    return integer("Random seed", 0, 9999, default, key=key, container=container,
                   help="Same seed, same data and same initialization: a shared link shows the same run.")


def choice(label: str, options: Sequence, default, *, key: str, fmt: Callable[[Any], str] = str,
           help: str | None = None, container=None, horizontal: bool = False, widget: str = "radio"):
    """One of a few options, as a radio (default) or a selectbox (``widget="selectbox"``)."""
    options = list(options)
    if default not in options:
        raise ValueError(f"choice {key!r}: the default {default!r} is not one of the options")
    _register(key, default)
    where = _where(container)
    if widget == "selectbox":
        return where.selectbox(label, options, index=options.index(default), format_func=fmt,
                               key=key, help=help, bind=BIND)
    return where.radio(label, options, index=options.index(default), format_func=fmt, key=key,
                       help=help, horizontal=horizontal, bind=BIND)


def toggle(label: str, default: bool, *, key: str, help: str | None = None, container=None) -> bool:
    _register(key, default)
    return bool(_where(container).toggle(label, default, key=key, help=help, bind=BIND))


def text(label: str, default: str, *, key: str, max_chars: int | None = None, help: str | None = None,
         placeholder: str | None = None, container=None) -> str:
    _register(key, default)
    return _where(container).text_input(label, default, max_chars=max_chars, key=key, help=help,
                                        placeholder=placeholder, bind=BIND)


def _reset_all() -> None:
    for key, default in st.session_state.get(_DEFAULTS, {}).items():
        st.session_state[key] = default


def reset_button(container=None) -> None:
    """A button that puts every control of the page back to its default (and clears the URL)."""
    _where(container).button("Reset all controls", on_click=_reset_all, icon=":material/restart_alt:",
                             help="Back to the defaults; the address bar then holds no parameters.")
