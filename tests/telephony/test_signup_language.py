"""Sign-up replies come in the form's language (with a French catalogue made for the test)."""

from __future__ import annotations

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from ringround.extensions import db
from ringround.signup_forms import save_signup_form
from tests.telephony.conftest import CAMPAIGN, PUBLIC
from tests.telephony.flows import PhoneBank

FRENCH = {
    "Thanks for texting %(org)s! Reply STOP at any time to stop.":
        "Merci d'avoir écrit à %(org)s ! Répondez STOP pour arrêter.",
    "What is your first name?": "Quel est votre prénom ?",
    "You are signed up. Thank you!": "Vous êtes inscrit·e. Merci !",
}


@pytest.fixture
def app_overrides(tmp_path_factory):
    root = tmp_path_factory.mktemp("translations")
    catalog = Catalog(locale="fr")
    for english, french in FRENCH.items():
        catalog.add(english, french)
    (root / "fr" / "LC_MESSAGES").mkdir(parents=True)
    with open(root / "fr" / "LC_MESSAGES" / "messages.mo", "wb") as handle:
        write_mo(handle, catalog)
    return {"PUBLIC_BASE_URL": PUBLIC,
            "BABEL_TRANSLATION_DIRECTORIES": str(root)}


@pytest.fixture
def fresh_translations(app):
    """Flask-Babel caches catalogues per locale in a process-wide domain: forget them so this
    app's test catalogue is read (and forget it afterwards for the other tests)."""
    from flask_babel import get_domain

    get_domain().cache.clear()
    yield
    get_domain().cache.clear()


def test_a_french_form_talks_french(app, factories, fresh_translations):
    bank = PhoneBank(app, factories, contacts=0)
    save_signup_form(db.session, org=bank.org, actor=bank.admin, title="Rejoindre",
                     fields={"first_name": "required", "phone": "required"},
                     consent_text="Nous pourrons vous appeler.", sms_keyword="REJOINDRE",
                     language="fr")
    db.session.commit()
    [hello] = bank.net.text_in("+33612345678", CAMPAIGN, "rejoindre")
    assert hello.startswith("Merci d'avoir écrit à") and "Quel est votre prénom ?" in hello
    bank.net.text_in("+33612345678", CAMPAIGN, "Élodie")
    assert bank.net.text_in("+33612345678", CAMPAIGN, "oui") == ["Vous êtes inscrit·e. Merci !"]
