"""Decoding the data files: ``files.loads`` (orjson where it agrees with
json.loads, json.loads for the rest) returns exactly what json.loads does,
and a store written by this code opens the same whichever decoder reads it.

"The same" is type-strict here (``1`` is not ``1.0`` nor ``True``, ``-0.0``
is not ``0.0``) and includes the order of keys.
"""

from __future__ import annotations

import json
import random
import struct
import sys
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.storage import CorruptData, open_store
from core.storage import files
from core.storage.files import journal_name

pytestmark = pytest.mark.tinydb_only("about the TinyDB backend's file decoding")


def same(a, b) -> bool:
    pending = [(a, b)]  # no recursion: some values nest deeper than the stack
    while pending:
        a, b = pending.pop()
        if type(a) is not type(b):
            return False
        if type(a) is float:
            if struct.pack("<d", a) != struct.pack("<d", b) and not (a != a and b != b):
                return False
        elif type(a) is dict:
            if list(a) != list(b):
                return False
            pending += ((a[k], b[k]) for k in a)
        elif type(a) is list:
            if len(a) != len(b):
                return False
            pending += zip(a, b)
        elif a != b:
            return False
    return True


def outcome(fn, data: bytes):
    try:
        return ("value", fn(data))
    except Exception as e:  # noqa: BLE001 - the kind of error is what is compared
        return ("error", type(e))


def assert_like_json(data: bytes) -> None:
    want, got = outcome(json.loads, data), outcome(files.loads, data)
    assert want[0] == got[0] and (same(want[1], got[1]) if want[0] == "value" else want[1] is got[1]), (data[:200], want, got)


# -- values the encoder writes ---------------------------------------------------

BIG_INTS = [
    0, -1, 2**53 + 1, 10**18 - 1, -(10**18) + 1, 10**18, -(10**18), 2**63 - 1, 2**63, 2**64 - 1, 2**64,
    10**19 - 1, 10**19, -(2**63), -(2**63) - 1, -(10**19), 10**20, 1795766386773620227,
    2**200, -(2**200), int("9" * 400),
]
FLOATS = [
    0.0, -0.0, 0.1, 0.3, 4.35, 1 / 3, 5e-324, -5e-324, 2.2250738585072014e-308, 2.225073858507201e-308,
    1.7976931348623157e308, -1.7976931348623157e308, 1e16, 1e22, 1e-7, 1e308, 123456789.12345678,
    0.00012345678901234567, 9.223372036854776e18, 1.8446744073709552e19, 2.0**63, 2.0**64, -(2.0**63),
    12345678901234567.0, 0.1 + 0.2,
]
STRINGS = [
    "", "é", "Müller & Söhne", "😀", "𝄞", "\U0010ffff", "\uffff", "\ufeff", "\u2028\u2029", "\x00", "\x1f",
    "\x7f", "\\", '"', "/", "a\nb\tc\r\b\f", "İß", "שלום", "中文", "e\u0301", "DE89370400440532013000",
    "12345678901234567890123", ": 123456789012345678901", ",-12345678901234567890", "[99999999999999999999]",
    "1e400", "NaN", "Infinity", "0000000000000000000000000000000000000000000000000000000000000000",
]
KEYS = ["", "é", "😀", "12345678901234567890", "id_", "a b", "\x00", "\\", '"', "NaN"]


def hostile_values() -> list:
    nested = {"a": [[[]], {}, [{"b": {"c": [1, 2.5, None, True, False, "x"]}}]], "d": {"e": {"f": {}}}}
    deep: object = [1]
    for i in range(200):
        deep = {"k": deep, "i": i} if i % 2 else [deep, i]
    return [*BIG_INTS, *FLOATS, *STRINGS, None, True, False, [], {}, nested, deep,
            {k: i for i, k in enumerate(KEYS)}, list(BIG_INTS), list(FLOATS), list(STRINGS)]


@pytest.mark.parametrize("value", hostile_values(), ids=lambda v: repr(v)[:30])
def test_encoded_values_decode_like_json(value):
    for wrapped in ({"v": value}, [value], {"a": [value, {"b": value}], "z": -1}):
        data = files.dumps(wrapped)
        assert_like_json(data)
        assert same(files.loads(data), wrapped)  # and they round-trip


