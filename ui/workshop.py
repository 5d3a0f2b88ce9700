"""Workshop mode, once for every page: lessons (presets) in one click, a presenter view, scrubbing
and playing through a run's snapshots, and a link to copy.

* **Lessons.** A page's presets (``calc_core.<app>.lab.PRESETS``) appear as buttons above the page.
  One click puts every control of the page at the preset's values (the others at their defaults),
  so the address bar then holds exactly what differs and the link reproduces it; ``lesson=<name>``
  in the URL says which lesson is on. The controls stay free to move afterwards.
* **Presenter view** (a switch, or ``?present=1`` in a prepared link): larger type and charts,
  explanations folded to their first sentence, the current lesson's controls at hand above the page,
  and *previous / next lesson*. Legible at 1280×720 and on a 390-px phone (titles never break
  mid-word).
* **Scrubbing.** :func:`scrubber` draws a step slider over a run's snapshots and *Play / Pause*; the
  charts that depend on the step are drawn inside a fragment that reruns on a timer while playing, so
  moving through steps never reruns the page or retrains: it reads the cached run.
"""

from __future__ import annotations

import math
import re
import time
import urllib.parse
from typing import Callable, Sequence

import streamlit as st

from calc_core.common.presets import Preset
from calc_core.common.snapshots import Snapshots
from ui import controls
from ui.markdown import plain

PRESENT = controls.Toggle("present", "Presenter view", default=False,
                          help="Larger type, explanations folded to one line, the lesson's controls at hand. "
                               "Add ?present=1 to a link to open it this way.")
PLAY_INTERVAL = 0.6  # seconds between frames while playing
_CSS = """<style>
h1, h2, h3 { overflow-wrap: normal; word-break: normal; hyphens: manual; }
[data-testid="stVegaLiteChart"] { max-width: 100%; overflow-x: auto; }
@media (max-width: 640px) {
  h1 { font-size: 1.9rem !important; }
  [data-testid="stMetricValue"] { font-size: 1.5rem; }
}
</style>"""
_PRESENTER_CSS = """<style>
[data-testid="stMain"] p, [data-testid="stMain"] li, [data-testid="stMarkdownContainer"] { font-size: 1.22rem; }
[data-testid="stMain"] h1 { font-size: 3rem; }
[data-testid="stMain"] h3 { font-size: 2rem; }
[data-testid="stMetricValue"] { font-size: 2.4rem; }
[data-testid="stMetricLabel"] p { font-size: 1.1rem; }
[data-testid="stCaptionContainer"] { font-size: 1.05rem; }
@media (max-width: 640px) {
  [data-testid="stMain"] h1 { font-size: 2rem; }
  [data-testid="stMain"] p, [data-testid="stMarkdownContainer"] { font-size: 1.05rem; }
}
/* a metric's value keeps its own size: the rules for text above reached the paragraph inside it (36 → 19.5 px) */
[data-testid="stMain"] [data-testid="stMetricValue"] p, [data-testid="stMain"] [data-testid="stMetricValue"] div,
[data-testid="stMain"] [data-testid="stMetricValue"] [data-testid="stMarkdownContainer"] { font-size: inherit; }
</style>"""


def style() -> None:
    """The lab's CSS: titles that wrap between words; the presenter view's larger type."""
    st.html(_CSS + (_PRESENTER_CSS if presenting() else ""))


PRESENTING = "_lab_presenting"  # the presenter view, for the whole session: it carries over to the next page


def presenting() -> bool:
    """Whether this page is in the presenter view."""
    return bool(st.session_state.get(controls.state_key(PRESENT), False))


def explain(text: str, *, caption: bool = False) -> None:
    """An explanation: whole normally, its first sentence (the rest one click away) when presenting."""
    write = st.caption if caption else st.markdown
    if not presenting():
        write(text)
        return
    first, rest = first_sentence(text)
    write(first)
    if rest:
        with st.expander("More"):
            st.markdown(rest)


def first_sentence(text: str) -> tuple[str, str]:
    """Split after the first sentence (a full stop, ! or ? before a space and a capital or markup)."""
    match = re.search(r"(?<=[.!?])\s+(?=[A-Z*(\[`$])", text)
    if not match or match.start() > 400:
        return text, ""
    return text[: match.start()], text[match.end():]


# ----------------------------------------------------------------------------- lessons

def _lesson_key(page: str) -> str:
    return f"{page}:lesson"


