"""A local TCP server speaking the AMI wire format — for faults only.

Everything a real Asterisk does is tested against a real Asterisk
(asterisk_pbx.py). This double stays for what Asterisk cannot be made to do
on purpose:

* a greeting that is not AMI's (``banner``);
* an action that is never answered (``silent``: action names), or a
  connection that drops while an action waits (``drop_on``);
* a server that accepts a connection and closes it at once (``refuse``).

Otherwise it greets ``Asterisk Call Manager/5.0.2``, does the MD5 challenge
login (a wrong key: Error and the connection closes), sends ``FullyBooted``,
answers the list actions the backend sends after a login with empty lists,
and answers any other action with Success (``actions`` records them).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading

LIST_ACTIONS = {"coreshowchannels": "CoreShowChannelsComplete", "extensionstatelist": "ExtensionStateListComplete",
                "queuestatus": "QueueStatusComplete", "parkedcalls": "ParkedCallsComplete"}


class AMIServer:
    def __init__(self, username: str = "backdesk", secret: str = "s3cret") -> None:
        self.username = username
        self.secret = secret
        self.banner = "Asterisk Call Manager/5.0.2"
        self.silent: set[str] = set()
        self.drop_on: set[str] = set()
        self.refuse = False
        self.actions: list[dict] = []
        self.logins = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server = None
        self.port = 0

    def start(self) -> "AMIServer":
        self._thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)
        return self

    async def _start(self) -> int:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def close():
            self._server.close()
            for w in list(self._writers):
                w.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def named(self, action: str) -> list[dict]:
        return [a for a in self.actions if a.get("Action", "").lower() == action.lower()]

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
        writer.write(self.banner.encode() + b"\r\n")
        challenge = None
        try:
            while True:
                packet = await self._read(reader)
                if packet is None:
                    break
                name = packet.get("Action", "").lower()
                action_id = packet.get("ActionID", "")
                reply = {"Response": "Success", "ActionID": action_id}
                if name == "challenge":
                    challenge = str(random.randint(10**8, 10**9))
                    reply["Challenge"] = challenge
                elif name == "login":
                    expected = hashlib.md5((str(challenge) + self.secret).encode()).hexdigest()
                    if packet.get("Username") == self.username and packet.get("Key") == expected:
                        writer.write(self._packet({**reply, "Message": "Authentication accepted"}))
                        writer.write(self._packet({"Event": "FullyBooted", "Status": "Fully Booted"}))
                        self.logins += 1
                        self._writers.add(writer)
                        await writer.drain()
                        continue
                    writer.write(self._packet({**reply, "Response": "Error", "Message": "Authentication failed"}))
                    await writer.drain()
                    break
                else:
                    self.actions.append(packet)
                    if name in self.drop_on:
                        break
                    if name in self.silent:
                        continue
                    if name in LIST_ACTIONS:
                        writer.write(self._packet({**reply, "EventList": "start"}))
                        reply = {"Event": LIST_ACTIONS[name], "ActionID": action_id, "EventList": "Complete",
                                 "ListItems": "0"}
                    elif name == "getvar":
                        reply["Value"] = ""
                writer.write(self._packet(reply))
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