def test_a_whole_array_of_hostile_documents_decodes_like_json():
    docs = [{"id": i, "v": v, "w": [v, {"x": v}]} for i, v in enumerate(hostile_values(), 1)]
    assert_like_json(files.dumps(docs))
    assert_like_json(files.dumps(docs[: len(BIG_INTS)]))  # only big numbers
    assert_like_json(files.dumps(docs[len(BIG_INTS):]))  # all but the big ints


def test_random_floats_and_integers_decode_like_json():
    rng = random.Random(20260101)
    values = []
    for _ in range(20_000):
        x = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if x == x and x not in (float("inf"), float("-inf")):
            values.append(x)
        values.append(rng.randint(-(2 ** rng.randint(1, 80)), 2 ** rng.randint(1, 80)))
    for i in range(0, len(values), 100):
        chunk = values[i:i + 100]
        data = files.dumps({"n": chunk})
        got = files.loads(data)["n"]
        assert all(map(same, got, chunk)), data[:200]
        assert same(got, json.loads(data)["n"])


def test_hand_written_decimals_decode_like_json():
    """Numbers no repr() writes (long mantissas, odd exponents): as json.loads reads them."""
    rng = random.Random(7)
    for _ in range(20_000):
        digits = str(rng.randint(1, 10 ** rng.randint(1, 30)))
        point = rng.randint(0, len(digits))
        text = (digits[:point] or "0") + "." + (digits[point:] or "0")
        if rng.random() < 0.5:
            text += f"e{rng.randint(-350, 330)}"
        if rng.random() < 0.5:
            text = "-" + text
        assert_like_json(f'{{"v":{text},"w":[{text}]}}'.encode())


json_scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-2**70, max_value=2**70)
                | st.floats(allow_nan=False, allow_infinity=False)
                | st.text(st.characters(blacklist_categories=("Cs",))))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",)), max_size=8), inner, max_size=5),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_encodable_value_decodes_like_json(value):
    for wrapped in ({"v": value}, [value]):
        data = files.dumps(wrapped)
        assert_like_json(data)
        assert same(files.loads(data), wrapped)


# -- texts only another writer (or damage) produces --------------------------------

HAND_WRITTEN = [
    b'{"v":NaN}', b'{"v":Infinity}', b'{"v":-Infinity}', b'[NaN,1]', b"[1e400]", b"[-1e400]", b"[1e-400]",
    b'["\\ud800"]', b'["\\udc00x"]', b'["\\ud83d\\ude00"]', b'["\xed\xa0\x80"]', b'{"a":"\\u00e9\\/"}',
    b'{"a":1,"a":2}', b'{"a":1,"b":2,"a":{"c":3}}', b'{"a":{"x":1},"b":[],"a":[2]}',
    b'{"v": 123456789012345678901}', b"[ -9223372036854775809 ]", b'{"v":\t18446744073709551616}',
    b'{"v":\n-12345678901234567890.5}', b'{"v":\r\n 99999999999999999999e-5}', b"[1.00000000000000000000000000001]",
    b"[0.1e-99999999999999999999]", b"[1e99999999999999999999]", b"[1E+2,1e-2,-0,-0.0,0e0,-0e-0]",
    b"[18446744073709551615,18446744073709551616,-9223372036854775808,9999999999999999999]",
    b'\xef\xbb\xbf{"a":1}', '{"a":1}'.encode("utf-16-le"), '{"a":1}'.encode("utf-16"),
    '{"a":1}'.encode("utf-32"), b' {"a":1} ', b'{"a":1}\n',
    # invalid: both refuse
    b"", b"{", b'{"a":1,}', b"[1 2]", b'{"a":01}', b"\xff", b'["a\x01"]', b'["a\tb"]', b'{"a":1}x',
    b"[tru]", b"{1:2}", b"{'a':1}", b"[.5]", b"[1.]", b'["\\x"]', b'["\xc0\x80"]', b'{"a":1}\x00',
    b"[+1]", b"[-]", b"[1e]", b"[nan]",
    # not objects or arrays: json.loads reads them directly
    b'"top"', b"123456789012345678901234", b"-12345678901234567890", b"null", b"9223372036854775808",
]


