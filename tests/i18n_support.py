"""Catalogues for the language tests: the English one extracted fresh, the translations in
translations/, throwaway ones made here, and the check of a page for English that leaked.

Read with babel.messages.pofile; compiled with babel.messages.mofile into a temporary folder,
so the tests never depend on `make` having built the .mo files.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

PROJECT = Path(__file__).resolve().parent.parent
TRANSLATIONS = PROJECT / "translations"
LOCALES = ("fr", "sv", "nl")

# %(name)s and the like (Python), {name} (str.format and our JavaScript), never %%.
PLACEHOLDER = re.compile(r"%%|%\([A-Za-z_]\w*\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]|%[sdif]"
                         r"|\{[A-Za-z_]\w*\}")


def po_path(locale: str, root: Path = TRANSLATIONS) -> Path:
    return root / locale / "LC_MESSAGES" / "messages.po"


def extract_english(folder: Path) -> Catalog:
    """Today's English catalogue: every wrapped string, extracted as `make messages` does."""
    pot = folder / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), "--ignore-dirs=.venv node_modules",
         "."], cwd=PROJECT, check=True, capture_output=True)
    with pot.open("rb") as handle:
        return read_po(handle)


def read_catalogue(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def placeholders(text: str) -> list[str]:
    """The placeholders of a message, sorted (each as often as it appears)."""
    return sorted(m for m in PLACEHOLDER.findall(text or "") if m != "%%")


def _forms(message) -> list[str]:
    return list(message.string) if isinstance(message.string, (list, tuple)) else [
        message.string]


def catalogue_problems(catalogue: Catalog, english: Catalog | None = None) -> list[str]:
    """Every entry that is untranslated, fuzzy, or whose placeholders differ from the English
    (and, given the English catalogue, every English string the catalogue lacks)."""
    problems: list[str] = []
    for message in catalogue:
        if not message.id:
            continue  # the header
        msgid = message.id[0] if isinstance(message.id, (list, tuple)) else message.id
        if message.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        forms = _forms(message)
        if not all(form and form.strip() for form in forms):
            problems.append(f"untranslated: {msgid!r}")
            continue
        if isinstance(message.id, (list, tuple)):
            for form in forms:  # each plural form, as the English plural
                if placeholders(form) != placeholders(message.id[1]):
                    problems.append(f"placeholders differ: {msgid!r} -> {form!r}")
        elif placeholders(forms[0]) != placeholders(msgid):
            problems.append(f"placeholders differ: {msgid!r} -> {forms[0]!r}")
    if english is not None:
        have = {_key(m) for m in catalogue if m.id}
        problems += [f"missing: {_key(m)!r}" for m in english if m.id and _key(m) not in have]
    return problems


def _key(message) -> str:
    return message.id[0] if isinstance(message.id, (list, tuple)) else message.id


def compile_catalogue(catalogue: Catalog, root: Path, locale: str) -> None:
    """Write `catalogue` as root/<locale>/LC_MESSAGES/messages.mo (and .po beside it)."""
    folder = root / locale / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "messages.po").open("wb") as handle:
        write_po(handle, catalogue)
    with (folder / "messages.mo").open("wb") as handle:
        write_mo(handle, catalogue)


# --- throwaway catalogues --------------------------------------------------------------------

# Each throwaway language its own accents, so a test can tell which one it is reading.
_ACCENTS = {
    "fr": str.maketrans("aeiouyAEIOUYcnsz", "áéíöüÿÁÉÍÖÜŸçñšž"),
    "sv": str.maketrans("aeiouAEIOU", "åëïøüÅËÏØÜ"),
    "nl": str.maketrans("aeiouAEIOU", "âêîôûÂÊÎÔÛ"),
}
_KEEP = re.compile(PLACEHOLDER.pattern + r"|<[^>]*>|&\w+;")


def pseudo(text: str, locale: str = "fr") -> str:
    """A pseudo-translation: every letter outside placeholders, tags and entities accented."""
    accents = _ACCENTS.get(locale, _ACCENTS["fr"])
    out, last = [], 0
    for match in _KEEP.finditer(text):
        out.append(text[last:match.start()].translate(accents))
        out.append(match.group(0))
        last = match.end()
    out.append(text[last:].translate(accents))
    return "".join(out)


def pseudo_catalogue(english: Catalog, locale: str, leave_out: Iterable[str] = ()) -> Catalog:
    """Every English string pseudo-translated, except those in `leave_out` (left empty)."""
    catalogue = Catalog(locale=locale, fuzzy=False)
    skipped = set(leave_out)
    for message in english:
        if not message.id:
            continue
        if isinstance(message.id, (list, tuple)):
            forms = [pseudo(message.id[0], locale)] + [pseudo(message.id[1], locale)] * (
                catalogue.num_plurals - 1)
            string = ("",) * catalogue.num_plurals if message.id[0] in skipped else tuple(forms)
        else:
            string = "" if message.id in skipped else pseudo(message.id, locale)
        catalogue.add(message.id, string, flags=set(message.flags) - {"fuzzy"},
                      context=message.context)
    return catalogue


