"""Monitor.plot: spike rasters for spike data, line traces for Vars."""
import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

from lava_lite import RunConfig, RunStateError, RunSteps  # noqa: E402
from lava_lite.proc_lib import LIF, Dense, Monitor, SourceRingBuffer  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def network(probe_steps=10):
    """Two neurons driven by bias alone: neuron 0 spikes every 3rd step, neuron 1 never."""
    lif = LIF(shape=(2,), du=0.0, dv=0.0, vth=2.5, bias_mant=np.array([1.0, 0.0]), name="lif")
    monitor = Monitor(name="monitor")
    monitor.probe(lif.s_out, probe_steps)
    monitor.probe(lif.v, probe_steps)
    return lif, monitor


def test_raster_marks_each_spike_at_its_step_and_neuron():
    lif, monitor = network()
    with lif:
        lif.run(RunSteps(10), RunConfig(workers=0))
        ax = monitor.plot(lif.s_out)
    spikes = monitor.get_data()["lif"]["s_out"]
    offsets = ax.collections[0].get_offsets()
    expected = [(t + 1, n) for t, n in zip(*np.nonzero(spikes))]
    assert [tuple(map(int, row)) for row in offsets] == expected == [(3, 0), (6, 0), (9, 0)]
    assert ax.get_xlabel() == "time step" and ax.get_ylabel() == "neuron"
    assert ax.get_title() == "lif.s_out"


def test_var_trace_is_one_line_per_neuron_and_draws_into_a_given_axes():
    lif, monitor = network()
    _, given = plt.subplots()
    with lif:
        lif.run(RunSteps(10), RunConfig(workers=0))
        ax = monitor.plot(given, lif.v, title="voltage")
    assert ax is given
    v = monitor.get_data()["lif"]["v"]
    assert len(ax.lines) == 2
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(1, 11))
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), v[:, 0])
    assert ax.get_ylabel() == "v" and ax.get_title() == "voltage"


def test_only_steps_run_so_far_and_chosen_neurons_are_drawn():
    lif, monitor = network(probe_steps=50)
    with lif:
        lif.run(RunSteps(20), RunConfig(workers=0))
        ax = monitor.plot(lif.v, neurons=[1])
    assert len(ax.lines) == 1
    assert len(ax.lines[0].get_xdata()) == 20
    assert not ax.lines[0].get_ydata().any()  # neuron 1 has no bias


def test_graded_out_port_data_is_a_trace_not_a_raster():
    source = SourceRingBuffer(data=np.array([[0.5, 2.0, -1.0]]), name="source")
    monitor = Monitor()
    monitor.probe(source.s_out, 3)
    with source:
        source.run(RunSteps(3), RunConfig(workers=0))
        ax = monitor.plot()  # the only probe
    assert not ax.collections and len(ax.lines) == 1
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [0.5, 2.0, -1.0])


def test_a_rolling_window_is_drawn_at_its_own_steps():
    spikes = np.array([[1.0, 0, 1, 1, 0, 0, 1, 0, 1, 1]])
    source = SourceRingBuffer(data=spikes, name="source")
    dense = Dense(weights=np.full((1, 1), 3.0), name="dense")  # delayed: step t gets t-1's
    lif = LIF(shape=(1,), du=0.0, dv=0.0, vth=10.0**6, bias_mant=1.0, name="lif")
    source.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    monitor = Monitor(name="monitor")
    monitor.probe(lif.v, buffer=4)
    monitor.probe(dense.a_out, buffer=4)
    with source:
        source.run(RunSteps(10), RunConfig(workers=0))
        v = monitor.plot(lif.v)
        received = monitor.plot(dense.a_out)
    np.testing.assert_array_equal(v.lines[0].get_xdata(), [7, 8, 9, 10])
    np.testing.assert_array_equal(v.lines[0].get_ydata(), monitor.get_data()["lif"]["v"][:, 0])
    assert v.get_xlim() == (6.5, 10.5)
    # the Dense's window runs to step 11 (what step 10 sent): only steps run are drawn
    np.testing.assert_array_equal(received.lines[0].get_xdata(), [8, 9, 10])
    np.testing.assert_array_equal(received.lines[0].get_ydata(), 3 * spikes[0, 6:9])


def test_wrong_targets_are_clear_errors():
    lif, monitor = network()
    with pytest.raises(RunStateError, match="has not run"):
        monitor.plot(lif.v)
    with lif:
        lif.run(RunSteps(2), RunConfig(workers=0))
        with pytest.raises(ValueError, match="say which probe.*lif.s_out, lif.v"):
            monitor.plot()
        with pytest.raises(ValueError, match="not probed by this Monitor"):
            monitor.plot(lif.u)
        with pytest.raises(ValueError, match=r"flat indices in \[0, 2\)"):
            monitor.plot(lif.v, neurons=[2])


def test_missing_matplotlib_says_how_to_install_it(monkeypatch):
    lif, monitor = network()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with lif:
        lif.run(RunSteps(2), RunConfig(workers=0))
        with pytest.raises(ImportError, match=r"pip install lava-lite\[plot\]"):
            monitor.plot(lif.v)