@pytest.mark.parametrize("data", HAND_WRITTEN, ids=lambda d: repr(d[:40]))
def test_hand_written_texts_decode_like_json(data):
    assert_like_json(data)


@pytest.mark.parametrize("depth", [900, 1100, 3000])
def test_deep_nesting_reads_as_json_reads_it_given_the_stack(depth):
    """json.loads runs out of recursion at a depth that depends on the caller's
    stack (RecursionError); orjson reads up to 1024 levels whatever the stack.
    Given room, both give the same value."""
    data = b'{"a":' * depth + b"[1]" + b"}" * depth
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + 10_000)
    try:
        assert_like_json(data)
    finally:
        sys.setrecursionlimit(limit)


# -- the fast path is taken where it is safe, and only there ----------------------


def test_orjson_reads_everyday_documents_and_not_the_rest(monkeypatch):
    if files._orjson_loads is None:
        pytest.skip("orjson is not installed")
    calls: list[bytes] = []
    real = files._orjson_loads
    monkeypatch.setattr(files, "_orjson_loads", lambda data: calls.append(data) or real(data))
    everyday = [
        {"mtime_ns": 1795766386773620227, "iban": "DE89370400440532013000", "hash": "0" * 64,
         "message_id": "<179576638677.814.2510544041488736072@localhost>", "amount": "1234.50",
         "n": -999999999999999999, "big": 9999999999999999999, "f": 0.1, "g": -1.2345678901234567e-300},
        [10**19 - 1, -(10**18) + 1, 1.7976931348623157e308, 5e-324],
    ]
    for doc in everyday:
        assert same(files.loads(files.dumps(doc)), doc)
    assert len(calls) == len(everyday)
    calls.clear()
    risky = [{"n": 2**64}, {"n": -(2**63) - 1}, [10**30], {"a": {"b": [1, -(10**19)]}}]
    for doc in risky:
        assert same(files.loads(files.dumps(doc)), doc)
    assert calls == []


def test_long_numbers_are_seen_across_the_scan_pieces_of_a_big_text():
    """Big texts (snapshots) are scanned in pieces; a number cut by a piece
    boundary, anywhere, still goes to json.loads."""
    for number in (b"123456789012345678901234567890", b"-9223372036854775809", b"18446744073709551616"):
        for k in range(files._SCAN_CHUNK - 40, files._SCAN_CHUNK + 2):
            data = b'["' + b"x" * k + b'",' + number + b"]"
            assert files.loads(data)[1] == int(number) and type(files.loads(data)[1]) is int, (number, k)


# -- stores on disk ------------------------------------------------------------------


def _hostile_docs() -> list[dict]:
    docs = [{"v": v} for v in hostile_values()]
    docs.append({k: k for k in KEYS} | {"n": 2**70})
    docs.append({"all": hostile_values()})
    return docs


def _write_store(data_dir, *, compact: bool) -> list[dict]:
    s = open_store(data_dir)
    t = s.table("hr", "cases")
    with s.transaction():
        for doc in _hostile_docs():
            t.insert(doc)
    t.update(1, {"v": -(2**64), "extra": "Größe 😀"})
    t.delete(2)
    if compact:
        s.compact()
        t.insert({"after": [10**25, 0.1, "ü"]})
        t.update(3, {"v": 1e-300})
    expected = t.all()
    s.close()
    return expected


def _read_store(data_dir) -> list[dict]:
    s = open_store(data_dir)
    try:
        return s.table("hr", "cases").all()
    finally:
        s.close()


def _data_texts(data_dir) -> list[bytes]:
    """The JSON texts of every journal line and snapshot line (without the CRC prefix)."""
    texts = []
    for path in sorted(data_dir.rglob("*")):
        if path.name.startswith("journal-"):
            texts += [line[9:] for line in path.read_bytes().split(b"\n") if line]
        elif path.suffix == ".json" and path.name != "store.json":
            texts += [line for line in path.read_bytes().split(b"\n") if line]
    return texts


