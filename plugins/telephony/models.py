"""Telephony records and their validation: calls, messages, contacts, presence.

A call::

    {"id": 12, "caller_number": "+49301234567", "caller_person_id": None,
     "contact_id": 4, "caller_name": None,
     "wanted_person_id": 7,            # who the caller asked for
     "to_person_id": 9,                # who has the call now / had it last
     "consult_person_id": None,        # the target of an attended transfer in progress
     "operator": "bob", "status": "active",   # ringing|queued|active|consulting|parked|held|ended
     "outcome": None,                  # connected|voicemail|message|missed|abandoned (when ended)
     "direction": "in",                # "out": dialled from Backdesk (click-to-dial)
     "started_at": "...Z", "answered_at": "...Z", "ended_at": None, "duration": None,
     "chain": [{"kind": "caller", ...}, {"kind": "operator", "account": "bob"},
               {"kind": "person", "person_id": 9, "mode": "attended"}],
     "transfers": [{"from_person_id": None, "to_person_id": 9, "mode": "attended",
                    "note": "about invoice 4711", "at": "...", "state": "completed"}],
     "park_slot": None, "note": "", "message_id": None, "night": False,
     "pbx": {"channel": "PJSIP/trunk-0001", "uniqueid": "1700000000.1",   # the caller's channel
             "operator_channel": "PJSIP/100-0002", "operator_uniqueid": "…",  # consulting (attended)
             "answered_by": "100", "queue": "switchboard"}}

A call's ``pbx`` is empty for calls logged by hand (the manual backend).

Times are ISO 8601 UTC; people are directory ids, never copied.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from core.errors import ValidationError
from core.i18n import N_, translator_for
from core.safetext import check_text
from pathlib import Path

_ = translator_for("telephony", Path(__file__).parent / "locale")

STATUSES = ("ringing", "queued", "active", "consulting", "parked", "held", "ended")
OPEN_STATUSES = ("ringing", "queued", "active", "consulting", "parked", "held")
#: statuses of a call nobody has answered yet
WAITING_STATUSES = ("ringing", "queued")
OUTCOMES = ("connected", "voicemail", "message", "missed", "abandoned")
TRANSFER_MODES = ("blind", "attended", "voicemail")
#: presence states a person (or the PBX) can be in
PRESENCE = ("idle", "ringing", "in_use", "busy", "on_hold", "unavailable", "dnd", "away")
#: states in which a person cannot take a transferred call
UNREACHABLE = ("unavailable", "dnd", "away")
URGENCIES = ("normal", "urgent")

MAX_TEXT = 2000
MAX_NOTE = 500
MAX_NAME = 120

_NUMBER_JUNK = re.compile(r"[\s\-/().]")
_DIGITS = re.compile(r"^\+?\d+$")
_EXTENSION = re.compile(r"^\d{2,6}$")


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def parse_utc(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def seconds_between(start: str | None, end: str | None) -> int | None:
    if not start or not end:
        return None
    return max(0, int((parse_utc(end) - parse_utc(start)).total_seconds()))


# -- what a person sees for a stored code -------------------------------------------
# Records, CSV and JSON keep the codes (the keys); screens, cards and the CLI's
# tables show the N_() text, translated when it is shown (``label`` and the
# ``*_title`` functions below).
PRESENCE_TITLES = {"idle": N_("idle"), "ringing": N_("ringing"), "in_use": N_("in use"), "busy": N_("busy"),
                   "on_hold": N_("on hold"), "unavailable": N_("unavailable"), "dnd": N_("do not disturb"),
                   "away": N_("away")}
STATUS_TITLES = {"ringing": N_("ringing"), "queued": N_("waiting"), "active": N_("on the line"),
                 "consulting": N_("consulting"), "parked": N_("parked"), "held": N_("on hold"),
                 "ended": N_("ended")}
OUTCOME_TITLES = {"connected": N_("connected"), "voicemail": N_("voicemail"), "message": N_("message taken"),
                  "missed": N_("missed"), "abandoned": N_("gave up waiting")}
URGENCY_TITLES = {"normal": N_("normal"), "urgent": N_("urgent")}
#: a message: ``open`` (a callback is wanted), ``noted`` (none wanted), ``done``
MESSAGE_STATUS_TITLES = {"open": N_("open"), "noted": N_("noted"), "done": N_("callback done")}
TRANSFER_MODE_TITLES = {"blind": N_("blind transfer"), "attended": N_("attended transfer"),
                        "voicemail": N_("to voicemail")}
TRANSFER_STATE_TITLES = {"consulting": N_("consulting"), "completed": N_("completed"),
                         "cancelled": N_("cancelled")}
#: why an attended transfer was cancelled (``transfers[-1]["reason"]``)
TRANSFER_REASON_TITLES = {"no answer": N_("no answer"), "away": N_("away"), "busy": N_("busy"),
                          "message": N_("message taken")}
#: why the PBX ended a call (Q.850 cause codes in Asterisk's Hangup event)
HANGUP_CAUSE_TITLES = {"16": N_("hung up"), "17": N_("busy"), "18": N_("no answer"), "19": N_("no answer"),
                       "21": N_("rejected"), "34": N_("no line free"), "38": N_("network out of order")}
#: links of a call's chain that are not a person (``cli.chain_text``)
CHAIN_LINK_TITLES = {"voicemail": N_("voicemail {name}"), "message": N_("message for {name}")}


#: the label of a stored code in one of the ``*_TITLES`` maps (core.i18n.Translator.label)
label = _.label


def presence_title(state: str | None) -> str:
    return label(PRESENCE_TITLES, state or "idle")


def outcome_title(outcome: str | None) -> str:
    return label(OUTCOME_TITLES, outcome or None)


def status_title(status: str | None) -> str:
    return label(STATUS_TITLES, status or None)


def urgency_title(urgency: str | None) -> str:
    return label(URGENCY_TITLES, urgency or None)


def message_status_title(status: str | None) -> str:
    return label(MESSAGE_STATUS_TITLES, status or None)


def transfer_title(transfer: dict) -> str:
    """``blind transfer``, ``attended transfer (cancelled)``… for a call's transfer entry."""
    mode = label(TRANSFER_MODE_TITLES, transfer.get("mode"))
    state = transfer.get("state")
    if not state:
        return mode
    text = label(TRANSFER_STATE_TITLES, state)
    if state == "cancelled" and transfer.get("reason") in TRANSFER_REASON_TITLES:
        text += ": " + label(TRANSFER_REASON_TITLES, transfer["reason"])
    return f"{mode} ({text})"


