"""The two readers of a cleaned phone number, one interface: plain and fast.

`ringround.phones.parse_phone` cleans what people write (spaces, extensions, Excel's ways),
then hands the text to a `PhoneReader`:

- `PlainReader`: `phonenumbers`' public API (`parse`, `region_code_for_number`,
  `number_type`, `time_zones_for_number`): the reference.
- `FastReader`, the default: the same answers at a fraction of the cost, for imports of
  millions of rows. It parses plain numbers of the common regions itself, classifies with
  each region's patterns prepared once, and finds time zones by prefix, reading `phonenumbers`'
  metadata and some of its private functions (`phonenumberutil._number_type_helper`,
  `timezone.TIMEZONE_DATA`). pyproject.toml therefore pins `phonenumbers` to one minor
  range; tests/core/people/test_phones.py runs against both readers, and compares them with
  `phonenumbers` for every region and type.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple, Protocol

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat, PhoneNumberType
from phonenumbers import phonenumberutil as pn_util
from phonenumbers import timezone as pn_timezone

_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
_UNKNOWN_ZONE = "Etc/Unknown"


class ParsedPhone(NamedTuple):
    """A valid number: E.164, extension, mobile or not, country, candidate time zones.

    A named tuple: an import makes one per number, at a third of a frozen dataclass's cost."""

    e164: str
    extension: str | None
    is_mobile: bool
    country: str | None
    time_zones: tuple[str, ...]


class PhoneReader(Protocol):
    """Reads a cleaned number: a ParsedPhone, or why not (a `phones.PHONE_ERRORS` code;
    `invalid` when it parses but is no valid number)."""

    def read(self, text: str, digits: str, region: str | None, plain: bool,
             extension: str | None) -> ParsedPhone | str:
        """`text` as cleaned, `digits` its digits, `region` upper case or None, `plain`:
        only digits and punctuation, `extension` found while cleaning (if any)."""


def _parse_error(error: NumberParseException, text: str) -> str:
    if error.error_type == NumberParseException.INVALID_COUNTRY_CODE and (
            text.startswith("+") or text.startswith("00")):
        return "unknown_country_code"  # written internationally
    return {
        NumberParseException.INVALID_COUNTRY_CODE: "needs_country",
        NumberParseException.TOO_SHORT_NSN: "too_short",
        NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
        NumberParseException.TOO_LONG: "too_long",
    }.get(error.error_type, "not_a_number")


class PlainReader:
    """`phonenumbers`' public API, nothing else."""

    def read(self, text: str, digits: str, region: str | None, plain: bool,
             extension: str | None) -> ParsedPhone | str:
        try:
            number = phonenumbers.parse(text, region)
        except NumberParseException as error:
            return _parse_error(error, text)
        number_type = phonenumbers.number_type(number)
        if number_type == PhoneNumberType.UNKNOWN:
            return "invalid"
        zones = pn_timezone.time_zones_for_number(number)
        return ParsedPhone(phonenumbers.format_number(number, PhoneNumberFormat.E164),
                           extension or number.extension or None,
                           number_type in _MOBILE_TYPES,
                           phonenumbers.region_code_for_number(number),
                           tuple(zone for zone in zones if zone != _UNKNOWN_ZONE))


class FastReader:
    """The same answers as PlainReader, with shortcuts (see the module docstring)."""

    def read(self, text: str, digits: str, region: str | None, plain: bool,
             extension: str | None) -> ParsedPhone | str:
        fast = _fast_parse(text, digits, region) if plain else None
        if fast is not None:
            code, national, country, number_type = fast
            # E.164 of a number without leading zeros, as `format_number` writes it
            return _parsed(f"+{code}{national}", code, extension, country, number_type)
        try:
            number = phonenumbers.parse(text, region)
        except NumberParseException as error:
            return _parse_error(error, text)
        country, number_type = _classify(number)
        if number_type == PhoneNumberType.UNKNOWN:
            return "invalid"
        if number.extension and not extension:
            extension = number.extension
        return _parsed(phonenumbers.format_number(number, PhoneNumberFormat.E164),
                       number.country_code, extension, country, number_type)


def _parsed(e164: str, country_code: int, extension: str | None, country: str | None,
            number_type: int) -> ParsedPhone:
    if pn_util.is_number_type_geographical(number_type, country_code):
        # = time_zones_for_geographical_number, which reads at most the first
        # TIMEZONE_LONGEST_PREFIX digits: numbers share them, so they are remembered
        prefix = e164[1:_ZONE_PREFIX_END]
        zones = _geographic_zones.get(prefix)
        if zones is None:
            if len(_geographic_zones) >= 50_000:
                _geographic_zones.clear()  # bounded memory, whatever the file
            zones = _geographic_zones[prefix] = _zones_by_prefix(prefix, 0)
    else:  # = _country_level_time_zones_for_number (which tries prefixes one digit longer)
        zones = _country_zones.get(country_code)
        if zones is None:
            zones = _country_zones[country_code] = _zones_by_prefix(str(country_code), 1)
    return ParsedPhone(e164, extension, number_type in _MOBILE_TYPES, country, zones)


