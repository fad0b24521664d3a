"""Progress reporting for long jobs: a step timer and a bar, printed to stderr by rich.

Library functions take a `Progress` and never print themselves; `QUIET` is the
silent default for tests and library use.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


class Progress:
    """Silent progress: subclasses show it."""

    def track(self, items: Iterable[T], total: int, label: str) -> Iterator[T]:
        yield from items

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        yield

    def info(self, msg: str) -> None:
        pass


class ConsoleProgress(Progress):
    """Bars and timed steps on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True, highlight=False)

    def track(self, items: Iterable[T], total: int, label: str) -> Iterator[T]:
        if not sys.stderr.isatty():
            start = time.perf_counter()
            every = max(1, total // 5)
            for i, x in enumerate(items, 1):
                yield x
                if i % every == 0 or i == total:
                    self.console.print(f"  {label}: {i}/{total} ({time.perf_counter() - start:.1f}s)")
            return
        from rich.progress import track

        yield from track(items, total=total, description=label, console=self.console, transient=True)

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        start = time.perf_counter()
        self.console.print(f"[bold]>[/bold] {label} ...")
        yield
        self.console.print(f"  {label}: done in {time.perf_counter() - start:.1f}s")

    def info(self, msg: str) -> None:
        self.console.print(f"  {msg}")


QUIET = Progress()
