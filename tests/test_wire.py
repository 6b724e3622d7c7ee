"""Wire format: round trips, rejection of malformed and hostile frames, fuzzing, live workers.

A decoder may only ever return a valid message or raise ``WireError``; anything else would
crash the worker that reads the socket.
"""
import math
import os
import time
import tokenize
import warnings

import msgpack
import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lava_lite import (LoihiProcessModel, OutPort, OutPortType, Process, RunConfig,
                       RunContinuous, RunSteps, Var, VarType, implements, tag)
from lava_lite.proc_lib import SinkRingBuffer
from lava_lite.runtimes import wire
from lava_lite.runtimes.chip import protocol
from lava_lite.runtimes.wire import (WireError, decode_control, decode_data, encode_control,
                                     encode_data)

DTYPES = ["|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<i8", "<u8", "<f2", "<f4", "<f8", ">f8"]
SHAPES = [(), (0,), (1,), (5,), (2, 3), (4, 0, 2), (1, 1, 1, 1)]
# channel id -> (dtype, shape) expected on one socket
EXPECTED = {1: (np.dtype("<f8"), (1,)), 3: (np.dtype("<f8"), (2, 3)),
            7: (np.dtype("|i1"), ()), 9: (np.dtype("|b1"), (2, 2))}
# WIRE_FUZZ_EXAMPLES=20000 for a long fuzzing session; the default keeps the suite fast.
FUZZ = settings(max_examples=int(os.environ.get("WIRE_FUZZ_EXAMPLES", 300)), deadline=None,
                suppress_health_check=list(HealthCheck))


def as_received(frames) -> list[bytes]:
    """What recv_multipart would return for frames given to send_multipart."""
    return [f.tobytes() if isinstance(f, np.ndarray) else bytes(f) for f in frames]


def sample(dtype: str, shape) -> np.ndarray:
    values = np.arange(int(np.prod(shape, dtype=np.int64))) % 3
    return values.astype(np.dtype(dtype)).reshape(shape)


def header(*fields) -> bytes:
    return msgpack.packb(list(fields))


def control(fields: dict, *buffers: bytes) -> list[bytes]:
    return [msgpack.packb(fields), *buffers]


