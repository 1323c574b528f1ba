"""Per-operator inboxes: a message taken for you, a ticket assigned to you.

``services.notifications.notify("bob", "Call from Müller: please call back",
kind="telephony.message", link="telephony")`` stores a row in
``core.notifications``. Every running Backdesk polls the store
(``store.refresh()``, every 0.5 s in the app), so operator B sees the unread
count in the header and a toast within about a second, in whatever SSH
session B works — no restart, no server.

A notification::

    {"id": 3, "account": "bob", "text": "...", "kind": "telephony.message",
     "link": "telephony", "sender": "alice", "at": "2026-...Z", "read": False}

``link`` is a navigation id (a screen to open) or None.
"""

from __future__ import annotations

from typing import Any

from core.services.audit import now_utc
from core.errors import PermissionDenied, UnknownRecord, ValidationError
from core.api.hookspecs import TableSpec
from core.i18n import _
from core.storage import Range

NOTIFICATIONS = "core.notifications"
SEND = "core.notifications.send"
MANAGE = "core.notifications.manage"
MAX_TEXT = 2000


class Notifications:
    """``services.notifications``: send to an operator, read your inbox."""

    # every operator's notifications: reading them whole is reading others'
    TABLES = (TableSpec("notifications", version=1, read="core.notifications.manage"),)

    def __init__(self, backdesk) -> None:
        self.backdesk = backdesk
        self.store = backdesk.store
        self.table = backdesk.table(NOTIFICATIONS)

    @property
    def operator(self):
        return self.backdesk.operator

    # -- sending -----------------------------------------------------------------------
    def known_accounts(self) -> list[str]:
        return sorted(self.backdesk.config.operators)

    def notify(self, account: str, text: str, *, kind: str = "info", link: str | None = None,
               data: dict | None = None) -> int:
        """Put ``text`` into ``account``'s inbox; returns the notification's id.

        For plugins and services: the action that causes a notification has
        been checked already (a reception operator taking a message needs no
        extra permission to deliver it). Operators sending free text use
        :meth:`send`, which checks ``core.notifications.send``.
        """
        account = (account or "").strip()
        if account not in self.backdesk.config.operators:
            raise ValidationError(_("{account!r} is not an operator (known: {known})").format(
                account=account, known=", ".join(self.known_accounts()) or "-"), field="account")
        text = (text or "").strip()
        if not text:
            raise ValidationError(_("the text is empty"), field="text")
        if len(text) > MAX_TEXT:
            raise ValidationError(_("at most {n} characters").format(n=MAX_TEXT), field="text")
        return self.table.insert({"account": account, "text": text, "kind": kind or "info",
                                  "link": link, "data": data or {}, "sender": self.store.actor,
                                  "at": now_utc(), "read": False})

    def notify_person(self, person_id: int, text: str, **kwargs: Any) -> int | None:
        """Notify the operator linked to a person of the directory (``person_id``
        in config, else the same email). Returns None when the person is not an
        operator."""
        account = self.account_of_person(person_id)
        if account is None:
            return None
        return self.notify(account, text, **kwargs)

    def account_of_person(self, person_id: int) -> str | None:
        ops = self.backdesk.config.operators
        for login, op in ops.items():
            if getattr(op, "person_id", None) == person_id:
                return login
        person = self.backdesk.table("core.people").get(person_id)
        email = (person or {}).get("email")
        if email:
            for login, op in ops.items():
                if (getattr(op, "email", None) or "").lower() == email.lower():
                    return login
        return None

    def send(self, account: str, text: str, *, link: str | None = None) -> int:
        """An operator's free-text note to another operator (``core.notifications.send``)."""
        self.operator.require(SEND, _("send notifications"))
        return self.notify(account, text, kind="note", link=link)

    # -- reading -----------------------------------------------------------------------
    def _account(self, account: str | None) -> str:
        own = self.operator.account
        if account is None or account == own:
            return own
        self.operator.require(MANAGE, _("read another operator's notifications"))
        return account

    def inbox(self, account: str | None = None, *, unread_only: bool = False,
              limit: int | None = None) -> list[dict]:
        """The inbox of ``account`` (default: the operator), newest first."""
        account = self._account(account)
        where: dict[str, Any] = {"account": account}
        if unread_only:
            where["read"] = False
        return self.table.find(where, order_by="-id", limit=limit)

    def unread_count(self, account: str | None = None) -> int:
        return self.table.count({"account": self._account(account), "read": False})

    def newer_than(self, last_id: int, account: str | None = None) -> list[dict]:
        """Unread notifications with an id above ``last_id``, oldest first (for toasts)."""
        return self.table.find({"account": self._account(account), "read": False,
                                "id": Range(gt=last_id)}, order_by="id")

    def last_id(self, account: str | None = None) -> int:
        found = self.table.find({"account": self._account(account)}, order_by="-id", limit=1)
        return found[0]["id"] if found else 0

    # -- marking ------------------------------------------------------------------------
    def _own(self, notification_id: int) -> dict:
        doc = self.table.get(notification_id)
        if doc is None:
            raise UnknownRecord(_("no notification with id {id}").format(id=notification_id))
        if doc["account"] != self.operator.account and not self.operator.can(MANAGE):
            raise PermissionDenied(_("notification {id} is not addressed to you").format(id=notification_id))
        return doc

    def mark_read(self, notification_id: int, read: bool = True) -> dict:
        doc = self._own(notification_id)
        if doc.get("read") == read:
            return doc
        return self.table.update(notification_id, {"read": read})

    def mark_all_read(self, account: str | None = None) -> int:
        account = self._account(account)
        with self.store.transaction():
            unread = self.table.find({"account": account, "read": False})
            for doc in unread:
                self.table.update(doc["id"], {"read": True})
        return len(unread)

    def delete(self, notification_id: int) -> None:
        self._own(notification_id)
        self.table.delete(notification_id)


def header_text(backdesk) -> str:
    """The header's sub-title: ``Alice Admin · admin`` (+ `` · 2 unread``)."""
    op = backdesk.operator
    text = f"{op.name} · {op.role_title}"
    service = getattr(backdesk.services, "notifications", None)
    if service is not None:
        try:
            count = service.unread_count()
        except Exception:  # a closed store while shutting down
            count = 0
        if count:
            text += " · " + _("{n} unread").format(n=count)
    return text
