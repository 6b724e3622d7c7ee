"""Port transforms: the steps a channel's receiver applies to what was sent (reshape,
transpose, concat parts), each op defined once: the shape it makes (checked when the graph
compiles) and what it does to an array (at run time).

A step is ``{"op": name, **fields}``, as the plan carries it (``ChannelPlan.transform``;
``lava_lite.virtual_ports`` records them when ports are reshaped or concatenated):

- ``reshape`` ``shape``: same elements, C order;
- ``transpose`` ``axes``: ``numpy.transpose``;
- ``place`` ``shape, axis, start``: the data embedded in zeros of ``shape`` at ``start``
  along ``axis`` (one part of a concatenation; the receiver sums the parts);
- ``take`` ``axis, start, stop``: the slice ``[start:stop]`` along ``axis`` (one part of a
  concatenated port that feeds several ports).

Results are read-only, like every received array.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

Shape = tuple[int, ...]
Transform = Callable[[np.ndarray], np.ndarray]


def read_only(array: np.ndarray) -> np.ndarray:
    """``array``, marked read-only (received data may be shared by several receivers)."""
    array.flags.writeable = False
    return array


def _reshaped(shape: Shape, *, shape_to) -> Shape:
    new = tuple(shape_to)
    if math.prod(new) != math.prod(shape):
        raise ValueError(f"reshape of {shape} to {new} changes the number of elements")
    return new


def _transposed(shape: Shape, *, axes) -> Shape:
    axes = tuple(axes)
    if sorted(axes) != list(range(len(shape))):
        raise ValueError(f"transpose axes {axes} do not fit shape {shape}")
    return tuple(shape[a] for a in axes)


def _placed(shape: Shape, *, shape_to, axis: int, start: int) -> Shape:
    new = tuple(shape_to)
    if (len(new) != len(shape) or not 0 <= axis < len(shape)
            or new[:axis] + new[axis + 1:] != shape[:axis] + shape[axis + 1:]
            or not 0 <= start <= new[axis] - shape[axis]):
        raise ValueError(f"cannot place {shape} at {start} along axis {axis} of {new}")
    return new


def _taken(shape: Shape, *, axis: int, start: int, stop: int) -> Shape:
    if not (0 <= axis < len(shape) and 0 <= start <= stop <= shape[axis]):
        raise ValueError(f"cannot take [{start}:{stop}] along axis {axis} of {shape}")
    return shape[:axis] + (stop - start,) + shape[axis + 1:]


def _place(*, shape_to, axis: int, start: int) -> Transform:
    shape = tuple(shape_to)
    before = (slice(None),) * axis

    def place(array: np.ndarray) -> np.ndarray:
        out = np.zeros(shape, array.dtype)
        out[before + (slice(start, start + array.shape[axis]),)] = array
        return read_only(out)

    return place


def _take(*, axis: int, start: int, stop: int) -> Transform:
    index = (slice(None),) * axis + (slice(start, stop),)
    return lambda array: array[index]


@dataclass(frozen=True)
class _Op:
    """One transform op: ``shape(in_shape, **fields)`` (ValueError where it cannot apply)
    and ``function(**fields)``, the array -> array function it stands for."""

    shape: Callable[..., Shape]
    function: Callable[..., Transform]


OPS: dict[str, _Op] = {
    "reshape": _Op(_reshaped, lambda *, shape_to: lambda a: a.reshape(tuple(shape_to))),
    "transpose": _Op(_transposed, lambda *, axes: lambda a: a.transpose(tuple(axes))),
    "place": _Op(_placed, _place),
    "take": _Op(_taken, _take),
}


def _op_and_fields(step: dict[str, Any]) -> tuple[_Op, dict]:
    """The op of ``step`` and its fields (``shape`` passed as ``shape_to``)."""
    fields = dict(step)
    name = fields.pop("op", None)
    if name not in OPS:
        raise ValueError(f"unknown port transform {name!r}; known: {sorted(OPS)}")
    if "shape" in fields:
        fields["shape_to"] = fields.pop("shape")
    return OPS[name], fields


def step_shape(shape: Shape, step: dict[str, Any]) -> Shape:
    """The shape ``step`` turns data of ``shape`` into; ValueError if it cannot apply."""
    op, fields = _op_and_fields(step)
    return op.shape(tuple(shape), **fields)


def transform_shape(shape: Shape, steps) -> Shape:
    """The shape ``steps`` turn data of ``shape`` into, in order."""
    for step in steps:
        shape = step_shape(shape, step)
    return shape


def compile_transform(steps: tuple[dict[str, Any], ...]) -> Transform:
    """One function applying ``steps`` in order."""
    functions = []
    for step in steps:
        op, fields = _op_and_fields(step)
        functions.append(op.function(**fields))
    if len(functions) == 1:
        return functions[0]

    def apply(array: np.ndarray) -> np.ndarray:
        for function in functions:
            array = function(array)
        return array

    return apply
