"""Shared fixtures.

- ``placement``: a test that takes it runs once per placement that applies (Nengo's
  ``Simulator`` fixture idea), and builds its RunConfig with ``placement.run_cfg(...)``.
  Without a marker that is every CPU placement (in-process, one worker, two workers, one
  worker per Process); ``@pytest.mark.fixed_point`` (the graph has only library Processes
  with fixed-point models) adds the emulated chip; ``@pytest.mark.placements("in_process",
  ...)`` names the ones to use instead (slow tests need not run on all of them).
- Every test leaves no worker process and no emulated chip behind, and the models it
  registers (classes defined in its body) are forgotten when it ends.
"""
import multiprocessing
import os
import signal

import pytest

import support


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "fixed_point: the graph runs on fixed-point models, so the placement "
                   "fixture includes the emulated chip")
    config.addinivalue_line(
        "markers", "placements(*ids): the placements to run the test on (ids of "
                   "support.PLACEMENTS)")


def pytest_generate_tests(metafunc):
    if "placement" not in metafunc.fixturenames:
        return
    chosen = metafunc.definition.get_closest_marker("placements")
    if chosen is not None:
        unknown = set(chosen.args) - set(support.BY_ID)
        if unknown:
            raise pytest.UsageError(f"{metafunc.definition.nodeid}: no placement "
                                    f"{sorted(unknown)}; known: {sorted(support.BY_ID)}")
        placements = [support.BY_ID[name] for name in chosen.args]
    elif metafunc.definition.get_closest_marker("fixed_point") is not None:
        placements = list(support.PLACEMENTS)
    else:
        placements = list(support.CPU_PLACEMENTS)
    metafunc.parametrize("placement", placements, ids=[p.id for p in placements],
                         indirect=True)


@pytest.fixture
def placement(request) -> support.Placement:
    """Where this run of the test places its graph (see the module docstring)."""
    return request.param


@pytest.fixture(autouse=True)
def model_registry():
    """The model registry as it was before the test, put back after it."""
    with support.registry_snapshot() as registry:
        yield registry


@pytest.fixture(autouse=True)
def no_leftover_workers():
    before = support.emulators()
    yield
    leftovers = [p for p in multiprocessing.active_children() if p.name.startswith("lava_lite")]
    for process in leftovers:
        process.kill()
    chips = support.emulators() - before
    for pid in chips:
        os.kill(pid, signal.SIGKILL)
    assert not leftovers, f"worker processes left running: {leftovers}"
    assert not chips, f"emulated chips left running: {chips}"
