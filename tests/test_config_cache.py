"""core.config's parse cache: a file read before loads without PyYAML, and
every odd cache entry or folder leaves the result exactly as without it.

No mocks: real files, real folders, real subprocesses.
"""

from __future__ import annotations

import base64
import os
import pickle
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core import config as cfg
from core.config import load_config, load_plugins_file
from core.errors import ConfigError

REPO = Path(cfg.__file__).resolve().parent.parent

BACKDESK_YAML = """\
site:
  name: Muster & Partner GmbH
  locale: de_DE
  timezone: Europe/Berlin
  currency: EUR
x-staff: &staff
  title: Staff
  permissions: ["core.directory.read", "telephony.calls.read"]
roles:
  admin: {title: Administrator, permissions: ["*"]}
  staff: *staff
  senior:
    <<: *staff
    title: Senior staff
operators:
  alice: {name: Alice Admin, roles: [admin], email: alice@example.com}
  bob:
    roles: [staff, senior]
    person_id: 7
  "1001": {name: Übermorgen 🚀}
kiosk: {enabled: false, idle_lock_minutes: 0, plugins: [telephony]}
storage: {backend: tinydb, compact_after_mb: 4}
"""

PLUGINS_YAML = """\
plugins:
  - telephony
  - name: documents
    enabled: false
    settings:
      since: 2024-05-01
      at: 2024-05-01 10:30:00.25+02:00
      rate: 1.5e3
      limits: {low: -0.0, high: .inf}
      tags: [a, "b", 0x1f, 0o17, 1_000, ~, yes]
"""


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """Every test gets a cache folder of its own, switched on (tests/conftest.py
    does not isolate XDG_CACHE_HOME)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(cfg.ENV_NO_CACHE, raising=False)


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A config folder, also the working directory (messages read ``config/...``)."""
    monkeypatch.chdir(tmp_path)
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "backdesk.yaml").write_text(BACKDESK_YAML, encoding="utf-8")
    (config_dir / "plugins.yaml").write_text(PLUGINS_YAML, encoding="utf-8")
    return config_dir


def cache_dir() -> Path:
    return Path(os.environ["XDG_CACHE_HOME"]) / "backdesk" / "config"


def entries() -> list[Path]:
    folder = cache_dir()
    return sorted(folder.glob("*.tree")) if folder.is_dir() else []


def entry_for(file: Path) -> Path:
    return cache_dir() / (cfg._cache_key(file.read_bytes()) + ".tree")


def uncached(config_dir: Path, monkeypatch) -> cfg.Config:
    with monkeypatch.context() as m:
        m.setenv(cfg.ENV_NO_CACHE, "1")
        return load_config(config_dir)


def assert_same(a: cfg.Config, b: cfg.Config) -> None:
    """Equal Configs, including what == leaves out (each entry's key lines)."""
    assert a == b
    assert repr(a) == repr(b)
    assert [e.lines for e in a.plugins] == [e.lines for e in b.plugins]
    assert [e.settings for e in a.plugins] == [e.settings for e in b.plugins]
    assert [repr(e.settings) for e in a.plugins] == [repr(e.settings) for e in b.plugins]


def load_in_subprocess(config_dir: Path, **env: str) -> tuple[cfg.Config, bool]:
    """load_config() in a fresh interpreter: the Config and whether PyYAML got imported."""
    code = textwrap.dedent("""
        import base64, pickle, sys
        from core.config import load_config
        config = load_config(sys.argv[1])
        print(base64.b64encode(pickle.dumps((config, "yaml" in sys.modules))).decode())
    """)
    environ = {**os.environ, "PYTHONPATH": str(REPO), **env}
    out = subprocess.run([sys.executable, "-c", code, str(config_dir)], env=environ,
                         capture_output=True, text=True, check=True, timeout=120).stdout
    return pickle.loads(base64.b64decode(out))


