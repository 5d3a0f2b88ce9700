"""Every page of the catalog, with no page-specific code: defaults, every control at its ends and in
the middle, hostile links, Reset, lessons, moving between pages, and controls left at the far end of
a range that another control then shrinks. A new page in ui.catalog gets all of this for free.

Controls and their defaults come from the page's own registry (what ui.controls drew on the run),
and defaults are checked against the application's Settings: never hard-coded copies."""

from __future__ import annotations

import re
from dataclasses import fields

import pytest

from tests.pages.apptest_helpers import (HOSTILE_VALUES, assert_clean, control_bounds, control_registry, page_ids,
                                         run_page, state_value)
from ui.catalog import APPLICATIONS
from ui.controls import Slider

PAGES = [app for app in APPLICATIONS if app.available]
LESSONS = "lesson_choice"


@pytest.fixture(params=PAGES, ids=page_ids(PAGES))
def app(request):
    return request.param


def settings_fields(app) -> set[str]:
    return {f.name for f in fields(app.lab_module().Settings)}


def url_controls(at, app) -> dict:
    """The page's URL-bound controls with a fixed domain (a step slider's range comes from the run)."""
    return {key: c for key, c in control_registry(at, app).items()
            if c.url and key != "present" and not c.domain().get("dynamic")}


def samples(at, app):
    """(key, value): each control's ends and middle, other than its default."""
    return [(key, value) for key, control in url_controls(at, app).items()
            for value in control.domain()["samples"] if value != control.default]


def test_the_page_opens_clean_with_its_title_charts_and_at_least_three_lessons(app):
    at = run_page(app.page)
    assert_clean(at)
    assert at.title[0].value == app.name
    assert at.get("vega_lite_chart") or at.get("imgs"), "the page draws nothing"
    assert len(app.presets) >= 3
    assert set(at.query_params) == set(), dict(at.query_params)


def test_the_code_that_ran_names_public_functions_only(app):
    # issue 9: a reader must be able to call what the page shows (no module._private names)
    at = run_page(app.page)
    shown = [c.value.strip("`") for c in at.caption if c.value.startswith("`calc_core.")]
    assert shown, "no code shown"
    for name in shown:
        assert not any(part.startswith("_") for part in name.split(".")), name


def test_the_code_box_shows_every_line_of_code_and_leaves_out_only_the_docstring_s_reference_sections(app):
    import ast
    import importlib
    import inspect
    import textwrap

    from calc_core.common.jit import python_source_of
    from ui.panels import REFERENCE_SECTIONS, source_of

    at = run_page(app.page)
    shown = [c.value.strip("`") for c in at.caption if c.value.startswith("`calc_core.")]
    assert shown, "no code shown"
    for name in shown:
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):  # the longest prefix that is a module; then attributes
            try:
                function = importlib.import_module(".".join(parts[:cut]))
                break
            except ModuleNotFoundError:
                continue
        for attribute in parts[cut:]:
            function = getattr(function, attribute)
        function = python_source_of(function)
        full, boxed = textwrap.dedent(inspect.getsource(function)), source_of(function)
        before, after = ast.parse(full).body[0], ast.parse(boxed).body[0]
        # the same code, line for line (only the docstring may differ)
        if ast.get_docstring(before) is None:
            assert boxed == full, name
            continue
        assert ast.dump(ast.Module(before.body[1:], [])) == ast.dump(ast.Module(after.body[1:], [])), name
        assert [line for line in full.splitlines() if line not in boxed.splitlines()] == [
            line for line in full.splitlines()[before.body[0].lineno - 1:before.body[0].end_lineno]
            if line not in boxed.splitlines()], name
        doc = ast.get_docstring(after)
        assert ast.get_docstring(before).splitlines()[0] == doc.splitlines()[0], name  # the summary stays
        lines = doc.splitlines()
        assert not [line for k, line in enumerate(lines[:-1])
                    if line.strip() in REFERENCE_SECTIONS and set(lines[k + 1].strip()) == {"-"}], name


def test_every_control_opens_at_the_default_its_settings_field_declares(app):
    at = run_page(app.page)
    defaults = app.lab_module().Settings()
    registry = control_registry(at, app)
    assert {c.name for c in registry.values()} & settings_fields(app), "no control fills a Settings field"
    for key, control in registry.items():
        if control.name in settings_fields(app):
            assert control.default == getattr(defaults, control.name), key
            if control.url and state_value(at, app, key) is not None:  # hidden controls hold no value
                assert state_value(at, app, key) == control.default, key


