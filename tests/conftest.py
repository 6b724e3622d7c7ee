"""Shared fixtures: every test checks that it leaves no worker process behind."""
import multiprocessing

import pytest


@pytest.fixture(autouse=True)
def no_leftover_workers():
    yield
    leftovers = [p for p in multiprocessing.active_children() if p.name.startswith("lava_lite")]
    for process in leftovers:
        process.kill()
    assert not leftovers, f"worker processes left running: {leftovers}"
