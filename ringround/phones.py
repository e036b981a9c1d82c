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
- `readable(e164)` writes a stored number for people to read ("+33 6 12 34 56 78").
- `PhoneError.code` is one of `PHONE_ERRORS`; `PhoneError.message` is a readable English reason
  (for operators); `details()` what an import report words in its reader's language.

This module imports nothing from Flask, so import worker processes can use it cheaply.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberFormat

from ringround.phone_readers import FastReader, ParsedPhone, PhoneReader

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

_EXTENSION = re.compile(
    r"\s*(?:,|;|#|x|ext\.?|extn\.?|extension|poste|p\.|anknytning|ankn\.?|toestel|tst\.?)"
    r"\s*(\d{1,7})\s*$",
    re.IGNORECASE,
)
_SCIENTIFIC = re.compile(r"^\d(?:[.,]\d+)?[eE]\+?\d+$")
_FLOAT = re.compile(r"^(\d{6,15})\.0+$")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True, slots=True)
class PhoneError:
    """Why a number was refused (`code` is a key of `PHONE_ERRORS`)."""

    code: str
    raw: str

    @property
    def message(self) -> str:
        """Why, in English (operators' tools; people read `import_words.PHONE_PROBLEMS`)."""
        if self.code == "unknown_country_code":
            return PHONE_ERRORS[self.code].format(code=_written_calling_code(self.raw))
        return PHONE_ERRORS[self.code]

    def details(self) -> dict[str, str]:
        """The code and the number as written (and the calling code it names, if unknown):
        what a report keeps to say why, in its reader's language."""
        if self.code == "unknown_country_code":
            return {"problem": self.code, "raw": self.raw,
                    "calling_code": _written_calling_code(self.raw)}
        return {"problem": self.code, "raw": self.raw}


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


def readable(e164: str | None) -> str:
    """A stored E.164 number as people read it, in groups, still international (a volunteer
    may call abroad): "+33612345678" -> "+33 6 12 34 56 78". Anything it cannot read is
    given back unchanged."""
    if not e164:
        return ""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, None),
                                          PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


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
    found = READER.read(text, digits, region, plain, extension)
    if isinstance(found, ParsedPhone):
        return found
    if found == "invalid" and count < 6:
        return PhoneError("too_short", raw)
    if found == "invalid" and count > 15:
        return PhoneError("too_long", raw)
    return PhoneError(found, raw)


READER: PhoneReader = FastReader()


@contextmanager
def use_reader(reader: PhoneReader) -> Iterator[None]:
    """Parse with `reader` meanwhile (tests run against both readers)."""
    global READER
    before, READER = READER, reader
    try:
        yield
    finally:
        READER = before


# A number written with digits, spaces and the usual punctuation only (no letters, no
# extension left): common enough to skip `phonenumbers.parse` when the region is simple.
_PLAIN = re.compile(r"\+?[\d \-./()\u00a0]+")
_NOT_DIGIT = re.compile(r"\D")
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
