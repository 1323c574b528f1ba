"""The Asterisk backend: the Asterisk Manager Interface (AMI) over asyncio TCP.

The AMI wire format, no extra dependency:

* the server greets with one line, ``Asterisk Call Manager/<version>``;
* a packet is ``Key: Value`` lines ending in CRLF, closed by a blank line;
* an action carries ``ActionID``, which its ``Response`` echoes; anything
  with ``Event:`` is unsolicited and can arrive between responses; a list
  action (``CoreShowChannels``, ``QueueStatus``, …) answers ``EventList:
  start`` and then events carrying its ActionID up to ``EventList: Complete``;
* login: ``Action: Challenge`` / ``AuthType: MD5`` → ``Challenge: <n>``,
  then ``Action: Login`` with ``AuthType: MD5`` and ``Key: md5(n + secret)``,
  asking only for the event classes used (``system,call,agent,user``: no
  ``VarSet``/``Newexten`` flood).

What Asterisk does, as checked against a real one (tests/plugins/telephony/
test_asterisk_*.py):

* ``BlindTransfer`` and ``Atxfer`` transfer the *other* party of the bridge
  of the channel named, so they name the answering side — the caller's
  bridge peer (``BRIDGEPEER``) — never the caller. An attended transfer
  completes when that channel hangs up (``AttendedTransfer`` event),
  ``CancelAtxfer`` returns it to the caller, and when the third party does
  not answer Asterisk gives it back by itself (``Unhold``).
* ``Park`` answers without the slot; the ``ParkedCall`` event names it.
* hold: AMI has no action for it, so a call is "held" by parking it in the
  lot ``ami_hold_lot`` (its own slots), and taken back like a parked call.

The connection lives in a thread of its own with its own event loop; a
dropped connection (Asterisk restarted) is retried with exponential backoff
(``state()`` says "reconnecting" meanwhile), and after every login the
backend asks Asterisk for what is going on (channels, hints, queues, parked
calls, the night-service device) and rebuilds :class:`LiveState` from it.
Events update the live state in the connection thread and are handed to the
service from a second thread (in order, in batches), so a store write never
holds up the reader that an action waits on; listeners (the switchboard
panel) are told once per batch what changed.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import queue
import threading
import time
import uuid
from contextlib import nullcontext
from typing import Any, Callable

from plugins.telephony.live import LiveState, extension_of_channel
from plugins.telephony.live import DEVICE_STATE, EXTENSION_STATUS  # noqa: F401  (re-exported)
from plugins.telephony.models import _
from plugins.telephony.pbx import PBXBackend, PBXError

log = logging.getLogger("backdesk.telephony.ami")

CRLF = "\r\n"
EVENT_CLASSES = "system,call,agent,user"
#: what the service is told besides the PBX's own events
CONNECTION = "BackdeskConnection"
SYNCED = "BackdeskSynced"
#: at most this many events share one store transaction (the lock is held meanwhile)
BATCH = 200


def encode(fields: dict) -> bytes:
    """One AMI packet: ``Key: Value`` lines with CRLF and a blank line."""
    lines = []
    for key, value in fields.items():
        text = str(value)
        if "\r" in text or "\n" in text:
            raise PBXError(_("AMI field {key} must be one line").format(key=key))
        lines.append(f"{key}: {text}")
    return (CRLF.join(lines) + CRLF + CRLF).encode("utf-8")


async def read_packet(reader: asyncio.StreamReader) -> dict:
    """Read one packet; raises ConnectionError at end of stream."""
    fields: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError(_("the PBX closed the connection"))
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        if not text:
            if fields:
                return fields
            continue
        key, sep, value = text.partition(":")
        if sep:
            fields[key.strip()] = value.strip()


def challenge_key(challenge: str, secret: str) -> str:
    return hashlib.md5((challenge + secret).encode("utf-8")).hexdigest()


class AsteriskBackend(PBXBackend):
    """Drives Asterisk through AMI; settings: ami_host, ami_port, ami_username,
    ami_secret, ami_context, ami_inbound_contexts, ami_hold_lot,
    ami_night_device, ami_timeout, ami_backoff_max."""

    name = "asterisk"
    live = True

    def __init__(self, ctx=None, settings: dict | None = None) -> None:
        super().__init__(ctx, settings)
        s = self.settings
        self.host = s.get("ami_host") or "127.0.0.1"
        self.port = int(s.get("ami_port") or 5038)
        self.username = s.get("ami_username") or ""
        self.secret = s.get("ami_secret") or ""
        self.context = s.get("ami_context") or "from-internal"
        inbound = s.get("ami_inbound_contexts") or ["from-pstn"]
        self.inbound_contexts = [inbound] if isinstance(inbound, str) else list(inbound)
        self.hold_lot = s.get("ami_hold_lot") or ""
        self.night_device = s.get("ami_night_device") or "Custom:night"
        self.timeout = float(s.get("ami_timeout") or 5.0)
        self.backoff_min = float(s.get("ami_backoff_min") or 0.5)
        self.backoff_max = float(s.get("ami_backoff_max") or 30.0)
        self.state_now = LiveState(context=self.context, inbound_contexts=self.inbound_contexts,
                                   night_device=self.night_device)
        self._code = "disconnected"
        self._detail = ""
        self._attempt = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._dispatcher: threading.Thread | None = None
        self._events: "queue.Queue[tuple[str, dict, set] | None]" = queue.Queue()
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[str, asyncio.Future] = {}
        self._lists: dict[str, list[dict]] = {}
        self._waiters: list[tuple[Callable[[str, dict], bool], asyncio.Future]] = []
        self._ids = itertools.count(1)
        self._stopping = False
        self._connected = threading.Event()
        self._synced = threading.Event()
        self._syncing: list[tuple[str, dict]] | None = None
        self._booted: asyncio.Event | None = None
        self._on_event: Callable[[str, dict], None] | None = None
        self._batch: Callable[[list], Any] | None = None
        self._listeners: list[Callable[[set], None]] = []
        self.version = ""
        self.connected_since: float | None = None
        self._seq = 0
        #: events handed to the service so far (``event_seq() - handled``: the backlog)
        self.handled = 0

    # -- life cycle ------------------------------------------------------------------------
    def start(self, on_event: Callable[[str, dict], None] | None = None, *,
              batch: Callable[[list], Any] | None = None) -> None:
        """Connect (again after every drop) and hand events to ``on_event``;
        ``batch(events)`` may return a context manager that wraps the
        handling of a burst (the service: one store transaction)."""
        if on_event is not None:
            self._on_event = on_event
        if batch is not None:
            self._batch = batch
        if self._thread is not None:
            return
        self._stopping = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ami-connection", daemon=True)
        self._thread.start()
        self._dispatcher = threading.Thread(target=self._dispatch, name="ami-events", daemon=True)
        self._dispatcher.start()
        self._code = "connecting"
        asyncio.run_coroutine_threadsafe(self._run(), self._loop)

    def stop(self) -> None:
        self._stopping = True
        loop = self._loop
        if loop is not None and self._thread is not None:
            async def close() -> None:
                if self._writer is not None:
                    try:
                        self._writer.write(encode({"Action": "Logoff", "ActionID": "bye"}))
                        await asyncio.wait_for(self._writer.drain(), 1)
                    except Exception:
                        pass
                    self._writer.close()
                for task in asyncio.all_tasks():
                    if task is not asyncio.current_task():
                        task.cancel()

            try:
                asyncio.run_coroutine_threadsafe(close(), loop).result(2)
            except Exception:
                pass
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(2)
            loop.close()
        self._events.put(None)
        if self._dispatcher is not None:
            self._dispatcher.join(2)
        self._thread = self._dispatcher = self._loop = None
        self._code = "disconnected"
        self._connected.clear()
        self._synced.clear()

    def state(self) -> tuple[str, str]:
        code = self._code
        where = f"{self.host}:{self.port}"
        if code == "connected":
            return code, _("PBX: Asterisk connected ({where})").format(where=where)
        if code == "reconnecting":
            text = _("PBX disconnected — reconnecting (attempt {n})").format(n=self._attempt)
            return code, text + (f": {self._detail}" if self._detail else "")
        if code == "connecting":
            return code, _("PBX: connecting to {where}").format(where=where)
        return code, _("PBX disconnected")

    def live_state(self) -> LiveState:
        return self.state_now

    def event_seq(self) -> int:
        """How many events have arrived (the service stamps its actions with it)."""
        return self._seq

    def add_listener(self, callback: Callable[[set], None]) -> Callable[[], None]:
        self._listeners.append(callback)

        def remove() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return remove

    def wait_synced(self, timeout: float | None = None) -> bool:
        """Block until the live state has been loaded after the last login."""
        return self._synced.wait(self.timeout if timeout is None else timeout)

    # -- the connection ------------------------------------------------------------------------
    async def _run(self) -> None:
        delay = self.backoff_min
        while not self._stopping:
            try:
                await self._session()
                delay = self.backoff_min  # it worked for a while: start over small
            except asyncio.CancelledError:
                return
            except PBXError as exc:  # refused login: retrying soon will not help much
                self._detail = str(exc)
                log.warning("AMI: %s", exc)
            except Exception as exc:
                self._detail = self._why(exc)
            self._lost()
            if self._stopping:
                return
            self._attempt += 1
            self._code = "reconnecting"
            self._emit(CONNECTION, {"State": "reconnecting"}, {"connection"})
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max)

    def _lost(self) -> None:
        was = self._connected.is_set() or self._synced.is_set()
        self._connected.clear()
        self._synced.clear()
        self._writer = None
        self._syncing = None
        self.connected_since = None
        for future in list(self._pending.values()):
            if not future.done():
                future.set_exception(PBXError(_("the PBX connection dropped")))
        self._pending.clear()
        self._lists.clear()
        for _pred, future in self._waiters:
            if not future.done():
                future.set_exception(PBXError(_("the PBX connection dropped")))
        self._waiters.clear()
        if was:
            self.state_now.clear()

    def _why(self, exc: BaseException) -> str:
        """Why the connection failed, for the status line: the common causes
        in words, anything else as the exception says it."""
        if isinstance(exc, ConnectionRefusedError):
            return _("connection refused")
        if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
            from core.i18n import format_number

            return _("no answer within {s} s").format(s=format_number(self.timeout))
        if type(exc) is ConnectionError and str(exc):
            return str(exc)  # ours, already in words
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    async def _session(self) -> None:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)
        try:
            greeting = await asyncio.wait_for(reader.readline(), self.timeout)
            if not greeting:
                raise ConnectionError(_("the PBX closed the connection"))
            text = greeting.decode("utf-8", "replace").strip()
            if not text.startswith("Asterisk Call Manager"):
                raise ConnectionError(_("not an AMI server (greeting {text!r})").format(text=text[:40]))
            self.version = text.rpartition("/")[2]
            self._booted = asyncio.Event()
            writer.write(encode({"Action": "Challenge", "AuthType": "MD5", "ActionID": "login-1"}))
            reply = await asyncio.wait_for(self._response(reader, "login-1"), self.timeout)
            challenge = reply.get("Challenge")
            if reply.get("Response") != "Success" or not challenge:
                raise PBXError(_("AMI challenge refused: {message}").format(
                    message=reply.get("Message") or _("no challenge")))
            writer.write(encode({"Action": "Login", "AuthType": "MD5", "Username": self.username,
                                 "Key": challenge_key(challenge, self.secret), "Events": EVENT_CLASSES,
                                 "ActionID": "login-2"}))
            reply = await asyncio.wait_for(self._response(reader, "login-2"), self.timeout)
            if reply.get("Response") != "Success":
                raise PBXError(_("AMI login refused: {message}").format(
                    message=reply.get("Message") or _("authentication failed")))
            self._writer = writer
            self._code = "connected"
            self._detail = ""
            self._attempt = 0
            self.connected_since = time.time()
            self._syncing = []
            self._connected.set()
            sync = asyncio.get_running_loop().create_task(self._resync())
            try:
                while True:
                    packet = await read_packet(reader)
                    self._packet(packet)
            finally:
                sync.cancel()
        finally:
            self._connected.clear()
            if self._code == "connected":
                self._code = "reconnecting"
            writer.close()

    async def _response(self, reader, action_id: str) -> dict:
        """During login: read until the response to ``action_id`` (events go on)."""
        while True:
            packet = await read_packet(reader)
            if packet.get("ActionID") == action_id and "Response" in packet:
                return packet
            self._packet(packet)

    async def _resync(self) -> None:
        """After a login: load what is going on now into the live state."""
        try:
            if self._booted is not None:
                try:
                    await asyncio.wait_for(self._booted.wait(), 10)
                except asyncio.TimeoutError:
                    log.warning("AMI: no FullyBooted within 10 s; loading the state anyway")
            channels, hints, queues, parked = await asyncio.gather(
                self._send_list({"Action": "CoreShowChannels"}),
                self._send_list({"Action": "ExtensionStateList"}),
                self._send_list({"Action": "QueueStatus"}, missing_ok=True),
                self._send_list({"Action": "ParkedCalls"}, missing_ok=True))
            night = await self._send({"Action": "Getvar", "Variable": f"DEVICE_STATE({self.night_device})"})
            buffered = self._syncing or []
            self.state_now.load(channels=channels, hints=hints, queues=queues, parked=parked,
                                night=night.get("Value"))
            self._syncing = None
            for name, fields in buffered:  # what happened while the lists were coming
                self.state_now.apply(name, fields)
            self._synced.set()
            self._emit(CONNECTION, {"State": "connected"}, {"connection"})
            self._emit(SYNCED, {"Channels": str(len(channels))}, {"all"})
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("AMI: loading the PBX's state failed")
            if self._writer is not None:
                self._writer.close()  # start over: reconnect and load again

    def _packet(self, packet: dict) -> None:
        action_id = packet.get("ActionID", "")
        if "Response" in packet:
            if action_id in self._lists and packet.get("Response") == "Success" and \
                    packet.get("EventList", "").lower() == "start":
                return  # the events follow
            future = self._pending.pop(action_id, None)
            if future is not None and not future.done():
                future.set_result(packet)
            return
        name = packet.get("Event")
        if not name:
            return
        if action_id in self._lists:
            if packet.get("EventList", "").lower() == "complete":
                items = self._lists.pop(action_id)
                future = self._pending.pop(action_id, None)
                if future is not None and not future.done():
                    future.set_result({"Response": "Success", "_items": items})
            else:
                self._lists[action_id].append(packet)
            return
        if name == "FullyBooted" and self._booted is not None:
            self._booted.set()
        packet["_received"] = time.time()  # for the service: when it happened, not when it was handled
        self._seq += 1
        packet["_seq"] = self._seq
        if self._syncing is not None:
            self._syncing.append((name, packet))
        aspects = self.state_now.apply(name, packet)
        for predicate, future in list(self._waiters):
            if not future.done():
                try:
                    if predicate(name, packet):
                        future.set_result(packet)
                except Exception:  # a broken predicate must not stop the reader
                    log.exception("AMI event waiter failed")
        self._events.put((name, packet, aspects))

    def _emit(self, name: str, fields: dict, aspects: set) -> None:
        self._events.put((name, fields, aspects))

    def _dispatch(self) -> None:
        while True:
            item = self._events.get()
            if item is None:
                return
            batch = [item]
            while True:  # a burst becomes one notification
                try:
                    more = self._events.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._events.put(None)
                    break
                batch.append(more)
            changed: set = set()
            for start in range(0, len(batch), BATCH):
                chunk = batch[start:start + BATCH]
                try:
                    with (self._batch(chunk) if self._batch is not None and self._on_event is not None
                          else nullcontext()):
                        changed |= self._handle(chunk)
                except Exception:  # the store refused the burst's transaction
                    log.exception("recording %d AMI events failed", len(chunk))
            for listener in list(self._listeners):
                try:
                    listener(changed)
                except Exception:
                    log.exception("an AMI listener failed")

    def _handle(self, chunk: list) -> set:
        changed: set = set()
        for name, fields, aspects in chunk:
            changed |= aspects
            if "_seq" in fields:
                self.handled += 1
            if self._on_event is None:
                continue
            try:
                self._on_event(name, fields)
            except Exception:  # a bad event must not stop the next ones
                log.exception("handling AMI event %s failed", name)
            if name in (CONNECTION, SYNCED) or aspects:
                changed.add("calls")
        return changed

    # -- actions ----------------------------------------------------------------------------------
    async def _send(self, fields: dict) -> dict:
        writer = self._writer
        if writer is None:
            raise PBXError(_("the PBX is not connected"))
        action_id = f"bd-{next(self._ids)}"
        future = asyncio.get_running_loop().create_future()
        self._pending[action_id] = future
        try:
            writer.write(encode({**fields, "ActionID": action_id}))
            await writer.drain()
            return await asyncio.wait_for(future, self.timeout)
        finally:
            self._pending.pop(action_id, None)

    async def _send_list(self, fields: dict, *, missing_ok: bool = False) -> list[dict]:
        writer = self._writer
        if writer is None:
            raise PBXError(_("the PBX is not connected"))
        action_id = f"bd-{next(self._ids)}"
        future = asyncio.get_running_loop().create_future()
        self._pending[action_id] = future
        self._lists[action_id] = []
        try:
            writer.write(encode({**fields, "ActionID": action_id}))
            await writer.drain()
            reply = await asyncio.wait_for(future, self.timeout)
        finally:
            self._pending.pop(action_id, None)
            self._lists.pop(action_id, None)
        if reply.get("Response") != "Success":
            if missing_ok:  # e.g. app_queue or res_parking not loaded: nothing to show
                return []
            raise PBXError(_("the PBX refused {action}: {message}").format(
                action=fields.get("Action"), message=reply.get("Message") or _("error")))
        return reply.get("_items", [])

    async def _send_expect(self, fields: dict, predicate: Callable[[str, dict], bool]) -> tuple[dict, dict]:
        """Send an action and wait for its response and then for an event
        (registered before sending: the event may come first)."""
        future = asyncio.get_running_loop().create_future()
        waiter = (predicate, future)
        self._waiters.append(waiter)
        try:
            reply = await self._send(fields)
            if reply.get("Response") != "Success":
                return reply, {}
            event = await asyncio.wait_for(future, self.timeout)
            return reply, event
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _run_sync(self, coro, name: str):
        if self._thread is None:
            self.start()
        if not self._connected.wait(self.timeout):
            coro.close()
            raise PBXError(self.state()[1])
        loop = self._loop
        assert loop is not None
        try:
            return asyncio.run_coroutine_threadsafe(coro, loop).result(self.timeout * 2 + 1)
        except PBXError:
            raise
        except Exception as exc:
            raise PBXError(_("the PBX did not answer {action}: {error}").format(
                action=name, error=type(exc).__name__)) from None

    def _check(self, name: str, reply: dict) -> dict:
        if reply.get("Response") != "Success":
            raise PBXError(_("the PBX refused {action}: {message}").format(
                action=name, message=reply.get("Message") or _("error")))
        return reply

    def action(self, name: str, **fields: str) -> dict:
        """Send an action and wait for its response; PBXError unless Success."""
        return self._check(name, self._run_sync(self._send({"Action": name, **fields}), name))

    def action_list(self, name: str, **fields: str) -> list[dict]:
        """A list action's events (``CoreShowChannels`` → ``CoreShowChannel`` …)."""
        return self._run_sync(self._send_list({"Action": name, **fields}), name)

    def action_expect(self, name: str, predicate: Callable[[str, dict], bool], **fields: str) -> dict:
        """Send an action; return the first event after it that ``predicate`` accepts."""
        reply, event = self._run_sync(self._send_expect({"Action": name, **fields}, predicate), name)
        self._check(name, reply)
        return event

    # -- the channels of a call -------------------------------------------------------------
    def _caller(self, call: dict) -> str | None:
        """The caller's channel as Asterisk names it now (names can change)."""
        pbx = call.get("pbx") or {}
        ch = self.state_now.channel(pbx.get("uniqueid"))
        return ch.name if ch is not None else pbx.get("channel")

    def _answering_side(self, call: dict, *, required: bool = True) -> str | None:
        """The channel in a bridge with the caller: whoever answered (the
        operator's phone, a queue agent, the person it was put through to)."""
        caller = self._caller(call)
        if not caller:
            return None
        peer = self.state_now.peer(caller)
        name = peer.name if peer is not None else None
        if name is None:
            name = self.action("Getvar", Channel=caller, Variable="BRIDGEPEER").get("Value") or None
        if name is None and required:
            raise PBXError(_("call {id} is not connected to a phone on the PBX").format(id=call.get("id")))
        return name

    def _require_exten(self, exten: str) -> None:
        """Asterisk transfers to an extension its dialplan lacks and then
        drops the caller ("Transfer succeeded"): ask the dialplan first."""
        try:
            self.action_list("ShowDialPlan", Extension=exten, Context=self.context)
        except PBXError:
            raise PBXError(_("the PBX's dialplan has no extension {exten} (context {context})").format(
                exten=exten, context=self.context)) from None

    # -- what the switchboard asks for ----------------------------------------------------------
    def transfer_blind(self, call: dict, extension: str) -> None:
        caller = self._caller(call)
        if not caller:
            return
        self._require_exten(extension)
        side = self._answering_side(call, required=False)
        if side:
            self.action("BlindTransfer", Channel=side, Exten=extension, Context=self.context)
        else:  # still ringing or waiting in a queue: send the caller on directly
            self.action("Redirect", Channel=caller, Exten=extension, Context=self.context, Priority="1")

    def transfer_attended(self, call: dict, extension: str) -> dict | None:
        if not self._caller(call):
            return None
        self._require_exten(extension)
        side = self._answering_side(call)
        self.action("Atxfer", Channel=side, Exten=extension, Context=self.context)
        ch = self.state_now.channel(side)
        return {"operator_channel": side, "operator_uniqueid": ch.uniqueid if ch else None}

    def _transferer(self, call: dict) -> str | None:
        pbx = call.get("pbx") or {}
        ch = self.state_now.channel(pbx.get("operator_uniqueid"))
        return ch.name if ch is not None else pbx.get("operator_channel")

    def complete_transfer(self, call: dict) -> None:
        side = self._transferer(call)
        if not side:
            return
        uid = (call.get("pbx") or {}).get("uniqueid")
        event = self.action_expect(
            "Hangup", lambda name, f: name == "AttendedTransfer" and (
                f.get("OrigTransfererChannel") == side or f.get("TransfereeUniqueid") == uid),
            Channel=side)
        if event.get("Result") != "Success":
            raise PBXError(_("the PBX could not complete the transfer: {result}").format(
                result=event.get("Result") or "?"))

    def cancel_transfer(self, call: dict) -> None:
        side = self._transferer(call)
        if side and self.state_now.channel(side) is not None:
            self.action("CancelAtxfer", Channel=side)

    def to_voicemail(self, call: dict, extension: str) -> None:
        self.transfer_blind(call, f"*{extension}")

    def _park(self, call: dict, lot: str = "") -> str | None:
        caller = self._caller(call)
        if not caller:
            return None
        uid = (call.get("pbx") or {}).get("uniqueid")
        fields = {"Channel": caller}
        side = self._answering_side(call, required=False)
        if side:
            fields["TimeoutChannel"] = side
        if lot:
            fields["Parkinglot"] = lot
        event = self.action_expect(
            "Park", lambda name, f: name == "ParkedCall" and (
                f.get("ParkeeUniqueid") == uid or f.get("ParkeeChannel") == caller), **fields)
        return event.get("ParkingSpace") or None

    def park(self, call: dict) -> str | None:
        return self._park(call)

    def hold(self, call: dict) -> str | None:
        return self._park(call, self.hold_lot)

    def retrieve(self, call: dict, extension: str) -> None:
        caller = self._caller(call)
        if not caller:
            return
        if not extension:
            raise PBXError(_("your operator account has no extension to take the call to"))
        self._require_exten(extension)
        self.action("Redirect", Channel=caller, Exten=extension, Context=self.context, Priority="1")

    def answer(self, call: dict, extension: str) -> None:
        """Take a call that rings elsewhere or waits in a queue: it rings at ``extension``."""
        self.retrieve(call, extension)

    def hang_up(self, call: dict) -> None:
        caller = self._caller(call)
        if caller and self.state_now.channel(caller) is not None:
            self.action("Hangup", Channel=caller)

    def pickup(self, extension: str, to_extension: str | None) -> dict | None:
        if not to_extension:
            raise PBXError(_("your operator account has no extension to pick the call up to"))
        # the operator's phone rings; when it answers it dials **<ext>: Asterisk's directed pickup
        self.action("Originate", Channel=f"Local/{to_extension}@{self.context}", Exten=f"**{extension}",
                    Context=self.context, Priority="1", Async="true", CallerID=f"<{extension}>")
        return None

    def dial(self, from_extension: str, number: str, caller_id: str = "") -> dict:
        """Click-to-dial: ring ``from_extension``; when it answers, call ``number``."""
        if not from_extension:
            raise PBXError(_("your operator account has no extension to call from"))
        self._require_exten(number)
        channel_id = f"bd-dial-{uuid.uuid4().hex[:16]}"
        fields = {"Channel": f"Local/{from_extension}@{self.context}", "Exten": number,
                  "Context": self.context, "Priority": "1", "Async": "true", "ChannelId": channel_id,
                  "OtherChannelId": channel_id + "-2"}
        if caller_id:
            fields["CallerID"] = caller_id
        self.action("Originate", **fields)
        return {"uniqueid": channel_id, "channel": None, "from_extension": from_extension, "number": number}

    def set_dnd(self, extension: str, on: bool) -> None:
        if on:
            self.action("DBPut", Family="DND", Key=extension, Val="YES")
        else:
            try:
                self.action("DBDel", Family="DND", Key=extension)
            except PBXError:
                pass  # nothing to delete: DND was off on the PBX already

    def set_night(self, on: bool) -> None:
        self.action("Setvar", Variable=f"DEVICE_STATE({self.night_device})", Value="INUSE" if on else "NOT_INUSE")

    def night_state(self) -> bool | None:
        return self.state_now.night

    def queue_pause(self, queue_name: str, interface: str, paused: bool, reason: str = "") -> None:
        fields = {"Queue": queue_name, "Interface": interface, "Paused": "true" if paused else "false"}
        if reason:
            fields["Reason"] = reason
        self.action("QueuePause", **fields)

    def extension_state(self, extension: str) -> str | None:
        if self._synced.is_set():
            return self.state_now.extension_state(extension)
        try:
            reply = self.action("ExtensionState", Exten=extension, Context=self.context)
        except PBXError:
            return None
        return EXTENSION_STATUS.get(reply.get("Status", ""))


__all__ = ["AsteriskBackend", "encode", "read_packet", "challenge_key", "extension_of_channel",
           "CONNECTION", "SYNCED"]
