"""The on-disk format of the default backend, and the file primitives.

A data directory holds::

    .lock                     flock(2) target: LOCK_EX to write, LOCK_SH to read a
                              consistent set of files (load, backup, check)
    store.json                the manifest: journal generation, the seq it starts
                              after, and the snapshot file of every table
    store.head                the last committed seq (the high-water mark), kept
                              outside the journal: a journal cut at its tail shows
    journal-000007.log        the journal of the current generation (append-only)
    <namespace>/<table>.json  one snapshot per table, written at compaction
    <namespace>/<table>.columns/  what readers derived from the snapshot's segments
                              (ids, a few fields, a searched text's words): kept
                              for the next session; rebuilt when missing (below)
    backups/                  automatic backups (before migrations, restores)

Journal: one line per committed transaction, ``<crc32 hex8> <json>\\n`` where
the JSON is ``{"seq": N, "ts": ..., "actor": ..., "ops": [...]}`` and the CRC
covers the JSON bytes.  Ops: ``create`` (t, version), ``version`` (t, version),
``insert``/``update`` (t, id, doc: the whole new document), ``delete`` (t, id).
A line is written with one ``write()`` and ``fsync``ed before the commit
returns.

Snapshot: a header line ``{"format": "backdesk-table", "table", "version",
"next_id", "seq", "count", "bytes", "crc"}`` then one line with the JSON array
of documents (by id); ``seq`` is the last journal seq the snapshot contains,
so replaying a journal over it skips what it already holds.

Head (``store.head``): one fixed-size line, ``<crc32 hex8> <json>`` padded
with spaces to 127 bytes and a newline, the JSON ``{"seq", "generation",
"count", "end", "last"}``: the seq of the last committed transaction, the
journal generation it is in, how many entries that generation holds, the
byte offset where its journal then ended and the checksum (the first eight
characters) of its line.  It is rewritten in place (one ``pwrite`` at offset
0, no ``fsync``) after each commit's ``fsync``, under the write lock, so it
is never ahead of what is durable: after a power loss it may lag (harmless),
never lead.  The journal must reach the head's seq; when it does not,
committed lines are missing (a disk or copy fault, not an interrupted
write) and the store refuses to load.

Every file is created 0600 and every directory 0700.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import threading
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Callable, Iterator

import msgspec

from .errors import CorruptData, StorageError
from core.records import Record

MANIFEST = "store.json"
HEAD = "store.head"
HEAD_SIZE = 128
LOCK = ".lock"
BACKUPS = "backups"
STORE_FORMAT = "backdesk-store"
TABLE_FORMAT = "backdesk-table"
FORMAT_VERSION = 1
FILE_MODE = 0o600
DIR_MODE = 0o700
RESERVED_NAMES = {BACKUPS, "journal", "store", "lock", "tmp"}

_DUMP = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, the encoding of every data file."""
    return _DUMP(value).encode("utf-8")


def journal_name(generation: int) -> str:
    return f"journal-{generation:06d}.log"


def new_token() -> str:
    return os.urandom(8).hex()  # secrets.token_hex(8), without importing secrets (hmac, hashlib)


# -- files and directories ------------------------------------------------


def make_dir(path: str) -> None:
    """Create ``path`` and any missing parents owner-only (0700)."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(os.path.abspath(path))
    if parent != path and not os.path.isdir(parent):
        make_dir(parent)
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        if not os.path.isdir(path):
            raise
    else:
        os.chmod(path, DIR_MODE)  # in case the umask took more than group/other bits


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


@contextmanager
def replacing(path: str) -> Iterator[int]:
    """A file descriptor to write ``path``'s new content to: when the block
    ends the file is synced and put in place of ``path``, so that a crash
    leaves the old or the new file.

    On any failure (a full disk, an error in the block) the temporary file
    is removed again and ``path`` is left as it was."""
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        try:
            yield fd
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise
    fsync_dir(os.path.dirname(path))


def write_atomic(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data`` (:func:`replacing`)."""
    with replacing(path) as fd:
        write_all(fd, data)


