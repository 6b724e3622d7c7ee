"""Tests of lava_lite.fixed_point: hand-computed cases, property tests against a
plain Python-int statement of every rule, bit-exact replay of the recorded
Lava 0.10 fixed_pt traces, range checks and the float -> fixed conversion."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lava_lite import fixed_point as fxp

# ---------------------------------------------------------------------------
# Plain Python-integer statements of the rules (element by element)
# ---------------------------------------------------------------------------

TWO23 = 2 ** 23
TWO24 = 2 ** 24


def py_decay(x: int, d: int) -> int:
    p = int(x) * (4096 - int(d))
    mag = abs(p) >> 12
    return mag if p >= 0 else -mag


def py_wrap(x: int) -> int:
    if x > TWO23:
        return x - TWO24
    if x <= -TWO23:
        return x + TWO24
    return x


def py_saturate(v: int) -> int:
    return max(-(TWO23 - 1), min(TWO23 - 1, v))


def py_shift(x: int, e: int) -> int:
    return x << e if e >= 0 else x >> -e  # Python >> on ints is a floor shift


def py_lif(u, v, a, du, dv, vth, bm, be):
    u2 = py_wrap(py_decay(u, du + 1) + a * 64)
    v2 = py_saturate(py_decay(v, dv) + u2 + py_shift(bm, be))
    s = v2 > vth * 64
    return u2, (0 if s else v2), s


def py_sign_mode(ws):
    if min(ws) >= 0:
        return fxp.SignMode.EXCITATORY
    if max(ws) <= 0:
        return fxp.SignMode.INHIBITORY
    return fxp.SignMode.MIXED


def py_quantize(w: int, mode, nwb: int) -> int:
    if mode is fxp.SignMode.EXCITATORY:
        w = max(0, min(255, w))
    elif mode is fxp.SignMode.INHIBITORY:
        w = max(-255, min(0, w))
    else:
        w = max(-256, min(255, w))
    k = 8 - nwb + (1 if mode is fxp.SignMode.MIXED else 0)
    if mode is fxp.SignMode.INHIBITORY:
        return -(((-w) >> k) << k)
    return (w >> k) << k


state_ints = st.integers(-TWO23, TWO23)
decay_consts = st.integers(0, 4095)

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------


def test_constants():
    assert fxp.STATE_BITS == 24 and fxp.DECAY_BITS == 12
    assert fxp.ACTIVATION_SHIFT == 6 and fxp.VTH_SHIFT == 6 and fxp.WEIGHT_BITS == 8
    assert fxp.STATE_LIMIT == TWO23 and fxp.STATE_MODULUS == TWO24
    assert fxp.V_MAX == TWO23 - 1 and fxp.V_MIN == -(TWO23 - 1)
    assert (fxp.DU_OFFSET, fxp.DV_OFFSET) == (1, 0)


# ---------------------------------------------------------------------------
# Hand-computed unit tests
# ---------------------------------------------------------------------------


def test_decay_hand_values():
    x = np.array([4096, 100, -100, 3, -3, -1, 1, 0, TWO23, -TWO23])
    # 3 * 2048 = 6144 -> 6144 >> 12 = 1 ; -3 -> -1 (a floor would give -2)
    # -1 * 4095 = -4095 -> 0 (a floor would give -1)
    np.testing.assert_array_equal(fxp.decay(x[:5], 2048), [2048, 50, -50, 1, -1])
    np.testing.assert_array_equal(fxp.decay(x[5:7], 1), [0, 0])
    assert fxp.decay(0, 17) == 0
    np.testing.assert_array_equal(fxp.decay(x[8:], 0), [TWO23, -TWO23])
    np.testing.assert_array_equal(fxp.decay(x, 4096), np.zeros(10))
    # per-element decay constants broadcast
    np.testing.assert_array_equal(fxp.decay([1000, -1000], [1024, 3072]), [750, -250])
    assert fxp.decay(np.int32(TWO23), 1).dtype == np.int64


def test_wrap_state_asymmetry():
    x = np.array([TWO23, TWO23 + 1, TWO23 - 1, -TWO23, -TWO23 + 1, -TWO23 - 5, 0,
                  TWO24 + TWO23 + 1])
    expect = [TWO23,            # +2**23 is kept (not two's complement!)
              -TWO23 + 1,       # just above wraps
              TWO23 - 1,
              TWO23,            # -2**23 becomes +2**23
              -TWO23 + 1,
              TWO23 - 5,
              0,
              TWO23 + 1]        # wrapped once only
    np.testing.assert_array_equal(fxp.wrap_state(x), expect)
    # the plain two's-complement wrap differs exactly at the bounds
    np.testing.assert_array_equal(fxp.wrap_twos_complement([TWO23, -TWO23, TWO23 - 1, -TWO23 - 1]),
                                  [-TWO23, -TWO23, TWO23 - 1, TWO23 - 1])


def test_saturate_voltage():
    np.testing.assert_array_equal(
        fxp.saturate_voltage([TWO23, -TWO23, TWO23 - 1, -(TWO23 - 1), 5, 10 ** 9, -10 ** 9]),
        [TWO23 - 1, -(TWO23 - 1), TWO23 - 1, -(TWO23 - 1), 5, TWO23 - 1, -(TWO23 - 1)])


def test_bias_threshold_activation_and_exponent_shift():
    np.testing.assert_array_equal(fxp.effective_bias([5, -5, 5, -5, 4095], [3, 1, -1, -1, 7]),
                                  [40, -10, 2, -3, 4095 * 128])
    assert fxp.effective_threshold(392) == 392 * 64
    np.testing.assert_array_equal(fxp.scale_activation([3, -3]), [192, -192])
    np.testing.assert_array_equal(fxp.shift_by_exponent([5, -5, -4, 7], -1), [2, -3, -2, 3])
    np.testing.assert_array_equal(fxp.shift_by_exponent([5, -5], 2), [20, -20])
    np.testing.assert_array_equal(fxp.shift_by_exponent([5, -5], 0), [5, -5])


def test_lif_step_hand_values():
    u = np.array([1000, -1000, 0, 0], dtype=np.int32)
    v = np.array([100, -101, 0, 7000], dtype=np.int32)
    a_in = np.array([2, -3, 0, 0])
    u0, v0, a0 = u.copy(), v.copy(), a_in.copy()
    # du = 1023 -> u multiplied by (4096 - (1023 + 1)) / 4096 = 3/4
    # dv = 2048 -> v halved, rounded toward zero
    # n0: u = 750 + (2 << 6) = 878;   v = 50 + 878 + (3 << 1) = 934
    # n1: u = -750 - 192 = -942;      v = -50 - 942 + (-3 << 1) = -998
    # n2: u = 0;                      v = 0 + 0 + bias_mant (exp 0)
    # n3: u = 0;                      v = 3500 + 0 + (-7 >> 1 = -4) = 3496
    un, vn, s = fxp.lif_step(u, v, a_in, du=1023, dv=2048, vth=14,
                             bias_mant=np.array([3, -3, 900, -7]),
                             bias_exp=np.array([1, 1, 0, -1]))
    # vth << 6 = 896: n0 (934), n2 (900), n3 (3496) spike and are reset
    np.testing.assert_array_equal(un, [878, -942, 0, 0])
    np.testing.assert_array_equal(vn, [0, -998, 0, 0])
    np.testing.assert_array_equal(s, [True, False, True, True])
    assert un.dtype == np.int32 and vn.dtype == np.int32 and s.dtype == bool
    # vth << 6 = 960: n0 (934) stays, n2 ties at 960 -> no spike (strict >)
    un, vn, s = fxp.lif_step(u, v, a_in, 1023, 2048, np.full(4, 15),
                             [3, -3, 960, -7], [1, 1, 0, -1])
    np.testing.assert_array_equal(un, [878, -942, 0, 0])  # u is never reset
    np.testing.assert_array_equal(vn, [934, -998, 960, 0])
    np.testing.assert_array_equal(s, [False, False, False, True])
    # inputs untouched
    np.testing.assert_array_equal(u, u0)
    np.testing.assert_array_equal(v, v0)
    np.testing.assert_array_equal(a_in, a0)


def test_lif_step_offsets_du_plus_one_dv_plain():
    # du = 0 still decays u by 1/4096 (offset +1); dv = 0 keeps v exactly
    quiet = dict(vth=10 ** 5, bias_mant=[0], bias_exp=[0])
    un, vn, _ = fxp.lif_step([4096], [4096], [0], du=0, dv=0, **quiet)
    assert un[0] == 4095
    assert vn[0] == 4096 + 4095
    # du = 4095 -> u fully forgotten
    un, _, _ = fxp.lif_step([123456], [0], [1], du=4095, dv=0, **quiet)
    assert un[0] == 64


def test_lif_step_wrap_and_saturation():
    zero = dict(du=0, dv=0, vth=131071, bias_mant=0, bias_exp=0)
    # u = a_in << 6 exactly at the bounds: +2**23 stays, -2**23 becomes +2**23,
    # 2**23 + 64 wraps to -2**23 + 64
    a_in = [2 ** 17, -2 ** 17, 2 ** 17 + 1, -2 ** 17 + 1]
    un, _, _ = fxp.lif_step([0, 0, 0, 0], [0, 0, 0, 0], a_in, **zero)
    np.testing.assert_array_equal(un, [TWO23, TWO23, -TWO23 + 64, -TWO23 + 64])
    # v saturates positive and negative (before the spike test)
    u, v = fxp.lif_subthreshold([TWO23 - 1, -TWO23 + 1], [TWO23 - 1, -TWO23 + 1], [0, 0],
                                du=4094, dv=0, bias_mant=[4095, -4096], bias_exp=[7, 7])
    # du + 1 = 4095 -> u * 1/4096, toward zero
    np.testing.assert_array_equal(u, [2047, -2047])
    np.testing.assert_array_equal(v, [TWO23 - 1, -(TWO23 - 1)])
    # the largest threshold is below the saturated voltage: it spikes
    _, vn, s = fxp.lif_step([TWO23 - 1], [TWO23 - 1], [0], 4094, 0, 131071, [4095], [7])
    assert s[0] and vn[0] == 0


def test_strict_mode_names_neuron_index():
    with pytest.raises(fxp.FixedPointOverflowError, match=r"'u'.*neuron 2") as info:
        fxp.lif_step([0, 0, 0], [0, 0, 0], [0, 1, 2 ** 17 + 1], 0, 0, 100, 0, 0, strict=True)
    assert info.value.variable == "u"
    assert info.value.indices.tolist() == [2]
    with pytest.raises(fxp.FixedPointOverflowError, match=r"'v'.*neuron 1") as info:
        fxp.lif_step([0, 0], [0, -TWO23 + 1], [0, 0], 4094, 0, 100, [0, -4096], [0, 7], strict=True)
    assert info.value.variable == "v" and info.value.indices.tolist() == [1]
    assert isinstance(info.value, OverflowError)
    # in-range values pass and agree with the non-strict result
    a = fxp.lif_step([5, -5], [7, 8], [1, 2], 100, 200, 3, [1, 2], [0, 1], strict=True)
    b = fxp.lif_step([5, -5], [7, 8], [1, 2], 100, 200, 3, [1, 2], [0, 1])
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_overflow_masks_and_indices():
    pre = np.array([0, TWO23, TWO23 + 1, -TWO23, -TWO23 + 1])
    np.testing.assert_array_equal(fxp.would_overflow_u(pre), [False, False, True, True, False])
    np.testing.assert_array_equal(fxp.would_saturate_v(pre), [False, True, True, True, False])
    assert fxp.overflow_indices(fxp.would_overflow_u(pre)).tolist() == [2, 3]
    assert fxp.first_overflow_index(fxp.would_overflow_u(pre)) == 2
    assert fxp.first_overflow_index(np.zeros(4, bool)) is None
    assert fxp.first_overflow_index(np.array([[False, False], [False, True]])) == 3


def test_sign_mode():
    assert fxp.sign_mode([[0, 3], [1, 0]]) is fxp.SignMode.EXCITATORY
    assert fxp.sign_mode(np.zeros((2, 2))) is fxp.SignMode.EXCITATORY
    assert fxp.sign_mode([[0, -3], [-1, 0]]) is fxp.SignMode.INHIBITORY
    assert fxp.sign_mode([[-1, 3]]) is fxp.SignMode.MIXED


def test_clip_weights():
    w = np.array([-300, -256, -255, -1, 0, 255, 256, 300])
    np.testing.assert_array_equal(fxp.clip_weights(w, fxp.SignMode.EXCITATORY),
                                  [0, 0, 0, 0, 0, 255, 255, 255])
    np.testing.assert_array_equal(fxp.clip_weights(w, "inhibitory"),
                                  [-255, -255, -255, -1, 0, 0, 0, 0])
    np.testing.assert_array_equal(fxp.clip_weights(w, "MIXED"),
                                  [-256, -256, -255, -1, 0, 255, 255, 255])
    with pytest.raises(ValueError, match="sign mode"):
        fxp.clip_weights(w, "both")


def test_truncate_weights():
    # mixed, 8 bits: one bit dropped (floor): 3 -> 2, -3 -> -4, -256 stays
    np.testing.assert_array_equal(fxp.truncate_weights([3, -3, 255, -256, 1, -1], "mixed", 8),
                                  [2, -4, 254, -256, 0, -2])
    # mixed, 7 bits -> k = 2: -5 -> -8
    np.testing.assert_array_equal(fxp.truncate_weights([-5, 5], "mixed", 7), [-8, 4])
    # excitatory, 6 bits -> k = 2
    np.testing.assert_array_equal(fxp.truncate_weights([5, 255, 3], "excitatory", 6), [4, 252, 0])
    # inhibitory, 7 bits -> k = 1, applied to the magnitude: -5 -> -4 (toward zero)
    np.testing.assert_array_equal(fxp.truncate_weights([-5, -255, -1, 0], "inhibitory", 7),
                                  [-4, -254, 0, 0])
    # inhibitory, 6 bits -> k = 2: -5 -> -4, -7 -> -4, -8 -> -8
    np.testing.assert_array_equal(fxp.truncate_weights([-5, -7, -8], fxp.SignMode.INHIBITORY, 6),
                                  [-4, -4, -8])
    assert fxp.truncate_weights([1], "excitatory", 8).dtype == np.int32
    assert fxp.truncation_bits("mixed", 6) == 3
    with pytest.raises(ValueError, match="num_weight_bits"):
        fxp.truncate_weights([1], "mixed", 10)


def test_quantize_weights():
    np.testing.assert_array_equal(fxp.quantize_weights([[300, -300], [7, -7]], 8),
                                  [[254, -256], [6, -8]])
    np.testing.assert_array_equal(fxp.quantize_weights([[300, 7]], 6), [[252, 4]])
    np.testing.assert_array_equal(fxp.quantize_weights([[-300, -7]], 6), [[-252, -4]])
    # an explicit sign mode overrides the detected one
    np.testing.assert_array_equal(fxp.quantize_weights([[3, 5]], 8, mode="mixed"), [[2, 4]])


def test_dense_step():
    w = np.array([[10, -20, 30], [1, 2, 4]])
    # binary: any non-zero input (also -1 or 2) counts as one spike
    np.testing.assert_array_equal(fxp.dense_step(w, [1, 0, 1]), [40, 5])
    np.testing.assert_array_equal(fxp.dense_step(w, [-1, 2, 0]), [-10, 3])
    np.testing.assert_array_equal(fxp.dense_step(w, [True, True, False], weight_exp=2), [-40, 12])
    np.testing.assert_array_equal(fxp.dense_step(w, [1, 1, 0], weight_exp=-1), [-5, 1])
    np.testing.assert_array_equal(fxp.dense_step(w, [1, 1, 1], weight_exp=-2), [5, 1])
    # graded: W @ s, shift applied to the sum
    np.testing.assert_array_equal(fxp.dense_step(w, [3, -1, 2], graded=True), [110, 9])
    np.testing.assert_array_equal(fxp.dense_step(w, [3, -1, 0], weight_exp=-2, graded=True),
                                  [12, 0])
    assert fxp.dense_step(w, [1, 0, 0]).dtype == np.int32
    assert fxp.dense_step(w, [0, 0, 0]).tolist() == [0, 0]


# ---------------------------------------------------------------------------
# Property tests against the Python-int statements
# ---------------------------------------------------------------------------

PROP = settings(max_examples=150, deadline=None)


@PROP
@given(st.lists(st.tuples(state_ints, decay_consts), min_size=1, max_size=30))
def test_prop_decay(pairs):
    xs = np.array([p[0] for p in pairs], dtype=np.int32)
    ds = np.array([p[1] for p in pairs])
    got = fxp.decay(xs, ds)
    assert got.tolist() == [py_decay(x, d) for x, d in pairs]
    # rounding toward zero: |decay(x)| <= |x| and decay(-x) == -decay(x)
    assert (np.abs(got) <= np.abs(xs.astype(np.int64))).all()
    np.testing.assert_array_equal(fxp.decay(-xs.astype(np.int64), ds), -got)


@PROP
@given(st.lists(st.integers(-TWO24 - TWO23, TWO24 + TWO23), min_size=1, max_size=30))
def test_prop_wrap_and_saturate(xs):
    arr = np.array(xs, dtype=np.int64)
    assert fxp.wrap_state(arr).tolist() == [py_wrap(x) for x in xs]
    assert fxp.saturate_voltage(arr).tolist() == [py_saturate(x) for x in xs]
    assert fxp.would_overflow_u(arr).tolist() == [py_wrap(x) != x for x in xs]
    assert fxp.would_saturate_v(arr).tolist() == [py_saturate(x) != x for x in xs]
    assert fxp.wrap_twos_complement(arr).tolist() == [((x + TWO23) % TWO24) - TWO23 for x in xs]


@PROP
@given(st.lists(st.tuples(st.integers(-4096, 4095), st.integers(-8, 7)), min_size=1, max_size=30),
       st.integers(-TWO23, TWO23))
def test_prop_bias_and_shift(pairs, acc):
    m = np.array([p[0] for p in pairs])
    e = np.array([p[1] for p in pairs])
    assert fxp.effective_bias(m, e).tolist() == [py_shift(a, b) for a, b in pairs]
    for exp in (-3, 0, 4):
        assert int(fxp.shift_by_exponent(acc, exp)) == py_shift(acc, exp)


lif_neuron = st.tuples(
    st.integers(-TWO23 + 1, TWO23),          # u (any value the wrap can produce)
    st.integers(-(TWO23 - 1), TWO23 - 1),    # v
    st.integers(-2 ** 17, 2 ** 17),          # a_in (large enough to wrap u)
    decay_consts, decay_consts,              # du, dv
    st.integers(0, 2 ** 17 - 1),             # vth
    st.integers(-4096, 4095), st.integers(0, 7))  # bias_mant, bias_exp


@PROP
@given(st.lists(lif_neuron, min_size=1, max_size=20))
def test_prop_lif_step(neurons):
    cols = [np.array(c) for c in zip(*neurons)]
    u, v, a, du, dv, vth, bm, be = cols
    u = u.astype(np.int32)
    v = v.astype(np.int32)
    un, vn, s = fxp.lif_step(u, v, a, du, dv, vth, bm, be)
    expect = [py_lif(*n) for n in neurons]
    assert un.tolist() == [e[0] for e in expect]
    assert vn.tolist() == [e[1] for e in expect]
    assert s.tolist() == [e[2] for e in expect]


@PROP
@given(st.lists(st.integers(-400, 400), min_size=1, max_size=40), st.integers(1, 8),
       st.sampled_from([None, "excitatory", "inhibitory", "mixed"]))
def test_prop_quantize_weights(ws, nwb, forced):
    mode = py_sign_mode(ws) if forced is None else fxp._as_sign_mode(forced)
    assert fxp.sign_mode(ws) is py_sign_mode(ws)
    got = fxp.quantize_weights(np.array(ws), nwb, mode=forced)
    assert got.dtype == np.int32
    assert got.tolist() == [py_quantize(w, mode, nwb) for w in ws]


@PROP
@given(st.integers(1, 6), st.integers(1, 7), st.integers(-3, 3), st.booleans(), st.data())
def test_prop_dense_step(n_out, n_in, exp, graded, data):
    w = data.draw(st.lists(st.lists(st.integers(-256, 255), min_size=n_in, max_size=n_in),
                           min_size=n_out, max_size=n_out))
    s = data.draw(st.lists(st.integers(-300, 300) if graded else st.integers(-1, 2),
                           min_size=n_in, max_size=n_in))
    got = fxp.dense_step(np.array(w), np.array(s), exp, graded=graded)
    expect = []
    for row in w:
        acc = sum(wi * (si if graded else (1 if si != 0 else 0)) for wi, si in zip(row, s))
        expect.append(py_shift(acc, exp))
    assert got.tolist() == expect


# ---------------------------------------------------------------------------
# Bit-exact replay of the recorded Lava 0.10 fixed_pt traces
# ---------------------------------------------------------------------------


def _reference_dir():
    here = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
    if here.is_dir():
        return here
    env = os.environ.get("LAVA_LITE_REFERENCE_DIR")
    if env and Path(env).is_dir():
        return Path(env)
    return None


REF_DIR = _reference_dir()
needs_reference = pytest.mark.skipif(
    REF_DIR is None,
    reason="reference traces not found: neither ../shared/reference next to the repo "
           "nor $LAVA_LITE_REFERENCE_DIR exists")


def _load(path):
    data = np.load(path)
    return data, json.loads(str(data["meta"]))


def run_reference_network(data, meta):
    """RingBuffer -> Dense(W1) -> LIF a -> Dense(W2) -> LIF b (+ a -> Dense(R) -> a),
    using only fixed_point functions. Each Dense sends at step t what it computed
    at step t-1 (zeros at t = 1); the LIFs use their input in the same step."""
    T = meta["T"]
    d1, d2, dr = meta["dense1"], meta["dense2"], meta["dense_rec"]
    la, lb = meta["lif_a"], meta["lif_b"]
    rec = meta["recurrent"]
    w1 = fxp.quantize_weights(data["W1"], d1["num_weight_bits"])
    w2 = fxp.quantize_weights(data["W2"], d2["num_weight_bits"])
    wr = fxp.quantize_weights(data["R"], dr["num_weight_bits"]) if rec else None
    n_a, n_b = meta["n_a"], meta["n_b"]
    ua = np.zeros(n_a, np.int32)
    va = np.zeros(n_a, np.int32)
    ub = np.zeros(n_b, np.int32)
    vb = np.zeros(n_b, np.int32)
    buf1 = np.zeros(n_a, np.int32)
    bufr = np.zeros(n_a, np.int32)
    buf2 = np.zeros(n_b, np.int32)
    out = {k: [] for k in ("a_u", "a_v", "a_s", "b_u", "b_v", "b_s")}
    for t in range(1, T + 1):
        s_src = data["spikes_in"][:, (t - 1) % data["spikes_in"].shape[1]]
        # synapses first send last step's activation, then compute the next one
        a_in_a = buf1 + bufr if rec else buf1
        buf1 = fxp.dense_step(w1, s_src, d1["weight_exp"])
        ua, va, sa = fxp.lif_step(ua, va, a_in_a, la["du"], la["dv"], la["vth"],
                                  data["a_bias_mant"], data["a_bias_exp"])
        if rec:
            bufr = fxp.dense_step(wr, sa, dr["weight_exp"])
        a_in_b = buf2
        buf2 = fxp.dense_step(w2, sa, d2["weight_exp"])
        ub, vb, sb = fxp.lif_step(ub, vb, a_in_b, lb["du"], lb["dv"], lb["vth"],
                                  data["b_bias_mant"], data["b_bias_exp"])
        for key, val in (("a_u", ua), ("a_v", va), ("a_s", sa),
                         ("b_u", ub), ("b_v", vb), ("b_s", sb)):
            out[key].append(np.asarray(val, dtype=np.int64))
    return {k: np.stack(v) for k, v in out.items()}


@needs_reference
@pytest.mark.parametrize("seed", [11, 12])
def test_reference_network_bit_exact(seed):
    path = REF_DIR / f"lava010_fixed_pt_seed{seed}.npz"
    if not path.exists():
        pytest.skip(f"{path} missing")
    data, meta = _load(path)
    assert meta["tag"] == "fixed_pt"
    got = run_reference_network(data, meta)
    for key, val in got.items():
        ref = data[key]
        assert ref.shape == val.shape, key
        assert np.all(ref == np.round(ref)), key
        bad = np.argwhere(val != ref.astype(np.int64))
        assert bad.size == 0, (
            f"seed {seed}: {key} differs first at step t={bad[0][0] + 1}, neuron {bad[0][1]}: "
            f"got {val[tuple(bad[0])]}, Lava {ref[tuple(bad[0])]}")
    # the traces must exercise something: spikes in both populations
    assert got["a_s"].sum() > 0 and got["b_s"].sum() > 0


@needs_reference
@pytest.mark.parametrize("name,key_a,graded_key", [
    ("dense_graded_fixed_pt_seed32", "dense_a", "dense"),
    ("sparse_fixed_pt_seed26", "sparse_a", "sparse"),
    ("sparse_graded_fixed_pt_seed28", "sparse_a", "sparse"),
])
def test_library_synapse_to_lif_bit_exact(name, key_a, graded_key):
    """Single synapse -> LIF cases of the library set (binary and graded
    payloads; Sparse is numerically a Dense with the same dense matrix)."""
    path = REF_DIR / "library" / f"{name}.npz"
    if not path.exists():
        pytest.skip(f"{path} missing")
    data, meta = _load(path)
    syn, lif = meta[graded_key], meta["lif"]
    graded = syn.get("num_message_bits", 0) > 0
    w = fxp.quantize_weights(data["W"], syn.get("num_weight_bits", 8))
    n = w.shape[0]
    u = np.zeros(n, np.int32)
    v = np.zeros(n, np.int32)
    buf = np.zeros(n, np.int32)
    for t in range(1, meta["T"] + 1):
        a_in = buf
        buf = fxp.dense_step(w, data["spikes_in"][:, t - 1], syn.get("weight_exp", 0),
                             graded=graded)
        u, v, s = fxp.lif_step(u, v, a_in, lif["du"], lif["dv"], lif["vth"],
                               data["lif_bias_mant"], data["lif_bias_exp"])
        for key, val in ((key_a, a_in), ("lif_u", u), ("lif_v", v), ("lif_s", s)):
            assert np.array_equal(np.asarray(val, np.int64), data[key][t - 1].astype(np.int64)), (
                f"{name}: {key} differs at step {t}")


# ---------------------------------------------------------------------------
# check_range
# ---------------------------------------------------------------------------


def test_bit_range():
    assert fxp.bit_range(12, signed=False) == (0, 4095)
    assert fxp.bit_range(13) == (-4096, 4095)
    assert fxp.bit_range(24) == (-TWO23, TWO23 - 1)
    with pytest.raises(ValueError):
        fxp.bit_range(0)


def test_check_range_messages():
    assert fxp.check_range("du", 4095, 12, signed=False) == 4095
    arr = np.array([1, 2, 3])
    assert fxp.check_range("bias_mant", arr, 13) is arr
    with pytest.raises(ValueError) as info:
        fxp.check_range("du", 5000, 12, signed=False)
    msg = str(info.value)
    assert "du" in msg and "5000" in msg and "[0, 4095]" in msg and "12-bit unsigned" in msg
    with pytest.raises(ValueError) as info:
        fxp.check_range("bias_mant", np.array([[0, 1], [-5000, 4]]), 13)
    msg = str(info.value)
    assert "bias_mant[1, 0]" in msg and "-5000" in msg and "[-4096, 4095]" in msg
    with pytest.raises(ValueError, match=r"vth = -1 is out of range: allowed \[0, 131071\]"):
        fxp.check_range("vth", -1, 17, signed=False)
    with pytest.raises(ValueError, match=r"dv = 2.5 must be an integer"):
        fxp.check_range("dv", 2.5, 12, signed=False)
    with pytest.raises(ValueError, match="must be an integer"):
        fxp.check_range("dv", "7", 12, signed=False)
    assert fxp.check_range("dv", 7.0, 12, signed=False) == 7.0


# ---------------------------------------------------------------------------
# Float -> fixed conversion
# ---------------------------------------------------------------------------


def test_float_to_fixed_lif_values():
    p = fxp.float_to_fixed_lif(du=0.25, dv=0.1, vth=2.0, bias=[0.0, 0.01, -0.5], scale=256)
    assert p.du == 1023 and p.dv == round(0.1 * 4096) == 410
    assert p.vth == 512 and p.scale == 256 and p.state_scale == 256 * 64
    assert fxp.fixed_state_to_float(p.vth << 6, p.scale) == 2.0
    np.testing.assert_array_equal(fxp.effective_bias(p.bias_mant, p.bias_exp),
                                  [0, 164, -8192])
    # decays are clamped: du = 0 -> 0 (u still loses 1/4096), dv = 1 -> 4095
    q = fxp.float_to_fixed_lif(du=0.0, dv=1.0, vth=1.0, scale=1)
    assert (q.du, q.dv) == (0, 4095)
    assert fxp.float_to_fixed_lif(du=1.0, dv=0.0, vth=1.0, scale=1).du == 4095
    # default scale: a power of two leaving 128x headroom over vth in 24 bits
    d = fxp.float_to_fixed_lif(du=0.1, dv=0.1, vth=3.0)
    assert np.log2(d.scale) == int(np.log2(d.scale))
    assert 128 * 3.0 * d.state_scale <= fxp.V_MAX < 2 * 128 * 3.0 * d.state_scale
    # large biases use the exponent; mantissas stay in 13 bits
    b = fxp.float_to_fixed_lif(du=0.1, dv=0.1, vth=1.0, bias=[100.0, -100.0, 3e-3], scale=64)
    # 100 * 64 * 64 = 409600 = 3200 << 7 ; 0.003 * 4096 = 12.3 -> 12
    assert b.bias_exp.tolist() == [7, 7, 0]
    assert b.bias_mant.tolist() == [3200, -3200, 12]
    fxp.check_range("bias_mant", b.bias_mant, 13)
    fxp.check_range("bias_exp", b.bias_exp, 3, signed=False)
    np.testing.assert_allclose(fxp.effective_bias(b.bias_mant, b.bias_exp),
                               np.array([100.0, -100.0, 3e-3]) * 64 * 64, rtol=2e-3, atol=0.5)
    with pytest.raises(ValueError, match="vth"):
        fxp.float_to_fixed_lif(du=0.1, dv=0.1, vth=1e6, scale=1)
    with pytest.raises(ValueError, match="bias_mant"):
        fxp.float_to_fixed_lif(du=0.1, dv=0.1, vth=1.0, bias=1e5, scale=64)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fxp.float_to_fixed_lif(du=1.5, dv=0.1, vth=1.0)


@PROP
@given(st.floats(0, 1), st.floats(0, 1), st.floats(0.01, 1000),
       st.lists(st.floats(-5, 5), min_size=1, max_size=8))
def test_prop_float_to_fixed_lif_in_range(du, dv, vth, bias):
    p = fxp.float_to_fixed_lif(du, dv, vth, np.array(bias) * vth)
    fxp.check_range("du", p.du, 12, signed=False)
    fxp.check_range("dv", p.dv, 12, signed=False)
    fxp.check_range("vth", p.vth, fxp.VTH_BITS, signed=False)
    fxp.check_range("bias_mant", p.bias_mant, fxp.BIAS_MANT_BITS)
    fxp.check_range("bias_exp", p.bias_exp, fxp.BIAS_EXP_BITS, signed=False)
    # decay factors agree to 1/8192 where not clamped
    assert abs((4096 - (p.du + 1)) / 4096 - (1 - du)) <= 1 / 8192 + 1e-12 or du < 1 / 4096
    assert abs((4096 - p.dv) / 4096 - (1 - dv)) <= 1 / 8192 + 1e-12 or dv > 1 - 1 / 4096
    assert abs(p.vth / p.scale - vth) <= 0.5 / p.scale + 1e-9


@PROP
@given(st.lists(st.floats(-10, 10), min_size=1, max_size=24),
       st.sampled_from([1.0, 16.0, 64.0, 100.0]))
def test_prop_float_to_fixed_dense(ws, scale):
    w = np.array(ws).reshape(1, -1)
    d = fxp.float_to_fixed_dense(w, scale)
    assert d.num_weight_bits == 8
    assert fxp.WEIGHT_EXP_MIN <= d.weight_exp <= fxp.WEIGHT_EXP_MAX
    fxp.check_range("weights", d.weights, 9)
    # mantissas survive the fixed Dense's own clipping/truncation unchanged
    np.testing.assert_array_equal(fxp.quantize_weights(d.weights, d.num_weight_bits), d.weights)
    # w ~= m * 2**weight_exp / scale, within one mantissa step (2 for mixed)
    step = 2.0 ** d.weight_exp / scale * (2 if fxp.sign_mode(w) is fxp.SignMode.MIXED else 1)
    assert np.max(np.abs(d.float_weights - w)) <= step / 2 + 1e-12
    # exponent is the smallest one that fits (keeps precision)
    peak = np.max(np.abs(w)) * scale
    if peak > 0 and d.weight_exp > fxp.WEIGHT_EXP_MIN:
        assert peak / 2.0 ** (d.weight_exp - 1) > 254


def test_float_to_fixed_dense_values():
    d = fxp.float_to_fixed_dense([[0.5, 1.0], [0.25, 0.0]], scale=256)
    assert d.weight_exp == 1 and d.weights.tolist() == [[64, 128], [32, 0]]
    d = fxp.float_to_fixed_dense([[-0.5, 1.0]], scale=64)
    assert d.weight_exp == -1 and d.weights.tolist() == [[-64, 128]]
    d = fxp.float_to_fixed_dense([[0.0, 0.0]], scale=64)
    assert d.weight_exp == 0 and d.weights.tolist() == [[0, 0]]
    with pytest.raises(ValueError, match="weight_exp"):
        fxp.float_to_fixed_dense([[1e6]], scale=64)


def _run_float_net(s_in, w1, w2, la, lb):
    T = s_in.shape[1]
    ua, va = np.zeros(w1.shape[0]), np.zeros(w1.shape[0])
    ub, vb = np.zeros(w2.shape[0]), np.zeros(w2.shape[0])
    buf1, buf2 = np.zeros(w1.shape[0]), np.zeros(w2.shape[0])
    ca, cb = np.zeros(w1.shape[0], int), np.zeros(w2.shape[0], int)
    for t in range(T):
        a_in, buf1 = buf1, w1 @ (s_in[:, t] != 0)
        ua = ua * (1 - la["du"]) + a_in
        va = va * (1 - la["dv"]) + ua + la["bias"]
        sa = va > la["vth"]
        va[sa] = 0
        b_in, buf2 = buf2, w2 @ sa
        ub = ub * (1 - lb["du"]) + b_in
        vb = vb * (1 - lb["dv"]) + ub + lb["bias"]
        sb = vb > lb["vth"]
        vb[sb] = 0
        ca += sa
        cb += sb
    return ca, cb


def _run_fixed_net(s_in, d1, d2, fa, fb):
    T = s_in.shape[1]
    w1 = fxp.quantize_weights(d1.weights, d1.num_weight_bits)
    w2 = fxp.quantize_weights(d2.weights, d2.num_weight_bits)
    ua = va = np.zeros(w1.shape[0], np.int32)
    ub = vb = np.zeros(w2.shape[0], np.int32)
    buf1, buf2 = np.zeros(w1.shape[0], np.int32), np.zeros(w2.shape[0], np.int32)
    ca, cb = np.zeros(w1.shape[0], int), np.zeros(w2.shape[0], int)
    for t in range(T):
        a_in, buf1 = buf1, fxp.dense_step(w1, s_in[:, t], d1.weight_exp)
        ua, va, sa = fxp.lif_step(ua, va, a_in, fa.du, fa.dv, fa.vth, fa.bias_mant,
                                  fa.bias_exp, strict=True)
        b_in, buf2 = buf2, fxp.dense_step(w2, sa, d2.weight_exp)
        ub, vb, sb = fxp.lif_step(ub, vb, b_in, fb.du, fb.dv, fb.vth, fb.bias_mant,
                                  fb.bias_exp, strict=True)
        ca += sa
        cb += sb
    return ca, cb


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_converted_network_tracks_float_spike_counts(seed):
    rng = np.random.default_rng(1000 + seed)
    n_in, n_a, n_b, T = 10, 12, 6, 300
    s_in = (rng.random((n_in, T)) < 0.25).astype(np.int32)
    w1 = rng.uniform(-1.0, 2.0, (n_a, n_in))
    w2 = rng.uniform(-1.0, 2.0, (n_b, n_a))
    la = dict(du=0.25, dv=0.1, vth=10.0, bias=rng.uniform(-0.2, 0.5, n_a))
    lb = dict(du=0.4, dv=0.2, vth=12.0, bias=rng.uniform(-0.2, 0.2, n_b))
    fa = fxp.float_to_fixed_lif(la["du"], la["dv"], la["vth"], la["bias"])
    fb = fxp.float_to_fixed_lif(lb["du"], lb["dv"], lb["vth"], lb["bias"])
    d1 = fxp.float_to_fixed_dense(w1, fa.scale)
    d2 = fxp.float_to_fixed_dense(w2, fb.scale)
    fla, flb = _run_float_net(s_in, w1, w2, la, lb)
    fxa, fxb = _run_fixed_net(s_in, d1, d2, fa, fb)
    for flt, fix in ((fla, fxa), (flb, fxb)):
        assert 0.05 * T * flt.size < flt.sum() < 0.9 * T * flt.size  # a non-trivial regime
        assert np.all(np.abs(flt - fix) <= np.maximum(4, 0.05 * flt)), (flt, fix)
        assert abs(int(flt.sum()) - int(fix.sum())) <= max(5, 0.02 * flt.sum())
