"""The chip's liveness (issue 11, case 11): a chip that dies or freezes (kill -9, SIGSTOP) is
reported within about a second, by the driver's ZeroMQ heartbeats and socket monitor (a chip
started by hand) or by watching its process (the emulator the driver started): at the next
request, by ``check_alive()`` while idle, and end to end by ``wait()`` mid-run and by
``get()`` between runs, instead of after the request timeout."""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

from lava_lite import ProcessModelError, RunConfig, RunSteps
from lava_lite.proc_lib import LIF, Dense
from lava_lite.runtimes.chip.driver import ChipDiedError
from lava_lite.runtimes.chip.zmq_driver import ChipRequestError, ZmqChipDriver
from support import EMULATOR, free_port, gone

WITHIN = 2.0  # seconds from the chip's death to the error
FAULTS = {"kill -9": signal.SIGKILL, "SIGSTOP": signal.SIGSTOP}


@contextlib.contextmanager
def hand_started_chip(transport: str):
    """A chip started by hand (``python -m ...emulator --address``) on ``transport``:
    (process, address); ended on leaving, also when frozen, and its directory removed."""
    directory = None
    if transport == "ipc":
        directory = tempfile.mkdtemp(prefix="llc-")
        address = f"ipc://{directory}/chip"
    else:
        address = f"tcp://127.0.0.1:{free_port()}"
    chip = subprocess.Popen([sys.executable, "-m", EMULATOR, "--address", address,
                             "--num-cores", "4"], stderr=subprocess.PIPE, text=True)
    try:
        assert "listening on" in chip.stderr.readline()
        yield chip, address
    finally:
        if chip.poll() is None:
            chip.send_signal(signal.SIGCONT)
            chip.kill()
        chip.wait()
        chip.stderr.close()
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)


def raises_within(seconds: float, since: float, error, match: str, call):
    """``call()`` raises ``error`` matching ``match`` at most ``seconds`` after ``since``."""
    with pytest.raises(error, match=match) as info:
        call()
    assert time.monotonic() - since < seconds, f"reported after {time.monotonic() - since:.1f} s"
    return info.value


def reported_by_check_alive(driver: ZmqChipDriver, since: float) -> ChipDiedError:
    """Poll ``check_alive()`` (as an idle loop does) until it raises; at most WITHIN s."""
    while time.monotonic() - since < WITHIN:
        try:
            driver.check_alive()
        except ChipDiedError as exc:
            return exc
        time.sleep(0.05)
    pytest.fail(f"check_alive() did not report the chip within {WITHIN} s")


# -- the driver ------------------------------------------------------------------------------
@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_a_hand_started_chip_that_dies_is_reported_at_the_next_request(transport, fault):
    with hand_started_chip(transport) as (chip, address):
        driver = ZmqChipDriver(address, timeout=10)
        try:
            assert driver.open().pid == chip.pid
            with pytest.raises(ChipRequestError, match="no configuration is loaded"):
                driver.read_state("lif", "v")  # alive: it answers
            chip.send_signal(FAULTS[fault])
            since = time.monotonic()
            raises_within(WITHIN, since, ChipDiedError, rf"chip at {re.escape(address)} "
                          rf"\(pid {chip.pid}\) is gone during 'read'",
                          lambda: driver.read_state("lif", "v"))
            # and from then on at once
            raises_within(0.5, time.monotonic(), ChipDiedError, "is gone during 'read'",
                          lambda: driver.read_state("lif", "v"))
        finally:
            driver.close()


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_check_alive_reports_a_hand_started_chip_that_died_while_idle(transport, fault):
    with hand_started_chip(transport) as (chip, address):
        driver = ZmqChipDriver(address, timeout=10)
        try:
            driver.open()
            time.sleep(0.5)  # heartbeats go on: an idle, live chip is not reported
            driver.check_alive()
            chip.send_signal(FAULTS[fault])
            error = reported_by_check_alive(driver, time.monotonic())
            assert f"chip at {address} (pid {chip.pid}) is gone while idle" in str(error)
        finally:
            driver.close()


@pytest.mark.parametrize("fault", FAULTS)
def test_check_alive_reports_the_emulator_the_driver_started(fault):
    driver = ZmqChipDriver()
    try:
        pid = driver.open().pid
        driver.check_alive()
        os.kill(pid, FAULTS[fault])
        error = reported_by_check_alive(driver, time.monotonic())
        if fault == "kill -9":
            assert f"emulated chip (pid {pid}) ended (killed by signal SIGKILL)" in str(error)
        else:
            assert f"(pid {pid}) is gone while idle" in str(error)
    finally:
        start = time.monotonic()
        driver.close()
    assert gone([pid], within=1) and time.monotonic() - start < 2  # a frozen one too


# -- end to end ------------------------------------------------------------------------------
def chip_network():
    a = LIF(shape=(4,), bias_mant=[100, 200, 300, 400], vth=1000, name="a")
    dense = Dense(weights=np.ones((4, 4)), name="dense")
    b = LIF(shape=(4,), name="b")
    a.s_out.connect(dense.s_in)
    dense.a_out.connect(b.a_in)
    return a, b


def on_chip(address: str) -> RunConfig:
    return RunConfig(target="chip", chip_options={"address": address})


@pytest.mark.parametrize("fault", FAULTS)
def test_a_hand_started_chip_lost_mid_run_fails_the_run_within_two_seconds(fault):
    with hand_started_chip("tcp") as (chip, address):
        a, b = chip_network()
        try:
            a.run(RunSteps(10_000_000, blocking=False), on_chip(address))
            time.sleep(0.3)
            chip.send_signal(FAULTS[fault])
            since = time.monotonic()
            raises_within(WITHIN, since, ProcessModelError,
                          rf"(?s)chip\[a, dense, b\].*chip at {re.escape(address)}.* is gone",
                          a.wait)
        finally:
            a.stop()


@pytest.mark.parametrize("fault", FAULTS)
def test_a_hand_started_chip_lost_between_runs_fails_the_next_get(fault):
    with hand_started_chip("tcp") as (chip, address):
        a, b = chip_network()
        try:
            a.run(RunSteps(10), on_chip(address))
            assert b.v.get().shape == (4,)
            chip.send_signal(FAULTS[fault])
            since = time.monotonic()
            time.sleep(WITHIN / 2)  # idle meanwhile
            raises_within(WITHIN, since, ProcessModelError,
                          rf"(?s)chip\[a, dense, b\].*chip at {re.escape(address)}.* is gone",
                          b.v.get)
        finally:
            a.stop()
