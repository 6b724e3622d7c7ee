"""Wire format: a small msgpack header plus raw array buffers as separate frames. No pickle.

Data message: ``[header, buffer]`` with header ``["d", channel, step, dtype, shape]``.
Control message: ``[header, *buffers]`` with a msgpack map validated by a pydantic schema;
its arrays travel as raw frames described by ``arrays: [[dtype, shape], ...]``.
Everything read from a socket is checked before use; a bad message raises ``WireError``.
"""
from __future__ import annotations

import math
import re
import reprlib
from typing import Annotated, Any, Literal, Union

import msgpack
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from lava_lite.members import MAX_NAME_CHARS
from lava_lite.run_config import MAX_TIME_STEP

MAX_HEADER_BYTES = 4096
_UNPACK_LIMITS = dict(raw=False, max_str_len=MAX_HEADER_BYTES, max_bin_len=0,
                      max_array_len=64, max_map_len=32, max_ext_len=0, strict_map_key=True)
# dtypes that may cross the wire: plain numbers, no objects, written as ``dtype.str``.
ALLOWED_DTYPE_KINDS = set("biuf")
_DTYPE_NAME = re.compile(r"[<>|][biuf][0-9]{1,2}")
MAX_STEP = MAX_TIME_STEP
MAX_NDIM = 32
MAX_ELEMENTS = 2**40  # also bounds the product of the non-zero dimensions of empty arrays


class WireError(ValueError):
    """A message that does not follow the wire format or does not fit what was expected."""


def _shown(value: Any) -> str:
    """A field of a hostile message, for an error text: bounded in size and nesting (a
    plain repr of a list nested a thousand deep would raise RecursionError)."""
    return reprlib.repr(value)


