"""A real Asterisk for the tests: a peer (tests/peers.py) with a config of its own.

``AsteriskPBX().start()`` writes a complete configuration into the peer's
private directory (``asterisk.conf`` with every ``[directories]`` entry
pointing there, so nothing outside it is read or written), chooses a free
AMI port, starts ``/opt/asterisk/sbin/asterisk -C DIR/etc/asterisk.conf -f
-n -q`` in a process group of its own, and counts it whole only when the
listener on that port is this Asterisk and it does its job: the AMI greets
with its banner, the login is accepted, ``FullyBooted`` arrives, every module
the tests need is loaded (``ModuleCheck``) and the dialplan answers
(``ExtensionState``). ``stop()`` ends the process group and removes the
directory; ``halt()``/``resume()`` stop and start the same Asterisk again on
the same port and config (a restart; ``halt(kill=True)``: a crash).

No SIP stack is built in, so the "phones" are Local channels into the
``devices`` context (see ``DIALPLAN``): a phone rings, answers after a short
while (or never, or is busy — ``set_phone``) and stays on the line; its
device state is the custom state ``Custom:ext<ext>`` that the hint of its
extension in ``internal`` shows. Outside callers are Local channels into the
``inbound`` context, exactly where a trunk's calls would arrive.

:class:`AMIClient` is the tests' own small, synchronous AMI client — to make
calls happen and to look at the PBX — so the backend under test is never
checked with itself.

Installed by ``bash ../shared/asterisk/install.sh`` (``.ci/run`` does it).
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import socket
import threading
import time
from pathlib import Path

from tests.peers import Peer, PeerError, free_port, wait_until

ASTERISK = Path(os.environ.get("BACKDESK_TEST_ASTERISK", "/opt/asterisk/sbin/asterisk"))
PREFIX = ASTERISK.parent.parent
INSTALL_HINT = "bash ../shared/asterisk/install.sh (installs /opt/asterisk)"

#: modules loaded one by one (autoload = no): a module that fails is a failed start
MODULES = (
    "pbx_config", "app_dial", "app_queue", "res_parking", "app_directed_pickup", "app_voicemail",
    "func_devstate", "func_db", "func_callerid", "func_strings", "func_logic", "func_channel",
    "func_hangupcause", "func_groupcount", "app_db", "app_stack", "app_userevent", "app_verbose",
    "app_originate", "bridge_simple", "bridge_softmix", "bridge_holding", "bridge_builtin_features",
    "bridge_builtin_interval_features", "res_musiconhold", "res_timing_timerfd", "app_transfer",
    "app_blind_transfer", "app_attended_transfer", "res_manager_devicestate", "func_extstate",
    "codec_ulaw", "codec_alaw", "format_wav", "format_pcm", "app_playback",
)

#: Backdesk's AMI user, with exactly the rights docs/plugins/telephony.md asks for
USERNAME = "backdesk"
SECRET = "s3cret-for-tests"
READ = "system,call,agent,user"
WRITE = "system,call,agent,originate,reporting"
#: the tests' own client (AMIClient): everything
TEST_USER, TEST_SECRET = "tests", "tests-only"

#: the phones of the tests (a real site has SIP phones and a trunk instead)
DIALPLAN = """\
[general]
static = yes
writeprotect = yes

[globals]
RINGTIME = 20

