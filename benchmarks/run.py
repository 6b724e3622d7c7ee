"""lava_lite benchmarks: steps/s against the limit (a plain numpy loop) and against Lava 0.10.

Run from the repository root::

    .venv/bin/python benchmarks/run.py            # full suite, about 6 minutes on 2 cores
    .venv/bin/python benchmarks/run.py --quick    # smoke run, under a minute
    .venv/bin/python benchmarks/run.py --json out.json --only pipeline,getset

For each workload it prints, side by side and measured in this one invocation:

* lava_lite steps/s, the median of several repetitions of ``run(RunSteps(steps))`` on a
  network that already ran (compile, launch and a warm-up are excluded);
* the same for a plain numpy loop of the same network doing the same work per step (ring
  buffer read, dense product, LIF update, ring buffer write), and lava_lite's ratio to it
  (``x numpy``; 1.0 would be no framework overhead at all);
* where ``LAVA_PYTHON`` names an interpreter with ``lava-nc`` 0.10, the same network run by
  Lava in a subprocess, and lava_lite's ratio to it (``x Lava``; above 1 is faster than Lava).
  How to make that interpreter: see ``benchmarks/lava_bridge.py`` (a Python 3.10 venv with
  ``pip install lava-nc==0.10.0``, then ``export LAVA_PYTHON=/path/to/venv/bin/python``).
  Without it the Lava columns print "n/a".

Every lava_lite and Lava result is checked against the numpy loop's sink buffer (and the
Monitor's record against the loop's recorded voltages): ``check`` says ``ok`` when they are
equal bit for bit (lava_lite) or how many sink entries agree (Lava, whose float Dense sums in
another order).

Workloads (issue 7): ``pipeline`` source -> Dense -> LIF -> sink at n = 100, 1000, 4000 under
the default RunConfig, workers=1, workers="per_process" and workers=0; ``chain`` K = 2, 8, 16
Dense/LIF stages at n = 100; ``monitor`` the n = 100 pipeline with a Monitor on LIF v every
step against without; ``getset`` Var.get()/set() of 10,000 elements; ``compile`` compile +
launch of a 10-Process graph; ``sparse`` 1,000,000 fixed-point LIF neurons with 100 recurrent
Sparse synapses each (only once ``lava_lite.proc_lib`` has ``Sparse``); ``chip`` the recurrent
reference network (10-12-6 neurons, and 50 times larger) on the fixed-point CPU models and on
the emulated chip (``RunConfig(target="chip")``), with a check that both end in the same state;
``ipc`` the bare pyzmq floor between two processes. Results go to
``benchmarks/results/latest.json`` (or ``--json PATH``).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import ipc_floor  # noqa: E402
import lava_bridge  # noqa: E402
import workloads  # noqa: E402

SECTIONS = ("pipeline", "chain", "monitor", "getset", "compile", "sparse", "chip", "ipc")

# Steps per repetition, repetitions, and the sizes to run, per mode.
MODES = {
    "full": {
        # Short runs get more repetitions: on a shared machine one or two of five can be hit
        # by other work, and then the median is too.
        "pipeline": [(100, 5000, 11), (1000, 1000, 9), (4000, 100, 9)],  # (n, steps, reps)
        "pipeline_configs": ("default", "workers=1", "per_process", "workers=0"),
        "chain": [(2, 3000, 9), (8, 1000, 9), (16, 500, 9)],  # (K, steps, reps) at n = 100
        "chain_configs": ("default", "per_process"),
        "monitor": (100, 5000, 9),
        "monitor_configs": ("default", "per_process", "workers=0"),
        "getset": (10_000, 20),  # (elements, reps)
        "compile": (4, 5),  # (stages -> 2 + 2 K Processes, reps)
        "compile_configs": ("default", "per_process"),
        "sparse": (1_000_000, 100, 10, 3),  # (neurons, synapses per neuron, steps, reps)
        "chip": [(1, 2000, 5), (50, 300, 3)],  # (scale of the reference network, steps, reps)
        "chip_configs": ("workers=0", "workers=1"),
        "lava_timeout": 900,
        "settle_s": 0.25,
    },
    "quick": {
        "pipeline": [(100, 2000, 3), (1000, 300, 3)],
        "pipeline_configs": ("default", "workers=1", "per_process", "workers=0"),
        "chain": [(2, 1000, 3), (8, 300, 3)],
        "chain_configs": ("default", "per_process"),
        "monitor": (100, 1000, 3),
        "monitor_configs": ("default",),
        "getset": (10_000, 10),
        "compile": (4, 2),
        "compile_configs": ("default", "per_process"),
        "sparse": (100_000, 100, 5, 2),
        "chip": [(1, 500, 3), (50, 100, 2)],
        "chip_configs": ("workers=1",),
        "lava_timeout": 300,
        "settle_s": 0.1,
    },
}

SETTLE_SECONDS = 0.25  # idle time before each timed run (see interleaved); set per mode

CONFIG_WORKERS = {"default": None, "workers=1": 1, "workers=2": 2, "per_process": "per_process",
                  "workers=0": 0}


def run_config(name: str, select_tag: str = "floating_pt"):
    from lava_lite import RunConfig

    return RunConfig(select_tag=select_tag, workers=CONFIG_WORKERS[name])


def warmup_steps(steps: int) -> int:
    return max(20, steps // 10)


def median(values) -> float:
    return float(statistics.median(values))


# -- timing ------------------------------------------------------------------------------------
def interleaved(runners: dict, steps: int, reps: int) -> dict[str, dict]:
    """Time several runners of the same network side by side.

    ``runners`` maps a name to ``run(num_steps)``. Each does one step (compile and launch for
    lava_lite; timed as ``first_run_s``), then a warm-up, then ``reps`` timed runs of ``steps``
    steps, the runners taking turns within each repetition (in a rotating order), so that a
    slow spell of the machine (other jobs on it) hits every runner alike and the ratios stay
    honest. Every runner runs the same number of steps in all, so final states can be
    compared. Before each timed run the machine is left idle for ``SETTLE_SECONDS``: OpenBLAS
    threads keep spinning for ~0.1 s after a product, and without the pause one runner's
    spinning threads (in the worker processes or in this one) steal the cores of the next
    (measured: up to 1.8x at n = 1000). Returns, per name: ``times``, ``steps_per_s`` (from
    the median time) and ``first_run_s``.
    """
    names = list(runners)
    result = {name: {"times": []} for name in names}
    for name in names:
        start = time.perf_counter()
        runners[name](1)
        result[name]["first_run_s"] = time.perf_counter() - start
    for name in names:
        runners[name](warmup_steps(steps))
    for rep in range(reps):
        for k in range(len(names)):
            name = names[(rep + k) % len(names)]
            time.sleep(SETTLE_SECONDS)
            start = time.perf_counter()
            runners[name](steps)
            result[name]["times"].append(time.perf_counter() - start)
    for name in names:
        result[name]["steps_per_s"] = steps / median(result[name]["times"])
    return result


def fastest_blas_threads(run, steps: int) -> int | None:
    """1 or None (BLAS's own thread count), whichever runs ``run`` (a numpy loop on its own
    copy of the network) faster, so that the limit is the best numpy can do here: a threaded
    product pays off from n ~ 1000, while at n = 100 it is no faster and its timing swings
    between two modes (measured here: 4.9 or 8.7 us a step, run to run)."""
    best = {}
    for threads in (None, 1, None, 1):
        with threadpool_limits(threads):
            time.sleep(SETTLE_SECONDS)
            start = time.perf_counter()
            run(warmup_steps(steps))
            elapsed = time.perf_counter() - start
        best[threads] = min(best.get(threads, elapsed), elapsed)
    return 1 if best[1] < best[None] else None


# -- printing ----------------------------------------------------------------------------------
def fmt_rate(x) -> str:
    if x is None:
        return "n/a"
    return f"{x:,.0f}" if x >= 100 else f"{x:.2f}"


def fmt_ratio(x) -> str:
    return "n/a" if x is None else f"{x:.2f}x"


def fmt_ms(x) -> str:
    return "n/a" if x is None else (f"{x:.3f}" if x < 10 else f"{x:,.1f}")


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    print(f"\n== {title}")
    line = "  ".join(h.rjust(w) if k else h.ljust(w) for k, (h, w) in enumerate(zip(header,
                                                                                       widths)))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(str(c).rjust(w) if k else str(c).ljust(w)
                        for k, (c, w) in enumerate(zip(row, widths))), flush=True)


# -- the suite ---------------------------------------------------------------------------------
class Suite:
    def __init__(self, mode: str, sections: list[str], lava: str | None, workdir: str):
        self.mode = mode
        self.settings = MODES[mode]
        self.sections = sections
        self.lava = lava
        self.workdir = workdir
        self.results: dict[str, list[dict]] = {}
        self.lava_status = "n/a (LAVA_PYTHON not set)"
        if lava:
            problem = lava_bridge.check_lava(lava)
            if problem:
                print(f"Lava comparison disabled: {problem}", file=sys.stderr)
                self.lava, self.lava_status = None, f"n/a ({problem})"
            else:
                self.lava_status = f"lava-nc 0.10 via {lava}"

    # Lava -------------------------------------------------------------------------------------
    def run_lava(self, jobs: list[dict]) -> dict[str, dict]:
        if not self.lava or not jobs:
            return {}
        params = {"du": workloads.DU, "dv": workloads.DV, "vth": workloads.VTH,
                  "sink_buffer": workloads.SINK_BUFFER}
        for job in jobs:
            job.setdefault("params", params)
        print(f"   (Lava: {len(jobs)} job(s) in a subprocess...)", flush=True)
        return lava_bridge.run_jobs(self.lava, jobs, self.workdir,
                                    timeout=self.settings["lava_timeout"])

    def save_npz(self, name: str, data: dict) -> str:
        path = os.path.join(self.workdir, f"{name}.npz")
        np.savez(path, **data)
        return path

    def lava_steps(self, result: dict | None, steps: int, reference_sink=None,
                   out_path: str | None = None) -> dict:
        """Lava steps/s and how many sink entries agree with the numpy loop."""
        if result is None:
            return {"lava_steps_per_s": None, "lava_check": "n/a"}
        if not result.get("ok_run"):
            print(f"   Lava failed: {result.get('error', '')[-600:]}", file=sys.stderr)
            return {"lava_steps_per_s": None, "lava_check": "error",
                    "lava_error": result.get("error")}
        agree = None
        if reference_sink is not None and out_path and os.path.exists(out_path):
            agree = float(np.mean(np.load(out_path)["sink"] == reference_sink))
        return {"lava_steps_per_s": steps / median(result["times"]), "lava_times": result["times"],
                "lava_first_run_s": result["first_run"],
                "lava_check": "n/a" if agree is None else f"{agree:.1%} agree",
                "lava_sink_agreement": agree}

    # pipeline and chain ------------------------------------------------------------------------
    def chain_section(self, section: str, cases: list[tuple], configs: tuple) -> None:
        rows, table = [], []
        lava_jobs, pending = [], []
        for case in cases:
            if section == "pipeline":
                n, steps, reps = case
                stages = 1
            else:
                stages, steps, reps = case
                n = 100
            label = f"n={n}" if section == "pipeline" else f"K={stages} ({2 + 2 * stages} procs)"
            data = workloads.chain_data(n, stages, seed=stages)
            job_id = f"{section}_{n}_{stages}"
            lava_jobs.append({"id": job_id, "kind": "steps", "npz": self.save_npz(job_id, data),
                              "steps": steps, "reps": reps, "warmup": warmup_steps(steps),
                              "out": os.path.join(self.workdir, f"{job_id}_out.npz")})
            for config in configs:
                row = {"section": section, "workload": label, "n": n, "stages": stages,
                       "config": config, "steps": steps, "reps": reps}
                reference = workloads.NumpyChain(data)
                net = workloads.ChainNet(data)
                cfg = run_config(config)
                blas = fastest_blas_threads(workloads.NumpyChain(data).run, steps)
                try:
                    with threadpool_limits(blas):
                        timed = interleaved({"numpy": reference.run,
                                             "lava_lite": lambda k: net.run(k, cfg)},
                                            steps, reps)
                    sink = net.sink.data.get()
                    ours, limit = timed["lava_lite"], timed["numpy"]
                    row.update(steps_per_s=ours["steps_per_s"], times=ours["times"],
                               numpy_blas_threads=blas,
                               x_numpy_best=min(limit["times"]) / min(ours["times"]),
                               first_run_s=ours["first_run_s"], workers=net.num_workers(),
                               numpy_steps_per_s=limit["steps_per_s"],
                               numpy_times=limit["times"],
                               x_numpy=ours["steps_per_s"] / limit["steps_per_s"],
                               check="ok" if np.array_equal(sink, reference.sink)
                               else "DIFFERS")
                except Exception:
                    row.update(error=traceback.format_exc(), steps_per_s=None, x_numpy=None,
                               numpy_steps_per_s=None, check="error")
                    print(f"   {label} {config}: {traceback.format_exc()}", file=sys.stderr)
                finally:
                    net.stop()
                rows.append(row)
                pending.append((row, job_id, reference.sink))
                print(f"   {label:22s} {config:12s} {fmt_rate(row['steps_per_s']):>10s} steps/s "
                      f"(numpy {fmt_rate(row['numpy_steps_per_s'])}, BLAS threads "
                      f"{blas or 'default'})", flush=True)
        lava = self.run_lava(lava_jobs)
        for row, job_id, sink in pending:
            steps = row["steps"]
            row.update(self.lava_steps(lava.get(job_id) if self.lava else None, steps, sink,
                                       os.path.join(self.workdir, f"{job_id}_out.npz")))
            ours, theirs = row.get("steps_per_s"), row["lava_steps_per_s"]
            row["x_lava"] = ours / theirs if ours and theirs else None
            table.append([row["workload"], row["config"], str(row.get("workers", "-")),
                          str(steps), fmt_rate(ours), fmt_rate(row["numpy_steps_per_s"]),
                          fmt_ratio(row.get("x_numpy")), fmt_ratio(row.get("x_numpy_best")),
                          fmt_rate(theirs),
                          fmt_ratio(row["x_lava"]), row["check"], row["lava_check"]])
        title = ("source -> Dense -> LIF -> sink (steps/s, median of reps)" if section ==
                 "pipeline" else "chain of K Dense/LIF stages, n = 100 (steps/s)")
        print_table(title, ["workload", "config", "workers", "steps", "lava_lite", "numpy",
                            "x numpy", "best", "Lava", "x Lava", "check", "Lava check"], table)
        self.results[section] = rows

    # monitor ----------------------------------------------------------------------------------
    def monitor_section(self) -> None:
        n, steps, reps = self.settings["monitor"]
        total = 1 + warmup_steps(steps) + reps * steps
        data = workloads.chain_data(n, 1, seed=1)
        rows, table = [], []
        for config in self.settings["monitor_configs"]:
            row = {"section": "monitor", "workload": f"n={n}", "config": config, "steps": steps,
                   "reps": reps}
            plain, monitored = workloads.ChainNet(data), workloads.ChainNet(data, total)
            np_plain, np_recording = (workloads.NumpyChain(data),
                                      workloads.NumpyChain(data, record_v_steps=total))
            cfg = run_config(config)
            blas = fastest_blas_threads(workloads.NumpyChain(data).run, steps)
            try:
                with threadpool_limits(blas):
                    timed = interleaved({"plain": lambda k: plain.run(k, cfg),
                                         "monitored": lambda k: monitored.run(k, cfg),
                                         "numpy": np_plain.run,
                                         "numpy_recording": np_recording.run}, steps, reps)
                v = monitored.monitor.get_data()["lif0"]["v"]
                row["check"] = "ok" if np.array_equal(v, np_recording.record) else "DIFFERS"
                for key, value in timed.items():
                    row[f"{key}_steps_per_s"] = value["steps_per_s"]
                    row[f"{key}_times"] = value["times"]
                row["workers"] = plain.num_workers()
                row["slowdown"] = row["plain_steps_per_s"] / row["monitored_steps_per_s"]
                row["slowdown_best"] = min(row["monitored_times"]) / min(row["plain_times"])
                row["numpy_slowdown"] = (row["numpy_steps_per_s"]
                                         / row["numpy_recording_steps_per_s"])
            except Exception:
                row.update(error=traceback.format_exc(), check="error")
                print(f"   monitor {config}: {traceback.format_exc()}", file=sys.stderr)
            finally:
                plain.stop()
                monitored.stop()
            rows.append(row)
            print(f"   monitor {config:12s} slowdown {fmt_ratio(row.get('slowdown'))}", flush=True)
        lava = {}
        if self.lava:
            jobs = [{"id": f"monitor_{k}", "kind": "steps", "npz": self.save_npz("monitor", data),
                     "steps": steps, "reps": reps, "warmup": warmup_steps(steps), "monitor": k,
                     "out": os.path.join(self.workdir, f"monitor_{k}_out.npz")}
                    for k in (0, 1)]
            lava = self.run_lava(jobs)
        lava_plain = self.lava_steps(lava.get("monitor_0"), steps) if lava else {}
        lava_mon = self.lava_steps(lava.get("monitor_1"), steps) if lava else {}
        lava_slowdown = None
        if lava_plain.get("lava_steps_per_s") and lava_mon.get("lava_steps_per_s"):
            lava_slowdown = lava_plain["lava_steps_per_s"] / lava_mon["lava_steps_per_s"]
        for row in rows:
            row["lava_steps_per_s"] = lava_plain.get("lava_steps_per_s")
            row["lava_monitored_steps_per_s"] = lava_mon.get("lava_steps_per_s")
            row["lava_slowdown"] = lava_slowdown
            table.append([row["workload"], row["config"], str(row.get("workers", "-")),
                          fmt_rate(row.get("plain_steps_per_s")),
                          fmt_rate(row.get("monitored_steps_per_s")),
                          fmt_ratio(row.get("slowdown")), fmt_ratio(row.get("slowdown_best")),
                          fmt_ratio(row.get("numpy_slowdown")), fmt_ratio(lava_slowdown),
                          row.get("check", "-")])
        print_table("Monitor on LIF v every step (slowdown = monitored / unmonitored time)",
                    ["workload", "config", "workers", "plain", "monitored", "slowdown", "best",
                     "numpy slowdown", "Lava slowdown", "check"], table)
        self.results["monitor"] = rows

    # get / set --------------------------------------------------------------------------------
    def getset_section(self) -> None:
        from lava_lite import RunSteps
        from lava_lite.proc_lib import LIF

        size, reps = self.settings["getset"]
        value = np.arange(size, dtype=np.float64)
        rows, table = [], []
        lava = self.run_lava([{"id": "getset", "kind": "getset", "n": size, "reps": reps}])
        lava = lava.get("getset", {})
        if lava and not lava.get("ok_run"):
            print(f"   Lava failed: {lava.get('error', '')[-600:]}", file=sys.stderr)
        copy_times = []
        for _ in range(reps):
            start = time.perf_counter()
            np.array(value, copy=True)
            copy_times.append(time.perf_counter() - start)
        for config in ("workers=1", "workers=0"):
            lif = LIF(shape=(size,), du=0.1, dv=0.1, vth=1.0, name="big")
            row = {"section": "getset", "workload": f"{size} elements", "config": config,
                   "reps": reps, "numpy_copy_ms": median(copy_times) * 1e3}
            try:
                lif.run(condition=RunSteps(num_steps=1), run_cfg=run_config(config))
                gets, sets = [], []
                for _ in range(reps):
                    start = time.perf_counter()
                    lif.v.set(value)
                    sets.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    got = lif.v.get()
                    gets.append(time.perf_counter() - start)
                row["check"] = ("ok" if got.dtype == np.float64 and np.array_equal(got, value)
                                else "DIFFERS")
                row.update(get_ms=median(gets) * 1e3, set_ms=median(sets) * 1e3,
                           get_times=gets, set_times=sets)
            except Exception:
                row.update(error=traceback.format_exc(), check="error")
                print(f"   getset {config}: {traceback.format_exc()}", file=sys.stderr)
            finally:
                lif.stop()
            if lava.get("ok_run"):
                row["lava_get_ms"] = median(lava["get"]) * 1e3
                row["lava_set_ms"] = median(lava["set"]) * 1e3
            for op in ("get", "set"):
                ours, theirs = row.get(f"{op}_ms"), row.get(f"lava_{op}_ms")
                row[f"{op}_x_lava"] = theirs / ours if ours and theirs else None
                table.append([f"Var.{op}() {size}", config, fmt_ms(ours),
                              fmt_ms(row["numpy_copy_ms"]), fmt_ms(theirs),
                              fmt_ratio(row[f"{op}_x_lava"]), row.get("check", "-")])
            rows.append(row)
        print_table("Var get/set (median ms; x Lava = Lava time / lava_lite time)",
                    ["operation", "config", "lava_lite ms", "numpy copy ms", "Lava ms",
                     "x Lava", "check"], table)
        self.results["getset"] = rows

    # compile + launch ---------------------------------------------------------------------------
    def compile_section(self) -> None:
        from lava_lite.compiler import compile_graph

        stages, reps = self.settings["compile"]
        data = workloads.chain_data(100, stages, seed=3)
        rows, table = [], []
        procs = 2 + 2 * stages
        lava = self.run_lava([{"id": "compile", "kind": "compile", "reps": reps,
                               "npz": self.save_npz("compile", data)}]).get("compile", {})
        lava_total = None
        if lava.get("ok_run"):
            lava_total = median(np.subtract(lava["first_run"], lava["one_step_run"]))
        elif lava:
            print(f"   Lava failed: {lava.get('error', '')[-600:]}", file=sys.stderr)
        for config in self.settings["compile_configs"]:
            row = {"section": "compile", "workload": f"{procs} Processes", "config": config,
                   "reps": reps}
            compiles, firsts, one_steps, stops = [], [], [], []
            try:
                for _ in range(reps):
                    net = workloads.ChainNet(data)
                    cfg = run_config(config)
                    try:
                        start = time.perf_counter()
                        compile_graph(net.source, cfg)
                        compiles.append(time.perf_counter() - start)
                        start = time.perf_counter()
                        net.run(1, cfg)
                        firsts.append(time.perf_counter() - start)
                        one = []
                        for _ in range(5):
                            start = time.perf_counter()
                            net.run(1, cfg)
                            one.append(time.perf_counter() - start)
                        one_steps.append(median(one))
                        row["workers"] = net.num_workers()
                    finally:
                        start = time.perf_counter()
                        net.stop()
                        stops.append(time.perf_counter() - start)
                compile_s = median(compiles)
                total = median(np.subtract(firsts, one_steps))
                row.update(compile_ms=compile_s * 1e3, compile_launch_ms=total * 1e3,
                           launch_ms=(total - compile_s) * 1e3, one_step_run_ms=median(
                               one_steps) * 1e3, stop_ms=median(stops) * 1e3,
                           lava_compile_launch_ms=None if lava_total is None else lava_total * 1e3,
                           x_lava=None if lava_total is None else lava_total / total)
            except Exception:
                row.update(error=traceback.format_exc())
                print(f"   compile {config}: {traceback.format_exc()}", file=sys.stderr)
            rows.append(row)
            table.append([row["workload"], config, str(row.get("workers", "-")),
                          fmt_ms(row.get("compile_ms")), fmt_ms(row.get("launch_ms")),
                          fmt_ms(row.get("compile_launch_ms")), fmt_ms(row.get("one_step_run_ms")),
                          fmt_ms(row.get("stop_ms")),
                          fmt_ms(None if lava_total is None else lava_total * 1e3),
                          fmt_ratio(row.get("x_lava"))])
        print_table("compile + launch (median ms; first run(RunSteps(1)) minus a later one; "
                    "x Lava = Lava time / lava_lite time)",
                    ["graph", "config", "workers", "compile", "launch", "compile+launch",
                     "1-step run", "stop", "Lava c+l", "x Lava"], table)
        self.results["compile"] = rows

    # 1M neurons, Sparse, fixed point ------------------------------------------------------------
    def sparse_section(self) -> None:
        import lava_lite.proc_lib as proc_lib

        neurons, fan_in, steps, reps = self.settings["sparse"]
        label = f"{neurons:,} LIF x {fan_in} syn"
        if not hasattr(proc_lib, "Sparse"):
            print(f"\n== {label} (fixed point)\nskipped: Sparse not available yet",
                  flush=True)
            self.results["sparse"] = [{"section": "sparse", "workload": label,
                                       "skipped": "Sparse not available yet"}]
            return
        start = time.perf_counter()
        data = workloads.sparse_data(neurons, fan_in)
        build_s = time.perf_counter() - start
        reference = workloads.NumpySparse(data)
        row = {"section": "sparse", "workload": label, "config": "default", "steps": steps,
               "reps": reps, "data_build_s": build_s, "numpy_steps_per_s": None}
        lif = None
        try:
            from lava_lite import RunSteps

            lif, _ = workloads.build_sparse(data)
            cfg = run_config("default", "fixed_pt")
            timed = interleaved({"numpy": reference.run,
                                 "lava_lite": lambda k: lif.run(condition=RunSteps(num_steps=k),
                                                                run_cfg=cfg)}, steps, reps)
            ours, limit = timed["lava_lite"], timed["numpy"]
            row.update(steps_per_s=ours["steps_per_s"], times=ours["times"],
                       first_run_s=ours["first_run_s"],
                       workers=lif._session.plan.num_workers,
                       numpy_steps_per_s=limit["steps_per_s"], numpy_times=limit["times"],
                       x_numpy=ours["steps_per_s"] / limit["steps_per_s"])
            same = (np.array_equal(lif.v.get(), reference.v)
                    and np.array_equal(lif.u.get(), reference.u))
            row["check"] = "ok" if same else "DIFFERS"
        except Exception:
            row.update(error=traceback.format_exc(), check="error")
            print(f"   sparse: {traceback.format_exc()}", file=sys.stderr)
        finally:
            if lif is not None:
                lif.stop()
        row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        row["peak_rss_children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print_table(f"{neurons:,}-neuron LIF with recurrent Sparse synapses, fixed point "
                    f"(steps/s)",
                    ["workload", "config", "workers", "steps", "lava_lite", "numpy+scipy",
                     "x numpy", "peak RSS MB (self/child)", "check"],
                    [[label, "default", str(row.get("workers", "-")), str(steps),
                      fmt_rate(row.get("steps_per_s")), fmt_rate(row.get("numpy_steps_per_s")),
                      fmt_ratio(row.get("x_numpy")),
                      f"{row['peak_rss_mb']:.0f}/{row['peak_rss_children_mb']:.0f}",
                      row.get("check", "-")]])
        self.results["sparse"] = [row]

    # the reference network on the fixed-point CPU and on the emulated chip -------------------
    def chip_section(self) -> None:
        from lava_lite import RunConfig

        rows, table = [], []
        for scale, steps, reps in self.settings["chip"]:
            data = workloads.reference_data(scale)
            sizes = (f"{data['spikes_in'].shape[0]}-{data['a_bias_mant'].size}-"
                     f"{data['b_bias_mant'].size}")
            label = f"reference x{scale} ({sizes})"
            for config in self.settings["chip_configs"]:
                workers = CONFIG_WORKERS[config]
                cpu_cfg = RunConfig(select_tag="fixed_pt", workers=workers)
                chip_cfg = RunConfig(target="chip", workers=workers)
                row = {"section": "chip", "workload": label, "scale": scale, "config": config,
                       "steps": steps, "reps": reps}
                cpu, chip = workloads.ReferenceNet(data), workloads.ReferenceNet(data)
                try:
                    timed = interleaved({"cpu": lambda k: cpu.run(k, cpu_cfg),
                                         "chip": lambda k: chip.run(k, chip_cfg)}, steps, reps)
                    same = all(np.array_equal(x, y) for x, y in zip(cpu.state(), chip.state()))
                    row.update(cpu_steps_per_s=timed["cpu"]["steps_per_s"],
                               chip_steps_per_s=timed["chip"]["steps_per_s"],
                               cpu_times=timed["cpu"]["times"],
                               chip_times=timed["chip"]["times"],
                               chip_first_run_s=timed["chip"]["first_run_s"],
                               x_cpu=timed["chip"]["steps_per_s"] / timed["cpu"]["steps_per_s"],
                               check="ok" if same else "DIFFERS")
                except Exception:
                    row.update(error=traceback.format_exc(), check="error")
                    print(f"   chip {label} {config}: {traceback.format_exc()}",
                          file=sys.stderr)
                finally:
                    cpu.stop()
                    chip.stop()
                rows.append(row)
                table.append([label, config, str(steps), fmt_rate(row.get("cpu_steps_per_s")),
                              fmt_rate(row.get("chip_steps_per_s")), fmt_ratio(row.get("x_cpu")),
                              fmt_ms(None if "chip_first_run_s" not in row
                                     else row["chip_first_run_s"] * 1e3), row["check"]])
                print(f"   {label:28s} {config:10s} cpu {fmt_rate(row.get('cpu_steps_per_s'))} "
                      f"chip {fmt_rate(row.get('chip_steps_per_s'))} steps/s", flush=True)
        print_table("reference network, fixed point: CPU models vs the emulated chip (steps/s; "
                    "x cpu = chip / CPU; first run = compile + chip start + 1 step)",
                    ["workload", "config", "steps", "fixed CPU", "chip", "x cpu",
                     "first run ms", "check"], table)
        self.results["chip"] = rows

    # IPC floor ----------------------------------------------------------------------------------
    def ipc_section(self) -> None:
        floor = ipc_floor.measure(quick=self.mode == "quick")
        print_table("IPC floor: bare pyzmq between two processes (us; 800-byte payload)",
                    ["measure", "us"],
                    [[k, f"{v:.1f}"] for k, v in floor.items() if k.endswith("_us")])
        self.results["ipc"] = [dict(floor, section="ipc")]

    def run(self) -> None:
        global SETTLE_SECONDS
        settings = self.settings
        SETTLE_SECONDS = settings["settle_s"]
        for section in self.sections:
            started = time.perf_counter()
            if section == "pipeline":
                self.chain_section("pipeline", settings["pipeline"], settings["pipeline_configs"])
            elif section == "chain":
                self.chain_section("chain", settings["chain"], settings["chain_configs"])
            elif section == "monitor":
                self.monitor_section()
            elif section == "getset":
                self.getset_section()
            elif section == "compile":
                self.compile_section()
            elif section == "sparse":
                self.sparse_section()
            elif section == "chip":
                self.chip_section()
            elif section == "ipc":
                self.ipc_section()
            print(f"   ({section}: {time.perf_counter() - started:.1f} s)", flush=True)


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "-C", os.path.dirname(HERE), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", os.path.dirname(HERE), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=10).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "") if out.returncode == 0 else None
    except OSError:
        return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, under a minute")
    parser.add_argument("--json", default=os.path.join(HERE, "results", "latest.json"),
                        help="where to write the results (default: %(default)s)")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections among {','.join(SECTIONS)}")
    parser.add_argument("--no-lava", action="store_true", help="ignore LAVA_PYTHON")
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose among {list(SECTIONS)}")

    import lava_lite

    mode = "quick" if args.quick else "full"
    lava = None if args.no_lava else lava_bridge.lava_python()
    load = os.getloadavg()
    started = time.perf_counter()
    workdir = tempfile.mkdtemp(prefix="lava_lite-bench-")
    try:
        suite = Suite(mode, sections, lava, workdir)
        print(f"lava_lite {lava_lite.__version__} benchmarks ({mode}); numpy {np.__version__}; "
              f"{os.cpu_count()} cores; load average {load[0]:.2f}; Lava: {suite.lava_status}")
        if load[0] > 0.5 * (os.cpu_count() or 1):
            print("   warning: the machine is busy; figures will be noisy")
        suite.run()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.perf_counter() - started
    report = {
        "meta": {"mode": mode, "date": datetime.datetime.now().isoformat(timespec="seconds"),
                 "git_commit": git_commit(), "lava_lite": lava_lite.__version__,
                 "python": platform.python_version(), "numpy": np.__version__,
                 "cpu_count": os.cpu_count(), "machine": platform.machine(),
                 "load_average_at_start": load, "lava": suite.lava_status,
                 "elapsed_s": elapsed},
        "results": suite.results,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(report, f, indent=1, default=lambda o: o.item() if hasattr(o, "item") else
                  str(o))
    print(f"\n{elapsed:.0f} s in all; results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
