"""calc_core.common.blas_threads: one OpenBLAS thread inside the block, the previous count after it."""

import threading

import numpy as np
import pytest

from calc_core.common import blas_threads
from calc_core.common.blas_threads import blas_threads as current_threads
from calc_core.common.blas_threads import single_blas_thread
from calc_core.policy_gradient.reinforce import train


@pytest.fixture
def controllable():
    if current_threads() is None:
        pytest.skip("numpy's bundled OpenBLAS is not controllable here")
    controls = blas_threads._openblas_controls()
    before = current_threads()
    controls[1](2)  # a known starting point, as on a 2-core server
    yield
    controls[1](before)


def test_the_block_runs_with_one_thread_and_the_previous_count_comes_back(controllable):
    with single_blas_thread():
        assert current_threads() == 1
        with single_blas_thread():  # nested: still one thread, and the outer block keeps it
            assert current_threads() == 1
        assert current_threads() == 1
    assert current_threads() == 2


def test_the_count_comes_back_only_when_the_last_of_several_sessions_leaves(controllable):
    inside, release = threading.Event(), threading.Event()

    def other_session():
        with single_blas_thread():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other_session)
    thread.start()
    inside.wait(10)
    with single_blas_thread():
        assert current_threads() == 1
    assert current_threads() == 1  # the other session is still inside its block
    release.set()
    thread.join(10)
    assert current_threads() == 2


def test_the_count_comes_back_after_an_exception(controllable):
    with pytest.raises(ValueError):
        with single_blas_thread():
            raise ValueError("boom")
    assert current_threads() == 2


def test_without_a_controllable_blas_the_block_just_runs(monkeypatch):
    monkeypatch.setattr(blas_threads, "_openblas_controls", lambda: None)
    with single_blas_thread():
        value = float(np.ones((3, 3)).sum())
    assert value == 9.0 and current_threads() is None


def test_training_gives_the_same_result_whatever_the_thread_count(monkeypatch):
    with_one_thread = train(episodes=40, hidden_units=32, seed=5)
    monkeypatch.setattr(blas_threads, "_openblas_controls", lambda: None)
    as_it_was = train(episodes=40, hidden_units=32, seed=5)
    np.testing.assert_array_equal(with_one_thread.returns, as_it_was.returns)
    for name, value in with_one_thread.params.items():
        np.testing.assert_allclose(value, as_it_was.params[name], rtol=1e-12, atol=1e-15)