; A phone: rings (its custom device state RINGING), then answers after
; DB(phone/<ext>/ring) seconds (default 0.3) unless DB(phone/<ext>) says
; "never" (rings until the caller gives up) or "busy". One call at a time.
[devices]
exten => _X.,1,GotoIf($[${{REGEX("^(INUSE|RINGING|BUSY)$" ${{DEVICE_STATE(Custom:ext${{EXTEN}})}})}}]?busy)
 same => n,Set(DEVICE_STATE(Custom:ext${{EXTEN}})=RINGING)
 same => n,Set(CHANNEL(hangup_handler_push)=phone-hangup,s,1(${{EXTEN}}))
 same => n,Set(MODE=${{DB(phone/${{EXTEN}})}})
 same => n,GotoIf($["${{MODE}}" = "busy"]?busy)
 same => n,GotoIf($["${{MODE}}" = "never"]?never)
 same => n,Set(RING=${{DB(phone/${{EXTEN}}/ring)}})
 same => n,Wait(${{IF($["${{RING}}" = ""]?0.3:${{RING}})}})
 same => n,Answer()
 same => n,Set(DEVICE_STATE(Custom:ext${{EXTEN}})=INUSE)
 same => n,Wait(3600)
 same => n,Hangup()
 same => n(busy),Busy(5)
 same => n(never),Wait(3600)

[phone-hangup]
exten => s,1,Set(DEVICE_STATE(Custom:ext${{ARG1}})=NOT_INUSE)
 same => n,Return()

; The office's own dialplan (Backdesk's ami_context): what docs/plugins/telephony.md asks for.
[internal]
{hints}
exten => _1XX,1,GotoIf(${{DB_EXISTS(DND/${{EXTEN}})}}?dnd)
 same => n,Set(__PICKUPMARK=${{EXTEN}})
 same => n,Dial(Local/${{EXTEN}}@devices/n,${{RINGTIME}},tT)
 same => n,Hangup()
 same => n(dnd),Busy(5)
exten => _*1XX,1,VoiceMail(${{EXTEN:1}}@default,s)
 same => n,Hangup()
exten => _**1XX,1,Pickup(${{EXTEN:2}}@PICKUPMARK)
exten => 800,1,Queue(switchboard,,,,300)
 same => n,Hangup()
exten => _0X.,1,Dial(Local/${{EXTEN}}@world/n,30,tT)
 same => n,Hangup()
exten => *28,hint,Custom:night

