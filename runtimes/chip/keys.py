"""CurveZMQ keys of a chip served over tcp, kept as standard ZeroMQ certificate files.

The chip's key directory (``lava-lite-chip --keys DIR``) holds its key pair (``chip.key``,
``chip.key_secret``) and the public certificates (``*.key``) of the clients it admits (read
when the chip starts); on first use it also gets a client key pair (``client.key``,
``client.key_secret``). The client (``chip_options["keys"]``) needs a directory with
``chip.key`` (whom it talks to) and ``client.key_secret`` (who it is). ``chip.key`` is itself
admitted by the chip, which is harmless: only the holder of ``chip.key_secret`` can use it.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

import zmq.auth

CHIP = "chip"
CLIENT = "client"


def is_loopback(address: str) -> bool:
    """Whether ``address`` stays on this machine: ipc://, or tcp:// to a loopback host
    (127.0.0.0/8, ::1, localhost). Anything else, or unparsable, counts as leaving it."""
    if address.startswith("ipc://"):
        return True
    if not address.startswith("tcp://"):
        return False
    host = address[len("tcp://"):].rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # an interface name, a host name or "*": may reach other machines


@dataclass(frozen=True)
class ClientKeys:
    server_public: bytes
    public: bytes
    secret: bytes


def _load(directory, name: str, secret: bool) -> tuple[bytes, bytes | None]:
    path = os.path.join(directory, f"{name}.key_secret" if secret else f"{name}.key")
    if not os.path.isfile(path):
        raise ValueError(f"no {os.path.basename(path)} in the key directory {directory}")
    try:
        public, secret_key = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:  # unreadable, or no public key in it
        raise ValueError(f"{path}: {exc}") from None
    if secret and secret_key is None:
        raise ValueError(f"{path} holds no secret key")
    if secret and os.stat(path).st_mode & 0o077:
        raise ValueError(f"{path} can be read by other users: make it yours only "
                         f"(chmod 600)")
    return public, secret_key


def client_keys(directory) -> ClientKeys:
    """The keys a client needs from ``directory``; ValueError naming a missing file."""
    if not os.path.isdir(directory):
        raise ValueError(f"no key directory {directory}")
    server_public, _ = _load(directory, CHIP, secret=False)
    return ClientKeys(server_public, *_load(directory, CLIENT, secret=True))


@dataclass(frozen=True)
class ChipKeys:
    directory: str  # also holds the admitted clients' certificates
    public: bytes
    secret: bytes


def chip_keys(directory) -> ChipKeys:
    """The chip's key pair from ``directory``; ValueError if it has none, or if other users
    could add a client certificate to it."""
    if os.stat(directory).st_mode & 0o022:
        raise ValueError(f"the key directory {directory} can be written by other users, who "
                         f"could add a client key of their own: make it yours only "
                         f"(chmod go-w)")
    return ChipKeys(str(directory), *_load(directory, CHIP, secret=True))


def make_keys(directory) -> list[str]:
    """Make the chip's and a client's key pairs in ``directory`` (created with mode 0700)
    unless it has a chip key already; returns the files a client must copy ([] if none
    were made)."""
    if os.path.exists(os.path.join(directory, f"{CHIP}.key_secret")):
        return []
    umask = os.umask(0o077)  # the directory and the files: this user's only
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        for name in (CHIP, CLIENT):
            zmq.auth.create_certificates(directory, name)
    finally:
        os.umask(umask)
    return [os.path.join(directory, f"{CHIP}.key"),
            os.path.join(directory, f"{CLIENT}.key_secret")]
