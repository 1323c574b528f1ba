"""Documents: file, copy, email and fax the office's paper.

Hook implementations only; the work is in :mod:`.service` (domain),
:mod:`.screens` (Textual), :mod:`.cli` (``backdesk docs``).
"""

from __future__ import annotations

from pathlib import Path

from core.api.hookspecs import Card, Command, NavEntry, PluginInfo, SearchHit, Setting, TableSpec, hookimpl
from plugins.documents.models import _, search_fields

VERSION = "1.0.0"
#: scanning.DEFAULT_PROFILES, written here so the settings need not import the scanner code
DEFAULT_SCAN_PROFILES = {
    "letter": {"resolution": 300, "mode": "Gray", "source": "", "pages": 1},
    "batch": {"resolution": 300, "mode": "Gray", "source": "ADF", "pages": 0},
    "colour": {"resolution": 300, "mode": "Color", "source": "", "pages": 1},
}


@hookimpl
def backdesk_plugin_info():
    from plugins.documents.service import PERMISSIONS

    return PluginInfo(name="documents", title="Documents", version=VERSION,
                      description="File, copy, email and fax documents", permissions=PERMISSIONS)


@hookimpl
def backdesk_settings():
    return {
        "inbox": Setting(Path, None, help="Folder watched for incoming files (default: <data>/documents/inbox)"),
        "max_file_mb": Setting(int, 50, help="Largest file accepted, in MB",
                               check=lambda v: v if 1 <= v <= 10_000 else _raise("must be 1 to 10000")),
        "smtp_host": Setting(str, "localhost"),
        "smtp_port": Setting(int, 587),
        "smtp_user": Setting(str, ""),
        "smtp_password": Setting(str, ""),
        "smtp_starttls": Setting(bool, True),
        "smtp_cafile": Setting(Path, None, help="CA certificate to trust for STARTTLS (default: the system's)"),
        "smtp_from": Setting(str, "backdesk@localhost"),
        "smtp_timeout": Setting(float, 10.0),
        "fax_transport": Setting(str, "email_gateway", help="email_gateway, hylafax or one a plugin adds"),
        "fax_gateway_domain": Setting(str, "fax.example"),
        "hylafax_host": Setting(str, "127.0.0.1"),
        "hylafax_port": Setting(int, 4559),
        "hylafax_user": Setting(str, ""),
        "max_attempts": Setting(int, 8),
        "retry_base_seconds": Setting(int, 60),
        "worker_interval": Setting(float, 15.0, help="Seconds between inbox/outbox rounds in the app (0: off)"),
        "mailboxes": Setting(dict, {}, check=_mailboxes,
                             help="IMAP mailboxes by name: purpose (documents, helpdesk), host, port, security "
                                  "(tls, starttls, none), user, password_file or password_env, folder, "
                                  "processed_folder, tags, file_mail, cafile, address"),
        "mail_interval": Setting(float, 0.0, help="Seconds between the app's mail rounds (0: off; "
                                                   "`docs mail watch` runs them as a service)",
                                 check=lambda v: v if 0 <= v <= 86_400 else _raise("must be 0 to 86400")),
        "asn_barcode": Setting(bool, True, help="A scan's barcode or QR code ASN00042 on the first page "
                                                "gives its archive serial number (zbarimg)"),
        "separator_barcode": Setting(str, "PATCHT", check=_separator,
                                     help="A page with this barcode or QR code splits a batch scan in the inbox "
                                          "into documents; the page itself is dropped (empty: off)"),
        "ocr": Setting(bool, True, help="Recognise the text of scans (images, PDFs without text) with ocrmypdf"),
        "confidential_types": Setting(list, ["Payslip", "CV", "HR record", "Lohnabrechnung", "Lebenslauf",
                                             "Personalakte"], check=_type_names,
                                      help="Document types whose every print is audited (so is a document "
                                           "tagged confidential or vertraulich)"),
        "scanner": Setting(str, "", help="The SANE device scans and copies use (scanimage -L; empty: the first found)"),
        "scan_profile": Setting(str, "", help="The scan profile used when none is named (empty: the first)"),
        "scan_profiles": Setting(dict, DEFAULT_SCAN_PROFILES, check=_scan_profiles,
                                 help="Scan profiles by name: resolution (dpi), mode (Color, Gray, Lineart), source "
                                      "(Flatbed, ADF, …), pages (0: until the feeder is empty), type, tags"),
        "ocr_languages": Setting(str, "deu+eng", help="Tesseract languages joined by + (Debian: tesseract-ocr-LANG)",
                                 check=_languages),
    }


def _mailboxes(value):
    from plugins.documents.imap import parse_mailboxes

    return parse_mailboxes(value)


def _type_names(value):
    if not all(isinstance(v, str) and v.strip() and len(v) <= 60 for v in value):
        raise ValueError("a list of document type names")
    return [v.strip() for v in value]


def _scan_profiles(value):
    from plugins.documents.scanning import clean_profiles

    return clean_profiles(value)


def _languages(value):
    from plugins.documents.ocr import LANGUAGES

    if not LANGUAGES.fullmatch(value):
        raise ValueError("Tesseract language names joined by +, e.g. deu+eng")
    return value


def _separator(value):
    value = value.strip()
    if len(value) > 60 or any(not ch.isprintable() for ch in value):
        raise ValueError("the text of a barcode, at most 60 printable characters (empty: off)")
    return value


def _raise(message):
    raise ValueError(message)


