"""core.config: locations, the shipped files, and one exact message per kind of mistake."""

from __future__ import annotations

import random
import textwrap
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from core import config as cfg
from core.config import (
    REQUIRED,
    Config,
    PluginEntry,
    Setting,
    error_at,
    load_config,
    load_plugins_file,
    permission_matches,
    resolve_paths,
    validate_settings,
)
from core.errors import ConfigError

ROLES = """\
roles:
  admin: {title: Administrator, permissions: ["*"]}
  reception: {title: Reception, permissions: ["telephony.*", "core.directory.read"]}
  it: {permissions: ["it.*"]}
  accounting: {permissions: ["accounting.*"]}
  hr: {permissions: ["hr.*"]}
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A config folder ``config/`` in tmp_path, which is also the working directory,
    so messages read ``config/backdesk.yaml:12: ...`` as they do for a user."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    return SimpleNamespace(root=tmp_path, dir=tmp_path / "config")


def write(site, text: str, plugins: str | None = "plugins: []\n") -> None:
    (site.dir / "backdesk.yaml").write_text(textwrap.dedent(text))
    if plugins is not None:
        (site.dir / "plugins.yaml").write_text(textwrap.dedent(plugins))


def problems(site, text: str | None = None, plugins: str | None = "plugins: []\n") -> list[str]:
    if text is not None:
        write(site, text, plugins)
    with pytest.raises(ConfigError) as info:
        load_config(site.dir)
    err = info.value
    lines = [str(p) for p in err.problems]
    for line in lines:
        assert "\n" not in line
    if len(lines) > 1:
        assert str(err) == f"{lines[0]} (and {len(lines) - 1} more)"
    else:
        assert str(err) == lines[0]
    return lines


def only_problem(site, text: str, plugins: str | None = "plugins: []\n") -> str:
    found = problems(site, text, plugins)
    assert len(found) == 1, found
    return found[0]


# --------------------------------------------------------------------------
# The shipped files


def test_shipped_config_loads():
    config = load_config()
    assert isinstance(config, Config)
    assert config.site.name == "Muster & Partner GmbH"
    assert (config.site.locale, config.site.timezone, config.site.currency) == ("de_DE", "Europe/Berlin", "EUR")
    assert config.site.theme == "textual-dark"
    assert {login: op.roles for login, op in config.operators.items()} == {
        "alice": ("admin",), "bob": ("reception",), "carla": ("it",),
        "dieter": ("accounting",), "eva": ("hr",),
    }
    assert list(config.roles) == ["admin", "reception", "it", "accounting", "hr", "staff"]
    assert config.roles["admin"].allows("hr.cases.delete")
    assert config.roles["reception"].allows("telephony.calls.transfer")
    assert not config.roles["reception"].allows("hr.cases.read")
    # The built-in plugins are listed in this order as each one lands in plugins/
    # (the loader refuses names that are no plugin at all).
    order = ["telephony", "documents", "it", "accounting", "hr"]
    names = [p.name for p in config.plugins]
    assert names == [n for n in order if n in names]
    assert all(p.enabled and p.module is None and p.path is None for p in config.plugins)
    assert all((cfg._REPO_DIR / "plugins" / n / "__init__.py").is_file() for n in names)
    assert config.unknown_accounts == "refuse"
    # read-only sessions may not read confidential records (HR, salaries)
    assert "core.directory.read" in config.read_only_permissions
    assert not any(p.startswith(("*", "hr.", "accounting.")) for p in config.read_only_permissions)
    assert config.kiosk.enabled is False and config.kiosk.idle_lock_minutes == 5
    assert config.storage.backend == "tinydb"
    assert config.config_dir == cfg.SHIPPED_CONFIG_DIR
    assert config.source_files == (cfg.SHIPPED_CONFIG_DIR / "backdesk.yaml", cfg.SHIPPED_PLUGINS_FILE)


def test_shipped_data_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert load_config().data_dir == tmp_path / "xdg" / "backdesk"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert load_config().data_dir == tmp_path / "home" / ".local" / "share" / "backdesk"


def test_operator_lines_and_defaults(site):
    write(site, ROLES + "operators:\n  alice: {roles: [admin]}\n  bob:\n")
    config = load_config(site.dir)
    assert config.operators["alice"].line == 8
    assert config.operators["alice"].name == "alice"  # the login when no name is given
    assert config.operators["bob"].roles == ()
    assert config.roles["it"].title == "It"


def test_empty_and_comment_only_files_are_empty_configs(site):
    for text in ("", "# nothing yet\n", "---\n"):
        write(site, text, plugins=text)
        config = load_config(site.dir)
        assert config.site == cfg.Site() and config.operators == {} and config.plugins == []


def test_missing_backdesk_yaml_means_defaults(site):
    (site.dir / "plugins.yaml").write_text("plugins: [telephony]\n")
    config = load_config(site.dir)
    assert config.site.locale == "en_US" and config.site.timezone == "UTC"
    assert config.source_files == (site.root / "config" / "plugins.yaml",)


# --------------------------------------------------------------------------
# Where things are


def test_config_dir_argument_then_env_then_shipped(site, tmp_path, monkeypatch):
    other = tmp_path / "other"
    other.mkdir()
    assert resolve_paths()[0] == cfg.SHIPPED_CONFIG_DIR
    monkeypatch.setenv("BACKDESK_CONFIG_DIR", str(other))
    assert resolve_paths()[0] == other
    assert resolve_paths(site.dir)[0] == site.dir
    assert load_config().config_dir == other


def test_plugins_yaml_from_config_dir_else_shipped(site):
    write(site, "", plugins=None)
    assert resolve_paths(site.dir)[1] == cfg.SHIPPED_PLUGINS_FILE
    assert load_config(site.dir).plugins == load_plugins_file(cfg.SHIPPED_PLUGINS_FILE)
    assert load_config(site.dir).plugins_file == cfg.SHIPPED_PLUGINS_FILE
    (site.dir / "plugins.yaml").write_text("plugins: [visitors]\n")
    assert resolve_paths(site.dir)[1] == site.dir / "plugins.yaml"
    assert [p.name for p in load_config(site.dir).plugins] == ["visitors"]


def test_data_dir_argument_env_file_xdg(site, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    write(site, "")
    assert resolve_paths(site.dir)[2] == tmp_path / "xdg" / "backdesk"
    write(site, "data_dir: ../var/data\n")
    assert resolve_paths(site.dir)[2] == tmp_path / "var" / "data"  # relative to the config dir
    assert load_config(site.dir).data_dir == tmp_path / "var" / "data"
    write(site, "data_dir: /srv/backdesk\n")
    assert load_config(site.dir).data_dir == Path("/srv/backdesk")
    monkeypatch.setenv("BACKDESK_DATA_DIR", str(tmp_path / "env"))
    assert load_config(site.dir).data_dir == tmp_path / "env"
    assert load_config(site.dir, tmp_path / "arg").data_dir == tmp_path / "arg"
    assert resolve_paths(site.dir, tmp_path / "arg") == (site.dir, site.dir / "plugins.yaml", tmp_path / "arg")


def test_missing_config_dir_is_an_error(site, monkeypatch):
    with pytest.raises(ConfigError) as info:
        load_config("nope")
    assert str(info.value) == "config directory nope: no such directory"
    (site.root / "file").write_text("")
    with pytest.raises(ConfigError, match=r"^config directory file: not a directory$"):
        resolve_paths("file")
    gone = site.root / "gone"
    monkeypatch.setenv("BACKDESK_CONFIG_DIR", str(gone))
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value) == f"BACKDESK_CONFIG_DIR={gone}: no such directory"


def test_resolve_paths_reports_a_broken_data_dir(site):
    write(site, "data_dir: [a]\n")
    with pytest.raises(ConfigError, match=r"^config/backdesk.yaml:1: data_dir: expected text, got a list$"):
        resolve_paths(site.dir)


# --------------------------------------------------------------------------
# One exact message per mistake


def test_unknown_role(site):
    text = ROLES + "operators:\n  alice: {name: Alice Admin, roles: [recption]}\n"
    assert only_problem(site, text) == (
        "config/backdesk.yaml:8: operators.alice.roles: unknown role 'recption' "
        "(known: admin, reception, it, accounting, hr)")


def test_unknown_role_in_a_block_list_names_its_line(site):
    text = ROLES + "operators:\n  bob:\n    roles:\n      - reception\n      - hrr\n"
    assert only_problem(site, text) == (
        "config/backdesk.yaml:11: operators.bob.roles: unknown role 'hrr' "
        "(known: admin, reception, it, accounting, hr)")


def test_unknown_keys(site):
    assert problems(site, """\
        site:
          name: X
          colour: blue
        operator: {}
        """) == [
        "config/backdesk.yaml:3: site.colour: unknown key 'colour' (known: name, locale, timezone, currency, theme)",
        "config/backdesk.yaml:4: operator: unknown key 'operator' (known: site, data_dir, operators, roles, "
        "unknown_accounts, read_only_permissions, kiosk, storage, ssh, calendar)",
    ]


def test_calendar_section(site):
    assert problems(site, """\
        calendar:
          country: de
          region: "B/Y"
          workdays: [mon, tue, wed, thu, fry]
          days_off: [2026-12-24, "24.12.2026"]
        """) == [
        "config/backdesk.yaml:2: calendar.country: 'de' is not a country code like DE",
        "config/backdesk.yaml:3: calendar.region: 'B/Y' is not a region code like BY or BE",
        "config/backdesk.yaml:4: calendar.workdays: unknown working day 'fry' (use mon, tue, … sun)",
        "config/backdesk.yaml:5: calendar.days_off: '24.12.2026' is not a date like 2026-12-24",
    ]


def test_plugins_in_backdesk_yaml_get_a_hint(site):
    assert only_problem(site, "plugins: [telephony]\n").endswith("; plugins are listed in plugins.yaml")


def test_wrong_types(site):
    assert problems(site, """\
        site:
          name: 42
          theme: [a]
        roles:
          admin: {permissions: "*"}
        operators:
          alice: {roles: admin, person_id: "7"}
        kiosk: {enabled: maybe, idle_lock_minutes: five}
        storage: {compact_after_mb: 1.5}
        read_only_permissions: {a: 1}
        """) == [
        "config/backdesk.yaml:2: site.name: expected text, got a whole number (42)",
        "config/backdesk.yaml:3: site.theme: expected text, got a list",
        "config/backdesk.yaml:5: roles.admin.permissions: expected a list, got text ('*')",
        "config/backdesk.yaml:7: operators.alice.roles: expected a list, got text ('admin')",
        "config/backdesk.yaml:7: operators.alice.person_id: expected a whole number, got text ('7')",
        "config/backdesk.yaml:8: kiosk.enabled: expected true or false, got text ('maybe')",
        "config/backdesk.yaml:8: kiosk.idle_lock_minutes: expected a whole number, got text ('five')",
        "config/backdesk.yaml:9: storage.compact_after_mb: expected a whole number, got a number (1.5)",
        "config/backdesk.yaml:10: read_only_permissions: expected a list, got a mapping",
    ]


def test_section_of_the_wrong_type(site):
    assert problems(site, "site: Muster GmbH\noperators: [alice]\nroles: 5\n") == [
        "config/backdesk.yaml:1: site: expected a mapping, got text ('Muster GmbH')",
        "config/backdesk.yaml:2: operators: expected a mapping, got a list",
        "config/backdesk.yaml:3: roles: expected a mapping, got a whole number (5)",
    ]


def test_locale_timezone_currency(site):
    assert problems(site, """\
        site:
          locale: de_XX
          timezone: Europe/Berlinn
          currency: eur
        """) == [
        "config/backdesk.yaml:2: site.locale: unknown locale 'de_XX' (for example en_US, en_GB, de_DE, de_AT, de_CH)",
        "config/backdesk.yaml:3: site.timezone: unknown time zone 'Europe/Berlinn' "
        "(use an IANA name like Europe/Berlin or UTC)",
        "config/backdesk.yaml:4: site.currency: unknown currency 'eur' (use an ISO 4217 code like EUR, CHF, USD)",
    ]


def test_timezone_cannot_name_a_file(site):
    assert only_problem(site, "site: {timezone: ../../../etc/passwd}\n").startswith(
        "config/backdesk.yaml:1: site.timezone: unknown time zone '../../../etc/passwd'")


def test_locale_is_normalised(site):
    write(site, "site: {locale: de-AT, currency: CHF}\n")
    site_cfg = load_config(site.dir).site
    assert (site_cfg.locale, site_cfg.currency) == ("de_AT", "CHF")


def test_choices(site):
    assert problems(site, """\
        unknown_accounts: guest
        storage: {backend: mongodb}
        """) == [
        "config/backdesk.yaml:1: unknown_accounts: 'guest' is not one of: refuse, read-only",
        "config/backdesk.yaml:2: storage.backend: 'mongodb' is not one of: tinydb, postgresql",
    ]


def test_ranges_and_formats(site):
    assert problems(site, ROLES + textwrap.dedent("""\
        operators:
          alice:
            email: alice.example.com
            pin_hash: "1234"
          "bob smith": {}
        kiosk: {idle_lock_minutes: -1, max_pin_attempts: 0}
        storage: {backend: postgresql}
        read_only_permissions: ["*.read", "all of it"]
        """)) == [
        "config/backdesk.yaml:9: operators.alice.email: not an email address: 'alice.example.com'",
        "config/backdesk.yaml:10: operators.alice.pin_hash: this looks like a plain PIN; store its hash, "
        "never the PIN itself",
        "config/backdesk.yaml:11: operators.'bob smith': not an account name (no spaces, ':', '/' or '\\')",
        "config/backdesk.yaml:12: kiosk.idle_lock_minutes: must be at least 0, got -1",
        "config/backdesk.yaml:12: kiosk.max_pin_attempts: must be at least 1, got 0",
        "config/backdesk.yaml:13: storage.dsn: the postgresql backend needs a dsn",
        "config/backdesk.yaml:14: read_only_permissions: 'all of it' is not a permission pattern "
        "(use names like 'telephony.*', 'hr.cases.read' or '*')",
    ]


def test_kiosk_plugins_must_be_listed_in_plugins_yaml(site):
    assert only_problem(site, "kiosk: {enabled: true, plugins: [telephony, telefony]}\n",
                        plugins="plugins: [telephony, documents]\n") == (
        "config/backdesk.yaml:1: kiosk.plugins: plugin 'telefony' is not in plugins.yaml "
        "(listed: telephony, documents)")


def test_duplicate_keys(site):
    assert only_problem(site, "site:\n  name: A\n  locale: de_DE\n  name: B\n") == (
        "config/backdesk.yaml:4: site.name: duplicate key (first at line 2)")


def test_yaml_syntax_error_has_line_and_column(site):
    assert only_problem(site, "site:\n  name: X\n locale: de_DE\n") == (
        "config/backdesk.yaml:3:2: YAML syntax error: expected <block end>, but found '<block mapping start>' "
        "(while parsing a block mapping at line 1)")
    assert only_problem(site, "site: [1, 2\n") == (
        "config/backdesk.yaml:2:1: YAML syntax error: expected ',' or ']', but got '<stream end>' "
        "(while parsing a flow sequence at line 1)")


def test_top_level_must_be_a_mapping(site):
    assert only_problem(site, "- alice\n- bob\n") == (
        "config/backdesk.yaml:1: the top level must be a mapping of keys "
        "(site:, operators:, roles:, ...), got a list")
    assert only_problem(site, "just text\n") == (
        "config/backdesk.yaml:1: the top level must be a mapping of keys "
        "(site:, operators:, roles:, ...), got text ('just text')")


def test_several_documents_are_refused(site):
    assert only_problem(site, "site: {}\n---\nsite: {}\n").startswith(
        "config/backdesk.yaml:2:1: YAML syntax error: expected a single document in the stream, "
        "but found another document")


def test_all_problems_of_both_files_are_collected(site):
    found = problems(site, "site: {colour: red}\nunknown_accounts: 1\n",
                     plugins="plugins:\n  - name: telephony\n    enabled: yes please\n")
    assert found == [
        "config/backdesk.yaml:1: site.colour: unknown key 'colour' (known: name, locale, timezone, currency, theme)",
        "config/backdesk.yaml:2: unknown_accounts: expected text, got a whole number (1)",
        "config/plugins.yaml:3: plugins.telephony.enabled: expected true or false, got text ('yes please')",
    ]


# --------------------------------------------------------------------------
# Hostile input: an error, never a traceback or a hang


def test_python_tags_are_refused(site):
    marker = site.root / "pwned"
    assert only_problem(site, f"site:\n  name: !!python/object/apply:os.system ['touch {marker}']\n") == (
        "config/backdesk.yaml:2: site.name: YAML tag !!python/object/apply:os.system is not allowed "
        "(only plain text, numbers, booleans, null, lists and mappings)")
    assert not marker.exists()
    assert only_problem(site, "site: !!python/object:core.config.Site {name: x}\n").startswith(
        "config/backdesk.yaml:1: site: YAML tag !!python/object:core.config.Site is not allowed")
    assert only_problem(site, "roles: !!set {a, b}\n").startswith(
        "config/backdesk.yaml:1: roles: YAML tag !!set is not allowed")
    assert only_problem(site, "site: {name: !env NAME}\n").startswith(
        "config/backdesk.yaml:1: site.name: YAML tag !env is not allowed")


def test_non_text_keys(site):
    assert problems(site, ROLES + "operators:\n  1001: {}\n  yes: {}\n  [a, b]: {}\n  ? {a: 1}\n  : {}\n") == [
        'config/backdesk.yaml:8: operators: keys must be text, got a whole number (1001); '
        'quote it if you mean the text: "1001"',
        'config/backdesk.yaml:9: operators: keys must be text, got a boolean (true); '
        'quote it if you mean the text: "yes"',
        "config/backdesk.yaml:10: operators: keys must be text, got a list",
        "config/backdesk.yaml:11: operators: keys must be text, got a mapping",
    ]


def test_billion_laughs(site):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    message = only_problem(site, "x-bomb:\n" + "\n".join("  " + line for line in lines) + "\n")
    assert message.endswith(f"more than {cfg.MAX_NODES} values once aliases are expanded (an alias bomb?)")


def test_recursive_alias(site):
    assert only_problem(site, "x-loop: &a [1, *a]\n") == (
        "config/backdesk.yaml:1: x-loop[1]: an alias refers to the list or mapping that contains it")


def test_deep_nesting(site):
    message = only_problem(site, "x-deep: " + "[" * 5000 + "]" * 5000 + "\n")
    assert message == f"config/backdesk.yaml:1:{8 + cfg.MAX_DEPTH}: nested more than {cfg.MAX_DEPTH} levels deep"


def test_ten_megabyte_file(site):
    (site.dir / "backdesk.yaml").write_text("site:\n  name: '" + "x" * (10 * 1024 * 1024) + "'\n")
    (site.dir / "plugins.yaml").write_text("")
    assert problems(site) == ["config/backdesk.yaml: file is 10.0 MB; config files are limited to 256 KB"]


def test_too_many_values(site):
    message = only_problem(site, "x-list: [" + "1," * (cfg.MAX_NODES + 10) + "]\n")
    assert message.startswith("config/backdesk.yaml:1:") and message.endswith(f"more than {cfg.MAX_NODES} values")


def test_huge_numbers(site):
    assert only_problem(site, "site: {name: 0x" + "f" * 5000 + "}\n") == (
        "config/backdesk.yaml:1: site.name: expected text, got a whole number (a number with more than 60 digits)")
    assert only_problem(site, "site: {name: " + "9" * 5000 + "}\n").startswith(
        "config/backdesk.yaml:1: site.name: cannot read value '99999")


def test_binary_and_bad_encoding(site):
    (site.dir / "plugins.yaml").write_text("")
    (site.dir / "backdesk.yaml").write_bytes(b"site:\n  name: M\xfcller\n")
    assert problems(site) == ["config/backdesk.yaml:2: not UTF-8 text (byte 15: invalid start byte)"]
    (site.dir / "backdesk.yaml").write_bytes(b"site: {}\n\x00\x01\x02")
    assert problems(site) == ["config/backdesk.yaml:2: contains a NUL character; is this a binary file?"]


def test_utf8_bom_and_umlauts_are_fine(site):
    (site.dir / "plugins.yaml").write_text("")
    (site.dir / "backdesk.yaml").write_bytes("\ufeffsite: {name: Müller & Söhne}\n".encode())
    assert load_config(site.dir).site.name == "Müller & Söhne"


def test_garbage_never_raises_anything_but_config_error(site):
    """Random damage to the shipped file: a Config or a ConfigError, nothing else."""
    original = (cfg.SHIPPED_CONFIG_DIR / "backdesk.yaml").read_bytes()
    (site.dir / "plugins.yaml").write_bytes((cfg.SHIPPED_PLUGINS_FILE).read_bytes())
    rng = random.Random(20260105)
    alphabet = b"\x00:-[]{}&*!|>'\"#%@`,?\n \t\xc3\xa4\xff"
    for _ in range(300):
        data = bytearray(original)
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(len(data))
            data[pos:pos + rng.randint(0, 3)] = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 3)))
        (site.dir / "backdesk.yaml").write_bytes(bytes(data))
        try:
            load_config(site.dir)
        except ConfigError as err:
            assert all("\n" not in str(p) for p in err.problems)


# --------------------------------------------------------------------------
# YAML conveniences


def test_anchors_merge_keys_and_extension_keys(site):
    write(site, """\
        x-staff: &staff
          title: Staff
          permissions: ["core.directory.read"]
        roles:
          staff: *staff
          senior:
            <<: *staff
            title: Senior staff
        operators:
          bob: {roles: [staff, senior]}
        """)
    config = load_config(site.dir)
    assert config.roles["senior"] == cfg.Role("senior", "Senior staff", ("core.directory.read",))
    assert config.roles["staff"].title == "Staff"


# --------------------------------------------------------------------------
# plugins.yaml


PLUGINS = """\
plugins:
  - name: telephony
    settings:
      business_hours: "08:00-17:00"
      lines: 3
  - name: visitors
    enabled: false
  - name: roombook
    module: mycompany.roombook
  - name: local_thing
    path: ./local_plugins/thing.py
  - documents
