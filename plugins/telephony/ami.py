"""The Asterisk backend: the Asterisk Manager Interface (AMI) over asyncio TCP.

Written on the documented AMI wire format, no extra dependency:

* the server greets with one line, ``Asterisk Call Manager/5.0.x``;
* a packet is ``Key: Value`` lines ending in CRLF, closed by a blank line;
* an action carries ``ActionID``, which its ``Response`` echoes; anything
  with ``Event:`` is unsolicited and can arrive between responses;
* login: ``Action: Challenge`` / ``AuthType: MD5`` → ``Challenge: <n>``,
  then ``Action: Login`` with ``AuthType: MD5`` and ``Key: md5(n + secret)``.

Actions used: ``Redirect`` (blind transfer of a channel, retrieve, pickup),
``BlindTransfer``, ``Atxfer`` / ``CancelAtxfer`` (attended transfer),
``Hangup`` (complete an attended transfer: the operator leaves), ``Park``,
``DBPut``/``DBDel`` (``DND/<ext>``, as FreePBX keeps it), ``Ping``.
Events read: ``Newchannel``, ``DialBegin``, ``Hangup``, ``ExtensionStatus``,
``DeviceStateChange`` (and ``BlindTransfer``/``AttendedTransfer``).

The connection lives in a thread of its own with its own event loop; a
dropped connection is retried with exponential backoff (``state()`` says
"reconnecting" meanwhile). Events are handed to the service from a second
thread, so a store write never holds up the reader that an action waits on.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import queue
import threading
from typing import Callable

from plugins.telephony.models import _
from plugins.telephony.pbx import PBXBackend, PBXError

log = logging.getLogger("backdesk.telephony.ami")

CRLF = "\r\n"
#: ExtensionStatus "Status" bits -> presence
EXTENSION_STATUS = {"-1": "unavailable", "0": "idle", "1": "in_use", "2": "busy", "4": "unavailable",
                    "8": "ringing", "9": "ringing", "16": "on_hold", "17": "on_hold"}
#: DeviceStateChange "State" -> presence
DEVICE_STATE = {"NOT_INUSE": "idle", "INUSE": "in_use", "BUSY": "busy", "UNAVAILABLE": "unavailable",
                "INVALID": "unavailable", "RINGING": "ringing", "RINGINUSE": "ringing",
                "ONHOLD": "on_hold", "UNKNOWN": "unavailable"}


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
    ami_secret, ami_context, ami_timeout, ami_backoff_max."""

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
        self.timeout = float(s.get("ami_timeout") or 5.0)
        self.backoff_min = float(s.get("ami_backoff_min") or 0.5)
        self.backoff_max = float(s.get("ami_backoff_max") or 30.0)
        self._code = "disconnected"
        self._detail = ""
        self._attempt = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._dispatcher: threading.Thread | None = None
        self._events: "queue.Queue[tuple[str, dict] | None]" = queue.Queue()
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[str, asyncio.Future] = {}
        self._ids = itertools.count(1)
        self._stopping = False
        self._connected = threading.Event()
        self._on_event: Callable[[str, dict], None] | None = None
        self.version = ""

    # -- life cycle ------------------------------------------------------------------------
    def start(self, on_event: Callable[[str, dict], None] | None = None) -> None:
        if on_event is not None:
            self._on_event = on_event
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
            self._connected.clear()
            self._writer = None
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(PBXError(_("the PBX connection dropped")))
            self._pending.clear()
            if self._stopping:
                return
            self._attempt += 1
            self._code = "reconnecting"
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max)

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
            writer.write(encode({"Action": "Challenge", "AuthType": "MD5", "ActionID": "login-1"}))
            reply = await asyncio.wait_for(self._response(reader, "login-1"), self.timeout)
            challenge = reply.get("Challenge")
            if reply.get("Response") != "Success" or not challenge:
                raise PBXError(_("AMI challenge refused: {message}").format(
                    message=reply.get("Message") or _("no challenge")))
            writer.write(encode({"Action": "Login", "AuthType": "MD5", "Username": self.username,
                                 "Key": challenge_key(challenge, self.secret), "Events": "on",
                                 "ActionID": "login-2"}))
            reply = await asyncio.wait_for(self._response(reader, "login-2"), self.timeout)
            if reply.get("Response") != "Success":
                raise PBXError(_("AMI login refused: {message}").format(
                    message=reply.get("Message") or _("authentication failed")))
            self._writer = writer
            self._code = "connected"
            self._detail = ""
            self._attempt = 0
            self._connected.set()
            while True:
                packet = await read_packet(reader)
                self._packet(packet)
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

    def _packet(self, packet: dict) -> None:
        if "Response" in packet:
            future = self._pending.pop(packet.get("ActionID", ""), None)
            if future is not None and not future.done():
                future.set_result(packet)
            return
        name = packet.get("Event")
        if name:
            self._events.put((name, packet))

    def _dispatch(self) -> None:
        while True:
            item = self._events.get()
            if item is None:
                return
            if self._on_event is None:
                continue
            try:
                self._on_event(*item)
            except Exception:  # a bad event must not stop the next ones
                log.exception("handling AMI event %s failed", item[0])

    # -- actions ----------------------------------------------------------------------------------
    async def _send(self, fields: dict) -> dict:
        writer = self._writer
        if writer is None:
            raise PBXError(_("the PBX is not connected"))
        action_id = f"bd-{next(self._ids)}"
        future = asyncio.get_running_loop().create_future()
        self._pending[action_id] = future
        writer.write(encode({**fields, "ActionID": action_id}))
        await writer.drain()
        return await asyncio.wait_for(future, self.timeout)

    def action(self, name: str, **fields: str) -> dict:
        """Send an action and wait for its response; PBXError unless Success."""
        if self._thread is None:
            self.start()
        if not self._connected.wait(self.timeout):
            raise PBXError(self.state()[1])
        loop = self._loop
        assert loop is not None
        try:
            reply = asyncio.run_coroutine_threadsafe(self._send({"Action": name, **fields}), loop).result(
                self.timeout + 1)
        except PBXError:
            raise
        except Exception as exc:
            raise PBXError(_("the PBX did not answer {action}: {error}").format(
                action=name, error=type(exc).__name__)) from None
        if reply.get("Response") != "Success":
            raise PBXError(_("the PBX refused {action}: {message}").format(
                action=name, message=reply.get("Message") or _("error")))
        return reply

    @staticmethod
    def _channel(call: dict) -> str | None:
        return (call.get("pbx") or {}).get("channel")

    def transfer_blind(self, call: dict, extension: str) -> None:
        channel = self._channel(call)
        if channel:
            self.action("BlindTransfer", Channel=channel, Exten=extension, Context=self.context)

    def transfer_attended(self, call: dict, extension: str) -> None:
        channel = (call.get("pbx") or {}).get("operator_channel") or self._channel(call)
        if channel:
            self.action("Atxfer", Channel=channel, Exten=extension, Context=self.context)

    def complete_transfer(self, call: dict) -> None:
        channel = (call.get("pbx") or {}).get("operator_channel")
        if channel:
            self.action("Hangup", Channel=channel)

    def cancel_transfer(self, call: dict) -> None:
        channel = (call.get("pbx") or {}).get("operator_channel") or self._channel(call)
        if channel:
            self.action("CancelAtxfer", Channel=channel)

    def to_voicemail(self, call: dict, extension: str) -> None:
        channel = self._channel(call)
        if channel:
            self.action("Redirect", Channel=channel, Exten=f"*{extension}", Context=self.context,
                        Priority="1")

    def park(self, call: dict) -> str | None:
        channel = self._channel(call)
        if not channel:
            return None
        reply = self.action("Park", Channel=channel)
        return reply.get("ParkingSpace") or reply.get("Exten") or None

    def retrieve(self, call: dict, extension: str) -> None:
        channel = self._channel(call)
        if channel:
            self.action("Redirect", Channel=channel, Exten=extension, Context=self.context, Priority="1")

    def pickup(self, extension: str, to_extension: str | None) -> dict | None:
        if not to_extension:
            raise PBXError(_("your operator account has no extension to pick the call up to"))
        # Asterisk's directed pickup: dial **<ext> from the operator's phone
        self.action("Originate", Channel=f"Local/{to_extension}@{self.context}",
                    Exten=f"**{extension}", Context=self.context, Priority="1", Async="true")
        return None

    def set_dnd(self, extension: str, on: bool) -> None:
        if on:
            self.action("DBPut", Family="DND", Key=extension, Val="YES")
        else:
            self.action("DBDel", Family="DND", Key=extension)


def presence_from_event(name: str, fields: dict) -> tuple[str, str] | None:
    """``(extension, presence)`` from an ExtensionStatus/DeviceStateChange event."""
    if name == "ExtensionStatus":
        ext = fields.get("Exten", "")
        state = EXTENSION_STATUS.get(fields.get("Status", ""))
        return (ext, state) if ext and state else None
    if name == "DeviceStateChange":
        device = fields.get("Device", "")
        ext = device.rpartition("/")[2]
        state = DEVICE_STATE.get(fields.get("State", "").upper())
        if device.upper().startswith(("PJSIP/", "SIP/", "IAX2/")) and ext and state:
            return ext, state
    return None
