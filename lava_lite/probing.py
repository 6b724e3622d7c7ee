"""Processes that only observe: they have no model and are compiled into probes on others."""
from __future__ import annotations

import numpy as np

from lava_lite.plan import ProbePlan
from lava_lite.process import Process


class ProbingProcess(Process):
    """Base of host-side observers (Monitor). Each probe records a Var or an OutPort inside
    the worker that hosts the probed Process, and is read back in one message per worker."""

    def __init__(self, *, name: str | None = None):
        super().__init__(name=name)
        # (member, options): options are the fields of the probe's ProbePlan (num_steps, buffer)
        self._probe_requests: list[tuple] = []

    def _add_probe(self, member, **options) -> None:
        self._probe_requests.append((member, options))
        member.process._observers.append(self)


def assemble(probe: ProbePlan, rows: np.ndarray) -> np.ndarray:
    """What ``Monitor.get_data()`` gives for ``probe``, from the rows its store handed over
    (``ProbeStore.recorded()``), as a new array the caller owns.

    A plain probe gives ``(num_steps, *shape)``, the rows recorded first and zeros for the
    steps not yet recorded: made with ``np.zeros``, so the rows never written cost no memory.
    A rolling probe gives the rows themselves: the last steps recorded, oldest first.
    A ``(num_steps, *shape)`` array too large to map is a MemoryError naming the Monitor.
    """
    if probe.buffer is not None:
        return np.array(rows, copy=True)
    shape = (probe.num_steps, *rows.shape[1:])
    try:
        data = np.zeros(shape, rows.dtype)
    except (MemoryError, ValueError):  # ValueError: more bytes than an array can have
        size = np.prod(shape, dtype=np.float64) * rows.itemsize / 2**30
        raise MemoryError(f"Monitor '{probe.monitor}': the data of its probe of "
                          f"'{probe.target}' is {shape} ({size:.1f} GiB, num_steps="
                          f"{probe.num_steps}), more than this process can map; probe fewer "
                          f"num_steps, or keep only the last steps with buffer=") from None
    data[:len(rows)] = rows
    return data
