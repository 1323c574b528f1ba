"""The service checks themselves: TCP port, HTTP status, DNS, disk free.

Each probe takes a check (kind, target, expect) and returns
``(ok, message)``; none raises, none touches storage, each gives up after
``timeout`` seconds. They run in worker threads (the status board) or in the
CLI, several at once.
"""

from __future__ import annotations

import shutil
import socket
from concurrent.futures import ThreadPoolExecutor

from plugins.it.models import parse_size


def probe_tcp(target: str, timeout: float) -> tuple[bool, str]:
    host, _, port = target.rpartition(":")
    host = host.strip("[]")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True, "port open"
    except OSError as exc:
        return False, _reason(exc)


def probe_http(target: str, expect: int, timeout: float) -> tuple[bool, str]:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(target)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname, parts.port, timeout=timeout)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        conn.request("GET", path, headers={"User-Agent": "backdesk-it-check"})
        status = conn.getresponse().status
    except (OSError, http.client.HTTPException) as exc:
        return False, _reason(exc)
    finally:
        conn.close()
    if status == expect:
        return True, f"HTTP {status}"
    return False, f"HTTP {status}, expected {expect}"


def probe_dns(target: str, timeout: float) -> tuple[bool, str]:
    # getaddrinfo has no timeout of its own; the caller's pool bounds the wait
    try:
        infos = socket.getaddrinfo(target, None)
    except (OSError, UnicodeError) as exc:
        return False, _reason(exc)
    addrs = sorted({i[4][0] for i in infos})
    return True, ", ".join(addrs[:3]) + (" …" if len(addrs) > 3 else "")


def probe_disk(target: str, expect: str) -> tuple[bool, str]:
    try:
        usage = shutil.disk_usage(target)
    except OSError as exc:
        return False, _reason(exc)
    kind, limit = parse_size(expect)
    free_pct = 100.0 * usage.free / usage.total if usage.total else 0.0
    text = f"{_size(usage.free)} free ({free_pct:.0f}%)"
    ok = free_pct >= limit if kind == "percent" else usage.free >= limit
    return ok, text if ok else f"{text}, wanted {expect}"


def run_probe(check: dict, timeout: float = 3.0) -> tuple[bool, str]:
    kind, target, expect = check["kind"], check["target"], check.get("expect")
    try:
        if kind == "tcp":
            return probe_tcp(target, timeout)
        if kind == "http":
            return probe_http(target, int(expect or 200), timeout)
        if kind == "dns":
            return probe_dns(target, timeout)
        if kind == "disk":
            return probe_disk(target, str(expect or "10%"))
    except Exception as exc:  # a probe must never take the board down
        return False, f"{type(exc).__name__}: {exc}"
    return False, f"unknown kind {kind!r}"


def run_probes(checks: list[dict], timeout: float = 3.0) -> dict[int, tuple[bool, str]]:
    """Run every check at once (threads); {check id: (ok, message)}."""
    if not checks:
        return {}
    with ThreadPoolExecutor(max_workers=min(16, len(checks))) as pool:
        futures = {c["id"]: pool.submit(run_probe, c, timeout) for c in checks}
        out = {}
        for cid, fut in futures.items():
            try:
                out[cid] = fut.result(timeout=timeout + 5)
            except Exception as exc:
                out[cid] = (False, f"no answer: {type(exc).__name__}")
        return out


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.timeout):
        return "timed out"
    return text.splitlines()[0][:120]


def _size(n: float) -> str:
    for unit in ("B", "K", "M", "G", "T"):
        if n < 1024 or unit == "T":
            return f"{n:.0f}{unit}" if unit in ("B", "K") else f"{n:.1f}{unit}"
        n /= 1024
    return f"{n}"


__all__ = ["run_probe", "run_probes"]
