"""Loihi-style integer arithmetic shared by every bit-accurate (``fixed_pt``) model.

All rules that decide a bit of a fixed-point result live here, so that the LIF,
Dense, Sparse, ... models and the emulated chip cannot drift apart. Everything is
plain numpy, vectorised over neurons/synapses, and free of imports from the rest
of lava_lite.

The rules reproduce Lava 0.10 (``PyLifModelBitAcc`` / ``PyDenseModelBitAcc``)
bit for bit; ``tests/test_fixed_point.py`` replays the recorded Lava traces with
these functions only.

Units
-----
* Synaptic input ``a_in`` and the threshold ``vth`` are given in *input units*;
  both are shifted left by 6 (:data:`ACTIVATION_SHIFT`, :data:`VTH_SHIFT`) to get
  *state units*, the units of the 24-bit LIF state ``u`` and ``v``.
* The bias is already in state units: ``bias_mant << bias_exp`` (no shift by 6).
* Decay constants are 12-bit fractions: a constant ``d`` multiplies the state by
  ``(4096 - d) / 4096``.

Intermediate products are formed in int64; LIF states are returned as int32 and
spikes as bool.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

#: Width of the neuron state registers u and v.
STATE_BITS = 24
#: 2**23: u wraps once it goes above this (or reaches its negative); see wrap_state.
STATE_LIMIT = 1 << (STATE_BITS - 1)
#: 2**24: the value added to or subtracted from u when it wraps.
STATE_MODULUS = 1 << STATE_BITS
#: v saturates to [V_MIN, V_MAX] (symmetric, one short of the 24-bit range).
V_MAX = STATE_LIMIT - 1
V_MIN = -V_MAX

#: Decay constants are fractions of 2**DECAY_BITS.
DECAY_BITS = 12
DECAY_UNITY = 1 << DECAY_BITS  # 4096: a decay constant of 4096 would zero the state
DECAY_MAX = DECAY_UNITY - 1  # largest representable du/dv (12 bits unsigned)
#: Lava adds this to du before decaying u ("ds_offset") ...
DU_OFFSET = 1
#: ... and this to dv before decaying v ("dm_offset").
DV_OFFSET = 0

#: Synaptic input is shifted left by this before it enters u.
ACTIVATION_SHIFT = 6
#: The threshold mantissa is shifted left by this to compare with v.
VTH_SHIFT = 6

#: Register widths of the LIF parameters (ranges used by check_range).
VTH_BITS = 17  # unsigned: 0 .. 2**17 - 1, so vth << 6 stays below 2**23
BIAS_MANT_BITS = 13  # signed: -4096 .. 4095
BIAS_EXP_BITS = 3  # unsigned: 0 .. 7 (effective_bias also accepts negative exponents)

#: Weights are clipped to 8-bit mantissas.
WEIGHT_BITS = 8
#: Range of the shared weight exponent (Loihi's 4-bit signed weight exponent):
#: chosen by float_to_fixed_dense, required by the fixed-point Dense/Sparse models.
WEIGHT_EXP_MIN = -8
WEIGHT_EXP_MAX = 7
#: Range of ``num_weight_bits`` (bits of the 8-bit mantissa that are kept).
NUM_WEIGHT_BITS_MIN = 1
NUM_WEIGHT_BITS_MAX = WEIGHT_BITS

#: Widest graded spike payload (``num_message_bits``) of a synapse model: its int32 ports.
MESSAGE_BITS_MAX = 32
#: Widest graded spike payload a neuromorphic core's synapses carry (Loihi 2: 24 bits).
GRADED_SPIKE_BITS = 24


class SignMode(enum.Enum):
    """Sign mode of a weight matrix; decides clipping range and truncation."""

    EXCITATORY = "excitatory"
    INHIBITORY = "inhibitory"
    MIXED = "mixed"


def _as_sign_mode(mode) -> SignMode:
    """Accept a SignMode or its (case-insensitive) name/value."""
    if isinstance(mode, SignMode):
        return mode
    if isinstance(mode, str):
        key = mode.strip().lower()
        for member in SignMode:
            if key in (member.value, member.name.lower()):
                return member
    raise ValueError(
        f"unknown sign mode {mode!r}; expected one of "
        f"{[m.value for m in SignMode]}")


class FixedPointOverflowError(OverflowError):
    """A state left its register range in strict mode.

    Attributes: ``variable`` ('u' or 'v'), ``indices`` (flat neuron indices) and
    ``values`` (the out-of-range values before wrapping/saturation). Callers may
    catch it and re-raise with the Process name.
    """

    def __init__(self, variable: str, indices, values, rule: str):
        self.variable = variable
        self.indices = np.asarray(indices, dtype=np.int64)
        self.values = np.asarray(values, dtype=np.int64)
        shown = ", ".join(f"neuron {i}: {v}" for i, v in
                          zip(self.indices[:5].tolist(), self.values[:5].tolist()))
        more = f" (+{len(self.indices) - 5} more)" if len(self.indices) > 5 else ""
        super().__init__(
            f"fixed-point overflow of '{variable}' ({rule}) at {shown}{more}")


# ---------------------------------------------------------------------------
# Range validation
# ---------------------------------------------------------------------------

def bit_range(bits: int, signed: bool = True) -> tuple[int, int]:
    """Inclusive (lo, hi) of a two's-complement (signed) or unsigned register."""
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or bits < 1:
        raise ValueError(f"bits must be an int >= 1, got {bits!r}")
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def check_range(name: str, value, bits: int, signed: bool = True):
    """Raise ValueError unless every element of ``value`` is an integer in the
    ``bits``-wide register range; return ``value`` unchanged otherwise.

    The message names the parameter, the first offending value (and its index
    for arrays) and the allowed range, e.g.
    ``du = 5000 is out of range: allowed [0, 4095] (12-bit unsigned)``.
    Callers add the Process name.
    """
    lo, hi = bit_range(bits, signed)
    kind = f"{bits}-bit {'signed' if signed else 'unsigned'}"
    arr = np.asarray(value)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer)
                                 or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}] ({kind}), got {value!r}")
    if np.issubdtype(arr.dtype, np.floating):
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if np.any(bad):
            where = _describe_first(arr, bad)
            raise ValueError(f"{name}{where} must be an integer in [{lo}, {hi}] ({kind})")
    bad = (arr < lo) | (arr > hi)
    if np.any(bad):
        where = _describe_first(arr, bad)
        raise ValueError(
            f"{name}{where} is out of range: allowed [{lo}, {hi}] ({kind})")
    return value


