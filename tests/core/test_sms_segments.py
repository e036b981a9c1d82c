"""Segments and encoding, checked against the 3GPP TS 23.038 tables."""

from __future__ import annotations

import pytest

from ringround.sms_segments import GSM7, UCS2, segments

# 23.038 basic character set (all 127 printable entries plus LF and CR), one septet each.
BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
         "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
# 23.038 extension table: escape + one septet each.
EXTENSION = "^{}\\[~]|€\f"


def test_every_basic_character_is_one_septet_and_every_extension_two():
    assert segments(BASIC) == segments("x" * len(BASIC))
    assert segments(BASIC).encoding == GSM7
    result = segments(EXTENSION)
    assert (result.encoding, result.units) == (GSM7, 2 * len(EXTENSION))


@pytest.mark.parametrize(("name", "encoding"), [
    ("Aïcha", UCS2), ("Zoë", UCS2), ("François", UCS2), ("Chloé", GSM7), ("Müller", GSM7),
    ("ÅSA ÖBERG", GSM7), ("Ümit", GSM7), ("Peña", GSM7), ("Ängel", GSM7)])
def test_names_decide_the_encoding(name, encoding):
    assert segments(f"Hi {name}, the rally is on Saturday.").encoding == encoding


@pytest.mark.parametrize(("text", "count"), [
    ("", 0), ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3),
    ("€" * 80, 1), ("€" * 81, 2),
    # 152 septets then an escape pair: the pair moves whole to the next segment.
    ("a" * 152 + "€" + "a" * 10, 2), ("a" * 152 + "€" + "a" * 152, 3),
    ("ï" * 70, 1), ("ï" * 71, 2), ("ï" * 134, 2), ("ï" * 135, 3),
    # An emoji is a surrogate pair (two UTF-16 units), never split.
    ("ï" * 66 + "🙂" + "ï" * 3, 2), ("ï" * 66 + "🙂" + "ï" * 66, 3)])
def test_segment_counts_and_splits(text, count):
    assert segments(text).count == count


def test_cost_factor_and_warning_over_two_segments():
    two = segments("Aïcha " + "x" * 128)
    assert (two.encoding, two.count, two.cost_factor, two.too_long) == (UCS2, 2, 2, False)
    three = segments("Aïcha " + "x" * 129)
    assert (three.count, three.cost_factor, three.too_long) == (3, 3, True)