@pytest.mark.parametrize("compact", [False, True], ids=["journal", "snapshot+journal"])
def test_a_store_written_by_this_code_opens_identically(data_dir, compact, monkeypatch):
    expected = _write_store(data_dir, compact=compact)
    fast = _read_store(data_dir)
    monkeypatch.setattr(files, "_orjson_loads", None)  # the stdlib decoder only (before orjson)
    slow = _read_store(data_dir)
    assert same(fast, expected)
    assert same(slow, expected)
    # The files are the stdlib encoder's bytes: what older Backdesk wrote and reads.
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
    texts = _data_texts(data_dir)
    assert len(texts) > (3 if compact else 1)
    for text in texts:
        assert encode(json.loads(text)).encode() == text
        assert same(files.loads(text), json.loads(text))


def _append_line(data_dir, body: bytes) -> None:
    path = data_dir / journal_name(1)
    with open(path, "ab") as f:
        f.write(b"%08x %s\n" % (zlib.crc32(body), body))


def _next_seq(data_dir) -> int:
    last = (data_dir / journal_name(1)).read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1]
    return json.loads(last[9:])["seq"] + 1


def test_hand_written_journal_lines_read_as_json_reads_them(data_dir):
    s = open_store(data_dir)
    s.table("hr", "cases").insert({"a": 1})
    s.close()
    seq = _next_seq(data_dir)
    # Whitespace, a big int after it, NaN, a lone surrogate: valid checksums,
    # nothing this encoder writes, all of it accepted by json.loads.
    _append_line(data_dir, b'{"seq": %d, "ts": "x", "actor": null, "ops": [{"op": "insert", "t": "hr.cases", '
                           b'"id": 2, "doc": {"id": 2, "big": 123456789012345678901234567890, '
                           b'"neg":\t-9223372036854775809, "nan": NaN, "s": "\\ud800", "f": 1.000000000000000000001}}]}' % seq)
    docs = _read_store(data_dir)
    doc = docs[1]
    assert doc["big"] == 123456789012345678901234567890 and type(doc["big"]) is int
    assert doc["neg"] == -9223372036854775809 and type(doc["neg"]) is int
    assert doc["nan"] != doc["nan"] and doc["s"] == "\ud800" and doc["f"] == 1.0


def test_checksum_mismatch_in_a_snapshot_raises_corrupt_data_naming_it(data_dir):
    _write_store(data_dir, compact=True)
    path = data_dir / "hr" / "cases.json"
    data = bytearray(path.read_bytes())
    i = data.index(b'"Gr') if b'"Gr' in data else len(data) // 2
    data[i + 1] ^= 0x20  # same length, other bytes: the CRC no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptData) as info:
        open_store(data_dir)
    assert info.value.path == str(path)
    assert str(path) in str(info.value) and "checksum" in str(info.value)


def test_checksum_mismatch_in_the_journal_raises_corrupt_data_naming_it(data_dir):
    _write_store(data_dir, compact=False)
    path = data_dir / journal_name(1)
    lines = path.read_bytes().split(b"\n")
    assert len(lines) > 3
    lines[1] = (b"1" if lines[1][:1] == b"0" else b"0") + lines[1][1:]  # a wrong CRC for a good line
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(CorruptData) as info:
        open_store(data_dir)
    assert info.value.path == str(path)
    assert "valid entries follow" in str(info.value)


def test_a_torn_tail_is_still_cut_off(data_dir):
    expected = _write_store(data_dir, compact=False)
    path = data_dir / journal_name(1)
    good = path.read_bytes()
    seq = _next_seq(data_dir)
    body = b'{"seq":%d,"ts":"x","actor":null,"ops":[{"op":"delete","t":"hr.cases","id":1}]}' % seq
    torn = b"%08x %s\n" % (zlib.crc32(body) ^ 1, body)  # checksum off: never committed
    path.write_bytes(good + torn)
    assert same(_read_store(data_dir), expected)  # the writer-less open leaves it alone
    s = open_store(data_dir)
    with s.transaction():  # a writer cuts it off under the lock
        pass
    s.table("hr", "cases").insert({"x": 1})
    s.close()
    assert path.read_bytes().startswith(good) and torn not in path.read_bytes()
    assert same(_read_store(data_dir)[:-1], expected)