def current_lesson(presets: Sequence[Preset]) -> Preset | None:
    name = st.session_state.get(_lesson_key(controls.current_page()))
    return next((p for p in presets if p.name == name), None)


def apply_preset(page: str, preset: Preset | None) -> None:
    """Put the page's controls at the preset (None: the defaults) and mark the lesson. A callback."""
    values = {} if preset is None else {**preset.settings, **preset.extras}
    controls.set_values(page, values)
    st.session_state[_lesson_key(page)] = None if preset is None else preset.name
    st.session_state[f"{page}:lesson_choice"] = None if preset is None else preset.name
    if preset is None:
        st.query_params.pop("lesson", None)
    else:
        st.query_params["lesson"] = preset.name


def open_named_lesson(presets: Sequence[Preset], page_controls) -> None:
    """A link that names a lesson and none of the lesson's settings (``?lesson=divergence``, typed
    by hand or written on a slide) opens the lesson: its values go into the link before the controls
    read it. Only on the session's first visit to the page: later, the controls are where the
    audience moved them. A link that holds any of the lesson's controls keeps its own values."""
    page = controls.current_page()
    if f"{page}:lesson_choice" in st.session_state:
        return
    name = st.query_params.get("lesson")
    preset = next((p for p in presets if p.name == name), None)
    if preset is None:
        return
    values = {**preset.settings, **preset.extras}
    named = [c for c in page_controls if c.url and (c.name in values or c.key in values)]
    if any(c.key in st.query_params for c in named):
        return
    for control in named:
        value = values.get(control.name, values.get(control.key))
        if value != control.default:
            st.query_params[control.key] = control.serialize(value)


def _on_choice(page: str, presets: Sequence[Preset]) -> None:
    name = st.session_state.get(f"{page}:lesson_choice")
    apply_preset(page, next((p for p in presets if p.name == name), None))


def lesson_bar(presets: Sequence[Preset]):
    """The page's lessons as buttons, and a place for what the current one shows (filled by
    :func:`show_lesson` once the controls are drawn). Returns (the current lesson, that place).

    The address bar says which lesson is on (``lesson=``), as it holds every control: a page entered
    from the sidebar, Reset, or a link without it has none."""
    page = controls.current_page()
    if not presets:
        return None, None
    key = _lesson_key(page)
    name = st.query_params.get("lesson")
    named = name if any(p.name == name for p in presets) else None
    if name is not None and named is None:
        st.query_params.pop("lesson", None)
        st.toast(f"This link's lesson “{plain(str(name)[:40])}” is not one of this page's lessons, so none is on.",
                 icon=":material/link_off:")
    if st.session_state.get(key) != named or f"{page}:lesson_choice" not in st.session_state:
        st.session_state[key] = named
        st.session_state[f"{page}:lesson_choice"] = named
    lesson = current_lesson(presets)
    # the lessons' full titles get the page's width; the presenter's buttons go below them, in a row that
    # wraps, each as wide as its words (beside the pills, or in columns, "Previous lesson" was cut off)
    row = [st.container(), *[st.container(horizontal=True, gap="small")] * 2] if presenting() else [st.container()]
    row[0].pills("Lessons", [p.name for p in presets], format_func=lambda n: _title(presets, n),
                 key=f"{page}:lesson_choice", on_change=_on_choice, args=(page, presets),
                 help="Each puts the page's controls where one lesson shows; move them freely afterwards.")
    if presenting():
        names = [p.name for p in presets]
        at = names.index(lesson.name) if lesson else -1
        row[1].button("Previous lesson", icon=":material/navigate_before:", key=f"{page}:prev", width="content",
                      disabled=at <= 0, on_click=apply_preset, args=(page, presets[max(at - 1, 0)]))
        row[2].button("Next lesson", icon=":material/navigate_next:", key=f"{page}:next", width="content",
                      disabled=at >= len(presets) - 1,
                      on_click=apply_preset, args=(page, presets[min(at + 1, len(presets) - 1)]))
    return lesson, st.container()


def _moved(lesson: Preset, page: str, fragment_controls=()) -> list[tuple[controls.Control, object, object]]:
    """The controls the lesson sets that are elsewhere now: (control, value now, the lesson's value),
    among those drawn so far this run and those drawn further down, in fragments (their values are in
    the session from their last draw)."""
    moved = []
    known = [*controls.registry(page).values(), *fragment_controls]
    for name, wanted in {**lesson.settings, **lesson.extras}.items():
        control = next((c for c in known if name in (c.name, c.key)), None)
        if control is None or controls.state_key(control, page) not in st.session_state:
            continue  # not on the page now (hidden by another control's value): it has not moved
        now = st.session_state[controls.state_key(control, page)]
        bounds = controls.last_bounds(page).get(control.key)
        if bounds is not None:  # where the lesson put it: its value fitted into the range drawn
            wanted = control.fit(wanted, bounds)
        same = (math.isclose(float(now), float(wanted), rel_tol=1e-9, abs_tol=1e-12)
                if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (now, wanted)) else now == wanted)
        if not same:
            moved.append((control, now, wanted))
    return moved


