"""Phone numbers: parsing to E.164, mobile or fixed, country and time zone (`phonenumbers`).

API
---
`parse_phone(raw, region)` returns a `ParsedPhone` or a `PhoneError`, never raises:

    >>> parse_phone("06 12 34 56 78", "FR")
    ParsedPhone(e164='+33612345678', extension=None, is_mobile=True, country='FR', ...)
    >>> parse_phone("555-0100", None)
    PhoneError(code='needs_country', raw='555-0100')

- `raw` may be written any way people write numbers: spaces, dots, dashes, brackets, a
  leading `+` or `00`, Excel's leading apostrophe (`'0612…`), a float Excel made of it
  (`33612345678.0`), and an extension (`x123`, `ext. 123`, `poste 12`, `anknytning 12`,
  `toestel 12`, `#12`).
- `region` (ISO 3166 alpha-2) reads national numbers; `None` accepts only international ones.
- `ParsedPhone.time_zones` lists every zone the number may be in; `time_zone_for(parsed,
  country, postcode)` picks one, refined by the contact's country and postcode when the number
  spans several zones (US ZIP codes, Canadian postal codes, Australian postcodes).
- `PhoneError.code` is one of `PHONE_ERRORS`; `PhoneError.message` is a readable English reason.

This module imports nothing from Flask, so import worker processes can use it cheaply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat, PhoneNumberType
from phonenumbers import phonenumberutil as pn_util
from phonenumbers import timezone as pn_timezone

PHONE_ERRORS = {
    "empty": "no number",
    "not_a_number": "not a phone number",
    "needs_country": "national number without a country (set a default region)",
    "unknown_country_code": "{code} is not a country calling code",
    "too_short": "too short to be a phone number",
    "too_long": "too long to be a phone number",
    "invalid": "not a valid number for its country",
    "scientific": "number mangled by a spreadsheet (scientific notation)",
}

_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
_EXTENSION = re.compile(
    r"\s*(?:,|;|#|x|ext\.?|extn\.?|extension|poste|p\.|anknytning|ankn\.?|toestel|tst\.?)"
    r"\s*(\d{1,7})\s*$",
    re.IGNORECASE,
)
_SCIENTIFIC = re.compile(r"^\d(?:[.,]\d+)?[eE]\+?\d+$")
_FLOAT = re.compile(r"^(\d{6,15})\.0+$")
_UNKNOWN_ZONE = "Etc/Unknown"
_LETTER = re.compile(r"[^\W\d_]")


class ParsedPhone(NamedTuple):
    """A valid number: E.164, extension, mobile or not, country, candidate time zones.

    A named tuple: an import makes one per number, at a third of a frozen dataclass's cost."""

    e164: str
    extension: str | None
    is_mobile: bool
    country: str | None
    time_zones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PhoneError:
    """Why a number was refused (`code` is a key of `PHONE_ERRORS`)."""

    code: str
    raw: str

    @property
    def message(self) -> str:
        if self.code == "unknown_country_code":
            return PHONE_ERRORS[self.code].format(code=_written_calling_code(self.raw))
        return PHONE_ERRORS[self.code]


def _written_calling_code(raw: str) -> str:
    """`+999` from `+999 123 456` or `00999123456`: the digits where a calling code would be
    (up to three, as long as they are written together)."""
    text = raw.strip().lstrip("'’").strip()
    text = text[1:] if text.startswith("+") else text[2:] if text.startswith("00") else text
    return "+" + re.match(r"\d{0,3}", text).group(0)


def _clean(raw: str) -> tuple[str, str | None]:
    text = raw.strip().lstrip("'’").strip()
    extension = None
    # Every extension marker (`,;#`, letters) is outside `_PLAIN`: most numbers skip the
    # search (a regex search tries every position of the text).
    match = None if _PLAIN.fullmatch(text) else _EXTENSION.search(text)
    if match and len(_NOT_DIGIT.sub("", text[: match.start()])) >= 6:
        extension = match.group(1)
        text = text[: match.start()]
    return _unfloat(text), extension


def _unfloat(text: str) -> str:
    """`33612345678` from the float Excel made of it (`33612345678.0`)."""
    if "." in text:
        float_match = _FLOAT.match(text)
        if float_match:
            return float_match.group(1)
    return text


def parse_phone(raw: str | None, region: str | None) -> ParsedPhone | PhoneError:
    """Parse one number as written by people (see the module docstring)."""
    raw = raw or ""
    text = raw.strip()
    if _PLAIN.fullmatch(text):  # most numbers: no apostrophe, extension nor letter
        text, extension, plain = _unfloat(text), None, True
    else:
        text, extension = _clean(raw)
        if not text:
            return PhoneError("empty", raw)
        plain = _PLAIN.fullmatch(text) is not None
    # A plain text has no letter, so it cannot be in scientific notation nor have letters.
    if not plain and _SCIENTIFIC.match(text):
        return PhoneError("scientific", raw)
    digits = _NOT_DIGIT.sub("", text)
    count = len(digits)
    if not count or (not plain and len(_LETTER.findall(text)) > 2):
        return PhoneError("not_a_number", raw)
    if not region:
        region = None
        if text.startswith("00"):
            text, digits = "+" + text[2:], digits[2:]
    elif not region.isupper():
        region = region.upper()
    fast = _fast_parse(text, digits, region) if plain else None
    if fast is not None:
        code, national, country, number_type = fast
        # E.164 of a number without leading zeros, as `format_number` writes it
        return _parsed(f"+{code}{national}", code, extension, country, number_type)
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as error:
        if error.error_type == NumberParseException.INVALID_COUNTRY_CODE and (
                text.startswith("+") or text.startswith("00")):
            return PhoneError("unknown_country_code", raw)  # written internationally
        code = {
            NumberParseException.INVALID_COUNTRY_CODE: "needs_country",
            NumberParseException.TOO_SHORT_NSN: "too_short",
            NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
            NumberParseException.TOO_LONG: "too_long",
        }.get(error.error_type, "not_a_number")
        return PhoneError(code, raw)
    country, number_type = _classify(number)
    if number_type == PhoneNumberType.UNKNOWN:
        if count < 6:
            return PhoneError("too_short", raw)
        if count > 15:
            return PhoneError("too_long", raw)
        return PhoneError("invalid", raw)
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


