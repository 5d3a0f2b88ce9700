"""ui.guard and ui.panels.show_messages: failures become messages, never tracebacks."""

from streamlit.testing.v1 import AppTest


def guarded_app(kind: str):
    import streamlit as st

    import ui

    with ui.guard("compute the thing"):
        if kind == "value":
            raise ValueError("the learning rate must be positive")
        if kind == "bug":
            raise ZeroDivisionError("division by zero")
    st.write("after the guard")


def _script(kind: str) -> AppTest:
    return AppTest.from_function(guarded_app, args=(kind,))


def test_a_value_error_is_shown_as_its_message_and_stops_the_page():
    at = _script("value").run()
    assert not at.exception
    assert "Could not compute the thing" in at.error[0].value
    assert "the learning rate must be positive" in at.error[0].value
    assert not any("after the guard" in m.value for m in at.markdown)


def test_an_unexpected_error_is_named_without_a_traceback():
    at = _script("bug").run()
    assert not at.exception
    message = at.error[0].value
    assert "ZeroDivisionError" in message and "Traceback" not in message


def test_no_error_lets_the_page_continue():
    at = _script("none").run()
    assert not at.exception and not at.error
    assert any("after the guard" in m.value for m in at.markdown)


def test_a_diagnosis_is_placed_as_what_why_and_what_to_try_and_one_box_per_message():
    def app():
        import ui
        from calc_core.common.messages import Message

        ui.panels.show_messages([
            Message("diverged", "problem", "Training diverged", "the loss exploded", "the step is too large",
                    ("lower η", "raise λ")),
            Message("overfitting", "info", "Overfitting.", "test RMSE rose"),
            Message("near_floor", "success", "At the noise floor.")])

    at = AppTest.from_function(app).run()
    text = at.warning[0].value
    for part in ("Training diverged", "What happened", "the loss exploded", "Why", "What to try", "- lower η"):
        assert part in text
    assert "**Overfitting.** test RMSE rose" in at.info[0].value and "At the noise floor" in at.success[0].value


def test_a_warning_or_note_shows_its_hints_too():
    def app():
        import ui
        from calc_core.common.messages import Message

        ui.panels.show_messages([
            Message("biased", "warning", "Biased", "too wide", "ε is large", ("turn on MALA", "a smaller ε")),
            Message("slow", "info", "Slow", "still learning", try_instead=("more epochs",))])

    at = AppTest.from_function(app).run()
    assert "**What to try:**\n- turn on MALA\n- a smaller ε" in at.warning[0].value
    assert "- more epochs" in at.info[0].value
