"""The contact-merge rule both forms use: `find_match` (which contact a person is) and
`foreign_numbers` (numbers that stay with their contact)."""

from __future__ import annotations

import pytest

from ringround.people.merge import find_match, foreign_numbers

NAMES = {1: "Jean", 2: "Marie", 3: None}


def match(numbers, email=None, first_name=None, owners=None, emails=None):
    return find_match(numbers, email, first_name, owners or {}, emails or {}, NAMES.get)


def test_a_number_decides_first_in_the_order_given():
    owners = {"+33611111111": 2, "+33622222222": 1}
    assert match(["+33622222222", "+33611111111"], "jean@example.org", "Jean", owners,
                 {"jean@example.org": [1]}) == (1, None)


@pytest.mark.parametrize(("first_name", "expected"), [
    ("J.", (1, None)),  # an initial of the first holder
    ("Marie", (2, None)),  # the second holder of the family address
    ("Paul", (None, 1)),  # nobody: another person, in the first holder's household
    (None, (1, None)),  # no name to tell them apart: the first holder
])
def test_an_email_matches_the_first_holder_who_may_be_the_person(first_name, expected):
    assert match([], "family@example.org", first_name,
                 emails={"family@example.org": [1, 2]}) == expected


def test_no_number_and_no_email_is_a_new_contact():
    assert match(["+33633333333"], None, "Jean", {"+33611111111": 1}) == (None, None)


def test_numbers_of_another_contact_are_foreign_and_new_ones_are_not():
    owners = {"+33611111111": 1, "+33622222222": 2}
    assert foreign_numbers(["+33611111111", "+33622222222", "+33633333333"], 1,
                           owners) == ["+33622222222"]
