"""Bit-accurate fixed-point models through the public API: the bit_accurate_loihi tag,
compile-time refusals of bad parameters, the strict overflow mode, weights set between
runs, and one graph-building function run on both backends. (The recorded Lava fixed_pt
traces on every placement: test_behaviour.py.)"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from lava_lite import CompileError, ProcessModelError, RunConfig, RunSteps
from lava_lite import fixed_point as fxp
from lava_lite.proc_lib import LIF, Dense, Monitor, SinkRingBuffer, SourceRingBuffer
from support import build, fixed_trace, load_trace, recorded

HERE = Path(__file__).resolve().parent


def _load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIXED = RunConfig(select_tag="fixed_pt", workers=0)


def run(process, num_steps: int, run_cfg: RunConfig = FIXED) -> None:
    process.run(RunSteps(num_steps=num_steps), run_cfg)


# ---------------------------------------------------------------------------------------
# The recorded Lava traces under another tag
# ---------------------------------------------------------------------------------------

def test_bit_accurate_loihi_tag_selects_the_same_models():
    arrays, meta = load_trace(fixed_trace(12))
    source, monitor, _ = build(arrays, meta)
    try:
        run(source, meta["T"], RunConfig(select_tag="bit_accurate_loihi", workers=0))
        got = recorded(monitor)
    finally:
        source.stop()
    assert all(np.array_equal(got[k], arrays[k].astype(np.int64)) for k in got)


# ---------------------------------------------------------------------------------------
# Single models
# ---------------------------------------------------------------------------------------

def _source_dense_sink(weights, spikes, **dense_kwargs):
    source = SourceRingBuffer(data=spikes, name="source")
    dense = Dense(weights=weights, name="dense", **dense_kwargs)
    sink = SinkRingBuffer(shape=dense.a_out.shape, buffer=spikes.shape[-1], name="sink")
    source.s_out.connect(dense.s_in)
    dense.a_out.connect(sink.a_in)
    return source, dense, sink


def _expected_dense(weights, spikes, weight_exp=0, num_weight_bits=8, graded=False):
    wq = fxp.quantize_weights(weights, num_weight_bits)
    out = [np.zeros(wq.shape[0], np.int64)]  # one step of delay
    out += [fxp.dense_step(wq, spikes[:, t], weight_exp, graded) for t in
            range(spikes.shape[1] - 1)]
    return np.stack(out, axis=1)


@pytest.mark.parametrize("graded", [False, True])
def test_dense_fixed_quantizes_shifts_and_delays(graded):
    rng = np.random.default_rng(3)
    weights = rng.integers(-300, 300, (4, 5))  # mixed, some outside 8 bits: clipped
    spikes = rng.integers(-3, 4, (5, 12)).astype(np.int32)
    source, dense, sink = _source_dense_sink(weights, spikes, weight_exp=-1, num_weight_bits=6,
                                             num_message_bits=8 if graded else 0)
    try:
        run(source, 12)
        got = sink.data.get()
        assert got.dtype == np.int32
        assert np.array_equal(dense.weights.get(), weights)  # the Var keeps what was given
    finally:
        source.stop()
    assert np.array_equal(got, _expected_dense(weights, spikes, -1, 6, graded))


@pytest.mark.placements("in_process", "one_worker")
def test_dense_fixed_requantizes_weights_set_between_runs(placement):
    spikes = np.ones((3, 10), np.int32)
    w_before = np.array([[10, 20, 30], [1, 2, 3]])  # excitatory
    w_after = np.array([[-5, 7, 0], [-3, -2, 300]])  # mixed: clip to 255, drop the low bit
    source, dense, sink = _source_dense_sink(w_before, spikes)
    try:
        run_cfg = placement.run_cfg(select_tag="fixed_pt")
        run(source, 4, run_cfg)
        dense.weights.set(w_after)
        run(source, 6, run_cfg)
        got = sink.data.get()
    finally:
        source.stop()
    assert np.array_equal(got[:, 1:5], np.tile([[60], [6]], 4))  # steps 2..5: old weights
    assert np.array_equal(got[:, 5:], np.tile([[-6 + 6], [-4 - 2 + 254]], 5))  # new ones


def test_ring_buffers_fixed_are_integer():
    data = np.array([[1, -2, 3], [4, 5, -6]])
    source = SourceRingBuffer(data=data)
    sink = SinkRingBuffer(shape=(2,), buffer=3)
    source.s_out.connect(sink.a_in)
    try:
        run(source, 3)
        got = sink.data.get()
    finally:
        source.stop()
    assert got.dtype == np.int32 and np.array_equal(got, data)


def test_lif_fixed_matches_fixed_point_module():
    rng = np.random.default_rng(5)
    a_in = rng.integers(-200, 400, (4, 30)).astype(np.int32)
    bias_mant, bias_exp = rng.integers(-100, 300, 4), rng.integers(0, 4, 4)
    source = SourceRingBuffer(data=a_in)
    lif = LIF(shape=(4,), du=300, dv=1000, vth=900, bias_mant=bias_mant, bias_exp=bias_exp,
              u=[5, -5, 0, 100], v=[0, 7, -7, 3])
    source.s_out.connect(lif.a_in)
    monitor = Monitor()
    monitor.probe(lif.v, 30)
    monitor.probe(lif.s_out, 30)
    try:
        run(source, 30)
        data = monitor.get_data()[lif.name]
        u_final = lif.u.get()
    finally:
        source.stop()
    u, v = np.array([5, -5, 0, 100]), np.array([0, 7, -7, 3])
    for t in range(30):
        u, v, s = fxp.lif_step(u, v, a_in[:, t], 300, 1000, 900, bias_mant, bias_exp)
        assert np.array_equal(data["v"][t], v) and np.array_equal(data["s_out"][t], s), t
    assert np.array_equal(u_final, u) and data["s_out"].any()


# ---------------------------------------------------------------------------------------
# Refused when the run is compiled
# ---------------------------------------------------------------------------------------

def _lone_lif(**kwargs):
    lif = LIF(shape=(3,), name="lif", **kwargs)
    source = SourceRingBuffer(data=np.zeros((3, 2), np.int32), name="source")
    source.s_out.connect(lif.a_in)
    return source


def _refusal(source, run_cfg=FIXED) -> str:
    with pytest.raises(CompileError) as info:
        source.run(RunSteps(num_steps=1), run_cfg)
    assert source._session is None  # nothing started
    return str(info.value)


@pytest.mark.parametrize("kwargs,parameter,value,allowed", [
    (dict(du=0.1), "du", "0.1", "[0, 4095]"),  # a float du: needs float_to_fixed_lif
    (dict(dv=0.5), "dv", "0.5", "[0, 4095]"),
    (dict(du=5000), "du", "5000", "[0, 4095]"),
    (dict(dv=-1), "dv", "-1", "[0, 4095]"),  # unsigned
    (dict(vth=1 << 17), "vth", str(1 << 17), "[0, 131071]"),
    (dict(vth=2.5), "vth", "2.5", "[0, 131071]"),
    (dict(bias_mant=[0, 5000, 0]), "bias_mant", "5000", "[-4096, 4095]"),
    (dict(bias_exp=8), "bias_exp", "8", "[0, 7]"),
    (dict(u=[0, 0, 1 << 23]), "u", str(1 << 23), "[-8388608, 8388607]"),  # 24-bit state
    (dict(v=[-(1 << 23) - 1, 0, 0]), "v", str(-(1 << 23) - 1), "[-8388608, 8388607]"),
])
def test_lif_fixed_refuses_bad_parameters(kwargs, parameter, value, allowed):
    message = _refusal(_lone_lif(**kwargs))
    for part in ("'lif'", parameter, value, allowed):
        assert part in message, (part, message)
    if "." in value:
        assert "float_to_fixed_lif" in message  # says how to convert


def test_float_models_accept_float_parameters():
    source = _lone_lif(du=0.1, dv=0.5, vth=2.5)
    try:
        run(source, 2, RunConfig(select_tag="floating_pt", workers=0))
    finally:
        source.stop()


@pytest.mark.parametrize("kwargs,parameter,value,allowed", [
    (dict(weights=[[300, 1]], clip_weights=False), "weights", "300", "[0, 255]"),
    (dict(weights=[[-256, -1]], clip_weights=False), "weights", "-256", "[-255, 0]"),
    (dict(weights=[[-257, 3]], clip_weights=False), "weights", "-257", "[-256, 255]"),
    (dict(weights=[[0.5, 1]]), "weights", "0.5", "float_to_fixed_dense"),
    (dict(weights=[[1, 2]], weight_exp=8), "weight_exp", "8", "[-8, 7]"),
    (dict(weights=[[1, 2]], weight_exp=-9), "weight_exp", "-9", "[-8, 7]"),
    (dict(weights=[[1, 2]], num_weight_bits=0), "num_weight_bits", "0", "[1, 8]"),
    (dict(weights=[[1, 2]], num_weight_bits=9), "num_weight_bits", "9", "[1, 8]"),
])
def test_dense_fixed_refuses_bad_parameters(kwargs, parameter, value, allowed):
    source, _, _ = _source_dense_sink(kwargs.pop("weights"), np.ones((2, 2), np.int32),
                                      **kwargs)
    message = _refusal(source)
    for part in ("'dense'", parameter, value, allowed):
        assert part in message, (part, message)


def test_dense_fixed_weights_in_range_pass_without_clipping():
    weights = np.array([[-256, 255], [3, 0]])
    source, _, sink = _source_dense_sink(weights, np.ones((2, 3), np.int32),
                                         clip_weights=False)
    try:
        run(source, 3)
        got = sink.data.get()
    finally:
        source.stop()
    assert np.array_equal(got[:, 2], [-256 + 254, 2])  # mixed: the low bit is dropped


def test_dense_fixed_refuses_weights_set_outside_8_bits_without_clipping():
    source, dense, _ = _source_dense_sink([[1, 2]], np.ones((2, 3), np.int32),
                                          clip_weights=False)
    try:
        run(source, 1)
        with pytest.raises(CompileError, match=r"'dense'(.|\n)*weights\[0, 1\] = 999"):
            dense.weights.set([[1, 999]])  # refused at once; the run goes on unharmed
        np.testing.assert_array_equal(dense.weights.get(), [[1, 2]])
        run(source, 1)
    finally:
        source.stop()


def test_clipping_is_lava_default():
    source, _, sink = _source_dense_sink([[300, 1]], np.ones((2, 3), np.int32))
    try:
        run(source, 3)
        got = sink.data.get()
    finally:
        source.stop()
    assert got[0, 2] == 255 + 1


# ---------------------------------------------------------------------------------------
# Strict overflow mode
# ---------------------------------------------------------------------------------------

def _saturating_lif(strict: bool):
    """v grows by bias 4095 << 7 = 524160 per step; neuron 1 never spikes (vth = 2**17 - 1,
    i.e. 2**23 - 64 in state units) and saturates at step 17; neuron 0 has no bias."""
    return _lone_lif(bias_mant=[0, 4095, 0], bias_exp=[0, 7, 0], vth=(1 << 17) - 1,
                     strict_overflow=strict)


def test_strict_overflow_names_process_and_neuron():
    source = _saturating_lif(strict=True)
    try:
        with pytest.raises(ProcessModelError) as info:
            run(source, 20)
    finally:
        source.stop()
    error = info.value
    assert error.process_name == "lif" and error.time_step == 17
    assert "neuron 1" in str(error) and "'v'" in str(error) and "saturation" in str(error)
    assert "neuron 0" not in str(error) and "neuron 2" not in str(error)


def test_without_strict_overflow_v_saturates_and_spikes():
    source = _saturating_lif(strict=False)
    lif = source.s_out.out_connections[0].process
    monitor = Monitor()
    monitor.probe(lif.v, 17)
    monitor.probe(lif.s_out, 17)
    try:
        run(source, 17)
        data = monitor.get_data()["lif"]
    finally:
        source.stop()
    assert data["v"][15, 1] == 16 * 524160 and not data["s_out"][:16].any()
    assert data["s_out"][16, 1] and data["v"][16, 1] == 0  # saturated at 2**23-1 > vth<<6


@pytest.mark.placements("in_process", "one_worker")
def test_strict_overflow_u_wrap(placement):
    lif = LIF(shape=(4,), u=[0, 0, (1 << 23) - 10, 0], du=0, dv=4095, vth=(1 << 17) - 1,
              strict_overflow=True, name="lif")
    source = SourceRingBuffer(data=np.full((4, 3), 100, np.int32), name="source")
    source.s_out.connect(lif.a_in)
    try:
        with pytest.raises(ProcessModelError, match=r"(?s)'lif'.*'u'.*neuron 2"):
            run(source, 3, placement.run_cfg(select_tag="fixed_pt"))
    finally:
        source.stop()


def test_strict_overflow_2d_population_names_the_neuron_position():
    lif = LIF(shape=(2, 3), u=[[0, 0, 0], [0, (1 << 23) - 10, 0]], du=0, dv=4095,
              vth=(1 << 17) - 1, strict_overflow=True, name="lif")
    source = SourceRingBuffer(data=np.full((2, 3, 2), 100, np.int32), name="source")
    source.s_out.connect(lif.a_in)
    try:
        with pytest.raises(ProcessModelError, match=r"neuron 4.*\(1, 1\)"):
            run(source, 2)
    finally:
        source.stop()


def test_strict_overflow_is_a_bool():
    with pytest.raises(TypeError, match="strict_overflow"):
        LIF(shape=(2,), strict_overflow="yes")


# ---------------------------------------------------------------------------------------
# One graph-building function, both backends (tutorials/fixed_vs_float.py)
# ---------------------------------------------------------------------------------------

tutorial = _load_module("fixed_vs_float", HERE.parent / "tutorials" / "fixed_vs_float.py")


def test_same_build_function_runs_on_both_backends():
    params = tutorial.float_parameters(seed=0, num_steps=20)
    for tag, p, dtype in (("floating_pt", params, np.float64),
                          ("fixed_pt", tutorial.to_fixed_pt(params), np.bool_)):
        source, monitor = tutorial.build_network(p)
        try:
            run(source, 20, RunConfig(select_tag=tag, workers=0))
            data = monitor.get_data()
        finally:
            source.stop()
        assert data["lif_a"]["s_out"].dtype == dtype, tag  # the tag chose the models


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_converted_network_tracks_float_spikes(seed):
    params = tutorial.float_parameters(seed=seed)
    float_counts = tutorial.spike_counts(params, RunConfig(select_tag="floating_pt", workers=0))
    fixed_counts = tutorial.spike_counts(tutorial.to_fixed_pt(params),
                                         RunConfig(select_tag="fixed_pt", workers=0))
    steps = tutorial.NUM_STEPS
    for name in ("lif_a", "lif_b"):
        flt, fix = float_counts[name], fixed_counts[name]
        assert 0.05 * steps * flt.size < flt.sum() < 0.9 * steps * flt.size  # a busy regime
        assert np.all(np.abs(flt - fix) <= np.maximum(4, 0.05 * flt)), (name, flt, fix)
        assert abs(int(flt.sum()) - int(fix.sum())) <= max(5, 0.02 * flt.sum()), name


def test_tutorial_script_runs(capsys):
    tutorial.main()
    out = capsys.readouterr().out
    assert "floating_pt" in out and "fixed_pt" in out and "lif_b" in out


# ---------------------------------------------------------------------------------------
# fixed_point helpers added for the models
# ---------------------------------------------------------------------------------------

def test_check_weights_fit():
    assert fxp.check_weights_fit([[0, 255]]) is not None
    fxp.check_weights_fit(np.array([[-256, 255]]))  # mixed
    fxp.check_weights_fit(np.array([[-255, 0]]))  # inhibitory
    fxp.check_weights_fit(np.zeros((0, 3)))
    for weights, text in (([[256, 0]], "weights[0, 0] = 256 is out of range: allowed [0, 255]"),
                          ([[-256, 0]], "allowed [-255, 0]"),
                          ([[3, -257]], "weights[0, 1] = -257 is out of range: allowed "
                                        "[-256, 255]"),
                          ([[1.5, 2]], "weights[0, 0] = 1.5 must be an integer")):
        with pytest.raises(ValueError) as info:
            fxp.check_weights_fit(np.array(weights))
        assert text in str(info.value)


def test_sparse_step_equals_dense_step():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(7)
    weights = np.where(rng.random((5, 7)) < 0.4, rng.integers(-256, 256, (5, 7)), 0)
    wq = fxp.quantize_weights(weights, 6)
    for graded in (False, True):
        s = rng.integers(-3, 4, 7)
        assert np.array_equal(
            fxp.sparse_step(scipy_sparse.csr_matrix(wq.astype(np.int64)), s, -2, graded),
            fxp.dense_step(wq, s, -2, graded))
    assert np.array_equal(fxp.synaptic_payload([0, -2, 3]), [0, 1, 1])
    assert np.array_equal(fxp.synaptic_payload([0, -2, 3], graded=True), [0, -2, 3])


def test_conversion_helpers_give_constructor_arguments():
    lif = fxp.float_to_fixed_lif(0.25, 0.1, 10.0, bias=[0.1, -0.1])
    dense = fxp.float_to_fixed_dense([[0.5, -1.0]], lif.scale)
    assert set(lif.lif_params()) == {"du", "dv", "vth", "bias_mant", "bias_exp"}
    assert lif.lif_params()["du"] == 1023 and lif.lif_params()["dv"] == 410
    LIF(shape=(2,), **lif.lif_params())
    Dense(**dense.dense_params())
    assert dense.dense_params()["weight_exp"] == dense.weight_exp


def test_float_to_fixed_dense_subnormal_weights():
    """Regression: a subnormal peak made log2 of an underflowed ratio fail."""
    d = fxp.float_to_fixed_dense([[5e-324]])
    assert d.weight_exp == fxp.WEIGHT_EXP_MIN and not d.weights.any()