def show_lesson(lesson: Preset | None, where, fragment_controls=()) -> None:
    """What the current lesson shows — and, when its controls have been moved since, which ones and a
    way back, so that the words never describe settings the page is not at."""
    if lesson is None or where is None:
        st.session_state.pop(_BANNER, None)
        return
    page = controls.current_page()
    found = _moved(lesson, page, fragment_controls)
    st.session_state[_BANNER] = (page, lesson, tuple(fragment_controls), _keys(found))
    moved = [(c.label, _shown(now, c), _shown(wanted, c)) for c, now, wanted in found]
    for control, now, _ in found:
        if control.url and now == control.default:  # said in the link, which would otherwise read as the lesson's
            st.query_params[control.key] = control.serialize(now)  # (open_named_lesson fills a bare ?lesson=)
    with where:
        st.info(f"**{lesson.title}.** {lesson.lesson}", icon=":material/school:")
        if moved:
            said = "; ".join(f"{label} is {now} (the lesson's: {wanted})"
                             for label, now, wanted in moved[:4])
            text, button = st.columns([5, 1], vertical_alignment="center")
            text.caption(f"The controls have moved from this lesson, so the page no longer shows what it says: {said}.")
            button.button("Back to the lesson", key=f"{page}:lesson_back", on_click=apply_preset, args=(page, lesson),
                          icon=":material/undo:", width="stretch")


_BANNER = "workshop:banner"  # what show_lesson last said: (page, lesson, fragment controls, moved keys)


def _keys(found) -> tuple[str, ...]:
    return tuple(sorted(control.key for control, _, _ in found))


def banner_follows() -> None:
    """Called in a fragment once it has drawn its controls. The lesson's banner sits above the fragment,
    so a move of a lesson's control in the fragment (Convolution's η) reruns only the fragment and
    would leave the banner saying the page shows the lesson (or that the control has moved, once it
    is back): when the move changes which of the lesson's controls have moved, the whole page reruns,
    once. Other moves in the fragment stay fragment reruns."""
    said = st.session_state.get(_BANNER)
    if said is None or not _in_fragment_run():
        return
    page, lesson, fragment_controls, keys = said
    if page != controls.current_page() or not fragment_controls:
        return
    if _keys(_moved(lesson, page, fragment_controls)) != keys:
        st.rerun(scope="app")


def _in_fragment_run() -> bool:
    """True while a fragment reruns on its own (not as part of the page's full run)."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.fragment_ids_this_run)


def _shown(value, control=None) -> str:
    """A control's value as its widget shows it: a choice by its label, a slider in its format, a
    switch as on or off, a blank text as blank."""
    label = getattr(control, "_label", None)
    if label is not None:
        return str(label(value))
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, str):
        return f"“{value}”" if value.strip() else "blank"
    fmt = getattr(control, "fmt", None)
    try:
        if isinstance(fmt, str) and isinstance(value, (int, float)):
            return fmt % value
        if callable(fmt) and isinstance(value, (int, float)):
            return str(fmt(value))
    except (TypeError, ValueError):
        pass
    return f"{value:g}" if isinstance(value, float) else str(value)


def _title(presets, name) -> str:
    return next((p.title for p in presets if p.name == name), name)


def at_hand(lesson: Preset | None) -> tuple[str, ...]:
    """The controls the presenter view puts above the page: those the current lesson sets."""
    if not presenting() or lesson is None:
        return ()
    return tuple(lesson.settings) + tuple(lesson.extras)


def sidebar_tools() -> None:
    """The presenter switch and the link to copy, at the bottom of the sidebar."""
    st.sidebar.divider()
    controls.draw(PRESENT, container=st.sidebar)
    st.session_state[PRESENTING] = presenting()  # the next page the session opens starts in the same view
    # the Copy link box comes last, from app.py: after the page's run has drawn every control and
    # controls.tidy_url has left out the keys that are not theirs


def copy_link(container) -> None:
    """The link to these exact settings, in a box with a copy button: drawn after the page's run (and
    controls.tidy_url), in its own fragment that reruns when the box opens, so that it holds what the
    address bar holds then — a step moved in another fragment since included. Lab pages only."""
    page = controls.current_page()
    if page == "Home":
        return

    @st.fragment
    def link():
        with st.popover("Copy link", icon=":material/link:", width="stretch", key=f"{page}:copy_link",
                        on_change="rerun"):
            url = (st.context.url or "").split("?")[0]
            # percent-encoded (a space as %20, "&", "#" and "+" escaped): a typed sentence or kernel comes back as typed
            query = urllib.parse.urlencode(st.query_params.to_dict(), quote_via=urllib.parse.quote)
            st.caption("Every setting is in the address bar; this link reproduces what you see, seed included.")
            st.code(url + (f"?{query}" if query else ""), language=None, wrap_lines=True)

    with container:
        link()


def stop() -> None:
    """Stop the page here (after its message), like ``st.stop()``, keeping the sidebar's *Copy link*
    box: app.py draws it after the page, which a stopped page never reaches. The link then holds the
    keys of every control, drawn or not (controls.tidy_url is skipped too). Inside a fragment, which
    may not write to the sidebar, the box drawn by the page's last full run stays as it is."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState

    try:
        in_fragment = ThreadState.get().fragment_id is not None
    except RuntimeError:  # no script run on this thread
        in_fragment = True
    if not in_fragment:
        copy_link(st.sidebar)
    st.stop()


