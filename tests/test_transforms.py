"""Port transforms: reshape, flatten, transpose and concat, on OutPorts and InPorts."""
import json

import numpy as np
import pytest

from lava_lite import (CompileError, InPort, LoihiProcessModel, OutPort, OutPortType, Process,
                       RunConfig, RunSteps, SubProcessModel, implements, tag)
from lava_lite.compiler import compile_graph
from lava_lite.plan import Plan
from lava_lite.proc_lib import Dense, SinkRingBuffer
from lava_lite.port_transforms import compile_transform
from lava_lite.port_transforms import transform_shape
from lava_lite.virtual_ports import simplify

STEPS = 3


class Pattern(Process):
    """Sends ``offset + arange(size).reshape(shape) + 1000 * t`` at step t: every element
    of every step is distinct, so any misplaced value shows."""

    def __init__(self, *, shape, offset=0.0, name=None):
        super().__init__(name=name)
        self.s_out = OutPort(shape)
        self.proc_params["offset"] = offset


@implements(proc=Pattern)
@tag("floating_pt")
class PatternModel(LoihiProcessModel):
    s_out = OutPortType(np.float64)

    def run_spk(self):
        shape = self.s_out.shape
        base = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
        self.s_out.send(base + self.proc_params["offset"] + 1000.0 * self.time_step)


def pattern(shape, t, offset=0.0):
    return np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) + offset + 1000.0 * t


def sink(shape, name):
    return SinkRingBuffer(shape=shape, buffer=STEPS, name=name)


def recorded(sink_process):
    """(STEPS, *shape): what the sink received at each step."""
    return np.moveaxis(sink_process.data.get(), -1, 0)


@pytest.mark.placements("in_process", "one_worker", "per_process")
def test_reshape_flatten_transpose_deliver_transformed_values(placement):
    src = Pattern(shape=(2, 3, 4), name="src")
    sinks = {
        "reshape": sink((4, 6), "reshape"),
        "flatten": sink((24,), "flatten"),
        "transpose": sink((4, 2, 3), "transpose"),
        "transpose_default": sink((4, 3, 2), "transpose_default"),
        "in_reshape": sink((6, 4), "in_reshape"),
        "in_transpose": sink((3, 4, 2), "in_transpose"),
        "composed": sink((4, 6), "composed"),
        "plain": sink((2, 3, 4), "plain"),
    }
    src.s_out.reshape((4, 6)).connect(sinks["reshape"].a_in)
    src.s_out.flatten().connect(sinks["flatten"].a_in)
    src.s_out.transpose((2, 0, 1)).connect(sinks["transpose"].a_in)
    src.s_out.transpose().connect(sinks["transpose_default"].a_in)
    # On an InPort, the virtual port has the shape the sender must have.
    src.s_out.connect(sinks["in_reshape"].a_in.reshape((2, 3, 4)))
    sinks["in_transpose"].a_in.transpose((2, 0, 1)).connect_from(src.s_out)
    # Composed on both sides: transpose, reshape, then the receiver's inverse transpose.
    src.s_out.transpose((1, 0, 2)).reshape((6, 4)).connect(sinks["composed"].a_in.transpose())
    src.s_out.connect(sinks["plain"].a_in)

    with src:
        src.run(RunSteps(STEPS), placement.run_cfg())
        got = {key: recorded(s) for key, s in sinks.items()}

    for t in range(1, STEPS + 1):
        x = pattern((2, 3, 4), t)
        expected = {
            "reshape": x.reshape(4, 6),
            "flatten": x.ravel(),
            "transpose": x.transpose(2, 0, 1),
            "transpose_default": x.T,
            "in_reshape": x.reshape(6, 4),
            "in_transpose": x.transpose(1, 2, 0),  # inverse of (2, 0, 1)
            "composed": x.transpose(1, 0, 2).reshape(6, 4).T,
            "plain": x,
        }
        for key, value in expected.items():
            np.testing.assert_array_equal(got[key][t - 1], value, err_msg=f"{key} at step {t}")


