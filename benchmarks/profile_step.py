"""Where a step's time goes: the in-process executor, the pieces of a step, and each worker.

    .venv/bin/python benchmarks/profile_step.py                 # all parts, n = 100
    .venv/bin/python benchmarks/profile_step.py --n 1000 --only workers --config 1

Parts:

* ``inprocess``: ``Executor.run_step`` of the n = 100 pipeline called in a bare loop (no
  thread, no runtime) against the numpy loop of the same network, then a cProfile of the
  executor (cProfile inflates small functions; read its table as shares, the bare loop for
  totals);
* ``micro``: the pieces of a step timed alone (each model's ``run_spk`` as the executor runs
  it, the numpy loop's LIF update and product, OutPort.send, the wire encode/decode, pyzmq
  polls);
* ``workers``: the same network on the multiprocess runtime with every worker under cProfile
  (wall clock, so time spent waiting for data shows as the poll/recv functions): per worker,
  microseconds per step in the functions that matter. It works by wrapping the runtime's
  worker entry point in this process before the workers are forked; nothing is changed on
  disk.
"""
from __future__ import annotations

import argparse
import cProfile
import glob
import os
import pstats
import shutil
import sys
import tempfile
import time
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import workloads  # noqa: E402


def per_call_us(fn, number: int = 20000) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def inprocess(n: int, steps: int) -> None:
    from lava_lite import RunConfig
    from lava_lite.compiler import compile_graph
    from lava_lite.runtimes.executor import Executor

    data = workloads.chain_data(n, 1, seed=1)
    plan = compile_graph(workloads.ChainNet(data).source,
                         RunConfig(select_tag="floating_pt", workers=0)).plan
    executor = Executor(plan, [p.id for p in plan.processes])
    reference = workloads.NumpyChain(data)
    for _ in range(500):
        executor.run_step()
    reference.run(500)
    best_exec = best_numpy = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(steps):
            executor.run_step()
        best_exec = min(best_exec, (time.perf_counter() - start) / steps * 1e6)
        start = time.perf_counter()
        reference.run(steps)
        best_numpy = min(best_numpy, (time.perf_counter() - start) / steps * 1e6)
    print(f"\n== in-process executor, source -> Dense -> LIF -> sink, n = {n}")
    print(f"bare Executor.run_step loop: {best_exec:7.2f} us/step")
    print(f"numpy loop, same work:       {best_numpy:7.2f} us/step "
          f"(ratio {best_numpy / best_exec:.2f}x)")
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(steps):
        executor.run_step()
    profile.disable()
    print(f"cProfile of {steps} steps (us/step; inflated by profiling):")
    _print_stats(pstats.Stats(profile), steps, 14)


def _print_stats(stats: pstats.Stats, steps: int, top: int) -> None:
    rows = []
    for (path, line, func), (_, ncalls, tottime, cumtime, _) in stats.stats.items():
        short = f"{os.path.basename(os.path.dirname(path))}/{os.path.basename(path)}:{func}" \
            if path != "~" else func
        rows.append((tottime, cumtime, ncalls, short))
    rows.sort(reverse=True)
    print(f"  {'self us/step':>12s} {'cum us/step':>12s} {'calls/step':>10s}  function")
    for tottime, cumtime, ncalls, name in rows[:top]:
        print(f"  {tottime / steps * 1e6:12.2f} {cumtime / steps * 1e6:12.2f} "
              f"{ncalls / steps:10.2f}  {name}")


