"""Watching a run from the coordinator without messages: a shared array of per-Process
progress that workers write after each step, read to detect a stalled run and to show
progress on long runs."""
from __future__ import annotations

import sys
import time

import numpy as np

from lava_lite.errors import RunTimeoutError

# A run shows progress once it has lasted this long (on a terminal, or when asked to).
PROGRESS_AFTER_SECONDS = 2.0


class RunWatch:
    def __init__(self, progress: np.ndarray, names: list[str], timeout: float | None,
                 show_progress: bool | None):
        self.progress = progress  # progress[pid] = last step process pid completed
        self.names = names
        self.timeout = timeout
        self.show = sys.stderr.isatty() if show_progress is None else show_progress
        self.target: int | None = None
        self._reset()

    def _reset(self) -> None:
        now = time.monotonic()
        self.started = self.last_change = self.last_print = now
        self.last_total = int(self.progress.sum())
        self.first_step = int(self.progress.min()) if self.progress.size else 0
        self.printed = False

    def begin(self, target: int | None) -> None:
        self.target = target
        self._reset()

    def check(self) -> None:
        """Call while waiting: raises RunTimeoutError on a stall, prints progress if due."""
        now = time.monotonic()
        total = int(self.progress.sum())
        if total != self.last_total:
            self.last_total, self.last_change = total, now
        elif self.timeout is not None and now - self.last_change > self.timeout:
            behind = int(self.progress.min())
            stuck = [n for n, done in zip(self.names, self.progress) if done == behind]
            raise RunTimeoutError(
                f"no progress for {self.timeout:g} s: {', '.join(stuck)} did not finish time "
                f"step {behind + 1}; all workers were stopped")
        if self.show and now - self.started > PROGRESS_AFTER_SECONDS and \
                now - self.last_print >= 1.0:
            self.last_print, self.printed = now, True
            step = int(self.progress.min())
            rate = (step - self.first_step) / (now - self.started)
            of = f"/{self.target}" if self.target else ""
            print(f"\rlava_lite: step {step}{of}  {rate:,.0f} steps/s", end="", file=sys.stderr,
                  flush=True)

    def end(self) -> None:
        if self.printed:
            print(file=sys.stderr, flush=True)
            self.printed = False
