"""Turning one raw row into clean contact data: the CPU-heavy part of an import.

Pure functions without Flask or the database, so an import can run them in a pool of worker
processes (`normalize_chunk`) while the main process merges and writes.
"""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import os
import queue
import re
import traceback
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from ringround.people.headers import CUSTOM_PREFIX, OPT_OUT_FIELDS, PHONE_FIELDS, is_opt_out
from ringround.people.reader import TableSource
from ringround.phones import ParsedPhone, PhoneError, parse_phone, time_zone_for

CONTACT_FIELDS = ("first_name", "last_name", "email", "street", "postcode", "city", "country",
                  "language", "date_of_birth", "time_zone")
_MAX_LEN = {"first_name": 120, "last_name": 120, "email": 320, "street": 255, "postcode": 20,
            "city": 120, "language": 12}
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]{2,}$")
_SPLIT_NUMBERS = re.compile(r"\s*[/|\n]\s*|\s+(?:or|ou|eller|of)\s+", re.IGNORECASE)
_SPLIT_TAGS = re.compile(r"\s*[,;|]\s*")
WORKER_NICENESS = 5  # how much lower a worker's priority is than the importer's
MONTH_FIRST_REGIONS = {"US", "PH", "FM", "MH", "PW"}

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


class _Memo(dict):
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


_normalized_part = _Memo(normalize_address_part).__getitem__


@dataclass(frozen=True)
class NormalizeConfig:
    """What a worker needs to clean rows: the column mapping, default region, keys."""

    mapping: tuple[str, ...]
    default_region: str | None
    household_secret: bytes
    month_first: bool = False


# What `normalize_row` makes of a row, as plain tuples: the importing process unpickles a
# million of them (tuples load four times faster than dataclass instances), and a new
# contact's insert row is its `values` behind its ids, without copying.
#   clean:    (row, values, phones, tags, custom, household_key, warnings, opted_out),
#             where `values` holds CONTACT_FIELDS in order, each phone is
#             (e164, extension, label, is_mobile, country) and `opted_out` is true when an
#             opt-out column of the file says so;
#   rejected: (row, reason).
Phone = tuple[str, str | None, str, bool, str | None]
CleanRow = tuple[int, tuple, tuple[Phone, ...], tuple[str, ...], dict[str, str] | None,
                 str | None, tuple[str, ...], bool]
RejectedRow = tuple[int, str]


def household_key(secret: bytes, household: str, street: str, postcode: str,
                  city: str) -> str | None:
    """A keyed hash of a household id or a normalized address (the address is not kept
    in the clear in the key, so an erased person's address does not linger there)."""
    return _keyed(_household_hasher(secret), household, street, postcode, city)


def _household_hasher(secret: bytes):
    """Keyed BLAKE2b: a MAC like HMAC-SHA256, at a third of the cost (one per imported row).
    `_keyed` copies it, so an import hashes the key block once."""
    return hashlib.blake2b(key=secret[:64], digest_size=20)


def _keyed(hasher, household: str, street: str, postcode: str, city: str) -> str | None:
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


def _label(column: str, parsed: ParsedPhone) -> str:
    if column == "mobile":
        return "mobile"
    if column == "landline":
        return "landline"
    return "mobile" if parsed.is_mobile else "landline"


def _clean_text(value: str, limit: int) -> str:
    """Single spaces, at most `limit` characters (= re.sub(r"\\s+", " ", …) on a stripped cell:
    split() and \\s agree on what a space is, at a third of the cost)."""
    return " ".join(value.split())[:limit]


def split_full_name(full: str) -> tuple[str, str]:
    """(first, last) of a full name: `Last, First` or `First Rest of the name`."""
    if "," in full:
        last, _, first = full.partition(",")
    else:
        first, _, last = full.partition(" ")
    return first.strip(), last.strip()


_CLEAN_TEXT = {name: _Memo(lambda value, limit=_MAX_LEN[name]: _clean_text(value, limit))
               .__getitem__ for name in ("first_name", "last_name", "postcode", "city")}
_country_of = _Memo(normalize_country).__getitem__
_tags_of = _Memo(lambda cell: tuple(dict.fromkeys(
    tag[:64] for tag in _SPLIT_TAGS.split(cell) if tag))).__getitem__


