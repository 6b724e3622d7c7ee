"""Ring buffers that feed data into a network and record data coming out of it."""
from __future__ import annotations

import numpy as np

from lava_lite import InPort, OutPort, Process, Var
from lava_lite.members import normalize_shape


class SourceRingBuffer(Process):
    """Replays ``data`` (shape (*shape, T)): column (t-1) mod T is sent at step t.

    Parameters
    ----------
    data : array, shape (*port_shape, num_steps)
        What to send; ``s_out`` has shape ``port_shape``.
    name : str, optional
        The Process's name.
    """

    def __init__(self, *, data, name: str | None = None):
        super().__init__(name=name)
        data = np.asarray(data)
        if data.ndim < 2 or data.shape[-1] == 0:
            raise ValueError(f"{self.name}: data must have shape (*port_shape, num_steps) "
                             f"with num_steps >= 1, got {data.shape}")
        self.s_out = OutPort(data.shape[:-1])
        self.data = Var(data.shape, init=data)


class SinkRingBuffer(Process):
    """Records its input: at step t into column (t-1) mod ``buffer`` of Var ``data``.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of ``a_in``.
    buffer : int
        Steps kept (``data`` has shape ``(*shape, buffer)``).
    name : str, optional
        The Process's name.
    """

    def __init__(self, *, shape, buffer: int, name: str | None = None):
        super().__init__(name=name)
        shape = normalize_shape(shape)
        if isinstance(buffer, bool) or not isinstance(buffer, (int, np.integer)) or buffer < 1:
            raise ValueError(f"{self.name}: buffer must be a positive int, got {buffer!r}")
        self.a_in = InPort(shape)
        self.data = Var((*shape, int(buffer)), init=0)