def test_every_control_in_a_deep_link_opens_there_and_stays_in_the_link(app):
    """Each control's ends and middle, one at a time, given in the link: the page is clean, the
    control shows the value, and the address bar keeps it (a copied link reproduces the run)."""
    first = run_page(app.page)
    registry = url_controls(first, app)
    for key, value in samples(first, app):
        text = registry[key].serialize(value)
        at = run_page(app.page, {key: text})
        assert_clean(at, (key, text))
        if key in control_bounds(at, app):  # drawn (some controls show only with another's value)
            assert state_value(at, app, key) == value, (key, text)
            assert at.query_params.get(key) == text, (key, text, dict(at.query_params))


@pytest.mark.parametrize("hostile", HOSTILE_VALUES)
def test_a_hostile_link_opens_every_control_at_its_default(app, hostile):
    first = run_page(app.page)
    registry = {key: c for key, c in control_registry(first, app).items() if c.url}
    at = run_page(app.page, {key: hostile for key in registry})
    assert_clean(at, hostile)
    refused = []
    for key, control in url_controls(at, app).items():
        if key not in control_bounds(at, app):  # hidden by when=: its default, and out of the link
            assert key not in at.query_params, (key, hostile)
            continue
        try:
            control.parse(hostile, control_bounds(at, app)[key])
        except Exception:  # noqa: BLE001 - refused: the control must be at its default
            assert state_value(at, app, key) == control.default, (key, hostile)
            assert key not in at.query_params, (key, hostile)
            refused.append(control.label)
    # and the page says so, once: the settings' refused values in one toast (a control of its own, such
    # as a step slider, in its own), naming the first, never on the next rerun
    toasts = [t.value for t in at.toast]
    if refused:
        assert 1 <= len(toasts) <= len(refused) and all("at its default" in t or "at their defaults" in t for t in toasts), (hostile, toasts)
        assert f"“{refused[0]}”" in " ".join(toasts), (hostile, refused, toasts)
    else:
        assert not toasts, (hostile, toasts)
    assert not at.run().toast, hostile


def test_reset_puts_every_control_back_and_clears_the_link(app):
    first = run_page(app.page)
    registry = url_controls(first, app)
    query = {}
    for key, value in samples(first, app):
        query.setdefault(key, registry[key].serialize(value))
    at = run_page(app.page, query)
    assert_clean(at)
    assert at.query_params, "the link should hold the moved controls"
    at.button(key=f"{app.slug}:reset").click().run()
    assert_clean(at)
    for key, control in url_controls(at, app).items():
        assert state_value(at, app, key) == control.default, key
    assert set(at.query_params) == set(), dict(at.query_params)


def test_every_lesson_sets_its_controls_and_the_link_holds_exactly_what_differs(app):
    for preset in app.presets:
        at = run_page(app.page)
        pills = [w for w in at.get("button_group") if getattr(w, "key", None) == f"{app.slug}:{LESSONS}"]
        assert pills, "the lessons bar is missing"
        pills[0].set_value(preset.name).run()
        assert_clean(at, preset.name)
        wanted = {**preset.settings, **preset.extras}
        registry = control_registry(at, app)
        for key, control in registry.items():
            if control.name in wanted:
                assert state_value(at, app, key) == control.fit(wanted[control.name], control_bounds(at, app)[key]), \
                    (preset.name, key)
        differing = {c.key for c in registry.values()
                     if c.url and c.name in wanted and wanted[c.name] != c.default}
        assert set(at.query_params) - {"lesson"} == differing, (preset.name, dict(at.query_params))
        assert at.query_params.get("lesson") == preset.name


def test_a_value_moved_on_one_page_does_not_leak_into_another(app):
    """Pages share control keys (lr, steps, seed, noise …): moving one on this page leaves every other
    page's control of that key at its own default, and Reset here touches only this page."""
    for other in (o for o in PAGES if o.page != app.page):
        at = run_page(other.page)
        theirs = url_controls(at, other)
        at = run_page(app.page, at=at)
        mine = url_controls(at, app)
        shared = [k for k in mine if k in theirs]
        for key in shared:
            moved = [v for v in mine[key].domain()["samples"] if v != mine[key].default]
            if moved:
                at.session_state[f"{app.slug}:{key}"] = moved[0]
        at.run()
        at.button(key=f"{app.slug}:reset").click().run()
        run_page(other.page, at=at)
        assert_clean(at, other.slug)
        drawn = control_registry(at, other)
        for key in shared:
            if key in drawn and state_value(at, other, key) is not None:  # hidden controls have no value
                assert state_value(at, other, key) == theirs[key].default, (other.slug, key)


