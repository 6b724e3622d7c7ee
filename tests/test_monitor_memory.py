"""Monitor memory (issue 11, case 7): probe storage grows with the steps recorded, not with
``num_steps``; plain probes give the data they always gave, wherever the Processes run; a
rolling window (``buffer=N``) keeps the last N steps, oldest first."""
import numpy as np
import pytest

import support
from lava_lite import RunConfig, RunSteps
from lava_lite.plan import ProbePlan
from lava_lite.probing import assemble
from lava_lite.proc_lib import LIF, Dense, Monitor, SinkRingBuffer, SourceRingBuffer
from lava_lite.runtimes import probes

CONFIGS = {
    "in_process": RunConfig(select_tag="fixed_pt", workers=0),
    "one_worker": RunConfig(select_tag="fixed_pt", workers=1),
    "per_process": RunConfig(select_tag="fixed_pt", workers="per_process"),
    "chip": RunConfig(target="chip", workers=0),
    "chip_in_a_worker": RunConfig(target="chip", workers=1),
}


@pytest.fixture
def small_blocks(monkeypatch):
    """Stores start with one row and double from there, so that short runs grow them many
    times (workers are forked, and see the patched value)."""
    monkeypatch.setattr(probes, "FIRST_BLOCK_BYTES", 1)


def store_of(monitor: Monitor, member, index: int = 0) -> probes.ProbeStore:
    """The in-process store behind ``monitor``'s probe number ``index`` of ``member``."""
    session = monitor._session
    executor = session.runtime.executor
    pid = session.compiled.process_ids[member.process]
    return executor.by_id[pid].probe_stores[session.compiled.probe_ids[monitor][index]]


def resident_mb() -> float:
    """This process's resident memory now (VmRSS), in MB."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


# -- memory follows the steps recorded --------------------------------------------------------
def test_a_huge_num_steps_costs_only_the_steps_recorded():
    # The old storage allocated and wrote num_steps rows before the first step: 1.6 GB here.
    lif = LIF(shape=(2,), du=0.0, dv=0.0, vth=10.0**6, bias_mant=1.0, name="lif")
    monitor = Monitor(name="monitor")
    monitor.probe(lif.v, num_steps=10**8)
    before = resident_mb()
    with lif:
        lif.run(RunSteps(100), RunConfig(workers=0))
        grown = resident_mb() - before
        assert grown < 50, f"{grown:.0f} MB more for 100 steps of 2 values"
        store = store_of(monitor, lif.v)
        assert store.end == 100 and store.rows.nbytes <= 2 * probes.FIRST_BLOCK_BYTES
        rows = lif._session.runtime.executor.probe_data()[0]
        assert rows.shape == (100, 2) and np.shares_memory(rows, store.rows)  # no copy
        np.testing.assert_array_equal(rows[:, 1], np.arange(1, 101))


def test_get_data_too_large_to_map_is_a_memory_error_naming_the_monitor():
    for num_steps in (10**12, 10**16):  # 8 PB; more bytes than any array may have
        probe = ProbePlan(id=0, monitor="watch", target="v", kind="var", num_steps=num_steps)
        with pytest.raises(MemoryError, match=r"Monitor 'watch': the data of its probe of "
                                              r"'v' .*buffer="):
            assemble(probe, np.zeros((3, 10**3)))


def test_storage_doubles_as_steps_are_recorded(small_blocks):
    lif = LIF(shape=(3,), du=0.0, dv=0.0, vth=10.0**6, bias_mant=1.0, name="lif")
    monitor = Monitor(name="monitor")
    monitor.probe(lif.v, num_steps=1000)
    with lif:
        sizes = []
        for steps in (1, 2, 5, 40, 300):
            lif.run(RunSteps(steps - lif.current_step), RunConfig(workers=0))
            store = store_of(monitor, lif.v)
            sizes.append(len(store.rows))
            assert store.end == steps
        data = monitor.get_data()["lif"]["v"]
    assert sizes == [1, 2, 8, 64, 512]  # at least the steps, at most twice them
    np.testing.assert_array_equal(data[:300, 0], np.arange(1, 301))
    assert data.shape == (1000, 3) and not data[300:].any()


# -- plain probes: the data they always gave -------------------------------------------------
def probed_reference(trace: str, num_steps: int):
    """The reference network with a Monitor recording u, v, s_out of both populations and
    the delayed output of dense2 for ``num_steps``, and a sink on dense2's output."""
    arrays, meta = support.load_trace(trace)
    source, _, pops = support.build(arrays, meta)
    dense2 = pops["b"].a_in.in_connections[0].process
    sink = SinkRingBuffer(shape=(meta["n_b"],), buffer=meta["T"], name="sink")
    dense2.a_out.connect(sink.a_in)
    monitor = Monitor(name="plain")
    for lif in pops.values():
        for member in (lif.u, lif.v, lif.s_out):
            monitor.probe(member, num_steps)
    monitor.probe(dense2.a_out, num_steps)
    return arrays, meta, source, monitor, sink


