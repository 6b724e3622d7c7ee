"""The emulated neuromorphic chip (RunConfig(target="chip")): the recorded Lava fixed_pt traces
bit for bit on the chip (also split over several cores), mixed CPU/chip graphs equal to the
fixed-point CPU run, the emulator in its own OS process and ended with the run (stop, model
failure, the user's process dying), get/set, probes, pause, and compile-time refusals.

Tests of a running chip drive it from the user's process (workers=0) and from a worker
process (workers=1): the placements ``chip`` and ``chip_from_a_worker``.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from lava_lite import (CPU, CompileError, InPort, InPortType, LoihiProcessModel, OutPort,
                       OutPortType, Process, ProcessModelError, RunConfig, RunContinuous,
                       RunSteps, implements, requires, tag)
from lava_lite.compiler import compile_graph
from lava_lite.proc_lib import LIF, Dense, Monitor, SinkRingBuffer, SourceRingBuffer, Sparse
from lava_lite.proc_lib.dense.models import PyDenseFixed
from support import (EMULATOR, FIXED_SEEDS, alive, assert_bit_for_bit, chip, chip_models,
                     emulators, free_port, gone, parent_of, recorded, reference, reference_dir,
                     refused)



def fixed(workers=0) -> RunConfig:
    return RunConfig(select_tag="fixed_pt", workers=workers)


# -- the recorded traces, bit for bit ------------------------------------------------------------
@pytest.mark.parametrize("seed", FIXED_SEEDS)
def test_reference_trace_bit_for_bit_on_a_chip_driven_from_a_worker(seed):
    """(On a chip driven from the user's process, and on every CPU placement:
    test_behaviour.py.)"""
    arrays, meta, source, monitor, pops = reference(seed)
    try:
        source.run(RunSteps(meta["T"] // 2), chip(1))
        plan = source._session.plan
        models = {p.name: p.model.rsplit(":", 1)[-1] for p in plan.processes}
        assert models == chip_models(meta)
        assert "target 'chip'" in plan.process(1).model_choice
        # the chip is an OS process of its own, a child of the process hosting the partition
        (pid,) = emulators()
        assert pid != os.getpid() and alive(pid)
        worker_pids = {p.pid for p in source._session.runtime.processes}
        assert pid not in worker_pids and parent_of(pid) in worker_pids
        source.run(RunSteps(meta["T"] - meta["T"] // 2), chip(1))
        got = recorded(monitor)
    finally:
        source.stop()
    assert gone([pid]), "the emulated chip outlived stop()"
    assert_bit_for_bit(got, arrays, f"seed {seed}, workers=1")


@pytest.mark.placements("chip", "chip_from_a_worker")
def test_populations_split_across_cores_bit_for_bit(placement):
    arrays, meta, source, monitor, _ = reference(12)  # lif_a: 12 neurons, lif_b: 6
    options = dict(neurons_per_core=4, synapses_per_core=100)
    if placement.workers == 0:
        compiled = compile_graph(source, chip(placement.workers, **options))
        assert compiled.plan.device_options == {"chip": options}
    try:
        source.run(RunSteps(meta["T"]), chip(placement.workers, **options))
        if placement.workers == 0:
            mapping = source._session.runtime.executor.partitions[0].mapping
            assert mapping.cores["lif_a"] == [0, 1, 2] and mapping.cores["lif_b"] == [3, 4]
            # the rows of each Dense live on the cores of the neurons they feed
            assert mapping.cores["dense1"] == [0, 1, 2] and mapping.cores["dense2"] == [3, 4]
        got = recorded(monitor)
    finally:
        source.stop()
    assert_bit_for_bit(got, arrays, f"4 neurons per core, workers={placement.workers}")


def test_synapse_memory_splits_a_population():
    """With 40 synapses per core, lif_a (fan-in 10 + 12 per neuron) fits 1 neuron per core."""
    arrays, meta, source, monitor, _ = reference(12)
    try:
        source.run(RunSteps(meta["T"]), chip(0, synapses_per_core=40))
        assert source._session.runtime.executor.partitions[0].mapping.cores["lif_a"] == \
            list(range(12))
        got = recorded(monitor)
    finally:
        source.stop()
    assert_bit_for_bit(got, arrays, "40 synapses per core")


# -- one build function, three backends -------------------------------------------------------
def build_network(seed: int = 3, steps: int = 50):
    """source -> Dense -> LIF a (recurrent Sparse) -> Dense -> LIF b; probes on a and b."""
    rng = np.random.default_rng(seed)
    source = SourceRingBuffer(data=(rng.random((8, steps)) < 0.3).astype(np.int32),
                              name="source")
    d1 = Dense(weights=rng.integers(0, 120, (10, 8)), name="d1")
    a = LIF(shape=(10,), du=400, dv=600, vth=120, bias_mant=rng.integers(0, 40, 10),
            bias_exp=2, name="a")
    rec = Sparse(weights=np.where(rng.random((10, 10)) < 0.3,
                                  rng.integers(-100, 100, (10, 10)), 0),
                 weight_exp=1, num_weight_bits=7, name="rec")
    d2 = Dense(weights=rng.integers(-50, 200, (4, 10)), weight_exp=-1, name="d2")
    b = LIF(shape=(4,), du=100, dv=1000, vth=60, name="b")
    source.s_out.connect(d1.s_in)
    d1.a_out.connect(a.a_in)
    a.s_out.connect(rec.s_in)
    rec.a_out.connect(a.a_in)
    a.s_out.connect(d2.s_in)
    d2.a_out.connect(b.a_in)
    monitor = Monitor(name="monitor")
    for lif in (a, b):
        monitor.probe(lif.v, steps)
        monitor.probe(lif.s_out, steps)
    monitor.probe(d2.a_out, steps)
    return source, monitor


def test_one_build_function_three_backends():
    runs = {}
    for label, run_cfg in (("float", RunConfig(select_tag="floating_pt", workers=0)),
                           ("fixed", fixed()), ("chip", chip())):
        source, monitor = build_network()
        try:
            source.run(RunSteps(50), run_cfg)
            runs[label] = monitor.get_data()
        finally:
            source.stop()
    assert runs["float"]["a"]["v"].dtype == np.float64
    assert runs["fixed"]["a"]["v"].dtype == runs["chip"]["a"]["v"].dtype == np.int32
    for name in ("a", "b", "d2"):
        for key, value in runs["fixed"][name].items():
            assert np.array_equal(runs["chip"][name][key], value), (name, key)
    assert runs["chip"]["a"]["s_out"].any() and runs["chip"]["b"]["s_out"].any()


# -- mixed graphs -----------------------------------------------------------------------------
class Relay(Process):
    """Passes its input on in the same step (a CPU Process with no delay)."""

    def __init__(self, *, shape, name=None):
        super().__init__(name=name)
        self.a_in = InPort(shape)
        self.s_out = OutPort(shape)


@implements(proc=Relay)
@requires(CPU)
@tag("fixed_pt")
class PyRelay(LoihiProcessModel):
    a_in = InPortType(np.int32)
    s_out = OutPortType(np.int32)

    def run_spk(self):
        self.s_out.send(self.a_in.recv())


def build_mixed(steps: int = 40):
    """CPU source -> chip Dense -> (permuted) chip LIF, which also gets a current straight
    from a CPU source; its spikes (permuted, concatenated with a second LIF's) -> chip Sparse
    -> CPU sink; the spikes also go to a CPU sink, and back into the LIF through a CPU Dense
    (a delayed path leaving the chip and re-entering it)."""
    rng = np.random.default_rng(7)
    source = SourceRingBuffer(data=(rng.random((6, steps)) < 0.4).astype(np.int32),
                              name="source")
    current = SourceRingBuffer(data=rng.integers(-20, 20, (2, 3, steps)), name="current")
    current2 = SourceRingBuffer(data=rng.integers(0, 30, (3, steps)), name="current2")
    dense = Dense(weights=rng.integers(-60, 255, (6, 6)), name="dense")
    lif = LIF(shape=(2, 3), du=300, dv=900, vth=6000, name="lif")
    lif2 = LIF(shape=(3,), du=200, dv=500, vth=200, name="lif2")
    sparse = Sparse(weights=np.where(rng.random((5, 9)) < 0.5, rng.integers(1, 90, (5, 9)), 0),
                    name="sparse")
    back = Dense(weights=rng.integers(-90, 90, (6, 6)), weight_exp=-2, name="back")
    sink = SinkRingBuffer(shape=(5,), buffer=steps, name="sink")
    spikes = SinkRingBuffer(shape=(2, 3), buffer=steps, name="spikes")
    source.s_out.connect(dense.s_in)
    dense.a_out.reshape((3, 2)).transpose().connect(lif.a_in)
    current.s_out.connect(lif.a_in)
    current2.s_out.connect(lif2.a_in)
    lif.s_out.transpose().flatten().concat_with(lif2.s_out).connect(sparse.s_in)
    sparse.a_out.connect(sink.a_in)
    lif.s_out.connect(spikes.a_in)
    lif.s_out.flatten().connect(back.s_in)
    back.a_out.reshape((2, 3)).connect(lif.a_in)
    monitor = Monitor(name="monitor")
    monitor.probe(lif.u, steps)
    monitor.probe(lif2.v, steps)
    monitor.probe(sparse.a_out, steps)
    return source, (sink, spikes, lif, monitor), back


@pytest.mark.placements("in_process", "one_worker", "per_process")
def test_mixed_graph_cpu_source_and_sink(placement):
    results = {}
    for label in ("fixed", "chip"):
        source, (sink, spikes, lif, monitor), back = build_mixed()
        run_cfg = fixed(placement.workers) if label == "fixed" else RunConfig(
            target="chip", workers=placement.workers,
            exception_proc_model_map={back: PyDenseFixed}, chip_options={"neurons_per_core": 4})
        try:
            source.run(RunSteps(40), run_cfg)
            if label == "chip":
                plan = source._session.plan
                where = {p.name: p.model.rsplit(":", 1)[-1] for p in plan.processes}
                assert where["back"] == "PyDenseFixed" and where["sink"].startswith("PySink")
                assert where["dense"] == "ChipDense" and where["sparse"] == "ChipSparse"
                on_chip = {p.worker for p in plan.processes if p.model.startswith(
                    "lava_lite.proc_lib") and p.model.rsplit(":", 1)[-1].startswith("Chip")}
                assert len(on_chip) == 1  # the chip's Processes share one worker
            results[label] = (sink.data.get(), spikes.data.get(), lif.v.get(),
                              monitor.get_data())
        finally:
            source.stop()
    (sink_f, spikes_f, v_f, mon_f), (sink_c, spikes_c, v_c, mon_c) = results["fixed"], \
        results["chip"]
    assert spikes_c.any() and sink_c.any() and mon_c["lif2"]["v"].any()
    assert np.array_equal(sink_c, sink_f) and np.array_equal(spikes_c, spikes_f)
    assert np.array_equal(v_c, v_f)
    for name, key in (("lif", "u"), ("lif2", "v"), ("sparse", "a_out")):
        assert np.array_equal(mon_c[name][key], mon_f[name][key]), (name, key)


def test_zero_delay_path_leaving_and_reentering_the_chip_is_refused():
    a = LIF(shape=(3,), name="a")
    relay = Relay(shape=(3,), name="relay")
    b = LIF(shape=(3,), name="b")
    a.s_out.connect(relay.a_in)
    relay.s_out.connect(b.a_in)
    d = Dense(weights=np.eye(3, dtype=int), name="d")
    b.s_out.connect(d.s_in)
    d.a_out.connect(a.a_in)
    with pytest.raises(CompileError) as info:
        a.run(RunSteps(1), chip())
    message = str(info.value)
    for part in ("chip", "'relay'", "leaves the chip at ['a']", "comes back at ['b']"):
        assert part in message, (part, message)
    assert a._session is None and not emulators()
    # the same graph is fine on the CPU
    try:
        a.run(RunSteps(2), fixed())
    finally:
        a.stop()


def test_edge_the_chip_cannot_build_is_refused():
    a, b = LIF(shape=(3,), name="a"), LIF(shape=(3,), name="b")
    a.s_out.connect(b.a_in)
    with pytest.raises(CompileError, match=r"'b'.*a\.s_out -> b\.a_in cannot be built.*"
                                           r"through synapses"):
        a.run(RunSteps(1), chip())
    assert not emulators()


# -- refusals before any step ---------------------------------------------------------------------
def test_too_many_cores_refused():
    _, _, source, _, _ = reference(12)
    message = refused(source, chip(num_cores=4, neurons_per_core=4))
    for part in ("'lif_b'", "needs 5 cores", "'lif_a': 3", "4 cores (num_cores)",
                 "4 neurons"):
        assert part in message, (part, message)


def test_too_many_synapses_for_one_neuron_refused():
    _, _, source, _, _ = reference(12)  # lif_a neurons have 10 + 12 synapses each
    message = refused(source, chip(synapses_per_core=20))
    for part in ("'lif_a'", "neuron 0 alone needs 22 synapses", "20 synapses per core"):
        assert part in message, (part, message)


def test_parameters_the_chip_cannot_represent_refused():
    source = SourceRingBuffer(data=np.ones((3, 2), np.int32), name="source")
    dense = Dense(weights=np.ones((2, 3), int), num_message_bits=32, name="dense")
    lif = LIF(shape=(2,), name="lif")
    source.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    message = refused(source, chip())
    for part in ("'dense'", "num_message_bits = 32", "at most 24 bits"):
        assert part in message, (part, message)
    lif2 = LIF(shape=(2,), du=5000, name="lif2")
    message = refused(lif2, chip())
    for part in ("'lif2'", "ChipLif", "du = 5000", "[0, 4095]"):
        assert part in message, (part, message)


@pytest.mark.parametrize("options,text", [
    (dict(cores=3), "chip_options['cores']"),
    (dict(neurons_per_core=0), "neurons_per_core"),
    (dict(address="http://x"), "ipc:// or tcp://"),
])
def test_bad_chip_options_refused(options, text):
    lif = LIF(shape=(2,), name="lif")
    assert text in refused(lif, chip(**options))


def test_run_config_target_is_validated():
    with pytest.raises(ValueError, match="target"):
        RunConfig(target="gpu")
    with pytest.raises(TypeError, match="chip_options"):
        RunConfig(target="chip", chip_options=[1])
    lif = LIF(shape=(2,), name="lif")
    plan = compile_graph(lif, RunConfig(target="cpu", select_tag="fixed_pt")).plan
    assert plan.process(0).model.endswith("PyLifFixed") and plan.device_options == {}


# -- get/set, pause, probes -----------------------------------------------------------------------
@pytest.mark.placements("chip", "chip_from_a_worker")
def test_get_set_of_chip_vars(placement):
    def session(run_cfg):
        arrays, meta, source, monitor, pops = reference(12)
        a, dense = pops["a"], source.s_out.out_connections[0].process
        out = {}
        try:
            source.run(RunSteps(20), run_cfg)
            out["u20"], out["v20"], out["du"] = a.u.get(), a.v.get(), a.du.get()
            out["w"] = dense.weights.get()
            a.v.set(np.arange(12) * 500)
            a.du.set([2000])
            dense.weights.set(np.asarray(arrays["W1"])[::-1] * 3)  # clipped, truncated
            source.run(RunSteps(20), run_cfg)
            out["v40"], out["du40"], out["w40"] = a.v.get(), a.du.get(), dense.weights.get()
            out["trace"] = recorded(monitor)
        finally:
            source.stop()
        return out, arrays

    chip_run, arrays = session(chip(placement.workers))
    cpu_run, _ = session(fixed(placement.workers))
    assert np.array_equal(chip_run["u20"], arrays["a_u"][19])
    assert chip_run["du"].dtype == np.uint16 and chip_run["du"].tolist() == [3777]
    assert np.array_equal(chip_run["w"], arrays["W1"])  # weights as given, not quantized
    assert chip_run["du40"].tolist() == [2000]
    for key, value in cpu_run.items():
        if key == "trace":
            for k, v in value.items():
                assert np.array_equal(chip_run["trace"][k], v), k
        else:
            assert np.array_equal(chip_run[key], value), key
            assert chip_run[key].dtype == value.dtype, key


@pytest.mark.placements("chip", "chip_from_a_worker")
def test_run_continuous_pause_and_stop(placement):
    arrays, meta, source, monitor, pops = reference(11)
    try:
        source.run(RunContinuous(), chip(placement.workers))
        (pid,) = emulators()
        time.sleep(0.3)
        source.pause()
        steps = source._session.current_step
        assert steps > 0 and alive(pid)
        u = pops["b"].u.get()
        source.run(RunSteps(5), chip(placement.workers))
        assert source._session.current_step == steps + 5
        v = pops["b"].v.get()
    finally:
        source.stop()
    assert gone([pid])
    expected = {}
    _, _, source, _, pops = reference(11)
    try:
        source.run(RunSteps(steps), fixed())
        expected["u"] = pops["b"].u.get()
        source.run(RunSteps(5), fixed())
        expected["v"] = pops["b"].v.get()
    finally:
        source.stop()
    assert np.array_equal(u, expected["u"]) and np.array_equal(v, expected["v"])


# -- failures end the chip ------------------------------------------------------------------------
@pytest.mark.placements("chip", "chip_from_a_worker")
def test_model_failure_on_chip_names_the_process_and_ends_the_chip(placement):
    """strict_overflow on the chip: v of neuron 1 saturates at step 17 (as on the CPU)."""
    lif = LIF(shape=(3,), bias_mant=[0, 4095, 0], bias_exp=[0, 7, 0], vth=(1 << 17) - 1,
              strict_overflow=True, name="lif")
    source = SourceRingBuffer(data=np.zeros((3, 2), np.int32), name="source")
    source.s_out.connect(lif.a_in)
    try:
        source.run(RunSteps(2), chip(placement.workers))
        (pid,) = emulators()
        with pytest.raises(ProcessModelError) as info:
            source.run(RunSteps(20), chip(placement.workers))
    finally:
        source.stop()
    error = info.value
    assert error.process_name == "lif" and error.model == "ChipLif"
    assert error.time_step == 17
    for part in ("neuron 1", "'v'", "saturation", "state is left as it was"):
        assert part in str(error), (part, str(error))
    assert gone([pid]), "the emulated chip outlived the failed run"


@pytest.mark.placements("chip", "chip_from_a_worker")
def test_chip_killed_during_a_run_is_reported(placement):
    _, _, source, _, _ = reference(12)
    try:
        source.run(RunContinuous(), chip(placement.workers))
        (pid,) = emulators()
        time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(ProcessModelError, match=r"(?s)chip\[.*ended \(killed by signal "
                                                    r"SIGKILL\)"):
            source.wait()
    finally:
        source.stop()


def _user_script(tmp_path, workers: int, then: str) -> subprocess.Popen:
    """A user's script running the reference network on the chip (RunContinuous)."""
    reference_dir()  # skips here (not in the child) where the traces are not found
    script = tmp_path / "user.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        import support
        from lava_lite import RunConfig, RunContinuous
        arrays, meta = support.load_trace(support.fixed_trace(12))
        source, monitor, _ = support.build(arrays, meta)
        source.run(RunContinuous(), RunConfig(target="chip", workers={workers}))
        print("running", flush=True)
        {then}
    """))
    user = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert user.stdout.readline().strip() == "running"
    return user


@pytest.mark.placements("chip", "chip_from_a_worker")
def test_chip_ends_when_the_users_process_dies(tmp_path, placement):
    user = _user_script(tmp_path, placement.workers, "time.sleep(60)")
    try:
        (pid,) = emulators(user.pid)
        user.kill()  # no cleanup code runs in the user's process
        user.wait()
        assert gone([pid]), "the emulated chip outlived the user's process"
    finally:
        if user.poll() is None:
            user.kill()
            user.wait()


@pytest.mark.placements("chip", "chip_from_a_worker")
def test_ctrl_c_ends_the_chip(tmp_path, placement):
    user = _user_script(tmp_path, placement.workers, textwrap.dedent("""
        try:
            print("waiting", flush=True)
            source.wait()
        except KeyboardInterrupt:
            print("interrupted", flush=True)
    """).replace("\n", "\n        "))
    try:
        (pid,) = emulators(user.pid)
        assert user.stdout.readline().strip() == "waiting"
        time.sleep(0.2)
        user.send_signal(signal.SIGINT)
        out, _ = user.communicate(timeout=10)
        assert "interrupted" in out and user.returncode == 0
        assert gone([pid]), "the emulated chip outlived Ctrl-C"
    finally:
        if user.poll() is None:
            user.kill()
            user.wait()


# -- a chip started by the user -------------------------------------------------------------------
def test_emulator_at_a_user_given_address():
    address = f"tcp://127.0.0.1:{free_port()}"
    script = os.path.join(os.path.dirname(sys.executable), "lava-lite-chip")
    command = [script] if os.path.exists(script) else [sys.executable, "-m", EMULATOR]
    server = subprocess.Popen([*command, "--address", address, "--num-cores", "4",
                               "--neurons-per-core", "8"], stderr=subprocess.PIPE, text=True)
    try:
        assert "listening on" in server.stderr.readline()
        for seed in (11, 12):  # two runs, one after the other, on the same chip
            arrays, meta, source, monitor, _ = reference(seed)
            try:
                source.run(RunSteps(meta["T"]), chip(1, address=address))
                assert not emulators() - {server.pid}  # no chip of its own was started
                got = recorded(monitor)
            finally:
                source.stop()
            assert_bit_for_bit(got, arrays, f"seed {seed} on {address}")
        assert server.poll() is None  # the user's chip keeps running after stop
        # The chip's own limits count (the compile-time check knows only chip_options):
        # 40 neurons need 5 of its 4 cores of 8, refused when the run starts.
        lif = LIF(shape=(40,), name="big")
        try:
            with pytest.raises(ProcessModelError, match=r"(?s)'big'.*chip configuration.*"
                                                        r"4 cores \(num_cores\)"):
                lif.run(RunSteps(1), chip(0, address=address))
        finally:
            lif.stop()
        assert server.poll() is None
    finally:
        server.terminate()
        server.wait(5)


# -- the driver on its own ------------------------------------------------------------------------
def test_driver_runs_n_steps_and_reads_state():
    """ZmqChipDriver against its own emulator: load, inject, run N steps, read outputs and
    state, write state; equal to the chip partition's step-by-step run."""
    from lava_lite.runtimes.chip.config import ChipLimits
    from lava_lite.runtimes.chip.mapping import map_partition
    from lava_lite.runtimes.chip.partition import chip_members
    from lava_lite.runtimes.chip.zmq_driver import ZmqChipDriver

    arrays, meta, source, monitor, pops = reference(12)
    plan = compile_graph(source, chip()).plan
    mapping = map_partition(chip_members(plan), plan.channels, ChipLimits())
    assert [(plan.process(pid).name, port) for pid, port, _ in mapping.inputs] == \
        [("dense1", "s_in")]
    driver = ZmqChipDriver()
    try:
        info = driver.open()
        assert info.pid == driver.pid and info.limits.neurons_per_core == 1024
        assert parent_of(info.pid) == os.getpid()
        driver.load(mapping.config)
        spikes = arrays["spikes_in"].astype(np.int32)
        for t in range(10):  # one step at a time, as the partition does
            result = driver.step([spikes[:, t]])
        assert result.step == 10
        u10 = driver.read_state("lif_a", "u")
        assert np.array_equal(u10, arrays["a_u"][9])
        driver.inject([spikes[:, 10]])  # inject + run + read_outputs, as separate calls
        driver.run(1)
        driver.inject([spikes[:, 11]])
        driver.run(1)
        assert driver.read_outputs().step == 12
        assert np.array_equal(driver.read_state("lif_b", "v"), arrays["b_v"][11])
        driver.write_state("lif_b", "v", np.zeros(6, np.int32))
        assert not driver.read_state("lif_b", "v").any()
        driver.inject([np.zeros(10, np.int32)])  # N steps in one request
        driver.run(5)
        assert driver.read_outputs().step == 17
        weights = driver.read_state("dense1", "weights")  # the quantized synapse table
        assert weights.shape == (12, 10) and np.all(weights % 4 == 0)  # 6 of 8 bits kept
    finally:
        driver.close()
    assert gone([info.pid])


def test_chip_answers_malformed_requests_with_errors_and_runs_on():
    import msgpack
    import zmq

    from lava_lite.runtimes.chip import protocol
    from lava_lite.runtimes.chip.zmq_driver import ChipRequestError, ZmqChipDriver

    driver = ZmqChipDriver()
    context = zmq.Context()
    other = context.socket(zmq.DEALER)
    try:
        info = driver.open()
        other.connect(driver.address)
        bad = [[b"\xc1garbage"],  # not msgpack
               [msgpack.packb({"op": "run", "seq": 1, "body": {},
                               "arrays": [["in0", "<i4", [2]]]})],  # announced, not sent
               [msgpack.packb({"op": "eval", "seq": 2, "body": {}, "arrays": []})],
               [msgpack.packb({"op": "run", "seq": 3, "body": {}, "arrays": [["x", "|O", [1]]]}),
                b"12345678"],
               protocol.encode("run", 4, {"num_steps": 1})]  # nothing loaded yet
        for frames in bad:
            other.send_multipart(frames)
            assert other.poll(5000)
            reply = protocol.decode(other.recv_multipart(), protocol.REPLIES)
            assert reply.op == "error"
            assert protocol.parse(protocol.ErrorBody, reply.body).kind in ("protocol", "state")
        with pytest.raises(ChipRequestError, match="no configuration"):
            driver.run(1)
        assert driver._request("hello").body["pid"] == info.pid  # still serving
    finally:
        other.close(0)
        context.term()
        driver.close()
    assert gone([info.pid])
