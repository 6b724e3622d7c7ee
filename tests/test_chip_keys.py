"""A chip started by hand over tcp with CurveZMQ keys (``lava-lite-chip --keys DIR``): it
refuses to listen beyond loopback without keys, runs the reference network for a client
holding its keys, and refuses clients without them while it keeps running; chip_options
without the keys a remote chip needs are refused at compile time."""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time

import pytest
import zmq.auth

from lava_lite import ProcessModelError, RunSteps
from lava_lite.proc_lib import LIF
from lava_lite.runtimes.chip.keys import chip_keys, is_loopback, make_keys
from lava_lite.runtimes.chip.zmq_driver import ZmqChipDriver
from support import EMULATOR, assert_bit_for_bit, chip, free_port, recorded, reference, refused


def _chip_command() -> list[str]:
    script = os.path.join(os.path.dirname(sys.executable), "lava-lite-chip")
    return [script] if os.path.exists(script) else [sys.executable, "-m", EMULATOR]


@contextlib.contextmanager
def keyed_chip(keys_dir):
    """A chip on a free loopback port with ``--keys keys_dir``: (process, address, the
    lines it wrote to stderr up to "listening on"); ended on leaving."""
    address = f"tcp://127.0.0.1:{free_port()}"
    server = subprocess.Popen([*_chip_command(), "--address", address, "--num-cores", "4",
                               "--keys", str(keys_dir)], stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        while not lines or "listening on" not in lines[-1]:
            lines.append(server.stderr.readline())
            assert lines[-1], f"the chip did not start: {''.join(lines)}"
        yield server, address, lines
    finally:
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def client_copy(keys_dir, to):
    """What a user copies to the machine running lava_lite: chip.key, client.key_secret."""
    to.mkdir()
    for name in ("chip.key", "client.key_secret"):
        shutil.copy(keys_dir / name, to / name)
    return to


@pytest.mark.parametrize("address,loopback", [
    ("tcp://127.0.0.1:5555", True), ("tcp://127.3.2.1:5555", True),
    ("tcp://localhost:5555", True), ("tcp://[::1]:5555", True), ("ipc:///tmp/x/chip", True),
    ("tcp://0.0.0.0:5555", False), ("tcp://*:5555", False), ("tcp://[::]:5555", False),
    ("tcp://192.0.2.7:5555", False), ("tcp://eth0:5555", False),
    ("tcp://chip.example.org:5555", False),
])
def test_which_addresses_stay_on_this_machine(address, loopback):
    assert is_loopback(address) is loopback


@pytest.mark.parametrize("host", ["0.0.0.0", "*"])
def test_cli_refuses_a_non_loopback_address_without_keys(host):
    address = f"tcp://{host}:{free_port()}"
    # (a chip that wrongly starts is killed by the timeout, and the test fails)
    done = subprocess.run([*_chip_command(), "--address", address], capture_output=True,
                          text=True, timeout=10)
    assert done.returncode == 2
    assert f"--address {address}" in done.stderr and "--keys DIR" in done.stderr


@pytest.mark.placements("chip", "chip_from_a_worker")
def test_keyed_chip_runs_the_reference_bit_for_bit(tmp_path, placement):
    keys_dir = tmp_path / "chip-keys"  # new: the chip makes it and its keys
    with keyed_chip(keys_dir) as (server, address, lines):
        made = lines[0]
        assert f"{keys_dir}/chip.key and {keys_dir}/client.key_secret" in made, lines
        assert os.stat(keys_dir).st_mode & 0o777 == 0o700
        for name in ("chip.key_secret", "client.key_secret"):
            assert os.stat(keys_dir / name).st_mode & 0o777 == 0o600
        assert f"admitting clients certified in {keys_dir}" in lines[-1]
        keys = client_copy(keys_dir, tmp_path / "client")
        arrays, meta, source, monitor, _ = reference(12)
        try:
            source.run(RunSteps(meta["T"]), placement.run_cfg(
                chip_options=dict(address=address, keys=str(keys))))
            got = recorded(monitor)
        finally:
            source.stop()
        assert_bit_for_bit(got, arrays, f"keyed chip at {address}, {placement.id}")
        assert server.poll() is None
        assert make_keys(keys_dir) == []  # a directory with a chip key keeps its keys


def _stranger(keys_dir, to):
    """The chip's public key, but a client key pair the chip has never seen."""
    to.mkdir()
    shutil.copy(keys_dir / "chip.key", to / "chip.key")
    zmq.auth.create_certificates(to, "client")
    os.chmod(to / "client.key_secret", 0o600)  # (pyzmq leaves it readable by all)
    return to


def test_a_key_directory_named_star_admits_only_its_certified_clients(tmp_path, monkeypatch):
    # pyzmq reads a certificate location of "*" as "admit any key": the chip must not.
    monkeypatch.chdir(tmp_path)
    with keyed_chip("*") as (server, address, _):
        driver = ZmqChipDriver(address, timeout=2, keys=_stranger(tmp_path / "*",
                                                                  tmp_path / "stranger"))
        try:
            with pytest.raises(Exception, match="handshake with the chip"):
                driver.open()
        finally:
            driver.close()


def test_keys_other_users_could_read_or_add_to_are_refused(tmp_path):
    keys_dir = tmp_path / "keys"
    make_keys(keys_dir)
    client = client_copy(keys_dir, tmp_path / "client")
    os.chmod(client / "client.key_secret", 0o644)
    message = refused(LIF(shape=(2,), name="lif"),
                      chip(address="tcp://127.0.0.1:5555", keys=str(client)))
    assert "client.key_secret can be read by other users" in message
    os.chmod(keys_dir, 0o770)
    with pytest.raises(ValueError, match="can be written by other users"):
        chip_keys(keys_dir)


@pytest.mark.parametrize("client", ["no keys", "other keys", "unknown client key"])
def test_clients_without_the_chip_keys_are_refused_and_the_chip_runs_on(tmp_path, client):
    keys_dir = tmp_path / "chip-keys"
    with keyed_chip(keys_dir) as (server, address, _):
        options = dict(address=address, timeout=2)
        if client == "other keys":
            make_keys(tmp_path / "other")  # a fresh chip and client key pair
            options["keys"] = str(tmp_path / "other")
        elif client == "unknown client key":
            options["keys"] = str(_stranger(keys_dir, tmp_path / "stranger"))
        arrays, meta, source, monitor, _ = reference(12)
        start = time.monotonic()
        try:
            with pytest.raises(ProcessModelError, match=r"(?s)chip configuration.*"
                                                        r"handshake with the chip at .*failed.*"
                                                        r"chip_options\['keys'\]"):
                source.run(RunSteps(meta["T"]), chip(0, **options))
        finally:
            source.stop()
        assert time.monotonic() - start < 5
        assert server.poll() is None
        # the chip still serves a client holding its keys
        driver = ZmqChipDriver(address, timeout=10, keys=client_copy(keys_dir, tmp_path / "ok"))
        try:
            assert driver.open().pid == server.pid
        finally:
            driver.close()


def test_chip_options_without_the_keys_a_remote_chip_needs_are_refused(tmp_path):
    message = refused(LIF(shape=(2,), name="lif"), chip(address="tcp://192.0.2.7:5555"))
    assert "chip_options['keys']" in message and "tcp://192.0.2.7:5555" in message
    keys_dir = tmp_path / "keys"
    make_keys(keys_dir)
    for missing in ("client.key_secret", "chip.key"):
        os.remove(keys_dir / missing)
        message = refused(LIF(shape=(2,), name="lif"),
                          chip(address="tcp://192.0.2.7:5555", keys=str(keys_dir)))
        assert "chip_options['keys']" in message and f"no {missing} in" in message, message
    message = refused(LIF(shape=(2,), name="lif"), chip(keys=str(tmp_path)))
    assert "chip_options['keys']" in message and "give its address too" in message
