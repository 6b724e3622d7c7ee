"""Does a value fit the type a model declares for a Var? Used at compile time and by set()."""
from __future__ import annotations

import numpy as np

from lava_lite.errors import CompileError

#: numpy dtype kinds lava_lite holds in Vars and sends on ports: bool, int, uint, float.
NUMBER_KINDS = "biuf"
NUMBER_TYPES = "bool, integer or float"


def refuses_non_finite(params: dict) -> bool:
    """True for a Process built with ``strict_overflow=True`` (``params``: its
    proc_params): NaN and infinity in its float parameters and Var values are refused
    (float models otherwise pass them on)."""
    return params.get("strict_overflow") is True


def integer_range(dtype: np.dtype, precision: int | None) -> tuple[int, int, int]:
    """(bits, lowest, highest) of an integer type, narrowed to ``precision`` bits if given."""
    bits = precision or np.iinfo(dtype).bits
    if np.issubdtype(dtype, np.signedinteger):
        return bits, -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return bits, 0, (1 << bits) - 1


def is_number_dtype(dtype) -> bool:
    """True for the dtypes a Var or port may have (bool, integer, float)."""
    return np.dtype(dtype).kind in NUMBER_KINDS


def shown(element) -> object:
    """A numpy scalar as the Python value it holds (for messages); anything else as is (the
    elements of an object array are Python objects already)."""
    return element.item() if isinstance(element, np.generic) else element


def not_numbers(value: np.ndarray) -> str | None:
    """Why ``value`` is not an array of numbers (bool, integer, float), or None if it is."""
    if value.dtype.kind in NUMBER_KINDS:
        return None
    if value.size == 0:
        return f"values of type {value.dtype} are not numbers ({NUMBER_TYPES})"
    return (f"value {shown(value.flat[0])!r} (dtype {value.dtype}) is not a number "
            f"({NUMBER_TYPES})")


def non_finite(value: np.ndarray) -> str | None:
    """``"value nan is not finite"`` for the first NaN or infinity of a float ``value``."""
    if value.dtype.kind != "f" or value.size == 0:
        return None
    finite = np.isfinite(value)
    if finite.all():
        return None
    return f"value {shown(value.flat[int(np.argmin(finite.ravel()))])!r} is not finite"


FIXED_POINT_HINT = (". Fixed-point models take integer parameters: convert float ones with "
                    "lava_lite.fixed_point")


def value_problem(value: np.ndarray, dtype: np.dtype, precision: int | None,
                  fraction_hint: str = "") -> str | None:
    """Why ``value`` cannot be stored exactly as ``dtype`` with ``precision`` bits (not a
    number; NaN, infinity or a fraction for an integer type; out of range), or None.
    ``fraction_hint`` ends the message about a fraction given for an integer type."""
    dtype = np.dtype(dtype)
    problem = not_numbers(value)
    if problem is not None:
        return f"{problem}; the model declares {dtype}"
    if value.size == 0 or dtype.kind == "f":
        return None
    if dtype.kind == "b":
        ok = (value == 0) | (value == 1)
        return None if ok.all() else (
            f"value {value.flat[int(np.argmin(ok.ravel()))].item()!r} is not a truth value; "
            f"allowed: 0, 1, False, True (bool)")
    bits, low, high = integer_range(dtype, precision)
    allowed = f"allowed: integers in [{low}, {high}] ({bits}-bit {dtype})"
    problem = non_finite(value)
    if problem is not None:
        return (f"{problem}: an integer (fixed-point) type cannot hold NaN or infinity; "
                f"{allowed}")
    if value.dtype.kind == "f":
        exact = np.round(value) == value
        if not exact.all():
            bad = value.flat[int(np.argmin(exact.ravel()))]
            return f"value {bad.item()!r} is not an integer; {allowed}{fraction_hint}"
    if value.min() < low or value.max() > high:
        bad = value.min() if value.min() < low else value.max()
        return f"value {bad.item()!r} does not fit; {allowed}"
    return None


def check_value(where: str, value: np.ndarray, dtype: np.dtype, precision: int | None,
                finite: bool = False) -> None:
    """Raise CompileError naming ``where`` if ``value`` cannot be stored exactly as ``dtype``
    with ``precision`` bits (see value_problem); ``finite``: refuse NaN and infinity in
    float values too (a Process built with ``strict_overflow=True``)."""
    problem = value_problem(value, dtype, precision, FIXED_POINT_HINT)
    if problem is None and finite and (problem := non_finite(value)) is not None:
        problem += " (strict_overflow=True refuses NaN and infinity)"
    if problem is not None:
        raise CompileError(f"{where}: {problem}")
