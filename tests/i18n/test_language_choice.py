"""Who sees which language (ringround/i18n.py), through the real pages and webhooks, with
throwaway catalogues (every string pseudo-translated: "Sign out" is "Sígñ öüt")."""

from __future__ import annotations

import re

from sqlalchemy import select

from ringround.i18n import choose_locale, supported_locale
from ringround.models import OperationMember, OperationRole, Organization, User
from tests.conftest import csrf_token_from, post_form
from tests.i18n_support import pseudo
from tests.telephony.conftest import CAMPAIGN, post_signed

SIGN_OUT = "Sign out"


def lang_of(page: str) -> str:
    return re.search(r'<html lang="([^"]+)"', page).group(1)


def test_the_rule_takes_the_first_supported_choice_then_the_browser():
    assert supported_locale("fr-CA") == "fr" and supported_locale("SV_se") == "sv"
    assert supported_locale("de") is None and supported_locale(None) is None
    assert choose_locale(None, "nl", browser=["fr"]) == "nl"
    assert choose_locale("de", None, browser=["es", "sv-SE", "fr"]) == "sv"
    assert choose_locale(None, browser=[]) == "en"


def test_sign_in_page_follows_the_browser(client):
    page = client.get("/login", headers={"Accept-Language": "sv-SE,sv;q=0.9,en;q=0.5"})
    html = page.get_data(as_text=True)
    assert lang_of(html) == "sv" and pseudo("Keep me signed in on this device", "sv") in html
    english = client.get("/login", headers={"Accept-Language": "de,en;q=0.5"})
    assert lang_of(english.get_data(as_text=True)) == "en"


def test_a_member_without_a_choice_sees_the_organization_language(client, db, factories):
    org, admin = factories.org_with_admin()
    org.language = "nl"
    db.session.commit()
    factories.login(client, admin)
    html = client.get("/console/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert lang_of(html) == "nl" and pseudo(SIGN_OUT, "nl") in html


def test_the_switch_stores_the_person_own_choice(client, db, factories):
    org, admin = factories.org_with_admin()
    org.language = "nl"
    db.session.commit()
    factories.login(client, admin)
    response = post_form(client, "/account/language",
                         {"language": "sv", "next": "/console/settings"}, page="/console/")
    assert response.status_code == 302 and response.location.endswith("/console/settings")
    assert db.session.get(User, admin.id).language == "sv"
    html = client.get("/console/settings").get_data(as_text=True)
    assert lang_of(html) == "sv" and pseudo(SIGN_OUT, "sv") in html
    assert '<strong class="current" lang="sv" aria-current="true">Svenska</strong>' in html
    assert '<button type="submit" name="language" value="fr" lang="fr" class="link">' in html


def test_the_switch_refuses_what_it_does_not_speak_and_never_leaves_the_site(client, db,
                                                                              factories):
    _org, admin = factories.org_with_admin()
    factories.login(client, admin)
    token = csrf_token_from(client.get("/console/").get_data(as_text=True))
    response = client.post("/account/language", data={
        "language": "xx", "next": "https://evil.example/", "csrf_token": token})
    assert response.status_code == 302 and response.location == "/console/"
    assert db.session.get(User, admin.id).language is None
    no_token = client.post("/account/language", data={"language": "fr"})
    assert no_token.status_code == 400 and db.session.get(User, admin.id).language is None


def test_the_caller_app_has_the_switch(client, db, factories):
    org, admin = factories.org_with_admin()
    volunteer = factories.phone_user()
    op = factories.operation(org, admin)
    op.members.append(OperationMember(user_id=volunteer.id, role=OperationRole.AGENT))
    volunteer.language = "fr"
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = volunteer.get_id(), True
    html = client.get(f"/call/{op.id}").get_data(as_text=True)
    assert lang_of(html) == "fr" and 'action="/account/language"' in html
    assert f'data-t-offline="{pseudo("You are offline. Results stay on this phone")}' in html
    assert pseudo(SIGN_OUT) in html


def test_settings_change_the_organization_language(client, db, factories):
    org, admin = factories.org_with_admin()
    factories.login(client, admin)
    page = client.get("/console/settings").get_data(as_text=True)
    assert '<option selected value="en">English</option>' in page
    form = {"name": org.name, "country": "SE", "time_zone": "Europe/Stockholm",
            "window_start": "09:00", "window_end": "20:00", "help_text": "", "language": "sv"}
    assert post_form(client, "/console/settings", form).status_code == 302
    assert db.session.get(Organization, org.id).language == "sv"
    refused = post_form(client, "/console/settings", {**form, "language": "xx"})
    assert refused.status_code == 200 and db.session.get(Organization, org.id).language == "sv"


def test_first_run_stores_the_language_guessed_from_the_browser(client, db):
    page = client.get("/setup", headers={"Accept-Language": "nl-BE,nl;q=0.9"})
    assert '<option selected value="nl">Nederlands</option>' in page.get_data(as_text=True)
    response = post_form(client, "/setup", {
        "org_name": "Buurtcomité", "display_name": "An", "email": "an@example.org",
        "password": "long enough password", "confirm": "long enough password",
        "country": "BE", "time_zone": "Europe/Brussels", "language": "nl"})
    assert response.status_code == 302
    org = db.session.scalars(select(Organization)).one()
    assert org.language == "nl" and db.session.scalars(select(User)).one().language is None


def test_texts_to_a_contact_use_their_language_else_the_organization_one(app, client, db,
                                                                        factories):
    org, _admin = factories.org_with_admin("Comité")
    org.campaign_number, org.language = CAMPAIGN, "sv"
    french = factories.contact(org, "Léa", language="fr")
    unknown = factories.contact(org, "Kim")
    db.session.commit()
    help_text = "%(org)s: reply STOP to get no more calls or texts, START to undo."
    for person, language in ((french, "fr"), (unknown, "sv")):
        reply = post_signed(client, "/telephony/hooks/sms", {
            "MessageSid": f"SM{person.id:032d}", "From": person.phones[0].e164,
            "To": CAMPAIGN, "Body": "HELP"}).get_data(as_text=True)
        assert pseudo(help_text, language) % {"org": "Comité"} in reply


def test_voice_prompts_are_said_in_the_hearer_language(client, db, factories):
    org, _admin = factories.org_with_admin("Comité")
    org.campaign_number, org.language = CAMPAIGN, "nl"
    french = factories.contact(org, "Léa", language="fr")
    unknown = factories.contact(org, "Kim")
    db.session.commit()
    said = {}
    for person in (french, unknown):
        twiml = post_signed(client, "/telephony/hooks/voice", {
            "CallSid": f"CA{person.id:032d}", "From": person.phones[0].e164,
            "To": CAMPAIGN}).get_data(as_text=True)
        said[person.first_name] = re.search(r'<Say[^>]* language="(\w+)-', twiml).group(1)
        assert pseudo("Thank you for calling %(org)s.", said[person.first_name]) % {
            "org": "Comité"} in twiml
    assert said == {"Léa": "fr", "Kim": "nl"}


def test_a_volunteer_without_a_choice_sees_the_operation_organization_language(
        client, db, factories):
    # A volunteer joined by link belongs to no organization: the caller app speaks the
    # language of the operation's organization (read with the operation, no query of its own).
    org, admin = factories.org_with_admin()
    org.language = "sv"
    volunteer = factories.phone_user()
    volunteer.language = None
    op = factories.operation(org, admin)
    op.members.append(OperationMember(user_id=volunteer.id, role=OperationRole.AGENT))
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = volunteer.get_id(), True
    html = client.get(f"/call/{op.id}", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert lang_of(html) == "sv"
