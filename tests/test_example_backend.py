"""A third-party backend plugs in without an edit to lava_lite: the example accelerator in
``tests/example_backend`` is found through a ``lava_lite.backends`` entry point and selected
with ``RunConfig(target="example", device_options=...)``.

Each case runs in a fresh interpreter: the entry point is discovered there (from a
``*.dist-info`` made for the test), and the registries of this process stay as they are.
"""
import os
import subprocess
import sys
import textwrap

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))

SCRIPT = textwrap.dedent("""
    import numpy as np
    from lava_lite import CompileError, RunConfig, RunSteps
    from lava_lite.proc_lib import Dense, Monitor, SinkRingBuffer, SourceRingBuffer

    def build(weights):
        data = np.arange(1, 13, dtype=float).reshape(3, 4)  # (inputs, steps)
        source = SourceRingBuffer(data=data, name="source")
        dense = Dense(weights=weights, num_message_bits=24, name="dense")
        sink = SinkRingBuffer(shape=(weights.shape[0],), buffer=4, name="sink")
        source.s_out.connect(dense.s_in)
        dense.a_out.connect(sink.a_in)
        monitor = Monitor(name="monitor")
        monitor.probe(dense.a_out, num_steps=4)
        return data, source, dense, sink, monitor

    weights = np.array([[1.0, 0.0, 2.0], [0.5, 1.0, 0.0]])
    for workers in (0, 1, "per_process"):
        data, source, dense, sink, monitor = build(weights)
        cfg = RunConfig(target="example", device_options={"gain": 2.0}, workers=workers)
        plan = source.compile(cfg)
        assert "ExampleDense" in plan.summary(), plan.summary()
        with source:
            source.run(RunSteps(2), cfg)
            np.testing.assert_array_equal(dense.weights.get(), weights)
            dense.weights.set(weights * 10)
            source.run(RunSteps(2), cfg)
            got = monitor.get_data()["dense"]["a_out"]
            received = sink.data.get()
        # a Dense delivers one step later: step t carries what step t - 1 computed,
        # gain * W @ data[:, t - 2], with the weights set after step 2 from step 3 on
        expected = np.zeros((4, 2))
        expected[1] = 2.0 * weights @ data[:, 0]
        expected[2] = 2.0 * weights @ data[:, 1]
        expected[3] = 2.0 * (weights * 10) @ data[:, 2]
        np.testing.assert_allclose(got, expected)
        np.testing.assert_allclose(received.T, expected)

    for options, text in (({"gain": -1.0}, "device_options['gain']"),
                          ({"speed": 3}, "device_options['speed']")):
        _, source, *_ = build(weights)
        try:
            source.run(RunSteps(1), RunConfig(target="example", device_options=options))
        except CompileError as exc:
            assert text in str(exc), str(exc)
        else:
            raise AssertionError(f"{options} accepted")
    _, source, *_ = build(np.ones((4000, 3)))
    try:
        source.run(RunSteps(1), RunConfig(target="example"))
    except CompileError as exc:
        assert "Process 'dense': 12000 synapses do not fit the example accelerator" in str(exc)
    else:
        raise AssertionError("a Dense too large for the device was accepted")
    print("ok")
""")


@pytest.fixture
def plugin_path(tmp_path):
    """A directory on the path of a child interpreter that holds the example backend's
    distribution metadata with its entry point (as ``pip install`` would leave it)."""
    info = tmp_path / "example_backend-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: example-backend\n"
                                   "Version: 0.1\n")
    (info / "entry_points.txt").write_text("[lava_lite.backends]\n"
                                           "example = example_backend:register\n")
    return os.pathsep.join([str(tmp_path), TESTS])


def _run(script: str, path: str | None):
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = path
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=env)


def test_a_backend_found_through_its_entry_point_runs_a_graph_with_monitors_and_get_set(
        plugin_path):
    out = _run(SCRIPT, plugin_path)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


def test_without_the_plugin_the_target_is_refused_naming_the_registered_ones():
    out = _run("from lava_lite import RunConfig\nRunConfig(target='example')", None)
    assert out.returncode != 0
    assert "target must be None or one of 'cpu', 'chip' (registered devices), got 'example'" \
        in out.stderr, out.stderr[-2000:]


def test_a_broken_plugin_is_a_warning_naming_it_not_a_failure_of_every_run(tmp_path):
    info = tmp_path / "broken-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[lava_lite.backends]\nbroken = no_such_module:x\n")
    script = textwrap.dedent("""
        import warnings
        from lava_lite import backends
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            print(sorted(backends.devices()))
        print([str(w.message) for w in caught])
    """)
    out = _run(script, str(tmp_path))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "['chip']" in out.stdout and "plug-in 'broken'" in out.stdout, out.stdout