_ZONE_PREFIX_END = 1 + pn_timezone.TIMEZONE_LONGEST_PREFIX
_geographic_zones: dict[str, tuple[str, ...]] = {}
_country_zones: dict[int, tuple[str, ...]] = {}
_zone_tuples: dict[int, tuple[str, ...]] = {}


def _zones_by_prefix(digits: str, extra: int) -> tuple[str, ...]:
    """The zones of the longest prefix of `digits` in `phonenumbers`' time zone data, as
    its `timezone` functions find them (without formatting the number again), known zones
    only; the tuple is built once per data entry."""
    found = pn_timezone._UNKNOWN_TIME_ZONE_LIST
    for prefix_len in range(pn_timezone.TIMEZONE_LONGEST_PREFIX, 0, -1):
        zones = pn_timezone.TIMEZONE_DATA.get(digits[:prefix_len + extra])
        if zones is not None:
            found = zones
            break
    result = _zone_tuples.get(id(found))
    if result is None:
        result = _zone_tuples[id(found)] = tuple(z for z in found if z != _UNKNOWN_ZONE)
    return result


_SPECIAL_DESCS = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number",
                  "pager", "uan", "voicemail")
_special_patterns: dict[int, re.Pattern | None] = {}


def _special_pattern(metadata) -> re.Pattern | None:
    """One regex matching every number of a special type (premium, toll-free, VoIP…) of a
    region: numbers outside it need only the fixed-line and mobile tests."""
    key = id(metadata)
    if key not in _special_patterns:
        parts = [getattr(metadata, name).national_number_pattern for name in _SPECIAL_DESCS
                 if getattr(metadata, name) is not None
                 and getattr(metadata, name).national_number_pattern]
        _special_patterns[key] = re.compile("|".join(f"(?:{p})" for p in parts)) \
            if parts else None
    return _special_patterns[key]


_DescTest = tuple[frozenset[int] | None, Any] | None


def _desc_test(desc) -> _DescTest:
    """A number description's possible lengths and compiled pattern, prepared once
    (`phonenumbers` looks the compiled pattern up again on every call)."""
    if desc is None:
        return None
    lengths, pattern = desc.possible_length, desc.national_number_pattern
    return (frozenset(lengths) if len(lengths) > 0 else None,
            re.compile(pattern).fullmatch if pattern else None)


def _matches(national: str, test: _DescTest) -> bool:
    """`phonenumbers`' `_is_number_matching_desc`, with a `_desc_test`."""
    if test is None:
        return False
    lengths, fullmatch = test
    if lengths is not None and len(national) not in lengths:
        return False
    return fullmatch is not None and fullmatch(national) is not None


_type_tests: dict[int, tuple] = {}


def _type_test(metadata) -> tuple:
    """What `_number_type` needs of a region's metadata, prepared once per region."""
    test = _type_tests.get(id(metadata))
    if test is None:
        special = _special_pattern(metadata)
        test = _type_tests[id(metadata)] = (
            special.fullmatch if special is not None else None,
            _desc_test(metadata.general_desc), _desc_test(metadata.fixed_line),
            _desc_test(metadata.mobile), bool(metadata.same_mobile_and_fixed_line_pattern))
    return test


def _number_type(national: str, metadata) -> int:
    """`phonenumbers`' type test, in the same order, with the eight special types tried at
    once (most numbers are fixed or mobile: 3 regexes instead of 11)."""
    special, general, fixed, mobile, same = _type_test(metadata)
    if special is not None and special(national):
        return pn_util._number_type_helper(national, metadata)
    if not _matches(national, general):
        return PhoneNumberType.UNKNOWN
    if _matches(national, fixed):
        if same or _matches(national, mobile):
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return PhoneNumberType.FIXED_LINE
    if not same and _matches(national, mobile):
        return PhoneNumberType.MOBILE
    return PhoneNumberType.UNKNOWN


def _classify(number: phonenumbers.PhoneNumber) -> tuple[str | None, int]:
    """The number's region and type in one pass (`is_valid_number`, `number_type` and
    `time_zones_for_number` would each redo it: this is the import's hot path). Same rules as
    `region_code_for_number`: the first region of the calling code whose leading digits match,
    or else whose patterns accept the number."""
    return _classify_national(number.country_code, pn_util.national_significant_number(number))