def _describe_first(arr: np.ndarray, bad: np.ndarray) -> str:
    """' = 5' for scalars, '[i, j] = 5' for the first bad element of an array."""
    if arr.ndim == 0:
        return f" = {arr.item()!r}"
    idx = np.unravel_index(int(np.flatnonzero(bad)[0]), arr.shape)
    idx_txt = ", ".join(str(i) for i in idx)
    return f"[{idx_txt}] = {arr[idx].item()!r}"


# ---------------------------------------------------------------------------
# Elementary rules
# ---------------------------------------------------------------------------

def decay(x, decay_const):
    """Multiply ``x`` by ``(4096 - decay_const) / 4096``, rounding toward zero.

    The product is formed in int64 and its magnitude shifted right by 12, so
    that positive and negative states decay symmetrically
    (``sign(p) * (|p| >> 12)``, not a floor). ``decay_const`` is used as given
    (LIF u passes ``du + 1``, v passes ``dv``). Returns int64.
    """
    p = np.asarray(x, dtype=np.int64) * (DECAY_UNITY - np.asarray(decay_const, dtype=np.int64))
    return np.sign(p) * (np.abs(p) >> DECAY_BITS)


def wrap_state(x):
    """Lava 0.10's single 24-bit wrap of the current u.

    ``x > 2**23`` becomes ``x - 2**24``; ``x <= -2**23`` becomes ``x + 2**24``;
    everything else is kept. This is *not* two's-complement wrapping: +2**23 is
    kept as is (it is outside the signed 24-bit range) while -2**23 (inside it)
    becomes +2**23. The wrap is applied once, so inputs more than one modulus
    out of range stay out of range. Returns int64.
    """
    x = np.asarray(x, dtype=np.int64)
    return np.where(x > STATE_LIMIT, x - STATE_MODULUS,
                    np.where(x <= -STATE_LIMIT, x + STATE_MODULUS, x))


