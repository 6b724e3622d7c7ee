"""Run the same workloads in Lava 0.10, in a subprocess of another interpreter.

Lava (PyPI ``lava-nc``) 0.10 needs Python 3.10 and numpy < 2, so it cannot share lava_lite's
environment. Make an interpreter for it once, anywhere (it is not part of the project)::

    python3.10 -m venv ~/lava010            # e.g. pyenv's 3.10, or apt's python3.10-venv
    ~/lava010/bin/pip install lava-nc==0.10.0
    export LAVA_PYTHON=~/lava010/bin/python  # then run benchmarks/run.py as usual

Where ``LAVA_PYTHON`` is unset (or its interpreter cannot import lava), the Lava columns print
"n/a". The networks are handed over as ``.npz`` files written from the very arrays lava_lite and
the numpy loop use; the script below builds them with Lava's own Processes (``RingBuffer``
source and sink, ``Dense``, ``LIF``, ``Monitor``), times them the same way (compile and launch
in a first one-step run, then a warm-up, then repetitions of the same number of steps) and
prints one ``RESULT {json}`` line per job; each job's sink buffer comes back as an ``.npz`` so
the caller can check that Lava computed the same spikes.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile

LAVA_SCRIPT = r'''
import json, sys, time, traceback
import numpy as np
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.process import Dense
from lava.proc.io.sink import RingBuffer as SinkRingBuffer
from lava.proc.io.source import RingBuffer as SourceRingBuffer
from lava.proc.lif.process import LIF
from lava.proc.monitor.process import Monitor

CFG = Loihi2SimCfg(select_tag="floating_pt")


def build(data, p, monitor_steps=None):
    source = SourceRingBuffer(data=data["source"])
    n = data["source"].shape[0]
    previous, lifs = source.s_out, []
    k = 0
    while f"w{k}" in data:
        dense = Dense(weights=data[f"w{k}"])
        lif = LIF(shape=(n,), du=p["du"], dv=p["dv"], vth=p["vth"])
        previous.connect(dense.s_in)
        dense.a_out.connect(lif.a_in)
        previous, k = lif.s_out, k + 1
        lifs.append(lif)
    sink = SinkRingBuffer(shape=(n,), buffer=p["sink_buffer"])
    previous.connect(sink.a_in)
    monitor = None
    if monitor_steps:
        monitor = Monitor()
        monitor.probe(lifs[0].v, monitor_steps)
    return source, sink, monitor


def steps_job(job):
    data = dict(np.load(job["npz"]))
    total = 1 + job["warmup"] + job["reps"] * job["steps"]
    source, sink, monitor = build(data, job["params"], total if job.get("monitor") else None)
    try:
        start = time.perf_counter()
        source.run(condition=RunSteps(num_steps=1), run_cfg=CFG)
        first = time.perf_counter() - start
        if job["warmup"]:
            source.run(condition=RunSteps(num_steps=job["warmup"]), run_cfg=CFG)
        times = []
        for _ in range(job["reps"]):
            start = time.perf_counter()
            source.run(condition=RunSteps(num_steps=job["steps"]), run_cfg=CFG)
            times.append(time.perf_counter() - start)
        np.savez(job["out"], sink=sink.data.get())
    finally:
        source.stop()
    return {"times": times, "first_run": first}


def getset_job(job):
    lif = LIF(shape=(job["n"],), du=0.1, dv=0.1, vth=1.0)
    try:
        lif.run(condition=RunSteps(num_steps=1), run_cfg=CFG)
        value = np.arange(job["n"], dtype=np.float64)
        gets, sets = [], []
        for _ in range(job["reps"]):
            start = time.perf_counter()
            lif.v.set(value)
            sets.append(time.perf_counter() - start)
            start = time.perf_counter()
            got = lif.v.get()
            gets.append(time.perf_counter() - start)
        ok = bool(np.array_equal(np.asarray(got, dtype=np.float64), value))
    finally:
        lif.stop()
    return {"get": gets, "set": sets, "ok": ok}


def compile_job(job):
    data = dict(np.load(job["npz"]))
    firsts, steps, stops = [], [], []
    for _ in range(job["reps"]):
        source, _, _ = build(data, job["params"])
        try:
            start = time.perf_counter()
            source.run(condition=RunSteps(num_steps=1), run_cfg=CFG)
            firsts.append(time.perf_counter() - start)
            one = []
            for _ in range(5):
                start = time.perf_counter()
                source.run(condition=RunSteps(num_steps=1), run_cfg=CFG)
                one.append(time.perf_counter() - start)
            steps.append(sorted(one)[len(one) // 2])
        finally:
            start = time.perf_counter()
            source.stop()
            stops.append(time.perf_counter() - start)
    return {"first_run": firsts, "one_step_run": steps, "stop": stops}


JOBS = {"steps": steps_job, "getset": getset_job, "compile": compile_job}

for job in json.load(open(sys.argv[1]))["jobs"]:
    try:
        result = JOBS[job["kind"]](job)
        result["ok_run"] = True
    except Exception:
        result = {"ok_run": False, "error": traceback.format_exc()[-2000:]}
    result["id"] = job["id"]
    print("RESULT " + json.dumps(result), flush=True)
'''


def lava_python() -> str | None:
    """The interpreter named by LAVA_PYTHON, if it is set."""
    path = os.environ.get("LAVA_PYTHON", "").strip()
    return os.path.expanduser(path) if path else None


def check_lava(python: str) -> str | None:
    """None if ``python`` imports lava 0.10; else why not."""
    try:
        probe = subprocess.run(
            [python, "-c", "import lava.magma.core.run_configs, importlib.metadata as m; "
                           "print(m.version('lava-nc'))"],
            capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run LAVA_PYTHON={python}: {exc}"
    if probe.returncode != 0:
        return f"LAVA_PYTHON={python} cannot import lava: {probe.stderr.strip()[-300:]}"
    version = probe.stdout.strip()
    if not version.startswith("0.10"):
        return f"LAVA_PYTHON={python} has lava-nc {version}, not 0.10"
    return None


def run_jobs(python: str, jobs: list[dict], workdir: str, timeout: float) -> dict[str, dict]:
    """Run ``jobs`` in one Lava subprocess; results by job id (an ``error`` entry on failure)."""
    spec = os.path.join(workdir, f"lava_jobs_{jobs[0]['id']}.json")
    with open(spec, "w") as f:
        json.dump({"jobs": jobs}, f)
    results: dict[str, dict] = {}
    with tempfile.TemporaryFile("w+") as stderr:
        try:
            done = subprocess.run([python, "-c", LAVA_SCRIPT, spec], stdout=subprocess.PIPE,
                                  stderr=stderr, text=True, timeout=timeout, cwd=workdir)
            stdout, failure = done.stdout, (None if done.returncode == 0
                                            else f"exit code {done.returncode}")
        except subprocess.TimeoutExpired as exc:
            stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            failure = f"timed out after {timeout:.0f} s"
        stderr.seek(0)
        tail = stderr.read()[-1500:]
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            results[result.pop("id")] = result
    for job in jobs:
        if job["id"] not in results:
            results[job["id"]] = {"ok_run": False,
                                  "error": f"Lava subprocess: {failure or 'no result'}; "
                                           f"stderr tail: {tail}"}
    return results
