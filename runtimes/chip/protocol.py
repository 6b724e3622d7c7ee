"""The chip's wire protocol: requests from the host driver, replies from the chip.

Every message is ``[header, *buffers]``: a msgpack map ``{"op", "seq", "body", "arrays"}``
and one raw frame per array, described in ``arrays`` as ``[key, dtype, shape]`` (the
conventions of ``lava_lite.runtimes.wire``: plain numeric dtypes only, no pickle, every
field checked before use). ``seq`` pairs a reply with its request; ``body`` is validated by
the pydantic model of its op.

Requests: ``hello`` (the chip answers with its pid and limits), ``load`` (a ChipConfig:
body ChipConfigSpec, arrays by key), ``run`` (host inputs ``in0``, ``in1``, ... for the
first step, then ``num_steps`` steps; the reply carries ``out0``, ... and ``readout0``, ...
of the last step), ``read``/``write`` (state of a group: a compartment variable, or the
``weights`` of a synapse group), ``unload`` and ``shutdown``.
Replies: ``ok`` or ``error`` (ErrorBody).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import msgpack
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lava_lite.runtimes import wire
from lava_lite.runtimes.chip.config import ChipLimits
from lava_lite.runtimes.wire import WireError

REQUESTS = frozenset({"hello", "load", "run", "read", "write", "unload", "shutdown"})
REPLIES = frozenset({"ok", "error"})
MAX_HEADER_BYTES = 16 << 20  # a configuration's structure (cores, blocks, routes)
MAX_ARRAYS = 1 << 20
MAX_KEY = 300


class Message(NamedTuple):
    op: str
    seq: int
    body: dict
    arrays: dict[str, np.ndarray]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RunBody(_Body):
    num_steps: int = Field(1, ge=1, le=wire.MAX_STEP)


class StateBody(_Body):
    group: str = Field(max_length=200)
    var: str = Field(max_length=200)


class HelloReply(_Body):
    pid: int
    limits: ChipLimits
    step: int = Field(ge=0)


class RunReply(_Body):
    step: int = Field(ge=0)


class ErrorBody(_Body):
    """``kind``: "limit"/"config" (a configuration refused), "overflow" (a strict LIF),
    "protocol" (a malformed request), "state" (no configuration, unknown group or var),
    "internal" (a bug in the chip; ``message`` has its traceback)."""

    kind: str = Field(max_length=50)
    message: str
    group: str | None = None
    variable: str | None = None
    indices: list[int] = []


def encode(op: str, seq: int, body: dict | None = None,
           arrays: dict[str, np.ndarray] | None = None) -> list:
    arrays = {key: wire._plain(value) for key, value in (arrays or {}).items()}
    header = msgpack.packb({"op": op, "seq": seq, "body": body or {},
                            "arrays": [[key, a.dtype.str, list(a.shape)]
                                       for key, a in arrays.items()]})
    return [header, *arrays.values()]


def decode(frames: list, ops: frozenset) -> Message:
    """Check and decode one message whose op is one of ``ops``; raises WireError."""
    if not frames:
        raise WireError("empty message")
    size = memoryview(frames[0]).nbytes
    if size > MAX_HEADER_BYTES:
        raise WireError(f"header of {size} bytes exceeds {MAX_HEADER_BYTES}")
    try:
        header = msgpack.unpackb(frames[0], raw=False, max_bin_len=0, max_ext_len=0,
                                 strict_map_key=True, max_array_len=MAX_ARRAYS)
    except Exception as exc:  # msgpack raises several types for corrupt input
        raise WireError(f"undecodable header: {exc}") from None
    if not (isinstance(header, dict) and set(header) == {"op", "seq", "body", "arrays"}):
        raise WireError("not a chip message header")
    op, seq, body, described = header["op"], header["seq"], header["body"], header["arrays"]
    if op not in ops:
        raise WireError(f"unexpected op {wire._shown(op)}")
    if type(seq) is not int or not 0 <= seq <= wire.MAX_STEP:
        raise WireError(f"bad seq {wire._shown(seq)}")
    if not isinstance(body, dict) or not isinstance(described, list):
        raise WireError("bad body or arrays field")
    if len(described) != len(frames) - 1:
        raise WireError(f"header announces {len(described)} arrays but the message carries "
                        f"{len(frames) - 1}")
    arrays = {}
    for item, frame in zip(described, frames[1:]):
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)
                and len(item[0]) <= MAX_KEY) or item[0] in arrays:
            raise WireError(f"bad array description {wire._shown(item)}")
        arrays[item[0]] = wire._array(frame, wire._dtype(item[1]), wire._shape(item[2]))
    return Message(op, seq, body, arrays)


def parse(model: type[BaseModel], body: dict) -> Any:
    """``body`` validated by ``model``; raises WireError naming the first problem."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(map(str, error["loc"]))
        raise WireError(f"invalid {model.__name__}: {where}: {error['msg']}") from None
