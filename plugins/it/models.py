"""IT records and their validation: tickets, assets, maintenance, changes, checks.

Everything here is plain Python (no storage, no Textual): the rules a
record must follow and the small parsers that turn typed text into stored
values. Errors are :class:`core.errors.ValidationError` with the field.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit

from core.dates import check_year
from core.errors import ValidationError
from core.i18n import N_, date_text, translator_for
from core.safetext import check_text

_ = translator_for("it", Path(__file__).parent / "locale")

# -- tickets ---------------------------------------------------------------------
STATUSES = ("new", "open", "waiting", "resolved", "closed")
STATUS_TITLES = {"new": N_("new"), "open": N_("open"), "waiting": N_("waiting"),
                 "resolved": N_("resolved"), "closed": N_("closed")}
#: status -> the statuses the workflow allows next ("reopen" is checked apart)
TRANSITIONS = {
    "new": ("open", "waiting", "resolved"),
    "open": ("waiting", "resolved"),
    "waiting": ("open", "resolved"),
    "resolved": ("closed", "open"),
    "closed": ("open",),
}
ACTIVE = ("new", "open", "waiting")
PRIORITIES = ("urgent", "high", "normal", "low")
PRIORITY_TITLES = {"urgent": N_("urgent"), "high": N_("high"), "normal": N_("normal"), "low": N_("low")}
KINDS = ("incident", "request")
KIND_TITLES = {"incident": N_("incident"), "request": N_("request")}
CATEGORIES = ("hardware", "software", "network", "phone", "access")
CATEGORY_TITLES = {"hardware": N_("hardware"), "software": N_("software"), "network": N_("network"),
                   "phone": N_("phone"), "access": N_("access")}

# -- assets ----------------------------------------------------------------------
ASSET_TYPES = ("computer", "printer", "phone", "licence", "accessory", "consumable")
ASSET_TYPE_TITLES = {"computer": N_("computer"), "printer": N_("printer"), "phone": N_("phone"),
                     "licence": N_("licence"), "accessory": N_("accessory"),
                     "consumable": N_("consumable")}
ASSET_STATUSES = ("in_use", "spare", "in_repair", "retired")
ASSET_STATUS_TITLES = {"in_use": N_("in use"), "spare": N_("spare"), "in_repair": N_("in repair"),
                       "retired": N_("retired")}
#: types counted by quantity rather than one item each
STOCK_TYPES = ("accessory", "consumable")

#: what an asset's history records (``asset_history.action``)
ASSET_ACTION_TITLES = {"added": N_("added"), "check_out": N_("checked out to"),
                       "check_in": N_("checked in from"), "issue": N_("issued to"), "restock": N_("restocked"),
                       "edited": N_("edited"), "inventory": N_("inventory imported")}
#: what a FusionInventory import did with the computer
IMPORT_RESULT_TITLES = {"created": N_("added"), "updated": N_("updated")}

# -- changes ---------------------------------------------------------------------
CHANGE_STATUSES = ("proposed", "approved", "rejected", "done", "failed")
CHANGE_STATUS_TITLES = {"proposed": N_("proposed"), "approved": N_("approved"), "rejected": N_("rejected"),
                        "done": N_("done"), "failed": N_("failed")}
RISKS = ("low", "medium", "high")
RISK_TITLES = {"low": N_("low"), "medium": N_("medium"), "high": N_("high")}

# -- checks ----------------------------------------------------------------------
CHECK_KINDS = ("tcp", "http", "dns", "disk")
CHECK_KIND_TITLES = {"tcp": N_("TCP port"), "http": N_("HTTP status"), "dns": N_("DNS resolution"),
                     "disk": N_("disk free")}
#: a check's state; a check not run yet has none ("unknown"); the status board
#: shows "failing" in capitals
CHECK_STATE_TITLES = {"ok": N_("ok"), "failing": N_("failing"), "unknown": N_("unknown")}


#: the label of a stored code in one of the ``*_TITLES`` maps (core.i18n.Translator.label)
label = _.label

MAX_TITLE = 200
MAX_TEXT = 20_000
MAX_TAG = 40
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_HOST = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGT]?)B?$", re.I)


def text(value, field: str, *, required: bool = False, limit: int = MAX_TITLE) -> str:
    """A stripped text value; one line unless limit is MAX_TEXT."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(_("must be text"), field=field)
    value = value.strip()
    if required and not value:
        raise ValidationError(_("is required"), field=field)
    if len(value) > limit:
        raise ValidationError(_("is too long (at most {n} characters)").format(n=limit), field=field)
    if limit <= MAX_TITLE and ("\n" in value or "\r" in value):
        raise ValidationError(_("must be one line"), field=field)
    return check_text(value, field)


def choice(value, field: str, allowed, *, default=None) -> str:
    if value in (None, "") and default is not None:
        return default
    if value not in allowed:
        raise ValidationError(_("{value!r} is not one of {allowed}").format(
            value=value, allowed=", ".join(allowed)), field=field)
    return value


def iso_date(value, field: str, *, required: bool = False) -> str | None:
    """A date as "YYYY-MM-DD" (also accepts a date object); None when empty."""
    if value in (None, ""):
        if required:
            raise ValidationError(_("is required"), field=field)
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return check_year(value, field).isoformat()
    if not isinstance(value, str):
        raise ValidationError(_("is not a date"), field=field)
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(_("{value!r} is not a date like 2026-03-31").format(value=value),
                              field=field) from None
    return check_year(day, field).isoformat()