@pytest.mark.parametrize("config", CONFIGS)
def test_plain_probes_give_the_reference_traces_wherever_they_run(config, small_blocks):
    arrays, meta, source, monitor, sink = probed_reference("lava010_fixed_pt_seed12.npz",
                                                           num_steps=70)
    steps = meta["T"]
    half = steps // 2
    with source:
        source.run(RunSteps(half), CONFIGS[config])
        early = monitor.get_data()
        source.run(RunSteps(steps - half), CONFIGS[config])
        live = monitor.get_data()
        received = sink.data.get().T
    final = monitor.get_data()  # read after stop
    for data in (live, final):
        for pop in ("a", "b"):
            for key in ("u", "v", "s_out"):
                got = data[f"lif_{pop}"][key]
                assert got.shape == (70, meta[f"n_{pop}"]), (pop, key)
                assert np.array_equal(got[:steps], arrays[f"{pop}_{key[0]}"]), (pop, key)
                assert not got[steps:].any(), (pop, key)  # steps not run hold zeros
        sent = data["dense2"]["a_out"]
        # as received: step t's row holds what was sent at t-1; what step 60 sent is there
        assert np.array_equal(sent[:steps], received)
        assert sent[steps].any() and not sent[steps + 1:].any()
    for pop in ("a", "b"):
        assert np.array_equal(early[f"lif_{pop}"]["v"][:half], arrays[f"{pop}_v"][:half])
        assert not early[f"lif_{pop}"]["v"][half:].any()
    assert np.array_equal(early["dense2"]["a_out"][:half + 1], live["dense2"]["a_out"][:half + 1])


def test_get_data_is_a_copy_the_user_owns():
    lif = LIF(shape=(2,), du=0.0, dv=0.0, vth=100.0, bias_mant=1.0, name="lif")
    monitor = Monitor(name="monitor")
    monitor.probe(lif.v, num_steps=10)
    with lif:
        lif.run(RunSteps(4), RunConfig(workers=0))
        first = monitor.get_data()["lif"]["v"]
        first[:] = -1
        lif.run(RunSteps(2), RunConfig(workers=0))
        second = monitor.get_data()["lif"]["v"]
    np.testing.assert_array_equal(second[:, 0], [1, 2, 3, 4, 5, 6, 0, 0, 0, 0])


# -- rolling window ------------------------------------------------------------------------------
def rolling_network(steps: int, **ring):
    """source -> Dense (a delayed port) -> LIF, with integer parameters (for the CPU
    fixed-point models and the chip); a plain Monitor recording every step and a rolling one
    (``ring``: its probes' num_steps and buffer) on v, s_out and the Dense's output."""
    rng = np.random.default_rng(5)
    source = SourceRingBuffer(data=(rng.random((6, steps)) < 0.4).astype(np.int32),
                              name="source")
    dense = Dense(weights=rng.integers(0, 120, (4, 6)), name="dense")
    lif = LIF(shape=(4,), du=400, dv=600, vth=60, name="lif")
    source.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    plain, rolling = Monitor(name="plain"), Monitor(name="rolling")
    for member in (lif.v, lif.s_out, dense.a_out):
        plain.probe(member, steps + 1)
        rolling.probe(member, **ring)
    return source, plain, rolling


