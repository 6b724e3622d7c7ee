"""The benchmark networks: their data, how lava_lite builds them, and the plain numpy loops.

Every network here exists three times, built from the same arrays:

* in lava_lite (``build_chain``, ``build_sparse``), through the public API;
* as a plain numpy loop (``NumpyChain``, ``NumpySparse``) doing the same work per step
  (ring-buffer read, synaptic product, LIF update, ring-buffer write) with no framework
  around it: the limit a framework can approach;
* in Lava 0.10 (``lava_bridge.py``), from the same arrays saved to an ``.npz``.

A *chain* of K stages is ``SourceRingBuffer -> (Dense -> LIF) x K -> SinkRingBuffer``; K = 1 is
the 4-Process network of issue 7. Dense delivers at step t + 1 what it received at step t,
LIF uses its input in the step it arrives, so a K-stage chain and its numpy loop are
step-for-step identical (the loop keeps each Dense's last input as its one-step delay).
"""
from __future__ import annotations

import json
import os

import numpy as np

# Input spike probability and the LIF parameters of every stage (float units).
INPUT_RATE = 0.1
SOURCE_PERIOD = 100  # columns of the source ring buffer
SINK_BUFFER = 100  # columns of the sink ring buffer
DU, DV, VTH = 0.1, 0.1, 1.0
WEIGHT_GAIN = 0.1  # weights ~ N(0, 1) * gain / sqrt(expected active inputs): 10-30 % rates


