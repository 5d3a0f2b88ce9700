"""Controls bound to the URL, declared as data and drawn by one kit that owns the hard cases.

A page declares its controls as a tuple of specs (:class:`Slider`, :class:`Steps`, :class:`Choice`,
:class:`Toggle`, :class:`Number`, :class:`Text`, :class:`Upload`) and calls :func:`panel`, which draws
them and returns the application's Settings. A control's default is the Settings field's default
(one source of truth, in calc_core); a control that belongs to one part of the page (a step to
inspect, a query row) is drawn inside its fragment with :func:`draw` and carries its own default.

The kit, once for every page:

* **The URL.** ``key`` is the URL parameter (``/Recommendations?lr=0.05&seed=7``). A value equal to
  its default is left out, so the address bar holds exactly what differs and a copied link
  reproduces the run. The URL is read when a control first appears on a page and written whenever
  it changes.
* **Hostile links.** A URL value is parsed by the control itself before any widget exists:
  ``?seed=inf``, ``?lr=nan``, ``?users=1e400``, ``?n=abc``, a value off the slider's grid or out of
  range, an unknown option — the control opens at its default (nothing raises).
* **Dependent ranges.** ``draw(control, max_value=…)`` (or bounds given as functions of the values
  drawn before it) clamps a remembered value into the new range before the widget exists, so a
  control left at its end never raises StreamlitValueAboveMaxError when another control shrinks
  its range.
* **No leaks between pages.** Session-state keys are ``"<page>:<key>"``, so ``lr`` on one page
  never seeds ``lr`` on another, and *Reset* and presets touch only the current page's controls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, Callable, Mapping, Sequence

import streamlit as st

from ui.markdown import plain

class _Unset:
    def __repr__(self):
        return "UNSET"


UNSET = _Unset()  # a control's default not given yet (taken from the Settings it fills)
_REGISTRY = "_lab_controls"  # session state: page → {key: Control} drawn on that page
_PAGE = "_lab_page"  # session state: the page being drawn
KEEP_ON_RESET = {"present"}  # the presenter view survives Reset and lessons


def _parse_number(text) -> float:
    number = float(str(text).strip())
    if not math.isfinite(number):
        raise ValueError(f"{text!r} is not a finite number")
    return number


@dataclass(frozen=True)
class Control:
    """What every control has. ``field`` names the Settings field (or the argument of a fragment's
    function) it fills, ``key`` the URL parameter; ``when`` (a function of the values drawn before
    it) hides the control, which then takes its default."""

    key: str
    label: str
    field: str | None = None
    default: Any = UNSET
    help: str | None = None
    section: str | None = None
    when: Callable[[Mapping[str, Any]], bool] | None = None
    disabled_when: Callable[[Mapping[str, Any]], bool] | None = None
    url: bool = True
    dynamic: bool = False  # its range comes from the run (given to draw()): the declared one is a placeholder

    @property
    def name(self) -> str:
        return self.field or self.key

    # --- value handling: the URL text, validity under the current bounds, the nearest valid value
    def parse(self, text: str, bounds: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def serialize(self, value) -> str:
        return str(value)

    def fit(self, value, bounds: Mapping[str, Any]) -> Any:
        """The nearest valid value (clamped into range, snapped to the grid); the default when there is none."""
        return value

    def widget(self, where, label: str, key: str, bounds: Mapping[str, Any], disabled: bool, help: str | None):
        raise NotImplementedError

    def bounds(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """This control's range, options and the like, with any function of earlier values evaluated."""
        return {}

    def domain(self) -> dict[str, Any]:
        """A description for tests: kind, bounds, and values worth trying (ends, middle, default)."""
        return {"kind": type(self).__name__.lower(), "samples": [self.default]}


def _resolve(value, values):
    return value(values) if callable(value) else value


