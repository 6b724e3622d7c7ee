"""Run and chip directories (issue 11, cases 5, 9 and 10): they live in a per-user private
parent, ``{tempdir}/lava_lite-{uid}`` (mode 0700); other users' files in the temp directory,
stale directories and concurrent starts do not get in a run's way; what a run leaves is
removed when the user's process exits; a socket path too long for the OS is refused clearly.

Every test has a temp directory of its own (``tempfile.tempdir`` and ``TMPDIR``), so nothing
of other users in the real one is looked at.
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
import pytest

from lava_lite import ProcessModelError, RunConfig, RunSteps
from lava_lite.proc_lib import LIF, Dense, SinkRingBuffer, SourceRingBuffer
from lava_lite.runtimes.chip.zmq_driver import ZmqChipDriver
from lava_lite.runtimes.network import Network
from support import alive, gone

EMULATOR = "lava_lite.runtimes.chip.emulator"
NOBODY = 65534
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="planting another user's files needs root")


@pytest.fixture
def tmp(monkeypatch):
    """A fresh temp directory for this test, short (socket paths are limited), as the temp
    directory here and in the processes the test starts."""
    base = tempfile.mkdtemp(prefix="ll-", dir=tempfile.gettempdir())
    monkeypatch.setattr(tempfile, "tempdir", base)
    monkeypatch.setenv("TMPDIR", base)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def parent_of(tmp: str) -> str:
    """Where this user's run and chip directories go."""
    return os.path.join(tmp, f"lava_lite-{os.getuid()}")


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def another_users(path: str, mode: int = 0o700) -> str:
    os.chmod(path, mode)
    os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
    return path


def private_to_me(path: str) -> bool:
    info = os.lstat(path)
    return stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700 and \
        info.st_uid == os.getuid()


def source_to_sink():
    source = SourceRingBuffer(data=np.arange(6.0).reshape(2, 3), name="source")
    sink = SinkRingBuffer(shape=(2,), buffer=3, name="sink")
    source.s_out.connect(sink.a_in)
    return source, sink


def run_on_workers(cfg: RunConfig | None = None) -> str:
    """A small run in a worker process; returns its ipc directory (None for tcp)."""
    source, sink = source_to_sink()
    with source:
        source.run(RunSteps(3), cfg or RunConfig(workers=1))
        np.testing.assert_array_equal(sink.data.get(), np.arange(6.0).reshape(2, 3))
        directory = source._session.runtime.network.ipc_dir
    return directory


def run_on_chip() -> None:
    """A small LIF -> Dense -> LIF network on the chip the runtime starts."""
    a = LIF(shape=(2,), bias_mant=[100, 200], vth=1000, name="a")
    dense = Dense(weights=np.ones((2, 2)), name="dense")
    b = LIF(shape=(2,), name="b")
    a.s_out.connect(dense.s_in)
    dense.a_out.connect(b.a_in)
    with a:
        a.run(RunSteps(20), RunConfig(target="chip", workers=0))
        assert a.v.get().any()


# -- the per-user parent ---------------------------------------------------------------------
def test_run_and_chip_directories_live_in_a_private_per_user_parent(tmp):
    parent = parent_of(tmp)
    directory = run_on_workers()
    assert os.path.dirname(directory) == parent and not os.path.exists(directory)
    driver = ZmqChipDriver()
    try:
        driver.open()
        chip_directory = driver.emulator.directory
        assert os.path.dirname(chip_directory) == parent and private_to_me(chip_directory)
    finally:
        driver.close()
    assert not os.path.exists(chip_directory)
    assert private_to_me(parent) and os.listdir(parent) == []


def test_a_per_user_parent_of_this_user_is_made_private_again(tmp):
    parent = parent_of(tmp)
    os.mkdir(parent)
    os.chmod(parent, 0o755)
    network = Network("ipc")
    try:
        assert os.path.dirname(network.ipc_dir) == parent and private_to_me(parent)
    finally:
        network.remove()


@pytest.mark.parametrize("planted", ["symlink", "dangling symlink", "file",
                                     pytest.param("other user's directory", marks=as_root)])
def test_a_per_user_parent_planted_by_someone_else_is_not_used(tmp, planted):
    parent = parent_of(tmp)
    elsewhere = os.path.join(tmp, "elsewhere")
    os.mkdir(elsewhere, 0o777)
    os.chmod(elsewhere, 0o777)  # (whoever planted it may write in it)
    if planted == "symlink":
        os.symlink(elsewhere, parent)
    elif planted == "dangling symlink":
        os.symlink(os.path.join(tmp, "nowhere"), parent)
    elif planted == "file":
        open(parent, "w").close()
    else:
        os.mkdir(parent)
        another_users(parent, 0o777)
    with pytest.warns(RuntimeWarning, match=re.escape(parent)):
        network = Network("ipc")
    try:
        directory = network.ipc_dir
        assert os.path.dirname(directory) == tmp and private_to_me(directory)
        assert os.path.basename(directory).startswith(f"lava_lite-{os.getuid()}-run-")
    finally:
        network.remove()
    with pytest.warns(RuntimeWarning, match=re.escape(parent)):
        directory = run_on_workers()
    assert os.path.dirname(directory) == tmp and not os.path.exists(directory)
    assert os.listdir(elsewhere) == [] and not os.path.exists(os.path.join(tmp, "nowhere"))
    assert os.path.lexists(parent)  # left as it was


