"""What the PBX looks like right now, kept from its event stream.

:class:`LiveState` holds the channels and the bridges they are in, the state
of every extension (from the hints: ``ExtensionStatus``, and the devices
behind them: ``DeviceStateChange``), the queues with their waiting callers
and members, the parked calls and the night-service device. It is fed by the
Asterisk backend (``apply(name, fields)`` for every AMI event, ``load(...)``
with the lists asked for after each (re)connect) and read by the service and
the switchboard panel. It stores nothing and imports neither the store nor
Textual: a restart of the PBX is a reload, not a migration.

Times are wall-clock seconds (``time.time()``); a panel shows ``now - since``.
Every method is thread-safe (one lock; readers get copies).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field, replace

from core.safetext import one_line, scrub

#: ExtensionStatus "Status" -> presence
EXTENSION_STATUS = {"-2": "unavailable", "-1": "unavailable", "0": "idle", "1": "in_use", "2": "busy",
                    "4": "unavailable", "8": "ringing", "9": "ringing", "16": "on_hold", "17": "on_hold"}
#: DeviceStateChange "State" -> presence
DEVICE_STATE = {"NOT_INUSE": "idle", "INUSE": "in_use", "BUSY": "busy", "UNAVAILABLE": "unavailable",
                "INVALID": "unavailable", "RINGING": "ringing", "RINGINUSE": "ringing",
                "ONHOLD": "on_hold", "UNKNOWN": None}

# "Local/131@internal-0000001c;1", "PJSIP/131-00000002", "IAX2/131-4711": the extension.
_CHANNEL_EXTEN = re.compile(r"^[A-Za-z0-9_]+/(\d{2,6})(?:[@-]|$)")
_LOCAL_ONE = re.compile(r"^Local/.*;1$")


def extension_of_channel(name: str | None) -> str | None:
    """The extension a phone's channel belongs to (``PJSIP/131-…`` → 131), else None."""
    match = _CHANNEL_EXTEN.match(name or "")
    return match.group(1) if match else None


def extension_of_interface(interface: str | None) -> str | None:
    """A queue member's extension: ``Local/100@internal/n``, ``PJSIP/100`` → 100."""
    match = re.match(r"^[A-Za-z0-9_]+/(\d{2,6})(?:[@/]|$)", interface or "")
    return match.group(1) if match else None


def _duration(text: str | None) -> float:
    """``HH:MM:SS`` or seconds → seconds."""
    if not text:
        return 0.0
    try:
        if ":" in text:
            parts = [int(p) for p in text.split(":")]
            seconds = 0
            for p in parts:
                seconds = seconds * 60 + p
            return float(seconds)
        return float(text)
    except ValueError:
        return 0.0


def pbx_text(value: str | None) -> str:
    """A caller's number or name from the PBX's event ("<unknown>": none).
    The caller's side chooses them (a SIP display name can hold anything):
    control characters in their visible form, on one line
    (:mod:`core.safetext`), before they are stored or shown."""
    if value in (None, "", "<unknown>"):
        return ""
    return one_line(scrub(value))


@dataclass
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    state: str = ""
    context: str = ""
    exten: str = ""
    number: str = ""
    caller_name: str = ""
    since: float = 0.0
    answered: float | None = None
    bridge: str | None = None
    held: bool = False
    #: a caller from outside: created in one of the inbound contexts
    inbound: bool = False
    #: extensions this channel is dialling now (DialBegin … DialEnd)
    ringing: tuple[str, ...] = ()


@dataclass
class QueueEntry:
    uniqueid: str
    channel: str
    number: str
    caller_name: str
    since: float


@dataclass
class QueueMember:
    interface: str
    name: str
    extension: str | None
    paused: bool = False
    reason: str = ""
    status: str = ""
    in_call: bool = False


@dataclass
class Queue:
    name: str
    entries: list[QueueEntry] = field(default_factory=list)
    members: dict[str, QueueMember] = field(default_factory=dict)
    completed: int = 0
    abandoned: int = 0
    strategy: str = ""


@dataclass
class Parked:
    slot: str
    lot: str
    channel: str
    uniqueid: str
    number: str
    since: float


