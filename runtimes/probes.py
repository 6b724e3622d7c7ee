"""Probe storage: the rows a Monitor probe records, grown as steps are recorded.

A probe of ``num_steps = 2_000_000`` on 100 neurons must not take 1.5 GiB before the first
step, so a store starts with one small block and doubles it when a step does not fit:
memory is proportional to the steps recorded, and the amortised cost of growing is one copy
per row. Each new block is written through when it is made (``np.empty`` maps pages lazily,
and a fault on the first write of every page would cost ~1 us every few steps), so recording
a step stays a plain row assignment.

Step t (counted from 1) lives in row ``(t - 1) % slots``. A plain probe has ``slots =
num_steps`` and never wraps; a rolling probe (``ProbePlan.buffer``) has ``slots = buffer``
and keeps the last ``buffer`` steps recorded, growing the same way until it holds them all.

The generated step code (``step_code.py``) writes rows inline while a step fits
(``t <= store.limit``) and calls ``store.record`` otherwise; ``recorded()`` hands the rows
over in time order and ``lava_lite.probing.assemble`` turns them into what
``Monitor.get_data()`` returns.
"""
from __future__ import annotations

import numpy as np

from lava_lite.plan import ProbePlan

FIRST_BLOCK_BYTES = 1 << 16  # the first block: 64 KiB of rows (at least one row)
UNLIMITED = 1 << 62  # the last step of a rolling probe without num_steps: every step


class ProbeStore:
    """The rows one probe has recorded, in a ring of ``slots`` rows allocated as it fills.

    Attributes the generated step code reads: ``rows`` (the allocated rows), ``limit`` (the
    last step that can be written into ``rows`` as it is: its length while it is still
    growing, the probe's last step once every slot is allocated), ``last`` (the probe's last
    step: ``num_steps``, or ``UNLIMITED``), ``slots`` and ``end`` (the last step recorded, 0
    before the first).
    """

    __slots__ = ("last", "slots", "rows", "limit", "end")

    def __init__(self, probe: ProbePlan, shape: tuple, dtype: np.dtype):
        self.last = UNLIMITED if probe.num_steps is None else probe.num_steps
        self.slots = min(self.last, UNLIMITED if probe.buffer is None else probe.buffer)
        self.rows = np.zeros((0, *shape), dtype)
        self.limit = 0
        self.end = 0

    @property
    def rolling(self) -> bool:
        """Whether old steps get overwritten: a ``buffer`` smaller than ``num_steps``, or a
        buffer and no ``num_steps``."""
        return self.slots < self.last

    def record(self, step: int, data) -> None:
        """Write ``data`` as step ``step``'s row, growing the rows if it does not fit; steps
        past the probe's ``num_steps`` are not recorded."""
        if step > self.last:
            return
        if step > len(self.rows) and len(self.rows) < self.slots:
            self._grow(step)
        self.rows[(step - 1) % self.slots] = data
        self.end = step

    def _grow(self, step: int) -> None:
        """Enough rows for ``step`` (or every slot): at least double, new rows written
        through (zeroed) now rather than faulted in one page at a time during the run."""
        old = len(self.rows)
        row_bytes = max(int(np.prod(self.rows.shape[1:], dtype=np.int64))
                        * self.rows.itemsize, 1)
        size = min(max(step, 2 * old, FIRST_BLOCK_BYTES // row_bytes, 1), self.slots)
        rows = np.empty((size, *self.rows.shape[1:]), self.rows.dtype)
        rows[:old] = self.rows
        rows[old:].fill(0)
        self.rows = rows
        self.limit = size if size < self.slots else self.last

    def recorded(self) -> np.ndarray:
        """The rows recorded, oldest first: a view of the store until a rolling probe wraps,
        then one copy that puts the ring in order. A plain probe gives steps 1..end; a
        rolling one the last min(end, buffer) steps."""
        if self.end <= self.slots:
            return self.rows[:self.end]
        start = self.end % self.slots
        return np.concatenate((self.rows[start:], self.rows[:start]))


def probe_store(stores: dict, probe: ProbePlan, shape: tuple, dtype: np.dtype) -> ProbeStore:
    """A new store for ``probe``, kept in ``stores`` by probe id."""
    store = stores[probe.id] = ProbeStore(probe, shape, dtype)
    return store
