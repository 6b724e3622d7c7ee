"""One network, two backends: float models and bit-accurate (Loihi) fixed-point models.

The network is built by one function, ``build_network``, and run by one function,
``spike_counts``; which models run it is chosen by the RunConfig alone:

    RunConfig(select_tag="floating_pt")   # float64 models
    RunConfig(select_tag="fixed_pt")      # Loihi integer arithmetic, bit for bit as Lava

Fixed-point models take their parameters in Loihi integer units (12-bit decays, 8-bit weight
mantissas with a shared exponent, 24-bit state), so float parameters are converted once with
the helpers of ``lava_lite.fixed_point``:

* ``float_to_fixed_lif(du, dv, vth, bias)``: ``du_fixed = du * 4096 - 1``,
  ``dv_fixed = dv * 4096``, ``vth`` and ``bias`` scaled by a power of two chosen to leave
  headroom below the 24-bit state limit (state units are 2**6 finer than input units);
* ``float_to_fixed_dense(weights, scale)``: 8-bit mantissas and the ``weight_exp`` that keeps
  the most precision, for the ``scale`` of the LIF they feed.

The spike counts of the two runs track each other (not exactly: rounding breaks a tie now
and then). Run it with ``python tutorials/fixed_vs_float.py``.
"""
from __future__ import annotations

import numpy as np

from lava_lite import RunConfig, RunSteps
from lava_lite import fixed_point as fxp
from lava_lite.proc_lib import LIF, Dense, Monitor, SourceRingBuffer

NUM_STEPS = 300


def float_parameters(seed: int = 0, num_steps: int = NUM_STEPS) -> dict:
    """Input spikes and float parameters of source -> Dense -> LIF a -> Dense -> LIF b."""
    rng = np.random.default_rng(seed)
    n_in, n_a, n_b = 10, 12, 6
    return {
        "spikes": (rng.random((n_in, num_steps)) < 0.25).astype(np.int32),
        "dense1": {"weights": rng.uniform(-1.0, 2.0, (n_a, n_in))},
        "dense2": {"weights": rng.uniform(-1.0, 2.0, (n_b, n_a))},
        "lif_a": {"du": 0.25, "dv": 0.1, "vth": 10.0,
                  "bias_mant": rng.uniform(-0.2, 0.5, n_a)},
        "lif_b": {"du": 0.4, "dv": 0.2, "vth": 12.0,
                  "bias_mant": rng.uniform(-0.2, 0.2, n_b)},
    }


def to_fixed_pt(params: dict) -> dict:
    """The same network in Loihi integer units (each Dense uses the scale of its LIF)."""
    fixed = {"spikes": params["spikes"]}
    for lif, dense in (("lif_a", "dense1"), ("lif_b", "dense2")):
        p = params[lif]
        lif_fixed = fxp.float_to_fixed_lif(p["du"], p["dv"], p["vth"], bias=p["bias_mant"])
        fixed[lif] = lif_fixed.lif_params()
        fixed[dense] = fxp.float_to_fixed_dense(params[dense]["weights"],
                                                lif_fixed.scale).dense_params()
    return fixed


def build_network(params: dict):
    """source -> Dense -> LIF a -> Dense -> LIF b, spikes of a and b recorded."""
    source = SourceRingBuffer(data=params["spikes"], name="source")
    dense1 = Dense(**params["dense1"], name="dense1")
    lif_a = LIF(shape=dense1.a_out.shape, **params["lif_a"], name="lif_a")
    dense2 = Dense(**params["dense2"], name="dense2")
    lif_b = LIF(shape=dense2.a_out.shape, **params["lif_b"], name="lif_b")
    source.s_out.connect(dense1.s_in)
    dense1.a_out.connect(lif_a.a_in)
    lif_a.s_out.connect(dense2.s_in)
    dense2.a_out.connect(lif_b.a_in)
    monitor = Monitor(name="monitor")
    num_steps = params["spikes"].shape[-1]
    monitor.probe(lif_a.s_out, num_steps)
    monitor.probe(lif_b.s_out, num_steps)
    return source, monitor


def spike_counts(params: dict, run_cfg: RunConfig) -> dict[str, np.ndarray]:
    """Build, run and return the spike count of every neuron of lif_a and lif_b."""
    source, monitor = build_network(params)
    try:
        source.run(RunSteps(num_steps=params["spikes"].shape[-1]), run_cfg)
        data = monitor.get_data()
    finally:
        source.stop()
    return {name: data[name]["s_out"].sum(axis=0).astype(int) for name in ("lif_a", "lif_b")}


def main() -> None:
    params = float_parameters()
    float_counts = spike_counts(params, RunConfig(select_tag="floating_pt"))
    fixed_counts = spike_counts(to_fixed_pt(params), RunConfig(select_tag="fixed_pt"))
    for name in ("lif_a", "lif_b"):
        print(f"{name} spikes per neuron in {NUM_STEPS} steps")
        print(f"  floating_pt: {float_counts[name].tolist()}  total {float_counts[name].sum()}")
        print(f"  fixed_pt:    {fixed_counts[name].tolist()}  total {fixed_counts[name].sum()}")


if __name__ == "__main__":
    main()
