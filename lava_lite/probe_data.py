"""What a Monitor gives back from the rows a probe recorded (the session calls ``assemble``)."""
from __future__ import annotations

import numpy as np

from lava_lite.plan import ProbePlan


def assemble(probe: ProbePlan, rows: np.ndarray) -> np.ndarray:
    """What ``Monitor.get_data()`` gives for ``probe``, from the rows its store handed over
    (``ProbeStore.recorded()``), as a new array the caller owns.

    A plain probe gives ``(num_steps, *shape)``, the rows recorded first and zeros for the
    steps not yet recorded: made with ``np.zeros``, so the rows never written cost no memory.
    A rolling probe gives the rows themselves: the last steps recorded, oldest first.
    A ``(num_steps, *shape)`` array too large to map is a MemoryError naming the Monitor.

    Parameters
    ----------
    probe : ProbePlan
        The probe, as planned by the compiler.
    rows : numpy.ndarray
        The rows it recorded, in time order (``(steps, *shape)``).
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
