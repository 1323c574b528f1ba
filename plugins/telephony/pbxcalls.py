"""Calls from the PBX's event sequence: the history as Asterisk saw it.

A call is an outside caller's channel: one created in one of the inbound
contexts (``ami_inbound_contexts``; for a Local channel only its ``;2``
half, which runs the dialplan). What happens to it comes from events on that
channel (``Uniqueid``), in the order Asterisk sends them:

===========================  ==================================================
``Newchannel``               a caller (the record is made when it starts ringing
                             or waiting, with the time the channel appeared)
``DialBegin``                it rings at an extension: a person's (not an
                             operator's) extension is whom the caller asked for
``QueueCallerJoin``          waiting in a queue ("queued")
``DialEnd`` ANSWER /         answered; the answering channel's extension says by
``AgentConnect``             whom: an operator (the call is on their line) or a
                             person (put straight through)
``ParkedCall``               parked (or held: the hold lot) from a phone
``Unhold`` of the consulting the attended transfer ended without a transfer (the
channel                      third party did not answer): back with the caller
``AttendedTransfer``         completed from the phone
``Hangup``                   ended: **connected** when it was answered,
                             **abandoned** when the caller gave up in a queue,
                             **missed** otherwise (at night: the night route's
                             outcome, as for calls logged by hand)
===========================  ==================================================

Every running switchboard receives every event, so each change is made in a
transaction that first reads the call again and does nothing when another
process made it already (idempotent). After a (re)connect the live state is
compared with the open calls: calls whose channel is gone ended while
Backdesk was not listening, callers Backdesk did not know yet are added. A
click-to-dial call that started moments ago may have no channel yet (the
Originate is asynchronous: its channel is reported after the action's reply,
and a connect can happen in between, in any operator's process): it is
looked at again with the next events and ended as lost only when the PBX
still shows no channel for it ``ORIGINATE_GRACE`` seconds after it began.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from core.errors import BackdeskError
from core.storage import AnyOf

from plugins.telephony.live import extension_of_channel, pbx_text
from plugins.telephony.models import OPEN_STATUSES, now_utc, seconds_between

if TYPE_CHECKING:
    from plugins.telephony.service import Telephony

log = logging.getLogger("backdesk.telephony.pbxcalls")


#: seconds a dialled call may go without a channel on the PBX before a
#: resync takes it for lost (the Originate's channel normally appears within
#: milliseconds; on a loaded host within seconds)
ORIGINATE_GRACE = 30.0


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).isoformat(timespec="seconds")


#: the events of a new caller's channel that make its record: when it starts
#: ringing somewhere or waiting (one write with whom it rings), or ends first
CREATED_BY = frozenset({"DialBegin", "QueueCallerJoin", "DialEnd", "AgentConnect", "ParkedCall", "Hangup",
                        "BridgeEnter"})


class CallTracker:
    """Keeps ``telephony.calls`` in step with one PBX (one per service)."""

    def __init__(self, service: "Telephony") -> None:
        self.svc = service
        self.tracked: dict[str, int] = {}      # caller uniqueid -> open call id
        self.pending: dict[str, float] = {}    # inbound channel seen, caller id not yet
        self.unseen: dict[str, float] = {}     # dialled, no channel on the PBX yet at a resync -> started
        self._loaded = False
        self._event: dict = {}

    @property
    def live(self):
        return self.svc.backend.live_state()

    def _load(self) -> None:
        for call in self.svc.calls.find({"status": AnyOf(list(OPEN_STATUSES))}):
            uid = (call.get("pbx") or {}).get("uniqueid")
            if uid:
                self.tracked[uid] = call["id"]
        self._loaded = True

    # -- the entry point ---------------------------------------------------------------
    def handle(self, name: str, f: dict) -> None:
        if not self._loaded:
            self._load()
        self._event = f
        if self.unseen:
            self._look_again()
        uid = f.get("Uniqueid") or ""
        if uid in self.pending and name in CREATED_BY:
            self._create(uid, f, name)
        handler = getattr(self, "_on_" + name, None)
        if handler is not None:
            handler(f)

    def wants(self, name: str, f: dict) -> bool:
        """Whether handling this event may write to the store (cheap; the
        backend's dispatcher wraps a burst of such events in one transaction)."""
        uid = f.get("Uniqueid") or ""
        if uid in self.tracked or uid in self.pending or name == "Newchannel":
            return True
        if name in ("ParkedCall", "ParkedCallTimeOut"):
            return (f.get("ParkeeUniqueid") or "") in self.tracked
        if name == "AttendedTransfer":
            return (f.get("TransfereeUniqueid") or "") in self.tracked
        return name == "Unhold"

    # -- the calls ---------------------------------------------------------------------
    def _open(self, uid: str) -> dict | None:
        """The open call of caller ``uid`` (read again: another process may have changed it)."""
        call_id = self.tracked.get(uid)
        if call_id is None:
            return None
        call = self.svc.calls.get(call_id)
        if call is None or call["status"] not in OPEN_STATUSES:
            self.tracked.pop(uid, None)
            return None
        return call

    def _update(self, uid: str, change, *, final: bool = False) -> None:
        """``change(call) -> dict | None`` inside a transaction, on the call read
        again. An event older than the operator's last action on the call
        (``pbx.seq``: the last event the backend had received then) changes
        nothing, unless it is ``final`` (the caller hung up)."""
        if self._open(uid) is None:
            return
        seq = self._event.get("_seq") or 0
        with self.svc.ctx.transaction():
            call = self._open(uid)
            if call is None:
                return
            if not final and seq and (call.get("pbx") or {}).get("seq", 0) >= seq:
                return
            changes = change(call)
            if changes:
                self.svc.calls.update(call["id"], changes)
                if changes.get("status") == "ended":
                    self.tracked.pop(uid, None)

    def _create(self, uid: str, f: dict, name: str = "") -> None:
        since = self.pending.pop(uid, None)
        ch = self.live.channel(uid) if self.live is not None else None
        number = pbx_text(f.get("CallerIDNum")) or (ch.number if ch else "")
        caller_name = pbx_text(f.get("CallerIDName")) or (ch.caller_name if ch else "")
        channel = f.get("Channel") or (ch.name if ch else "")
        wanted = None
        if name == "DialBegin":  # where it rings: whom the caller asked for (unless the switchboard)
            ext = extension_of_channel(f.get("DestChannel"))
            if ext and ext not in self.svc.operator_extensions():
                wanted = self.svc.people.by_extension(ext)
        self.add_call(uid, channel=channel, number=number, caller_name=caller_name,
                      since=since or (ch.since if ch else None), linkedid=f.get("Linkedid") or (
                          ch.linkedid if ch else uid),
                      status="queued" if name == "QueueCallerJoin" else "ringing",
                      queue=f.get("Queue") if name == "QueueCallerJoin" else None,
                      wanted_person_id=wanted["id"] if wanted else None)

    def add_call(self, uid: str, *, channel: str, number: str, caller_name: str, since: float | None,
                 linkedid: str, status: str = "ringing", queue: str | None = None,
                 wanted_person_id: int | None = None) -> int:
        svc = self.svc
        with svc.ctx.transaction():
            found = svc.calls.find({"pbx.uniqueid": uid}, limit=1)
            if found:
                self.tracked[uid] = found[0]["id"]
                return found[0]["id"]
            try:
                who = svc.resolve_caller(number) if number else None
            except BackdeskError:
                who = None
            if who is None:
                who = {"caller_number": number or None, "caller_person_id": None, "contact_id": None,
                       "caller_name": None}
            started = _iso(since) if since else now_utc()
            night = self.live.night if self.live is not None and self.live.night is not None else svc.is_night()
            call_id = svc.calls.insert({
                "caller_number": who["caller_number"], "caller_person_id": who["caller_person_id"],
                "contact_id": who["contact_id"],
                "caller_name": (caller_name or None) if not (who["caller_person_id"] or who["contact_id"]) else None,
                "wanted_person_id": wanted_person_id, "to_person_id": None, "consult_person_id": None,
                "operator": None, "status": status, "outcome": None, "started_at": started,
                "answered_at": None, "ended_at": None, "duration": None,
                "chain": [svc._caller_link(who)], "transfers": [], "park_slot": None, "note": "",
                "message_id": None, "night": bool(night), "direction": "in",
                "pbx": {"channel": channel, "uniqueid": uid, "linkedid": linkedid, "queue": queue},
            })
        self.tracked[uid] = call_id
        return call_id

    # -- events ------------------------------------------------------------------------
    def _on_Newchannel(self, f: dict) -> None:
        # decided from the event itself: the live state may be ahead (the channel gone already)
        uid = f.get("Uniqueid") or ""
        live = self.live
        if not uid or uid in self.tracked or live is None or not live.is_inbound(
                f.get("Channel", ""), f.get("Context", "")):
            return
        self.pending[uid] = f.get("_received") or time.time()

    def _on_NewCallerid(self, f: dict) -> None:
        uid = f.get("Uniqueid") or ""
        number = pbx_text(f.get("CallerIDNum"))
        call = self._open(uid)
        if call is None or not number or call.get("caller_number") or call.get("caller_person_id"):
            return

        def change(call: dict) -> dict | None:
            if call.get("caller_number"):
                return None
            try:
                who = self.svc.resolve_caller(number)
            except BackdeskError:
                return {"caller_number": number, "caller_name": pbx_text(f.get("CallerIDName")) or None}
            return {"caller_number": who["caller_number"], "caller_person_id": who["caller_person_id"],
                    "contact_id": who["contact_id"], "chain": [self.svc._caller_link(who)] + call["chain"][1:]}

        self._update(uid, change)

    def _on_DialBegin(self, f: dict) -> None:
        uid = f.get("Uniqueid") or ""
        ext = extension_of_channel(f.get("DestChannel"))
        if not ext or uid not in self.tracked or ext in self.svc.operator_extensions():
            return
        person = self.svc.people.by_extension(ext)
        if person is None:
            return

        def change(call: dict) -> dict | None:
            if call.get("wanted_person_id") or call.get("direction") == "out" or (
                    call["status"] not in ("ringing", "queued") and call["pbx"].get("answered_by")):
                return None
            return {"wanted_person_id": person["id"]}

        self._update(uid, change)

    # The live state is ahead of this thread (it is kept as events arrive,
    # these handlers run after the store writes before them), so a change
    # that a later event undid — the operator took the call back meanwhile —
    # is checked against it and not made.
    def _on_QueueCallerJoin(self, f: dict) -> None:
        uid = f.get("Uniqueid") or ""
        if uid not in self.tracked or self.live.queue_of(uid) is None:
            return

        def change(call: dict) -> dict | None:
            if call["status"] not in ("ringing",):
                return None
            return {"status": "queued", "pbx": {**call["pbx"], "queue": f.get("Queue")}}

        self._update(uid, change)

    def _answered(self, uid: str, dest: str | None) -> None:
        if uid not in self.tracked:
            return
        ext = extension_of_channel(dest)
        account = self.svc.operator_extensions().get(ext or "")
        person = self.svc.people.by_extension(ext) if ext and not account else None
        now = now_utc()

        def change(call: dict) -> dict | None:
            pbx = {**call["pbx"], "answered_by": ext}
            if call["status"] not in ("ringing", "queued"):
                return {"pbx": pbx} if call["pbx"].get("answered_by") != ext else None
            changes: dict[str, Any] = {"status": "active", "pbx": pbx}
            if not call.get("answered_at"):
                changes["answered_at"] = now
            if call.get("direction") == "out":
                return changes
            if account:
                changes["operator"] = account
                changes["chain"] = call["chain"] + [{"kind": "operator", "account": account}]
            elif person is not None:
                changes["to_person_id"] = person["id"]
                changes["chain"] = call["chain"] + [{"kind": "person", "person_id": person["id"],
                                                     "mode": "direct"}]
            return changes

        self._update(uid, change)

    def _on_DialEnd(self, f: dict) -> None:
        if f.get("DialStatus") == "ANSWER":
            self._answered(f.get("Uniqueid") or "", f.get("DestChannel"))

    def _on_AgentConnect(self, f: dict) -> None:
        self._answered(f.get("Uniqueid") or "", f.get("DestChannel"))

    def _on_ParkedCall(self, f: dict) -> None:
        uid = f.get("ParkeeUniqueid") or ""
        if uid not in self.tracked or self.live.parked_by_uniqueid(uid) is None:
            return
        lot = f.get("Parkinglot") or f.get("ParkingLot") or ""
        held = bool(self.svc.backend.settings.get("ami_hold_lot")) and lot == self.svc.backend.settings.get(
            "ami_hold_lot")
        status = "held" if held else "parked"

        def change(call: dict) -> dict | None:
            if call["status"] == status:
                return None
            return {"status": status, "park_slot": None if held else f.get("ParkingSpace"),
                    "hold_slot": f.get("ParkingSpace") if held else None, "parked_at": now_utc()}

        self._update(uid, change)

    def _on_ParkedCallTimeOut(self, f: dict) -> None:
        uid = f.get("ParkeeUniqueid") or ""
        if uid not in self.tracked or self.live.parked_by_uniqueid(uid) is not None:
            return

        def change(call: dict) -> dict | None:
            if call["status"] not in ("parked", "held"):
                return None
            return {"status": "ringing", "park_slot": None, "hold_slot": None}

        self._update(uid, change)

    def _on_Unhold(self, f: dict) -> None:
        """The consulting operator is back with the caller: the third party did not answer."""
        now = self.live.channel(f.get("Uniqueid") or f.get("Channel"))
        if now is None or now.held:  # gone, or consulting again already
            return
        for call in self.svc.calls.find({"status": "consulting"}):
            pbx = call.get("pbx") or {}
            if f.get("Uniqueid") not in (None, "") and f.get("Uniqueid") == pbx.get("operator_uniqueid") or \
                    f.get("Channel") == pbx.get("operator_channel"):
                uid = pbx.get("uniqueid") or ""

                def change(call: dict) -> dict | None:
                    if call["status"] != "consulting":
                        return None
                    transfers = [dict(t) for t in call["transfers"]]
                    transfers[-1].update(state="cancelled", reason="no answer", cancelled_at=now_utc())
                    return {"status": "active", "consult_person_id": None, "transfers": transfers}

                self._update(uid, change)

    def _on_AttendedTransfer(self, f: dict) -> None:
        if f.get("Result") != "Success":
            return
        uid = f.get("TransfereeUniqueid") or ""

        def change(call: dict) -> dict | None:
            if call["status"] != "consulting":
                return None
            return self.svc.completed_transfer_changes(call)

        self._update(uid, change)

    def _on_Hangup(self, f: dict) -> None:
        uid = f.get("Uniqueid") or ""
        self.pending.pop(uid, None)
        if uid in self.tracked:
            self.end(uid, cause=f.get("Cause"))

    def end(self, uid: str, *, lost: bool = False, cause: str | None = None) -> None:
        """The caller's channel is gone: the call ends with what happened to it."""
        def change(call: dict) -> dict | None:
            now = now_utc()
            if call.get("answered_at"):
                outcome = "connected"
            elif call["status"] == "queued":
                outcome = "abandoned"
            else:
                outcome = "missed"
            changes: dict[str, Any] = {"status": "ended", "outcome": outcome, "ended_at": now,
                                       "consult_person_id": None, "park_slot": None,
                                       "duration": seconds_between(call.get("answered_at") or call["started_at"],
                                                                   now)}
            if lost:
                changes["pbx"] = {**call["pbx"], "lost": True}
            elif cause and cause != "0":
                changes["pbx"] = {**call["pbx"], "cause": cause}  # Q.850: 16 normal, 17 busy, 19 no answer
            if outcome != "connected" and call.get("night") and call.get("direction", "in") == "in":
                changes.update(self.svc.night_outcome(call))
            return changes

        self._update(uid, change, final=True)
        self.tracked.pop(uid, None)

    # -- after a (re)connect -----------------------------------------------------------
    def _dialled_moments_ago(self, uid: str) -> float | None:
        """When the click-to-dial call of ``uid`` began, if that is less than
        ``ORIGINATE_GRACE`` seconds ago (its channel may not be reported yet)."""
        call = self._open(uid)
        if call is None or call.get("direction") != "out" or (call.get("pbx") or {}).get("channel"):
            return None
        try:
            started = datetime.fromisoformat(call["started_at"]).timestamp()
        except (TypeError, ValueError):
            return None
        return started if time.time() - started < ORIGINATE_GRACE else None

    def _look_again(self) -> None:
        """Dialled calls a resync found without a channel: the ones the PBX
        shows now stay; the others end as lost once their grace is over."""
        live = self.live
        for uid, started in list(self.unseen.items()):
            if live is not None and live.channel(uid) is not None or uid not in self.tracked:
                self.unseen.pop(uid, None)
            elif time.time() - started >= ORIGINATE_GRACE:
                self.unseen.pop(uid, None)
                self.end(uid, lost=True)

    def resync(self) -> None:
        """Compare the open calls with what the PBX shows now."""
        self._load()
        self._event = {}
        live = self.live
        if live is None:
            return
        self.unseen = {}
        for uid in list(self.tracked):
            if live.channel(uid) is None:
                started = self._dialled_moments_ago(uid)
                if started is not None:
                    self.unseen[uid] = started
                else:
                    self.end(uid, lost=True)
        for ch in live.callers():
            if ch.uniqueid in self.tracked:
                continue
            where = live.queue_of(ch.uniqueid)
            self.add_call(ch.uniqueid, channel=ch.name, number=ch.number, caller_name=ch.caller_name,
                          since=ch.since, linkedid=ch.linkedid, status="queued" if where else "ringing",
                          queue=where[0] if where else None)
            peer = live.peer(ch.uniqueid)
            if peer is not None:
                self._answered(ch.uniqueid, peer.name)
