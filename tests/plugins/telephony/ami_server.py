"""A local TCP server speaking the Asterisk Manager Interface wire format.

Asterisk is not packaged for these machines, so the AMI backend is tested
against this double. It replays the documented exchanges:

* greeting ``Asterisk Call Manager/5.0.2`` (CRLF), packets of ``Key: Value``
  lines with CRLF ended by a blank line, ``ActionID`` echoed in responses;
* ``Challenge`` (AuthType MD5) → ``Challenge: <digits>``; ``Login`` with
  ``AuthType: MD5`` and ``Key: md5(challenge + secret)`` → Success and a
  ``FullyBooted`` event, a wrong key → Error and the connection closes;
* ``Redirect``, ``BlindTransfer``, ``Atxfer``, ``CancelAtxfer``, ``Hangup``,
  ``Park`` (→ ``ParkingSpace``), ``DBPut``, ``DBDel``, ``Originate``,
  ``Ping`` → Success (an unknown extension ``999`` → Error), ``Logoff`` →
  Goodbye; actions before login → ``Permission denied``;
* unsolicited events pushed by the test (``Newchannel``, ``DialBegin``,
  ``Hangup``, ``ExtensionStatus``, ``DeviceStateChange``);
* ``drop()`` closes every connection (to test reconnecting), ``refuse``
  makes new connections close at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading


class AMIServer:
    def __init__(self, username: str = "backdesk", secret: str = "s3cret") -> None:
        self.username = username
        self.secret = secret
        self.actions: list[dict] = []  # every action received, in order
        self.logins = 0
        self.refuse = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server = None
        self.port = 0

    # -- control from the test thread ------------------------------------------------
    def start(self) -> "AMIServer":
        self._thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)
        return self

    async def _start(self) -> int:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port or 0)
        return self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def close():
            self._server.close()
            for w in list(self._writers):
                w.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def push_event(self, fields: dict) -> None:
        """Send an unsolicited event to every logged-in client."""
        async def send():
            for w in list(self._writers):
                w.write(self._packet(fields))
                await w.drain()

        asyncio.run_coroutine_threadsafe(send(), self._loop).result(5)

    def drop(self) -> None:
        """Close every connection, as a restarting Asterisk would."""
        async def close():
            for w in list(self._writers):
                w.close()
            self._writers.clear()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)

    def clients(self) -> int:
        return len(self._writers)

    def named(self, action: str) -> list[dict]:
        return [a for a in self.actions if a.get("Action", "").lower() == action.lower()]

    # -- the protocol ----------------------------------------------------------------
    @staticmethod
    def _packet(fields: dict) -> bytes:
        return ("".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n").encode()

    async def _read(self, reader) -> dict | None:
        fields: dict[str, str] = {}
        while True:
            line = await reader.readline()
            if not line:
                return None
            text = line.decode().rstrip("\r\n")
            if not text:
                if fields:
                    return fields
                continue
            key, _, value = text.partition(":")
            fields[key.strip()] = value.strip()

    async def _client(self, reader, writer) -> None:
        if self.refuse:
            writer.close()
            return
        writer.write(b"Asterisk Call Manager/5.0.2\r\n")
        challenge = None
        logged_in = False
        try:
            while True:
                packet = await self._read(reader)
                if packet is None:
                    break
                action = packet.get("Action", "")
                reply = {"Response": "Success", "ActionID": packet.get("ActionID", "")}
                name = action.lower()
                if name == "challenge":
                    challenge = str(random.randint(10**8, 10**9))
                    reply["Challenge"] = challenge
                elif name == "login":
                    expected = hashlib.md5((str(challenge) + self.secret).encode()).hexdigest()
                    if (packet.get("AuthType", "").lower() == "md5" and challenge
                            and packet.get("Username") == self.username and packet.get("Key") == expected):
                        reply["Message"] = "Authentication accepted"
                        writer.write(self._packet(reply))
                        writer.write(self._packet({"Event": "FullyBooted", "Privilege": "system,all",
                                                   "Status": "Fully Booted"}))
                        logged_in = True
                        self.logins += 1
                        self._writers.add(writer)
                        await writer.drain()
                        continue
                    reply.update(Response="Error", Message="Authentication failed")
                    writer.write(self._packet(reply))
                    await writer.drain()
                    break
                elif not logged_in:
                    reply.update(Response="Error", Message="Permission denied")
                else:
                    self.actions.append(packet)
                    if name == "logoff":
                        reply.update(Response="Goodbye", Message="Thanks for all the fish.")
                        writer.write(self._packet(reply))
                        await writer.drain()
                        break
                    if packet.get("Exten") == "999":
                        reply.update(Response="Error", Message="Extension does not exist.")
                    elif name == "park":
                        reply["Message"] = "Park successful"
                        reply["ParkingSpace"] = "701"
                    elif name in ("redirect", "blindtransfer", "atxfer", "canceltxfer", "canceltransfer",
                                  "cancelatxfer", "hangup", "dbput", "dbdel", "originate"):
                        reply["Message"] = f"{action} queued"
                    elif name == "ping":
                        reply["Ping"] = "Pong"
                    else:
                        reply.update(Response="Error", Message="Invalid/unknown command")
                writer.write(self._packet(reply))
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