@dataclass(frozen=True)
class Slider(Control):
    """A number on a slider: whole numbers when min, max and step are ints, else floats (give ``fmt``)."""

    min_value: Any = 0
    max_value: Any = 1
    step: Any = None
    fmt: str | None = None

    @property
    def integer(self) -> bool:
        return all(isinstance(v, int) and not isinstance(v, bool) for v in (self.min_value, self.max_value)
                   if not callable(v)) and (self.step is None or isinstance(self.step, int))

    def bounds(self, values):
        return {"min_value": _resolve(self.min_value, values), "max_value": _resolve(self.max_value, values)}

    def _grid(self, number, low, high):
        step = self.step or (1 if self.integer else None)
        if step:
            number = low + round((number - low) / step) * step
            number = round(number, 10)
        number = min(max(number, low), high)
        return int(round(number)) if self.integer else float(number)

    def parse(self, text, bounds):
        number = _parse_number(text)
        low, high = bounds["min_value"], bounds["max_value"]
        if not low <= number <= high:
            raise ValueError(f"{number} is outside [{low}, {high}]")
        if self.integer and not float(number).is_integer():
            raise ValueError(f"{number} is not a whole number")
        snapped = self._grid(number, low, high)
        if abs(snapped - number) > 1e-9 * max(1.0, abs(number)):
            raise ValueError(f"{number} is not on the slider's steps")
        return snapped

    def serialize(self, value):
        return str(int(value)) if self.integer else f"{float(value):.10g}"

    def fit(self, value, bounds):
        try:
            return self._grid(float(value), bounds["min_value"], bounds["max_value"])
        except (TypeError, ValueError, OverflowError):
            return self.fit(self.default, bounds) if value is not self.default else bounds["min_value"]

    def widget(self, where, label, key, bounds, disabled, help):
        if bounds["min_value"] >= bounds["max_value"]:  # nothing to choose: say so instead of a broken slider
            where.caption(f"{label}: {self.serialize(bounds['min_value'])}")
            return st.session_state[key]
        return where.slider(label, min_value=bounds["min_value"], max_value=bounds["max_value"], step=self.step,
                            format=self.fmt, key=key, help=help, disabled=disabled)

    def domain(self):
        low, high = self.min_value, self.max_value
        if callable(low) or callable(high) or self.dynamic:
            return {"kind": "slider", "dynamic": True, "samples": [self.default]}
        middle = self._grid((low + high) / 2, low, high)
        return {"kind": "slider", "min": low, "max": high, "step": self.step,
                "samples": list(dict.fromkeys([low, high, middle, self.default]))}