@pytest.mark.placements("in_process", "one_worker", "per_process")
def test_concat_of_ports_feeds_one_process(placement):
    a = Pattern(shape=(2, 3), offset=0.5, name="a")
    b = Pattern(shape=(1, 3), offset=0.25, name="b")
    rows = sink((3, 3), "rows")
    a.s_out.concat_with(b.s_out, axis=0).connect(rows.a_in)
    # Along the last axis, with a transformed part and a port used twice.
    cols = sink((3, 4), "cols")
    b_column = b.s_out.reshape((3, 1))
    a.s_out.transpose().concat_with([b_column, b_column], axis=-1).connect(cols.a_in)
    # The concatenation feeding a library Process (graded Dense, delivers one step later).
    weights = np.arange(18.0).reshape(2, 9) / 10
    dense = Dense(weights=weights, num_message_bits=16, name="dense")
    a.s_out.flatten().concat_with(b.s_out.flatten()).connect(dense.s_in)
    product = sink((2,), "product")
    dense.a_out.connect(product.a_in)
    # Split: one sender feeding a concatenation of two InPorts gets sliced.
    left, right = sink((2,), "left"), sink((4,), "right")
    a.s_out.flatten().connect(left.a_in.concat_with(right.a_in))
    with a:
        a.run(RunSteps(STEPS), placement.run_cfg())
        got = {s.name: recorded(s) for s in (rows, cols, product, left, right)}

    for t in range(1, STEPS + 1):
        xa, xb = pattern((2, 3), t, 0.5), pattern((1, 3), t, 0.25)
        np.testing.assert_array_equal(got["rows"][t - 1], np.concatenate([xa, xb], axis=0))
        np.testing.assert_array_equal(got["cols"][t - 1],
                                      np.concatenate([xa.T, xb.T, xb.T], axis=1))
        previous = (np.concatenate([pattern((2, 3), t - 1, 0.5).ravel(),
                                    pattern((1, 3), t - 1, 0.25).ravel()])
                    if t > 1 else np.zeros(9))
        np.testing.assert_allclose(got["product"][t - 1], weights @ previous, rtol=1e-12)
        np.testing.assert_array_equal(got["left"][t - 1], xa.ravel()[:2])
        np.testing.assert_array_equal(got["right"][t - 1], xa.ravel()[2:])


def test_channels_carry_sender_shape_and_simplified_transform():
    src = Pattern(shape=(2, 3), name="src")
    dst = SinkRingBuffer(shape=(6,), buffer=1, name="dst")
    src.s_out.reshape((3, 2)).reshape((6, 1)).flatten().connect(dst.a_in)
    other = SinkRingBuffer(shape=(2, 3), buffer=1, name="other")
    src.s_out.transpose().transpose().connect(other.a_in)
    plan = compile_graph(src, RunConfig()).plan
    by_dst = {plan.processes[c.dst].name: c for c in plan.channels}
    assert by_dst["dst"].shape == (2, 3)
    assert by_dst["dst"].transform == ({"op": "reshape", "shape": [6]},)
    assert by_dst["other"].transform == ()  # two transposes cancel
    again = Plan.model_validate_json(plan.model_dump_json())
    assert again.channels == plan.channels
    assert json.loads(plan.model_dump_json())["channels"][0]["transform"]


def test_transform_ops_match_numpy():
    x = np.arange(24.0).reshape(2, 3, 4)
    steps = ({"op": "transpose", "axes": [2, 0, 1]}, {"op": "reshape", "shape": [4, 6]},
             {"op": "place", "shape": [4, 10], "axis": 1, "start": 3},
             {"op": "take", "axis": 1, "start": 2, "stop": 9})
    expected = np.zeros((4, 10))
    expected[:, 3:9] = x.transpose(2, 0, 1).reshape(4, 6)
    expected = expected[:, 2:9]
    got = compile_transform(steps)(x)
    np.testing.assert_array_equal(got, expected)
    assert not got.flags.writeable
    assert transform_shape((2, 3, 4), steps) == expected.shape
    assert simplify((2, 3), ({"op": "reshape", "shape": [3, 2]},
                             {"op": "reshape", "shape": [2, 3]})) == ()