class _Plan:
    """A column mapping sorted out once per import instead of once per cell: which columns
    hold contact fields, numbers, tags and custom fields; and the household key's hasher."""

    __slots__ = ("config", "fields", "phones", "tags", "custom", "optouts", "hasher")

    # phones: (column, target, extension column or -1): an `extension` column belongs to the
    # phone column before it.

    def __init__(self, config: NormalizeConfig):
        self.config = config
        self.fields: list[tuple[int, str]] = []
        self.phones: list[tuple[int, str, int]] = []
        self.tags: list[int] = []
        self.custom: list[tuple[int, str]] = []
        self.optouts: list[tuple[int, str]] = []  # opt-out columns (OPT_OUT_FIELDS)
        for index, target in enumerate(config.mapping):
            if target == "ignore":
                continue
            if target in PHONE_FIELDS:
                self.phones.append((index, target, -1))
            elif target == "extension":
                if self.phones and self.phones[-1][2] < 0:
                    self.phones[-1] = (*self.phones[-1][:2], index)
            elif target == "tags":
                self.tags.append(index)
            elif target in OPT_OUT_FIELDS:
                self.optouts.append((index, target))
            elif target.startswith(CUSTOM_PREFIX):
                self.custom.append((index, target[len(CUSTOM_PREFIX):]))
            else:
                self.fields.append((index, target))
        self.hasher = _household_hasher(config.household_secret)


_plan: _Plan | None = None


def _plan_for(config: NormalizeConfig) -> _Plan:
    """The plan of `config`, kept for the next row (imports in web threads may interleave:
    each gets the plan of its own config)."""
    global _plan
    plan = _plan
    if plan is None or plan.config is not config:
        plan = _plan = _Plan(config)
    return plan


# A cell holding one number, surely: no separator (`/`, `|`, a line break, " or ") can be in it.
_ONE_NUMBER = re.compile(r"\+?[\d \-.()\u00a0]+")


def normalize_row(row_no: int, cells: list[str], config: NormalizeConfig
                  ) -> CleanRow | RejectedRow:
    """Clean one row, or say why it cannot be imported."""
    plan = _plan_for(config)
    count = len(cells)  # a short row: its cells; a long one: the mapped ones
    values: dict[str, str] = {}
    for index, target in plan.fields:
        if index < count and target not in values:
            cell = cells[index].strip()
            if cell:
                values[target] = cell
    phone_cells: list[tuple[str, str]] = []
    for index, target, extension_index in plan.phones:
        if index >= count:
            continue
        cell = cells[index].strip()
        if not cell:
            continue
        if 0 <= extension_index < count and (extension := cells[extension_index].strip()):
            phone_cells.append((target, f"{cell} x{extension}"))
            continue
        if _ONE_NUMBER.fullmatch(cell):
            phone_cells.append((target, cell))
            continue
        parts = [part for part in _SPLIT_NUMBERS.split(cell) if part]
        if any(sum(map(str.isdigit, part)) < 6 for part in parts):
            parts = [cell]  # not a list of numbers ("n/a", "06 12 / 34")
        phone_cells.extend((target, part) for part in parts)
    tags: tuple[str, ...] = ()
    several = False  # tags from several columns: their union may repeat one
    for index in plan.tags:
        if index < count and (cell := cells[index].strip()):
            several = bool(tags)
            tags = (*tags, *_tags_of(cell)) if tags else _tags_of(cell)
    custom: dict[str, str] = {}
    for index, key in plan.custom:
        if index < count and (cell := cells[index].strip()):
            custom[key] = cell

    warnings: list[str] = []
    fields: dict[str, object] = {}
    country = None
    if "country" in values:
        country = _country_of(values["country"])
        if country:
            fields["country"] = country
        else:
            warnings.append(f"unknown country {values['country']!r} ignored")
    region = country or config.default_region

    phones: list[Phone] = []
    first_parsed: ParsedPhone | None = None
    errors: list[str] = []
    for column, raw in phone_cells:
        parsed = parse_phone(raw, region)
        if isinstance(parsed, PhoneError):
            errors.append(f"{parsed.message} ({raw})")
            continue
        if first_parsed is None:
            first_parsed = parsed
        elif any(phone[0] == parsed.e164 for phone in phones):
            continue
        phones.append((parsed.e164, parsed.extension, _label(column, parsed), parsed.is_mobile,
                       parsed.country))
    if not phones:
        return row_no, "; ".join(errors) if errors else "no phone number"
    if errors:
        warnings.extend(f"number skipped: {error}" for error in errors)

    if "full_name" in values and not ("first_name" in values or "last_name" in values):
        values["first_name"], values["last_name"] = split_full_name(values["full_name"])
    for name in ("first_name", "last_name", "postcode", "city"):
        if values.get(name):
            fields[name] = _CLEAN_TEXT[name](values[name])
    if values.get("street"):
        fields["street"] = _clean_text(values["street"], _MAX_LEN["street"])
    if "email" in values:
        email = values["email"].lower()
        if _EMAIL.match(email) and len(email) <= 320:
            fields["email"] = email
        else:
            warnings.append(f"invalid email {values['email']!r} ignored")
    if "language" in values:
        language = normalize_language(values["language"])
        if language:
            fields["language"] = language
        else:
            warnings.append(f"unknown language {values['language']!r} ignored")
    if "date_of_birth" in values:
        born = parse_birth_date(values["date_of_birth"], (country or config.default_region)
                                in MONTH_FIRST_REGIONS)
        if born:
            fields["date_of_birth"] = born
        else:
            warnings.append(f"invalid date of birth {values['date_of_birth']!r} ignored")
    zone = time_zone_for(first_parsed, country, values.get("postcode"))
    if zone:
        fields["time_zone"] = zone
    key = _keyed(plan.hasher, values.get("household", ""), values.get("street", ""),
                 values.get("postcode", ""), values.get("city", ""))
    if several:
        tags = tuple(dict.fromkeys(tags))
    opted_out = any(index < count and is_opt_out(target, cells[index])
                    for index, target in plan.optouts)
    return (row_no, tuple(map(fields.get, CONTACT_FIELDS)), tuple(phones), tags,
            custom or None, key, tuple(warnings), opted_out)