@dataclass(frozen=True)
class Steps(Control):
    """One of a few numbers on a slider (learning rates spread on a log scale)."""

    options: Sequence[float] = ()
    fmt: Callable[[Any], str] = "{:g}".format

    def bounds(self, values):
        return {"options": tuple(_resolve(self.options, values))}

    def parse(self, text, bounds):
        number = _parse_number(text)
        for option in bounds["options"]:
            if abs(option - number) <= 1e-9 * max(1.0, abs(option)):
                return option
        raise ValueError(f"{number} is not one of the steps")

    def serialize(self, value):
        return f"{float(value):.10g}"

    def fit(self, value, bounds):
        options = bounds["options"]
        try:
            return min(options, key=lambda option: abs(option - float(value)))
        except (TypeError, ValueError):
            return self.default if self.default in options else options[0]

    def widget(self, where, label, key, bounds, disabled, help):
        return where.select_slider(label, options=list(bounds["options"]), format_func=self.fmt, key=key,
                                   help=help, disabled=disabled)

    def domain(self):
        options = list(self.options)
        if callable(self.options) or self.dynamic:
            return {"kind": "steps", "dynamic": True, "samples": [self.default]}
        return {"kind": "steps", "options": options,
                "samples": list(dict.fromkeys([options[0], options[-1], options[len(options) // 2], self.default]))}


@dataclass(frozen=True)
class Choice(Control):
    """One of a few options: ``widget`` "radio", "selectbox" or "segmented". ``labels`` maps an
    option to what the page shows (a dict or a function); the URL holds ``str(option)``."""

    options: Any = ()
    labels: Any = None
    widget_kind: str = "radio"
    horizontal: bool = False

    def bounds(self, values):
        return {"options": tuple(_resolve(self.options, values))}

    def _label(self, option) -> str:
        if self.labels is None:
            return str(option)
        return str(self.labels(option) if callable(self.labels) else self.labels.get(option, option))

    def parse(self, text, bounds):
        for option in bounds["options"]:
            if str(option) == str(text):
                return option
        for option in bounds["options"]:  # links made before the kit named an option by its label
            if self._label(option) == str(text):
                return option
        raise ValueError(f"{text!r} is not an option")

    def fit(self, value, bounds):
        options = bounds["options"]
        if value in options:
            return value
        return self.default if self.default in options else options[0]

    def widget(self, where, label, key, bounds, disabled, help):
        options = list(bounds["options"])
        if self.widget_kind == "selectbox":
            return where.selectbox(label, options, format_func=self._label, key=key, help=help, disabled=disabled)
        if self.widget_kind == "segmented":
            # required: a second click on the chosen option keeps it, as a radio would
            return where.segmented_control(label, options, format_func=self._label, key=key, help=help,
                                           disabled=disabled, selection_mode="single", required=True)
        return where.radio(label, options, format_func=self._label, key=key, help=help, disabled=disabled,
                           horizontal=self.horizontal)

    def domain(self):
        if callable(self.options) or self.dynamic:
            return {"kind": "choice", "dynamic": True, "samples": [self.default]}
        return {"kind": "choice", "options": list(self.options), "samples": list(self.options)}


@dataclass(frozen=True)
class Toggle(Control):
    def bounds(self, values):
        return {}

    def parse(self, text, bounds):
        lowered = str(text).strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        raise ValueError(f"{text!r} is not true or false")

    def serialize(self, value):
        return "true" if value else "false"

    def fit(self, value, bounds):
        return bool(value) if isinstance(value, bool) else bool(self.default)

    def widget(self, where, label, key, bounds, disabled, help):
        return where.toggle(label, key=key, help=help, disabled=disabled)

    def domain(self):
        return {"kind": "toggle", "samples": [True, False]}


@dataclass(frozen=True)
class Number(Control):
    """A whole number typed or stepped (a seed)."""

    min_value: int = 0
    max_value: int = 9999

    def bounds(self, values):
        return {"min_value": _resolve(self.min_value, values), "max_value": _resolve(self.max_value, values)}

    def parse(self, text, bounds):
        number = _parse_number(text)
        if not number.is_integer() or not bounds["min_value"] <= number <= bounds["max_value"]:
            raise ValueError(f"{number} is not a whole number in range")
        return int(number)

    def fit(self, value, bounds):
        try:
            number = float(value)
            if not math.isfinite(number):
                raise ValueError
        except (TypeError, ValueError):
            return self.default
        return int(min(max(round(number), bounds["min_value"]), bounds["max_value"]))

    def widget(self, where, label, key, bounds, disabled, help):
        return int(where.number_input(label, min_value=bounds["min_value"], max_value=bounds["max_value"], step=1,
                                      key=key, help=help, disabled=disabled))

    def domain(self):
        return {"kind": "number", "min": self.min_value, "max": self.max_value,
                "samples": [self.min_value, self.max_value, (self.min_value + self.max_value) // 2, self.default]}


@dataclass(frozen=True)
class Text(Control):
    max_chars: int = 200
    placeholder: str | None = None

    def bounds(self, values):
        return {}

    @staticmethod
    def clean(text: str) -> str:
        """The text as both the box and the link keep it: a tab, a no-break space or any other space
        is a plain space, and other characters that do not print are left out. (The link used to drop a
        tab the box kept: "the⇥cat" was six words on the page and "thecat …", five, from its link.)"""
        return "".join(" " if ch.isspace() else ch for ch in str(text) if ch.isprintable() or ch.isspace())

    def parse(self, text, bounds):
        text = self.clean(text)
        if len(text) > self.max_chars:
            raise ValueError(f"longer than {self.max_chars} characters")
        return text

    def fit(self, value, bounds):
        return self.clean(value)[: self.max_chars] if isinstance(value, str) else self.default

    def widget(self, where, label, key, bounds, disabled, help):
        return where.text_input(label, max_chars=self.max_chars, key=key, help=help, placeholder=self.placeholder,
                                disabled=disabled)

    def domain(self):
        return {"kind": "text", "max_chars": self.max_chars, "samples": [self.default]}


@dataclass(frozen=True)
class Upload(Control):
    """A file the user uploads: its bytes, or None. Not in the URL (a link cannot carry a file).

    ``types`` are the file kinds the page reads, said in the widget's help; the widget itself takes
    any name, because the page reads the content, not the name: MovieLens ships ratings as u1.base and
    u1.test, and Streamlit refuses a name outside ``type=`` with an exception, not a message."""

    types: Sequence[str] = ()
    max_mb: int = 5
    url: bool = False

    def fit(self, value, bounds):
        return value

    def widget(self, where, label, key, bounds, disabled, help):
        kinds = ", ".join(f".{t}" for t in self.types)
        help = " ".join(part for part in (help, f"Read by their content: {kinds} and others." if kinds else "") if part)
        file = where.file_uploader(label, type=None, key=key, help=help or None, disabled=disabled,
                                   max_upload_size=self.max_mb)
        return None if file is None else file.getvalue()

    def domain(self):
        return {"kind": "upload", "samples": [None]}


@dataclass(frozen=True)
class SnapshotStep(Control):
    """A snapshot of a run, by its step number; -1 (the default) stands for the last one, so a link
    without ``step`` always shows the end of the run whatever its length. The steps come with each
    draw (``draw(STEP, steps=snapshots.steps)``): a remembered step the new run does not have moves
    to the nearest one it has."""

    def bounds(self, values):
        return {"steps": ()}

    @staticmethod
    def index(value, steps) -> int:
        if value == -1 or not steps:
            return len(steps) - 1
        return min(range(len(steps)), key=lambda i: abs(steps[i] - value))

    def parse(self, text, bounds):
        number = _parse_number(text)
        if number != -1 and number not in bounds["steps"]:
            raise ValueError(f"{number} is not a snapshot step")
        return -1 if number == -1 or number == bounds["steps"][-1] else int(number)

    def fit(self, value, bounds):
        steps = bounds["steps"]
        if not steps:
            return -1
        try:
            step = steps[self.index(int(value), steps)]
        except (TypeError, ValueError, OverflowError):
            return -1
        return -1 if step == steps[-1] else step

    def widget(self, where, label, key, bounds, disabled, help):
        steps = list(bounds["steps"])
        if len(steps) < 2:
            return -1
        # the last step is written "end", the same whatever the run's length: the browser sends a select
        # slider's value back as its label, and a label that changed with the length ("29 (end)" in a run
        # of 28 epochs, sent by a key held down on Epochs before the new widget arrived) matched no option,
        # so Streamlit fell back to the first: the scrubber jumped to step 0 and step=0 entered the link
        # and the end is the widget's default: where Streamlit falls back (a value it cannot match, a widget
        # state lost to a run cut short) it falls back there, not to step 0
        return where.select_slider(label, options=steps[:-1] + [-1], value=-1, key=key, help=help,
                                   disabled=disabled, format_func=lambda s: "end" if s == -1 else f"{s:,}")

    def domain(self):
        return {"kind": "snapshot", "dynamic": True, "samples": [-1]}


# ----------------------------------------------------------------------------- drawing

def current_page() -> str:
    return st.session_state.get(_PAGE, "Home")


def state_key(control: Control, page: str | None = None) -> str:
    return f"{page or current_page()}:{control.key}"


def registry(page: str | None = None) -> dict[str, Control]:
    """The controls drawn on ``page`` (this one by default), by key: what Reset and presets act on,
    and what the tests walk."""
    return st.session_state.setdefault(_REGISTRY, {}).setdefault(page or current_page(), {})


def last_bounds(page: str | None = None) -> dict[str, dict]:
    """The range or options each control of ``page`` was last drawn with (the tests read them)."""
    return st.session_state.setdefault("_lab_bounds", {}).setdefault(page or current_page(), {})


_REJECTED, _IN_PANEL = "_lab_link_rejected", "_lab_in_panel"


def _say_rejected_link_values() -> None:
    """One toast for the link's values this run could not use (out of range, inf, nan, garbled)."""
    labels = list(dict.fromkeys(st.session_state.pop(_REJECTED, [])))
    if labels:
        names = ", ".join(f"“{label}”" for label in labels[:4]) + (f" and {len(labels) - 4} more" if len(labels) > 4
                                                                 else "")
        said = ("value for {} is not one this page can use, so it opens at its default (or the nearest value in "
                "range)" if len(labels) == 1 else
                "values for {} are not ones this page can use, so they open at their defaults (or the nearest values "
                "in range)")
        st.toast(f"This link's {said.format(names)}.", icon=":material/link_off:")


def _url_value(control: Control, bounds) -> Any:
    """The control's value from the address bar, or UNSET when absent or not acceptable."""
    if not control.url or control.key not in st.query_params:
        return UNSET
    try:
        return control.parse(st.query_params[control.key], bounds)
    except Exception:  # noqa: BLE001 - any garbled link value opens the control at its default
        st.session_state.setdefault(_REJECTED, []).append(control.label)
        if not st.session_state.get(_IN_PANEL):  # a control of its own (a step, a query row): said now
            _say_rejected_link_values()
        return UNSET


def _sync_url(control: Control, value) -> None:
    if not control.url:
        return
    try:
        text = None if value == control.default else control.serialize(value)
    except Exception:  # noqa: BLE001 - a value that cannot be compared or written stays out of the link
        text = None
    if text is None:
        if control.key in st.query_params:
            del st.query_params[control.key]
    elif st.query_params.get(control.key) != text:
        st.query_params[control.key] = text


LINK_KEYS = {"present", "lesson"}  # the address bar's keys that are no control's of the page's own


def tidy_url() -> None:
    """After a full run of a page: the link keeps only the keys of the controls this run drew (and
    the presenter view and the lesson), each once. A key of another page, a misspelt one, or a
    second value for a key (``?users=100&users=200``: the last is read) would otherwise ride along
    in every link copied from here; the keys left out are named in a toast."""
    known = set(registry()) | LINK_KEYS
    foreign = []
    for key in list(st.query_params.keys()):
        if key not in known:
            foreign.append(key)
            del st.query_params[key]
        elif len(st.query_params.get_all(key)) > 1:
            st.query_params[key] = st.query_params[key]
    if foreign:
        # a link's own text, escaped: no Markdown link or formula made of it in the lab's toast
        shown = ", ".join(f"“{plain(str(key)[:30])}”" for key in foreign[:4]) + (f" and {len(foreign) - 4} more"
                                                                               if len(foreign) > 4 else "")
        st.toast(f"This link names {'a setting' if len(foreign) == 1 else 'settings'} this page does not have "
                 f"({shown}), so {'it is' if len(foreign) == 1 else 'they are'} left out.",
                 icon=":material/link_off:")


def forget(control: Control) -> None:
    """A hidden control takes its default and leaves the URL."""
    _sync_url(control, control.default)


def draw(control: Control, *, container=None, values: Mapping[str, Any] | None = None,
         disabled: bool = False, label: str | None = None, **bounds) -> Any:
    """Draw one control (in ``container``, the sidebar by default) and return its value.

    ``bounds`` override its range or options for this run (``max_value=last_step``,
    ``options=labels``): a remembered value outside them is clamped in before the widget exists.
    """
    if control.default is UNSET:
        raise ValueError(f"control {control.key!r} needs a default")
    values = values or {}
    limits = {**control.bounds(values), **bounds}
    key = state_key(control)
    registry()[control.key] = control
    previous = last_bounds().get(control.key)
    last_bounds()[control.key] = limits
    where = st.sidebar if container is None else container
    if isinstance(control, Upload):  # a file uploader keeps its own state
        return control.widget(where, label or control.label, key, limits, disabled, control.help)
    if key not in st.session_state:
        from_url = _url_value(control, limits)
        st.session_state[key] = control.fit(control.default if from_url is UNSET else from_url, limits)
    else:
        fitted = control.fit(st.session_state[key], limits)
        # assigned when the value must move into range, and when the range itself changed: a new range
        # makes Streamlit build a new widget, which would otherwise open at its minimum. Not on every run:
        # a write racing a key press in flight would drop the press.
        if fitted != st.session_state[key] or (previous is not None and previous != limits):
            st.session_state[key] = fitted
    value = control.widget(where, label or control.label, key, limits, disabled, control.help)
    _sync_url(control, value)
    return value


def with_defaults(controls: Sequence[Control], settings_type) -> tuple[Control, ...]:
    """The controls with each default taken from the Settings field it fills (so the default lives
    in calc_core only); a control whose default is given explicitly must agree with it."""
    defaults = {f.name: f.default for f in fields(settings_type)}
    filled = []
    for control in controls:
        if control.name not in defaults:
            raise ValueError(f"control {control.key!r} fills {control.name!r}, which {settings_type.__name__} "
                             "does not have")
        default = defaults[control.name]
        if control.default is not UNSET and control.default != default:
            raise ValueError(f"control {control.key!r} says its default is {control.default!r}, but "
                             f"{settings_type.__name__}.{control.name} defaults to {default!r}")
        filled.append(replace(control, default=default))
    return tuple(filled)


def panel(controls: Sequence[Control], settings_type, *, at_hand: Sequence[str] = (), main=None):
    """Draw a page's controls in the sidebar (those named in ``at_hand`` in ``main`` instead: the
    presenter view) and return ``settings_type(**values)``."""
    controls = with_defaults(controls, settings_type)
    values: dict[str, Any] = {}
    hand = [c for c in controls if c.name in at_hand]
    hand_columns = main.columns(min(4, len(hand))) if main is not None and hand else []
    st.session_state[_IN_PANEL] = True  # the settings' refused link values are said together, below
    try:
        values = _draw_panel(controls, values, hand, hand_columns)
    finally:
        st.session_state[_IN_PANEL] = False
    _say_rejected_link_values()
    return settings_type(**values)


def _draw_panel(controls, values: dict, hand, hand_columns) -> dict:
    section = None
    for control in controls:
        registry()[control.key] = control
        if control.when is not None and not control.when(values):
            values[control.name] = control.default
            forget(control)
            continue
        if control in hand:
            where = hand_columns[hand.index(control) % len(hand_columns)]
        else:
            if control.section and control.section != section:
                st.sidebar.header(control.section)
                section = control.section
            where = st.sidebar
        disabled = bool(control.disabled_when and control.disabled_when(values))
        values[control.name] = draw(control, container=where, values=values, disabled=disabled)
    return values


def set_values(page: str, values: Mapping[str, Any], *, reset_others: bool = True) -> None:
    """Put ``page``'s controls at ``values`` (by field name or key), the others at their defaults.
    For button callbacks: Reset, presets."""
    for control in registry(page).values():
        if control.key in KEEP_ON_RESET:
            continue
        if control.name in values or control.key in values:
            value = values.get(control.name, values.get(control.key))
        elif reset_others:
            value = control.default
        else:
            continue
        if isinstance(control, Upload):
            continue  # a file stays chosen; the widget's own state cannot be set
        st.session_state[state_key(control, page)] = value
        if control.url:
            if value == control.default:
                st.query_params.pop(control.key, None)
            else:
                st.query_params[control.key] = control.serialize(value)


def _reset(page: str) -> None:
    set_values(page, {})
    st.query_params.pop("lesson", None)  # the defaults are no lesson's settings


def reset_button(container=None) -> None:
    """A button that puts every control of this page back to its default (and clears the URL)."""
    page = current_page()
    (st.sidebar if container is None else container).button(
        "Reset all controls", on_click=_reset, args=(page,), icon=":material/restart_alt:",
        key=f"{page}:reset", help="Back to the defaults; the address bar then holds no settings.")
