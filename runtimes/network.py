"""Where workers' sockets live, and who may talk to them.

``ipc``: Unix sockets in a fresh directory only the user can enter (mode 0700), made inside
this user's private parent ``{tempdir}/lava_lite-{uid}`` (``private_directory``; the chip's
emulator gets its directory there too). Nothing outside that parent is ever looked at or
removed, so other users' files in the temp directory cannot get in the way of a run (and if
someone else took the parent's path, a directory of the run's own is used instead).
``tcp``: loopback TCP with CurveZMQ: every bound socket is a Curve server with this run's
server key, every connecting socket a Curve client with this run's client key, and a ZAP
authenticator in each process admits only that client key, so a peer without the run's
keys can neither send spikes nor commands.
"""
from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import warnings
from dataclasses import dataclass

import zmq
from zmq.auth.thread import ThreadAuthenticator

TRANSPORTS = ("ipc", "tcp")
PARENT_PREFIX = "lava_lite-"  # the per-user parent: {tempdir}/lava_lite-{uid}
RUN, CHIP = "run", "chip"  # kinds of socket directory: a run's workers, an emulated chip
_SOCKET_DIRECTORY = re.compile(rf"(?:{RUN}|{CHIP})-(\d{{1,10}})-.+")  # {kind}-{pid}-XXXXXXXX
#: Longest path of a Unix socket (sun_path less its final NUL: 107 bytes on Linux).
IPC_PATH_MAX = zmq.IPC_PATH_MAX_LEN
CONTROL_SOCKET = "control"  # the coordinator's socket


def data_socket_name(worker: int, peer: int) -> str:
    """The name of the socket on which ``worker`` receives from ``peer``."""
    return f"data-{worker}-from-{peer}"


class UnsafeDirectoryError(OSError):
    """The per-user parent's path holds something this user cannot trust: a symlink, a
    file, or a directory of another user."""


class SocketPathError(ValueError):
    """An ipc:// socket path longer than the OS allows (IPC_PATH_MAX bytes)."""


def check_ipc_path(path: str, remedy: str) -> None:
    """Raise SocketPathError naming ``path``, the limit and ``remedy`` if a Unix socket
    cannot be bound or reached at ``path`` (ZeroMQ would raise a bare ZMQError later)."""
    size = len(os.fsencode(path))
    if size > IPC_PATH_MAX:
        raise SocketPathError(f"the ipc socket path {path} is {size} bytes long, more than "
                              f"the {IPC_PATH_MAX} the OS allows for a Unix socket: {remedy}")


# -- private directories ---------------------------------------------------------------------
def _make_private(path: str) -> None:
    """Make ``path`` a directory only this user can enter (mode 0700), unless it is one
    already. Looked at through a descriptor opened without following a symlink, so what is
    checked is what is there; UnsafeDirectoryError if it is a symlink, not a directory, or
    another user's. (Nobody else can then swap it: the temp directory is sticky.)"""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:  # ELOOP: a symlink; ENOTDIR: a file; EACCES: another user's
        raise UnsafeDirectoryError(f"{path} is not a directory this user can use "
                                   f"({exc.strerror}: a symlink, a file, or another user's "
                                   f"directory?)") from None
    try:
        info = os.fstat(fd)
        if info.st_uid != os.getuid():
            raise UnsafeDirectoryError(f"{path} belongs to uid {info.st_uid}, not to this "
                                       f"user (uid {os.getuid()})")
        if stat.S_IMODE(info.st_mode) != 0o700:
            os.fchmod(fd, 0o700)  # ours (an odd umask, or changed since): private again
    finally:
        os.close(fd)


def user_directory() -> str:
    """The path of this user's private parent of socket directories (made or checked by
    ``private_directory``)."""
    return os.path.join(tempfile.gettempdir(), f"{PARENT_PREFIX}{os.getuid()}")


def private_directory(kind: str) -> str:
    """A fresh directory (mode 0700) for the sockets of one run (``kind`` RUN) or one chip
    (CHIP): ``{kind}-{pid}-XXXXXXXX`` in this user's private parent (``user_directory()``,
    made if missing), after removing the stale ones there.

    If that parent's path is taken by something unsafe (a symlink, a file, another user's
    directory: planted by someone else), nothing is made or followed there: a RuntimeWarning
    names it, and the directory is made straight in the temp directory under an unpredictable
    name (``mkdtemp``, atomically and with mode 0700), where nothing is ever swept."""
    parent = user_directory()
    try:
        _make_private(parent)
    except UnsafeDirectoryError as exc:
        warnings.warn(f"{exc}; lava_lite keeps its sockets in a directory of its own in "
                      f"{os.path.dirname(parent)} instead, and cannot remove what a killed run "
                      f"leaves there (remove {parent}, or set TMPDIR to a directory of your "
                      f"own)", RuntimeWarning, stacklevel=2)
        return tempfile.mkdtemp(prefix=f"{PARENT_PREFIX}{os.getuid()}-{kind}-{os.getpid()}-",
                                dir=os.path.dirname(parent))
    remove_stale_directories(parent)
    return tempfile.mkdtemp(prefix=f"{kind}-{os.getpid()}-", dir=parent)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a zombie counts: its directory may still be in use)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True