"""


def test_plugins_yaml_entries(site):
    write(site, "", plugins=PLUGINS)
    entries = load_config(site.dir).plugins
    assert [e.name for e in entries] == ["telephony", "visitors", "roombook", "local_thing", "documents"]
    tel, visitors, roombook, local, documents = entries
    assert tel.settings == {"business_hours": "08:00-17:00", "lines": 3}
    assert tel.enabled and not visitors.enabled
    assert (tel.line, visitors.line, roombook.line, local.line, documents.line) == (2, 6, 8, 10, 12)
    assert tel.source_file == site.dir / "plugins.yaml"
    assert roombook.module == "mycompany.roombook" and roombook.path is None
    assert local.path == site.dir / "local_plugins" / "thing.py" and local.module is None
    assert documents == PluginEntry("documents", line=12, source_file=site.dir / "plugins.yaml")


def test_load_plugins_file_alone(site):
    (site.dir / "p.yaml").write_text(PLUGINS)
    assert [e.name for e in load_plugins_file(site.dir / "p.yaml")][:2] == ["telephony", "visitors"]


def test_plugins_yaml_mistakes(site):
    assert problems(site, "", plugins="""\
        plugins:
          - name: telephony
          - name: telephony
          - name: roombook
            module: mycompany.roombook
            path: ./roombook.py
          - name: hr
            enabled: "no"
            settings: [a]
            colour: red
          - 42
          - enabled: true
          - name: Bad-Name
          - name: core
          - name: legacy
            module: "my company.legacy"
        """) == [
        "config/plugins.yaml:3: plugins.telephony.name: duplicate plugin 'telephony' (first at line 2)",
        "config/plugins.yaml:6: plugins.roombook.path: give either module: or path:, not both",
        "config/plugins.yaml:8: plugins.hr.enabled: expected true or false, got text ('no')",
        "config/plugins.yaml:9: plugins.hr.settings: expected a mapping, got a list",
        "config/plugins.yaml:10: plugins.hr.colour: unknown key 'colour' (known: name, enabled, settings, module, path)",
        "config/plugins.yaml:11: plugins[4]: expected a plugin (a mapping with name:), got a whole number (42)",
        "config/plugins.yaml:12: plugins[5]: missing name:",
        "config/plugins.yaml:13: plugins[6].name: 'Bad-Name' is not a plugin name "
        "(lower-case letters, digits and '_', starting with a letter)",
        "config/plugins.yaml:14: plugins[7].name: 'core' is reserved "
        "(reserved: audit, backdesk, core, events, plugins, shell, storage)",
        "config/plugins.yaml:16: plugins.legacy.module: 'my company.legacy' is not a module path "
        "like mycompany.roombook",
    ]


def test_reserved_names_match_the_plugin_loader():
    plugins = pytest.importorskip("core.plugins.host")
    assert cfg.RESERVED_PLUGIN_NAMES == set(plugins.RESERVED_NAMES)


def test_plugins_yaml_top_level(site):
    assert only_problem(site, "", plugins="plugins:\n  telephony: {}\n") == (
        "config/plugins.yaml:1: plugins: expected a list of plugins, got a mapping")
    assert only_problem(site, "", plugins="plugin: []\n") == (
        "config/plugins.yaml:1: plugin: unknown key 'plugin' (known: plugins)")
    assert only_problem(site, "", plugins="- telephony\n") == (
        "config/plugins.yaml:1: the top level must be a mapping of keys (plugins:), got a list")


def test_error_at_names_the_key_line(site):
    write(site, "", plugins=PLUGINS)
    tel, visitors, roombook, *_ = load_config(site.dir).plugins
    assert str(error_at(visitors, None, "unknown plugin (no built-in plugin and no installed "
                                         "entry point called 'visitors')")) == (
        "config/plugins.yaml:6: plugins.visitors: unknown plugin (no built-in plugin and no installed "
        "entry point called 'visitors')")
    assert str(error_at(roombook, "module", "No module named 'mycompany'")) == (
        "config/plugins.yaml:9: plugins.roombook.module: No module named 'mycompany'")
    assert str(error_at(tel, "settings.lines", "too many")) == (
        "config/plugins.yaml:5: plugins.telephony.settings.lines: too many")
    err = error_at(tel, "settings", "x")
    assert err.problems == [err] and err.line == 3 and err.key == "plugins.telephony.settings"


# --------------------------------------------------------------------------
# Plugin settings


SPEC = {
    "business_hours": Setting(str, "08:00-17:00", help="opening hours"),
    "lines": Setting(int, 2),
    "mode": Setting(str, "queue", choices=("queue", "ring-all")),
    "fee": Setting(Decimal, Decimal("0.00")),
    "archive": Setting(Path, None),
    "extensions": Setting(list[str], []),
    "trunk": Setting(str, REQUIRED, help="the SIP trunk's name"),
    "ratio": Setting(float, 0.5, check=lambda v: v if 0 <= v <= 1 else (_ for _ in ()).throw(
        ValueError("must be between 0 and 1"))),
}


def _entry(site, settings_yaml: str) -> PluginEntry:
    write(site, "", plugins="plugins:\n  - name: telephony\n    settings:\n" + textwrap.indent(
        textwrap.dedent(settings_yaml), "      "))
    return load_config(site.dir).plugins[0]


def test_validate_settings_fills_defaults_and_converts(site):
    entry = _entry(site, """\
        trunk: sipgate
        fee: "12.50"
        archive: calls/archive
        ratio: 1
        extensions: ["100", "101"]
        """)
    assert validate_settings(SPEC, entry.settings, entry) == {
        "business_hours": "08:00-17:00", "lines": 2, "mode": "queue", "fee": Decimal("12.50"),
        "archive": site.dir / "calls" / "archive", "extensions": ["100", "101"], "trunk": "sipgate",
        "ratio": 1.0,
    }


def test_validate_settings_errors(site):
    entry = _entry(site, """\
        business_hours: 8
        lines: "two"
        mode: broadcast
        fee: 12.5
        extensions: [100]
        ratio: 2
        colour: blue
        """)
    with pytest.raises(ConfigError) as info:
        validate_settings(SPEC, entry.settings, entry)
    assert [str(p) for p in info.value.problems] == [
        "config/plugins.yaml:10: plugins.telephony.settings.colour: unknown setting 'colour' (known: "
        "business_hours, lines, mode, fee, archive, extensions, trunk, ratio)",
        "config/plugins.yaml:4: plugins.telephony.settings.business_hours: expected text, got a whole number (8)",
        "config/plugins.yaml:5: plugins.telephony.settings.lines: expected a whole number, got text ('two')",
        "config/plugins.yaml:6: plugins.telephony.settings.mode: 'broadcast' is not one of: 'queue', 'ring-all'",
        "config/plugins.yaml:7: plugins.telephony.settings.fee: expected a decimal number in quotes, "
        "got a number (12.5)",
        "config/plugins.yaml:8: plugins.telephony.settings.extensions: expected a list of text, got a list",
        "config/plugins.yaml:3: plugins.telephony.settings.trunk: required (the SIP trunk's name)",
        "config/plugins.yaml:9: plugins.telephony.settings.ratio: must be between 0 and 1",
    ]


def test_validate_settings_accepts_any_setting_like_spec():
    spec = {"greeting": SimpleNamespace(type=str, default="Hello", help="", choices=None)}
    assert validate_settings(spec, {}, None) == {"greeting": "Hello"}
    with pytest.raises(ConfigError, match=r"^settings.greeting: expected text, got a boolean \(true\)$"):
        validate_settings(spec, {"greeting": True}, None)


def test_permission_patterns():
    assert permission_matches("*", "hr.cases.read")
    assert permission_matches("*.read", "hr.cases.read")
    assert permission_matches("telephony.*", "telephony.calls.transfer")
    assert not permission_matches("telephony.*", "telephonyx.calls")
    assert not permission_matches("hr.cases.read", "hr.cases.write")
    assert not permission_matches("HR.*", "hr.cases.read")