_CONFIG: NormalizeConfig | None = None


def init_worker(config: NormalizeConfig) -> None:
    """Pool initializer: keep the config in the worker."""
    global _CONFIG
    _CONFIG = config
    if multiprocessing.parent_process() is not None:
        gc.disable()  # a worker's objects die with each chunk (see importer.py)
        # The importing process (merge and writes) is the critical path: with a core per
        # worker plus the importer, the workers yield to it and take the time it leaves
        # (they run ahead of it, with chunks in flight). Web requests come first, too.
        os.nice(WORKER_NICENESS)


def normalize_chunk(chunk: list[tuple[int, list[str]]]) -> list[CleanRow | RejectedRow]:
    """Clean a chunk of (row number, cells) in a worker process."""
    assert _CONFIG is not None
    return [normalize_row(row_no, cells, _CONFIG) if cells.__class__ is list
            else (row_no, cells.reason) for row_no, cells in chunk]


def chunks(rows: Iterator[tuple[int, list[str]]], size: int
           ) -> Iterator[list[tuple[int, list[str]]]]:
    """Rows in lists of `size`."""
    chunk: list[tuple[int, list[str]]] = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def share_of_chunks(rows: Iterator[tuple[int, list[str]]], size: int, share: int, shares: int
                    ) -> Iterator[tuple[int, list[tuple[int, list[str]]]]]:
    """(number, chunk) of the chunks numbered `share`, `share + shares`, … of
    `chunks(rows, size)`, for a worker process that reads a CSV file itself: every row must
    be parsed to know where rows end (a quoted cell may hold line breaks), but the other
    shares' rows are only counted, not kept."""
    number, count, chunk = 0, 0, []
    mine = share == 0
    for item in rows:
        if mine:
            chunk.append(item)
        count += 1
        if count == size:
            if mine:
                yield number, chunk
                chunk = []
            number += 1
            count = 0
            mine = number % shares == share
    if mine and chunk:
        yield number, chunk


WORKER_DONE = "done"
WORKER_FAILED = "failed"


def read_and_clean(table: TableSource, config: NormalizeConfig, chunk_rows: int,
                   worker: int, workers: int, out) -> None:
    """A worker process's part of a CSV import: it reads the whole file (the same rows and
    row numbers as the importer would) and cleans every `workers`-th chunk from the
    `worker`-th, putting (a placeholder per row, cleaned chunk) on `out`, then
    `WORKER_DONE`; or `(WORKER_FAILED, traceback)`."""
    try:
        init_worker(config)
        for _number, chunk in share_of_chunks(table.rows(), chunk_rows, worker, workers):
            results = normalize_chunk(chunk)
            _put(out, ([None] * len(chunk), results))  # the report needs no cells
        _put(out, WORKER_DONE)
    except BaseException:  # noqa: BLE001 - anything, as text: the importer raises it
        _put(out, (WORKER_FAILED, traceback.format_exc()))


def _put(out, message) -> None:
    """Put `message` on the importer's queue, waiting while it is full; exit if the
    importer died (a worker process killed with kill -9 would leave this one waiting for
    ever, its queue never read)."""
    parent = multiprocessing.parent_process()
    while True:
        try:
            out.put(message, timeout=1.0)
            return
        except queue.Full:
            if parent is not None and not parent.is_alive():
                os._exit(1)
