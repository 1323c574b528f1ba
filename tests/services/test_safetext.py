"""core.safetext: control characters shown, not sent; refused when stored."""

from __future__ import annotations

import io
import json

import pytest

from core.errors import ValidationError
from core.safetext import SafeStream, check_text, json_safe, one_line, refuse_controls, visible

HOSTILE = "a\x1b]0;pwned\x07b\rc\u202ed\x9be\x00f\x7fg\u2028h"


def test_visible_shows_every_control_and_keeps_newlines_and_tabs():
    assert visible(HOSTILE) == "a␛]0;pwned␇b␍c\\u202ed\\x9be␀f␡g\\u2028h"
    assert visible("two\tcolumns\nand lines") == "two\tcolumns\nand lines"
    assert visible("a,b\r\nc,d\r\n") == "a,b\r\nc,d\r\n"  # CSV's line ends stay; a lone CR does not
    plain = "Müller & Söhne — 12 €"
    assert visible(plain) is plain


def test_one_line_also_flattens_newlines_and_tabs():
    assert one_line("a\r\nb\nc\td\re") == "a b c d␍e"
    assert "\x1b" not in one_line(HOSTILE) and "\n" not in one_line("x\ny")


def test_check_text_names_the_field_and_the_character():
    assert check_text("fine\twith\nlines", "note") == "fine\twith\nlines"
    assert check_text(12, "amount") == 12
    with pytest.raises(ValidationError) as err:
        check_text("x\x1b[31m", "name")
    assert err.value.field == "name" and "ESC (U+001B)" in str(err.value)
    with pytest.raises(ValidationError, match="RLO"):
        check_text("gnp\u202eexe", "title")
    with pytest.raises(ValidationError, match="CR"):
        check_text("overwrite\rthis", "text")
    with pytest.raises(ValidationError, match="CR"):
        check_text("stored line ends are\r\nnewlines", "text")


def test_refuse_controls_walks_nested_values_and_keys():
    refuse_controls({"a": ["ok", {"b": "fine"}], "n": 1, "none": None})
    with pytest.raises(ValidationError) as err:
        refuse_controls({"lines": [{"memo": "x\x07"}]})
    assert err.value.field == "lines"
    with pytest.raises(ValidationError):
        refuse_controls({"bad\x1bkey": 1})


def test_json_safe_is_lossless_and_harmless():
    data = {"name": HOSTILE, "n": 1}
    text = json_safe(data, indent=2)
    assert visible(text) == text  # nothing a terminal would act on
    assert json.loads(text) == data


def test_safe_stream_writes_visible_text():
    raw = io.StringIO()
    stream = SafeStream(raw)
    print(f"hello {HOSTILE}", file=stream)
    assert raw.getvalue() == "hello " + visible(HOSTILE) + "\n"
    with pytest.raises(TypeError):
        stream.write(b"bytes")
