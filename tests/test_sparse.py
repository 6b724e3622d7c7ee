"""Sparse: construction from scipy.sparse or dense weights, the recorded Lava traces, equality
with Dense (float and fixed point) for random sparse weights, and its refusals."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lava_lite import CompileError, RunConfig, RunSteps
from lava_lite.proc_lib import LIF, Dense, Monitor, SinkRingBuffer, SourceRingBuffer, Sparse
import support

sparse = pytest.importorskip("scipy.sparse")



def _run(process, num_steps, run_cfg):
    process.run(RunSteps(num_steps=num_steps), run_cfg)


# ---------------------------------------------------------------------------------------
# Construction and storage
# ---------------------------------------------------------------------------------------

W = np.array([[0, 2.5, 0, -1], [0, 0, 0, 0], [3, 0, 0, 4]])


@pytest.mark.parametrize("make", [
    lambda w: w, lambda w: w.tolist(), sparse.csr_matrix, sparse.csc_matrix, sparse.coo_matrix,
    sparse.csr_array, sparse.lil_matrix,
])
def test_sparse_stores_csr_components(make):
    syn = Sparse(weights=make(W))
    assert syn.s_in.shape == (4,) and syn.a_out.shape == (3,) and syn.shape == (3, 4)
    assert np.array_equal(syn.weights.get(), [2.5, -1, 3, 4])  # row by row
    assert np.array_equal(syn.indices.get(), [1, 3, 0, 3])
    assert np.array_equal(syn.indptr.get(), [0, 2, 2, 4])
    assert syn.indices.get().dtype == np.int32 and syn.indptr.get().dtype == np.int64
    assert np.array_equal(syn.weight_matrix().toarray(), W)


def test_sparse_sums_duplicates_and_keeps_explicit_zeros():
    coo = sparse.coo_matrix(([1.0, 2.0, 0.0, 5.0], ([0, 0, 1, 1], [2, 2, 0, 1])), shape=(2, 3))
    syn = Sparse(weights=coo)
    assert np.array_equal(syn.weights.get(), [3.0, 0.0, 5.0])
    assert np.array_equal(syn.indices.get(), [2, 0, 1])
    assert np.array_equal(syn.weight_matrix().toarray(), coo.toarray())


def test_sparse_without_weights():
    syn = Sparse(weights=sparse.csr_matrix((2, 3)))
    assert syn.weights.get().shape == (0,) and np.array_equal(syn.indptr.get(), [0, 0, 0])
    source = SourceRingBuffer(data=np.ones((3, 2)))
    sink = SinkRingBuffer(shape=(2,), buffer=2)
    source.s_out.connect(syn.s_in)
    syn.a_out.connect(sink.a_in)
    try:
        _run(source, 2, RunConfig(select_tag="fixed_pt", workers=0))
        assert not sink.data.get().any()
    finally:
        source.stop()


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(weights=[1, 2]), ValueError, "2-D"),
    (dict(weights=np.ones((2, 2, 2))), ValueError, "2-D"),
    (dict(weights=[[1j, 0]]), TypeError, "real numbers"),
    (dict(weights=[[1]], weight_exp=1.5), TypeError, "weight_exp"),
    (dict(weights=[[1]], num_message_bits=33), ValueError, "num_message_bits"),
    (dict(weights=[[1]], clip_weights=1), TypeError, "clip_weights"),
])
def test_sparse_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        Sparse(**kwargs)


# ---------------------------------------------------------------------------------------
# Recorded Lava traces
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,workers", [
    ("sparse_fixed_pt_seed26", 0), ("sparse_graded_fixed_pt_seed28", 1),
    ("sparse_floating_pt_seed27", 0), ("sparse_graded_floating_pt_seed29", 0),
])
def test_library_sparse_traces(name, workers):
    path = support.reference_dir() / "library" / f"{name}.npz"
    with np.load(path) as npz:
        data = {k: npz[k] for k in npz.files}
    meta = json.loads(str(data["meta"]))
    weights = sparse.csr_matrix((data["W_data"], data["W_indices"], data["W_indptr"]),
                                shape=tuple(data["W_shape"]))
    source = SourceRingBuffer(data=data["spikes_in"])
    syn = Sparse(weights=weights, **meta["sparse"])
    lif_params = meta["lif"]
    lif = LIF(shape=(meta["n"],), du=lif_params["du"], dv=lif_params["dv"],
              vth=lif_params["vth"], bias_mant=data["lif_bias_mant"],
              bias_exp=data["lif_bias_exp"], name="lif")
    source.s_out.connect(syn.s_in)
    syn.a_out.connect(lif.a_in)
    monitor = Monitor()
    for member in (lif.u, lif.v, lif.s_out):
        monitor.probe(member, meta["T"])
    try:
        _run(source, meta["T"], RunConfig(select_tag=meta["tag"], workers=workers))
        got = monitor.get_data()["lif"]
    finally:
        source.stop()
    for key, ref in (("u", "lif_u"), ("v", "lif_v"), ("s_out", "lif_s")):
        if meta["tag"] == "fixed_pt":
            assert np.array_equal(got[key].astype(np.int64), data[ref].astype(np.int64)), key
        else:
            np.testing.assert_allclose(got[key], data[ref], rtol=0, atol=1e-9, err_msg=key)
    assert got["s_out"].any()


@pytest.mark.placements("in_process", "per_process")
def test_reference_network_with_sparse_synapses_bit_for_bit(monkeypatch, placement):
    """The recurrent fixed_pt reference network with every Dense replaced by a Sparse."""
    monkeypatch.setattr(support, "Dense",
                        lambda weights, **kw: Sparse(weights=sparse.csr_matrix(weights), **kw))
    arrays, meta = support.load_trace(support.fixed_trace(12))
    assert meta["recurrent"]
    source, monitor, _ = support.build(arrays, meta)
    assert isinstance(source.s_out.out_connections[0].process, Sparse)
    try:
        _run(source, meta["T"], placement.run_cfg(select_tag="fixed_pt"))
        got = support.recorded(monitor)
    finally:
        source.stop()
    support.assert_bit_for_bit(got, arrays, f"Sparse for Dense, {placement.id}")


# ---------------------------------------------------------------------------------------
# Dense == Sparse for random sparse weights
# ---------------------------------------------------------------------------------------

NUM_STEPS = 4


def _dense_and_sparse_outputs(weights, as_scipy, spikes, tag, **kwargs):
    source = SourceRingBuffer(data=spikes)
    dense = Dense(weights=weights, **kwargs)
    syn = Sparse(weights=sparse.csr_matrix(weights) if as_scipy else weights, **kwargs)
    sinks = []
    for synapse in (dense, syn):
        sink = SinkRingBuffer(shape=synapse.a_out.shape, buffer=NUM_STEPS)
        source.s_out.connect(synapse.s_in)
        synapse.a_out.connect(sink.a_in)
        sinks.append(sink)
    try:
        _run(source, NUM_STEPS, RunConfig(select_tag=tag, workers=0))
        return [sink.data.get() for sink in sinks]
    finally:
        source.stop()


@st.composite
def sparse_cases(draw, fixed: bool):
    n_out, n_in = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    if fixed:  # beyond 8 bits too, to compare the clipping; sometimes one sign only
        low, high = draw(st.sampled_from([(-300, 300), (0, 300), (-300, 0)]))
        values = st.integers(low, high)
    else:
        values = st.floats(-4, 4, allow_nan=False, allow_subnormal=False)
    weights = np.array(draw(st.lists(st.lists(values, min_size=n_in, max_size=n_in),
                                     min_size=n_out, max_size=n_out)))
    mask = np.array(draw(st.lists(st.lists(st.booleans(), min_size=n_in, max_size=n_in),
                                  min_size=n_out, max_size=n_out)))
    weights = np.where(mask, weights, 0)
    graded = draw(st.booleans())
    # binary mode: any non-zero input counts as one spike (Lava casts to bool)
    payload = st.integers(-255, 255) if graded else st.integers(-2, 2)
    spikes = np.array(draw(st.lists(st.lists(payload, min_size=NUM_STEPS, max_size=NUM_STEPS),
                                    min_size=n_in, max_size=n_in)), dtype=np.int32)
    kwargs = dict(num_message_bits=8 if graded else 0)
    if fixed:
        kwargs.update(weight_exp=draw(st.integers(-8, 7)),
                      num_weight_bits=draw(st.integers(1, 8)))
    return weights, draw(st.booleans()), spikes, kwargs


SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(sparse_cases(fixed=True))
def test_prop_sparse_equals_dense_fixed(case):
    weights, as_scipy, spikes, kwargs = case
    dense_out, sparse_out = _dense_and_sparse_outputs(weights, as_scipy, spikes, "fixed_pt",
                                                      **kwargs)
    assert dense_out.dtype == sparse_out.dtype == np.int32
    assert np.array_equal(dense_out, sparse_out)


@SETTINGS
@given(sparse_cases(fixed=False))
def test_prop_sparse_equals_dense_float(case):
    weights, as_scipy, spikes, kwargs = case
    dense_out, sparse_out = _dense_and_sparse_outputs(weights, as_scipy, spikes, "floating_pt",
                                                      **kwargs)
    # same sums, possibly in another order: equal up to float rounding
    np.testing.assert_allclose(sparse_out, dense_out, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------
# Weights set between runs, refusals
# ---------------------------------------------------------------------------------------

def _chain(weights, num_steps=10, **kwargs):
    source = SourceRingBuffer(data=np.ones((3, num_steps), np.int32), name="source")
    syn = Sparse(weights=weights, name="sparse", **kwargs)
    sink = SinkRingBuffer(shape=syn.a_out.shape, buffer=num_steps, name="sink")
    source.s_out.connect(syn.s_in)
    syn.a_out.connect(sink.a_in)
    return source, syn, sink


@pytest.mark.placements("in_process", "one_worker")
def test_sparse_fixed_requantizes_weights_set_between_runs(placement):
    source, syn, sink = _chain(sparse.csr_matrix([[10, 0, 30], [0, 2, 0]]))
    run_cfg = placement.run_cfg(select_tag="fixed_pt")
    try:
        _run(source, 4, run_cfg)
        syn.weights.set([-5, 301, 7])  # mixed now: clipped to 255, low bit dropped
        _run(source, 6, run_cfg)
        got = sink.data.get()
        assert np.array_equal(syn.weight_matrix().toarray(), [[-5, 0, 301], [0, 7, 0]])
    finally:
        source.stop()
    assert np.array_equal(got[:, 1:5], np.tile([[40], [2]], 4))
    assert np.array_equal(got[:, 5:], np.tile([[-6 + 254], [6]], 5))


@pytest.mark.parametrize("kwargs,parameter,value,allowed", [
    (dict(weights=[[300, 0, 1]], clip_weights=False), "weights", "300", "[0, 255]"),
    (dict(weights=[[0.5, 0, 1]]), "weights", "0.5", "float_to_fixed_dense"),
    (dict(weights=[[1, 0, 2]], weight_exp=8), "weight_exp", "8", "[-8, 7]"),
    (dict(weights=[[1, 0, 2]], num_weight_bits=0), "num_weight_bits", "0", "[1, 8]"),
])
def test_sparse_fixed_refuses_bad_parameters(kwargs, parameter, value, allowed):
    source, _, _ = _chain(kwargs.pop("weights"), **kwargs)
    with pytest.raises(CompileError) as info:
        _run(source, 1, RunConfig(select_tag="fixed_pt", workers=0))
    for part in ("'sparse'", parameter, value, allowed):
        assert part in str(info.value), (part, str(info.value))


@pytest.mark.parametrize("var,value,match", [
    ("indices", [0, 3], r"indices holds 3, outside the 3 inputs \[0, 2\]"),
    ("indptr", [0, 2, 1], "indptr must rise from 0 to 2"),
])
@pytest.mark.parametrize("tag", ["fixed_pt", "floating_pt"])
def test_sparse_refuses_a_broken_structure(var, value, match, tag):
    source, syn, _ = _chain([[1, 0, 0], [0, 0, 2]])
    getattr(syn, var).set(value)
    with pytest.raises(CompileError, match=r"'sparse'.*" + match):
        _run(source, 1, RunConfig(select_tag=tag, workers=0))


def test_sparse_refuses_a_structure_broken_between_runs():
    source, syn, _ = _chain([[1, 0, 0], [0, 0, 2]])
    run_cfg = RunConfig(select_tag="fixed_pt", workers=0)
    try:
        _run(source, 1, run_cfg)
        with pytest.raises(CompileError, match=r"(?s)'sparse'.*indices holds 7"):
            syn.indices.set([0, 7])  # refused at once; the run goes on unharmed
        _run(source, 1, run_cfg)
    finally:
        source.stop()