def test_unconnected_virtual_port_leaves_the_graph_alone():
    src = Pattern(shape=(2, 3), name="src")
    view = src.s_out.reshape((3, 2))
    assert view.shape == (3, 2) and src.s_out.out_connections == []
    assert view.qualified_name == "src.s_out.reshape((3, 2))"


def test_shape_errors_at_connect_name_ports_and_shapes():
    src = Pattern(shape=(2, 3), name="src")
    other = Pattern(shape=(2, 4), name="other")
    dst = SinkRingBuffer(shape=(6,), buffer=1, name="dst")
    with pytest.raises(ValueError, match=r"reshape src\.s_out \(shape \(2, 3\), 6 elements\) "
                                         r"to \(4,\)"):
        src.s_out.reshape(4)
    with pytest.raises(ValueError, match=r"transpose src\.s_out \(shape \(2, 3\)\) with axes "
                                         r"\(0, 0\): not a permutation"):
        src.s_out.transpose((0, 0))
    with pytest.raises(ValueError, match=r"transpose src\.s_out.*one axis per dimension"):
        src.s_out.transpose((1, 0, 2))
    with pytest.raises(ValueError, match=r"src\.s_out \(shape \(2, 3\)\), other\.s_out "
                                         r"\(shape \(2, 4\)\) along axis 0"):
        src.s_out.concat_with(other.s_out, axis=0)
    with pytest.raises(ValueError, match=r"axis 2 is out of range"):
        src.s_out.concat_with(other.s_out, axis=2)
    with pytest.raises(ValueError, match=r"cannot connect src\.s_out\.transpose\(\(1, 0\)\) "
                                         r"\(shape \(3, 2\)\) to dst\.a_in \(shape \(6,\)\)"):
        src.s_out.transpose().connect(dst.a_in)
    with pytest.raises(ValueError, match=r"cannot connect src\.s_out \(shape \(2, 3\)\) to "
                                         r"dst\.a_in\.reshape\(\(3, 2\)\)"):
        src.s_out.connect(dst.a_in.reshape((3, 2)))
    with pytest.raises(TypeError, match="cannot combine InPorts and OutPorts"):
        src.s_out.flatten().concat_with(dst.a_in)
    assert src.s_out.out_connections == [] and dst.a_in.in_connections == []


def test_a_transformed_port_is_a_source_or_a_destination_not_both():
    src = Pattern(shape=(2, 3), name="src")
    dst = SinkRingBuffer(shape=(2, 3), buffer=1, name="dst")
    view = dst.a_in.reshape((6,))
    src.s_out.flatten().connect(view)
    late = SinkRingBuffer(shape=(6,), buffer=1, name="late")
    with pytest.raises(ValueError, match=r"dst\.a_in\.reshape\(\(6,\)\) is already used as a "
                                         r"destination"):
        view.connect(late.a_in)
    with pytest.raises(TypeError, match="can only connect to a child's InPort"):
        view.connect(src.s_out)


class Grid(Process):
    def __init__(self, *, name=None):
        super().__init__(name=name)
        self.a_in = InPort((2, 3))


@implements(proc=Grid)
class BadGridModel(SubProcessModel):
    def __init__(self, proc):
        self.store = SinkRingBuffer(shape=(3, 2), buffer=1)
        proc.a_in.connect(self.store.a_in)  # shapes differ: refused while compiling


def test_shape_error_inside_a_sub_process_model_is_a_compile_error():
    src = Pattern(shape=(2, 3), name="src")
    grid = Grid(name="grid")
    src.s_out.connect(grid.a_in)
    with pytest.raises(CompileError, match=r"BadGridModel of Process 'grid' \(Grid\) failed.*"
                                           r"grid\.a_in \(shape \(2, 3\)\).*\(shape \(3, 2\)\)"):
        compile_graph(src, RunConfig())
    assert grid.a_in.out_connections == []  # what the model connected was taken back
