"""Interview dates as an iCalendar file (RFC 5545), written by hand.

Lines end in CRLF and are folded at 75 octets (never inside a UTF-8
sequence); text values escape backslash, semicolon, comma and newlines;
times are UTC (``…Z``); every event has a UID and a DTSTAMP.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable


def escape_text(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line: str) -> str:
    """One content line folded to at most 75 octets per physical line."""
    raw = line.encode("utf-8")
    if len(raw) <= 75:
        return line + "\r\n"
    parts: list[bytes] = []
    limit = 75
    while raw:
        cut = min(limit, len(raw))
        # do not split a multi-byte character: back up to a lead byte
        while cut < len(raw) and (raw[cut] & 0xC0) == 0x80:
            cut -= 1
        parts.append(raw[:cut])
        raw = raw[cut:]
        limit = 74  # continuation lines start with one space
    return "\r\n ".join(p.decode("utf-8") for p in parts) + "\r\n"


def _stamp(iso_utc: str) -> str:
    moment = dt.datetime.fromisoformat(iso_utc.replace("Z", "+00:00")).astimezone(dt.timezone.utc)
    return moment.strftime("%Y%m%dT%H%M%SZ")


def calendar(events: Iterable[dict], *, now: str, domain: str = "backdesk.invalid") -> str:
    """A VCALENDAR with one VEVENT per dict (``uid``, ``start`` ISO UTC,
    ``minutes``, ``summary``, ``location``, ``description``)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Backdesk//HR interviews//EN", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH"]
    stamp = _stamp(now)
    for ev in events:
        start = dt.datetime.fromisoformat(ev["start"].replace("Z", "+00:00")).astimezone(dt.timezone.utc)
        end = start + dt.timedelta(minutes=int(ev.get("minutes") or 60))
        lines += ["BEGIN:VEVENT", f"UID:{ev['uid']}@{domain}", f"DTSTAMP:{stamp}",
                  f"DTSTART:{start.strftime('%Y%m%dT%H%M%SZ')}", f"DTEND:{end.strftime('%Y%m%dT%H%M%SZ')}",
                  f"SUMMARY:{escape_text(ev.get('summary') or '')}"]
        if ev.get("location"):
            lines.append(f"LOCATION:{escape_text(ev['location'])}")
        if ev.get("description"):
            lines.append(f"DESCRIPTION:{escape_text(ev['description'])}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(fold(line) for line in lines)
