"""Ports as models see them at run time: what ``recv()`` and ``send()`` do.

Part of the device API: a device's partition (``lava_lite.runtimes.partition``) feeds its
member Processes' InPorts and sends on their OutPorts with these.
"""
from __future__ import annotations

import numpy as np

from lava_lite.port_transforms import read_only


class RuntimeInPort:
    """What a model's InPort is at run time: ``recv()`` returns this step's (summed) input.

    Received arrays are read-only (they may be shared with other receivers): copy before
    modifying them.
    """

    __slots__ = ("name", "shape", "dtype", "_data")

    def __init__(self, name: str, shape: tuple, dtype: np.dtype):
        self.name, self.shape, self.dtype = name, shape, dtype
        self._data = read_only(np.zeros(shape, dtype))

    def recv(self) -> np.ndarray:
        return self._data

    def peek(self) -> np.ndarray:
        return self._data


class RuntimeOutPort:
    """What a model's OutPort is at run time: ``send(data)`` once per step."""

    __slots__ = ("name", "shape", "dtype", "owner", "pending")

    def __init__(self, name: str, shape: tuple, dtype: np.dtype, owner: str):
        self.name, self.shape, self.dtype, self.owner = name, shape, dtype, owner
        self.pending = None

    def send(self, data, copy: bool = True) -> None:
        """This step's data. The port sends a read-only copy, so the model may go on changing
        its own array. ``copy=False`` hands over ``data`` itself (made read-only; cast only if
        its dtype differs): for arrays a model makes fresh each step, or views of data it
        never changes in place; the model must not change it, or what it views, afterwards."""
        if type(data) is np.ndarray:
            array = data.astype(self.dtype) if copy or data.dtype != self.dtype else data
        else:
            array = np.array(data, dtype=self.dtype)
        if array.shape != self.shape:
            raise ValueError(f"{self.owner}.{self.name}: sent data of shape {array.shape}, "
                             f"but the port's shape is {self.shape}")
        array.setflags(write=False)
        self.pending = array
