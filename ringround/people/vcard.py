"""Reading vCard files (`.vcf`, versions 2.1, 3.0 and 4.0, as iPhone, Android and desktop
address books export them) as rows of a table, so that the import's mapping, cleaning,
merging and report treat them like any CSV (docs/contacts-import.md, "vCard").

Our own small parser rather than `vobject` (docs/libraries.md): it needs only the few
properties a contact has, reads line by line, and takes the liberties phones take (2.1
quoted-printable with soft line breaks, bare type parameters, lines in any encoding)."""

from __future__ import annotations

import quopri
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

# The columns of a vCard table; the phone columns come after `Full name`, as many of each
# kind as the file's busiest card has. Their names are recognized by `headers.auto_map`.
NAME_COLUMNS = ("First name", "Last name", "Full name")
OTHER_COLUMNS = ("Email", "Street", "Postcode", "City", "Country", "Organization", "Notes")
PHONE_KINDS = (("mobile", "Mobile"), ("landline", "Landline"), ("phone", "Phone"))
_MOBILE_TYPES = {"cell", "mobile", "iphone", "x-mobile"}
_LANDLINE_TYPES = {"home", "work", "voice", "main", "x-home", "x-work"}
_SKIPPED_TYPES = {"fax", "pager"}
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_SPLIT = re.compile(r"(?<!\\);")


@dataclass
class Card:
    """One contact of a vCard file, as plain strings."""

    number: int  # its place in the file (or the zip's files), from 1
    first_name: str = ""
    last_name: str = ""
    full_name: str = ""
    phones: dict[str, list[str]] = field(default_factory=lambda: {"mobile": [], "landline": [],
                                                                  "phone": []})
    email: str = ""
    street: str = ""
    postcode: str = ""
    city: str = ""
    country: str = ""
    organization: str = ""
    notes: str = ""


def _decode_line(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _logical_lines(raw_lines: Iterable[bytes]) -> Iterator[tuple[str, bytes]]:
    """(name and parameters, raw value) of each property: folded lines (a line starting with
    a space or tab continues the one before, RFC 6350 3.2) and quoted-printable soft line
    breaks (`=` at the end) joined. The value stays bytes until its charset is known."""
    current: bytearray | None = None
    quoted = False
    for line in raw_lines:
        line = line.rstrip(b"\r\n")
        if current is not None and quoted and current.endswith(b"="):
            current[-1:] = line.lstrip(b" \t") if line[:1] in (b" ", b"\t") else line
            continue
        if current is not None and line[:1] in (b" ", b"\t"):
            current += line[1:]
            continue
        if current is not None:
            yield from _split_property(bytes(current))
        current = bytearray(line) if line.strip() else None
        quoted = current is not None and b"QUOTED-PRINTABLE" in line.split(b":", 1)[0].upper()
    if current is not None:
        yield from _split_property(bytes(current))


def _split_property(line: bytes) -> Iterator[tuple[str, bytes]]:
    head, colon, value = line.partition(b":")
    if colon:  # a line without a colon (the tail of an unfolded photo) is ignored
        yield head.decode("ascii", errors="replace"), value


def _parameters(head: str) -> tuple[str, dict[str, set[str]]]:
    """A property's name (its group, `item1.`, dropped) and its parameters, lower case;
    2.1's bare parameters (`TEL;CELL;HOME`) count as types."""
    parts = head.split(";")
    name = parts[0].rsplit(".", 1)[-1].strip().upper()
    params: dict[str, set[str]] = {}
    for part in parts[1:]:
        key, equals, value = part.partition("=")
        if not equals:
            key, value = ("encoding", part) if part.upper() in (
                "QUOTED-PRINTABLE", "BASE64", "B", "8BIT") else ("type", part)
        values = {v.strip().strip('"').lower() for v in value.split(",") if v.strip()}
        params.setdefault(key.strip().lower(), set()).update(values)
    return name, params


def _text(value: bytes, params: dict[str, set[str]]) -> str:
    """A value as text: quoted-printable undone, decoded by its CHARSET (UTF-8 if none)."""
    if "quoted-printable" in params.get("encoding", ()):
        value = quopri.decodestring(value)
    charset = next(iter(params.get("charset", ())), "utf-8")
    try:
        return value.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return _decode_line(value)


def _unescape(value: str) -> str:
    return _ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value).strip()


def _components(value: str) -> list[str]:
    return [_unescape(part) for part in _SPLIT.split(value)]


