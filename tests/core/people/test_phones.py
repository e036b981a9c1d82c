"""Parsing numbers as people write them: every test runs with both readers (plain and fast)."""

import pytest
from phonenumbers import timezone as pn_timezone

from ringround.phone_readers import FastReader, PlainReader
from ringround.phones import (
    ParsedPhone,
    PhoneError,
    parse_phone,
    readable,
    time_zone_for,
    use_reader,
)


@pytest.fixture(autouse=True, params=[FastReader, PlainReader], ids=["fast", "plain"])
def reader(request):
    """The shared suite: `phonenumbers`' public API alone, and our shortcuts."""
    with use_reader(request.param()):
        yield request.param


@pytest.mark.parametrize("raw, region, e164, extension, mobile", [
    ("06 12 34 56 78", "FR", "+33612345678", None, True),
    ("'0612345678", "FR", "+33612345678", None, True),
    ("0033 6 12 34 56 78", None, "+33612345678", None, True),
    ("33612345678.0", "FR", "+33612345678", None, True),
    ("01 23 45 67 89 poste 12", "FR", "+33123456789", "12", False),
    ("(617) 555-0143 x123", "US", "+16175550143", "123", True),
    ("+1 617-555-0143 ext. 7", None, "+16175550143", "7", True),
    ("070-123 45 67", "SE", "+46701234567", None, True),
    ("08-123 456 78 ankn. 3", "SE", "+46812345678", "3", False),
    ("06-12345678", "NL", "+31612345678", None, True),
    ("020 123 4567 toestel 22", "NL", "+31201234567", "22", False),
])
def test_numbers_written_many_ways(raw, region, e164, extension, mobile):
    parsed = parse_phone(raw, region)
    assert isinstance(parsed, ParsedPhone), parsed
    assert (parsed.e164, parsed.extension, parsed.is_mobile) == (e164, extension, mobile)


@pytest.mark.parametrize("raw, region, code", [
    ("", "FR", "empty"), ("n/a", "FR", "not_a_number"), ("555-0100", None, "needs_country"),
    ("06 12", "FR", "too_short"), ("6.12346E+10", "FR", "scientific"),
    ("+33 9 99 99 99 99 99 99 99", None, "too_long"), ("+882 1234", None, "invalid"),
])
def test_bad_numbers_say_why(raw, region, code):
    parsed = parse_phone(raw, region)
    assert isinstance(parsed, PhoneError) and parsed.code == code and parsed.message


@pytest.mark.parametrize("raw, region", [
    ("+999 123 456", None), ("+999 123 456", "FR"), ("00999 123 456", "FR"),
    ("00999123456", None), ("'+999-123-456", "SE"),
])
def test_an_unknown_calling_code_is_named_not_taken_for_a_national_number(raw, region):
    parsed = parse_phone(raw, region)
    assert isinstance(parsed, PhoneError) and parsed.code == "unknown_country_code"
    assert parsed.message == "+999 is not a country calling code"


def test_time_zone_refined_by_postcode_when_number_spans_zones():
    mobile = parse_phone("+61 412 345 678", None)
    assert len(mobile.time_zones) > 1
    assert time_zone_for(mobile, "AU", "6000") == "Australia/Perth"
    assert time_zone_for(mobile, "AU", "3000") == "Australia/Melbourne"
    assert time_zone_for(mobile, None, None) == "Australia/Sydney"
    toll_free = parse_phone("+1 800 555 0100", None)
    assert time_zone_for(toll_free, "US", "94103") == "America/Los_Angeles"
    assert time_zone_for(toll_free, "CA", "T2P 1J9") == "America/Edmonton"
    assert time_zone_for(parse_phone("+1 617 555 0143", None), "US", "94103") == \
        "America/New_York"  # a number in one zone keeps it


def test_both_readers_agree_with_phonenumbers_everywhere():
    """Our cleaning and shortcuts (own parse for plain numbers, one regex for the special
    types) must give exactly what `phonenumbers` gives, for every region, type and way of
    writing."""
    import random

    import phonenumbers as pn

    rng = random.Random(5)
    mobile_types = (pn.PhoneNumberType.MOBILE, pn.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    checked = 0
    for region in sorted(pn.SUPPORTED_REGIONS):
        for kind in (pn.PhoneNumberType.MOBILE, pn.PhoneNumberType.FIXED_LINE,
                     pn.PhoneNumberType.TOLL_FREE, pn.PhoneNumberType.VOIP):
            example = pn.example_number_for_type(region, kind)
            if example is None:
                continue
            for _ in range(4):
                national = str(example.national_number)
                national = national[:-3] + f"{rng.randint(0, 999):03d}"
                number = pn.PhoneNumber(
                    country_code=example.country_code, national_number=int(national),
                    italian_leading_zero=example.italian_leading_zero,
                    number_of_leading_zeros=example.number_of_leading_zeros)
                e164 = pn.format_number(number, pn.PhoneNumberFormat.E164)
                for style in (pn.PhoneNumberFormat.NATIONAL,
                              pn.PhoneNumberFormat.INTERNATIONAL, pn.PhoneNumberFormat.E164,
                              "00"):
                    # "00": international, written with the European prefix (`0033 6…`)
                    text = "00" + e164[1:] if style == "00" else pn.format_number(number, style)
                    ours = parse_phone(text, region)
                    checked += 1
                    try:
                        reference = pn.parse(text, region)
                    except pn.NumberParseException:  # "00" is not everywhere the prefix
                        assert isinstance(ours, PhoneError), (region, text)
                        continue
                    if not pn.is_valid_number(reference):
                        assert isinstance(ours, PhoneError), (region, text)
                        continue
                    assert isinstance(ours, ParsedPhone), (region, text, ours)
                    assert ours.e164 == pn.format_number(reference, pn.PhoneNumberFormat.E164)
                    assert ours.country == pn.region_code_for_number(reference)
                    assert ours.is_mobile == (pn.number_type(reference) in mobile_types)
                    zones = pn_timezone.time_zones_for_number(reference)
                    assert ours.time_zones == tuple(z for z in zones if z != "Etc/Unknown"), \
                        (region, text)
    assert checked > 5000


@pytest.mark.parametrize(("e164", "shown"), [
    ("+33612345678", "+33 6 12 34 56 78"), ("+46701234567", "+46 70 123 45 67"),
    ("+31612345678", "+31 6 12345678"), ("+12025550143", "+1 202-555-0143"),
    ("not a number", "not a number"), (None, "")])
def test_a_stored_number_reads_in_groups_and_stays_international(e164, shown):
    assert readable(e164) == shown