# A number written with digits, spaces and the usual punctuation only (no letters, no
# extension left): common enough to skip `phonenumbers.parse` when the region is simple.
_PLAIN = re.compile(r"\+?[\d \-./()\u00a0]+")
_NOT_DIGIT = re.compile(r"\D")
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
    if international:
        for size in (1, 2, 3):
            code = int(digits[:size] or 0)
            if code in pn_util.COUNTRY_CODE_TO_REGION_CODE:
                national = digits[size:]
                break
        else:
            return None
    else:
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
        national = digits
    if not (4 <= len(national) <= 14) or national[0] == "0":
        return None  # Italian-style leading zeros and the like: the slow path
    country, number_type = _classify_national(code, national)
    if number_type == PhoneNumberType.UNKNOWN:
        return None
    return code, national, country, number_type


# --- time zones -------------------------------------------------------------------------

# The zone most people of a country live in: used when a number spans zones and the address
# says nothing finer.
COUNTRY_MAIN_ZONE = {
    "AR": "America/Argentina/Buenos_Aires", "CN": "Asia/Shanghai", "EC": "America/Guayaquil",
    "UA": "Europe/Kyiv", "AU": "Australia/Sydney", "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CD": "Africa/Kinshasa", "CL": "America/Santiago", "ES": "Europe/Madrid",
    "ID": "Asia/Jakarta", "KZ": "Asia/Almaty", "MX": "America/Mexico_City",
    "NZ": "Pacific/Auckland", "PT": "Europe/Lisbon", "RU": "Europe/Moscow",
    "US": "America/New_York", "FR": "Europe/Paris", "NL": "Europe/Amsterdam",
    "GB": "Europe/London", "SE": "Europe/Stockholm", "BE": "Europe/Brussels",
    "DE": "Europe/Berlin", "CH": "Europe/Zurich", "IE": "Europe/Dublin",
}

# US ZIP code: first three digits (inclusive ranges) to zone. Approximate at state borders.
_US_ZIP_ZONES = [
    (0, 349, "America/New_York"), (350, 399, "America/Chicago"), (400, 499, "America/New_York"),
    (500, 589, "America/Chicago"), (590, 599, "America/Denver"), (600, 797, "America/Chicago"),
    (798, 799, "America/Denver"), (800, 849, "America/Denver"), (850, 865, "America/Phoenix"),
    (870, 884, "America/Denver"), (889, 966, "America/Los_Angeles"),
    (967, 968, "Pacific/Honolulu"), (970, 994, "America/Los_Angeles"),
    (995, 999, "America/Anchorage"),
]
_CA_POSTAL_ZONES = {
    "A": "America/St_Johns", "B": "America/Halifax", "C": "America/Halifax",
    "E": "America/Moncton", "G": "America/Toronto", "H": "America/Toronto",
    "J": "America/Toronto", "K": "America/Toronto", "L": "America/Toronto",
    "M": "America/Toronto", "N": "America/Toronto", "P": "America/Toronto",
    "R": "America/Winnipeg", "S": "America/Regina", "T": "America/Edmonton",
    "V": "America/Vancouver", "X": "America/Yellowknife", "Y": "America/Whitehorse",
}
_AU_POSTCODE_ZONES = {
    "0": "Australia/Darwin", "1": "Australia/Sydney", "2": "Australia/Sydney",
    "3": "Australia/Melbourne", "4": "Australia/Brisbane", "5": "Australia/Adelaide",
    "6": "Australia/Perth", "7": "Australia/Hobart", "8": "Australia/Adelaide",
    "9": "Australia/Brisbane",
}


def zone_from_postcode(country: str | None, postcode: str | None) -> str | None:
    """The time zone an address's postcode points to, where we know the country's layout."""
    if not country or not postcode:
        return None
    code = postcode.strip().upper()
    if country == "US" and len(code) >= 3 and code[:3].isdigit():
        prefix = int(code[:3])
        for low, high, zone in _US_ZIP_ZONES:
            if low <= prefix <= high:
                return zone
        return None
    if country == "CA" and code[:1].isalpha():
        return _CA_POSTAL_ZONES.get(code[0])
    if country == "AU" and code[:1].isdigit():
        return _AU_POSTCODE_ZONES.get(code[0] if len(code) == 4 else "0")
    return None


def time_zone_for(
    phone: ParsedPhone | None, country: str | None = None, postcode: str | None = None
) -> str | None:
    """One time zone for a contact: the number's, refined by country and postcode if it spans
    zones (or names none, as many mobiles don't)."""
    zones = phone.time_zones if phone else ()
    if len(zones) == 1:
        return zones[0]
    country = (country or (phone.country if phone else None) or "").upper() or None
    # The address is finer than the number's list (which names e.g. Sydney, not Melbourne,
    # for every Australian mobile, and every NANP zone for a toll-free number).
    by_postcode = zone_from_postcode(country, postcode)
    if by_postcode:
        return by_postcode
    main = COUNTRY_MAIN_ZONE.get(country or "")
    if main and (not zones or main in zones):
        return main
    return zones[0] if zones else None