def future_date(value, field: str, today: dt.date, *, required: bool = False) -> str | None:
    """A date that is today or later (a due date in the past is refused)."""
    out = iso_date(value, field, required=required)
    if out is not None and dt.date.fromisoformat(out) < today:
        raise ValidationError(_("{date} is in the past").format(date=date_text(out)), field=field)
    return out


def whole(value, field: str, *, minimum: int = 0, maximum: int = 10**9, default=None) -> int:
    if value in (None, "") and default is not None:
        return default
    if isinstance(value, bool):
        raise ValidationError(_("must be a whole number"), field=field)
    if isinstance(value, str):
        v = value.strip()
        if not re.fullmatch(r"[+-]?\d{1,12}", v):
            raise ValidationError(_("{value!r} is not a whole number").format(value=value), field=field)
        value = int(v)
    if not isinstance(value, int):
        raise ValidationError(_("must be a whole number"), field=field)
    if not minimum <= value <= maximum:
        raise ValidationError(_("must be between {a} and {b}").format(a=minimum, b=maximum), field=field)
    return value


def asset_tag(value, field: str = "tag") -> str:
    tag = text(value, field, required=True, limit=MAX_TAG)
    if not _TAG.match(tag):
        raise ValidationError(_("{tag!r}: use letters, digits, '.', '_', '/', '-'").format(tag=tag),
                              field=field)
    return tag


def clean_asset(data: dict, today: dt.date, *, partial: bool = False) -> dict:
    """Validate asset fields; ``partial`` checks only the keys given."""
    out: dict = {}

    def has(key):
        return not partial or key in data

    if has("tag"):
        out["tag"] = asset_tag(data.get("tag"))
    if has("type"):
        out["type"] = choice(data.get("type"), "type", ASSET_TYPES)
    for key in ("model", "serial", "name", "location", "os", "cpu", "notes"):
        if key in data or not partial:
            out[key] = text(data.get(key), key, limit=MAX_TEXT if key == "notes" else MAX_TITLE)
    if has("status"):
        out["status"] = choice(data.get("status"), "status", ASSET_STATUSES, default="spare")
    for key in ("purchase_date", "warranty_end", "next_audit"):
        if has(key):
            out[key] = iso_date(data.get(key), key)
    if out.get("purchase_date") and out.get("warranty_end") and out["warranty_end"] < out["purchase_date"]:
        raise ValidationError(_("ends before the purchase date"), field="warranty_end")
    if has("seats"):
        out["seats"] = whole(data.get("seats"), "seats", default=0, maximum=1_000_000)
    if has("quantity"):
        out["quantity"] = whole(data.get("quantity"), "quantity", default=0, maximum=10**9)
    if has("min_quantity"):
        out["min_quantity"] = whole(data.get("min_quantity"), "min_quantity", default=0, maximum=10**9)
    if has("memory_mb"):
        out["memory_mb"] = whole(data.get("memory_mb"), "memory_mb", default=0, maximum=10**9)
    return out


# -- check targets ------------------------------------------------------------------
def _host(host: str, field: str) -> str:
    host = host.strip()
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if not _HOST.match(host):
        raise ValidationError(_("{host!r} is not a host name or IP address").format(host=host), field=field)
    return host


def parse_size(value: str, field: str = "expect") -> tuple[str, float]:
    """ "10%" -> ("percent", 10); "2G" -> ("bytes", 2*1024**3)."""
    v = str(value).strip()
    if v.endswith("%"):
        try:
            n = float(v[:-1])
        except ValueError:
            n = -1
        if not 0 < n < 100:
            raise ValidationError(_("{value!r}: a percentage between 0 and 100").format(value=value), field=field)
        return "percent", n
    m = _SIZE.match(v)
    if not m:
        raise ValidationError(_("{value!r} is not a size like 10% or 2G").format(value=value), field=field)
    unit = " KMGT".index((m.group(2) or " ").upper())
    return "bytes", float(m.group(1)) * 1024**unit


def clean_check(kind, target, expect=None) -> dict:
    """A check's kind, target and expectation, or one clear ValidationError."""
    kind = choice(kind, "kind", CHECK_KINDS)
    target = text(target, "target", required=True, limit=500)
    if kind == "tcp":
        host, sep, port = target.rpartition(":")
        if not sep or not host:
            raise ValidationError(_("{t!r} is not host:port").format(t=target), field="target")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        _host(host, "target")
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValidationError(_("{t!r}: the port must be 1-65535").format(t=target), field="target")
        expect = None
    elif kind == "http":
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError(_("{t!r} is not an http:// or https:// URL").format(t=target), field="target")
        try:
            parts.port
        except ValueError:
            raise ValidationError(_("{t!r}: the port must be 1-65535").format(t=target), field="target") from None
        expect = whole(expect, "expect", minimum=100, maximum=599, default=200)
    elif kind == "dns":
        _host(target, "target")
        expect = None
    else:  # disk
        if not target.startswith("/"):
            raise ValidationError(_("{t!r} is not an absolute path").format(t=target), field="target")
        expect = str(expect or "10%").strip()
        parse_size(expect)
    return {"kind": kind, "target": target, "expect": expect}
