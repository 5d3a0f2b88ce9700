"""ui.progress: a cached call with a progress bar that leaves no bar behind, fresh or cached."""

from streamlit.testing.v1 import AppTest

TIMEOUT = 60


def _app():
    import time

    import streamlit as st

    from ui.progress import cached_with_progress

    calls = st.session_state.setdefault("calls", [])

    def slow_square(x, progress=None):
        for k in range(5):
            time.sleep(0.1)  # 0.5 s in all: past SHOW_AFTER, so the bar is drawn
            progress((k + 1) / 5)
        calls.append(x)
        return x * x

    def plus_one(x, progress=None):
        return x + 1

    def plus_two(x, progress=None):
        return x + 2

    square = cached_with_progress(slow_square, text="Working… {percent}%")
    st.markdown(f"square {square(int(st.query_params.get('x', 3)))}")
    st.markdown(f"plus {cached_with_progress(plus_one, text='')(x=1)} {cached_with_progress(plus_two, text='')(x=1)}")


def _markdown(at) -> list[str]:
    return [m.value for m in at.markdown]


def test_the_result_is_cached_and_no_progress_bar_is_left_after_a_fresh_run_or_a_cache_hit():
    at = AppTest.from_function(_app, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "square 9" in _markdown(at) and at.session_state["calls"] == [3]
    assert not at.get("progress")  # the bar drawn during training was removed
    at.run()  # the same argument again: a cache hit, replayed into the emptied slot
    assert not at.exception and "square 9" in _markdown(at)
    assert at.session_state["calls"] == [3] and not at.get("progress")
    at.query_params["x"] = "4"
    at.run()
    assert "square 16" in _markdown(at) and at.session_state["calls"] == [3, 4] and not at.get("progress")


def test_two_wrapped_functions_never_share_a_cache():
    at = AppTest.from_function(_app, default_timeout=TIMEOUT).run()
    assert "plus 2 3" in _markdown(at)