def chain_data(n: int, stages: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Source spikes (n, SOURCE_PERIOD) and one (n, n) weight matrix per stage."""
    rng = np.random.default_rng(seed)
    data = {"source": (rng.random((n, SOURCE_PERIOD)) < INPUT_RATE).astype(np.float64)}
    for k in range(stages):
        data[f"w{k}"] = rng.normal(0.0, 1.0, (n, n)) * (WEIGHT_GAIN / np.sqrt(n * INPUT_RATE))
    return data


def num_stages(data: dict) -> int:
    return sum(1 for key in data if key.startswith("w"))


# -- lava_lite ---------------------------------------------------------------------------------
class ChainNet:
    """The lava_lite Processes of a chain, and the Monitor if one was asked for."""

    def __init__(self, data: dict, monitor_steps: int | None = None):
        from lava_lite.proc_lib import LIF, Dense, Monitor, SinkRingBuffer, SourceRingBuffer

        n = data["source"].shape[0]
        self.source = SourceRingBuffer(data=data["source"], name="source")
        self.lifs, self.denses = [], []
        previous = self.source.s_out
        for k in range(num_stages(data)):
            dense = Dense(weights=data[f"w{k}"], name=f"dense{k}")
            lif = LIF(shape=(n,), du=DU, dv=DV, vth=VTH, name=f"lif{k}")
            previous.connect(dense.s_in)
            dense.a_out.connect(lif.a_in)
            previous = lif.s_out
            self.denses.append(dense)
            self.lifs.append(lif)
        self.sink = SinkRingBuffer(shape=(n,), buffer=SINK_BUFFER, name="sink")
        previous.connect(self.sink.a_in)
        self.monitor = None
        if monitor_steps is not None:
            self.monitor = Monitor(name="monitor")
            self.monitor.probe(self.lifs[0].v, monitor_steps)

    @property
    def num_processes(self) -> int:
        return 2 + 2 * len(self.lifs)

    def run(self, steps: int, run_cfg) -> None:
        from lava_lite import RunSteps

        self.source.run(condition=RunSteps(num_steps=steps), run_cfg=run_cfg)

    def num_workers(self) -> int | None:
        session = self.source._session
        return None if session is None else session.plan.num_workers

    def stop(self) -> None:
        self.source.stop()


# -- numpy -------------------------------------------------------------------------------------
class NumpyChain:
    """The same chain as a plain numpy loop: per step and stage one dense product (of the
    stage's input one step ago), the LIF update, and the source/sink ring-buffer reads and
    writes. The same numpy calls as the float models (in-place arithmetic with per-neuron
    factors, ``np.dot``, ``np.putmask``), in the same order, so the sink matches lava_lite bit
    for bit and the ratio measures what the framework adds, not a different arithmetic."""

    def __init__(self, data: dict, record_v_steps: int | None = None):
        self.source = data["source"]
        n = self.source.shape[0]
        stages = num_stages(data)
        self.weights = [np.ascontiguousarray(data[f"w{k}"]) for k in range(stages)]
        self.u = [np.zeros(n) for _ in range(stages)]
        self.v = [np.zeros(n) for _ in range(stages)]
        self.delayed = [np.zeros(n) for _ in range(stages)]  # each Dense's input of t - 1
        self.sink = np.zeros((n, SINK_BUFFER))
        self.bias = np.zeros(n)
        self.keep_u, self.keep_v = np.full(n, 1 - DU), np.full(n, 1 - DV)
        self.vth = np.full(n, VTH)
        self.step = 0
        self.record = None if record_v_steps is None else np.zeros((record_v_steps, n))

    def run(self, steps: int) -> None:
        source, sink, bias = self.source, self.sink, self.bias
        keep_u, keep_v, vth = self.keep_u, self.keep_v, self.vth
        period = source.shape[1]
        stages = range(len(self.weights))
        for t in range(self.step + 1, self.step + steps + 1):
            x = source[:, (t - 1) % period]
            for k in stages:
                u, v, delayed = self.u[k], self.v[k], self.delayed[k]
                a = np.dot(self.weights[k], delayed)  # what Dense sends at t
                delayed[:] = x  # Dense's input of this step, delivered at t + 1
                u *= keep_u
                u += a
                v *= keep_v
                v += u
                v += bias
                spikes = v > vth
                np.putmask(v, spikes, 0)
                x = spikes
            sink[:, (t - 1) % SINK_BUFFER] = x
            if self.record is not None and t <= self.record.shape[0]:
                self.record[t - 1] = self.v[0]
        self.step += steps


# -- 1,000,000 neurons with Sparse synapses (fixed point) ---------------------------------------
SPARSE_DU, SPARSE_DV, SPARSE_VTH = 409, 409, 100  # 12-bit decays; vth in input units
DECAY_UNITY, DECAY_BITS, ACTIVATION_SHIFT, VTH_SHIFT = 4096, 12, 6, 6
STATE_LIMIT, STATE_MODULUS, V_MAX = 1 << 23, 1 << 24, (1 << 23) - 1


def sparse_data(n: int, fan_in: int, seed: int = 0) -> dict:
    """A recurrent (n, n) CSR matrix with ``fan_in`` synapses per neuron (even integers in
    [-16, 16], so 8-bit mixed-sign quantization leaves them unchanged) and per-neuron biases
    that make a fraction of the population fire on its own."""
    import scipy.sparse

    rng = np.random.default_rng(seed)
    indices = rng.integers(0, n, size=(n, fan_in), dtype=np.int32)
    indices.sort(axis=1)
    values = (rng.integers(-8, 9, size=(n, fan_in), dtype=np.int32) * 2)
    values[values == 0] = 2
    indptr = np.arange(0, n * fan_in + 1, fan_in, dtype=np.int64)
    matrix = scipy.sparse.csr_matrix((values.ravel(), indices.ravel(), indptr), shape=(n, n))
    matrix.sum_duplicates()
    bias = rng.integers(0, 800, size=n, dtype=np.int32)  # state units per step
    return {"weights": matrix, "bias_mant": bias}


class NumpySparse:
    """Fixed-point LIF (Lava's bit-accurate rules: 12-bit decays rounded toward zero, input
    and threshold << 6, u wraps at 24 bits, v saturates) with a recurrent scipy CSR product
    delivered one step later, as a plain numpy + scipy.sparse loop."""

    def __init__(self, data: dict):
        self.weights = data["weights"]
        n = self.weights.shape[0]
        self.bias = data["bias_mant"].astype(np.int64)
        self.u = np.zeros(n, np.int64)
        self.v = np.zeros(n, np.int64)
        self.spikes = np.zeros(n, np.int32)  # last step's spikes, delivered now
        self.spike_count = 0
        self.step = 0

    def run(self, steps: int) -> None:
        u, v, bias = self.u, self.v, self.bias
        scratch = np.empty_like(u)
        vth = SPARSE_VTH << VTH_SHIFT
        keep_u, keep_v = DECAY_UNITY - (SPARSE_DU + 1), DECAY_UNITY - SPARSE_DV
        for _ in range(steps):
            a = self.weights @ self.spikes  # exact int arithmetic
            _decay(u, keep_u, scratch)
            u += a.astype(np.int64) << ACTIVATION_SHIFT
            u[u > STATE_LIMIT] -= STATE_MODULUS
            u[u <= -STATE_LIMIT] += STATE_MODULUS
            _decay(v, keep_v, scratch)
            v += u
            v += bias
            np.clip(v, -V_MAX, V_MAX, out=v)
            fired = v > vth
            v[fired] = 0
            self.spikes = fired.astype(np.int32)
            self.spike_count += int(np.count_nonzero(fired))
        self.step += steps


def _decay(x: np.ndarray, keep: int, scratch: np.ndarray) -> None:
    """``x = trunc(x * keep / 4096)`` in place (rounding toward zero, as Loihi does)."""
    x *= keep
    np.right_shift(x, 63, out=scratch)  # -1 where negative, else 0
    scratch &= DECAY_UNITY - 1
    x += scratch
    x >>= DECAY_BITS


def build_sparse(data: dict):
    """The lava_lite network: LIF <-> Sparse (recurrent). Returns (lif, sparse) or raises."""
    from lava_lite.proc_lib import LIF, Sparse  # noqa: F401  (Sparse checked by the caller)

    n = data["weights"].shape[0]
    lif = LIF(shape=(n,), du=SPARSE_DU, dv=SPARSE_DV, vth=SPARSE_VTH,
              bias_mant=data["bias_mant"], bias_exp=0, name="lif")
    sparse = Sparse(weights=data["weights"], name="recurrent")
    lif.s_out.connect(sparse.s_in)
    sparse.a_out.connect(lif.a_in)
    return lif, sparse


# -- the reference network on the CPU and on the emulated chip (fixed point) -------------------
REFERENCE_TRACE = "lava010_fixed_pt_seed12.npz"


def reference_dir() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("LAVA_LITE_REFERENCE_DIR",
                          os.path.join(here, "..", "..", "shared", "reference"))


def reference_data(scale: int = 1, seed: int = 12) -> dict:
    """The recurrent network of the reference traces: source -> Dense -> LIF a (+ recurrent
    Dense) -> Dense -> LIF b, in Loihi integer units. ``scale`` 1: the arrays and parameters
    of ``lava010_fixed_pt_seed12`` (10 inputs, 12 + 6 neurons) when ../shared/reference has
    it; larger: ``scale`` times the neurons, random integer weights of the same kind."""
    path = os.path.join(reference_dir(), REFERENCE_TRACE)
    if scale == 1 and os.path.exists(path):
        with np.load(path) as npz:
            arrays = {k: npz[k] for k in npz.files}
        meta = json.loads(str(arrays.pop("meta")))
        return {"spikes_in": arrays["spikes_in"].astype(np.int32), "W1": arrays["W1"],
                "W2": arrays["W2"], "R": arrays["R"],
                **{k: arrays[k] for k in ("a_bias_mant", "a_bias_exp", "b_bias_mant",
                                          "b_bias_exp")},
                "lif_a": meta["lif_a"], "lif_b": meta["lif_b"], "dense1": meta["dense1"],
                "dense2": meta["dense2"], "dense_rec": meta["dense_rec"]}
    rng = np.random.default_rng(seed)
    n_in, n_a, n_b = 10 * scale, 12 * scale, 6 * scale
    return {"spikes_in": (rng.random((n_in, SOURCE_PERIOD)) < 0.3).astype(np.int32),
            "W1": rng.integers(-40, 120, (n_a, n_in)) // max(1, scale // 4),
            "W2": rng.integers(-30, 90, (n_b, n_a)) // max(1, scale // 4),
            "R": rng.integers(-60, 60, (n_a, n_a)) // max(1, scale // 4),
            "a_bias_mant": rng.integers(0, 50, n_a), "a_bias_exp": np.full(n_a, 3),
            "b_bias_mant": rng.integers(0, 50, n_b), "b_bias_exp": np.full(n_b, 3),
            "lif_a": {"du": 3777, "dv": 2862, "vth": 110},
            "lif_b": {"du": 3821, "dv": 850, "vth": 220},
            "dense1": {"weight_exp": 1, "num_weight_bits": 6},
            "dense2": {"weight_exp": -1, "num_weight_bits": 6},
            "dense_rec": {"weight_exp": 0, "num_weight_bits": 6}}


class ReferenceNet:
    """The reference network through the public API; ``state()``: u and v of LIF b."""

    def __init__(self, data: dict):
        from lava_lite.proc_lib import LIF, Dense, SourceRingBuffer

        def lif(key):
            p = data[f"lif_{key}"]
            return LIF(shape=(data[f"{key}_bias_mant"].size,), du=p["du"], dv=p["dv"],
                       vth=p["vth"], bias_mant=data[f"{key}_bias_mant"],
                       bias_exp=data[f"{key}_bias_exp"], name=f"lif_{key}")

        self.source = SourceRingBuffer(data=data["spikes_in"], name="source")
        self.a, self.b = lif("a"), lif("b")
        d1 = Dense(weights=data["W1"], name="dense1", **data["dense1"])
        d2 = Dense(weights=data["W2"], name="dense2", **data["dense2"])
        rec = Dense(weights=data["R"], name="dense_rec", **data["dense_rec"])
        self.source.s_out.connect(d1.s_in)
        d1.a_out.connect(self.a.a_in)
        self.a.s_out.connect(rec.s_in)
        rec.a_out.connect(self.a.a_in)
        self.a.s_out.connect(d2.s_in)
        d2.a_out.connect(self.b.a_in)

    def run(self, steps: int, run_cfg) -> None:
        from lava_lite import RunSteps

        self.source.run(condition=RunSteps(num_steps=steps), run_cfg=run_cfg)

    def state(self) -> tuple[np.ndarray, np.ndarray]:
        return self.b.u.get(), self.b.v.get()

    def stop(self) -> None:
        self.source.stop()
