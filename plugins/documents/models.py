"""Records of the documents plugin and the rules they follow.

Every ``check_*``/``clean_*`` function takes raw input (from a form, the CLI
or an import), returns the cleaned value and raises
:class:`core.errors.ValidationError` naming the field otherwise. Nothing here
touches the store.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Iterable

from core.dates import check_year
from core.errors import ValidationError
from core.i18n import N_, translator_for
from core.safetext import check_text
from pathlib import Path

_ = translator_for("documents", Path(__file__).parent / "locale")

DIRECTIONS = ("incoming", "outgoing", "internal")
ALGORITHMS = ("any", "all", "exact", "regex")
OUTBOX_STATUSES = ("queued", "sending", "sent", "failed", "unknown")

# -- what a person sees for a stored code -----------------------------------------
# Records, CSV and JSON keep the codes (the keys); screens, cards and the CLI's
# listings show ``label(MAP, code)``: the N_() text, translated when shown.
DIRECTION_TITLES = {"incoming": N_("incoming"), "outgoing": N_("outgoing"), "internal": N_("internal")}
#: how a matching rule's ``match`` is looked for
ALGORITHM_TITLES = {"any": N_("any word"), "all": N_("all words"), "exact": N_("exact text"),
                    "regex": N_("regular expression")}
#: an outbox job: queued → sending → sent (email; a fax server may report
#: ``submitted`` first), or failed / unknown (the sender stopped half-way)
OUTBOX_STATUS_TITLES = {"queued": N_("queued"), "sending": N_("sending"), "submitted": N_("submitted"),
                        "sent": N_("sent"), "retrying": N_("retrying"), "failed": N_("failed"),
                        "unknown": N_("unknown")}


def shown_status(row: dict) -> str:
    """The state an operator reads for an outbox job: a try that failed and
    will be tried again is ``retrying``; ``failed`` only once it was given up
    (no next try: an operator requeues it)."""
    if row.get("status") == "failed" and row.get("next_attempt_at"):
        return "retrying"
    return row.get("status") or ""
OUTBOX_KIND_TITLES = {"email": N_("email"), "fax": N_("fax")}
MAIL_STATUS_TITLES = {"handled": N_("handled"), "ignored": N_("ignored"), "refused": N_("refused")}
INTAKE_STATUS_TITLES = {"waiting": N_("waiting"), "refused": N_("refused"), "filed": N_("filed"),
                        "gone": N_("gone")}
#: a document's history (``history.what``); sending adds ``<kind>_<outbox status>``
HISTORY_TITLES = {"filed": N_("filed"), "edited": N_("edited"), "version_added": N_("new version"),
                  "copied": N_("copied"), "email_queued": N_("email queued"), "email_sent": N_("email sent"),
                  "email_submitted": N_("email submitted"), "email_failed": N_("email failed"),
                  "fax_queued": N_("fax queued"), "fax_sent": N_("fax sent"), "fax_submitted": N_("fax submitted"),
                  "fax_failed": N_("fax failed"), "ocr_queued": N_("OCR queued"), "ocr_done": N_("text recognised"),
                  "ocr_failed": N_("OCR failed"), "ocr_interrupted": N_("OCR interrupted"), "printed": N_("printed"),
                  "scanned": N_("scanned")}


#: the label of a stored code in one of the ``*_TITLES`` maps (core.i18n.Translator.label)
label = _.label


MAX_TITLE = 200
MAX_TEXT_FIELD = 200
MAX_TAGS = 30
MAX_TAG = 60
MAX_REGEX = 200
MAX_QUERY = 500
MAX_RECIPIENTS = 20
MAX_NOTE = 4000

_TAG_SEGMENT = re.compile(r"[\w][\w .&+-]*", re.UNICODE)
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")
_FAX_CHARS = re.compile(r"\+?[0-9 ()/.-]+")


def _text(value: Any, field: str, *, required: bool = False, limit: int = MAX_TEXT_FIELD) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(_("must be text"), field=field)
    value = check_text(" ".join(value.split()), field)
    if required and not value:
        raise ValidationError(_("is required"), field=field)
    if len(value) > limit:
        raise ValidationError(_("is too long (at most {n} characters)").format(n=limit), field=field)
    return value


def clean_title(value: Any) -> str:
    return _text(value, "title", required=True, limit=MAX_TITLE)


def clean_direction(value: Any) -> str:
    value = (value or "incoming") if isinstance(value, (str, type(None))) else value
    if value not in DIRECTIONS:
        raise ValidationError(_("must be one of: {choices}").format(choices=", ".join(DIRECTIONS)),
                              field="direction")
    return value


def clean_date(value: Any, field: str = "date") -> str:
    """An ISO date (``YYYY-MM-DD``); a ``date`` is accepted too."""
    if isinstance(value, date):
        return check_year(value, field).isoformat()
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(_("is required (YYYY-MM-DD)"), field=field)
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(_("is not a date (YYYY-MM-DD): {value}").format(value=value[:40]),
                              field=field) from None
    return check_year(day, field).isoformat()


def clean_tags(value: Any) -> list[str]:
    """Hierarchical tags ``finance/invoices``: a list or a comma-separated text."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise ValidationError(_("must be a list of tags"), field="tags")
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ValidationError(_("must be a list of tags"), field="tags")
        parts = [p.strip() for p in item.strip().strip("/").split("/")]
        if parts == [""]:
            continue
        tag = "/".join(parts)
        if len(tag) > MAX_TAG or not all(_TAG_SEGMENT.fullmatch(p) for p in parts):
            raise ValidationError(_("not a valid tag: {tag!r} (letters, digits, spaces; "
                                    "levels separated by /)").format(tag=item[:40]), field="tags")
        if tag.casefold() not in (t.casefold() for t in out):
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise ValidationError(_("too many tags (at most {n})").format(n=MAX_TAGS), field="tags")
    return out