# -- other users' files, stale directories, concurrent starts ----------------------------------
def test_other_users_files_named_like_run_directories_do_not_affect_a_run(tmp):
    dead, uid = dead_pid(), os.getuid()
    parent = parent_of(tmp)
    os.mkdir(parent, 0o700)
    victim = os.path.join(tmp, "victim")  # what a planted link points to: must survive
    os.mkdir(victim)
    open(os.path.join(victim, "keep"), "w").close()
    planted = []
    for name in (f"lava_lite-run-{dead}-x", f"lava_lite-chip-{dead}-x",  # the old layout
                 f"lava_lite-{uid}-run-{dead}-x"):
        planted.append(os.path.join(tmp, name))
        os.symlink(os.path.join(tmp, "nowhere", name), planted[-1])  # dangling
    # inside the parent only root can plant: links named like stale directories
    for name in (f"run-{dead}-link", f"chip-{dead}-link"):
        planted.append(os.path.join(parent, name))
        os.symlink(victim, planted[-1])
    if os.geteuid() == 0:  # directories of another user, named like stale ones of ours
        for where, name in ((tmp, f"lava_lite-run-{dead}-nobody"),
                            (parent, f"run-{dead}-nobody")):
            planted.append(os.path.join(where, name))
            os.mkdir(planted[-1])
            another_users(planted[-1])
    run_on_workers()
    run_on_chip()
    for path in planted:
        assert os.path.lexists(path), path
    assert os.path.exists(os.path.join(victim, "keep"))


def test_stale_directories_of_dead_processes_are_swept(tmp, monkeypatch):
    dead = dead_pid()
    parent = parent_of(tmp)
    os.mkdir(parent, 0o700)
    stale = [os.path.join(parent, f"{kind}-{dead}-abc") for kind in ("run", "chip")]
    for directory in stale:
        os.makedirs(os.path.join(directory, "sub"))
        open(os.path.join(directory, "sub", "socket"), "w").close()
    kept = [os.path.join(parent, f"run-{os.getpid()}-live"),  # its process runs: in use
            os.path.join(parent, "notes")]  # not named like a socket directory
    for directory in kept:
        os.mkdir(directory)
    listdir = os.listdir  # and one listed that is gone when looked at (another sweep)
    with monkeypatch.context() as patch:
        patch.setattr(os, "listdir", lambda path: listdir(path) + [f"run-{dead}-gone"]
                      if path == parent else listdir(path))
        network = Network("ipc")
    try:
        assert not any(os.path.lexists(directory) for directory in stale)
        assert all(os.path.isdir(directory) for directory in kept)
    finally:
        network.remove()


STARTER = textwrap.dedent("""
    import sys
    import numpy as np
    from lava_lite import RunConfig, RunSteps
    from lava_lite.proc_lib import SinkRingBuffer, SourceRingBuffer
    source = SourceRingBuffer(data=np.ones((2, 3)))
    sink = SinkRingBuffer(shape=(2,), buffer=3)
    source.s_out.connect(sink.a_in)
    print("ready", flush=True)
    sys.stdin.readline()  # all start together
    with source:
        source.run(RunSteps(3), RunConfig(workers=1))
        assert sink.data.get().sum() == 6
    print("ok", flush=True)
""")