def _phone_kind(types: set[str]) -> str | None:
    if types & _MOBILE_TYPES:
        return "mobile"
    if types & _SKIPPED_TYPES:
        return None
    if types & _LANDLINE_TYPES:
        return "landline"
    return "phone"


def _phone_value(value: str) -> str:
    """A number from `tel:+33-6-12-34-56-78;ext=12` (4.0 `VALUE=uri`) or plain text."""
    if value.lower().startswith("tel:"):
        value = value[4:].split(";", 1)[0]
    return value.strip()


def _apply(card: Card, name: str, params: dict[str, set[str]], raw: bytes) -> None:
    if name in ("PHOTO", "LOGO", "SOUND", "KEY") or "base64" in params.get("encoding", ()) \
            or "b" in params.get("encoding", ()):
        return
    value = _text(raw, params)
    if name == "N":
        parts = _components(value) + [""] * 5
        card.last_name, card.first_name = parts[0], " ".join(p for p in parts[1:3] if p)
    elif name == "FN":
        card.full_name = _unescape(value)
    elif name == "TEL":
        kind = _phone_kind(params.get("type", set()))
        number = _phone_value(_unescape(value))
        if kind and number:
            card.phones[kind].append(number)
    elif name == "EMAIL" and not card.email:
        card.email = _unescape(value)
    elif name == "ADR" and not (card.street or card.city):
        parts = _components(value) + [""] * 7
        card.street = ", ".join(p.replace("\n", ", ") for p in (parts[2], parts[1]) if p)
        card.city, card.postcode, card.country = parts[3], parts[5], parts[6]
    elif name == "ORG" and not card.organization:
        card.organization = " / ".join(p for p in _components(value) if p)
    elif name == "NOTE":
        card.notes = "\n".join(filter(None, (card.notes, _unescape(value))))


def read_cards(raw_lines: Iterable[bytes], first_number: int = 1) -> Iterator[Card]:
    """The cards of a vCard stream, numbered from `first_number`. Unknown properties and
    photos are ignored; a card with no number is still a card (the import reports it)."""
    card: Card | None = None
    number = first_number
    for head, raw in _logical_lines(raw_lines):
        name, params = _parameters(head)
        if name == "BEGIN" and raw.strip().upper() == b"VCARD":
            card = Card(number)
        elif name == "END" and raw.strip().upper() == b"VCARD" and card is not None:
            if card.first_name or card.last_name:
                card.full_name = ""  # else the cleaning step splits the full name
            yield card
            number += 1
            card = None
        elif card is not None:
            _apply(card, name, params, raw)


def vcf_members(path: Path) -> list[str]:
    """The `.vcf` files of a zip, in name order (folders and macOS's `__MACOSX/` skipped)."""
    with zipfile.ZipFile(path) as archive:
        return sorted(info.filename for info in archive.infolist()
                      if not info.is_dir() and info.filename.lower().endswith(".vcf")
                      and not info.filename.startswith("__MACOSX/"))


def cards_of(path: Path) -> Iterator[Card]:
    """The cards of a `.vcf` file, or of every `.vcf` file of a zip, numbered on."""
    if zipfile.is_zipfile(path):
        number = 1
        with zipfile.ZipFile(path) as archive:
            for member in vcf_members(path):
                with archive.open(member) as handle:
                    for card in read_cards(handle, number):
                        number = card.number + 1
                        yield card
        return
    with path.open("rb") as handle:
        yield from read_cards(handle)


def table_shape(path: Path) -> tuple[list[str], int]:
    """The column names of a vCard file's table (as many phone columns of each kind as its
    busiest card needs) and its number of cards."""
    widths = dict.fromkeys((kind for kind, _label in PHONE_KINDS), 0)
    count = 0
    for card in cards_of(path):
        count += 1
        for kind in widths:
            widths[kind] = max(widths[kind], len(card.phones[kind]))
    if not any(widths.values()):
        widths["phone"] = 1  # every card lacks a number: each is reported as such
    headers = list(NAME_COLUMNS)
    for kind, label in PHONE_KINDS:
        headers += [f"{label} {n}" for n in range(1, widths[kind] + 1)]
    return headers + list(OTHER_COLUMNS), count


def card_row(card: Card, headers: list[str]) -> list[str]:
    """A card's cells under `headers` (from `table_shape`)."""
    row = [card.first_name, card.last_name, card.full_name]
    for kind, label in PHONE_KINDS:
        width = sum(1 for h in headers if h.startswith(label + " "))
        row += (card.phones[kind] + [""] * width)[:width]
    return row + [card.email, card.street, card.postcode, card.city, card.country,
                  card.organization, card.notes]
