"""Peak memory of a Monitor on a long run (issue 11, case 7).

Run from the repository root::

    .venv/bin/python benchmarks/monitor_memory.py              # every case, about 20 s
    .venv/bin/python benchmarks/monitor_memory.py --only plain

The network: a source replaying random spikes -> Dense -> LIF of 100 neurons, float models,
and a Monitor on ``lif.v`` and ``lif.s_out`` with ``num_steps = 2_000_000`` (or a rolling
window). Each case runs in a fresh Python process, so that its figures are its own: peak
resident memory of that (the user's) process, and of the largest of its workers, from
``getrusage`` (``RUSAGE_SELF`` and ``RUSAGE_CHILDREN``: the workers have ended by then), and
how long ``run``, ``get_data()`` and ``stop()`` took. A case the code under test cannot
express (``buffer=`` before it existed) is printed as failed with the error's last line, so
the script also runs on older versions (copy it into their tree).

Cases: ``unmonitored`` (the same run without a Monitor: what the process costs anyway);
``plain`` (100,000 steps, then ``get_data()`` and ``stop()``; one worker); ``plain, in
process`` (the same with ``RunConfig(workers=0)``); ``rolling`` (``buffer=10_000`` over a
run of 500,000 steps, without ``num_steps``; one worker). Target (the issue): every peak
under 600 MB.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

N = 100
NUM_STEPS = 2_000_000
TARGET_MB = 600

CASES = {  # name: (steps run, workers, probe options or None for no Monitor)
    "unmonitored": (100_000, 1, None),
    "plain": (100_000, 1, {"num_steps": NUM_STEPS}),
    "plain, in process": (100_000, 0, {"num_steps": NUM_STEPS}),
    "rolling": (500_000, 1, {"buffer": 10_000}),
}


def run_case(name: str) -> dict:
    """Run one case in this process and return its figures."""
    import numpy as np

    from lava_lite import RunConfig, RunSteps
    from lava_lite.proc_lib import LIF, Dense, Monitor, SourceRingBuffer

    steps, workers, options = CASES[name]
    rng = np.random.default_rng(0)
    source = SourceRingBuffer(data=(rng.random((N, 1000)) < 0.1).astype(float), name="source")
    dense = Dense(weights=rng.random((N, N)) * 0.2, name="dense")
    lif = LIF(shape=(N,), du=0.1, dv=0.1, vth=1.0, name="lif")
    source.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    monitor = None
    if options is not None:
        monitor = Monitor(name="monitor")
        monitor.probe(lif.v, **options)
        monitor.probe(lif.s_out, **options)
    times = {}
    start = time.perf_counter()
    lif.run(RunSteps(steps), RunConfig(select_tag="floating_pt", workers=workers))
    times["run_s"] = time.perf_counter() - start
    shapes = None
    if monitor is not None:
        start = time.perf_counter()
        data = monitor.get_data()["lif"]
        times["get_data_s"] = time.perf_counter() - start
        shapes = {key: list(value.shape) for key, value in data.items()}
        del data
    start = time.perf_counter()
    lif.stop()
    times["stop_s"] = time.perf_counter() - start
    return {"steps": steps, "workers": workers, "shapes": shapes, **times,
            "user_peak_mb": _peak_mb(resource.RUSAGE_SELF),
            "worker_peak_mb": _peak_mb(resource.RUSAGE_CHILDREN) if workers else None}


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # kB on Linux


def measure(name: str) -> dict:
    """Run case ``name`` in a fresh interpreter; its figures, or the error it ended with."""
    done = subprocess.run([sys.executable, __file__, "--case", name], capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return {"error": last[:90]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fmt(value, spec: str = ",.0f") -> str:
    return "-" if value is None else format(value, spec)


def print_table(results: dict) -> None:
    print(f"Monitor on lif.v and lif.s_out of {N} neurons (target: peak < {TARGET_MB} MB)")
    header = (f"{'case':18s} {'steps':>9s} {'user MB':>8s} {'worker MB':>9s} {'run s':>6s} "
              f"{'get_data s':>10s} {'stop s':>6s}  data shape")
    print(header)
    print("-" * len(header))
    for name, row in results.items():
        if "error" in row:
            print(f"{name:18s} failed: {row['error']}")
            continue
        shape = "-" if row["shapes"] is None else str(tuple(row["shapes"]["v"]))
        print(f"{name:18s} {row['steps']:>9,d} {_fmt(row['user_peak_mb']):>8s} "
              f"{_fmt(row['worker_peak_mb']):>9s} {row['run_s']:>6.2f} "
              f"{_fmt(row.get('get_data_s'), '.2f'):>10s} {row['stop_s']:>6.2f}  {shape}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--only", help="comma-separated case names (default: all)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case)))
        return
    names = args.only.split(",") if args.only else list(CASES)
    unknown = sorted(set(names) - set(CASES))
    if unknown:
        parser.error(f"unknown cases {unknown}; known: {list(CASES)}")
    results = {name: measure(name) for name in names}
    print_table(results)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=1)


if __name__ == "__main__":
    main()
