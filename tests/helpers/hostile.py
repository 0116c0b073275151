"""For tests feeding hostile input: a time limit that fails instead of hanging."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["SECONDS_PER_ATTACK", "time_limit"]

SECONDS_PER_ATTACK = 60
"""Generous: an attack that takes longer than this is a denial of service, not slowness."""


@contextmanager
def time_limit(seconds: int = SECONDS_PER_ATTACK) -> Iterator[None]:
    """Fail (not hang) when the body runs longer than ``seconds``."""

    def expired(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s: a hang on hostile input")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