def _is_int(value: Any, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high  # bool is not a number here


def _unpack_header(frame) -> Any:
    size = memoryview(frame).nbytes
    if size > MAX_HEADER_BYTES:
        raise WireError(f"header of {size} bytes exceeds {MAX_HEADER_BYTES}")
    try:
        return msgpack.unpackb(frame, **_UNPACK_LIMITS)
    except Exception as exc:  # msgpack raises several types for corrupt input
        raise WireError(f"undecodable header: {exc}") from None


def _dtype(name: Any) -> np.dtype:
    if not isinstance(name, str) or not _DTYPE_NAME.fullmatch(name):
        raise WireError(f"bad dtype field {_shown(name)}")
    try:
        dtype = np.dtype(name)
    except Exception:  # TypeError for unknown sizes such as 'i3'
        raise WireError(f"unknown dtype {_shown(name)}") from None
    if dtype.kind not in ALLOWED_DTYPE_KINDS or dtype.str != name:
        raise WireError(f"dtype {_shown(name)} is not allowed on the wire")
    return dtype


def _plain(array) -> np.ndarray:
    """The sender refuses what a receiver would drop (objects would send raw pointers)."""
    array = np.asarray(array, order="C")  # (np.ascontiguousarray would make 0-d arrays 1-d)
    if array.dtype.kind not in ALLOWED_DTYPE_KINDS:
        raise WireError(f"arrays of dtype {array.dtype} cannot cross the wire")
    return array


def _shape(shape: Any) -> tuple[int, ...]:
    if not (isinstance(shape, list) and len(shape) <= MAX_NDIM
            and all(_is_int(d, 0, MAX_ELEMENTS) for d in shape)
            and math.prod(max(d, 1) for d in shape) <= MAX_ELEMENTS):
        raise WireError(f"bad shape {_shown(shape)}")
    return tuple(shape)


def _array(frame, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """The read-only array in ``frame``; ``dtype`` and ``shape`` are already checked."""
    buffer = memoryview(frame)
    expected = dtype.itemsize * math.prod(shape)  # Python ints: no overflow
    if buffer.nbytes != expected:
        raise WireError(f"buffer of {buffer.nbytes} bytes, expected {expected} for "
                        f"{dtype} {tuple(shape)}")
    array = np.frombuffer(buffer, dtype=dtype).reshape(shape)
    if dtype.kind == "b" and array.view(np.uint8).max(initial=0) > 1:
        raise WireError("a bool array holds bytes other than 0 and 1")
    array.flags.writeable = False
    return array


# -- data ----------------------------------------------------------------------------------
def encode_data(channel: int, step: int, array: np.ndarray) -> list:
    array = _plain(array)
    header = msgpack.packb(["d", channel, step, array.dtype.str, list(array.shape)])
    return [header, array]


def decode_data(frames: list, expected: dict[int, tuple[np.dtype, tuple]]) -> tuple[int, int,
                                                                                      np.ndarray]:
    """(channel, step, read-only array); ``expected`` maps channel ids to (dtype, shape)."""
    if len(frames) != 2:
        raise WireError(f"data message has {len(frames)} frames, expected 2")
    header = _unpack_header(frames[0])
    if not (isinstance(header, list) and len(header) == 5 and header[0] == "d"):
        raise WireError(f"not a data header: {_shown(header)}")
    _, channel, step, dtype_name, shape = header
    if type(channel) is not int or channel not in expected:
        raise WireError(f"message for unexpected channel {_shown(channel)}")
    if not _is_int(step, 1, MAX_STEP):
        raise WireError(f"bad step {_shown(step)}")
    dtype, want_shape = expected[channel]
    # Equal to what the plan says the channel carries (as ints: 1.0 and True equal 1): no
    # other check of the fields is needed.
    if dtype_name != dtype.str or shape != list(want_shape) or not all(
            type(d) is int for d in shape):
        raise WireError(f"channel {channel}: got {_shown(dtype_name)} {_shown(shape)}, expected "
                        f"{dtype.str} {list(want_shape)}")
    return channel, step, _array(frames[1], dtype, tuple(want_shape))


# -- control -------------------------------------------------------------------------------
class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    arrays: list[tuple[str, list[int]]] = []


class Run(_Msg):
    k: Literal["run"] = "run"
    until: int | None = Field(None, ge=1, le=MAX_STEP)


class Halt(_Msg):
    k: Literal["halt"] = "halt"


class GetVar(_Msg):
    k: Literal["get"] = "get"
    process: int = Field(ge=0)
    var: str = Field(max_length=MAX_NAME_CHARS)


class SetVar(_Msg):
    k: Literal["set"] = "set"
    process: int = Field(ge=0)
    var: str = Field(max_length=MAX_NAME_CHARS)


class GetProbes(_Msg):
    k: Literal["probes"] = "probes"


class GetStats(_Msg):
    k: Literal["stats"] = "stats"


class Stop(_Msg):
    k: Literal["stop"] = "stop"


class Ready(_Msg):
    k: Literal["ready"] = "ready"


class Bound(_Msg):
    """A worker's receiving endpoints, by the peer worker that sends to each."""
    k: Literal["bound"] = "bound"
    endpoints: dict[str, str] = Field(default_factory=dict, max_length=4096)


class Connect(_Msg):
    """The endpoints a worker sends to, by receiving peer worker."""
    k: Literal["connect"] = "connect"
    endpoints: dict[str, str] = Field(default_factory=dict, max_length=4096)


class Done(_Msg):
    """The run reached ``step``: its end, or a step after which a model asked to pause or
    stop (``requested``)."""
    k: Literal["done"] = "done"
    step: int = Field(ge=0, le=MAX_STEP)
    requested: Literal["pause", "stop"] | None = None


class Halted(_Msg):
    k: Literal["halted"] = "halted"
    step: int = Field(ge=0, le=MAX_STEP)


class Reply(_Msg):
    """Answer to get/set/probes; ``ids`` names the probe of each array."""
    k: Literal["reply"] = "reply"
    ids: list[int] = []
    error: str | None = None


# The phase of a Failed message whose error came from the worker itself, not a model.
WORKER_PHASE = "runtime"


class Failed(_Msg):
    """A model (or the worker itself) raised."""
    k: Literal["failed"] = "failed"
    process: str
    model: str
    phase: str
    step: int
    traceback: str


ControlMessage = Annotated[Union[Run, Halt, GetVar, SetVar, GetProbes, GetStats, Stop, Ready, Bound,
                                 Connect, Done, Halted, Reply, Failed], Field(discriminator="k")]
_CONTROL = TypeAdapter(ControlMessage)
# Headers of failures carry tracebacks, so control headers may be larger than data headers.
MAX_CONTROL_HEADER_BYTES = 1 << 20


def encode_control(message: _Msg, arrays: tuple[np.ndarray, ...] = ()) -> list:
    arrays = [_plain(a) for a in arrays]
    described = message.model_copy(update={"arrays": [(a.dtype.str, list(a.shape))
                                                      for a in arrays]})
    return [msgpack.packb(described.model_dump()), *arrays]


def decode_control(frames: list) -> tuple[_Msg, list[np.ndarray]]:
    if not frames:
        raise WireError("empty control message")
    size = memoryview(frames[0]).nbytes
    if size > MAX_CONTROL_HEADER_BYTES:
        raise WireError(f"control header of {size} bytes is too large")
    try:
        fields = msgpack.unpackb(frames[0], raw=False, max_bin_len=0, max_ext_len=0,
                                 strict_map_key=True)
        message = _CONTROL.validate_python(fields)
    except ValidationError as exc:
        raise WireError(f"invalid control message: {exc.errors()[0]['msg']}") from None
    except Exception as exc:
        raise WireError(f"undecodable control message: {exc}") from None
    if len(message.arrays) != len(frames) - 1:
        raise WireError(f"control message announces {len(message.arrays)} arrays but carries "
                        f"{len(frames) - 1}")
    arrays = [_array(frame, _dtype(dtype), _shape(list(shape)))
              for frame, (dtype, shape) in zip(frames[1:], message.arrays)]
    return message, arrays