PROBED = (("lif", "v"), ("lif", "s_out"), ("dense", "a_out"))


def last_rows(plain: dict, done: int, size: int, num_steps: int | None = None) -> dict:
    """What a rolling probe of ``size`` should hold after ``done`` steps: the last ``size``
    rows of the plain probe up to the last step recorded (the next one for the delayed
    Dense output, whose data arrives a step after it is sent)."""
    expected = {}
    for process, member in PROBED:
        end = done + (member == "a_out")
        end = end if num_steps is None else min(end, num_steps)
        expected[(process, member)] = plain[process][member][:end][-size:]
    return expected


@pytest.mark.parametrize("config", ["in_process", "one_worker", "chip"])
@pytest.mark.parametrize("runs", [(5,), (17,), (3, 14, 23)])
def test_rolling_window_gives_the_last_steps_oldest_first(config, runs, small_blocks):
    size = 7
    source, plain, rolling = rolling_network(sum(runs), buffer=size)
    with source:
        done = 0
        for run in runs:
            source.run(RunSteps(run), CONFIGS[config])
            done += run
            got = rolling.get_data()
            for (process, member), rows in last_rows(plain.get_data(), done, size).items():
                assert got[process][member].shape == (min(size, rows.shape[0]), 4)
                assert np.array_equal(got[process][member], rows), (process, member, done)
    after_stop = rolling.get_data()
    for process, member in PROBED:
        assert np.array_equal(after_stop[process][member], got[process][member])


@pytest.mark.parametrize("config", ["in_process", "one_worker"])
def test_rolling_window_with_num_steps_stops_recording_there(config, small_blocks):
    source, plain, rolling = rolling_network(40, num_steps=25, buffer=10)
    with source:
        source.run(RunSteps(40), CONFIGS[config])
        got, expected = rolling.get_data(), last_rows(plain.get_data(), 40, 10, num_steps=25)
    for (process, member), rows in expected.items():
        assert np.array_equal(got[process][member], rows), (process, member)
        assert np.array_equal(rows, plain.get_data()[process][member][15:25])


def test_rolling_window_store_holds_only_the_window(small_blocks):
    lif = LIF(shape=(5,), du=0.0, dv=0.0, vth=10**6, bias_mant=1.0, name="lif")
    monitor = Monitor(name="monitor")
    monitor.probe(lif.v, buffer=32)
    with lif:
        lif.run(RunSteps(1000), RunConfig(workers=0))
        store = store_of(monitor, lif.v)
        data = monitor.get_data()["lif"]["v"]
    assert store.rows.shape == (32, 5)
    np.testing.assert_array_equal(data[:, 0], np.arange(969, 1001))


# -- refused input ------------------------------------------------------------------------------
@pytest.mark.parametrize("buffer", [0, -3, 2.5, True, "10", np.float64(4.0)])
def test_bad_buffer_is_refused_naming_the_monitor(buffer):
    lif = LIF(shape=(2,), name="lif")
    with pytest.raises(ValueError, match=r"watch\.probe: buffer must be a positive int, "
                                         r"got " + repr(buffer).replace(".", r"\.")[:4]):
        Monitor(name="watch").probe(lif.v, 10, buffer=buffer)


def test_a_probe_needs_num_steps_or_a_buffer():
    lif = LIF(shape=(2,), name="lif")
    with pytest.raises(ValueError, match=r"watch\.probe: give num_steps .* or buffer"):
        Monitor(name="watch").probe(lif.v)
    Monitor(name="ok").probe(lif.v, buffer=3)  # a window alone is enough