def wrap_twos_complement(x, bits: int = STATE_BITS):
    """Plain two's-complement wrap to ``bits`` signed bits:
    ``((x + 2**(bits-1)) mod 2**bits) - 2**(bits-1)`` (used e.g. by the Conv
    output, unlike :func:`wrap_state`). Returns int64."""
    half = np.int64(1) << (bits - 1)
    x = np.asarray(x, dtype=np.int64)
    return np.mod(x + half, np.int64(1) << bits) - half


def saturate_voltage(v):
    """Clip v to ``[-(2**23 - 1), 2**23 - 1]`` (v saturates, it never wraps).
    Returns int64."""
    return np.clip(np.asarray(v, dtype=np.int64), V_MIN, V_MAX)


def shift_left_signed(x, shift):
    """``x << shift`` where ``shift >= 0``, arithmetic ``x >> -shift`` (floor)
    where it is negative; elementwise, int64."""
    x = np.asarray(x, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    return np.where(shift >= 0,
                    np.left_shift(x, np.maximum(shift, 0)),
                    np.right_shift(x, np.maximum(-shift, 0)))


def effective_bias(bias_mant, bias_exp):
    """Bias in state units: ``bias_mant << bias_exp`` (arithmetic right shift
    for negative exponents). Not shifted by 6: the bias mantissa is already in
    state units. Returns int64."""
    return shift_left_signed(bias_mant, bias_exp)


def effective_threshold(vth):
    """Threshold in state units: ``vth << 6``. Returns int64."""
    return np.left_shift(np.asarray(vth, dtype=np.int64), VTH_SHIFT)


def scale_activation(a_in):
    """Synaptic input in state units: ``a_in << 6``. Returns int64."""
    return np.left_shift(np.asarray(a_in, dtype=np.int64), ACTIVATION_SHIFT)


# ---------------------------------------------------------------------------
# Overflow detection (for a strict mode)
# ---------------------------------------------------------------------------

def would_overflow_u(u_pre):
    """Boolean mask of pre-wrap current values that :func:`wrap_state` changes
    (``> 2**23`` or ``<= -2**23``)."""
    u_pre = np.asarray(u_pre, dtype=np.int64)
    return (u_pre > STATE_LIMIT) | (u_pre <= -STATE_LIMIT)


def would_saturate_v(v_pre):
    """Boolean mask of pre-clip voltages that :func:`saturate_voltage` changes."""
    v_pre = np.asarray(v_pre, dtype=np.int64)
    return (v_pre > V_MAX) | (v_pre < V_MIN)


def overflow_indices(mask):
    """Flat indices (int64 array, ascending) where ``mask`` is True."""
    return np.flatnonzero(np.asarray(mask, dtype=bool))


def first_overflow_index(mask):
    """Flat index of the first True in ``mask``, or None if there is none."""
    idx = overflow_indices(mask)
    return int(idx[0]) if idx.size else None


# ---------------------------------------------------------------------------
# LIF
# ---------------------------------------------------------------------------

def lif_subthreshold(u, v, a_in, du, dv, bias_mant, bias_exp, *, strict=False):
    """Sub-threshold update of the bit-accurate CUBA LIF; returns new (u, v)
    as int32 (before the spike test and reset).

        u <- wrap_state(decay(u, du + 1) + (a_in << 6))
        v <- saturate_voltage(decay(v, dv) + u_new + (bias_mant << bias_exp))

    u is updated first and v uses the new u. The inputs are not modified.
    With ``strict=True`` a :class:`FixedPointOverflowError` is raised (naming
    the flat neuron indices) instead of wrapping u or saturating v.
    """
    u_pre = decay(u, np.asarray(du, dtype=np.int64) + DU_OFFSET) + scale_activation(a_in)
    if strict:
        _raise_if(would_overflow_u(u_pre), u_pre, "u", "24-bit wrap")
    u_new = wrap_state(u_pre)
    v_pre = (decay(v, np.asarray(dv, dtype=np.int64) + DV_OFFSET) + u_new
             + effective_bias(bias_mant, bias_exp))
    if strict:
        _raise_if(would_saturate_v(v_pre), v_pre, "v", "saturation")
    v_new = saturate_voltage(v_pre)
    return u_new.astype(np.int32), v_new.astype(np.int32)


def _raise_if(mask, values, variable, rule):
    mask = np.asarray(mask)
    if np.any(mask):
        idx = overflow_indices(mask)
        raise FixedPointOverflowError(variable, idx, np.ravel(values)[idx], rule)


def spike_and_reset(v, vth):
    """Strict threshold test ``v > (vth << 6)``; returns (v with spiking neurons
    reset to 0 as int32, spikes as bool). u is not reset."""
    v = np.asarray(v)
    spikes = v > effective_threshold(vth)
    v_new = np.where(spikes, 0, v).astype(np.int32)
    return v_new, spikes


def lif_step(u, v, a_in, du, dv, vth, bias_mant, bias_exp, *, strict=False):
    """One time step of the bit-accurate CUBA LIF (Lava ``PyLifModelBitAcc``).

    Returns new arrays ``(u, v, spikes)`` (int32, int32, bool); the inputs are
    never mutated. ``a_in`` is the synaptic input of this same step in input
    units. u decays with ``du + 1`` and v with ``dv`` (Lava's offsets), see
    :func:`lif_subthreshold`; then ``spikes = v > vth << 6`` and v is set to 0
    where it spiked. ``strict`` raises instead of wrapping/saturating.
    """
    u_new, v_new = lif_subthreshold(u, v, a_in, du, dv, bias_mant, bias_exp, strict=strict)
    v_new, spikes = spike_and_reset(v_new, vth)
    return u_new, v_new, spikes


# ---------------------------------------------------------------------------
# Weights and Dense
# ---------------------------------------------------------------------------

def sign_mode(weights) -> SignMode:
    """EXCITATORY if all weights >= 0 (including an all-zero matrix),
    INHIBITORY if all <= 0, MIXED otherwise."""
    w = np.asarray(weights)
    if w.size == 0 or np.min(w) >= 0:
        return SignMode.EXCITATORY
    if np.max(w) <= 0:
        return SignMode.INHIBITORY
    return SignMode.MIXED


def weight_clip_range(mode, num_bits: int = WEIGHT_BITS) -> tuple[int, int]:
    """Inclusive clip range of a sign mode: excitatory [0, 2**b - 1],
    inhibitory [-(2**b - 1), 0], mixed [-2**b, 2**b - 1]."""
    mode = _as_sign_mode(mode)
    top = (1 << num_bits) - 1
    if mode is SignMode.EXCITATORY:
        return 0, top
    if mode is SignMode.INHIBITORY:
        return -top, 0
    return -(1 << num_bits), top


def clip_weights(weights, mode, num_bits: int = WEIGHT_BITS):
    """Clip weights to the ``num_bits`` mantissa range of their sign mode
    (see :func:`weight_clip_range`). Returns int64."""
    lo, hi = weight_clip_range(mode, num_bits)
    return np.clip(np.asarray(weights, dtype=np.int64), lo, hi)


def truncation_bits(mode, num_weight_bits: int, max_bits: int = WEIGHT_BITS) -> int:
    """Number of low bits dropped: ``8 - num_weight_bits`` plus one for MIXED
    (the sign takes one of the mantissa bits)."""
    mode = _as_sign_mode(mode)
    k = max_bits - int(num_weight_bits) + (1 if mode is SignMode.MIXED else 0)
    if k < 0:
        raise ValueError(
            f"num_weight_bits = {num_weight_bits} is out of range: allowed "
            f"[0, {max_bits}]")
    return k


def truncate_weights(weights, mode, num_weight_bits: int):
    """Drop the low :func:`truncation_bits` bits: ``(w >> k) << k`` with
    arithmetic shifts, as int32.

    For MIXED and EXCITATORY weights this floors toward -inf. INHIBITORY
    weights are truncated on their magnitude, i.e. ``-((-w >> k) << k)``, which
    rounds them toward zero: Lava 0.10 negates inhibitory weights around the
    shift (reference README section 2.2; no recorded trace has an all-inhibitory
    matrix, so this one rule is pinned by the source, not by data). So with
    k = 2: mixed -5 -> -8 but inhibitory -5 -> -4.
    """
    mode = _as_sign_mode(mode)
    k = truncation_bits(mode, num_weight_bits)
    w = np.asarray(weights, dtype=np.int64)
    if mode is SignMode.INHIBITORY:
        return (-np.left_shift(np.right_shift(-w, k), k)).astype(np.int32)
    return np.left_shift(np.right_shift(w, k), k).astype(np.int32)


def quantize_weights(weights, num_weight_bits: int = WEIGHT_BITS, mode=None):
    """What a fixed-point Dense does to its weights once: determine the sign
    mode (unless given), clip to 8 bits, truncate to ``num_weight_bits``.
    Returns int32."""
    mode = sign_mode(weights) if mode is None else _as_sign_mode(mode)
    return truncate_weights(clip_weights(weights, mode, WEIGHT_BITS), mode, num_weight_bits)


def check_weights_fit(weights, name: str = "weights"):
    """Raise ValueError unless clipping (:func:`clip_weights`) would leave every
    weight unchanged, i.e. each is an integer in the 8-bit range of the matrix's
    own sign mode: [0, 255] if all >= 0, [-255, 0] if all <= 0, else [-256, 255].

    For users who ask for no clipping. The message names ``name``, the first
    offending value (with its index) and the allowed range. Returns ``weights``.
    """
    w = np.asarray(weights)
    if w.size == 0:
        return weights
    mode = sign_mode(w)
    lo, hi = weight_clip_range(mode, WEIGHT_BITS)
    if np.issubdtype(w.dtype, np.floating):
        bad = ~np.isfinite(w) | (w != np.round(w))
        if np.any(bad):
            raise ValueError(f"{name}{_describe_first(w, bad)} must be an integer in "
                             f"[{lo}, {hi}] ({WEIGHT_BITS}-bit {mode.value} weights)")
    bad = (w < lo) | (w > hi)
    if np.any(bad):
        raise ValueError(
            f"{name}{_describe_first(w, bad)} is out of range: allowed [{lo}, {hi}] "
            f"({WEIGHT_BITS}-bit {mode.value} weights; a mixed-sign matrix allows "
            f"[-{1 << WEIGHT_BITS}, {(1 << WEIGHT_BITS) - 1}])")
    return weights


def shift_by_exponent(acc, weight_exp):
    """Scale the summed activation by the shared weight exponent: ``acc << e``
    for e > 0, arithmetic (floor) ``acc >> -e`` for e < 0. Applied to the sum,
    not to each weight. Returns int64."""
    return shift_left_signed(acc, weight_exp)


def dense_accumulate(weights_q, s_in, graded: bool = False):
    """Integer synaptic sum before the exponent shift (int64).

    Binary mode: every non-zero input counts as a spike (Lava casts to bool, so
    a -1 spike adds +W), giving the sum of the columns of active inputs.
    Graded mode: the matrix product ``W @ s_in``.
    """
    w = np.asarray(weights_q, dtype=np.int64)
    s = np.asarray(s_in)
    if graded:
        return w @ s.astype(np.int64)
    return w @ (s != 0).astype(np.int64)


def synaptic_payload(s_in, graded: bool = False):
    """What one input contributes as a multiplier of its weights (int64):
    1 for every non-zero input in binary mode (Lava casts to bool), the payload
    itself in graded mode."""
    s = np.asarray(s_in)
    return s.astype(np.int64) if graded else (s != 0).astype(np.int64)


def sparse_step(matrix_q, s_in, weight_exp: int = 0, graded: bool = False):
    """:func:`dense_step` for a sparse weight matrix (any object whose ``@``
    with an int64 vector gives the exact int64 product, e.g. a scipy CSR matrix
    with int64 quantized data). Numerically identical to ``dense_step`` on the
    same matrix with its zeros filled in. int32 result."""
    acc = np.asarray(matrix_q @ synaptic_payload(s_in, graded), dtype=np.int64)
    return shift_by_exponent(acc, weight_exp).astype(np.int32)


def dense_step(weights_q, s_in, weight_exp: int = 0, graded: bool = False):
    """Activation a fixed-point Dense computes from this step's input
    (it is delivered one step later): accumulate (:func:`dense_accumulate`)
    then :func:`shift_by_exponent`. ``weights_q`` must already be quantized
    (:func:`quantize_weights`). int64 arithmetic, int32 result."""
    return shift_by_exponent(dense_accumulate(weights_q, s_in, graded), weight_exp).astype(np.int32)


# ---------------------------------------------------------------------------
# Float -> fixed conversion
# ---------------------------------------------------------------------------
#
# Scale relation. A float LIF and its fixed version describe the same dynamics
# if every quantity is multiplied by one factor. Let ``scale`` be the number of
# fixed *input units* per float unit (input units are those of a_in and of the
# vth mantissa; state units are 64 times finer):
#
#     vth_fixed              = round(vth * scale)            (compared as vth_fixed << 6)
#     u_fixed, v_fixed       ~ u_float * scale * 64,  v_float * scale * 64
#     bias_mant << bias_exp  ~ bias * scale * 64
#     a_in_fixed             ~ a_in_float * scale             (enters u as a_in << 6)
#
# A Dense with float weights w feeding that LIF therefore needs
# ``m * 2**weight_exp ~= w * scale``, i.e. ``w ~= m * 2**weight_exp / scale``.
# The decays are scale free: (1 - du) ~ (4096 - (du_fixed + 1)) / 4096 with
# du_fixed = round(du * 4096) - 1, and (1 - dv) ~ (4096 - dv_fixed) / 4096 with
# dv_fixed = round(dv * 4096). Spikes are 0/1 in both worlds, so a Dense into
# LIF b only has to use LIF b's scale.
#
# The scale trades precision against headroom: u wraps beyond 2**23 and v
# saturates at 2**23 - 1 state units, i.e. at 2**17 / scale float units.
# The default picks the largest power of two that leaves ``headroom`` (128)
# times max(|vth|, |bias|) below that limit, so vth_fixed lies in
# [2**9, 2**10) when vth dominates and one state unit is ~vth / 2**15.
# Rounding errors are then: threshold < 1/1024 of vth (once), decays 1/8192
# relative, the toward-zero rounding of each decay < 1 state unit per step,
# weights half a mantissa step (1/255 of the largest weight, 1/127 if mixed),
# and for a negative weight_exp the floor of the summed input (< 1 input unit
# per step). The spike trains of a converted network therefore track the float
# ones closely but not exactly (a tie broken differently shifts one spike).


def choose_scale(max_abs_state: float) -> float:
    """Largest power of two ``scale`` with ``max_abs_state * scale * 64`` at
    most ``2**23 - 1`` (the v/u register limit); ``max_abs_state`` in float
    units."""
    if not (max_abs_state > 0 and math.isfinite(max_abs_state)):
        raise ValueError(f"max_abs_state must be a positive finite number, got {max_abs_state!r}")
    limit = V_MAX / (max_abs_state * (1 << ACTIVATION_SHIFT))
    return 2.0 ** math.floor(math.log2(limit))


@dataclass(frozen=True, eq=False)
class FixedLifParams:
    """Fixed-point LIF parameters converted from float ones; ``scale`` is the
    number of fixed input units per float unit (see module notes)."""

    du: int
    dv: int
    vth: int
    bias_mant: np.ndarray
    bias_exp: np.ndarray
    scale: float

    @property
    def state_scale(self) -> float:
        """Fixed state units per float unit (``scale * 64``)."""
        return self.scale * (1 << ACTIVATION_SHIFT)

    def lif_params(self) -> dict:
        """Keyword arguments of ``LIF(...)``: du, dv, vth, bias_mant, bias_exp."""
        return dict(du=self.du, dv=self.dv, vth=self.vth, bias_mant=self.bias_mant,
                    bias_exp=self.bias_exp)


@dataclass(frozen=True, eq=False)
class FixedDenseParams:
    """Fixed-point Dense parameters: 8-bit mantissas (already clipped and
    truncated, so :func:`quantize_weights` leaves them unchanged), the shared
    exponent and the weight precision."""

    weights: np.ndarray
    weight_exp: int
    num_weight_bits: int
    scale: float

    def dense_params(self) -> dict:
        """Keyword arguments of ``Dense(...)`` / ``Sparse(...)``: weights, weight_exp,
        num_weight_bits."""
        return dict(weights=self.weights, weight_exp=self.weight_exp,
                    num_weight_bits=self.num_weight_bits)

    @property
    def float_weights(self) -> np.ndarray:
        """The float weights these mantissas represent: m * 2**weight_exp / scale."""
        return self.weights.astype(np.float64) * 2.0 ** self.weight_exp / self.scale


def float_to_fixed_decay(d: float, offset: int) -> int:
    """12-bit decay constant whose fixed decay ``(4096 - (c + offset)) / 4096``
    best matches the float decay ``1 - d``: ``c = round(d * 4096) - offset``,
    clamped to [0, 4095]. Clamping means du = 0 still decays u by 1/4096 per
    step and dv = 1 keeps 1/4096 of v."""
    if not (0.0 <= d <= 1.0):
        raise ValueError(f"decay constant must be in [0, 1], got {d!r}")
    return int(min(max(round(d * DECAY_UNITY) - offset, 0), DECAY_MAX))


def float_to_fixed_bias(bias, state_scale: float):
    """Split ``bias * state_scale`` into ``(bias_mant, bias_exp)`` per neuron:
    the smallest exponent in [0, 7] whose rounded mantissa fits 13 signed bits
    (so ``bias_mant << bias_exp ~= bias * state_scale``). Returns int32 arrays
    with the shape of ``bias``; raises ValueError if even exponent 7 is too
    small."""
    target = np.asarray(bias, dtype=np.float64) * state_scale
    lo, hi = bit_range(BIAS_MANT_BITS, signed=True)
    exp_max = (1 << BIAS_EXP_BITS) - 1
    # smallest e with |target| / 2**e rounding into [lo, hi]; 8 candidates at most
    exp = np.full(target.shape, -1, dtype=np.int64)
    mant = np.zeros(target.shape, dtype=np.float64)
    for e in range(exp_max + 1):
        m = np.rint(target / 2.0 ** e)
        take = (exp < 0) & (m >= lo) & (m <= hi)
        exp = np.where(take, e, exp)
        mant = np.where(take, m, mant)
    if np.any(exp < 0):
        check_range("bias_mant", np.where(exp < 0, np.rint(target / 2.0 ** exp_max), 0),
                    BIAS_MANT_BITS, signed=True)
    return mant.astype(np.int32), exp.astype(np.int32)


def float_to_fixed_lif(du: float, dv: float, vth: float, bias=0.0, *,
                       scale: float | None = None, headroom: float = 128.0) -> FixedLifParams:
    """Convert float LIF parameters to bit-accurate ones (see the module notes
    on the scale relation).

    * ``du_fixed = round(du * 4096) - 1`` and ``dv_fixed = round(dv * 4096)``,
      clamped to [0, 4095], so that the fixed decays (with Lava's +1 offset on
      du) equal the float ones to 1/8192.
    * ``vth_fixed = round(vth * scale)``; it is compared with v as vth << 6.
    * bias (float, per neuron or scalar) becomes ``bias_mant << bias_exp``
      ~= bias * scale * 64, in state units.
    * ``scale`` (fixed input units per float unit) defaults to
      :func:`choose_scale` of ``headroom * max(|vth|, |bias|)``; pass the same
      scale to :func:`float_to_fixed_dense` for every Dense feeding this LIF.

    Raises ValueError if a converted parameter does not fit its register.
    """
    if scale is None:
        max_bias = float(np.max(np.abs(np.asarray(bias, dtype=np.float64)), initial=0.0))
        ref = max(abs(float(vth)), max_bias)
        if ref == 0:
            raise ValueError("cannot choose a scale when vth and bias are both 0; pass scale=")
        scale = choose_scale(headroom * ref)
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"scale must be a positive finite number, got {scale!r}")
    du_f = float_to_fixed_decay(du, DU_OFFSET)
    dv_f = float_to_fixed_decay(dv, DV_OFFSET)
    vth_f = int(round(vth * scale))
    check_range("vth", vth_f, VTH_BITS, signed=False)
    bias_mant, bias_exp = float_to_fixed_bias(bias, scale * (1 << ACTIVATION_SHIFT))
    return FixedLifParams(du=du_f, dv=dv_f, vth=vth_f, bias_mant=bias_mant,
                          bias_exp=bias_exp, scale=float(scale))


