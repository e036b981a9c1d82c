"""Files the organizers' CRMs read and write, through the Flask client: the mapping page
says which CRM an export came from; export profiles download what those tools import."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ringround.models import ImportJob
from tests.web.test_contacts import admin_client, upload, wait_checked  # noqa: F401


def test_the_mapping_page_says_which_crm_the_file_came_from(admin_client, db):  # noqa: F811
    assert upload(admin_client, "crm/nationbuilder.csv").status_code == 302
    job = db.session.scalar(select(ImportJob))
    page = wait_checked(admin_client, job.id)
    assert "Looks like an export from NationBuilder" in page
    assert '<option value="do_not_contact" selected>' in page


def test_a_plain_file_names_no_crm(admin_client, db):  # noqa: F811
    upload(admin_client, "nl_commas.csv")
    page = wait_checked(admin_client, db.session.scalar(select(ImportJob)).id)
    assert "Looks like an export" not in page


DOCUMENTED = {  # the field names docs/crm-files.md gives for each profile
    "action_network": ["first_name", "last_name", "email", "zip_code", "can2_phone",
                       "can2_user_address", "can2_user_city", "can2_country",
                       "can2_user_tags", "can2_sms_status"],
    "nationbuilder": ["nationbuilder_id", "first_name", "last_name", "email", "phone_number",
                      "mobile_number", "do_not_call", "primary_address1", "primary_city",
                      "primary_zip", "primary_country_code", "tag_list"],
    "everyaction": ["VANID", "FirstName", "LastName", "Address", "City", "Zip5", "Home Phone",
                    "Cell Phone", "PreferredEmail", "DoNotCall", "Activist Codes"],
    "zetkin": ["id", "ext_id", "first_name", "last_name", "email", "phone", "alt_phone",
               "street_address", "zip_code", "city", "country", "tags"],
}
TAGS = {"action_network": "can2_user_tags", "nationbuilder": "tag_list",
        "everyaction": "Activist Codes", "zetkin": "tags"}
MOBILE = {"action_network": "can2_phone", "nationbuilder": "mobile_number",
          "everyaction": "Cell Phone", "zetkin": "phone"}  # Zetkin: its main number


def called_contact(db, factories, org):
    """Maria, tagged, called once in "Spring drive" (supporter; answered a question), and
    =cmd|' (a formula) as her last name."""
    from ringround.models import Attempt, Tag, Target

    maria = factories.contact(org, "Maria", phone="+16175550199", last_name="=cmd|' /C calc'!A0",
                              email="maria@example.org")
    maria.tags.append(Tag(organization_id=org.id, name="volunteer"))
    op = factories.operation(org, name="Spring drive")
    target = Target(operation_id=op.id, contact_id=maria.id)
    db.session.add(target)
    db.session.flush()
    db.session.add(Attempt(client_id="crm-1", operation_id=op.id, target_id=target.id,
                           contact_id=maria.id, disposition="supporter",
                           answers={"Will you vote?": "yes"}))
    db.session.commit()
    return maria


def download(client, profile, results):
    import csv
    import io

    from tests.conftest import post_form

    response = post_form(client, "/console/contacts/export",
                         {"profile": profile, "results": results}, page="/console/contacts/")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"-{profile}.csv" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


@pytest.mark.parametrize("profile", sorted(DOCUMENTED))
def test_each_profile_downloads_the_tools_fields_with_tags_and_results(
        admin_client, db, factories, profile):  # noqa: F811
    from ringround.models import AuditEntry

    called_contact(db, factories, admin_client.org)
    header, *rows = download(admin_client, profile, "tags")
    assert header == DOCUMENTED[profile] and len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert row[TAGS[profile]] == "volunteer, Spring drive: supporter"
    assert row[MOBILE[profile]] == "+16175550199" and row["first_name" if "first_name" in row
                                                          else "FirstName"] == "Maria"
    last = row.get("last_name", row.get("LastName"))
    assert last == "'=cmd|' /C calc'!A0"  # the formula guard on every cell
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "contacts.exported"))
    assert entry.details["profile"] == profile and entry.details["count"] == 1

    header, *rows = download(admin_client, profile, "survey")
    assert header == DOCUMENTED[profile] + ["Spring drive", "Spring drive: Will you vote?"]
    row = dict(zip(header, rows[0], strict=True))
    assert row[TAGS[profile]] == "volunteer"
    assert (row["Spring drive"], row["Spring drive: Will you vote?"]) == ("supporter", "yes")


OPT_OUT = {  # how each profile's row says "do not contact"
    "action_network": {"can2_sms_status": "unsubscribed",
                       "can2_user_tags": "do not contact, Spring drive: supporter"},
    "nationbuilder": {"do_not_call": "true"},
    "everyaction": {"DoNotCall": "true"},
    "zetkin": {"tags": "do not contact, Spring drive: supporter"},
}