def is_extension(text: str) -> bool:
    return bool(_EXTENSION.match(text))


def normalize_number(text: Any, field: str = "number") -> str:
    """A phone number as ``+4930…`` or digits; raises ValidationError when malformed.

    Spaces, dashes, slashes, dots and brackets are dropped; ``00`` becomes
    ``+``. 2 to 20 digits.
    """
    if not isinstance(text, str):
        raise ValidationError(_("expected a phone number"), field=field)
    raw = text.strip()
    cleaned = _NUMBER_JUNK.sub("", raw)
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    if not cleaned or not _DIGITS.match(cleaned):
        raise ValidationError(_("{value!r} is not a phone number (digits, optionally a leading +)").format(
            value=raw[:40]), field=field)
    digits = cleaned.lstrip("+")
    if not 2 <= len(digits) <= 20:
        raise ValidationError(_("{value!r} is not a phone number (2 to 20 digits)").format(
            value=raw[:40]), field=field)
    return cleaned


def clean_text(value: Any, field: str, *, limit: int, required: bool = False) -> str:
    """Stripped text; one line unless ``multiline``; raises ValidationError."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(_("expected text"), field=field)
    value = check_text(value.strip(), field)
    if required and not value:
        raise ValidationError(_("must not be empty"), field=field)
    if len(value) > limit:
        raise ValidationError(_("at most {n} characters").format(n=limit), field=field)
    return value


def parse_range(text: str) -> tuple[int, int]:
    """``"100-199"`` -> (100, 199); raises ValueError with a message."""
    match = re.fullmatch(r"\s*(\d{2,6})\s*-\s*(\d{2,6})\s*", str(text))
    if not match:
        raise ValueError("expected a range of extensions like '100-199'")
    low, high = match.group(1), match.group(2)
    if len(low) != len(high) or int(low) > int(high):
        raise ValueError("expected a range like '100-199' (same number of digits, low to high)")
    return int(low), int(high)


def check_range(text: str) -> str:
    parse_range(text)
    return text


def parse_hours(text: str) -> tuple[int, int]:
    """``"08:00-17:30"`` -> minutes (480, 1050); raises ValueError."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", str(text))
    if not match:
        raise ValueError("expected business hours like '08:00-17:00'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or h1 * 60 + m1 >= h2 * 60 + m2:
        raise ValueError("expected business hours like '08:00-17:00' (start before end)")
    return h1 * 60 + m1, h2 * 60 + m2


def check_hours(text: str) -> str:
    parse_hours(text)
    return text


def format_duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{sec:02d}"
    return f"{minutes}:{sec:02d}"
