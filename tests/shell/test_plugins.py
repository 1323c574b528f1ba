"""Loading plugins: sources, failures, isolation, compatibility, kill switch."""

from __future__ import annotations

import sys
import textwrap

import pytest

from core.api.hookspecs import HOOK_API_VERSION
from core.plugins.host import PluginHost


def records(bd):
    return {name: rec for name, rec in bd.host.records.items()}


def test_good_plugin_loads_with_settings_tables_and_context(site):
    site.plugins([{"name": "greeter", "sample": True, "settings": {"greeting": "Servus"}}])
    bd = site.open()
    try:
        rec = bd.host.records["greeter"]
        assert (rec.status, rec.source, rec.version) == ("ok", "path", "1.2.3")
        ctx = bd.context("greeter")
        assert ctx.settings == {"greeting": "Servus"}
        doc_id = ctx.table("greetings").insert({"by": "alice"})
        assert ctx.table("greetings").get(doc_id)["by"] == "alice"
    finally:
        bd.close()


def test_failures_are_isolated_and_explained(site):
    site.plugins([
        {"name": "broken_import", "sample": True},
        {"name": "future_api", "sample": True},
        {"name": "misspelled", "sample": True},
        {"name": "raises_info", "sample": True},
        {"name": "greeter", "sample": True},
    ])
    bd = site.open()
    try:
        recs = records(bd)
        assert recs["greeter"].status == "ok"
        assert recs["broken_import"].status == "failed"
        assert "the vendor SDK is missing" in recs["broken_import"].error
        assert "RuntimeError" in recs["broken_import"].traceback
        assert recs["future_api"].status == "failed"
        assert f"needs hook API version 99; this Backdesk provides version {HOOK_API_VERSION}" in recs["future_api"].error
        assert "unknown hook 'backdesk_screen' (did you mean backdesk_screens?)" in recs["misspelled"].error
        assert "backdesk_plugin_info failed: KeyError" in recs["raises_info"].error
        # failed plugins have no hooks left registered
        names = [rec.name for rec in bd.host.active]
        assert names == ["greeter"]
    finally:
        bd.close()


def test_disabled_in_yaml_and_by_environment(site):
    site.plugins([{"name": "greeter", "sample": True, "enabled": False},
                  {"name": "broken_screen", "sample": True}])
    bd = site.open(environ={"BACKDESK_DISABLE_PLUGINS": "broken_screen"})
    try:
        recs = records(bd)
        assert recs["greeter"].status == "disabled"
        assert recs["greeter"].error == "disabled in plugins.yaml"
        assert recs["broken_screen"].status == "disabled"
        assert "BACKDESK_DISABLE_PLUGINS" in recs["broken_screen"].error
    finally:
        bd.close()


def test_external_kill_switch_keeps_builtins(site):
    site.plugins([{"name": "greeter", "sample": True}])
    bd = site.open(environ={"BACKDESK_DISABLE_PLUGINS": "external"})
    try:
        assert bd.host.records["greeter"].status == "disabled"
    finally:
        bd.close()


def test_entry_point_plugin_is_discovered(site, tmp_path, monkeypatch):
    """A real distribution's metadata on sys.path, found through importlib.metadata."""
    site_dir = tmp_path / "site-packages"
    pkg = site_dir / "bd_visitors"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        from core.api.hookspecs import PluginInfo, hookimpl

        @hookimpl
        def backdesk_plugin_info():
            return PluginInfo(name="visitors", title="Visitors", version="2.0")
    '''))
    dist = site_dir / "bd_visitors-2.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: bd-visitors\nVersion: 2.0\n")
    (dist / "entry_points.txt").write_text("[backdesk]\nvisitors = bd_visitors\n")
    monkeypatch.syspath_prepend(str(site_dir))
    site.plugins([])
    bd = site.open()
    try:
        rec = bd.host.records["visitors"]
        assert (rec.status, rec.source, rec.version) == ("ok", "entry point", "2.0")
    finally:
        bd.close()
        sys.modules.pop("bd_visitors", None)


def test_hook_failure_is_recorded_and_others_still_answer(site):
    site.plugins([{"name": "broken_screen", "sample": True}, {"name": "greeter", "sample": True}])
    bd = site.open()
    try:
        cards = [(rec.name, card) for rec, card in bd.host.collect("backdesk_dashboard_cards")]
        assert {name for name, _ in cards} == {"broken_screen", "greeter"}
        rendered = {}
        for name, card in cards:
            try:
                rendered[name] = card.render()
            except ValueError as exc:
                bd.host.record_failure(bd.host.records[name], "card", exc)
        assert rendered == {"greeter": "0 greetings so far"}
        assert bd.host.records["broken_screen"].hook_errors[0][1] == "ValueError: card data unavailable"
    finally:
        bd.close()


def test_reserved_and_mismatched_names_are_refused(tmp_path):
    mod = tmp_path / "impostor.py"
    mod.write_text(textwrap.dedent('''
        from core.api.hookspecs import PluginInfo, hookimpl

        @hookimpl
        def backdesk_plugin_info():
            return PluginInfo(name="core", title="Core?", version="1")
    '''))
    from types import SimpleNamespace

    host = PluginHost()
    host.load([SimpleNamespace(name="impostor", enabled=True, settings={}, module=None, path=mod)],
              load_entry_points=False)
    assert "calls itself 'core' but is listed as 'impostor'" in host.records["impostor"].error


def test_unknown_plugin_is_a_config_error_naming_file_line_key(site):
    from core.errors import ConfigError

    site.plugins([{"name": "greeter", "sample": True}, {"name": "telefony"}])
    with pytest.raises(ConfigError) as info:
        site.open()
    assert str(info.value).startswith(f"{site.config_dir / 'plugins.yaml'}:4: plugins.telefony.name: "
                                      "unknown plugin 'telefony'")
    assert not site.data_dir.exists()
