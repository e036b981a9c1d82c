"""An organization's country and zone: the guesses made at set-up, and the one default region."""

from ringround.models import Organization
from ringround.organizations import default_region, guess_country, guess_zone


def test_the_country_is_guessed_from_the_zone_then_from_the_languages():
    assert guess_country("Europe/Stockholm", ["en-US"]) == "SE"
    assert guess_country(None, ["fr-FR", "fr"]) == "FR"
    assert guess_country("UTC", ["de", "pt-BR"]) == "BR"
    assert guess_country(None, ["en"]) is None


def test_the_zone_of_a_country_is_its_main_one():
    assert guess_zone("US") == "America/New_York"
    assert guess_zone("FR") == "Europe/Paris"
    assert guess_zone(None) == "UTC"


def test_the_default_region_is_the_organizations_country_or_us():
    assert default_region(Organization(default_region="fr")) == "FR"
    assert default_region(Organization(default_region="ZZ")) == "US"
    assert default_region(None) == "US"