def tag_matches(tag: str, wanted: str) -> bool:
    """``finance`` matches ``finance`` and ``finance/invoices`` (case-insensitive)."""
    t, w = tag.casefold(), wanted.casefold().strip("/")
    return t == w or t.startswith(w + "/")


def check_filename(value: Any) -> str:
    """A stored file's name: one plain name, never a path (no ``../``)."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(_("a file name is required"), field="filename")
    name = value.strip()
    if ("/" in name or "\\" in name or name in (".", "..") or name.startswith("..")
            or any(ord(c) < 32 for c in name)):
        raise ValidationError(_("must be a plain file name, not a path: {name!r}").format(name=name[:60]),
                              field="filename")
    if len(name) > 255:
        raise ValidationError(_("is too long (at most 255 characters)"), field="filename")
    return name


def check_email(value: Any, field: str = "to") -> str:
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.fullmatch(value.strip()):
        shown = value[:60] if isinstance(value, str) else repr(value)[:60]
        raise ValidationError(_("not a valid email address: {value!r}").format(value=shown), field=field)
    return value.strip()


def check_fax_number(value: Any, field: str = "to") -> str:
    """A dialable fax number: digits with an optional leading +; spaces,
    dashes, dots, slashes and brackets are dropped. 3 to 20 digits."""
    if not isinstance(value, str) or not _FAX_CHARS.fullmatch(value.strip()):
        shown = value[:40] if isinstance(value, str) else repr(value)[:40]
        raise ValidationError(_("not a valid fax number: {value!r}").format(value=shown), field=field)
    raw = value.strip()
    digits = re.sub(r"\D", "", raw)
    if not 3 <= len(digits) <= 20 or "+" in raw[1:]:
        raise ValidationError(_("not a valid fax number: {value!r}").format(value=raw[:40]), field=field)
    return ("+" if raw.startswith("+") else "") + digits


def check_regex(pattern: str, field: str = "match") -> re.Pattern:
    if len(pattern) > MAX_REGEX:
        raise ValidationError(_("regular expression too long (at most {n} characters)").format(n=MAX_REGEX),
                              field=field)
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValidationError(_("not a valid regular expression: {error}").format(error=exc), field=field) from None


def clean_order(value: Any) -> int:
    """A rule's place: a whole number from 0 to 9999, lower first (empty: 100)."""
    if value is None or value == "":
        return 100
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9999:
        raise ValidationError(_("must be a whole number from 0 to 9999"), field="order")
    return value


