"""Processes that only observe: they have no model and are compiled into probes on others."""
from __future__ import annotations

from lava_lite.process import Process


class ProbingProcess(Process):
    """Base of host-side observers (Monitor). Each probe records a Var or an OutPort inside
    the worker that hosts the probed Process, and is read back in one message per worker."""

    def __init__(self, *, name: str | None = None):
        super().__init__(name=name)
        # (member, options): options are the fields of the probe's ProbePlan (num_steps, ...)
        self._probe_requests: list[tuple] = []

    def _add_probe(self, member, **options) -> None:
        self._probe_requests.append((member, options))
        member.process._observers.append(self)
