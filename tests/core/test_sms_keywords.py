"""The opt-out / opt-in / help rule set, one row per text people really send."""

from __future__ import annotations

import pytest

from ringround.sms_keywords import Keyword, fold, recognize, same_keyword

STOP, START, HELP = Keyword.STOP, Keyword.START, Keyword.HELP

CASES = [
    # (text, keyword, rule)
    ("STOP", STOP, "word:en:stop"),
    ("Stop.", STOP, "word:en:stop"),
    ("stop please", STOP, "word:en:stop"),
    ("  unsubscribe ", STOP, "word:en:unsubscribe"),
    ("please stop texting me", STOP, "sentence:en"),
    ("Don't call me", STOP, "sentence:en"),
    ("remove me from your list", STOP, "sentence:en"),
    ("STOPP", STOP, "word:sv:stopp"),
    ("Stopp tack", STOP, "word:sv:stopp"),
    ("sluta skicka", STOP, "sentence:sv"),
    ("Ring inte mig igen", STOP, "sentence:sv"),
    ("ARRÊT", STOP, "word:fr:arret"),
    ("arrêter svp", STOP, "word:fr:arreter"),
    ("ne m'appelez plus", STOP, "sentence:fr"),
    ("Ne me contactez plus, merci", STOP, "sentence:fr"),
    ("AFMELDEN", STOP, "word:nl:afmelden"),
    ("niet meer bellen", STOP, "sentence:nl"),
    ("Geen sms meer aub", STOP, "sentence:nl"),
    ("START", START, "word:en:start"),
    ("yes", START, "word:en:yes"),
    ("Starta", START, "word:sv:starta"),
    ("démarrer", START, "word:fr:demarrer"),
    ("aanmelden", START, "word:nl:aanmelden"),
    ("HELP", HELP, "word:en:help"),
    ("info", HELP, "word:en:info"),
    ("aide", HELP, "word:fr:aide"),
    ("HJÄLP", HELP, "word:sv:hjalp"),
    ("hulp", HELP, "word:nl:hulp"),
]


@pytest.mark.parametrize(("text", "keyword", "rule"), CASES)
def test_each_text_is_recognized_by_its_rule(text, keyword, rule):
    found = recognize(text)
    assert (found.keyword, found.rule, found.unclear) == (keyword, rule, False)


UNCLEAR = ["please don't stop calling", "I'll stop by the office tomorrow",
           "n'arrêtez pas", "sluta inte", "can you help me with the address?"]


@pytest.mark.parametrize("text", UNCLEAR)
def test_a_text_that_only_mentions_a_keyword_is_left_to_an_organizer(text):
    found = recognize(text)
    assert found.keyword is None and found.unclear


@pytest.mark.parametrize("text", ["Maria", "See you on Saturday", "", "JOIN", "yes I'll come"])
def test_ordinary_texts_ask_for_nothing(text):
    found = recognize(text)
    assert found.keyword is None and not found.unclear


def test_keywords_match_without_case_and_accents():
    assert fold("GÅMED!") == "gamed"
    assert same_keyword("GÅMED", "gå med") and same_keyword("gamed", "GÅMED")
    assert not same_keyword("GÅMED", "GÅ")