def micro(n: int) -> None:
    import zmq

    from lava_lite import RunConfig
    from lava_lite.compiler import compile_graph
    from lava_lite.runtimes import wire
    from lava_lite.runtimes.executor import Executor
    from lava_lite.runtimes.ports import RuntimeOutPort

    # The models of the n-neuron pipeline as the executor runs them (after a warm-up), each
    # timed alone, then what the numpy loop does for the same work.
    data = workloads.chain_data(n, 1, seed=1)
    plan = compile_graph(workloads.ChainNet(data).source,
                         RunConfig(select_tag="floating_pt", workers=0)).plan
    executor = Executor(plan, [p.id for p in plan.processes])
    for _ in range(100):
        executor.run_step()
    pieces = {f"{h.spec.name}: {type(h.model).__name__}.run_spk": h.model.run_spk
              for h in executor.hosted}
    rng = np.random.default_rng(0)
    a_in = rng.random(n) * 0.1
    weights = data["w0"]
    s = (rng.random(n) < 0.1).astype(float)
    reference = workloads.NumpyChain(data)
    u, v = reference.u[0], reference.v[0]

    def lif_numpy():  # the numpy loop's LIF update
        u.__imul__(reference.keep_u)
        u.__iadd__(a_in)
        v.__imul__(reference.keep_v)
        v.__iadd__(u)
        v.__iadd__(reference.bias)
        spikes = v > reference.vth
        np.putmask(v, spikes, 0)
        return spikes

    spikes = lif_numpy()
    port = RuntimeOutPort("s_out", (n,), np.dtype(np.float64), "lif")
    pieces.update({
        "numpy loop: LIF update": lif_numpy,
        "numpy loop: np.dot(weights, s)": lambda: np.dot(weights, s),
        "OutPort.send(bool spikes): cast + read-only": lambda: port.send(spikes),
        "OutPort.send(float, copy=False): read-only only": lambda: port.send(s, copy=False),
    })
    frames = wire.encode_data(1, 5, a_in)
    context = zmq.Context()
    a, b = context.socket(zmq.PAIR), context.socket(zmq.PAIR)
    a.bind("inproc://profile-step")
    b.connect("inproc://profile-step")
    a.send_multipart(frames)
    received = b.recv_multipart(copy=False)
    expected = {1: (np.dtype("<f8"), (n,))}
    pull = context.socket(zmq.PULL)
    pull.bind("inproc://profile-step-empty")
    poller = zmq.Poller()
    poller.register(pull, zmq.POLLIN)
    poller.register(b, zmq.POLLIN)

    def new_poller():  # what ZmqTransport._wait_for does on every wait
        p = zmq.Poller()
        p.register(pull, zmq.POLLIN)
        p.register(b, zmq.POLLIN)
        return p.poll(0)

    def recv_again():
        try:
            pull.recv_multipart(flags=zmq.NOBLOCK)
        except zmq.Again:
            pass

    pieces.update({
        "wire.encode_data": lambda: wire.encode_data(1, 5, a_in),
        "wire.decode_data (zmq Frames)": lambda: wire.decode_data(received, expected),
        "Socket.poll(0) (worker, between steps)": lambda: b.poll(0),
        "new Poller + 2 register + poll(0)": new_poller,
        "reused Poller.poll(0)": lambda: poller.poll(0),
        "recv_multipart(NOBLOCK) raising Again": recv_again,
    })
    print(f"\n== pieces of a step, n = {n} (us per call, best of 5)")
    for name, fn in pieces.items():
        print(f"  {per_call_us(fn):7.2f}  {name}")
    for sock in (a, b, pull):
        sock.close(linger=0)
    context.term()


def workers(n: int, steps: int, config: str) -> None:
    from lava_lite import RunConfig
    from lava_lite.runtimes import multiprocess

    directory = tempfile.mkdtemp(prefix="lava_lite-profile-")
    original = multiprocess.worker_main

    def profiled_worker_main(*args, **kwargs):
        profile = cProfile.Profile()
        profile.enable()
        try:
            original(*args, **kwargs)
        finally:
            profile.disable()
            profile.dump_stats(os.path.join(directory, f"{os.getpid()}.prof"))

    workers_arg = {"per_process": "per_process", "default": None}.get(config)
    if workers_arg is None and config != "default":
        workers_arg = int(config)
    multiprocess.worker_main = profiled_worker_main
    net = workloads.ChainNet(workloads.chain_data(n, 1, seed=1))
    cfg = RunConfig(select_tag="floating_pt", workers=workers_arg)
    try:
        net.run(200, cfg)
        session = net.source._session
        pids = {p.pid: w for w, p in enumerate(session.runtime.processes)}
        hosted = {w: [p.name for p in session.plan.on_worker(w)]
                  for w in range(session.plan.num_workers)}
        start = time.perf_counter()
        net.run(steps, cfg)
        elapsed = time.perf_counter() - start
    finally:
        net.stop()
        multiprocess.worker_main = original
    print(f"\n== workers under cProfile (wall clock), n = {n}, config {config}: "
          f"{steps / elapsed:,.0f} steps/s while profiled ({elapsed / steps * 1e6:.1f} us/step); "
          f"us per step over the whole life of each worker ({200 + steps} steps)")
    try:
        for path in sorted(glob.glob(os.path.join(directory, "*.prof"))):
            pid = int(os.path.basename(path).split(".")[0])
            worker = pids.get(pid, "?")
            print(f"-- worker {worker} ({', '.join(hosted.get(worker, []))})")
            _print_stats(pstats.Stats(path), 200 + steps, 12)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--only", default="inprocess,micro,workers")
    parser.add_argument("--config", default="per_process",
                        help="workers for the 'workers' part: per_process, default or a count")
    args = parser.parse_args(argv)
    parts = args.only.split(",")
    if "inprocess" in parts:
        inprocess(args.n, args.steps)
    if "micro" in parts:
        micro(args.n)
    if "workers" in parts:
        workers(args.n, max(1000, args.steps // 4), args.config)


if __name__ == "__main__":
    main()
