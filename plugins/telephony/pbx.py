"""The PBX backend interface, the built-in "manual" backend and backend lookup.

A backend is what makes a switchboard action happen on a real phone system.
The telephony service validates an action and records it; inside the same
transaction it asks the backend to carry it out, so a refused PBX action
leaves nothing recorded. Backends come from the ``backdesk_pbx_backends``
hook (``{"name": factory}``, ``factory(ctx, settings) -> backend``); the
plugin's ``pbx`` setting picks one.

What a backend provides (subclass :class:`PBXBackend`; every method may
raise :class:`PBXError` with a message for the operator):

``start(on_event)``
    Begin (connect, listen). ``on_event(name, fields)`` is called from a
    backend thread for what happens on the PBX (``"Newchannel"``,
    ``"DialBegin"``, ``"Hangup"``, ``"ExtensionStatus"``,
    ``"DeviceStateChange"``, ...); it must never be called while an action of
    this backend is waiting for its answer in the same thread.
``stop()``
    Disconnect and end the backend's threads.
``state()``
    ``(code, text)``: ``"manual"``, ``"connected"``, ``"connecting"``,
    ``"reconnecting"`` or ``"disconnected"``, and a line for the status bar
    in the site's language (the plugin's ``_``, asked when ``state()`` is
    called; a :class:`PBXError` message is translated the same way).
``transfer_blind(call, extension)`` / ``transfer_attended(call, extension) -> dict | None``
    (what the backend returns is kept in ``call["pbx"]``, e.g. the channel
    that consults)
``complete_transfer(call)`` / ``cancel_transfer(call)`` / ``to_voicemail(call, extension)``
``park(call) -> slot | None`` (None: the service picks a slot) / ``hold(call) -> slot | None``
``retrieve(call, extension)`` (a parked or held call back to ``extension``)
``answer(call, extension)`` (a call ringing elsewhere or waiting: to ``extension``)
``hang_up(call)`` / ``pickup(extension, to_extension)``
``dial(from_extension, number, caller_id) -> dict`` (click-to-dial; the dict
    becomes the new call's ``pbx``)
``set_dnd(extension, on)`` / ``set_night(on)`` / ``night_state() -> bool | None``
``queue_pause(queue, interface, paused, reason)``
``extension_state(extension) -> presence | None``
``live_state() -> LiveState | None`` and ``add_listener(cb) -> remove``:
    what the PBX shows now (channels, extension states, queues, parked
    calls; :mod:`plugins.telephony.live`) and a callback ``cb(changed)``
    from a backend thread after each batch of events.

``call`` is the call's stored dict; ``call["pbx"]`` holds what the backend
put there (Asterisk: the caller's channel and uniqueid), empty for calls the
operator logged by hand — a backend leaves those alone.
"""

from __future__ import annotations

from typing import Any, Callable

from core.errors import BackdeskError
from plugins.telephony.models import _


class PBXError(BackdeskError):
    """The PBX refused or could not carry out an action."""