# ----------------------------------------------------------------------------- scrubbing

STEP = controls.SnapshotStep("step", "Step shown", field="snapshot_step", default=-1,
                             help="Which snapshot of the run the charts below show; Play steps through them.")


def _playing_key(page: str) -> str:
    return f"{page}:playing"


def scrubber(snapshots: Snapshots, draw_step: Callable[[int], None], *, label: str | None = None) -> None:
    """A step slider over ``snapshots`` with Play / Pause, and ``draw_step(index)`` below it: the
    slider and what depends on it are a fragment, so moving the slider reruns only that part and
    reads the cached run — it never retrains.

    The slider shows the snapshot's step (epoch 12, episode 300…), in the URL as ``step`` (left out
    for the last snapshot, the default). Play and Pause are ordinary reruns (a fragment's timer is set
    by a full run); while playing, the fragment reruns every PLAY_INTERVAL seconds and advances one
    snapshot, and the last one stops it."""
    if len(snapshots) == 0:
        st.info("This run kept no snapshots to step through.", icon=":material/info:")
        return
    page = controls.current_page()
    steps = tuple(int(s) for s in snapshots.steps)
    key, playing_key = controls.state_key(STEP, page), _playing_key(page)
    playing = bool(st.session_state.get(playing_key))

    def toggle_play():
        st.session_state[playing_key] = not st.session_state.get(playing_key, False)
        st.session_state[f"{playing_key}.at"] = time.monotonic()
        if st.session_state[playing_key] and st.session_state.get(key, -1) in (-1, steps[-1]):
            st.session_state[key] = steps[0] if len(steps) > 1 else -1  # play from the start

    @st.fragment(run_every=PLAY_INTERVAL if playing else None)
    def panel():
        due = time.monotonic() - st.session_state.get(f"{playing_key}.at", 0.0) >= 0.8 * PLAY_INTERVAL
        if st.session_state.get(playing_key) and key in st.session_state and due:  # a tick of the timer
            st.session_state[f"{playing_key}.at"] = time.monotonic()
            at = STEP.index(st.session_state[key], steps)
            if at >= len(steps) - 1:  # at the end: stop the timer with one ordinary rerun
                st.session_state[playing_key] = False
                st.rerun()
            st.session_state[key] = -1 if at + 1 >= len(steps) - 1 else steps[at + 1]
        slider, button = st.columns([6, 1], vertical_alignment="bottom")
        value = controls.draw(STEP, container=slider, steps=steps,
                              label=label or f"{snapshots.unit.capitalize()} shown")
        now = bool(st.session_state.get(playing_key))
        if button.button("Pause" if now else "Play", icon=":material/pause:" if now else ":material/play_arrow:",
                         key=f"{page}:play", on_click=toggle_play, width="stretch", disabled=len(steps) < 2,
                         help="Step through the run's snapshots; the charts below follow."):
            st.rerun()  # Play and Pause are ordinary reruns: a fragment's timer is set by a full run
        draw_step(STEP.index(value, steps))

    panel()