def test_controls_left_at_the_far_end_survive_other_controls_shrinking_their_range(app):
    """A step, a row, a user … moved to the far end of the range it was drawn with; then each
    Settings control moved to its ends, which can shrink that range. Never an exception, and every
    control stays inside the range it is drawn with."""
    at = run_page(app.page)
    registry, bounds = control_registry(at, app), control_bounds(at, app)
    for key, control in registry.items():
        if control.name in settings_fields(app) or key == "present":
            continue
        limits = bounds[key]
        end = limits.get("max_value", (limits.get("options") or limits.get("steps") or (None,))[-1])
        if end is not None:
            at.session_state[f"{app.slug}:{key}"] = end
    at.run()
    assert_clean(at, "far end")
    for key, control in url_controls(at, app).items():
        if control.name not in settings_fields(app):
            continue
        for value in control.domain()["samples"][:2]:
            at.session_state[f"{app.slug}:{key}"] = value
            at.run()
            assert_clean(at, (key, value))
            for other, limits in control_bounds(at, app).items():
                value_now = state_value(at, app, other)
                if "max_value" in limits and value_now is not None:
                    assert limits["min_value"] <= value_now <= limits["max_value"], (key, other, value_now)
                if "options" in limits and value_now is not None and limits["options"]:
                    assert value_now in limits["options"], (key, other, value_now)


def lesson_pills(at, app):
    return next(w for w in at.get("button_group") if getattr(w, "key", None) == f"{app.slug}:{LESSONS}")


def banner(at) -> list[str]:
    return [i.value for i in at.info if str(i.icon) == ":material/school:" or "school" in str(getattr(i, "icon", ""))]


def test_a_lesson_is_on_only_while_the_link_says_so_reset_and_leaving_the_page_end_it(app):
    preset = app.presets[0]
    at = run_page(app.page)
    lesson_pills(at, app).set_value(preset.name).run()
    assert banner(at) and preset.title in banner(at)[0]
    at.button(key=f"{app.slug}:reset").click().run()
    assert_clean(at)
    assert not banner(at) and lesson_pills(at, app).value is None and "lesson" not in at.query_params
    # a sidebar link drops the query string: the page is entered afresh, at its defaults, with no lesson
    lesson_pills(at, app).set_value(preset.name).run()
    other = next(o for o in PAGES if o.page != app.page)
    at.query_params.clear()
    run_page(other.page, at=at)
    at.query_params.clear()
    run_page(app.page, at=at)
    assert_clean(at)
    assert not banner(at) and lesson_pills(at, app).value is None, banner(at)


def _lesson_with_a_moved_default(app):
    first = run_page(app.page)
    registry = control_registry(first, app)
    defaults = {c.name: c.default for c in registry.values()}
    preset = next(p for p in app.presets if any(name in defaults and defaults[name] != value
                                                for name, value in {**p.settings, **p.extras}.items()))
    moved = next(c for c in registry.values() if c.url and c.name in {**preset.settings, **preset.extras}
                 and {**preset.settings, **preset.extras}[c.name] != c.default)
    return preset, moved


def test_a_lesson_whose_controls_are_elsewhere_says_which_and_offers_the_way_back(app):
    preset, control = _lesson_with_a_moved_default(app)
    # the lesson named, one of its controls at the page's default instead of the lesson's value
    at = run_page(app.page, {"lesson": preset.name, control.key: control.serialize(control.default)})
    assert_clean(at)
    assert banner(at) and lesson_pills(at, app).value == preset.name
    moved = [c.value for c in at.caption if c.value.startswith("The controls have moved from this lesson")]
    assert moved, "the banner describes settings the page is not at, and says nothing"
    assert control.label in moved[0]
    assert not re.search(r"\b(True|False|None)\b|  |is \(", moved[0]), moved[0]  # values as the widgets show them
    # the link still says where the control is: opened afresh it shows the same, not the lesson's value
    again = run_page(app.page, dict(at.query_params))
    assert state_value(again, app, control.key) == control.default
    at.button(key=f"{app.slug}:lesson_back").click().run()
    assert_clean(at)
    assert not [c.value for c in at.caption if c.value.startswith("The controls have moved from this lesson")]
    wanted = {**preset.settings, **preset.extras}
    for key, c in control_registry(at, app).items():
        if c.name in wanted:
            assert state_value(at, app, key) == c.fit(wanted[c.name], control_bounds(at, app)[key]), key


def test_a_link_naming_only_a_lesson_opens_the_lesson(app):
    """?lesson=… typed by hand or written on a slide: the page opens at the lesson's settings, the
    banner has nothing to correct, and the link then holds what differs, as the lesson button gives."""
    for preset in app.presets:
        at = run_page(app.page, {"lesson": preset.name})
        assert_clean(at)
        assert banner(at) and lesson_pills(at, app).value == preset.name
        assert not [c.value for c in at.caption if c.value.startswith("The controls have moved")], preset.name
        by_button = run_page(app.page)
        lesson_pills(by_button, app).set_value(preset.name).run()
        assert dict(at.query_params) == dict(by_button.query_params), preset.name


