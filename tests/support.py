"""What the tests share, in one place.

- :class:`Placement` and :data:`PLACEMENTS`: where a graph runs (in the user's process, one
  worker, two workers, one worker per Process, the emulated chip); the ``placement`` fixture
  of ``conftest.py`` runs a test on each of them that applies.
- Small test Processes with one clear behaviour each: :class:`Ramp` (sends its step number),
  :class:`StepCounter` (counts steps in a Var), :class:`Alarm` (asks the runtime to pause
  or stop at a step).
- The recorded Lava 0.10 reference traces: :func:`load_trace`, :func:`build` (the traced
  network through the public API), :func:`recorded`, and the checks a replay must pass,
  :func:`assert_bit_for_bit` and :func:`assert_close_to_float_trace`.
- Checks on OS processes: :func:`alive`, :func:`gone`, :func:`emulators`; the chip's
  RunConfig (:func:`chip`) and compile-time refusals (:func:`refused`).
- :func:`registry_snapshot`: the model registry put back as it was.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from lava_lite import (CompileError, LoihiProcessModel, OutPort, OutPortType, Process,
                       RunConfig, RunSteps, Var, VarPort, VarPortType, VarType, implements,
                       tag)
from lava_lite.model import REGISTRY
from lava_lite.proc_lib import LIF, Dense, Monitor, SourceRingBuffer


# -- placements ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Placement:
    """Where a graph runs: the ``workers`` and ``target`` of its RunConfig.

    Parameters
    ----------
    id : str
        The name pytest shows for it (``in_process``, ``one_worker``, ...).
    workers : int or str
        ``RunConfig.workers``: 0 (the user's process), N, or ``"per_process"``.
    target : str or None
        ``RunConfig.target``: ``"chip"`` for the emulated chip, else None.
    """

    id: str
    workers: int | str
    target: str | None = None

    @property
    def on_chip(self) -> bool:
        """Whether the graph's chip models run on the emulated chip."""
        return self.target == "chip"

    def run_cfg(self, **options) -> RunConfig:
        """A RunConfig for this placement.

        Parameters
        ----------
        **options
            The other RunConfig fields (``select_tag``, ``timeout``, ...). On the chip,
            ``select_tag`` picks the models of the Processes the chip does not run.
        """
        return RunConfig(workers=self.workers, target=self.target, **options)


IN_PROCESS = Placement("in_process", 0)
ONE_WORKER = Placement("one_worker", 1)
TWO_WORKERS = Placement("two_workers", 2)
PER_PROCESS = Placement("per_process", "per_process")
CHIP = Placement("chip", 0, target="chip")
CPU_PLACEMENTS = (IN_PROCESS, ONE_WORKER, TWO_WORKERS, PER_PROCESS)  # the fixture's default
PLACEMENTS = (*CPU_PLACEMENTS, CHIP)  # with @pytest.mark.fixed_point
# Named by the placements marker only: a finer cut than two workers, for placement checks,
# and the chip driven from a worker process rather than from the user's.
THREE_WORKERS = Placement("three_workers", 3)
CHIP_FROM_A_WORKER = Placement("chip_from_a_worker", 1, target="chip")
BY_ID = {placement.id: placement
         for placement in (*PLACEMENTS, THREE_WORKERS, CHIP_FROM_A_WORKER)}


# -- test Processes ------------------------------------------------------------------------------
class Ramp(Process):
    """Sends its step number times ``scale`` (into ``last`` first); raises at ``fail_at``.

    Parameters
    ----------
    shape : tuple
        Shape of ``out`` and ``last``.
    scale : float
        Factor on the step number (a Var: may be set between runs).
    fail_at : int
        Step at which the model raises ZeroDivisionError (0: never).
    """

    def __init__(self, *, shape=(3,), scale=1.0, fail_at=0, name=None):
        super().__init__(name=name)
        self.out = OutPort(shape)
        self.scale = Var((1,), init=scale)
        self.last = Var(shape, init=0)
        self.proc_params["fail_at"] = fail_at


@implements(proc=Ramp)
@tag("floating_pt")
class RampModel(LoihiProcessModel):
    out = OutPortType(np.float64)
    scale = VarType(np.float64)
    last = VarType(np.int64)

    def run_spk(self):
        if self.time_step == self.proc_params["fail_at"]:
            raise ZeroDivisionError("ramp exploded on purpose")
        self.last[:] = self.time_step
        self.out.send(self.last * self.scale)


class StepCounter(Process):
    """Adds 1 to ``count`` in every spike phase: a Var to read and write through RefPorts.

    Parameters
    ----------
    shape : tuple
        Shape of ``count``.
    explicit_port : bool
        Also declare a VarPort ``count_port`` on ``count``.
    shareable : bool
        Whether RefPorts may reach ``count``.
    """

    def __init__(self, *, shape=(3,), explicit_port=False, shareable=True, name=None):
        super().__init__(name=name)
        self.count = Var(shape, init=0, shareable=shareable)
        if explicit_port:
            self.count_port = VarPort(self.count)


@implements(proc=StepCounter)
class StepCounterModel(LoihiProcessModel):
    count = VarType(np.int64)
    count_port = VarPortType(np.int64)

    def run_spk(self):
        self.count += 1


class Alarm(Process):
    """Counts steps and sends the count; asks to ``action`` ('pause' or 'stop') at step
    ``at``.

    Parameters
    ----------
    at : int
        The step at which the model asks.
    action : str
        ``"pause"`` or ``"stop"``.
    """

    def __init__(self, *, at, action="stop", name=None):
        super().__init__(name=name)
        self.out = OutPort((1,))
        self.count = Var((1,), init=0)
        self.proc_params.update(at=at, action=action)


@implements(proc=Alarm)
class AlarmModel(LoihiProcessModel):
    controls_run = True
    out = OutPortType(np.float64)
    count = VarType(np.int64)

    def run_spk(self):
        self.count += 1
        self.out.send(self.count)
        if self.time_step == self.proc_params["at"]:
            getattr(self, f"request_{self.proc_params['action']}")()


# -- the recorded reference traces ---------------------------------------------------------------
FLOAT_TRACE = "lava010_floating_pt_seed13.npz"
FIXED_SEEDS = (11, 12)


def fixed_trace(seed: int) -> str:
    return f"lava010_fixed_pt_seed{seed}.npz"


def reference_dir() -> Path:
    """``../shared/reference`` beside the repository, or ``$LAVA_LITE_REFERENCE_DIR``; the
    test is skipped if neither exists."""
    env = os.environ.get("LAVA_LITE_REFERENCE_DIR")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "reference"
    if not path.is_dir():
        pytest.skip(f"reference traces not found at {path} (set LAVA_LITE_REFERENCE_DIR)")
    return path


def load_trace(name: str) -> tuple[dict, dict]:
    """The arrays of a trace file and its ``meta`` dictionary."""
    with np.load(reference_dir() / name) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return arrays, json.loads(str(arrays.pop("meta")))


def build(arrays: dict, meta: dict):
    """The traced network; returns (source, monitor, {population name: LIF})."""
    def lif(name, n):
        params = meta[f"lif_{name}"]
        return LIF(shape=(n,), du=params["du"], dv=params["dv"], vth=params["vth"],
                   bias_mant=arrays[f"{name}_bias_mant"], bias_exp=arrays[f"{name}_bias_exp"],
                   name=f"lif_{name}")

    def dense(weights, key, name):
        return Dense(weights=weights, name=name, **(meta.get(key) or {}))

    source = SourceRingBuffer(data=arrays["spikes_in"], name="source")
    a, b = lif("a", meta["n_a"]), lif("b", meta["n_b"])
    d1, d2 = dense(arrays["W1"], "dense1", "dense1"), dense(arrays["W2"], "dense2", "dense2")
    source.s_out.connect(d1.s_in)
    d1.a_out.connect(a.a_in)
    a.s_out.connect(d2.s_in)
    d2.a_out.connect(b.a_in)
    if meta["recurrent"]:
        rec = dense(arrays["R"], "dense_rec", "dense_rec")
        a.s_out.connect(rec.s_in)
        rec.a_out.connect(a.a_in)
    monitor = Monitor(name="monitor")
    for population in (a, b):
        monitor.probe(population.u, meta["T"])
        monitor.probe(population.v, meta["T"])
        monitor.probe(population.s_out, meta["T"])
    return source, monitor, {"a": a, "b": b}


def reference(seed: int):
    """The fixed-point trace of ``seed`` and its network: (arrays, meta, source, monitor,
    populations)."""
    arrays, meta = load_trace(fixed_trace(seed))
    return arrays, meta, *build(arrays, meta)


def chip_models(meta: dict) -> dict[str, str]:
    """The model each Process of the traced network gets with ``target="chip"``."""
    return {"source": "PySourceRingBufferFixed", "lif_a": "ChipLif", "lif_b": "ChipLif",
            "dense1": "ChipDense", "dense2": "ChipDense",
            **({"dense_rec": "ChipDense"} if meta["recurrent"] else {})}


def recorded(monitor: Monitor) -> dict[str, np.ndarray]:
    """Monitor data keyed like the trace arrays: a_u, a_v, a_s, b_u, ..."""
    data = monitor.get_data()
    return {f"{pop}_{key[0]}": data[f"lif_{pop}"][key]
            for pop in ("a", "b") for key in ("u", "v", "s_out")}


def assert_bit_for_bit(got: dict, arrays: dict, label: str) -> None:
    """A fixed-point replay: integer state (int32), 1-bit spikes, every value equal to
    Lava's, spikes in both populations; a difference names the first step and neuron."""
    for key, value in got.items():
        assert value.dtype == (np.bool_ if key.endswith("_s") else np.int32), key
        ref = arrays[key].astype(np.int64)
        bad = np.argwhere(value.astype(np.int64) != ref)
        assert bad.size == 0, (f"{label}: {key} differs first at step {bad[0][0] + 1}, neuron "
                               f"{bad[0][1]}: got {value[tuple(bad[0])]}, Lava "
                               f"{ref[tuple(bad[0])]}")
    assert got["a_s"].any() and got["b_s"].any()


def assert_close_to_float_trace(got: dict, arrays: dict, label: str) -> None:
    """A floating-point replay: every value within 1e-9 of Lava's."""
    for key, value in got.items():
        np.testing.assert_allclose(value, arrays[key], rtol=0, atol=1e-9,
                                   err_msg=f"{label}: {key}")


# -- OS processes --------------------------------------------------------------------------------
EMULATOR = "lava_lite.runtimes.chip.emulator"


def alive(pid: int) -> bool:
    """Running; a zombie (dead, not yet reaped) counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def gone(pids, within: float = 5.0) -> bool:
    """True once none of ``pids`` is alive, False if some still are after ``within`` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(alive(pid) for pid in pids):
            return True
        time.sleep(0.02)
    return False


def parent_of(pid: int) -> int | None:
    """The parent's pid, from /proc (None if ``pid`` is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _is_emulator(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return EMULATOR.encode() in f.read()
    except OSError:
        return False


def emulators(ancestor: int | None = None) -> set[int]:
    """Live emulated chips descending from ``ancestor`` (default: this process)."""
    ancestor = os.getpid() if ancestor is None else ancestor
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _is_emulator(int(entry)) and alive(int(entry)):
            pid = int(entry)
            while pid not in (None, 0, 1, ancestor):
                pid = parent_of(pid)
            if pid == ancestor:
                found.add(int(entry))
    return found


def chip(workers=0, **options) -> RunConfig:
    """A RunConfig for the emulated chip; ``options`` are its ``chip_options``."""
    return RunConfig(target="chip", workers=workers, chip_options=options or None)


def refused(process, run_cfg: RunConfig) -> str:
    """The CompileError text of running ``process``'s graph, checking nothing started
    (no session, no emulated chip)."""
    with pytest.raises(CompileError) as info:
        process.run(RunSteps(1), run_cfg)
    assert process._session is None and not emulators()
    return str(info.value)


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the model registry --------------------------------------------------------------------------


@contextlib.contextmanager
def registry_snapshot():
    """Put ``lava_lite.model.REGISTRY`` back as it was on leaving, so that the models a test
    defines in its own body (classes whose qualified name has ``<locals>``) do not leak
    into other tests. Models of modules first imported inside (module-level classes: the
    module stays imported) are kept registered."""
    saved = REGISTRY.snapshot()
    before = set(REGISTRY.models())
    try:
        yield REGISTRY
    finally:
        lasting = [model for model in REGISTRY.models()
                   if model not in before and "<locals>" not in model.__qualname__]
        REGISTRY.restore(saved)
        for model in lasting:
            REGISTRY.register(model)
