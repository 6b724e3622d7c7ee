"""Port transforms applied by the receiver of a channel (reshape, transpose, concat, ...)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

# op name -> (fields of the op) -> function from array to array
_OPS: dict[str, Callable[..., Callable[[np.ndarray], np.ndarray]]] = {
    "reshape": lambda shape: lambda a: a.reshape(shape),
    "transpose": lambda axes: lambda a: a.transpose(axes),
}


def compile_transform(steps: tuple[dict[str, Any], ...]) -> Callable[[np.ndarray], np.ndarray]:
    """One function applying ``steps`` (each ``{"op": name, **fields}``) in order."""
    functions = []
    for step in steps:
        fields = dict(step)
        op = fields.pop("op")
        try:
            functions.append(_OPS[op](**fields))
        except KeyError:
            raise ValueError(f"unknown port transform {op!r}; known: {sorted(_OPS)}") from None

    def apply(array: np.ndarray) -> np.ndarray:
        for function in functions:
            array = function(array)
        return array

    return apply