def clean_rule(data: dict) -> dict:
    """A matching rule: ``name``, ``match``, ``algorithm`` and what it assigns."""
    out = {
        "name": _text(data.get("name"), "name", required=True, limit=80),
        "algorithm": data.get("algorithm") or "any",
        "correspondent": _text(data.get("correspondent"), "correspondent"),
        "type": _text(data.get("type"), "type"),
        "tags": clean_tags(data.get("tags")),
        "order": clean_order(data.get("order")),
    }
    if out["algorithm"] not in ALGORITHMS:
        raise ValidationError(_("must be one of: {choices}").format(choices=", ".join(ALGORITHMS)),
                              field="algorithm")
    match = data.get("match")
    if not isinstance(match, str) or not match.strip():
        raise ValidationError(_("is required"), field="match")
    if out["algorithm"] == "regex":
        check_regex(match)
        out["match"] = match
    else:
        out["match"] = _text(match, "match", required=True, limit=MAX_REGEX)
    if not (out["correspondent"] or out["type"] or out["tags"]):
        raise ValidationError(_("a rule must assign a correspondent, a type or tags"), field="correspondent")
    return out


def rule_matches(rule: dict, text: str) -> bool:
    """Whether ``text`` (a file's name and content) satisfies ``rule``."""
    hay = text.casefold()
    match = rule["match"]
    algo = rule.get("algorithm", "any")
    if algo == "regex":
        try:
            return re.search(match, text, re.IGNORECASE) is not None
        except re.error:
            return False
    if algo == "exact":
        return match.casefold() in hay
    words = [w for w in match.casefold().split() if w]
    found = [re.search(r"(?<!\w)" + re.escape(w) + r"(?!\w)", hay) is not None for w in words]
    return all(found) if algo == "all" else any(found)


def retention_until(doc_date: str, years: int | None) -> str | None:
    """Kept until the end of the year ``years`` after the document's year
    (how German retention periods run: §147 AO, §257 HGB)."""
    if not years:
        return None
    return date(date.fromisoformat(doc_date).year + int(years), 12, 31).isoformat()


def clean_custom_fields(value: Any, allowed: Iterable[str]) -> dict:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ValidationError(_("must be a mapping of field names to values"), field="fields")
    allowed = list(allowed)
    out = {}
    for key, val in value.items():
        if key not in allowed:
            raise ValidationError(_("{key!r} is not a field of this type (fields: {known})").format(
                key=str(key)[:40], known=", ".join(allowed) or "—"), field="fields")
        out[key] = _text(val, f"fields.{key}")
    return out


# -- what the search keeps on each document ---------------------------------------
#: a word as the search looks for it: a run of word characters
WORD = re.compile(r"\w+")


def search_parts(doc: dict) -> list[str]:
    """The texts of a document a search word is looked for in, besides its
    file: title, correspondent, type, tags, location, custom fields, ASN."""
    fields = doc.get("fields")
    tags = doc.get("tags")
    return [str(doc.get("title") or ""), str(doc.get("correspondent") or ""), str(doc.get("type") or ""),
            " ".join(str(t) for t in tags) if type(tags) is list else str(tags or ""),
            str(doc.get("location") or ""),
            " ".join(str(v) for v in fields.values()) if type(fields) is dict else str(fields or ""),
            str(doc.get("asn") or "")]


def words_of(*texts: str | None) -> str:
    """The words of ``texts`` case-folded, each once, joined by spaces: a
    search word made of word characters alone (case-folded, as every search
    term is) is in the case-folded texts exactly when it is inside one of
    these — so the store's ``Contains`` on them finds what Python's test on
    the texts found, whatever the store's own folding (these are folded
    already)."""
    return " ".join(dict.fromkeys(WORD.findall("\n".join(t or "" for t in texts).casefold())))


def search_fields(doc: dict) -> dict:
    """What a document keeps for the search from its other fields, on every
    write whoever writes (the documents table's ``derive``): ``fields_words``,
    the words of :func:`search_parts`; and ``file_words``, the words of its
    current version's file name and text, which only the service can write:
    they hold for the version ``file_words_version`` names, so a write that
    makes another version current without them (not through the service)
    leaves them unknown (None) and ``file_words_missing`` true (a flag a
    store finds by its index, or its segments' headers) until
    :func:`plugins.documents.service.fill_file_words` reads that version."""
    missing = doc.get("file_words_version") != (doc.get("current_version") or 0) \
        or type(doc.get("file_words")) is not str
    out: dict = {"fields_words": words_of(*search_parts(doc)), "file_words_missing": missing}
    if missing:
        out.update(file_words=None, file_words_version=None)
    return out