def remove_stale_directories(parent: str) -> None:
    """Remove the socket directories ``{kind}-{pid}-*`` in ``parent`` whose process is gone
    (left when it was killed before it could clean up).

    Safe beside other processes doing the same and against whatever is found: entries are
    looked at with lstat (a symlink is never followed), only this user's directories are
    removed (rmtree does not follow symlinks inside them either), and an entry that vanishes
    or cannot be read meanwhile is passed over."""
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        match = _SOCKET_DIRECTORY.fullmatch(name)
        if match is None or _alive(int(match.group(1))):
            continue
        path = os.path.join(parent, name)
        try:
            info = os.lstat(path)
        except OSError:
            continue  # gone already (another sweep), or unreadable
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
            shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class CurveKeys:
    server_public: bytes
    server_secret: bytes
    client_public: bytes
    client_secret: bytes

    @classmethod
    def generate(cls) -> "CurveKeys":
        return cls(*zmq.curve_keypair(), *zmq.curve_keypair())


class _OnlyRunClient:
    """ZAP callback: admit the run's own client key, nothing else."""

    def __init__(self, client_public: bytes):
        self.allowed = client_public

    def callback(self, domain: str, key: bytes) -> bool:  # pyzmq passes the key z85-encoded
        return key == self.allowed


class Network:
    """One run's transport: addresses to bind, keys, and the authenticator of a process."""

    def __init__(self, transport: str = "ipc", num_workers: int = 1):
        """``num_workers``: how many workers the run has, so that a socket path too long
        for the OS is refused here, before any worker is started."""
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {TRANSPORTS}, got {transport!r}")
        self.transport = transport
        self.ipc_dir = None
        if transport == "ipc":
            self.ipc_dir = private_directory(RUN)
            last = max(num_workers - 1, 0)
            try:
                for name in (CONTROL_SOCKET, data_socket_name(last, last)):
                    self._check_path(name)
            except SocketPathError:
                self.remove()
                raise
        self.keys = CurveKeys.generate() if transport == "tcp" else None
        self._authenticator: ThreadAuthenticator | None = None

    def start_authenticator(self, context: zmq.Context) -> None:
        """In each process that binds sockets (tcp only): refuse unknown Curve clients."""
        if self.keys is not None:
            self._authenticator = ThreadAuthenticator(context)
            self._authenticator.start()
            self._authenticator.configure_curve_callback(
                "*", credentials_provider=_OnlyRunClient(self.keys.client_public))

    def bind(self, sock: zmq.Socket, name: str) -> str:
        """Bind ``sock`` as a server; returns the endpoint peers connect to."""
        if self.keys is not None:
            sock.curve_server = True
            sock.curve_secretkey = self.keys.server_secret
            sock.curve_publickey = self.keys.server_public
            sock.bind("tcp://127.0.0.1:*")
            return sock.get(zmq.LAST_ENDPOINT).decode()
        self._check_path(name)
        endpoint = f"ipc://{self.ipc_dir}/{name}"
        sock.bind(endpoint)
        return endpoint

    def connect(self, sock: zmq.Socket, endpoint: str) -> None:
        """Connect ``sock`` as a client of this run."""
        if self.keys is not None:
            sock.curve_serverkey = self.keys.server_public
            sock.curve_publickey = self.keys.client_public
            sock.curve_secretkey = self.keys.client_secret
        sock.connect(endpoint)

    def close(self) -> None:
        """Stop this process's authenticator; the owner also removes the ipc directory."""
        if self._authenticator is not None:
            self._authenticator.stop()
            self._authenticator = None

    def _check_path(self, name: str) -> None:
        check_ipc_path(os.path.join(self.ipc_dir, name),
                       f"set TMPDIR to a directory with a shorter path than "
                       f"{tempfile.gettempdir()}, or use RunConfig(transport='tcp')")

    def remove(self) -> None:
        """Remove the ipc directory (the process that made the Network, at the end)."""
        if self.ipc_dir is not None:
            shutil.rmtree(self.ipc_dir, ignore_errors=True)