def test_concurrent_starts_beside_many_stale_directories_all_succeed(tmp):
    dead = dead_pid()
    parent = parent_of(tmp)
    os.mkdir(parent, 0o700)
    outside = []
    for k in range(50):  # stale ones of ours, and old-layout ones in the temp directory
        outside.append(os.path.join(tmp, f"lava_lite-run-{dead}-{k}"))
        for directory in (os.path.join(parent, f"run-{dead}-{k}"), outside[-1]):
            os.mkdir(directory)
            for i in range(20):
                open(os.path.join(directory, f"socket{i}"), "w").close()
    users = [subprocess.Popen([sys.executable, "-c", STARTER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    try:
        for user in users:
            assert user.stdout.readline() == "ready\n"
        for user in users:
            user.stdin.write("go\n")
            user.stdin.flush()
        results = [user.communicate(timeout=60) for user in users]
    finally:
        for user in users:
            if user.poll() is None:
                user.kill()
                user.wait()
    for user, (out, err) in zip(users, results):
        assert user.returncode == 0 and out == "ok\n", err
    assert os.listdir(parent) == []  # the stale ones swept, each run's own removed at stop
    assert all(os.path.isdir(directory) for directory in outside)  # never looked at


# -- case 9: leaving the interpreter without stop() ------------------------------------------
EXITING = textwrap.dedent("""
    import tempfile
    {prelude}
    import numpy as np
    from lava_lite import RunConfig, RunContinuous, RunSteps
    from lava_lite.proc_lib import LIF, Dense
    a = LIF(shape=(2,), bias_mant=[100, 200], vth=1000, name="a")
    dense = Dense(weights=np.ones((2, 2)), name="dense")
    b = LIF(shape=(2,), name="b")
    a.s_out.connect(dense.s_in)
    dense.a_out.connect(b.a_in)
    a.run({condition}, RunConfig(target="chip", workers={workers}))
    print("running", flush=True)
""")  # ... and the script ends, without stop()

EARLY_FINALIZER = "scratch = tempfile.TemporaryDirectory()  # a weakref.finalize, made first"


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if text.encode() in f.read() and alive(int(entry)):
                    found.append(int(entry))
        except (OSError, ValueError):
            pass
    return found


@pytest.mark.parametrize("workers,condition,prelude", [
    (None, "RunContinuous()", ""),
    (None, "RunSteps(10**9, blocking=False)", EARLY_FINALIZER),
    (0, "RunContinuous()", EARLY_FINALIZER),
    (0, "RunSteps(10**9, blocking=False)", ""),
], ids=["default workers", "default workers, early finalizer", "workers=0, early finalizer",
        "workers=0"])
def test_exiting_during_a_chip_run_without_stop_leaves_no_directory(tmp, workers, condition,
                                                                     prelude):
    script = os.path.join(tmp, "user.py")
    with open(script, "w") as f:
        f.write(EXITING.format(prelude=prelude, condition=condition, workers=workers))
    user = subprocess.Popen([sys.executable, script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        out, err = user.communicate(timeout=60)
    finally:
        if user.poll() is None:
            user.kill()
            user.wait()
    assert user.returncode == 0 and out == "running\n", err
    # workers (their command line is the script's) and the chip (its address is in tmp)
    assert gone(_processes_mentioning(script) + _processes_mentioning(tmp), within=5)
    left = [os.path.join(where, name) for where, dirs, files in os.walk(tmp)
            for name in dirs + files if os.path.join(where, name) not in (script, parent_of(tmp))]
    assert left == [], f"left behind: {left}"


# -- case 10: a socket path too long ---------------------------------------------------------
@pytest.fixture
def long_tmp(tmp, monkeypatch):
    """A temp directory whose path leaves no room for a socket path under it."""
    long = os.path.join(tmp, "d" * (100 - len(tmp)))
    os.mkdir(long)
    monkeypatch.setattr(tempfile, "tempdir", long)
    monkeypatch.setenv("TMPDIR", long)
    return long


TOO_LONG = r"ipc socket path {}.* is \d+ bytes long, more than the 107 the OS allows"


def test_a_socket_path_too_long_is_refused_before_any_worker_starts(long_tmp, monkeypatch):
    def no_fork():
        raise AssertionError("a worker was forked")

    source, _ = source_to_sink()
    with monkeypatch.context() as patch:
        patch.setattr(os, "fork", no_fork)
        with pytest.raises(ValueError, match=TOO_LONG.format(re.escape(long_tmp)) +
                           r".*TMPDIR.*RunConfig\(transport='tcp'\)"):
            source.run(RunSteps(3), RunConfig(workers=1))
    source.stop()
    assert os.listdir(parent_of(long_tmp)) == []
    assert run_on_workers(RunConfig(workers=1, transport="tcp")) is None  # the remedy


def test_a_chip_socket_path_too_long_is_refused_naming_the_path_and_the_remedy(long_tmp):
    lif = LIF(shape=(2,), name="lif")
    try:
        with pytest.raises(ProcessModelError, match=r"(?s)chip configuration.*" +
                           TOO_LONG.format(re.escape(long_tmp)) + ".*TMPDIR"):
            lif.run(RunSteps(1), RunConfig(target="chip", workers=0))
    finally:
        lif.stop()
    assert os.listdir(parent_of(long_tmp)) == []
    address = f"ipc://{long_tmp}/chip/socket"
    driver = ZmqChipDriver(address, timeout=5)
    try:
        with pytest.raises(ValueError, match=TOO_LONG.format(re.escape(address[6:])) +
                           ".*shorter ipc:// address, or a tcp:// one"):
            driver.open()
    finally:
        driver.close()
    done = subprocess.run([sys.executable, "-m", EMULATOR, "--address", address],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and re.search(TOO_LONG.format(re.escape(address[6:])),
                                              done.stderr), done.stderr
