"""The main demo: a small spiking network in worker processes, summarised as a raster.

Run it with ``python examples/ei_network.py`` (or ``make demo``).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from lava_lite import RunConfig, RunSteps
from lava_lite.proc_lib import LIF, Dense, Monitor, SourceRingBuffer


def build(n_in: int = 20, n_exc: int = 40, n_inh: int = 10, num_steps: int = 200,
          seed: int = 1):
    """Random input spikes -> excitatory LIF population <-> inhibitory LIF population."""
    rng = np.random.default_rng(seed)
    source = SourceRingBuffer(data=(rng.random((n_in, num_steps)) < 0.2).astype(float),
                              name="input")
    exc = LIF(shape=(n_exc,), du=0.5, dv=0.2, vth=1.0, name="excitatory")
    inh = LIF(shape=(n_inh,), du=0.5, dv=0.2, vth=2.0, name="inhibitory")
    feed = Dense(weights=rng.uniform(0, 0.4, (n_exc, n_in)), name="input_to_exc")
    e_to_i = Dense(weights=rng.uniform(0, 0.15, (n_inh, n_exc)), name="exc_to_inh")
    i_to_e = Dense(weights=-rng.uniform(0, 0.4, (n_exc, n_inh)), name="inh_to_exc")
    source.s_out.connect(feed.s_in)
    feed.a_out.connect(exc.a_in)
    exc.s_out.connect(e_to_i.s_in)
    e_to_i.a_out.connect(inh.a_in)
    inh.s_out.connect(i_to_e.s_in)
    i_to_e.a_out.connect(exc.a_in)  # fan-in: summed with the input drive
    monitor = Monitor(name="monitor")
    monitor.probe(exc.s_out, num_steps)
    monitor.probe(inh.s_out, num_steps)
    return exc, monitor


def raster(spikes: np.ndarray, width: int = 100) -> str:
    """One text row per neuron; a column per time bin, '|' where the neuron spiked."""
    steps = spikes.shape[0]
    bins = np.array_split(np.arange(steps), min(width, steps))
    rows = []
    for neuron in range(spikes.shape[1]):
        rows.append("".join("|" if spikes[b, neuron].any() else "." for b in bins))
    return "\n".join(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--workers", default="2",
                        help="worker processes: a number, 'per_process', or 0 (in-process)")
    args = parser.parse_args(argv)
    workers = args.workers if args.workers == "per_process" else int(args.workers)

    exc, monitor = build(num_steps=args.steps)
    start = time.perf_counter()
    with exc:
        exc.run(condition=RunSteps(num_steps=args.steps),
                run_cfg=RunConfig(select_tag="floating_pt", workers=workers))
        elapsed = time.perf_counter() - start
        print(exc.compile().summary())
        data = monitor.get_data()
    for name in ("excitatory", "inhibitory"):
        spikes = data[name]["s_out"]
        rates = spikes.mean(axis=0)
        print(f"\n{name}: {int(spikes.sum())} spikes, mean rate {rates.mean():.3f} "
              f"spikes/step (min {rates.min():.3f}, max {rates.max():.3f})")
        print(raster(spikes[:, :10]))
    print(f"\n{args.steps} steps in {elapsed:.2f} s (including compile and worker start)")


if __name__ == "__main__":
    main()