@hookimpl
def backdesk_tables():
    from plugins.documents.service import READ

    # the versions' file names and texts: a search's word found by the words (no text read)
    specs = [TableSpec(name, read=READ, words=("filename", "text") if name == "versions" else ())
             for name in ("versions", "types", "rules", "intake", "searches", "outbox", "history", "ocr", "mails")]
    # version 2: each document keeps the words of its fields and of its current
    # file for the search (models.search_fields; the file's are filled in for
    # the documents filed before by service.fill_file_words)
    return [TableSpec("documents", version=2, read=READ, migrations={2: lambda doc: {**doc, **search_fields(doc)}},
                      derive=search_fields, words=DOCUMENT_WORDS), *specs]


#: the documents' fields a search looks for words in (PostgreSQL: columns of their words)
DOCUMENT_WORDS = ("fields_words", "file_words")


@hookimpl
def backdesk_fax_transports():
    from plugins.documents.fax import builtin_transports

    return builtin_transports()


@hookimpl
def backdesk_screens(ctx):
    from plugins.documents import worker

    worker.start(ctx, ctx.settings["worker_interval"])

    def register(c):
        from plugins.documents.screens import RegisterScreen
        return RegisterScreen(c)

    def intake(c):
        from plugins.documents.screens import IntakeScreen
        return IntakeScreen(c)

    def outbox(c):
        from plugins.documents.screens import OutboxScreen
        return OutboxScreen(c)

    def setup(c):
        from plugins.documents.screens import RulesScreen
        return RulesScreen(c)

    return [
        NavEntry("documents", ctx._("Documents"), register, key="f6", permission="documents.read", order=30),
        NavEntry("documents.intake", ctx._("Intake"), intake, permission="documents.read", order=31),
        NavEntry("documents.outbox", ctx._("Outbox"), outbox, permission="documents.read", order=32),
        NavEntry("documents.rules", ctx._("Rules and types"), setup, permission="documents.rules", order=33),
    ]


@hookimpl
def backdesk_commands(ctx):
    def open_(nav):
        return lambda app: app.open_nav(nav)

    def add(app):
        app.open_nav("documents")
        app.call_later(lambda: app.screen.run_action("add"))

    def retry(app):
        from plugins.documents import service

        counts = service.process_outbox(ctx, force=True)
        app.notify(ctx._("Outbox: {sent} sent, {failed} failed").format(**counts))

    return [
        Command("documents.add", ctx._("Documents: file a document"), add, permission="documents.file"),
        Command("documents.intake", ctx._("Documents: intake queue"), open_("documents.intake"),
                permission="documents.read"),
        Command("documents.outbox", ctx._("Documents: outbox"), open_("documents.outbox"),
                permission="documents.read"),
        Command("documents.retry", ctx._("Documents: retry the outbox now"), retry, permission="documents.send"),
        Command("documents.rules", ctx._("Documents: matching rules and document types"), open_("documents.rules"),
                permission="documents.rules"),
    ]


def card_intake(ctx) -> str:
    from plugins.documents import service

    n = service.counts_for_cards(ctx)["intake"]
    return _("[b]{n}[/b] files waiting in the inbox").format(n=n) if n else _("The inbox is empty.")


def card_outbox(ctx) -> str:
    from plugins.documents import service

    c = service.counts_for_cards(ctx)
    lines = [_("[b]{n}[/b] failed").format(n=c["failed"]), _("{n} waiting to go out").format(n=c["queued"])]
    if c["retrying"]:
        lines.insert(1, _("{n} retrying").format(n=c["retrying"]))
    return "\n".join(lines)


def card_week(ctx) -> str:
    from plugins.documents import service

    return _("[b]{n}[/b] documents filed this week").format(n=service.counts_for_cards(ctx)["week"])


@hookimpl
def backdesk_dashboard_cards(ctx):
    # the cards are here, not in ``screens``: the shell starts without the screens
    tables = ("documents.intake", "documents.outbox", "documents.documents")
    return [
        Card("documents.intake", ctx._("Intake"), lambda: card_intake(ctx), tables=tables[:1],
             target="documents.intake", permission="documents.read", order=30),
        Card("documents.outbox", ctx._("Outbox"), lambda: card_outbox(ctx), tables=tables[1:2],
             target="documents.outbox", permission="documents.read", order=31),
        Card("documents.week", ctx._("Filed this week"), lambda: card_week(ctx), tables=tables[2:],
             target="documents", permission="documents.read", order=32),
    ]


@hookimpl
def backdesk_event(ctx, event):
    if event.name == "it.mail_to_requester":
        from plugins.documents import service

        data = event.data
        service.queue_reply(ctx, to=data.get("to") or "", subject=data.get("subject") or "",
                            body=data.get("body") or "", message_id=data.get("message_id") or "",
                            in_reply_to=data.get("in_reply_to") or "", references=data.get("references") or ())
    elif event.name == "accounting.send_to_customer":
        from plugins.documents import outgoing

        outgoing.queue_handed_over(ctx, event.data, source=event.source)
    elif event.name == "accounting.einvoice_read":
        from plugins.documents import einvoices

        einvoices.file_read_einvoice(ctx, event.data)


@hookimpl
def backdesk_search(ctx, query):
    from plugins.documents.screens import search_hits

    return search_hits(ctx, query)


@hookimpl
def backdesk_cli(cli, get_context):
    from plugins.documents.cli import register

    register(cli, get_context)


@hookimpl
def backdesk_demo(ctx, seed):
    from plugins.documents.demo import create_demo

    create_demo(ctx, seed)
