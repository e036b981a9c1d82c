"""What an inbound text asks for: opt-out, opt-in or help, in English, French, Swedish and
Dutch, as one word ("STOPP", "ARRÊT", "aide") or a short sentence ("please stop texting me",
"ne m'appelez plus", "sluta skicka", "niet meer bellen").

Texts are compared folded (`fold`): without case, accents or punctuation, so "Stop." and
"stop please" are STOP, and a keyword in the organization's alphabet ("GÅMED") matches "gamed".
A text that mentions one of these words but matches no rule is *unclear*: an organizer reads it
rather than the app guessing (e.g. "please don't stop calling", "I'll stop by tomorrow").
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass


class Keyword(enum.StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"


def fold(text: str | None) -> str:
    """Lower case, no accents (Å → a, ë → e), letters and digits separated by single spaces."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    bare = bare.replace("ø", "o").replace("æ", "ae").replace("ß", "ss")
    return " ".join(re.sub(r"[\W_]+", " ", bare).split())


# One word (or a fixed phrase) that is the whole text, once politeness is set aside.
WORDS: dict[Keyword, dict[str, tuple[str, ...]]] = {
    Keyword.STOP: {
        "en": ("stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout",
               "opt out", "stop all", "remove me", "unsubscribe me"),
        "fr": ("arret", "arreter", "arretez", "desabonner", "desabonnement", "desinscrire",
               "desinscription", "stop sms"),
        "sv": ("stopp", "sluta", "avsluta", "avregistrera", "avanmal"),
        "nl": ("stoppen", "afmelden", "uitschrijven", "meld af", "meld me af"),
    },
    Keyword.START: {
        "en": ("start", "yes", "unstop", "opt in", "optin", "resume"),
        "fr": ("demarrer", "reprendre", "reabonner"),
        "sv": ("starta", "borja"),
        "nl": ("starten", "aanmelden"),
    },
    Keyword.HELP: {
        "en": ("help", "info"),
        "fr": ("aide", "aidez moi", "au secours"),
        "sv": ("hjalp", "hjalpa"),
        "nl": ("hulp", "help mij", "help me"),
    },
}

# Said around a keyword without changing it ("stop please", "STOPP tack", "aide svp").
POLITENESS = ("please", "pls", "plz", "thanks", "thank you", "now", "s il vous plait",
              "s il te plait", "svp", "stp", "merci", "tack", "snalla", "alstublieft",
              "alsjeblieft", "aub", "bedankt", "dank u", "dank je", "nu", "maintenant")

# Short sentences asking not to be called or texted any more.
_OPT_OUT_SENTENCES: dict[str, str] = {
    "en": r"\b(stop|quit|no more|cease) (texting|calling|messaging|contacting|sending|"
          r"texts|calls|messages)\b|\b(do not|don t|dont|never) (text|call|message|contact)"
          r" me\b|\b(remove|take) me (off|from)\b|\bunsubscribe me\b|\bopt me out\b"
          r"|\bleave me alone\b|\bno more (texts|calls|messages)\b",
    "fr": r"\bne m (appelez|ecrivez|envoyez|contactez|textez)\b.* plus\b|\bne me (contactez|"
          r"appelez|ecrivez) plus\b|\barretez (de m|de me|les|vos)\b|\bplus (d appels|de sms"
          r"|de messages)\b|\bdesabonnez moi\b|\bretirez moi\b|\bdesinscrivez moi\b",
    "sv": r"\bsluta (skicka|ringa|smsa|messa|kontakta)\b|\b(ring|skicka|smsa) (inte|aldrig)"
          r"\b|\binga (fler|mer) (sms|samtal|meddelanden)\b|\bavregistrera mig\b"
          r"|\bta bort mig\b",
    "nl": r"\bniet (meer|langer) (bellen|sms en|smsen|sturen|appen|benaderen|contacteren)\b"
          r"|\bbel me niet\b|\b(stop|stoppen) met (bellen|sms|smsen|sturen|berichten)\b"
          r"|\bgeen (sms|sms jes|berichten|telefoontjes|oproepen) meer\b"
          r"|\bverwijder (mij|me)\b|\bschrijf me uit\b",
}
OPT_OUT_SENTENCES = {lang: re.compile(pattern) for lang, pattern in _OPT_OUT_SENTENCES.items()}

# A keyword turned around by a negation: never acted on, always read by a person.
NEGATED = re.compile(r"\b(don t|dont|do not|never|not|ne|n|pas|inte|niet|nooit) "
                     r"(stop|stoppen|stopp|sluta|arreter|arretez|cancel|unsubscribe)\b")


@dataclass(frozen=True)
class Recognition:
    """What a text asks for. `rule` names the rule that decided (for the log); `unclear` is
    True when it mentions a keyword but no rule is sure, so an organizer should read it."""

    keyword: Keyword | None
    rule: str
    unclear: bool = False


_WORD_INDEX = {(word, keyword, lang) for keyword, langs in WORDS.items()
               for lang, words in langs.items() for word in words}
_BY_WORD = {word: (keyword, lang) for word, keyword, lang in sorted(_WORD_INDEX)}
_MENTIONS = {word for word in _BY_WORD if " " not in word and len(word) > 3}


def _without_politeness(folded: str) -> str:
    text = f" {folded} "
    for phrase in sorted(POLITENESS, key=len, reverse=True):
        text = text.replace(f" {phrase} ", " ")
    return " ".join(text.split())


def recognize(body: str | None) -> Recognition:
    """Opt-out, opt-in or help, by the first rule that matches; else unclear or nothing."""
    folded = fold(body)
    if not folded:
        return Recognition(None, "empty")
    core = _without_politeness(folded) or folded
    if core in _BY_WORD:
        keyword, lang = _BY_WORD[core]
        return Recognition(keyword, f"word:{lang}:{core}")
    if NEGATED.search(folded):
        return Recognition(None, "negated", unclear=True)
    for lang, pattern in OPT_OUT_SENTENCES.items():
        if pattern.search(folded):
            return Recognition(Keyword.STOP, f"sentence:{lang}")
    mentioned = sorted(set(folded.split()) & _MENTIONS)
    if mentioned:
        return Recognition(None, f"mentions:{mentioned[0]}", unclear=True)
    return Recognition(None, "none")


def same_keyword(a: str | None, b: str | None) -> bool:
    """True when two sign-up keywords are the same once case and accents are set aside."""
    return bool(a and b) and fold(a).replace(" ", "") == fold(b).replace(" ", "")


# What Twilio answers by itself on long codes and Messaging Services with Advanced Opt-Out
# (its default keywords; the whole text, any case). The app never answers these a second time
# when the provider does (PROVIDER_ANSWERS_KEYWORDS), but still records what they ask.
PROVIDER_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke",
                            "optout", "start", "yes", "unstop", "help", "info"})


def provider_answers(body: str | None) -> bool:
    """True when the provider's own opt-out handling replies to this text."""
    return (body or "").strip().casefold() in PROVIDER_WORDS