def check_data(frames, expected=EXPECTED):
    """Decode: a valid result or WireError, nothing else (not even a warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            channel, step, array = decode_data(frames, expected)
        except WireError:
            return None
    dtype, shape = expected[channel]
    assert type(step) is int and 1 <= step <= wire.MAX_STEP
    assert array.dtype == dtype and array.shape == tuple(shape)
    assert not array.flags.writeable
    return channel, step, array


def check_control(frames):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            message, arrays = decode_control(frames)
        except WireError:
            return None
    assert isinstance(message, wire._Msg)
    assert len(arrays) == len(message.arrays) == len(frames) - 1
    for array, (dtype, shape) in zip(arrays, message.arrays):
        assert array.dtype.kind in wire.ALLOWED_DTYPE_KINDS and not array.flags.writeable
        assert array.dtype == np.dtype(dtype) and array.shape == tuple(shape)
    # whatever is accepted encodes back to the same message
    again, again_arrays = decode_control(as_received(encode_control(message, arrays)))
    assert again == message
    for a, b in zip(again_arrays, arrays):
        np.testing.assert_array_equal(a, b)
    return message, arrays


# -- round trips ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_data_round_trip(dtype, shape):
    array = sample(dtype, shape)
    frames = as_received(encode_data(5, 12, array))
    channel, step, got = decode_data(frames, {5: (np.dtype(dtype), shape)})
    assert (channel, step) == (5, 12)
    assert got.dtype == np.dtype(dtype) and got.shape == shape and not got.flags.writeable
    np.testing.assert_array_equal(got, array)


def test_data_round_trip_of_non_contiguous_array_and_through_zmq_frames():
    array = np.arange(24.0).reshape(4, 6)[:, ::2]
    context = zmq.Context()
    try:
        pull, push = context.socket(zmq.PULL), context.socket(zmq.PUSH)
        pull.bind("inproc://wire-test")
        push.connect("inproc://wire-test")
        push.send_multipart(encode_data(2, 1, array), copy=False)
        assert pull.poll(2000)
        frames = pull.recv_multipart(copy=False)  # zmq.Frame objects, not bytes
        _, _, got = decode_data(frames, {2: (np.dtype("<f8"), (4, 3))})
        np.testing.assert_array_equal(got, array)
        push.send_multipart(encode_control(wire.SetVar(process=1, var="v"), (array,)))
        assert pull.poll(2000)
        message, (got,) = decode_control(pull.recv_multipart(copy=False))
        assert message == wire.SetVar(process=1, var="v", arrays=[("<f8", [4, 3])])
        np.testing.assert_array_equal(got, array)
        push.close(linger=0)
        pull.close(linger=0)
    finally:
        context.term()


CONTROL_MESSAGES = [
    wire.Run(), wire.Run(until=1), wire.Run(until=2**40), wire.Halt(), wire.GetProbes(),
    wire.GetStats(),
    wire.Stop(), wire.Ready(), wire.Done(step=0), wire.Done(step=17, requested="pause"),
    wire.Halted(step=3), wire.Bound(endpoints={"1": "ipc:///tmp/x/data-0-from-1"}),
    wire.Connect(endpoints={"0": "tcp://127.0.0.1:5555", "2": "tcp://127.0.0.1:5556"}),
    wire.GetVar(process=0, var="v"), wire.SetVar(process=4, var="weights"),
    wire.Reply(), wire.Reply(ids=[0, 5, 2]), wire.Reply(error="no Var 'x' on process 3"),
    wire.Failed(process="lif", model="PyLifModel", phase="run_spk", step=4,
                traceback="Traceback (most recent call last):\n  ...\nZeroDivisionError\n"),
]


@pytest.mark.parametrize("message", CONTROL_MESSAGES, ids=lambda m: m.k)
@pytest.mark.parametrize("arrays", [(), (np.float64(2.5),), (np.zeros((0, 3), np.int32),
                                    np.arange(6, dtype=np.uint8).reshape(2, 3),
                                    np.array([True, False]), np.ones(4, ">f4"))],
                         ids=["none", "0-d", "several"])
def test_control_round_trip_of_every_kind(message, arrays):
    got, got_arrays = decode_control(as_received(encode_control(message, arrays)))
    assert type(got) is type(message)
    assert got.model_dump(exclude={"arrays"}) == message.model_dump(exclude={"arrays"})
    assert len(got_arrays) == len(arrays)
    for a, b in zip(got_arrays, arrays):
        assert a.dtype == np.asarray(b).dtype and a.shape == np.shape(b)
        assert not a.flags.writeable
        np.testing.assert_array_equal(a, b)


def test_every_control_kind_is_covered():
    kinds = {m.k for m in CONTROL_MESSAGES}
    union = wire.ControlMessage.__origin__.__args__
    assert kinds == {cls.model_fields["k"].default for cls in union}


# -- rejections: data ----------------------------------------------------------------------
GOOD_HEADER = header("d", 3, 1, "<f8", [2, 3])
GOOD_BUFFER = bytes(48)

BAD_DATA = {
    "no frames": [],
    "header only": [GOOD_HEADER],
    "three frames": [GOOD_HEADER, GOOD_BUFFER, b""],
    "truncated header": [GOOD_HEADER[:-1], GOOD_BUFFER],
    "empty header": [b"", GOOD_BUFFER],
    "truncated buffer": [GOOD_HEADER, GOOD_BUFFER[:-1]],
    "buffer too long": [GOOD_HEADER, GOOD_BUFFER + b"\0"],
    "empty buffer": [GOOD_HEADER, b""],
    "header with trailing bytes": [GOOD_HEADER + b"\0", GOOD_BUFFER],
    "garbage": [b"\xc1\xff\x00garbage", GOOD_BUFFER],
    "invalid utf-8": [b"\x95\xa1\xff\x03\x01\xa3<f8\x92\x02\x03", GOOD_BUFFER],
    "oversized header": [header("d", 3, 1, "<f8", [2, 3], "x" * 5000), GOOD_BUFFER],
    "oversized padding": [GOOD_HEADER + bytes(wire.MAX_HEADER_BYTES), GOOD_BUFFER],
    "huge string field": [header("d", 3, 1, "f" * 5000, [2, 3]), GOOD_BUFFER],
    "binary field": [header("d", 3, 1, b"<f8", [2, 3]), GOOD_BUFFER],
    "ext type": [msgpack.packb(["d", 3, 1, msgpack.ExtType(1, b"abc"), [2, 3]]),
                 GOOD_BUFFER],
    "deep nesting": [b"\x91" * 4000 + b"\xc0", GOOD_BUFFER],
    "not a list": [msgpack.packb({"d": 3}), GOOD_BUFFER],
    "a scalar": [msgpack.packb(3), GOOD_BUFFER],
    "too few fields": [header("d", 3, 1, "<f8"), GOOD_BUFFER],
    "too many fields": [header("d", 3, 1, "<f8", [2, 3], 0), GOOD_BUFFER],
    "unknown kind": [header("x", 3, 1, "<f8", [2, 3]), GOOD_BUFFER],
    "unexpected channel": [header("d", 4, 1, "<f8", [2, 3]), GOOD_BUFFER],
    "negative channel": [header("d", -3, 1, "<f8", [2, 3]), GOOD_BUFFER],
    "channel as text": [header("d", "3", 1, "<f8", [2, 3]), GOOD_BUFFER],
    "channel as float": [header("d", 3.0, 1, "<f8", [2, 3]), GOOD_BUFFER],
    "channel as bool": [header("d", True, 1, "<f8", [1]), bytes(8)],
    "channel as list": [header("d", [3], 1, "<f8", [2, 3]), GOOD_BUFFER],
    "channel as map": [msgpack.packb(["d", {"a": 1}, 1, "<f8", [2, 3]]), GOOD_BUFFER],
    "step zero": [header("d", 3, 0, "<f8", [2, 3]), GOOD_BUFFER],
    "negative step": [header("d", 3, -1, "<f8", [2, 3]), GOOD_BUFFER],
    "most negative step": [header("d", 3, -2**63, "<f8", [2, 3]), GOOD_BUFFER],
    "huge step": [header("d", 3, 2**63, "<f8", [2, 3]), GOOD_BUFFER],
    "largest uint64 step": [header("d", 3, 2**64 - 1, "<f8", [2, 3]), GOOD_BUFFER],
    "step as float": [header("d", 3, 1.0, "<f8", [2, 3]), GOOD_BUFFER],
    "step as bool": [header("d", 3, True, "<f8", [2, 3]), GOOD_BUFFER],
    "step as text": [header("d", 3, "1", "<f8", [2, 3]), GOOD_BUFFER],
    "step missing": [header("d", 3, None, "<f8", [2, 3]), GOOD_BUFFER],
    "wrong dtype": [header("d", 3, 1, "<f4", [2, 3]), bytes(24)],
    "wrong dtype same size": [header("d", 3, 1, "<i8", [2, 3]), GOOD_BUFFER],
    "wrong byte order": [header("d", 3, 1, ">f8", [2, 3]), GOOD_BUFFER],
    "object dtype": [header("d", 3, 1, "|O", [2, 3]), GOOD_BUFFER],
    "object dtype by name": [header("d", 3, 1, "O", [2, 3]), GOOD_BUFFER],
    "unicode dtype": [header("d", 3, 1, "<U2", [2, 3]), GOOD_BUFFER],
    "bytes dtype": [header("d", 3, 1, "|S8", [2, 3]), GOOD_BUFFER],
    "void dtype": [header("d", 3, 1, "|V8", [2, 3]), GOOD_BUFFER],
    "structured dtype": [header("d", 3, 1, "<f4,<f4", [2, 3]), GOOD_BUFFER],
    "subarray dtype": [header("d", 3, 1, "(2,)<f4", [2, 3]), GOOD_BUFFER],
    "unparsable dtype": [header("d", 3, 1, "(,)i4", [2, 3]), GOOD_BUFFER],
    "datetime dtype": [header("d", 3, 1, "<M8", [2, 3]), GOOD_BUFFER],
    "complex dtype": [header("d", 3, 1, "<c8", [2, 3]), GOOD_BUFFER],
    "dtype by long name": [header("d", 3, 1, "float64", [2, 3]), GOOD_BUFFER],
    "dtype without byte order": [header("d", 3, 1, "f8", [2, 3]), GOOD_BUFFER],
    "dtype in native order": [header("d", 3, 1, "=f8", [2, 3]), GOOD_BUFFER],
    "dtype not as numpy writes it": [header("d", 7, 1, "<i1", []), b"\0"],
    "impossible size": [header("d", 3, 1, "<f3", [2, 3]), GOOD_BUFFER],
    "dtype as int": [header("d", 3, 1, 8, [2, 3]), GOOD_BUFFER],
    "dtype missing": [header("d", 3, 1, None, [2, 3]), GOOD_BUFFER],
    "wrong shape": [header("d", 3, 1, "<f8", [3, 2]), GOOD_BUFFER],
    "flattened shape": [header("d", 3, 1, "<f8", [6]), GOOD_BUFFER],
    "shape as int": [header("d", 3, 1, "<f8", 6), GOOD_BUFFER],
    "shape missing": [header("d", 3, 1, "<f8", None), GOOD_BUFFER],
    "shape as text": [header("d", 3, 1, "<f8", "23"), GOOD_BUFFER],
    "shape as map": [msgpack.packb(["d", 3, 1, "<f8", {"2": 3}]), GOOD_BUFFER],
    "shape of floats": [header("d", 3, 1, "<f8", [2.0, 3.0]), GOOD_BUFFER],
    "shape of bools": [header("d", 1, 1, "<f8", [True]), bytes(8)],
    "negative dimension": [header("d", 3, 1, "<f8", [-2, -3]), GOOD_BUFFER],
    "nested shape": [header("d", 3, 1, "<f8", [[2, 3]]), GOOD_BUFFER],
    "absurd shape": [header("d", 3, 1, "<f8", [2**62, 2**62, 0]), b""],
    "wrapping shape": [header("d", 3, 1, "<f8", [2**32, 2**32]), b""],
    "0-d with two items": [header("d", 7, 1, "|i1", []), b"\0\0"],
    "bool with other bytes": [header("d", 9, 1, "|b1", [2, 2]), b"\0\1\2\1"],
}


@pytest.mark.parametrize("frames", BAD_DATA.values(), ids=BAD_DATA.keys())
def test_malformed_data_is_rejected_with_wire_error(frames):
    with pytest.raises(WireError):
        decode_data(frames, EXPECTED)


def test_good_data_fixture_is_accepted():  # so the rejections above test one fault each
    assert decode_data([GOOD_HEADER, GOOD_BUFFER], EXPECTED)[:2] == (3, 1)
    assert decode_data([header("d", 7, 2**63 - 1, "|i1", []), b"\5"], EXPECTED)[2] == 5
    assert decode_data([header("d", 9, 1, "|b1", [2, 2]), b"\0\1\1\0"], EXPECTED)[2].sum() == 2


def test_channel_of_another_peer_is_an_unexpected_channel():
    """Each PULL socket serves one peer: a well-formed message for a channel of another peer
    (or of no peer) arriving on it is refused."""
    from_a = {3: (np.dtype("<f8"), (2, 3))}
    from_b = {4: (np.dtype("<f8"), (2, 3))}
    forged = as_received(encode_data(4, 1, np.zeros((2, 3))))
    assert decode_data(forged, from_b)[0] == 4
    with pytest.raises(WireError, match="unexpected channel"):
        decode_data(forged, from_a)
    with pytest.raises(WireError, match="unexpected channel"):
        decode_data(forged, {})


# -- rejections: control -------------------------------------------------------------------
BAD_CONTROL = {
    "no frames": [],
    "empty header": [b""],
    "garbage": [b"\xc1\xff garbage"],
    "truncated": [msgpack.packb({"k": "get", "process": 1, "var": "v"})[:-2]],
    "trailing bytes": [msgpack.packb({"k": "halt"}) + b"\0"],
    "oversized header": [msgpack.packb({"k": "reply", "error": "x" * (1 << 20)})],
    "deep nesting": [b"\x91" * 100_000 + b"\xc0"],
    "deep nesting in a field": [b"\x82\xa1k\xa5reply\xa3ids" + b"\x91" * 5000 + b"\x01"],
    "not a map": [msgpack.packb(["halt"])],
    "a scalar": [msgpack.packb(7)],
    "nil": [msgpack.packb(None)],
    "invalid utf-8": [b"\x81\xa1k\xa4\xff\xfe\xfd\xfc"],
    "binary value": [msgpack.packb({"k": b"halt"})],
    "binary key": [msgpack.packb({b"k": "halt"})],
    "integer key": [msgpack.packb({1: "halt", "k": "halt"})],
    "ext type": [msgpack.packb({"k": "halt", "arrays": msgpack.ExtType(5, b"x")})],
    "kind missing": [msgpack.packb({})],
    "unknown kind": [msgpack.packb({"k": "explode"})],
    "kind not text": [msgpack.packb({"k": 1})],
    "kind of another case": [msgpack.packb({"k": "HALT"})],
    "extra field": [msgpack.packb({"k": "halt", "x": 1})],
    "extra field on reply": [msgpack.packb({"k": "reply", "ids": [], "pickle": "cos\nsystem"})],
    "missing var": [msgpack.packb({"k": "get", "process": 0})],
    "missing process": [msgpack.packb({"k": "set", "var": "v"})],
    "missing step": [msgpack.packb({"k": "done"})],
    "missing traceback": [msgpack.packb({"k": "failed", "process": "p", "model": "m",
                                         "phase": "run_spk", "step": 1})],
    "negative step": [msgpack.packb({"k": "halted", "step": -1})],
    "huge step": [msgpack.packb({"k": "done", "step": 2**64 - 1})],
    "until zero": [msgpack.packb({"k": "run", "until": 0})],
    "huge until": [msgpack.packb({"k": "run", "until": 2**63})],
    "negative process": [msgpack.packb({"k": "get", "process": -1, "var": "v"})],
    "process as list": [msgpack.packb({"k": "get", "process": [0], "var": "v"})],
    "var too long": [msgpack.packb({"k": "get", "process": 0, "var": "v" * 201})],
    "ids not a list": [msgpack.packb({"k": "reply", "ids": "012"})],
    "ids of maps": [msgpack.packb({"k": "reply", "ids": [{"a": 1}]})],
    "announces an array it lacks": [msgpack.packb({"k": "set", "process": 0, "var": "v",
                                                   "arrays": [["<f8", [1]]]})],
    "carries an array it does not announce": [msgpack.packb({"k": "halt"}), bytes(8)],
    "arrays not a list": [msgpack.packb({"k": "reply", "arrays": "<f8"}), bytes(8)],
    "array description too short": [msgpack.packb({"k": "reply", "arrays": [["<f8"]]}),
                                    bytes(8)],
    "array description too long": [msgpack.packb({"k": "reply",
                                                  "arrays": [["<f8", [1], 0]]}), bytes(8)],
}
for name, (dtype, shape, buffer) in {
        "truncated buffer": ("<f8", [2], bytes(15)),
        "buffer too long": ("<f8", [2], bytes(17)),
        "object dtype": ("|O", [1], bytes(8)),
        "object dtype by name": ("O", [1], bytes(8)),
        "unicode dtype": ("<U1", [1], bytes(4)),
        "void dtype": ("|V8", [1], bytes(8)),
        "structured dtype": ("<i4,<i4", [1], bytes(8)),
        "unparsable dtype": ("(,)i4", [1], bytes(4)),
        "complex dtype": ("<c16", [1], bytes(16)),
        "long dtype name": ("float64", [1], bytes(8)),
        "dtype as int": (8, [1], bytes(8)),
        "shape as int": ("<f8", 1, bytes(8)),
        "shape as text": ("<f8", "1", bytes(8)),
        "negative dimension": ("<f8", [-1], b""),
        "huge dimension": ("|u1", [2**41], b""),
        "too many dimensions": ("|u1", [1] * 33, b"\0"),
        "wrapping product": ("|i1", [2**32, 2**32], b""),
        "absurd empty shape": ("|u1", [2**40, 2**40, 0], b""),
        "wrapping product with one byte": ("|i1", [2**32 + 1, 2**32 - 1], b"\0"),
        "fractional dimension": ("<f8", [1.5], bytes(8)),
        "bool with other bytes": ("|b1", [3], b"\1\0\7"),
}.items():
    BAD_CONTROL[name] = [msgpack.packb({"k": "set", "process": 0, "var": "v",
                                        "arrays": [[dtype, shape]]}), buffer]


@pytest.mark.parametrize("frames", BAD_CONTROL.values(), ids=BAD_CONTROL.keys())
def test_malformed_control_is_rejected_with_wire_error(frames):
    with pytest.raises(WireError):
        decode_control(frames)


def test_control_edge_cases_that_are_valid():
    message, (array,) = decode_control([msgpack.packb(
        {"k": "set", "process": 0, "var": "v", "arrays": [["|u1", [2**20, 0, 2**20]]]}), b""])
    assert array.shape == (2**20, 0, 2**20) and array.size == 0
    message, _ = decode_control([msgpack.packb({"k": "done", "step": 2**63 - 1})])
    assert message.step == 2**63 - 1


# -- no pickle -----------------------------------------------------------------------------
def test_object_dtypes_are_refused_both_ways():
    assert np.dtype("O").kind not in wire.ALLOWED_DTYPE_KINDS
    for name in ("O", "|O", "<U4", "|S4", "|V4", "<M8[s]", "<m8"):
        with pytest.raises(WireError):
            wire._dtype(name)
    for value in (np.array([{"a": 1}, None], dtype=object), np.array(["text"]),
                  np.zeros(2, dtype="f4,f4"), np.array([1 + 2j])):
        with pytest.raises(WireError, match="cannot cross the wire"):
            encode_data(0, 1, value)
        with pytest.raises(WireError, match="cannot cross the wire"):
            encode_control(wire.SetVar(process=0, var="v"), (value,))


def test_wire_module_has_no_pickle_or_eval_path():
    with open(wire.__file__, "rb") as source:
        names = {tok.string for tok in tokenize.tokenize(source.readline)
                 if tok.type == tokenize.NAME}  # code only: comments and strings excluded
    forbidden = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve",
                 "allow_pickle", "load", "loads", "eval", "exec", "object_hook", "ext_hook",
                 "list_hook", "object_pairs_hook", "__import__"}
    assert not names & forbidden
    assert not any("pickle" in name.lower() for name in names)


# -- fuzzing -------------------------------------------------------------------------------
frames_of_bytes = st.lists(st.binary(max_size=200), max_size=4)


@FUZZ
@given(frames_of_bytes)
def test_fuzz_arbitrary_bytes(frames):
    check_data(frames)
    check_control(frames)


KINDS = ["d", "x"] + [cls.model_fields["k"].default
                      for cls in wire.ControlMessage.__origin__.__args__]
FIELDS = ["k", "arrays", "until", "process", "var", "step", "ids", "error", "model",
          "phase", "traceback", "requested", "endpoints", "extra"]
DTYPE_NAMES = DTYPES + ["|O", "O", "<U1", "|S1", "|V8", "<c8", "(,)i4", "i4,i4", "<f3",
                        "float64", "", "<f16", "=i4", "|b2"]
scalars = (st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
           | st.binary(max_size=6) | st.sampled_from(KINDS + FIELDS + DTYPE_NAMES)
           | st.integers(-2, 10))
structures = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=6)
    | st.dictionaries(st.text(max_size=6) | st.sampled_from(FIELDS), inner, max_size=6),
    max_leaves=25)


@FUZZ
@given(structures, st.lists(st.binary(max_size=48), max_size=3))
def test_fuzz_arbitrary_msgpack_structures(structure, buffers):
    frames = [msgpack.packb(structure), *buffers]
    check_data(frames)
    check_control(frames)


dimensions = st.one_of(st.integers(0, 4), st.integers(-2, 2**64 - 1), st.booleans(),
                       st.floats(0, 4), st.none())
shapes = st.one_of(st.lists(dimensions, max_size=4), st.lists(st.integers(0, 3), max_size=3),
                   st.lists(st.integers(0, 2**40), max_size=4), scalars)
dtype_fields = st.sampled_from(DTYPE_NAMES) | scalars
steps = st.integers(-3, 5) | st.integers(2**62, 2**64 - 1) | scalars


def maybe(draw, good, bad):
    """Mostly the valid value, sometimes a hostile one: faults one or two at a time."""
    return good if draw(st.integers(0, 3)) else draw(bad)


def buffer_for(draw, dtype, shape) -> bytes:
    """A buffer of the right length when the description allows one, else any bytes."""
    try:
        size = np.dtype(dtype).itemsize * math.prod(shape)
    except Exception:
        size = None
    if isinstance(size, int) and 0 <= size <= 64 and draw(st.integers(0, 3)):
        return draw(st.binary(min_size=size, max_size=size))
    return draw(st.binary(max_size=64))


def reframe(draw, frames):
    """Now and then, a frame too many or too few."""
    how = draw(st.integers(0, 9))
    return frames + [b""] if how == 0 else frames[:-1] if how == 1 else frames


@st.composite
def near_data(draw):
    channel = draw(st.sampled_from(sorted(EXPECTED)))
    dtype, shape = EXPECTED[channel]
    fields = [maybe(draw, "d", scalars), maybe(draw, channel, scalars | st.integers(-1, 12)),
              maybe(draw, draw(st.integers(1, 10**6)), steps), maybe(draw, dtype.str, dtype_fields),
              maybe(draw, list(shape), shapes)]
    if not draw(st.integers(0, 9)):
        fields = fields[:draw(st.integers(0, 4))] if draw(st.booleans()) else fields + [0]
    frames = [msgpack.packb(fields), buffer_for(draw, dtype, shape)]
    if len(fields) >= 5:  # sometimes sized for what the header says
        frames[1] = maybe(draw, frames[1], st.just(buffer_for(draw, fields[3], fields[4])))
    return reframe(draw, frames)


@st.composite
def near_control(draw):
    fields = draw(st.sampled_from(CONTROL_MESSAGES)).model_dump()
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=2)):
        if name in fields and draw(st.booleans()):
            del fields[name]
        else:
            fields[name] = draw(scalars | structures | st.integers(-2, 2**64 - 1))
    descriptions = draw(st.lists(st.tuples(st.sampled_from(DTYPES) | dtype_fields,
                                           st.lists(st.integers(0, 3), max_size=3) | shapes),
                                 max_size=3))
    fields["arrays"] = maybe(draw, [list(d) for d in descriptions], scalars | structures)
    buffers = [buffer_for(draw, dtype, shape) for dtype, shape in descriptions]
    return reframe(draw, [msgpack.packb(fields), *buffers])


@FUZZ
@given(near_data())
def test_fuzz_data_near_the_format(frames):
    check_data(frames)


@FUZZ
@given(near_control())
def test_fuzz_control_near_the_format(frames):
    check_control(frames)


VALID_MESSAGES = (
    [("data", as_received(encode_data(3, 5, np.arange(6.0).reshape(2, 3)))),
     ("data", as_received(encode_data(7, 1, np.int8(-4)))),
     ("data", as_received(encode_data(9, 2**40, np.eye(2, dtype=bool))))]
    + [("control", as_received(encode_control(m, arrays)))
       for m in CONTROL_MESSAGES
       for arrays in [(), (np.arange(5, dtype="<u2"), np.float32(1.5))]])


@st.composite
def mutated(draw):
    kind, frames = draw(st.sampled_from(VALID_MESSAGES))
    frames = list(frames)
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["flip", "truncate", "append", "drop", "duplicate",
                                    "swap"]))
        if not frames:
            break
        i = draw(st.integers(0, len(frames) - 1))
        frame = frames[i]
        if how == "flip" and frame:
            at = draw(st.integers(0, len(frame) - 1))
            bit = 1 << draw(st.integers(0, 7))
            frames[i] = frame[:at] + bytes([frame[at] ^ bit]) + frame[at + 1:]
        elif how == "truncate":
            frames[i] = frame[:draw(st.integers(0, max(0, len(frame) - 1)))]
        elif how == "append":
            frames[i] = frame + draw(st.binary(min_size=1, max_size=16))
        elif how == "drop":
            del frames[i]
        elif how == "duplicate":
            frames.insert(i, frame)
        elif how == "swap" and len(frames) > 1:
            j = draw(st.integers(0, len(frames) - 1))
            frames[i], frames[j] = frames[j], frames[i]
    return kind, frames


@FUZZ
@given(mutated())
def test_fuzz_mutated_valid_messages(message):
    _, frames = message
    check_data(frames)
    check_control(frames)


# -- live workers ----------------------------------------------------------------------------
class PacedRamp(Process):
    """Sends (1, 2, 3) times its step number times ``scale``, sleeping ``delay`` s a step."""

    def __init__(self, *, scale=1.0, delay=0.0, name=None):
        super().__init__(name=name)
        self.out = OutPort((3,))
        self.last = Var((1,), init=0)
        self.proc_params["scale"] = scale
        self.proc_params["delay"] = delay


@implements(proc=PacedRamp)
@tag("floating_pt")
class PacedRampModel(LoihiProcessModel):
    out = OutPortType(np.float64)
    last = VarType(np.int64)

    def run_spk(self):
        if self.proc_params["delay"]:
            time.sleep(self.proc_params["delay"])
        self.last[:] = self.time_step
        self.out.send(np.arange(1.0, 4.0) * self.time_step * self.proc_params["scale"])


def endpoint(runtime, name: str) -> str:
    """Where a socket of this (ipc) run lives: ``control``, ``data-<receiver>-from-<sender>``."""
    return f"ipc://{runtime.network.ipc_dir}/{name}"


def fan_in(delay=0.0, buffer=100_000):
    one = PacedRamp(scale=1.0, delay=delay, name="one")
    ten = PacedRamp(scale=10.0, delay=delay, name="ten")
    sink = SinkRingBuffer(shape=(3,), buffer=buffer, name="sum")
    one.out.connect(sink.a_in)
    sink.a_in.connect_from(ten.out)
    return one, ten, sink


def test_live_workers_drop_hostile_data_and_control_and_run_on_unchanged(capfd):
    one, ten, sink = fan_in(delay=0.0005)
    cfg = RunConfig(workers="per_process")
    one.run(RunContinuous(), cfg)
    runtime = one._session.runtime
    plan = runtime.plan
    worker_of = {p.name: p.worker for p in plan.processes}
    pid = {p.name: p.id for p in plan.processes}
    channel = {src: next(c for c in plan.channels if c.src == pid[src] and c.dst == pid["sum"])
               for src in ("one", "ten")}
    # Into the socket on which the sink's worker hears "one": garbage, and well-formed
    # messages for channels it does not expect there (the channel of "ten", of nobody).
    good = as_received(encode_data(channel["one"].id, 1, np.zeros(3)))
    hostile = [
        [b"garbage"],
        [b"\xc1", b"x"],
        [good[0], good[1], b""],
        [good[0], good[1][:-1]],
        [header("d", channel["one"].id, 0, "<f8", [3]), good[1]],
        [header("d", channel["one"].id, 2**64 - 1, "<f8", [3]), good[1]],
        [header("d", channel["one"].id, 1, "<f4", [3]), bytes(12)],
        [header("d", channel["one"].id, 1, "<f8", 3), good[1]],
        [header("d", channel["one"].id, 1, "|O", [3]), good[1]],
        [header("d", channel["one"].id, 1, "<f8", [3], "x" * 5000), good[1]],
        [header("d", channel["one"].id, 1, "<f8", [2**32, 2**32]), b""],
        as_received(encode_data(channel["ten"].id, 1, np.zeros(3))),
        as_received(encode_data(10_000, 1, np.zeros(3))),
    ]
    context = zmq.Context()
    try:
        push = context.socket(zmq.PUSH)
        push.connect(endpoint(runtime, f"data-{worker_of['sum']}-from-{worker_of['one']}"))
        for frames in hostile:
            push.send_multipart(frames)
        # and a stranger on the coordinator's control socket
        dealer = context.socket(zmq.DEALER)
        dealer.setsockopt(zmq.IDENTITY, b"99")  # no such worker
        dealer.connect(endpoint(runtime, "control"))
        dealer.send_multipart([b"\xc1garbage"])
        dealer.send_multipart(encode_control(wire.Done(step=1)))
        # every hostile message is read and dropped while the graph runs on
        dropped, deadline = "", time.monotonic() + 10
        while dropped.count("malformed data message") < len(hostile):
            assert time.monotonic() < deadline, dropped
            time.sleep(0.05)
            dropped += capfd.readouterr().err
        one.pause()
        assert all(process.is_alive() for process in runtime.processes)
        paused_at = int(one.last.get()[0])
        assert paused_at >= 1 and int(ten.last.get()[0]) == paused_at
        one.run(RunSteps(5), cfg)
        got = sink.data.get()
        assert all(process.is_alive() for process in runtime.processes)
        push.close(linger=0)
        dealer.close(linger=0)
    finally:
        one.stop()
        context.term()
    # identical to a run that saw no hostile input
    one, ten, sink = fan_in()
    with one:
        one.run(RunSteps(paused_at + 5), RunConfig(workers=0))
        np.testing.assert_array_equal(got, sink.data.get())
    steps = np.arange(1, paused_at + 6)
    np.testing.assert_array_equal(got[:, :paused_at + 5], np.outer([11, 22, 33], steps))


@pytest.mark.parametrize("shape", [[8.0], None, [-1, -8], [True, 8]])
def test_chip_protocol_refuses_a_bad_array_shape_with_wire_error(shape):
    header = msgpack.packb({"op": "ok", "seq": 1, "body": {},
                            "arrays": [["value", "<f8", shape]]})
    with pytest.raises(WireError):
        protocol.decode([header, np.zeros(8).tobytes()], protocol.REPLIES)


@pytest.mark.parametrize("field", [3, 4])  # the dtype and the shape field
def test_a_deeply_nested_header_field_is_a_wire_error(field):
    parts = [msgpack.packb(x) for x in ["d", 0, 1, "<f8", [3]]]
    parts[field] = b"\x91" * 1000 + b"\x01"  # [[[...[1]...]]]: legal msgpack, 1001 bytes
    header = b"\x95" + b"".join(parts)
    assert len(header) <= wire.MAX_HEADER_BYTES
    with pytest.raises(WireError):  # not RecursionError while writing the message
        decode_data([header, np.zeros(3).tobytes()], {0: (np.dtype("<f8"), (3,))})
