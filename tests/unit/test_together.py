"""`lake.together`: independent writes run in threads of one Spark session, with the failure
semantics of running them one after another (no JVM: the steps here are plain functions, ordered
by events rather than by sleeps)."""

from __future__ import annotations

import threading
from functools import partial

import pytest

from ato.spark.lake import together

WAIT = 30  # seconds an event may take before the test fails instead of hanging


def test_results_come_in_order_whichever_step_ends_first() -> None:
    last_done = threading.Event()
    ran_in: list[str] = []

    def first() -> str:
        assert last_done.wait(WAIT), "the steps did not run at the same time"
        ran_in.append(threading.current_thread().name)
        return "a"

    def last() -> str:
        last_done.set()
        return "c"

    assert together([first, lambda: "b", last], threads=3) == ["a", "b", "c"]
    assert ran_in[0].startswith("ato-write")


def test_one_thread_runs_the_steps_one_after_another_in_this_thread() -> None:
    seen: list[tuple[int, str]] = []

    def step(i: int) -> int:
        seen.append((i, threading.current_thread().name))
        return i

    assert together([partial(step, i) for i in range(3)], threads=1) == [0, 1, 2]
    assert seen == [(i, threading.current_thread().name) for i in range(3)]


def test_the_first_failure_in_order_is_raised_after_the_running_steps_end_and_nothing_more_starts() -> None:
    fast_failed, slow_ended = threading.Event(), threading.Event()
    started: list[str] = []

    def slow_then_fails() -> None:
        started.append("slow")
        assert fast_failed.wait(WAIT)
        slow_ended.set()
        raise ValueError("the first step's own failure")

    def fails_fast() -> None:
        started.append("fast")
        fast_failed.set()
        raise RuntimeError("the second step's failure")

    def later() -> None:
        started.append("later")

    with pytest.raises(ValueError, match="first step's own"):
        together([slow_then_fails, fails_fast, later, later], threads=2)
    assert slow_ended.is_set(), "raised while a step was still running"
    assert sorted(started) == ["fast", "slow"], "a step started after a failure"


def test_one_thread_stops_at_the_failure_as_a_loop_would() -> None:
    done: list[int] = []

    def step(i: int) -> int:
        if i == 1:
            raise OSError("disk full")
        done.append(i)
        return i

    with pytest.raises(OSError, match="disk full"):
        together([partial(step, i) for i in range(4)], threads=1)
    assert done == [0]