def marked(row: dict) -> bool:
    """Whether a profile row says "do not contact" in any of the ways OPT_OUT lists."""
    return ("do not contact" in str(row) or "unsubscribed" in row.values()
            or "true" in (row.get("do_not_call"), row.get("DoNotCall")))


@pytest.mark.parametrize("profile", sorted(DOCUMENTED))
def test_every_profile_marks_people_who_opted_out(admin_client, db, factories,  # noqa: F811
                                                  profile):
    """A person who texted STOP must not become an ordinary contact in the other tool."""
    maria = called_contact(db, factories, admin_client.org)
    maria.tags.clear()
    other = factories.contact(admin_client.org, "Nils", phone="+46701234567")
    db.session.commit()
    header, *rows = download(admin_client, profile, "tags")
    by_name = {row[header.index("first_name" if "first_name" in header else "FirstName")]:
               dict(zip(header, row, strict=True)) for row in rows}
    assert not marked(by_name["Maria"]) and not marked(by_name["Nils"])
    maria.do_not_contact = True
    db.session.commit()
    header, *rows = download(admin_client, profile, "tags")
    by_name = {row[header.index("first_name" if "first_name" in header else "FirstName")]:
               dict(zip(header, row, strict=True)) for row in rows}
    assert {column: by_name["Maria"][column] for column in OPT_OUT[profile]} == OPT_OUT[profile]
    assert not marked(by_name["Nils"]) and other.do_not_contact is False


def test_an_action_network_file_of_ours_keeps_opt_outs_when_imported_again(
        admin_client, db, factories):  # noqa: F811
    """The round trip: Ringround reads `can2_sms_status` back as an opt-out."""
    from ringround.people.headers import auto_map, detect_crm, is_opt_out

    maria = called_contact(db, factories, admin_client.org)
    maria.do_not_contact = True
    db.session.commit()
    header, *rows = download(admin_client, "action_network", "tags")
    assert detect_crm(header) == "Action Network"
    column = header.index("can2_sms_status")
    target = auto_map(header)[column]
    assert is_opt_out(target, rows[0][column])


def test_an_unknown_profile_is_refused_with_a_message(admin_client, db):  # noqa: F811
    from tests.conftest import post_form

    response = post_form(admin_client, "/console/contacts/export", {"profile": "salesforce"},
                         page="/console/contacts/")
    assert response.status_code == 302
    page = admin_client.get(response.location).get_data(as_text=True)
    assert "Choose one of the export formats offered." in page


def test_every_profile_phone_column_is_known_to_the_formula_guard():
    from ringround.people.crm_export import PROFILES
    from ringround.spreadsheet_safety import PHONE_COLUMNS

    phones = {header for profile in PROFILES.values() for header, value in profile.columns
              if value in ("phone", "mobile", "main_phone", "other_phone")}
    assert phones <= PHONE_COLUMNS


@pytest.mark.parametrize("profile", sorted(DOCUMENTED))
def test_cli_exports_each_profile(app, db, factories, profile):
    import csv
    import io

    org, _ = factories.org_with_admin()
    called_contact(db, factories, org)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["contacts", "export", "--org", org.slug, "--profile", profile])
    assert result.exit_code == 0, result.output
    header, *rows = list(csv.reader(io.StringIO(result.stdout)))
    assert header == DOCUMENTED[profile]
    assert dict(zip(header, rows[0], strict=True))[TAGS[profile]] == \
        "volunteer, Spring drive: supporter"
    result = runner.invoke(args=["contacts", "export", "--org", org.slug, "--profile", profile,
                                 "--results", "survey"])
    header, *rows = list(csv.reader(io.StringIO(result.stdout)))
    assert header[-2:] == ["Spring drive", "Spring drive: Will you vote?"]
    assert rows[0][-2:] == ["supporter", "yes"]


@pytest.mark.parametrize("profile", sorted(DOCUMENTED))
def test_operation_results_download_in_each_profile(admin_client, db, factories,  # noqa: F811
                                                    profile):
    import csv
    import io

    from ringround.models import AuditEntry, Operation

    called_contact(db, factories, admin_client.org)
    factories.contact(admin_client.org, "Never called")
    op = db.session.scalar(select(Operation))
    url = f"/console/operations/{op.id}/results.csv"
    response = admin_client.get(f"{url}?profile={profile}&results=survey")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    header, *rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert header == DOCUMENTED[profile] + ["Spring drive", "Spring drive: Will you vote?"]
    assert len(rows) == 1 and rows[0][-2:] == ["supporter", "yes"]
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "operation.results_exported"))
    assert entry.details == {"rows": 1, "profile": profile}
    header, *rows = list(csv.reader(io.StringIO(
        admin_client.get(f"{url}?profile={profile}").get_data(as_text=True))))
    assert dict(zip(header, rows[0], strict=True))[TAGS[profile]] == \
        "volunteer, Spring drive: supporter"
    assert admin_client.get(f"{url}?profile=salesforce").status_code == 302
