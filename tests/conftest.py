"""Test-wide guards: no network beyond loopback, quiet progress bars; one- and two-thread fixtures.

The socket guard refuses every connection that is not to the loopback interface, so a test that
would download data fails at once, as it would offline; Jupyter kernels still talk to their clients
over 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest


class NetworkBlocked(OSError):
    """Raised by the test socket guard for a non-loopback connection."""


def _is_loopback(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost would need DNS: refuse


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _guarded_connect(self, address):
    if not _is_loopback(address):
        raise NetworkBlocked(f"tests run offline: connection to {address!r} refused by tests/conftest.py")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if not _is_loopback(address):
        raise NetworkBlocked(f"tests run offline: connection to {address!r} refused by tests/conftest.py")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if host not in (None, "localhost") and not _is_loopback((host, 0)):
        raise socket.gaierror(f"tests run offline: name lookup of {host!r} refused by tests/conftest.py")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True, scope="session")
def _offline():
    mp = pytest.MonkeyPatch()
    mp.setattr(socket.socket, "connect", _guarded_connect)
    mp.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    mp.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
    mp.setenv("TQDM_DISABLE", "1")
    mp.setenv("GAN_TUTOR_HEADLESS", "1")  # notebooks draw static figures instead of widgets
    yield
    mp.undo()


def _torch_threads(n: int):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def one_thread():
    """torch on one thread for a module: small batches on shared cores run up to 10x slower on two."""
    yield from _torch_threads(1)


@pytest.fixture(scope="module")
def two_threads():
    """torch on two threads: where thread scheduling could change results (tests/test_determinism.py)."""
    yield from _torch_threads(2)
