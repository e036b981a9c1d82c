"""One contact field's value as people write it, made clean: country, language, date of
birth, names, address parts, and the household key. Pure functions without Flask or the
database (import workers run them), memoized where values repeat from row to row (`Memo`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date

MONTH_FIRST_REGIONS = {"US", "PH", "FM", "MH", "PW"}
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]{2,}$")
_SPLIT_TAGS = re.compile(r"\s*[,;|]\s*")
_YES_NO = {"yes": True, "y": True, "true": True, "1": True, "oui": True, "ja": True,
           "no": False, "n": False, "false": False, "0": False, "non": False, "nej": False,
           "nee": False}

COUNTRY_NAMES = {
    "france": "FR", "frankrike": "FR", "frankrijk": "FR", "sverige": "SE", "sweden": "SE",
    "suede": "SE", "zweden": "SE", "nederland": "NL", "netherlands": "NL", "paysbas": "NL",
    "thenetherlands": "NL", "holland": "NL", "nederlanderna": "NL", "belgique": "BE",
    "belgium": "BE", "belgie": "BE", "belgien": "BE", "unitedstates": "US", "usa": "US",
    "etatsunis": "US", "unitedkingdom": "GB", "uk": "GB", "royaumeuni": "GB",
    "greatbritain": "GB", "england": "GB", "canada": "CA", "kanada": "CA",
    "australia": "AU", "australie": "AU", "australien": "AU", "germany": "DE",
    "allemagne": "DE", "deutschland": "DE", "tyskland": "DE", "duitsland": "DE",
    "switzerland": "CH", "suisse": "CH", "schweiz": "CH", "spain": "ES", "espagne": "ES",
    "espana": "ES", "italy": "IT", "italie": "IT", "norway": "NO", "norge": "NO",
    "denmark": "DK", "danmark": "DK", "finland": "FI", "suomi": "FI", "ireland": "IE",
    "luxembourg": "LU", "portugal": "PT", "mexico": "MX", "brazil": "BR", "bresil": "BR",
}
LANGUAGE_NAMES = {
    "english": "en", "anglais": "en", "engelska": "en", "engels": "en", "french": "fr",
    "francais": "fr", "franska": "fr", "frans": "fr", "swedish": "sv", "suedois": "sv",
    "svenska": "sv", "zweeds": "sv", "dutch": "nl", "neerlandais": "nl", "nederlands": "nl",
    "nederlandska": "nl", "flemish": "nl", "vlaams": "nl", "spanish": "es", "espanol": "es",
    "espagnol": "es", "arabic": "ar", "arabe": "ar", "arabiska": "ar", "german": "de",
    "allemand": "de", "deutsch": "de", "tyska": "de", "duits": "de",
}


class _CombiningMarks(dict):
    """A `str.translate` table that deletes combining marks, filled in as characters come
    (one C-level look-up per character instead of a Python call)."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.combining(chr(code)) else code
        self[code] = kept
        return kept


_COMBINING_MARKS = _CombiningMarks()


