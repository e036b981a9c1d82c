"""The CSV exports of Action Network, NationBuilder, EveryAction/VAN and Zetkin map without
manual mapping and import names, numbers, tags and opt-outs (samples written from their
documented formats: docs/crm-files.md)."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import select

from ringround.extensions import db
from ringround.models import Contact, ContactPhone
from ringround.people.headers import auto_map, detect_crm, is_opt_out
from ringround.people.importer import import_contacts

from .conftest import FIXTURES

CRM = FIXTURES / "crm"


def _headers(name: str) -> list[str]:
    with (CRM / name).open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


@pytest.mark.parametrize("name, crm, expected", [
    ("action_network.csv", "Action Network", [
        "custom:action_network_uuid", "first_name", "last_name", "email", "postcode",
        "mobile", "street", "city", "custom:state", "country", "opt_in", "opt_in", "tags"]),
    ("nationbuilder.csv", "NationBuilder", [
        "custom:nationbuilder_id", "first_name", "last_name", "email", "opt_in", "phone",
        "mobile", "opt_in", "do_not_contact", "do_not_contact", "street", "city", "postcode",
        "country", "tags"]),
    ("everyaction_van.csv", "EveryAction/VAN", [
        "custom:vanid", "last_name", "first_name", "street", "city", "custom:state",
        "postcode", "landline", "mobile", "email", "do_not_contact", "tags"]),
    ("zetkin.csv", "Zetkin", [
        "custom:zetkin_id", "custom:zetkin_ext_id", "first_name", "last_name", "email",
        "phone", "phone", "custom:co_address", "street", "postcode", "city", "country",
        "custom:gender"]),
    # what Zetkin's view download writes: ID, then the columns' titles, upper case
    ("zetkin_view_export.csv", "Zetkin", [
        "custom:zetkin_id", "first_name", "last_name", "email", "phone", "phone",
        "custom:co_address", "street", "postcode", "city", "country", "custom:gender",
        "custom:zetkin_ext_id"]),
    # a report download with the state's full name, the county and a "Phone Number" field
    ("action_network_report.csv", "Action Network", [
        "custom:action_network_uuid", "first_name", "last_name", "email", "phone", "street",
        "city", "custom:state", "postcode", "custom:county", "tags", "opt_in", "opt_in"]),
])
def test_each_crm_export_maps_automatically(name, crm, expected):
    headers = _headers(name)
    assert detect_crm(headers) == crm
    assert auto_map(headers) == expected


def test_a_plain_file_is_no_crm_export_and_keeps_its_mapping():
    headers = ["Name", "Phone", "id", "State", "language"]
    assert detect_crm(headers) is None
    assert auto_map(headers) == ["full_name", "phone", "custom:id", "custom:state", "language"]


@pytest.mark.parametrize("target, cell, out", [
    ("do_not_contact", "Y", True), ("do_not_contact", "true", True),
    ("do_not_contact", "", False), ("do_not_contact", "false", False),
    ("opt_in", "unsubscribed", True), ("opt_in", "subscribed", False),
    ("opt_in", "false", True), ("opt_in", "", False), ("opt_in", "true", False),
])
def test_opt_out_cells(target, cell, out):
    assert is_opt_out(target, cell) is out


def _contact(org, e164):
    return db.session.scalar(select(Contact).join(ContactPhone).where(
        ContactPhone.organization_id == org.id, ContactPhone.e164 == e164))


@pytest.mark.parametrize("name, region, kept, opted_out", [
    ("action_network.csv", "US", ("+14155550101", "Maria", "Lopez", {"volunteer", "donor"}),
     "+12125550102"),
    ("nationbuilder.csv", "US", ("+16175550113", "Aisha", "Khan", {"volunteer", "canvasser"}),
     "+15035550104"),
    ("everyaction_van.csv", "US", ("+15125550115", "Linh", "Nguyen", {"Volunteer"}),
     "+13035550106"),
    ("zetkin.csv", "SE", ("+4685551234", "Elin", "Berg", set()), None),
    ("zetkin_view_export.csv", "SE", ("+4685551234", "Elin", "Berg", set()), None),
    ("action_network_report.csv", "US", ("+14155550131", "Rosa", "Park",
                                         {"phonebank", "volunteer"}), "+15105550132"),
])
def test_each_crm_export_imports_names_numbers_tags_and_opt_outs(org, name, region, kept,
                                                                  opted_out):
    summary, _ = import_contacts(db.session, org.id, CRM / name, default_region=region)
    assert (summary.created, summary.rejected) == (2, 0)
    number, first, last, tags = kept
    contact = _contact(org, number)
    assert (contact.first_name, contact.last_name) == (first, last)
    assert {tag.name for tag in contact.tags} == tags
    assert contact.do_not_contact is False
    if opted_out:
        assert _contact(org, opted_out).do_not_contact is True
