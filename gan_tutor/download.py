"""Downloading safely, written once: reachability probes, timeouts and checksums.

A download that cannot succeed must fail in seconds with the fix named, never hang or leave a half file:
:func:`any_reachable` probes the hosts first (in threads, so a stuck name lookup cannot hold the caller past
its deadline), transfers run under a socket timeout, and what arrives is checked (:func:`sha256_of`) before
it is renamed into place. Used by the datasets (``gan_tutor.data``), the digit judge's weights
(``gan_tutor.classifier``) and Inception-v3's (``gan_tutor.features``).
"""

from __future__ import annotations

import hashlib
import socket
import threading
from pathlib import Path

# A reachability probe answers in seconds where a plain download would wait on the OS's TCP timeout.
PROBE_TIMEOUT_S = 5.0
# Socket timeout during a download: a transfer that stalls this long fails instead of hanging.
DOWNLOAD_TIMEOUT_S = 30.0


def sha256_of(path: Path) -> str:
    """The sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def probe_address(url: str) -> tuple[str, int]:
    """(host, port) a download of ``url`` connects to first: the proxy when one is configured."""
    import urllib.parse
    import urllib.request

    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass_environment(host):
        p = urllib.parse.urlsplit(proxy if "://" in proxy else "http://" + proxy)
        host, port = p.hostname, p.port or 80
    return host, port


def any_reachable(urls: list[str], timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to any of the URLs' hosts opens within ``timeout`` seconds.

    Each probe runs in a daemon thread so that a slow name lookup (which ``create_connection``'s
    timeout does not cover) cannot hold us past the deadline either.
    """
    reached: list[str] = []

    def probe(url: str) -> None:
        try:
            with socket.create_connection(probe_address(url), timeout=timeout):
                reached.append(url)
        except (OSError, ValueError):
            pass

    threads = [threading.Thread(target=probe, args=(url,), daemon=True) for url in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 1)
    return bool(reached)
