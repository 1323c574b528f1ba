"""Walls around the audit trail against someone who can write its files.

The hash chain (:mod:`core.services.audit`) shows an entry edited, removed or
reordered — unless whoever changed it recomputed every hash after it, which
anyone with the data folder (or the database) can. Two walls against that:

**The key.** When the audit key file exists (``$BACKDESK_AUDIT_KEY``, or
``audit.key`` beside ``backdesk.yaml``; never inside the data folder), every
commit that appends entries writes into the head record ``mac``: an
HMAC-SHA256 with that key over the head's seq and hash. The last hash
chains every entry before it, so a trail rewritten without the key —
however consistently — no longer matches its head's ``mac``, and a head
without one (or with a stale one) is refused by ``audit verify`` and
``check``. ``backdesk audit key`` creates the key (0600) and records that
the trail is keyed from then on. The key is read by every process that
writes: keep it readable by the account Backdesk runs as (the SSH/web
server's) and by nobody else.

**Anchors.** ``backdesk audit anchor`` prints (or appends to ``-o FILE``)
one line: the trail's head (seq, hash) and how many entries it holds, with
the time. Keep it where the data folder's writers cannot reach: another
host, syslog (``backdesk audit anchor | logger -t backdesk``), a printed
report. ``backdesk audit verify --anchor FILE`` checks every anchor line in
FILE (syslog lines too: the JSON in each line): the entry at the anchor's
seq must still be there with the anchor's hash. A trail rewritten from the
start (even with the key, by someone who could read it), cut back before
the anchor, or rolled back to an older copy fails.

What neither does: stop someone with the files from destroying the trail
(they can delete it; verify then says so), or catch a change made after the
newest anchor by someone who holds the key. Anchors taken often and kept
far away narrow that window.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

from core.errors import BackdeskError
from core.i18n import _

#: the environment variable naming the key file (overrides the default)
ENV_KEY = "BACKDESK_AUDIT_KEY"
#: the key file's name beside backdesk.yaml
KEY_FILE = "audit.key"
ANCHOR_FORMAT = "backdesk-audit-anchor"
_JSON_IN_LINE = re.compile(r"\{.*\}")


def key_path(config) -> Path:
    """Where this site's audit key is (it need not exist)."""
    named = os.environ.get(ENV_KEY)
    if named:
        return Path(named).expanduser()
    return Path(getattr(config, "config_dir")) / KEY_FILE


def read_key(path: Path) -> bytes | None:
    """The key in ``path``; None when there is no such file. A key that
    cannot be read (permissions, damaged) is a BackdeskError: nothing may be
    recorded unkeyed while the site has a key."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise BackdeskError(_("the audit key {path} cannot be read ({error}); changes cannot be recorded "
                              "in the audit trail").format(path=path, error=exc.strerror or exc)) from None
    text = raw.strip()
    try:
        key = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) < 32:
        raise BackdeskError(_("the audit key {path} is damaged (not 64 hex digits); changes cannot be "
                              "recorded in the audit trail").format(path=path))
    return key


def create_key(path: Path, data_dir: Path) -> None:
    """Write a new random key to ``path`` (0600), refusing an existing file
    and a place inside the data folder (whoever has that has the key)."""
    path = Path(os.path.abspath(path))
    data = Path(os.path.abspath(data_dir))
    if path == data or data in path.parents:
        raise BackdeskError(_("{path}: the audit key must be kept outside the data folder {data}").format(
            path=path, data=data))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackdeskError(_("{path}: there is an audit key already; a new one would make the trail "
                              "written with it unverifiable").format(path=path)) from None
    except OSError as exc:
        raise BackdeskError(_("{path}: cannot create the audit key ({error})").format(
            path=path, error=exc.strerror or exc)) from None
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, os.urandom(32).hex().encode("ascii") + b"\n")
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        os.unlink(path)
        raise BackdeskError(_("{path}: cannot write the audit key ({error})").format(
            path=path, error=exc.strerror or exc)) from None
    os.close(fd)


def head_mac(key: bytes, seq: int, last_hash: str) -> str:
    """The keyed hash of a head record."""
    import hashlib  # here: importing them (OpenSSL) costs every start, which writes no entry
    import hmac

    return hmac.new(key, f"backdesk-audit-head:{seq}:{last_hash}".encode(), hashlib.sha256).hexdigest()


def mac_matches(key: bytes, head: dict) -> bool:
    import hmac

    mac = head.get("mac")
    seq, last = head.get("seq"), head.get("hash")
    if not isinstance(mac, str) or not isinstance(seq, int) or not isinstance(last, str):
        return False
    return hmac.compare_digest(mac, head_mac(key, seq, last))


# -- anchors ---------------------------------------------------------------------


def anchor_line(head: dict | None, entries: int, site: str) -> str:
    """One line (JSON) naming the trail's head now."""
    head = head or {}
    anchor = {"format": ANCHOR_FORMAT, "site": site, "seq": head.get("seq") or 0,
              "hash": head.get("hash"), "entries": entries,
              "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    return json.dumps(anchor, sort_keys=True)


def read_anchors(text: str, where: str) -> list[dict]:
    """The anchors in ``text`` (a file of anchor lines, or a log holding them);
    BackdeskError when it holds none."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        match = _JSON_IN_LINE.search(line)
        if not match:
            continue
        try:
            anchor = json.loads(match.group(0))
        except ValueError:
            continue
        if (isinstance(anchor, dict) and anchor.get("format") == ANCHOR_FORMAT
                and isinstance(anchor.get("seq"), int) and not isinstance(anchor.get("seq"), bool)
                and (anchor.get("hash") is None or isinstance(anchor.get("hash"), str))):
            anchor["line"] = number
            found.append(anchor)
    if not found:
        raise BackdeskError(_("{file}: holds no audit anchor (lines written by 'backdesk audit anchor')").format(
            file=where))
    return found