def _fold(text: str) -> str:
    """Lower case without accents: `Liège` → `liege`."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKD", text).translate(_COMBINING_MARKS).lower()


def normalize_country(value: str) -> str | None:
    """An ISO 3166 alpha-2 code from `FR`, `fr`, `France`, `Sverige`…; None if unknown."""
    text = value.strip()
    if len(text) == 2 and text.isalpha() and text.isascii():
        return text.upper()
    return COUNTRY_NAMES.get(re.sub(r"[^a-z]", "", _fold(text)))


def normalize_language(value: str) -> str | None:
    text = value.strip()
    folded = re.sub(r"[^a-z]", "", _fold(text))
    if folded in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[folded]
    if re.fullmatch(r"[A-Za-z]{2,3}([-_][A-Za-z]{2})?", text):
        return text.replace("_", "-").lower()
    return None


def clean_email(value: str) -> str | None:
    """An email address in lower case, or None if it is not one."""
    email = value.strip().lower()
    return email if _EMAIL.match(email) and len(email) <= 320 else None


def split_tags(cell: str) -> tuple[str, ...]:
    """Tags written in one cell, each once: `bénévole, donatrice; fr`."""
    return tuple(dict.fromkeys(tag[:64] for tag in _SPLIT_TAGS.split(cell.strip()) if tag))


def coerce_custom(kind: str, value: str) -> object | None:
    """A custom field's value of type `kind` (a `CustomFieldType`) from its text: numbers
    with a comma or a dot, yes/no in our languages, dates as `parse_birth_date` reads them;
    None if the text is not one. Text and choices stay as written."""
    if kind == "number":
        try:
            number = float(value.replace(",", ".").replace(" ", ""))
        except ValueError:
            return None
        return int(number) if number.is_integer() else number
    if kind == "boolean":
        return _YES_NO.get(value.strip().lower())
    if kind == "date":
        born = parse_birth_date(value)
        return born.isoformat() if born else None
    return value


def parse_birth_date(value: str, month_first: bool = False) -> date | None:
    """A date of birth from ISO, `31/12/1980`, `31.12.1980`, `31-12-1980` (or month first)."""
    text = value.strip()
    if not text:
        return None
    match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?", text)
    try:
        if match:
            year, month, day = (int(g) for g in match.groups())
        else:
            match = re.fullmatch(r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})", text)
            if not match:
                match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
                if not match:
                    return None
                year, month, day = (int(g) for g in match.groups())
            else:
                first, second, year = (int(g) for g in match.groups())
                day, month = (second, first) if month_first else (first, second)
                if month > 12 >= day:  # 31/12 read month first, or 12/31 day first
                    day, month = month, day
        result = date(year, month, day)
    except ValueError:
        return None
    return result if date(1900, 1, 1) <= result <= date.today() else None


_PUNCTUATION = re.compile(r"[^\w|]+")


def normalize_address_part(value: str) -> str:
    """Lower case, accents and punctuation gone, single spaces: `12, Rue de la  Paix` →
    `12 rue de la paix` (a `|` between parts is kept)."""
    return _PUNCTUATION.sub(" ", _fold(value)).replace(" |", "|").replace("| ", "|").strip()


class Memo(dict):
    """What a function made of values that repeat from row to row (postcodes, cities,
    names, countries, tag lists), remembered, at most 50,000 of them (a file of unique
    values keeps memory bounded). Besides the time, a value remembered is the same object
    in every row: pickling a chunk for the importer writes it once."""

    __slots__ = ("function",)

    def __init__(self, function):
        super().__init__()
        self.function = function

    def __missing__(self, value):
        if len(self) >= 50_000:
            self.clear()
        result = self[value] = self.function(value)
        return result


_normalized_part = Memo(normalize_address_part).__getitem__


def household_key(secret: bytes, household: str, street: str, postcode: str,
                  city: str) -> str | None:
    """A keyed hash of a household id or a normalized address (the address is not kept
    in the clear in the key, so an erased person's address does not linger there)."""
    return keyed_household(household_hasher(secret), household, street, postcode, city)


def household_hasher(secret: bytes):
    """Keyed BLAKE2b: a MAC like HMAC-SHA256, at a third of the cost (one per imported row).
    `keyed_household` copies it, so an import hashes the key block once."""
    return hashlib.blake2b(key=secret[:64], digest_size=20)


def keyed_household(hasher, household: str, street: str, postcode: str, city: str) -> str | None:
    plain = _household_plain(household, street, postcode, city)
    if plain is None:
        return None
    hasher = hasher.copy()
    hasher.update(plain.encode())
    return "k:" + hasher.hexdigest()


def _household_plain(household: str, street: str, postcode: str, city: str) -> str | None:
    """What `household_key` hashes: the household id, else the address, normalized."""
    if household.strip():
        return "h:" + normalize_address_part(household)
    if street.strip():
        # = normalize_address_part(f"{street}|{postcode}|{city}"): each step works within
        # the `|`-separated parts, and postcodes and cities repeat from row to row.
        return (f"a:{normalize_address_part(street)}|{_normalized_part(postcode)}"
                f"|{_normalized_part(city)}")
    return None


def clean_text(value: str, limit: int) -> str:
    """Single spaces, at most `limit` characters (= re.sub(r"\\s+", " ", …) on a stripped cell:
    split() and \\s agree on what a space is, at a third of the cost)."""
    return " ".join(value.split())[:limit]


INVALID = object()  # a value `clean_caller_value` refuses
# The longest a built-in text field may be (the import's limits; others: the column's 255).
TEXT_LIMITS = {"first_name": 120, "last_name": 120, "email": 320, "street": 255,
               "postcode": 20, "city": 120, "language": 12}
_CALLER_CHECKS = {"email": clean_email, "language": normalize_language,
                  "country": normalize_country}


def clean_caller_value(name: str, value: object, kind: str | None = None) -> object:
    """A value a caller typed for a contact field, cleaned as the import cleans that field
    (single spaces and its length limit; email, language and country checked; a custom
    field of `kind` read by `coerce_custom`): None when emptied, INVALID when not valid."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if kind is not None:
        if not isinstance(value, str):
            return value if kind != "text" else str(value)
        cleaned = coerce_custom(kind, value.strip())
        return INVALID if cleaned is None else cleaned
    text = clean_text(str(value), TEXT_LIMITS.get(name, 255))
    check = _CALLER_CHECKS.get(name)
    if check is None:
        return text
    cleaned = check(text)
    return INVALID if cleaned is None else cleaned


def split_full_name(full: str) -> tuple[str, str]:
    """(first, last) of a full name: `Last, First` or `First Rest of the name`."""
    if "," in full:
        last, _, first = full.partition(",")
    else:
        first, _, last = full.partition(" ")
    return first.strip(), last.strip()
