"""Where workers' sockets live, and who may talk to them.

``ipc``: Unix sockets in a fresh directory only the user can enter (mkdtemp, mode 0700).
``tcp``: loopback TCP with CurveZMQ: every bound socket is a Curve server with this run's
server key, every connecting socket a Curve client with this run's client key, and a ZAP
authenticator in each process admits only that client key, so a peer without the run's
keys can neither send spikes nor commands.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass

import zmq
from zmq.auth.thread import ThreadAuthenticator

TRANSPORTS = ("ipc", "tcp")
IPC_PREFIX = "lava_lite-run-"


def remove_stale_directories(prefix: str) -> None:
    """Remove socket directories ``{prefix}{pid}-*`` of this user whose process is gone
    (left behind when that process was killed before it could clean up)."""
    base = tempfile.gettempdir()
    for name in os.listdir(base):
        if not name.startswith(prefix):
            continue
        pid = name[len(prefix):].split("-", 1)[0]
        path = os.path.join(base, name)
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}") and \
                os.stat(path).st_uid == os.getuid():
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

    def __init__(self, transport: str = "ipc"):
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {TRANSPORTS}, got {transport!r}")
        self.transport = transport
        self.ipc_dir = None
        if transport == "ipc":
            remove_stale_directories(IPC_PREFIX)
            self.ipc_dir = tempfile.mkdtemp(prefix=f"{IPC_PREFIX}{os.getpid()}-")
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

    def remove(self) -> None:
        if self.ipc_dir is not None:
            shutil.rmtree(self.ipc_dir, ignore_errors=True)