# --- English that leaked into a page -------------------------------------------------------

_SHOWN_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label", "aria-description", "label"}


class _Visible(HTMLParser):
    """The pieces of text a person sees or hears: text, labels, and the strings handed to
    JavaScript (data-* attributes and JSON blocks)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = 0
        self._json = False

    def handle_starttag(self, tag, attrs):
        kinds = dict(attrs)
        if tag == "style" or (tag == "script" and kinds.get("type") != "application/json"):
            self._skip += 1
        self._json = tag == "script" and kinds.get("type") == "application/json"
        for name, value in attrs:
            if value and (name in _SHOWN_ATTRIBUTES or name.startswith("data-t-")
                          or name in {"data-unsent", "data-unsent-one", "data-offline"}):
                self.chunks.append(value)
            if tag == "input" and name == "value" and kinds.get("type") in ("submit", "button"):
                self.chunks.append(value or "")

    def handle_endtag(self, tag):
        if tag in ("style", "script") and self._skip:
            self._skip -= 1
        self._json = False

    def handle_data(self, data):
        if self._json:
            self.chunks.extend(json_strings(json.loads(data)))
        elif not self._skip and data.strip():
            self.chunks.append(data)


def json_strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in json_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in json_strings(v)]
    return []


def visible_text(page: str) -> list[str]:
    """The visible pieces of an HTML page or TwiML document, whitespace made single spaces."""
    parser = _Visible()
    parser.feed(page)
    parser.close()
    return [" ".join(chunk.split()) for chunk in parser.chunks if chunk.strip()]


@dataclass(frozen=True)
class Phrase:
    """An English string as it can appear on a page (placeholders filled by anything)."""

    msgid: str
    pattern: re.Pattern
    longest: str  # its longest literal part: a fast first test
    whole: bool  # a single word: it leaks only as a whole piece of text


def english_phrases(english: Catalog, translated: Catalog | None) -> list[Phrase]:
    """The English strings whose translation in `translated` differs from the English (strings
    identical in both languages cannot leak)."""
    translations: dict[str, list[str]] = {}
    for message in translated or []:
        if message.id:  # every context's translations of one English string ("Text": "Text", "Sms")
            translations.setdefault(_key(message), []).extend(f for f in _forms(message) if f)
    phrases = []
    for message in english:
        if not message.id:
            continue
        ids = list(message.id) if isinstance(message.id, (list, tuple)) else [message.id]
        own = translations.get(ids[0], [])
        for msgid in ids:
            if msgid in own:
                continue
            phrase = _phrase(msgid)
            if phrase is not None:
                phrases.append(phrase)
    return phrases


def _phrase(msgid: str) -> Phrase | None:
    parts = [" ".join(html.unescape(p).split()) for p in _KEEP.split(msgid)]
    literal = [p for p in parts if p.strip()]
    words = re.findall(r"[^\W\d_]{2,}", " ".join(literal))  # words of letters, not "."
    if sum(map(len, words)) < 4:
        return None  # "%(done)s of %(total)s": nothing English enough to tell ("Isle of Man")
    # A literal part is whole words; a filled-in placeholder is a value of one to three words.
    body = r"\s*(?:\S+(?: \S+){0,2}?)?\s*".join(_bounded(p.strip()) for p in parts)
    return Phrase(msgid, re.compile(body), max(literal, key=len).strip(), len(words) < 2)


def _bounded(text: str) -> str:
    """`text` as a pattern that does not start or end inside a word ("In" is not "Ingen")."""
    if not text:
        return ""
    start = r"(?<!\w)" if re.match(r"\w", text) else ""
    end = r"(?!\w)" if re.search(r"\w$", text) else ""
    return start + re.escape(text) + end


def leaks(page: str, phrases: list[Phrase], data: Iterable[str] = ()) -> list[str]:
    """The English strings seen on `page`; text equal to stored data (names, what people typed)
    is taken out first."""
    chunks = visible_text(page)
    values = {" ".join(d.split()) for d in data if d.strip()}
    chunks = [chunk for chunk in chunks if chunk not in values]
    # Inside a sentence, only what reads as typed text: several words, a name, a number.
    # A stored code word ("phone", "no") never cuts a sentence.
    longer = sorted((v for v in values if len(v) > 2 and (
        " " in v or v[0].isupper() or any(c.isdigit() for c in v))), key=len, reverse=True)
    if longer:  # whole words only
        stored = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, longer)) + r")(?!\w)")
        chunks = [stored.sub("\x00", chunk) for chunk in chunks]
    joined = "\n".join(chunks)
    found = []
    for phrase in phrases:
        if phrase.longest not in joined:
            continue
        if phrase.whole:  # one word: only a whole piece of text ("Dashboard", "In Paris.")
            if any(phrase.pattern.fullmatch(chunk) or chunk.rstrip(":*. ") == phrase.longest
                   for chunk in chunks):
                found.append(phrase.msgid)
        elif any(phrase.pattern.search(chunk) for chunk in chunks):
            found.append(phrase.msgid)
    return found