def test_a_link_keeps_only_this_pages_keys_each_once(app):
    first = run_page(app.page)
    key, control, value = next((k, c, v) for k, c in url_controls(first, app).items() for v in c.domain()["samples"]
                               if isinstance(c, Slider) and v != c.default)
    other = next(o for o in PAGES if o.page != app.page)
    foreign = next(k for k in url_controls(run_page(other.page), other) if k not in control_registry(first, app))
    at = run_page(app.page, {key: [control.serialize(control.default), control.serialize(value)],
                             foreign: "3", key.upper() if key.upper() != key else key + "X": "1"})
    assert_clean(at)
    assert state_value(at, app, key) == value  # the last of two values is read …
    assert dict(at.query_params) == {key: control.serialize(value)}  # … and the link keeps only it
    links = [c.value for c in at.code if "?" in c.value and c.value.split("?")[-1].startswith(key + "=")]
    assert links and links[-1].endswith(f"?{key}={control.serialize(value)}"), links  # Copy link says the same
    assert any("does not have" in t.value and foreign in t.value for t in at.toast), [t.value for t in at.toast]


def test_a_link_naming_no_lesson_of_this_page_is_dropped_with_a_word(app):
    at = run_page(app.page, {"lesson": "no-such-lesson"})
    assert_clean(at)
    assert "lesson" not in at.query_params and not banner(at)
    assert any("not one of this page's lessons" in t.value for t in at.toast)


def test_the_presenter_view_carries_over_to_the_next_page_and_into_its_link(app):
    at = run_page(app.page)
    at.toggle(key=f"{app.slug}:present").set_value(True).run()
    assert_clean(at)
    other = next(o for o in PAGES if o.page != app.page)
    at.query_params.clear()  # a sidebar link drops the query string
    run_page(other.page, at=at)
    assert_clean(at, other.slug)
    assert state_value(at, other, "present") is True and at.query_params.get("present") == "true"
    at.toggle(key=f"{other.slug}:present").set_value(False).run()
    at.query_params.clear()
    run_page(app.page, at=at)
    assert state_value(at, app, "present") is False and "present" not in at.query_params


def test_a_links_markdown_is_shown_as_written_in_the_toasts_never_as_a_link():
    """A link is anyone's text: its lesson and its unknown keys are quoted in the lab's toasts, and
    Markdown in them made clickable links there ("Sign in" → https://ev.il/) under the lab's icon."""
    app = next(a for a in PAGES if a.presets)
    at = run_page(app.page, {"lesson": "[Sign in](https://ev.il)", "[Help](https://ev.il)": "1"})
    assert_clean(at)
    toasts = [t.value for t in at.toast]
    assert any("not one of this page's lessons" in t for t in toasts) and any("does not have" in t for t in toasts)
    for text in toasts:
        assert "](" not in text and "https://" not in text, text  # every bracket and colon escaped
    assert any(r"\[Sign in\]\(https\:" in t for t in toasts), toasts


def test_a_presenter_switch_in_a_link_that_is_no_switch_value_is_named_not_dropped_silently():
    app = PAGES[0]
    at = run_page(app.page, {"present": "💥"})
    assert_clean(at)
    assert "present" not in at.query_params
    assert any("Presenter view" in t.value and "not one this page can use" in t.value for t in at.toast), \
        [t.value for t in at.toast]
    assert not run_page(app.page, {"present": "yes"}).toast  # a switch's words are read without a word


@pytest.mark.parametrize("typed", ["the\tcat sat on the mat", "the\u00a0cat sat on the mat", "the\u2003cat sat on the mat"])
def test_a_typed_text_with_a_tab_or_no_break_space_gives_a_link_that_opens_the_same_page(typed):
    """Pasted text often holds a tab or a no-break space: the box kept it (six words) and the link
    dropped it ("thecat …", five words), so a copied link opened another page."""
    app = next(a for a in PAGES if a.url_path == "Attention")
    at = run_page(app.page)
    box = next(t for t in at.text_input if t.label.startswith("Sentence"))
    box.input(typed).run()
    assert_clean(at)
    assert at.query_params["text"] == "the cat sat on the mat"
    again = run_page(app.page, {"text": at.query_params["text"]})
    shown = lambda page: [(m.label, m.value) for m in page.metric]  # noqa: E731
    assert shown(again) == shown(at)
