"""The Reconciliation screen: a statement's lines, matched, suggested and
unmatched, with the statement's closing balance checked against the
ledger. Everything it does goes through ``bank`` (the CLI's functions)."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from core.errors import BackdeskError, ValidationError
from core.inputs import read_bytes_file
from core.shell.widgets import Column, Field, FormScreen, RecordTable
from plugins.accounting import bank
from plugins.accounting import bank_formats as F
from plugins.accounting import bank_mappings
from plugins.accounting import models as m
from plugins.accounting import reports
from plugins.accounting.models import _
from plugins.accounting.screens import _Base, _day, _day_width, _label_width, _money_col

MAX_FILE = 50 << 20


class ReconciliationScreen(_Base):
    """Bank statement lines and what each was matched to; the waiting ones first."""

    WATCH_TABLES = frozenset({"accounting.statement_lines", "accounting.statements"})
    BINDINGS = [
        Binding("i", "import", _("Import statement"), id="accounting.bank_import"),
        Binding("m", "match", _("Match"), id="accounting.bank_match"),
        Binding("a", "accept", _("Accept suggestion"), id="accounting.bank_accept"),
        Binding("o", "toggle", _("Waiting/all"), id="accounting.bank_toggle"),
    ]

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.waiting_only = True

    def compose_content(self) -> ComposeResult:
        # Beside the menu at 80 columns who paid, then what it is matched to
        # (each sized by its text) are narrowed, then the state gives way (on
        # the detail line): the suggestion in "Matched to" says what a line waits for.
        yield RecordTable([Column("booking_date", _("Date"), width=_day_width(), format=_day),
                           _money_col("amount_dec", _("Amount"), 10, m.places(self.ctx)),
                           Column("party", _("Who / text")),
                           Column("status_text", _("Status"), width=_label_width(bank.LINE_STATUSES), priority=-1),
                           Column("what", _("Matched to"), priority=1)], [], classes="acc-table", id="acc-bank",
                          empty_text=_("No statement lines waiting"))
        yield Static("", id="acc-bank-sum", classes="acc-detail", markup=False)

    def _load(self) -> None:
        status = ["suggested", "unmatched"] if self.waiting_only else None
        rows = self._safe(bank.lines, self.ctx, status=status) or []
        self._table().set_records(bank.line_rows(self.ctx, rows))
        self.query_one("#acc-bank-sum", Static).update(self._summary())

    def _summary(self) -> str:
        stmts = self._safe(bank.statements, self.ctx) or []
        if not stmts:
            return _("No statement imported yet (i)")
        # the last one with balances: a CAMT.054 notification or a bank CSV has none to check
        with_balance = [st for st in stmts if st.get("closing") is not None]
        if not with_balance:
            return _("No statement with a closing balance yet (notifications and CSVs have none)")
        st = with_balance[0]
        c = bank.balance_check(self.ctx, st)
        places = m.places(self.ctx)
        closing = m.number_text(c["closing"], places) if c["closing"] is not None else "-"
        if c["posted_agrees"]:
            verdict = _("agrees with the ledger")
        elif c["agrees"]:
            verdict = _("agrees once {amount} waiting is matched").format(amount=m.number_text(c["waiting"], places))
        else:
            verdict = _("differs from the ledger by {amount}").format(
                amount=m.number_text((c["closing"] or 0) - c["ledger"] - c["waiting"], places))
        return _("Statement {id} ({date}): closing {closing}, {verdict}").format(
            id=st["statement_id"], date=_day(c["date"]), closing=closing, verdict=verdict)

    def action_toggle(self) -> None:
        self.waiting_only = not self.waiting_only
        self._load()

    def action_import(self) -> None:
        saved = self._safe(bank_mappings.mappings, self.ctx) or []

        def submit(values):
            path = str(Path(values["path"]).expanduser())
            try:
                data = read_bytes_file(path, max_bytes=MAX_FILE)
                if values.get("mapping"):  # a bank CSV, read as its saved mapping says
                    mp = bank_mappings.mapping(self.ctx, values["mapping"])["mapping"]
                    return {"csv": reports.import_bank_csv(self.ctx, F.decode(data, mp.get("encoding")), mp,
                                                           name=path)}
                return bank.import_statement(self.ctx, data, name=path)
            except BackdeskError as error:
                raise ValidationError(error.message, field="path") from None

        def done(summary):
            if not summary:
                return
            if "csv" in summary:
                self.notify(_.ngettext("{n} new bank CSV row", "{n} new bank CSV rows", summary["csv"]).format(
                    n=summary["csv"]))
            else:
                self.notify(_("{new} new lines: {matched} matched, {suggested} suggested, {unmatched} unmatched")
                            .format(**summary) if summary["new"] else _("0 new lines"))
            self._load()

        fields = [Field("path", _("File"), required=True)]
        if saved:  # a bank CSV needs its bank's mapping; CAMT and MT940 say what they are
            fields.append(Field("mapping", _("CSV mapping"), kind="choice", default="",
                                choices=[("", _("none: CAMT or MT940"))] + [(r["name"], r["name"]) for r in saved],
                                help=_("For a bank CSV: the bank's saved mapping")))
        self.app.push_screen(FormScreen(_("Import a bank statement (CAMT, MT940)"), fields, {},
                                        on_submit=submit, submit_label=_("Import")), done)

    def action_accept(self) -> None:
        line = self._current(_("line"))
        if line is None:
            return
        if self._safe(bank.match_line, self.ctx, line["id"], accept=True,
                      done=_("Matched to {what}").format(what=line["what"])):
            self._load()

    def action_match(self) -> None:
        line = self._current(_("line"))
        if line is None:
            return
        fields = [Field("bill", _("Bill (id)")), Field("invoice", _("Invoice (number)")),
                  Field("account", _("Account"))]

        def submit(values):
            return bank.match_line(self.ctx, line["id"], bill=values.get("bill") or None,
                                   invoice=values.get("invoice") or None, account=values.get("account") or None)

        def done(result):
            if result:
                self.notify(_("Line {id} matched").format(id=result["id"]))
                self._load()

        self.app.push_screen(FormScreen(_("Match the line of {date} ({amount})").format(
            date=_day(line["booking_date"]), amount=m.number_text(line["amount_dec"], m.places(self.ctx))), fields, {},
            on_submit=submit, submit_label=_("Match")), done)