; Where a trunk delivers calls (Backdesk's ami_inbound_contexts): night
; service is the custom device state Custom:night that Backdesk switches.
[inbound]
exten => _X.,1,GotoIf($["${{DEVICE_STATE(Custom:night)}}" = "INUSE"]?night,1)
 same => n,Goto(internal,${{EXTEN}},1)
exten => night,1,Answer()
 same => n,VoiceMail(100@default,s)
 same => n,Hangup()

; Numbers outside: someone answers.
[world]
exten => _X.,1,Wait(0.3)
 same => n,Answer()
 same => n,Wait(3600)
"""


def installed() -> tuple[bool, str]:
    """Whether the Asterisk binary is there, and what to do if not."""
    if not ASTERISK.is_file() or not os.access(ASTERISK, os.X_OK):
        return False, f"{ASTERISK} is missing: {INSTALL_HINT}"
    return True, ""


class AsteriskError(RuntimeError):
    pass


class AsteriskPBX(Peer):
    """One Asterisk process with a config of its own in its private directory."""

    name = "Asterisk"

    def __init__(self, *, extensions: range | list[str] = range(100, 200),
                 queue_members: tuple[str, ...] = ("100", "102"), atxfer_timeout: int = 4) -> None:
        super().__init__()
        self.extensions = [str(e) for e in extensions]
        self.queue_members = queue_members
        self.atxfer_timeout = atxfer_timeout
        self._checked = False  # the full check (modules, dialplan) passed once for this process

    # -- the peer ---------------------------------------------------------------------
    def requirements(self):
        return [installed()]

    @property
    def root(self) -> Path:
        assert self.dir is not None, "not started"
        return self.dir

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def conf(self) -> Path:
        return self.etc / "asterisk.conf"

    def launch(self) -> None:
        self.port = free_port()
        self.write_config()
        self._spawn()

    def _spawn(self) -> None:
        self._checked = False
        self.spawn([str(ASTERISK), "-C", str(self.conf), "-f", "-n", "-q"], log="console")

    def problems(self) -> list[str]:
        return self.process_problems() or self.listener_problems(self.port) or self.ami_problems()

    def ami_problems(self) -> list[str]:
        """[] when the AMI works; the first time for a process also the modules
        and the dialplan, and the phones set idle (custom device states outlive
        a restart in AstDB)."""
        try:
            client = AMIClient(self.port, timeout=3)
        except (OSError, AsteriskError) as exc:
            return [f"AMI on port {self.port}: {exc}"]
        try:
            if not client.banner.startswith("Asterisk Call Manager/"):
                return [f"port {self.port} is not an AMI: {client.banner!r}"]
            try:
                client.wait_event(lambda e: e.get("Event") == "FullyBooted", timeout=2)
            except AsteriskError:
                return ["not fully booted yet"]
            if self._checked:
                return [] if client.action("Ping").get("Response") == "Success" else ["Ping unanswered"]
            missing = [m for m in MODULES if client.action("ModuleCheck", Module=m).get("Response") != "Success"]
            if missing:
                return [f"modules not loaded: {', '.join(missing)}"]
            state = client.action("ExtensionState", Exten=self.extensions[0], Context="internal")
            if state.get("Response") != "Success" or not state.get("StatusText"):
                return [f"the dialplan does not answer: {state}"]
            for ext in self.extensions:
                client.action("Setvar", Variable=f"DEVICE_STATE(Custom:ext{ext})", Value="NOT_INUSE")
            client.action("Setvar", Variable="DEVICE_STATE(Custom:night)", Value="NOT_INUSE")
            self._checked = True
            return []
        except AsteriskError as exc:
            return [str(exc)]
        finally:
            client.close()

    # -- configuration ------------------------------------------------------------------
    def write_config(self) -> None:
        r = self.root
        for sub in ("etc", "run", "log", "spool", "varlib", "db", "keys"):
            (r / sub).mkdir(parents=True, exist_ok=True)
        data = PREFIX / "var" / "lib" / "asterisk"
        files = {
            "asterisk.conf": f"""\
[directories]
astetcdir => {r}/etc
astmoddir => {PREFIX}/lib/asterisk/modules
astvarlibdir => {r}/varlib
astdbdir => {r}/db
astkeydir => {r}/keys
astdatadir => {data}
astagidir => {data}/agi-bin
astspooldir => {r}/spool
astrundir => {r}/run
astlogdir => {r}/log
astsbindir => {PREFIX}/sbin
[options]
transmit_silence = no
""",
            "modules.conf": "[modules]\nautoload = no\n" + "".join(f"load => {m}.so\n" for m in MODULES),
            "manager.conf": f"""\
[general]
enabled = yes
port = {self.port}
bindaddr = 127.0.0.1
displayconnects = no

[{USERNAME}]
secret = {SECRET}
read = {READ}
write = {WRITE}

[{TEST_USER}]
secret = {TEST_SECRET}
read = all
write = all
""",
            "logger.conf": "[general]\n[logfiles]\nmessages => notice,warning,error\n",
            "cdr.conf": "[general]\nenable = no\n",
            "features.conf": f"""\
[general]
atxfernoanswertimeout = {self.atxfer_timeout}
transferannouncesound =
transferdigittimeout = 3
[featuremap]
blindxfer => #1
atxfer => *2
""",
            "res_parking.conf": """\
[general]
[default]
parkext => 700
parkpos => 701-720
context => parkedcalls
parkingtime => 600
[hold]
parkext => 750
parkpos => 751-770
context => holdcalls
parkingtime => 600
""",
            "queues.conf": "[general]\n[switchboard]\nstrategy = ringall\ntimeout = 15\nretry = 1\n"
                           "ringinuse = no\nannounce-frequency = 0\n"
                           + "".join(f"member => Local/{m}@internal/n,0,ext{m},Custom:ext{m}\n"
                                     for m in self.queue_members),
            "voicemail.conf": "[general]\nformat = wav\nmaxsilence = 0\nminsecs = 0\n[default]\n"
                              + "".join(f"{e} => 1234,Box {e}\n" for e in self.extensions),
            "musiconhold.conf": "[general]\n",
            "extensions.conf": DIALPLAN.format(
                hints="\n".join(f"exten => {e},hint,Custom:ext{e}" for e in self.extensions)),
        }
        for name, text in files.items():
            (self.etc / name).write_text(text)

    # -- a restart ------------------------------------------------------------------
    def halt(self, *, kill: bool = False) -> None:
        """Stop this Asterisk (``kill``: SIGKILL at once, as a crash — no
        goodbye events); the directory, config and port stay for :meth:`resume`."""
        for proc in self.processes:
            if kill:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.stop()
        self.processes.clear()
        (self.root / "run" / "asterisk.ctl").unlink(missing_ok=True)

    def resume(self, timeout: float = 30.0) -> None:
        """Start the same Asterisk again (same port and config) and wait until it is whole."""
        self._spawn()
        if not wait_until(lambda: not self.problems() or self.process_problems(), timeout, 0.1) or \
                self.problems():
            raise PeerError(f"Asterisk did not start again: {'; '.join(self.problems())}\n{self.logs()}")

    @property
    def pid(self) -> int | None:
        return self.processes[0].pid if self.processes else None

    def client(self) -> "AMIClient":
        return AMIClient(self.port)

    def settings(self, **extra) -> dict:
        """Backdesk's telephony settings for this PBX."""
        return {"pbx": "asterisk", "ami_port": self.port, "ami_username": USERNAME, "ami_secret": SECRET,
                "ami_context": "internal", "ami_inbound_contexts": ["inbound"], "ami_backoff_max": 0.5,
                "ami_timeout": 5.0, "ami_hold_lot": "hold", **extra}

    def voicemail(self, box: str) -> list[Path]:
        inbox = self.root / "spool" / "voicemail" / "default" / box / "INBOX"
        return sorted(inbox.glob("msg*.txt")) if inbox.exists() else []

    def clear_voicemail(self) -> None:
        shutil.rmtree(self.root / "spool" / "voicemail", ignore_errors=True)


class AMIClient:
    """A small synchronous AMI client for the tests (plain sockets, a reader thread)."""

    def __init__(self, port: int, *, timeout: float = 10.0, user: str = TEST_USER,
                 secret: str = TEST_SECRET) -> None:
        self.timeout = timeout
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.settimeout(None)
        self.file = self.sock.makefile("rb")
        self.banner = self.file.readline().decode("utf-8", "replace").strip()
        self.events: list[dict] = []
        self._responses: dict[str, "queue.Queue[dict]"] = {}
        self._cond = threading.Condition()
        self._ids = 0
        self._lock = threading.Lock()
        self._closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        reply = self.action("Login", timeout=timeout, Username=user, Secret=secret, Events="system,call,agent,user")
        if reply.get("Response") != "Success":
            raise AsteriskError(f"AMI login refused: {reply}")

    def close(self) -> None:
        self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def _read(self) -> None:
        packet: dict = {}
        try:
            for raw in self.file:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line:
                    key, _sep, value = line.partition(":")
                    packet[key.strip()] = value.strip()
                    continue
                if not packet:
                    continue
                if "Response" in packet and packet.get("ActionID") in self._responses:
                    self._responses[packet["ActionID"]].put(packet)
                else:
                    with self._cond:
                        self.events.append(packet)
                        self._cond.notify_all()
                packet = {}
        except (OSError, ValueError):
            pass

    def action(self, name: str, timeout: float = 10.0, **fields) -> dict:
        with self._lock:
            self._ids += 1
            action_id = f"t{self._ids}"
            box: "queue.Queue[dict]" = queue.Queue()
            self._responses[action_id] = box
            data = "".join(f"{k}: {v}\r\n" for k, v in {"Action": name, "ActionID": action_id, **fields}.items())
            self.sock.sendall((data + "\r\n").encode("utf-8"))
        try:
            return box.get(timeout=timeout)
        except queue.Empty:
            raise AsteriskError(f"no answer to {name} in {timeout} s") from None
        finally:
            self._responses.pop(action_id, None)

    def wait_event(self, predicate, timeout: float = 60.0, start: int = 0) -> dict:
        """The first event (from index ``start``) matching ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events[start:]:
                    if predicate(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    names = [e.get("Event") for e in self.events[-20:]]
                    raise AsteriskError(f"event not seen in {timeout} s; last: {names}")
                self._cond.wait(left)

    def mark(self) -> int:
        with self._cond:
            return len(self.events)

    # -- making things happen ----------------------------------------------------------
    def call_in(self, did: str, number: str, name: str = "", *, wait: float = 3600) -> str:
        """An outside caller dials ``did`` (the number dialled: an extension,
        800 for the queue): returns the caller's channel as Asterisk names it."""
        mark = self.mark()
        cid = f'"{name}" <{number}>' if name else number
        reply = self.action("Originate", Channel=f"Local/{did}@inbound", Application="Wait", Data=str(wait),
                            CallerID=cid, Async="true", Timeout=str(int(wait * 1000)))  # waits that long
        if reply.get("Response") != "Success":
            raise AsteriskError(f"Originate refused: {reply}")
        event = self.wait_event(lambda e: e.get("Event") == "Newchannel" and e.get("Context") == "inbound"
                                and e.get("Channel", "").endswith(";2")
                                and e.get("Channel", "").startswith(f"Local/{did}@inbound-"), start=mark)
        return event["Channel"]

    def hang_up(self, channel: str) -> None:
        """The outside caller hangs up (their own half of the Local pair)."""
        self.action("Hangup", Channel=channel.replace(";2", ";1"))

    def hang_up_all(self) -> None:
        self.action("Hangup", Channel="/./")

    def set_phone(self, ext: str, mode: str = "", ring: float | None = None) -> None:
        """How the phone at ``ext`` behaves: "" answers, "never", "busy"."""
        if mode:
            self.action("DBPut", Family="phone", Key=ext, Val=mode)
        else:
            self.action("DBDel", Family="phone", Key=ext)
        if ring is not None:
            self.action("DBPut", Family="phone", Key=f"{ext}/ring", Val=str(ring))

    def reset(self) -> None:
        """Back to a quiet PBX between tests."""
        self.hang_up_all()
        for family in ("phone", "DND"):
            self.action("DBDelTree", Family=family)
        self.action("Setvar", Variable="DEVICE_STATE(Custom:night)", Value="NOT_INUSE")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self.channels():
            time.sleep(0.05)
        for ext in ("100", "102"):
            self.action("QueuePause", Queue="switchboard", Interface=f"Local/{ext}@internal/n", Paused="false")

    # -- looking ---------------------------------------------------------------------
    def channels(self) -> list[dict]:
        """``CoreShowChannels``: every channel now."""
        mark = self.mark()
        reply = self.action("CoreShowChannels")
        if reply.get("Response") != "Success":
            raise AsteriskError(str(reply))
        action_id = reply["ActionID"]
        self.wait_event(lambda e: e.get("Event") == "CoreShowChannelsComplete" and e.get("ActionID") == action_id,
                        start=mark)
        with self._cond:
            return [e for e in self.events[mark:] if e.get("Event") == "CoreShowChannel"
                    and e.get("ActionID") == action_id]

    def ext_state(self, ext: str) -> str:
        return self.action("ExtensionState", Exten=ext, Context="internal").get("StatusText", "")

    def getvar(self, variable: str, channel: str | None = None) -> str:
        fields = {"Variable": variable}
        if channel:
            fields["Channel"] = channel
        return self.action("Getvar", **fields).get("Value", "")

    def bridge_peer(self, channel: str) -> str:
        return self.getvar("BRIDGEPEER", channel)

    def wait_ext(self, ext: str, state: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        seen = ""
        while time.monotonic() < deadline:
            seen = self.ext_state(ext)
            if seen == state:
                return
            time.sleep(0.05)
        raise AsteriskError(f"extension {ext} is {seen!r}, not {state!r}")