def remove_quietly(path: str) -> None:
    """Unlink ``path`` if it is there (cleaning up after a failure)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError:
        pass  # the original error is the one to report


def read_only_error(e: OSError) -> bool:
    """Whether ``e`` says the file system or the folder refuses writing."""
    return e.errno in (errno.EACCES, errno.EPERM, errno.EROFS)


def read_file(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


# -- the lock ---------------------------------------------------------------


#: seconds a start waits for another process's lock before it says so (DirLock.acquire)
SAY_WAITING_AFTER = 1.0


def took_soon(try_once: Callable[[], bool]) -> bool:
    """Call ``try_once`` (a lock taken without blocking) every 20 ms for
    :data:`SAY_WAITING_AFTER` seconds; False when it never took it: then the
    caller says it waits and blocks (another's transaction of a few ms is
    not worth a line on the terminal)."""
    deadline = time.monotonic() + SAY_WAITING_AFTER
    while not try_once():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


class DirLock:
    """flock(2) on ``<data>/.lock``: one per Store object (i.e. per open file).

    flock locks belong to the open file, so two Store objects in one process
    exclude each other like two processes do.  ``mode`` is None, "sh" or "ex".

    ``read_only``: open the lock file for reading only (flock needs no write
    access), so reading a read-only data folder works.  Without it, a lock
    file that cannot be opened for writing (a read-only mount, a folder of
    another user) is opened for reading and ``writable`` is False;
    ``read_only_reason`` says why.  A read-only folder without a lock file
    cannot be locked: ``fd`` is None and acquiring does nothing (nobody can
    write there either).
    """

    def __init__(self, data_dir: str, *, create: bool = True, read_only: bool = False) -> None:
        path = self.path = os.path.join(data_dir, LOCK)
        self.mode: str | None = None
        self.writable = False
        self.read_only_reason: str | None = "opened read-only" if read_only else None
        self.fd: int | None = None
        if not read_only:
            try:
                self.fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), FILE_MODE)
                self.writable = True
                return
            except OSError as e:
                if not read_only_error(e):
                    raise
                self.read_only_reason = e.strerror
        try:
            self.fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            self.fd = None

    def acquire(self, mode: str, waiting: Callable[[], None] | None = None) -> None:
        """``waiting``: called once when another process has held the lock
        for :data:`SAY_WAITING_AFTER` seconds of this wait (a table's upgrade
        at the first start after a new release), before waiting on."""
        assert self.mode is None, f"lock already held ({self.mode})"
        if mode == "ex" and not self.writable:
            raise StorageError(f"{self.path}: cannot take the write lock ({self.read_only_reason})")
        if self.fd is not None:
            op = fcntl.LOCK_EX if mode == "ex" else fcntl.LOCK_SH
            if waiting is not None:
                def try_once() -> bool:
                    try:
                        fcntl.flock(self.fd, op | fcntl.LOCK_NB)
                        return True
                    except BlockingIOError:
                        return False

                if took_soon(try_once):
                    self.mode = mode
                    return
                waiting()
            fcntl.flock(self.fd, op)
        self.mode = mode

    def release(self) -> None:
        if self.mode is not None:
            if self.fd is not None:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            self.mode = None

    def close(self) -> None:
        self.release()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


# -- the manifest -----------------------------------------------------------


def stat_id(st: os.stat_result) -> tuple:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def read_manifest(data_dir: str) -> tuple[dict, tuple]:
    """The parsed manifest and the identity of the file it was read from."""
    path = os.path.join(data_dir, MANIFEST)
    with open(path, "rb") as f:
        ident = stat_id(os.fstat(f.fileno()))
        raw = f.read()
    try:
        m = json.loads(raw)
        if m.get("format") != STORE_FORMAT:
            raise ValueError("not a Backdesk store manifest")
        if m.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"format version {m.get('format_version')!r}, this Backdesk reads {FORMAT_VERSION}")
        if not isinstance(m["generation"], int) or not isinstance(m["seq"], int):
            raise ValueError("generation/seq are not integers")
        for name, info in m["tables"].items():
            if not isinstance(info["file"], str) or not isinstance(info["seq"], int):
                raise ValueError(f"bad entry for table {name}")
            check_rel_path(info["file"])
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise CorruptData(path, f"the store manifest cannot be read ({e})") from None
    return m, ident


def check_rel_path(rel: str) -> None:
    parts = rel.split("/")
    if len(parts) != 2 or any(p in ("", ".", "..") for p in parts) or not parts[1].endswith(".json"):
        raise ValueError(f"bad snapshot path {rel!r}")


def write_manifest(data_dir: str, manifest: dict) -> None:
    write_atomic(os.path.join(data_dir, MANIFEST), dumps(manifest) + b"\n")


def new_manifest(generation: int, seq: int, tables: dict, parent: str | None) -> dict:
    return {
        "format": STORE_FORMAT,
        "format_version": FORMAT_VERSION,
        "generation": generation,
        "seq": seq,
        "token": new_token(),
        "parent": parent,
        "tables": tables,
    }


# -- snapshots --------------------------------------------------------------


#: documents per segment of a big table's snapshot (see ``encode_snapshot``)
SEGMENT_DOCS = 2000
#: longest header line a reader accepts (a big table's segment list is in it)
HEADER_MAX = 16 * 1024 * 1024
# zone bounds of strings longer than this are cut (a lower bound stays one;
# an upper bound cut would not, so it is left open)
_ZONE_TEXT = 48
# a field's distinct values are listed when there are at most this many
_ZONE_VALUES = 8
_ZONE_TOKENS = 256


def encode_snapshot(name: str, version: int, next_id: int, seq: int, docs: list[dict],
                    *, segment_docs: int | None = SEGMENT_DOCS) -> bytes:
    """A table's snapshot file: a header line, then its documents (in id
    order) as one JSON array.

    A table of more than ``segment_docs`` documents is also cut into
    segments of that many: the array's bytes are the segments' bytes joined
    by commas, and the header lists each segment's place, checksum and
    *zones* (per top-level field the range of its strings and numbers, and
    its distinct values when there are few) so that a reader can read only
    the segments a query can match (``segment_bytes``, ``segment_docs``).  The whole array is
    still one JSON document with one checksum: readers that load the whole
    table do not care."""
    header = {
        "format": TABLE_FORMAT,
        "table": name,
        "version": version,
        "next_id": next_id,
        "seq": seq,
        "count": len(docs),
    }
    if segment_docs and len(docs) > segment_docs:
        parts, segments, at = [], [], 1
        for start in range(0, len(docs), segment_docs):
            raw, segment = encode_segment(docs[start:start + segment_docs])
            segments.append({"at": at, **segment})
            parts.append(raw)
            at += len(raw) + 1
        body = b"[" + b",".join(parts) + b"]"
        header["segments"] = segments
    else:
        body = dumps(docs)
    header["bytes"] = len(body)
    header["crc"] = f"{zlib.crc32(body):08x}"
    return dumps(header) + b"\n" + body + b"\n"


def encode_segment(docs: list[dict]) -> tuple[bytes, dict]:
    """One segment's bytes (documents joined by commas) and its header entry
    but for its place (``at``)."""
    raw = dumps(docs)[1:-1]
    return raw, {"bytes": len(raw), "crc": f"{zlib.crc32(raw):08x}", "count": len(docs), "zones": zones(docs)}


def write_segments(path: str, header: dict, parts: list[tuple[dict, bytes | None]], src: int, src_start: int,
                   name: str) -> list[dict]:
    """Replace the snapshot ``path`` (as :func:`write_atomic` does) with
    ``header`` and the segments ``parts``: (header entry, bytes) of a segment
    encoded anew, or (the old header entry, None) of one kept from the open
    snapshot ``src`` whose body starts at ``src_start``, copied byte for byte
    (``os.copy_file_range``) and never decoded.  The kept bytes are read
    once before, checksummed against their entry (a damaged one raises
    ``CorruptData``, nothing written) and into the body's checksum, which
    the header line before them needs.  What :func:`encode_snapshot` writes
    for the same documents, without holding them.  Returns the segments'
    entries as written (a kept one's ``at`` moves when a segment before it
    changed length)."""
    segments, at = [], 1
    crc = zlib.crc32(b"[")
    for i, (entry, raw) in enumerate(parts):
        if i:
            crc = zlib.crc32(b",", crc)
        if raw is None:
            raw = os.pread(src, entry["bytes"], src_start + entry["at"])
            if len(raw) != entry["bytes"] or f"{zlib.crc32(raw):08x}" != entry["crc"]:
                raise CorruptData(path, f"snapshot of table {name} is damaged: checksum mismatch in a segment "
                                        "(the file was damaged)")
        crc = zlib.crc32(raw, crc)
        segments.append({**entry, "at": at} if "at" in entry else {"at": at, **entry})
        at += entry["bytes"] + 1
    del raw
    crc = zlib.crc32(b"]", crc)
    header = {**header, "segments": segments, "bytes": at, "crc": f"{crc:08x}"}
    with replacing(path) as fd:
        write_all(fd, dumps(header) + b"\n[")
        for i, (entry, raw) in enumerate(parts):
            if i:
                write_all(fd, b",")
            if raw is None:
                _copy_range(src, fd, src_start + entry["at"], entry["bytes"])
            else:
                write_all(fd, raw)
        write_all(fd, b"]\n")
    return segments


def _copy_range(src: int, dst: int, offset: int, count: int) -> None:
    """Append ``count`` bytes of ``src`` from ``offset`` to ``dst`` (in the
    kernel where it can: a copy, or shared blocks on a file system that has them)."""
    end = offset + count
    while offset < end:
        try:
            n = os.copy_file_range(src, dst, end - offset, offset)
        except OSError as e:
            if e.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            n = 0
        if n <= 0:  # not supported here (or the file ends early): read and write
            chunk = os.pread(src, min(end - offset, 1 << 22), offset)
            if not chunk:
                raise OSError(errno.EIO, "the snapshot ended early while it was copied")
            write_all(dst, chunk)
            n = len(chunk)
        offset += n


def zones(docs: list[dict]) -> dict:
    """What a segment's documents hold, per top-level field: ``s``/``n`` the
    least and greatest string/number (``None`` for an upper bound left
    open), ``v`` the distinct values when all are scalars and few (``None``
    standing also for a missing field) and ``c`` how many documents hold
    each, ``o`` whether some value is not a string or number (bool, list,
    object, null or missing), ``t`` for a field of ``|``-delimited tokens
    (``"|3|17|"``, every string value so or empty, few tokens) how many
    documents hold each token, folded: a count of ``Contains("|17|")`` or
    ``{"transferred": True}`` over a year is read from the headers."""
    fields: dict[str, list] = {}
    for d in docs:
        for key in d:
            if key not in fields:
                fields[key] = []
    out: dict[str, dict] = {}
    for key in fields:
        smin = smax = nmin = nmax = None
        other = False
        values: dict | None = {}
        counts: dict = {}
        tokens: dict | None = {}
        tokened = False
        for d in docs:
            v = d.get(key)
            t = type(v)
            if t is str:
                if smin is None or v < smin:
                    smin = v
                if smax is None or v > smax:
                    smax = v
                if tokens is not None and v:
                    if len(v) >= 2 and v[0] == "|" and v[-1] == "|":
                        tokened = True
                        for tok in set(v[1:-1].casefold().split("|")):
                            if tok:
                                tokens[tok] = tokens.get(tok, 0) + 1
                        if len(tokens) > _ZONE_TOKENS:
                            tokens = None
                    else:
                        tokens = None
            elif (t is int or t is float):
                if nmin is None or v < nmin:
                    nmin = v
                if nmax is None or v > nmax:
                    nmax = v
            else:
                other = True
                if t is list:
                    tokens = None  # Contains looks into a list's strings
            if values is not None:
                if t is list or t is dict:
                    values = None
                else:
                    values[(t is bool, v)] = v
                    counts[(t is bool, v)] = counts.get((t is bool, v), 0) + 1
                    if len(values) > _ZONE_VALUES:
                        values = None
        z: dict = {}
        if smin is not None:
            z["s"] = [smin[:_ZONE_TEXT], smax if len(smax) <= _ZONE_TEXT else None]
        if nmin is not None:
            z["n"] = [nmin, nmax]
        if other:
            z["o"] = True
        if values is not None:
            z["v"] = list(values.values())
            z["c"] = [counts[k] for k in values]
        if tokens is not None and tokened:
            z["t"] = tokens
        out[key] = z
    return out


def read_header(fh, path: str, name: str) -> tuple[dict, int]:
    """The verified header of an open snapshot file and where its documents
    start; ``CorruptData`` naming ``path`` when it is damaged."""
    head = fh.readline(HEADER_MAX)
    size = os.fstat(fh.fileno()).st_size
    try:
        if not head.endswith(b"\n"):
            raise ValueError("no header line (file truncated?)")
        header = json.loads(head)
        if header.get("format") != TABLE_FORMAT or header.get("table") != name:
            raise ValueError(f"not the snapshot of table {name}")
        if size != len(head) + header["bytes"] + 1:
            raise ValueError(f"{size - len(head) - 1} bytes of documents where {header['bytes']} were written "
                             "(file truncated?)")
        int(header["version"]), int(header["next_id"]), int(header["seq"])
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise CorruptData(path, f"snapshot of table {name} is damaged: {e}") from None
    return header, len(head)


_DECODER = json.JSONDecoder()
_WS = " \t\n\r"
_RAW_PARTS = msgspec.json.Decoder(list[msgspec.Raw])
_FAST = msgspec.json.Decoder()


def _segment_fast(raw: bytes, segment: dict) -> tuple[list[dict], list[int]] | None:
    """A segment as this code writes it (documents joined by commas, no
    spaces), decoded by msgspec: each document's bytes found without
    decoding, then all of them decoded at once (5x json's loop). None when
    the bytes are not so, or msgspec refuses them (a lone surrogate): the
    careful way then decides."""
    starts = segment_starts(raw, segment)
    if starts is None:
        return None
    try:
        docs = _FAST.decode(b"[" + raw + b"]")
    except (msgspec.DecodeError, ValueError):
        return None
    if not all(type(d) is dict and type(d.get("id")) is int for d in docs):
        return None
    return docs, starts


def segment_bytes(fh, body_start: int, segment: dict, path: str, name: str) -> bytes:
    """One segment of an open snapshot file, checksummed: what
    :func:`segment_docs` reads documents from."""
    try:
        raw = os.pread(fh.fileno(), segment["bytes"], body_start + segment["at"])
        if len(raw) != segment["bytes"]:
            raise ValueError("a segment ends early (file truncated?)")
        if f"{zlib.crc32(raw):08x}" != segment["crc"]:
            raise ValueError("checksum mismatch in a segment (the file was damaged)")
        return raw
    except (ValueError, KeyError, TypeError) as e:
        raise CorruptData(path, f"snapshot of table {name} is damaged: {e}") from None


def segment_docs(raw: bytes, segment: dict, path: str, name: str, *, starts: Any = None,
                 positions: Any = None) -> tuple[list[dict], list[int]]:
    """Documents of a segment's bytes: all of them and the byte where each
    starts, or, given those starts, only the documents at ``positions`` (a
    page of 100 of 2,000 decodes 100)."""
    try:
        if starts is not None:
            ends = len(raw)
            return [json.loads(raw[starts[p]:starts[p + 1] if p + 1 < len(starts) else ends].rstrip(b", \t\n\r"))
                    for p in positions], starts
        fast = _segment_fast(raw, segment)
        if fast is not None:
            return fast
        text = raw.decode("utf-8")
        docs, at, i, n = [], [], 0, len(text)
        while True:
            while i < n and text[i] in _WS:
                i += 1
            if i >= n:
                break
            at.append(i)
            doc, i = _DECODER.raw_decode(text, i)
            if type(doc) is not dict or type(doc.get("id")) is not int:
                raise ValueError("a segment's documents do not match the header")
            docs.append(doc)
            while i < n and text[i] in _WS:
                i += 1
            if i < n and text[i] != ",":
                raise ValueError("a segment's documents are not a JSON list")
            i += 1
        if len(docs) != segment["count"]:
            raise ValueError("a segment's documents do not match the header")
        if len(text) != len(raw):  # not ASCII: characters to bytes
            byte, prev, where = 0, 0, []
            for start in at:
                byte += len(text[prev:start].encode("utf-8"))
                where.append(byte)
                prev = start
            at = where
        return docs, at
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise CorruptData(path, f"snapshot of table {name} is damaged: {e}") from None


_FIELD_DECODERS: dict[tuple[str, ...], tuple[Any, list[Any]]] = {}


def segment_starts(raw: bytes, segment: dict) -> list[int] | None:
    """Where each of a segment's documents starts, found by msgspec
    without decoding them (a segment as this code writes it: documents
    joined by commas; ~0.7 ms for 2,000 journal entries): what
    :func:`segment_docs` decodes a few of. None when the bytes are not so,
    or msgspec refuses them: decode them all then."""
    try:
        parts = _RAW_PARTS.decode(b"[" + raw + b"]")
    except msgspec.DecodeError:
        return None
    starts, at = [], 0
    for part in parts:
        if raw[at:at + 1] != b"{":
            return None
        starts.append(at)
        at += len(part) + 1
    if at - 1 != len(raw) or len(parts) != segment["count"]:
        return None
    return starts


def segment_fields(raw: bytes, segment: dict, keys: tuple[str, ...],
                   missing: Any) -> tuple[list[int], list[list[Any]]] | None:
    """The ids of a segment's documents and, for each of ``keys`` (top-level
    keys other than ``id``), its values in the same order (``missing`` where
    a document has none): decoded by msgspec into only those keys, the rest
    of each document skipped, never built (the journal's description and
    date: 18 ms for 40,000 entries where decoding them whole takes 170-240).
    None when msgspec refuses the bytes (NaN, a lone surrogate, an id that
    is no integer): :func:`segment_docs` then decides, and says what is
    damaged."""
    made = _FIELD_DECODERS.get(keys)
    if made is None:
        names = [f"f{i}" for i in range(len(keys))]
        struct = msgspec.defstruct("SegmentFields", [("id", int), *((n, Any, msgspec.UNSET) for n in names)],
                                   rename={"id": "id", **dict(zip(names, keys))},
                                   gc=False)  # 40,000 at once, freed at once: no work for the collector
        made = _FIELD_DECODERS[keys] = (msgspec.json.Decoder(list[struct]), [attrgetter(n) for n in names])
    decoder, getters = made
    try:
        docs = decoder.decode(b"[" + raw + b"]")
    except msgspec.DecodeError:  # msgspec.ValidationError is one
        return None
    if len(docs) != segment["count"]:
        return None
    unset = msgspec.UNSET
    columns = [[missing if (v := get(d)) is unset else v for d in docs] for get in getters]
    return [d.id for d in docs], columns


# -- kept columns: what readers derived from a segment, beside the snapshot
#
# A session that has not loaded a table reads a segment's columns (its ids,
# a field's values, a searched text's words) from the segment; it keeps
# them in ``<namespace>/<table>.columns/`` so that the next session reads
# them instead of decoding the segment.  Derived data only: a file names
# the segment it was read from (its id range, count, length and checksum)
# and what it holds; one that does not match, cannot be read or is missing
# is built again from the segment.  Written without fsync (a damaged one is
# rebuilt), by whichever process built it (best effort: a read-only folder
# keeps none); the files of segments a snapshot no longer has are removed at
# the next compaction (:func:`prune_columns`).  Backups, checks and
# migrations do not read them.


def columns_dir(snapshot_path: str) -> str:
    base = snapshot_path[:-5] if snapshot_path.endswith(".json") else snapshot_path
    return base + ".columns"


def segment_key(segment: dict) -> str:
    lo, hi = segment["zones"]["id"]["n"]
    return f"{lo}-{hi}-{segment['count']}-{segment['bytes']}-{segment['crc']}"


def _column_path(snapshot_path: str, segment: dict, what: str) -> str:
    return os.path.join(columns_dir(snapshot_path),
                        f"{segment_key(segment)}-{zlib.crc32(what.encode()):08x}.json")


def read_column(snapshot_path: str, segment: dict, what: str) -> Any:
    """The data kept for ``what`` (a JSON text naming the column) of this
    segment, or None."""
    try:
        with open(_column_path(snapshot_path, segment, what), "rb") as fh:
            body = json.loads(fh.read())
        if body["segment"] != segment_key(segment) or body["what"] != what:
            return None
        return body["data"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_column(snapshot_path: str, segment: dict, what: str, data: Any) -> None:
    """Keep ``data`` for ``what`` of this segment (best effort)."""
    path = _column_path(snapshot_path, segment, what)
    tmp = f"{path}.{os.getpid()}-{threading.get_ident()}.tmp"
    try:
        make_dir(os.path.dirname(path))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            write_all(fd, dumps({"segment": segment_key(segment), "what": what, "data": data}))
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except (OSError, ValueError, TypeError):
        remove_quietly(tmp)


def prune_columns(snapshot_path: str, segments: list[dict] | None) -> None:
    """Remove the kept columns of segments the snapshot does not have (and
    temporary files of interrupted writes)."""
    folder = columns_dir(snapshot_path)
    if not os.path.isdir(folder):
        return
    keys = {segment_key(sg) for sg in segments or ()}
    for entry in os.scandir(folder):
        key = entry.name.rsplit("-", 1)[0] if entry.name.endswith(".json") else None
        if key not in keys:
            remove_quietly(entry.path)


@dataclass(slots=True)
class Snapshot:
    name: str
    version: int
    next_id: int
    seq: int
    docs: dict[int, dict]


def read_snapshot(path: str, name: str) -> Snapshot:
    """Read and verify one snapshot; CorruptData naming ``path`` when it is damaged."""
    try:
        data = read_file(path)
    except FileNotFoundError:
        raise CorruptData(path, f"the snapshot of table {name} is missing (store.json names it)") from None
    nl = data.find(b"\n")
    try:
        if nl < 0:
            raise ValueError("no header line (file truncated?)")
        header = json.loads(data[:nl])
        if header.get("format") != TABLE_FORMAT or header.get("table") != name:
            raise ValueError(f"not the snapshot of table {name}")
        body = data[nl + 1:]
        if body.endswith(b"\n"):
            body = body[:-1]
        if len(body) != header["bytes"]:
            raise ValueError(f"{len(body)} bytes of documents where {header['bytes']} were written (file truncated?)")
        if f"{zlib.crc32(body):08x}" != header["crc"]:
            raise ValueError("checksum mismatch (the file was damaged)")
        docs_list = json.loads(body)
        docs = {d["id"]: d for d in docs_list}
        if len(docs) != header["count"] or len(docs_list) != header["count"]:
            raise ValueError("document count does not match the header")
        for doc_id in docs:
            if type(doc_id) is not int or doc_id >= header["next_id"]:
                raise ValueError(f"bad document id {doc_id!r}")
        snap = Snapshot(name, int(header["version"]), int(header["next_id"]), int(header["seq"]), docs)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise CorruptData(path, f"snapshot of table {name} is damaged: {e}") from None
    return snap


# -- the journal ------------------------------------------------------------


def encode_entry(body: dict) -> bytes:
    data = dumps(body)
    return b"%08x %s\n" % (zlib.crc32(data), data)


def _decode_line(line: bytes) -> dict | None:
    if len(line) < 10 or line[8:9] != b" ":
        return None
    try:
        crc = int(line[:8], 16)
    except ValueError:
        return None
    data = line[9:]
    if zlib.crc32(data) != crc:
        return None
    try:
        body = json.loads(data)
    except ValueError:
        return None
    if type(body) is not dict or type(body.get("seq")) is not int or type(body.get("ops")) is not list:
        return None
    return body


@dataclass(slots=True)
class Scan:
    """What :func:`scan_journal` found in a stretch of journal bytes."""

    entries: list[tuple[int, dict]] = field(default_factory=list)  # (offset, body)
    valid_end: int = 0          # offset just after the last valid line
    bad_offset: int | None = None  # first line that is not a valid entry
    incomplete: bool = False    # the bad part is a last line without newline
    corrupt: bool = False       # a valid entry follows the bad line


def scan_journal(buf: bytes, base: int = 0) -> Scan:
    """Split journal bytes (starting at file offset ``base``) into entries."""
    scan = Scan(valid_end=base)
    pos = 0
    n = len(buf)
    while pos < n:
        nl = buf.find(b"\n", pos)
        if nl < 0:
            scan.bad_offset = base + pos
            scan.incomplete = True
            return scan
        body = _decode_line(buf[pos:nl])
        if body is None:
            scan.bad_offset = base + pos
            # A damaged line is only a torn tail if nothing valid follows it.
            for line in buf[nl + 1:].split(b"\n"):
                if line and _decode_line(line) is not None:
                    scan.corrupt = True
                    break
            return scan
        scan.entries.append((base + pos, body))
        pos = nl + 1
        scan.valid_end = base + pos
    return scan


def open_journal(path: str, *, create: bool = False, write: bool = True) -> int:
    """Open a journal to append to (``write``) or only to read it."""
    if not write:
        return os.open(path, os.O_RDONLY)
    flags = os.O_RDWR | os.O_APPEND
    if create:
        flags |= os.O_CREAT | os.O_TRUNC
    return os.open(path, flags, FILE_MODE)


def line_crc(buf: bytes, offset: int) -> str:
    """The checksum field of the journal line starting at ``offset`` of ``buf``."""
    return buf[offset:offset + 8].decode("ascii", "replace")


# -- the head (the high-water mark) -------------------------------------------


@dataclass(slots=True, frozen=True, repr=False, eq=False)
class Head(Record):
    """What ``store.head`` says: the last committed transaction."""

    seq: int
    generation: int
    count: int   # entries in that generation's journal
    end: int     # where that journal ended (bytes)
    last: str    # the checksum field of the last line ("" when count is 0)


def encode_head(head: Head) -> bytes:
    body = dumps({"seq": head.seq, "generation": head.generation, "count": head.count,
                  "end": head.end, "last": head.last})
    line = b"%08x %s" % (zlib.crc32(body), body)
    if len(line) > HEAD_SIZE - 1:  # 2^63 in every field still fits; never happens
        raise StorageError(f"{HEAD}: the head record does not fit in {HEAD_SIZE} bytes")
    return line.ljust(HEAD_SIZE - 1) + b"\n"


def decode_head(raw: bytes) -> Head | None:
    """The head in ``raw`` (the file's bytes); None when it is damaged."""
    line = raw.rstrip(b" \n")
    if len(line) < 10 or line[8:9] != b" ":
        return None
    try:
        if int(line[:8], 16) != zlib.crc32(line[9:]):
            return None
        d = json.loads(line[9:])
        head = Head(d["seq"], d["generation"], d["count"], d["end"], d["last"])
    except (ValueError, KeyError, TypeError):
        return None
    if not all(type(v) is int and v >= 0 for v in (head.seq, head.generation, head.count, head.end)) \
            or type(head.last) is not str:
        return None
    return head


def read_head(data_dir: str) -> tuple[Head | None, bytes | None]:
    """(head, raw bytes) of ``<data_dir>/store.head``; (None, None) when there is none
    (a store written before it existed, or a new one), (None, raw) when damaged."""
    try:
        with open(os.path.join(data_dir, HEAD), "rb") as f:
            raw = f.read(HEAD_SIZE)
    except FileNotFoundError:
        return None, None
    return decode_head(raw), raw


def head_problem(head: Head, generation: int, end_seq: int,
                 crc_of: Callable[[int], str | None]) -> str | None:
    """What is wrong when a journal of ``generation`` ends at ``end_seq`` while
    ``store.head`` says ``head``; None when they agree.

    ``crc_of(seq)``: the checksum field of that entry's line in this journal
    (None when it is not in it)."""
    if head.generation > generation:
        return (f"{MANIFEST} names journal generation {generation}, but generation {head.generation} "
                f"was already in use ({HEAD}): the manifest is an older copy")
    if head.seq > end_seq:
        lost = f"seq {end_seq + 1}" if head.seq == end_seq + 1 else f"seq {end_seq + 1}-{head.seq}"
        return (f"committed changes are missing: the journal ends at seq {end_seq}, but "
                f"{head.seq} was committed ({HEAD}); {lost} were cut off (a disk or copy fault, "
                "not an interrupted write)")
    if head.generation == generation and head.count:
        crc = crc_of(head.seq)
        if crc is not None and crc != head.last:
            return (f"the journal line of seq {head.seq} is not the one that was committed "
                    f"({HEAD} recorded checksum {head.last}, the line has {crc}): the journal was replaced")
    return None


def read_from(fd: int, offset: int) -> bytes:
    size = os.fstat(fd).st_size
    if size <= offset:
        return b""
    chunks = []
    want = size - offset
    while want > 0:
        chunk = os.pread(fd, want, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
        want -= len(chunk)
    return b"".join(chunks)


def ensure_writable(path: str) -> None:
    if not os.access(path, os.W_OK):
        raise StorageError(f"{path}: not writable by this user")


# -- copying a store (backups, restores, migrations) --------------------------------


def prepare_dest(dest: str | os.PathLike) -> str:
    """An absolute, empty, owner-only directory for a backup (created if needed)."""
    dest = os.path.abspath(os.fspath(dest))
    if os.path.exists(dest):
        if not os.path.isdir(dest):
            raise StorageError(f"{dest}: exists and is not a directory; choose a new backup directory")
        if os.listdir(dest):
            raise StorageError(f"{dest}: not empty; a backup goes into a new or empty directory")
    make_dir(dest)
    return dest


def copy_file(src: str, dst: str) -> None:
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        write_all(fd, read_file(src))
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_store(data_dir: str, dest: str, manifest: dict, jfd: int, jpos: int) -> None:
    """Copy the files ``manifest`` names, and the journal up to ``jpos``.

    The caller holds a lock that keeps writers out (LOCK_SH or LOCK_EX), so
    the set is consistent.  The manifest is written last.
    """
    make_dir(dest)
    for info in manifest["tables"].values():
        ns = os.path.join(dest, info["file"].split("/")[0])
        make_dir(ns)
        copy_file(os.path.join(data_dir, info["file"]), os.path.join(dest, info["file"]))
    journal = os.path.join(dest, journal_name(manifest["generation"]))
    fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        offset = 0
        while offset < jpos:
            chunk = os.pread(jfd, min(1 << 22, jpos - offset), offset)
            if not chunk:
                raise StorageError(f"{data_dir}: the journal shrank while it was copied")
            write_all(fd, chunk)
            offset += len(chunk)
        os.fsync(fd)
    finally:
        os.close(fd)
    for entry in os.scandir(dest):
        if entry.is_dir():
            fsync_dir(entry.path)
    write_manifest(dest, manifest)
