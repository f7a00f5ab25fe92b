"""The harness's own promises: polling is bounded and says what it saw, so a flow that never
settles fails in seconds with a clear message instead of hanging."""

from __future__ import annotations

import time

import pytest

from harness import wait_for_state


def test_polling_gives_up_after_its_timeout_naming_the_last_state():
    started = time.monotonic()
    with pytest.raises(pytest.fail.Exception, match=r"still 'creating' after 0\.3s, wanted \['available'\]"):
        wait_for_state("service s", lambda: "creating", pending=["creating"], target=["available"],
                       timeout=0.3)
    assert time.monotonic() - started < 2


def test_polling_fails_at_once_on_a_state_that_is_neither_pending_nor_target():
    states = iter(["creating", "failed"])
    with pytest.raises(pytest.fail.Exception, match=r"unexpected state 'failed'.*\['creating', 'failed'\]"):
        wait_for_state("service s", lambda: next(states), pending=["creating"], target=["available"])


def test_polling_returns_the_target_state_it_reached():
    states = iter(["creating", "creating", "pendingAcceptance"])
    assert wait_for_state("endpoint e", lambda: next(states), pending=["creating"],
                          target=["accepted", "pendingAcceptance"]) == "pendingAcceptance"