def _classify_national(country_code: int, national: str) -> tuple[str | None, int]:
    """`_classify` of the number with this calling code and national significant number."""
    candidates = _candidates.get(country_code)
    if candidates is None:
        candidates = _candidates[country_code] = _regions_of(country_code)
    if len(candidates) == 1:
        region, metadata, _leading = candidates[0]
        if metadata is None:
            return region, PhoneNumberType.UNKNOWN
        return region, _number_type(national, metadata)
    for region, metadata, leading in candidates:
        if metadata is None:
            continue
        if leading is not None:
            if leading(national):
                return region, _number_type(national, metadata)
            continue
        number_type = _number_type(national, metadata)
        if number_type != PhoneNumberType.UNKNOWN:
            return region, number_type
    return None, PhoneNumberType.UNKNOWN


_candidates: dict[int, tuple[tuple[str, Any, Any], ...]] = {}


def _regions_of(country_code: int) -> tuple[tuple[str, Any, Any], ...]:
    """(region, metadata, leading digits' match) of each region of a calling code, in
    `phonenumbers`' order: looked up once per calling code instead of once per number."""
    regions = pn_util.COUNTRY_CODE_TO_REGION_CODE.get(country_code) or ()
    if len(regions) == 1:
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, regions[0])
        return ((regions[0], metadata, None),)
    candidates = []
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region, None)
        leading = metadata.leading_digits if metadata is not None else None
        candidates.append((region, metadata,
                           re.compile(leading).match if leading is not None else None))
    return tuple(candidates)


_NANP = 1



_NANP_RULE, _ZERO, _ZERO_FIRST, _NO_PREFIX = "nanp", "zero", "zero first", "none"
_regions: dict[str, tuple[int, bool, str | None] | None] = {}


def _region_rules(region: str) -> tuple[int, bool, str | None] | None:
    """A region's calling code, whether `00` is its international prefix, and how the fast
    path strips its national prefix (None: it leaves that to `phonenumbers`); once per
    region."""
    if region in _regions:
        return _regions[region]
    metadata = PhoneMetadata.metadata_for_region(region, None)
    rules = None
    if metadata is not None:
        prefix = metadata.national_prefix_for_parsing
        if metadata.country_code == _NANP:
            rule = _NANP_RULE
        elif prefix == "0":
            rule = _ZERO
        elif prefix is not None and prefix.startswith("0|"):
            rule = _ZERO_FIRST  # `0|180020` (GB): a leading 0 is the first alternative
        elif prefix is None and metadata.national_prefix is None:
            rule = _NO_PREFIX
        else:
            rule = None
        rules = (metadata.country_code, metadata.international_prefix == "00", rule)
    _regions[region] = rules
    return rules


def _international(digits: str) -> tuple[int, str] | None:
    """The calling code and national number of digits written after `+`."""
    for size in (1, 2, 3):
        code = int(digits[:size] or 0)
        if code in pn_util.COUNTRY_CODE_TO_REGION_CODE:
            return code, digits[size:]
    return None


def _national(digits: str, rules: tuple[int, bool, str | None] | None
              ) -> tuple[int, str] | None:
    """The region's calling code and the national number without its national prefix, or
    None when the slow path must decide."""
    if rules is None:
        return None
    code, zero_zero, rule = rules
    if zero_zero and digits.startswith("00"):
        return None  # `(00)…` and the like: the slow path knows
    if rule is _NANP_RULE:
        if len(digits) == 11 and digits[0] == "1":
            digits = digits[1:]
    elif rule is _ZERO:
        if digits[0] == "0":
            digits = digits[1:]
    elif rule is _ZERO_FIRST:
        if digits[0] != "0":
            return None  # another alternative may match: the slow path
        digits = digits[1:]
    elif rule is not _NO_PREFIX:
        return None
    return code, digits


def _fast_parse(text: str, digits: str, region: str | None
                ) -> tuple[int, str, str | None, int] | None:
    """(calling code, national number, region, type) for the common cases, or None to let
    `phonenumbers.parse` (and its exact error messages) handle the rest. Only returns valid
    numbers, so anything it gets wrong falls back rather than slipping through. `digits`
    are the digits of `text`."""
    international = text.startswith("+")
    rules = _region_rules(region) if region is not None else None
    if not international and rules is not None and rules[1] and text.startswith("00"):
        # International, written the European way (`0033 6…`): as `+33 6…`, the way
        # `phonenumbers` reads it once it has stripped the prefix.
        international, digits = True, digits[2:]
    split = _international(digits) if international else _national(digits, rules)
    if split is None:
        return None
    code, national = split
    if not (4 <= len(national) <= 14) or national[0] == "0":
        return None  # Italian-style leading zeros and the like: the slow path
    country, number_type = _classify_national(code, national)
    if number_type == PhoneNumberType.UNKNOWN:
        return None
    return code, national, country, number_type