class PBXBackend:
    """The interface; also the "manual" behaviour: nothing to drive."""

    name = "manual"
    #: True when actions drive a real PBX
    live = False

    def __init__(self, ctx=None, settings: dict | None = None) -> None:
        self.ctx = ctx
        self.settings = settings or {}

    def start(self, on_event: Callable[[str, dict], None] | None = None, *,
              batch: Callable[[list], Any] | None = None) -> None:
        """Begin listening; the manual backend has nothing to listen to."""

    def stop(self) -> None:
        """Disconnect."""

    def state(self) -> tuple[str, str]:
        return "manual", _("PBX: manual (desk phone)")

    def transfer_blind(self, call: dict, extension: str) -> None:
        """Hand the caller to ``extension`` without asking first."""

    def transfer_attended(self, call: dict, extension: str) -> dict | None:
        """Put the caller on hold and ring ``extension`` for a consultation."""
        return None

    def complete_transfer(self, call: dict) -> None:
        """Join the caller with the consulted extension."""

    def cancel_transfer(self, call: dict) -> None:
        """End the consultation and return to the caller."""

    def to_voicemail(self, call: dict, extension: str) -> None:
        """Send the caller to ``extension``'s voicemail box."""

    def park(self, call: dict) -> str | None:
        """Park the call; return the slot the PBX chose, or None."""
        return None

    def hold(self, call: dict) -> str | None:
        """Put the caller on hold (the PBX may use a slot of its own)."""
        return None

    def retrieve(self, call: dict, extension: str) -> None:
        """Bring a parked or held call to ``extension``."""

    def answer(self, call: dict, extension: str) -> None:
        """Bring a call that rings elsewhere or waits in a queue to ``extension``."""

    def hang_up(self, call: dict) -> None:
        """End the call on the PBX."""

    def pickup(self, extension: str, to_extension: str | None) -> dict | None:
        """Take the call ringing at ``extension``; may return ``{"channel": ...}``."""
        return None

    def dial(self, from_extension: str, number: str, caller_id: str = "") -> dict:
        """Call ``number`` from the phone at ``from_extension``."""
        return {}

    def set_dnd(self, extension: str, on: bool) -> None:
        """Switch do-not-disturb on the PBX."""

    def set_night(self, on: bool) -> None:
        """Switch the PBX's night service (what its dialplan reads)."""

    def night_state(self) -> bool | None:
        """The PBX's night service as it reports it (None: unknown)."""
        return None

    def queue_pause(self, queue: str, interface: str, paused: bool, reason: str = "") -> None:
        """Pause or unpause a queue member."""

    def extension_state(self, extension: str) -> str | None:
        """The PBX's state of an extension (a presence code), None when unknown."""
        return None

    def live_state(self):
        """The PBX now (:class:`plugins.telephony.live.LiveState`), None without a PBX."""
        return None

    def add_listener(self, callback: Callable[[set], None]) -> Callable[[], None]:
        """Call ``callback(changed)`` after the PBX reported something."""
        return lambda: None

    def event_seq(self) -> int:
        """A number that grows with every event received (0 without a PBX)."""
        return 0

    def wait_synced(self, timeout: float | None = None) -> bool:
        """Wait until the backend knows what the PBX shows (at once without a PBX)."""
        return True


class ManualBackend(PBXBackend):
    """The default: the operator works a desk phone and records what happens."""


def manual_factory(ctx=None, settings: dict | None = None) -> PBXBackend:
    return ManualBackend(ctx, settings)


def asterisk_factory(ctx=None, settings: dict | None = None) -> PBXBackend:
    from plugins.telephony.ami import AsteriskBackend  # asyncio code only when used

    return AsteriskBackend(ctx, settings)


BUILTIN_BACKENDS: dict[str, Callable[..., Any]] = {
    "manual": manual_factory,
    "asterisk": asterisk_factory,
}


def available_backends(ctx) -> dict[str, Callable[..., Any]]:
    """Every backend offered through ``backdesk_pbx_backends`` (ours included)."""
    found: dict[str, Callable[..., Any]] = {}
    host = ctx.backdesk.host
    for _rec, result in host.call("backdesk_pbx_backends"):
        if isinstance(result, dict):
            for name, factory in result.items():
                found.setdefault(str(name), factory)
    for name, factory in BUILTIN_BACKENDS.items():
        found.setdefault(name, factory)
    return found


def make_backend(ctx) -> PBXBackend:
    """The backend the ``pbx`` setting names; a clear error for an unknown one."""
    name = ctx.settings.get("pbx") or "manual"
    backends = available_backends(ctx)
    factory = backends.get(name)
    if factory is None:
        raise BackdeskError(_("pbx: no PBX backend named {name!r} (known: {known})").format(
            name=name, known=", ".join(sorted(backends))))
    return factory(ctx, dict(ctx.settings))