def float_to_fixed_dense(weights, scale: float = 1.0) -> FixedDenseParams:
    """Convert float weights to 8-bit mantissas ``m`` and a shared exponent
    with ``m * 2**weight_exp ~= w * scale`` (``scale`` of the target LIF, see
    :func:`float_to_fixed_lif`), i.e. ``w ~= m * 2**weight_exp / scale``.

    ``weight_exp`` is the smallest exponent in [-8, 7] for which the largest
    |w| * scale / 2**weight_exp fits the mantissa range of the sign mode
    (255 for excitatory/inhibitory, 254 for mixed), which keeps the most
    precision. ``num_weight_bits`` is 8. Mixed-sign weights are rounded to even
    mantissas because the fixed Dense drops their lowest bit anyway; the
    returned mantissas are therefore invariant under :func:`quantize_weights`.
    """
    w = np.asarray(weights, dtype=np.float64)
    if not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite")
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"scale must be a positive finite number, got {scale!r}")
    mode = sign_mode(w)
    step = 1 << truncation_bits(mode, WEIGHT_BITS)  # 2 for mixed, else 1
    limit = ((1 << WEIGHT_BITS) - 1) // step * step  # 254 mixed, 255 otherwise
    target = w * scale
    peak = float(np.max(np.abs(target), initial=0.0))
    if peak == 0.0:
        exp = 0
    else:
        ratio = peak / limit  # may underflow to 0 for subnormal weights
        exp = (WEIGHT_EXP_MIN if ratio <= 2.0 ** WEIGHT_EXP_MIN
               else max(math.ceil(math.log2(ratio)), WEIGHT_EXP_MIN))
        # guard against log2 rounding at exact powers of two
        while exp > WEIGHT_EXP_MIN and peak / 2.0 ** (exp - 1) <= limit:
            exp -= 1
        while peak / 2.0 ** exp > limit:
            exp += 1
    if exp > WEIGHT_EXP_MAX:
        raise ValueError(
            f"weight_exp = {exp} is out of range: allowed [{WEIGHT_EXP_MIN}, "
            f"{WEIGHT_EXP_MAX}] (max |w| = {peak / scale!r} too large for scale {scale!r})")
    mant = np.rint(target / (2.0 ** exp * step)) * step
    mant = quantize_weights(mant.astype(np.int64), WEIGHT_BITS)
    return FixedDenseParams(weights=mant, weight_exp=int(exp),
                            num_weight_bits=WEIGHT_BITS, scale=float(scale))


def fixed_state_to_float(x, scale: float):
    """Fixed state units (u, v) back to float units: ``x / (scale * 64)``."""
    return np.asarray(x, dtype=np.float64) / (scale * (1 << ACTIVATION_SHIFT))
