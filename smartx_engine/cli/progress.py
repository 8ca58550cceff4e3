"""A progress bar for long work: it appears on a terminal only once the work has lasted a second."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

#: (what is being done, steps done, steps in all)
Report = Callable[[str, int, int], None]


@contextmanager
def progress_bar(delay: float = 1.0) -> Iterator[Report]:
    """Yield a ``report(what, done, total)`` callback drawing a bar on stderr after ``delay`` seconds."""
    console = Console(stderr=True)
    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=console, transient=True)
    task = bar.add_task("starting", total=1)
    lock = threading.Lock()
    shown = False

    def show() -> None:
        nonlocal shown
        with lock:
            if not shown:
                shown = True
                bar.start()

    timer = threading.Timer(delay, show)
    if console.is_terminal:
        timer.start()

    def report(what: str, done: int, total: int) -> None:
        bar.update(task, description=what, completed=done, total=max(total, 1))

    try:
        yield report
    finally:
        timer.cancel()
        with lock:
            if shown:
                bar.stop()
            shown = True  # a timer firing late must not start the bar again
