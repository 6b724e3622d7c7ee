"""Does a value fit the type a model declares for a Var? Used at compile time and by set()."""
from __future__ import annotations

import numpy as np

from lava_lite.errors import CompileError


def integer_range(dtype: np.dtype, precision: int | None) -> tuple[int, int, int]:
    """(bits, lowest, highest) of an integer type, narrowed to ``precision`` bits if given."""
    bits = precision or np.iinfo(dtype).bits
    if np.issubdtype(dtype, np.signedinteger):
        return bits, -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return bits, 0, (1 << bits) - 1


def check_value(where: str, value: np.ndarray, dtype: np.dtype, precision: int | None) -> None:
    """Raise CompileError naming ``where`` if ``value`` cannot be stored exactly as ``dtype``
    with ``precision`` bits: non-integers for an integer type, or values out of range."""
    dtype = np.dtype(dtype)
    if value.dtype.kind not in "biuf":
        raise CompileError(f"{where}: value {value.flat[0].item()!r} is not a number "
                           f"(the model declares {dtype})" if value.size else
                           f"{where}: values of type {value.dtype} are not numbers")
    if not np.issubdtype(dtype, np.integer) or value.size == 0:
        return
    bits, low, high = integer_range(dtype, precision)
    allowed = f"allowed: integers in [{low}, {high}] ({bits}-bit {dtype})"
    if not (np.issubdtype(value.dtype, np.integer) or np.issubdtype(value.dtype, np.bool_)):
        exact = np.isfinite(value) & (np.round(value) == value)
        if not exact.all():
            bad = value.flat[int(np.argmax(~exact.ravel()))]
            raise CompileError(f"{where}: value {bad.item()!r} is not an integer; {allowed}. "
                               f"Fixed-point models take integer parameters: convert float "
                               f"ones with lava_lite.fixed_point")
    if value.min() < low or value.max() > high:
        bad = value.min() if value.min() < low else value.max()
        raise CompileError(f"{where}: value {bad.item()!r} does not fit; {allowed}")
