"""Port transforms applied by the receiver of a channel (reshape, transpose, concat, ...).

Each step is ``{"op": name, **fields}`` (see ``lava_lite.virtual_ports``, which also computes
the shapes they produce at compile time):

- ``reshape`` ``shape``: same elements, C order;
- ``transpose`` ``axes``: ``numpy.transpose``;
- ``place`` ``shape, axis, start``: the data embedded in zeros of ``shape`` at ``start``
  along ``axis`` (one part of a concatenation; the receiver sums the parts);
- ``take`` ``axis, start, stop``: the slice ``[start:stop]`` along ``axis`` (one part of a
  concatenated port that feeds several ports).

Results are read-only, like every received array.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np


def read_only(array: np.ndarray) -> np.ndarray:
    """``array``, marked read-only (received data may be shared by several receivers)."""
    array.flags.writeable = False
    return array


def _place(shape, axis: int, start: int) -> Callable[[np.ndarray], np.ndarray]:
    shape = tuple(shape)
    before = (slice(None),) * axis

    def place(array: np.ndarray) -> np.ndarray:
        out = np.zeros(shape, array.dtype)
        out[before + (slice(start, start + array.shape[axis]),)] = array
        return read_only(out)

    return place


def _take(axis: int, start: int, stop: int) -> Callable[[np.ndarray], np.ndarray]:
    index = (slice(None),) * axis + (slice(start, stop),)
    return lambda array: array[index]


# op name -> (fields of the op) -> function from array to array
_OPS: dict[str, Callable[..., Callable[[np.ndarray], np.ndarray]]] = {
    "reshape": lambda shape: lambda a: a.reshape(tuple(shape)),
    "transpose": lambda axes: lambda a: a.transpose(tuple(axes)),
    "place": _place,
    "take": _take,
}


def compile_transform(steps: tuple[dict[str, Any], ...]) -> Callable[[np.ndarray], np.ndarray]:
    """One function applying ``steps`` (each ``{"op": name, **fields}``) in order."""
    functions = []
    for step in steps:
        fields = dict(step)
        op = fields.pop("op")
        if op not in _OPS:
            raise ValueError(f"unknown port transform {op!r}; known: {sorted(_OPS)}")
        functions.append(_OPS[op](**fields))
    if len(functions) == 1:
        return functions[0]

    def apply(array: np.ndarray) -> np.ndarray:
        for function in functions:
            array = function(array)
        return array

    return apply
