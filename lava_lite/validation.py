"""Validated arguments: pydantic schemas for what users pass (RunConfig, RunSteps, probes), with
errors that name the object and the field.

A schema's ValidationError becomes a TypeError (a value of the wrong kind) or a ValueError (a
value of the right kind out of range) whose message starts with the owner, e.g.
``RunSteps: num_steps must be at least 1, got 0``.
"""
from __future__ import annotations

import numbers
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ValidationError
from pydantic_core import PydanticCustomError

# pydantic error types that mean "a value of the wrong kind" (a TypeError for the user).
WRONG_KIND = "wrong_kind"
_TYPE_ERRORS = (WRONG_KIND, "int_type", "bool_type", "float_type", "string_type",
                "dict_type", "is_instance_of", "is_subclass_of", "callable_type", "model_type",
                "string_sub_type")


def wrong_kind(what: str, value: Any) -> PydanticCustomError:
    """The error of a validator refusing ``value`` as the wrong kind: "must be {what}"."""
    return PydanticCustomError(WRONG_KIND, "must be {what}, got {got}",
                               {"what": what, "got": repr(value)})


def whole_number(value: Any) -> int:
    """An int for any integral number (numpy's too), refusing bool and fractions."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise wrong_kind("an int", value)
    return int(value)


def real_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise wrong_kind("a number", value)
    return float(value)


def flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise wrong_kind("True or False", value)
    return value


def positive_count(value: Any) -> int:
    """A count of at least 1 (numpy ints too); anything else is a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"must be a positive int, got {value!r}")
    return int(value)


WholeNumber = Annotated[int, BeforeValidator(whole_number)]
OptionalCount = Annotated[int | None,
                          BeforeValidator(lambda v: None if v is None else positive_count(v))]
RealNumber = Annotated[float, BeforeValidator(real_number)]
Flag = Annotated[bool, BeforeValidator(flag)]


def converted(exc: ValidationError, owner: str) -> Exception:
    """The first error of ``exc`` as a TypeError (a value of the wrong kind) or ValueError,
    its message naming ``owner`` and the field."""
    error = exc.errors()[0]
    field = "".join(f"{part} " for part in error["loc"][:1])  # (none: the whole object)
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, ValueError):  # a validator's own message
        text = str(cause)
    elif error["type"] == WRONG_KIND:
        text = error["msg"]
    else:
        text = f"{error['msg'][0].lower()}{error['msg'][1:]}, got {error['input']!r}"
    kind = TypeError if error["type"] in _TYPE_ERRORS else ValueError
    return kind(f"{owner}: {field}{text}")


def validated(schema: type[BaseModel], owner: str, values: dict) -> BaseModel:
    """``schema`` made from ``values``, or its first error ``converted`` (naming ``owner``)."""
    try:
        return schema.model_validate(values)
    except ValidationError as exc:
        raise converted(exc, owner) from None