class LiveState:
    """The PBX now. ``apply`` returns what changed: a set of "channels",
    "extensions", "queues", "parked", "night"."""

    def __init__(self, *, context: str = "", inbound_contexts=(), night_device: str = "") -> None:
        self.context = context
        self.inbound_contexts = frozenset(inbound_contexts)
        self.night_device = night_device
        self._lock = threading.RLock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self.channels: dict[str, Channel] = {}
            self._by_name: dict[str, str] = {}
            self.bridges: dict[str, set[str]] = {}
            self.extensions: dict[str, str] = {}
            self.hints: dict[str, str] = {}          # device -> extension (single-device hints)
            self.queues: dict[str, Queue] = {}
            self.parked: dict[str, Parked] = {}       # "lot:slot" -> Parked
            self.night: bool | None = None
            self.version = 0

    # -- reading -------------------------------------------------------------------------
    def channel(self, key: str | None) -> Channel | None:
        """A channel by uniqueid or by name (a copy)."""
        with self._lock:
            ch = self.channels.get(key or "") or self.channels.get(self._by_name.get(key or "", ""))
            return replace(ch) if ch else None

    def peer(self, key: str) -> Channel | None:
        """The other channel in a two-party bridge with ``key`` (uniqueid or name)."""
        with self._lock:
            ch = self.channel(key)
            if ch is None or not ch.bridge:
                return None
            others = [u for u in self.bridges.get(ch.bridge, ()) if u != ch.uniqueid]
            return replace(self.channels[others[0]]) if len(others) == 1 and others[0] in self.channels else None

    def extension_state(self, ext: str) -> str | None:
        with self._lock:
            return self.extensions.get(ext)

    def extension_states(self) -> dict[str, str]:
        with self._lock:
            return dict(self.extensions)

    def queue_list(self) -> list[Queue]:
        with self._lock:
            return [Queue(q.name, [replace(e) for e in q.entries],
                          {k: replace(m) for k, m in q.members.items()}, q.completed, q.abandoned, q.strategy)
                    for q in sorted(self.queues.values(), key=lambda q: q.name)]

    def queue_of(self, uniqueid: str) -> tuple[str, int, float] | None:
        """(queue, position from 1, since) of a waiting caller."""
        with self._lock:
            for q in self.queues.values():
                for i, e in enumerate(q.entries, start=1):
                    if e.uniqueid == uniqueid:
                        return q.name, i, e.since
        return None

    def parked_list(self) -> list[Parked]:
        with self._lock:
            return sorted((replace(p) for p in self.parked.values()), key=lambda p: p.since)

    def parked_by_uniqueid(self, uniqueid: str) -> Parked | None:
        with self._lock:
            for p in self.parked.values():
                if p.uniqueid == uniqueid:
                    return replace(p)
        return None

    def ringing_at(self, ext: str) -> list[Channel]:
        """Channels dialling ``ext`` now (a call ringing there), oldest first."""
        with self._lock:
            return sorted((replace(c) for c in self.channels.values() if ext in c.ringing), key=lambda c: c.since)

    def callers(self) -> list[Channel]:
        """Outside callers now on the PBX, oldest first."""
        with self._lock:
            return sorted((replace(c) for c in self.channels.values() if c.inbound), key=lambda c: c.since)

    # -- loading after a (re)connect -------------------------------------------------------
    def load(self, *, channels: list[dict], hints: list[dict], queues: list[dict], parked: list[dict],
             night: str | None, now: float | None = None) -> None:
        """Replace everything with the lists Asterisk answered: CoreShowChannel,
        ExtensionStatus (ExtensionStateList), QueueParams/QueueMember/QueueEntry
        (QueueStatus), ParkedCall (ParkedCalls), and the night device's state."""
        now = time.time() if now is None else now
        with self._lock:
            self.clear()
            for f in channels:
                since = now - _duration(f.get("Duration"))
                ch = Channel(name=f.get("Channel", ""), uniqueid=f.get("Uniqueid", ""),
                             linkedid=f.get("Linkedid", "") or f.get("Uniqueid", ""),
                             state=f.get("ChannelStateDesc", ""), context=f.get("Context", ""),
                             exten=f.get("Exten", ""), number=pbx_text(f.get("CallerIDNum")),
                             caller_name=pbx_text(f.get("CallerIDName")), since=since,
                             answered=since if f.get("ChannelStateDesc") == "Up" else None,
                             bridge=f.get("BridgeId") or None)
                ch.inbound = self._was_inbound(ch.name, ch.context)
                self._add(ch)
            for f in hints:
                self._hint(f)
            for f in queues:
                self._queue_list_item(f, now)
            for f in parked:
                self._parked(f, now)
            self._set_night(night)
            self.version += 1

    # -- events --------------------------------------------------------------------------------
    def apply(self, name: str, f: dict) -> set[str]:
        with self._lock:
            handler = getattr(self, "_on_" + name, None)
            if handler is None:
                return set()
            changed = handler(f) or set()
            if changed:
                self.version += 1
            return changed

    def is_inbound(self, name: str, context: str) -> bool:
        """A channel created in ``context`` is an outside caller (for a Local
        channel only the ``;2`` half, which runs the dialplan)."""
        return context in self.inbound_contexts and not _LOCAL_ONE.match(name)

    def _was_inbound(self, name: str, context: str) -> bool:
        """After a (re)connect only a channel's current context is known: a
        caller still in an inbound context, or a Local channel named after one
        (``Local/100@from-pstn-…;2``). A trunk's caller that has moved on
        through the dialplan while Backdesk was away is not recognised."""
        if self.is_inbound(name, context):
            return True
        match = re.match(r"^Local/[^@]*@(.+)-[0-9a-f]+;2$", name)
        return bool(match) and match.group(1) in self.inbound_contexts

    _is_inbound = is_inbound

    def _add(self, ch: Channel) -> None:
        self.channels[ch.uniqueid] = ch
        self._by_name[ch.name] = ch.uniqueid
        if ch.bridge:
            self.bridges.setdefault(ch.bridge, set()).add(ch.uniqueid)

    def _get(self, f: dict, prefix: str = "") -> Channel | None:
        uid = f.get(prefix + "Uniqueid")
        ch = self.channels.get(uid or "")
        if ch is None and f.get(prefix + "Channel"):
            ch = self.channels.get(self._by_name.get(f[prefix + "Channel"], ""))
        return ch

    def _on_Newchannel(self, f: dict) -> set[str]:
        uid = f.get("Uniqueid")
        if not uid or uid in self.channels:
            return set()
        ch = Channel(name=f.get("Channel", ""), uniqueid=uid, linkedid=f.get("Linkedid") or uid,
                     state=f.get("ChannelStateDesc", ""), context=f.get("Context", ""), exten=f.get("Exten", ""),
                     number=pbx_text(f.get("CallerIDNum")), caller_name=pbx_text(f.get("CallerIDName")),
                     since=time.time())
        ch.inbound = self._is_inbound(ch.name, ch.context)
        self._add(ch)
        return {"channels"}

    def _on_Newstate(self, f: dict) -> set[str]:
        ch = self._get(f)
        if ch is None:
            return set()
        ch.state = f.get("ChannelStateDesc", ch.state)
        if ch.state == "Up" and ch.answered is None:
            ch.answered = time.time()
        self._caller_id(ch, f)
        return {"channels"}

    def _caller_id(self, ch: Channel, f: dict) -> None:
        number = pbx_text(f.get("CallerIDNum"))
        if number:
            ch.number = number
        name = pbx_text(f.get("CallerIDName"))
        if name:
            ch.caller_name = name

    def _on_NewCallerid(self, f: dict) -> set[str]:
        ch = self._get(f)
        if ch is None:
            return set()
        before = (ch.number, ch.caller_name)
        self._caller_id(ch, f)
        return {"channels"} if (ch.number, ch.caller_name) != before else set()

    def _on_Rename(self, f: dict) -> set[str]:
        ch = self._get(f)
        if ch is None or not f.get("Newname"):
            return set()
        self._by_name.pop(ch.name, None)
        ch.name = f["Newname"]
        self._by_name[ch.name] = ch.uniqueid
        return {"channels"}

    def _on_Hangup(self, f: dict) -> set[str]:
        ch = self._get(f)
        if ch is None:
            return set()
        self.channels.pop(ch.uniqueid, None)
        if self._by_name.get(ch.name) == ch.uniqueid:
            self._by_name.pop(ch.name, None)
        if ch.bridge and ch.bridge in self.bridges:
            self.bridges[ch.bridge].discard(ch.uniqueid)
        for q in self.queues.values():
            q.entries = [e for e in q.entries if e.uniqueid != ch.uniqueid]
        return {"channels"}

    def _on_BridgeCreate(self, f: dict) -> set[str]:
        if f.get("BridgeUniqueid"):
            self.bridges.setdefault(f["BridgeUniqueid"], set())
        return set()

    def _on_BridgeDestroy(self, f: dict) -> set[str]:
        members = self.bridges.pop(f.get("BridgeUniqueid", ""), set())
        for uid in members:
            if uid in self.channels and self.channels[uid].bridge == f.get("BridgeUniqueid"):
                self.channels[uid].bridge = None
        return {"channels"} if members else set()

    def _on_BridgeEnter(self, f: dict) -> set[str]:
        ch = self._get(f)
        bridge = f.get("BridgeUniqueid")
        if ch is None or not bridge:
            return set()
        if ch.bridge and ch.bridge != bridge and ch.bridge in self.bridges:
            self.bridges[ch.bridge].discard(ch.uniqueid)
        ch.bridge = bridge
        self.bridges.setdefault(bridge, set()).add(ch.uniqueid)
        return {"channels"}

    def _on_BridgeLeave(self, f: dict) -> set[str]:
        ch = self._get(f)
        bridge = f.get("BridgeUniqueid")
        if ch is None or not bridge:
            return set()
        self.bridges.get(bridge, set()).discard(ch.uniqueid)
        if ch.bridge == bridge:
            ch.bridge = None
        return {"channels"}

    def _on_Hold(self, f: dict) -> set[str]:
        ch = self._get(f)
        if ch is None:
            return set()
        ch.held = True
        return {"channels"}

    def _on_Unhold(self, f: dict) -> set[str]:
        ch = self._get(f)
        if ch is None:
            return set()
        ch.held = False
        return {"channels"}

    def _on_DialBegin(self, f: dict) -> set[str]:
        ch = self._get(f)
        ext = extension_of_channel(f.get("DestChannel"))
        if ch is None or not ext:
            return set()
        ch.ringing = tuple(dict.fromkeys(ch.ringing + (ext,)))
        return {"channels"}

    def _on_DialEnd(self, f: dict) -> set[str]:
        ch = self._get(f)
        ext = extension_of_channel(f.get("DestChannel"))
        if ch is None or ext not in ch.ringing:
            return set()
        ch.ringing = tuple(e for e in ch.ringing if e != ext)
        return {"channels"}

    # -- extensions --------------------------------------------------------------------
    def _hint(self, f: dict) -> None:
        ext, context = f.get("Exten", ""), f.get("Context", "")
        if not ext or (self.context and context and context != self.context):
            return
        state = EXTENSION_STATUS.get(f.get("Status", ""))
        if state:
            self.extensions[ext] = state
        hint = f.get("Hint", "")
        if hint and "&" not in hint:
            self.hints[hint] = ext
        if hint == self.night_device:
            self.hints.pop(hint, None)

    def _on_ExtensionStatus(self, f: dict) -> set[str]:
        before = self.extensions.get(f.get("Exten", ""))
        self._hint(f)
        return {"extensions"} if self.extensions.get(f.get("Exten", "")) != before else set()

    def _on_DeviceStateChange(self, f: dict) -> set[str]:
        device, raw = f.get("Device", ""), f.get("State", "").upper()
        if self.night_device and device == self.night_device:
            return self._set_night(raw)
        state = DEVICE_STATE.get(raw)
        ext = self.hints.get(device)
        if ext is None and device.upper().startswith(("PJSIP/", "SIP/", "IAX2/")):
            ext = device.rpartition("/")[2]
        if not ext or not state or self.extensions.get(ext) == state:
            return set()
        self.extensions[ext] = state
        return {"extensions"}

    def _set_night(self, raw: str | None) -> set[str]:
        night = None if raw in (None, "", "UNKNOWN") else raw.upper() in ("INUSE", "BUSY", "RINGING", "ONHOLD")
        if night == self.night:
            return set()
        self.night = night
        return {"night"}

    # -- queues ----------------------------------------------------------------------
    def _queue(self, name: str) -> Queue:
        q = self.queues.get(name)
        if q is None:
            q = self.queues[name] = Queue(name)
        return q

    def _member(self, q: Queue, f: dict) -> QueueMember:
        interface = f.get("Interface") or f.get("Location") or ""
        m = q.members.get(interface)
        if m is None:
            m = q.members[interface] = QueueMember(
                interface, f.get("MemberName") or f.get("Name") or interface,
                extension_of_interface(f.get("StateInterface")) or extension_of_interface(interface))
        if "Paused" in f:
            m.paused = f["Paused"] == "1"
        if "PausedReason" in f or "Reason" in f:
            m.reason = f.get("PausedReason", f.get("Reason", "")) if m.paused else ""
        if "Status" in f:
            m.status = f["Status"]
        if "InCall" in f:
            m.in_call = f["InCall"] == "1"
        return m

    def _queue_list_item(self, f: dict, now: float) -> None:
        event, name = f.get("Event"), f.get("Queue", "")
        if not name:
            return
        q = self._queue(name)
        if event == "QueueParams":
            q.completed = int(f.get("Completed") or 0)
            q.abandoned = int(f.get("Abandoned") or 0)
            q.strategy = f.get("Strategy", "")
        elif event == "QueueMember":
            self._member(q, f)
        elif event == "QueueEntry":
            entry = QueueEntry(f.get("Uniqueid", ""), f.get("Channel", ""), pbx_text(f.get("CallerIDNum")),
                               pbx_text(f.get("CallerIDName")), now - _duration(f.get("Wait")))
            position = int(f.get("Position") or len(q.entries) + 1)
            q.entries.insert(min(position - 1, len(q.entries)), entry)

    def _on_QueueCallerJoin(self, f: dict) -> set[str]:
        q = self._queue(f.get("Queue", ""))
        uid = f.get("Uniqueid", "")
        if any(e.uniqueid == uid for e in q.entries):
            return set()
        entry = QueueEntry(uid, f.get("Channel", ""), pbx_text(f.get("CallerIDNum")),
                           pbx_text(f.get("CallerIDName")), time.time())
        position = int(f.get("Position") or len(q.entries) + 1)
        q.entries.insert(min(position - 1, len(q.entries)), entry)
        return {"queues"}

    def _on_QueueCallerLeave(self, f: dict) -> set[str]:
        q = self.queues.get(f.get("Queue", ""))
        if q is None:
            return set()
        before = len(q.entries)
        q.entries = [e for e in q.entries if e.uniqueid != f.get("Uniqueid")]
        return {"queues"} if len(q.entries) != before else set()

    def _on_QueueCallerAbandon(self, f: dict) -> set[str]:
        q = self.queues.get(f.get("Queue", ""))
        if q is None:
            return set()
        q.abandoned += 1
        self._on_QueueCallerLeave(f)
        return {"queues"}

    def _on_AgentComplete(self, f: dict) -> set[str]:
        q = self.queues.get(f.get("Queue", ""))
        if q is None:
            return set()
        q.completed += 1
        return {"queues"}

    def _on_QueueMemberStatus(self, f: dict) -> set[str]:
        if not f.get("Queue"):
            return set()
        self._member(self._queue(f["Queue"]), f)
        return {"queues"}

    _on_QueueMemberAdded = _on_QueueMemberStatus
    _on_QueueMemberPause = _on_QueueMemberStatus
    _on_QueueMemberPaused = _on_QueueMemberStatus

    def _on_QueueMemberRemoved(self, f: dict) -> set[str]:
        q = self.queues.get(f.get("Queue", ""))
        if q is None or q.members.pop(f.get("Interface", ""), None) is None:
            return set()
        return {"queues"}

    # -- parking -------------------------------------------------------------------
    def _parked(self, f: dict, now: float) -> set[str]:
        slot = f.get("ParkingSpace", "")
        if not slot:
            return set()
        lot = f.get("Parkinglot") or f.get("ParkingLot") or "default"
        self.parked[f"{lot}:{slot}"] = Parked(
            slot, lot, f.get("ParkeeChannel", ""), f.get("ParkeeUniqueid", ""),
            pbx_text(f.get("ParkeeCallerIDNum")), now - _duration(f.get("ParkingDuration")))
        return {"parked"}

    def _on_ParkedCall(self, f: dict) -> set[str]:
        return self._parked(f, time.time())

    def _unparked(self, f: dict) -> set[str]:
        lot = f.get("Parkinglot") or f.get("ParkingLot") or "default"
        if self.parked.pop(f"{lot}:{f.get('ParkingSpace', '')}", None) is None:
            return set()
        return {"parked"}

    _on_UnParkedCall = _unparked
    _on_ParkedCallGiveUp = _unparked
    _on_ParkedCallTimeOut = _unparked