def problems_of(config_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(config_dir)
    return [str(p) for p in info.value.problems]


# ----------------------------------------------------------------------------- hits


def test_second_load_comes_from_the_cache_without_pyyaml(site, monkeypatch):
    expected = uncached(site, monkeypatch)
    assert entries() == []  # BACKDESK_NO_CACHE wrote nothing

    first, yaml_loaded = load_in_subprocess(site)
    assert yaml_loaded  # a miss parses
    assert len(entries()) == 2
    second, yaml_loaded = load_in_subprocess(site)
    assert not yaml_loaded  # a hit neither parses nor imports PyYAML
    assert_same(first, expected)
    assert_same(second, expected)
    assert second.plugin("documents").settings["at"].utcoffset().total_seconds() == 7200
    assert cfg.error_at(second.plugin("documents"), "settings.rate", "no").args[0] == (
        "config/plugins.yaml:8: plugins.documents.settings.rate: no")

    # in this process too: the same result from the entries
    before = [(p.name, p.stat().st_mtime_ns) for p in entries()]
    assert_same(load_config(site), expected)
    assert [(p.name, p.stat().st_mtime_ns) for p in entries()] == before


def test_missing_and_empty_files_need_no_parser(site, monkeypatch):
    (site / "backdesk.yaml").write_text("# only a comment\n")
    (site / "plugins.yaml").write_text("")
    expected = uncached(site, monkeypatch)
    load_config(site)
    config, yaml_loaded = load_in_subprocess(site)
    assert not yaml_loaded
    assert_same(config, expected)
    (site / "backdesk.yaml").unlink()
    config, yaml_loaded = load_in_subprocess(site)
    assert not yaml_loaded
    assert_same(config, uncached(site, monkeypatch))


TREES = [
    "",
    "# nothing\n",
    "a: 1\n",
    "a: [1, 2.5, -0.0, .inf, -.inf, .nan, 1e3, 0x1f, 0o17, 0b101, 1_000, 190:20:30, +12]\n",
    "a: [true, false, yes, no, on, off, ~, null, '', 'yes']\n",
    "a: [2024-05-01, 2024-05-01T10:30:00Z, 2024-05-01 10:30:00.123456789-03:30, 2024-05-01t10:30:00,"
    " 2001-12-14 21:59:43.10 +5]\n",
    'a: ["\\ud800", "\\U0001F680", "tab\\there", "nul\\0", "Übermorgen"]\n',
    "a: &x\n  b: [1, {c: d}]\n  e: |\n    text\n    lines\nf: *x\ng: {<<: [*x, {h: 1}], b: 2}\n",
    "a: >-\n  folded\n  text\nb: 'it''s'\nc: \"x\\ny\"\n",
    "- one\n- [two, [three, [four]]]\n- {five: 5}\n",
    "just text\n",
    "\ufeffa: bom\n",
    "a: 1" + "0" * 4000 + "\n",
]


def shape(y):
    """A _Y tree with exact types (True != 1 != 1.0 here) and reprs (for NaN)."""
    if y is None:
        return None
    if isinstance(y.value, dict):
        value = {k: shape(v) for k, v in y.value.items()}
    elif isinstance(y.value, list):
        value = [shape(v) for v in y.value]
    else:
        value = (type(y.value), repr(y.value))
    return (value, y.line, y.key_line)


@pytest.mark.parametrize("text", TREES)
def test_a_cached_tree_is_the_parsed_tree(tmp_path, monkeypatch, text):
    file = tmp_path / "some.yaml"
    file.write_text(text, encoding="utf-8", errors="surrogatepass")

    def read():
        problems: list[ConfigError] = []
        tree = cfg._Reader(file, problems).read()
        assert problems == []
        return tree

    monkeypatch.setenv(cfg.ENV_NO_CACHE, "1")
    parsed = read()
    monkeypatch.delenv(cfg.ENV_NO_CACHE)
    assert shape(read()) == shape(parsed)  # the miss
    assert len(entries()) == 1

    def no_parsing(*args):
        raise AssertionError("parsed although cached")

    monkeypatch.setattr(cfg._Reader, "_parse", no_parsing)
    cached = read()  # the hit
    assert shape(cached) == shape(parsed)
    if parsed is not None and ".nan" not in text:  # NaN != NaN
        assert cached == parsed


# ----------------------------------------------------------------------------- changes


def test_an_edited_file_of_the_same_size_and_mtime_reads_anew(site):
    file = site / "backdesk.yaml"
    st = file.stat()
    assert load_config(site).site.name == "Muster & Partner GmbH"
    file.write_text(BACKDESK_YAML.replace("Muster & Partner", "Muller & Partner"), encoding="utf-8")
    os.utime(file, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert file.stat().st_size == st.st_size and file.stat().st_mtime_ns == st.st_mtime_ns
    assert load_config(site).site.name == "Muller & Partner GmbH"
    # and back: the old entry is still there and used
    count = len(entries())
    file.write_text(BACKDESK_YAML, encoding="utf-8")
    assert load_config(site).site.name == "Muster & Partner GmbH"
    assert len(entries()) == count


def test_other_reader_limits_do_not_meet_old_entries(site, monkeypatch):
    load_config(site)
    before = set(entries())
    monkeypatch.setattr(cfg, "MAX_DEPTH", 3)
    expected = [
        "config/backdesk.yaml:8:17: nested more than 3 levels deep",
        "config/plugins.yaml:3:5: nested more than 3 levels deep",
    ]
    assert problems_of(site) == expected
    monkeypatch.setenv(cfg.ENV_NO_CACHE, "1")
    assert problems_of(site) == expected
    assert set(entries()) == before


# ----------------------------------------------------------------------------- bad entries


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_value(path: Path) -> None:  # still valid JSON, but not what was written
    data = path.read_bytes()
    assert b"Alice Admin" in data
    path.write_bytes(data.replace(b"Alice Admin", b"Alice Evil!"))


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(300))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _json_only(path: Path) -> None:  # the body without its header
    path.write_bytes(path.read_bytes().partition(b"\n")[2])


def _other_entry(path: Path) -> None:  # another file's entry under this name
    other = [p for p in entries() if p != path][0]
    path.write_bytes(other.read_bytes())


def _symlink(path: Path) -> None:
    other = [p for p in entries() if p != path][0]
    path.unlink()
    path.symlink_to(other)


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _directory(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "x").write_text("x")


def _world_writable(path: Path) -> None:
    path.chmod(0o666)


def _unreadable(path: Path) -> None:
    path.chmod(0)


@pytest.mark.parametrize("spoil", [_truncate, _flip_value, _garbage, _empty, _json_only, _other_entry,
                                   _symlink, _fifo, _directory, _world_writable, _unreadable])
def test_a_spoiled_entry_is_ignored_and_rewritten(site, monkeypatch, spoil):
    expected = uncached(site, monkeypatch)
    load_config(site)
    entry = entry_for(site / "backdesk.yaml")
    good = entry.read_bytes()
    spoil(entry)
    assert_same(load_config(site), expected)
    if spoil is _unreadable and os.geteuid() == 0:  # root reads it anyway: a good entry
        assert entry.read_bytes() == good
    elif spoil is not _directory:  # a folder in the way stays; the cache just misses
        assert entry.is_file() and not entry.is_symlink() and entry.read_bytes() == good
        assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert_same(load_config(site), expected)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file away")
def test_a_foreign_entry_is_ignored_and_rewritten(site, monkeypatch):
    expected = uncached(site, monkeypatch)
    load_config(site)
    entry = entry_for(site / "backdesk.yaml")
    good = entry.read_bytes()
    _flip_value(entry)
    os.chown(entry, 4242, 4242)
    assert_same(load_config(site), expected)
    assert entry.stat().st_uid == os.geteuid() and entry.read_bytes() == good
    os.chown(cache_dir(), 4242, 4242)  # a folder of someone else's: not used at all
    _flip_value(entry)
    assert_same(load_config(site), expected)
    assert b"Alice Evil!" in entry.read_bytes()


# ----------------------------------------------------------------------------- errors


def test_errors_read_as_without_the_cache_even_after_a_good_version(site, monkeypatch):
    load_config(site)  # the good version is cached
    count = len(entries())
    file = site / "backdesk.yaml"
    broken = {
        "site:\n  name: X\n locale: de_DE\n":
            "config/backdesk.yaml:3:2: YAML syntax error: expected <block end>, but found "
            "'<block mapping start>' (while parsing a block mapping at line 1)",
        "site:\n  name: X\n  name: Y\n": "config/backdesk.yaml:3: site.name: duplicate key (first at line 2)",
        "site: !!python/object:os.system {}\n":
            "config/backdesk.yaml:1: site: YAML tag !!python/object:os.system is not allowed "
            "(only plain text, numbers, booleans, null, lists and mappings)",
        "site: {name: 2024-13-45}\n":
            "config/backdesk.yaml:1: site.name: cannot read value '2024-13-45': month must be in 1..12",
        "a: &a [*a]\n": "config/backdesk.yaml:1: a[0]: an alias refers to the list or mapping that contains it",
        "site: {name: X}\x00\n": "config/backdesk.yaml:1: contains a NUL character; is this a binary file?",
    }
    for text, message in broken.items():
        file.write_text(text, encoding="utf-8")
        assert problems_of(site) == [message], text
        assert problems_of(site) == [message], text  # still no entry for it
        with monkeypatch.context() as m:
            m.setenv(cfg.ENV_NO_CACHE, "1")
            assert problems_of(site) == [message]
    assert len(entries()) == count  # files with problems are never kept

    # a file that reads fine but does not validate: kept, and the same messages from the entry
    file.write_text("operators:\n  alice: {roles: [recption]}\nroles:\n  admin: {}\n"
                    "kiosk: {plugins: [nope]}\n", encoding="utf-8")
    expected = [
        "config/backdesk.yaml:2: operators.alice.roles: unknown role 'recption' (known: admin)",
        "config/backdesk.yaml:5: kiosk.plugins: plugin 'nope' is not in plugins.yaml "
        "(listed: telephony, documents)",
    ]
    assert problems_of(site) == expected
    assert len(entries()) == count + 1
    assert problems_of(site) == expected


def test_plugins_file_errors_name_their_lines_from_the_cache(site):
    file = site / "plugins.yaml"
    file.write_text("plugins:\n  - name: telephony\n    colour: red\n")
    message = ("config/plugins.yaml:3: plugins.telephony.colour: unknown key 'colour' "
               "(known: name, enabled, settings, module, path)")
    for _ in range(2):
        with pytest.raises(ConfigError) as info:
            load_plugins_file(file)
        assert [str(p) for p in info.value.problems] == [message]
    assert len(entries()) == 1


# ----------------------------------------------------------------------------- the folder


def test_folder_and_entries_are_private_and_written_whole(site):
    old = os.umask(0)
    try:
        load_config(site)
    finally:
        os.umask(old)
    assert stat.S_IMODE(cache_dir().stat().st_mode) == 0o700
    assert len(entries()) == 2
    for entry in entries():
        assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert [p.name for p in cache_dir().iterdir() if not p.name.endswith(".tree")] == []


def test_an_unwritable_cache_folder_is_skipped(site, monkeypatch):
    expected = uncached(site, monkeypatch)
    cache_dir().mkdir(parents=True)
    cache_dir().chmod(0o500)
    try:
        assert_same(load_config(site), expected)
        assert_same(load_config(site), expected)
        if os.geteuid() != 0:  # root writes anyway
            assert entries() == []
    finally:
        cache_dir().chmod(0o700)


def test_a_cache_path_that_cannot_be_a_folder_is_skipped(site, monkeypatch, tmp_path):
    expected = uncached(site, monkeypatch)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert_same(load_config(site), expected)
    assert blocker.read_text() == "a file where the cache folder would go"


def test_a_folder_others_may_write_to_is_not_used(site, monkeypatch):
    expected = uncached(site, monkeypatch)
    load_config(site)
    entry = entry_for(site / "backdesk.yaml")
    cache_dir().chmod(0o777)
    _flip_value(entry)
    assert_same(load_config(site), expected)
    assert b"Alice Evil!" in entry.read_bytes()  # neither read nor rewritten


def test_the_cache_keeps_the_newest_entries(tmp_path, monkeypatch):
    file = tmp_path / "plugins.yaml"
    for n in range(cfg._CACHE_KEEP + 8):
        file.write_text(f"plugins: [p{n}]\n")
        assert load_plugins_file(file)[0].name == f"p{n}"
        if n == 0:
            first = entries()[0]
            old = time.time() - 10 * 24 * 3600
            os.utime(first, (old, old))
            stale = cache_dir() / f".{'0' * 64}.1.abcd.tmp"
            stale.write_text("left by a crash")
            os.utime(stale, (old, old))
            fresh = cache_dir() / f".{'1' * 64}.1.abcd.tmp"
            fresh.write_text("being written right now")
    kept = entries()
    assert len(kept) == cfg._CACHE_KEEP
    assert first not in kept and not stale.exists() and fresh.exists()
    file.write_text(f"plugins: [p{cfg._CACHE_KEEP + 7}]\n")  # the newest is still there
    assert entry_for(file) in kept


# ----------------------------------------------------------------------------- switched off


@pytest.mark.parametrize("value", ["1", "yes"])
def test_backdesk_no_cache_switches_it_off(site, monkeypatch, value):
    load_config(site)
    assert len(entries()) == 2
    config, yaml_loaded = load_in_subprocess(site, **{cfg.ENV_NO_CACHE: value})
    assert yaml_loaded
    assert_same(config, uncached(site, monkeypatch))
    # nothing new is written either
    (site / "backdesk.yaml").write_text("site: {name: Other}\n")
    monkeypatch.setenv(cfg.ENV_NO_CACHE, value)
    assert load_config(site).site.name == "Other"
    assert len(entries()) == 2


@pytest.mark.parametrize("value", ["", "0"])
def test_backdesk_no_cache_empty_or_0_keeps_it_on(site, monkeypatch, value):
    monkeypatch.setenv(cfg.ENV_NO_CACHE, value)
    load_config(site)
    assert len(entries()) == 2


def test_trees_too_big_or_odd_for_json_are_read_but_not_kept(tmp_path, monkeypatch):
    file = tmp_path / "plugins.yaml"
    texts = [
        # an int of ~4800 decimal digits: more than Python writes as JSON text
        "plugins: [{name: p, settings: {n: 0x" + "f" * 4000 + "}}]\n",
        # 150 KB repeated 40 times by aliases: 6 MB of text
        "x-big: &big " + "y" * 150_000 + "\nplugins: [{name: p, settings: {l: [" + "*big, " * 40 + "]}}]\n",
    ]
    for text in texts:
        file.write_text(text)
        for _ in range(2):
            (entry,) = load_plugins_file(file)
            assert entry.name == "p"
        assert entries() == []
    assert entry.settings["l"] == ["y" * 150_000] * 40


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a folder away")
def test_no_folders_are_made_in_another_accounts_folder(site, monkeypatch, tmp_path):
    """``sudo`` with the user's HOME: root leaves the user's ~/.cache alone."""
    expected = uncached(site, monkeypatch)
    users_cache = tmp_path / "cache"
    users_cache.mkdir()
    os.chown(users_cache, 4242, 4242)
    assert_same(load_config(site), expected)
    assert list(users_cache.iterdir()) == []
