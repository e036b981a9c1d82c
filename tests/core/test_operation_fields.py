"""Field settings: what callers see, may edit, and see first."""

from datetime import date

import pytest

from ringround import operations as ops
from ringround.models import CustomField
from ringround.operation_fields import (
    FieldSettingsError,
    check_field_settings,
    editable_field_keys,
    effective_settings,
    exposed_fields,
)


@pytest.fixture
def setup(db, factories):
    org, admin = factories.org_with_admin()
    db.session.add_all([
        CustomField(organization_id=org.id, key="voted", label="Voted"),
        CustomField(organization_id=org.id, key="donations", label="Donations"),
        CustomField(organization_id=org.id, key="salary", label="Salary", never_editable=True),
    ])
    op = ops.create_draft(db.session, org.id, admin, "Op")
    person = factories.contact(org, first_name="Ana", last_name="Lima", city="Lyon",
                               date_of_birth=date(1980, 5, 1),
                               custom={"voted": "no", "donations": "50", "salary": "x"})
    db.session.commit()
    return org, op, person


@pytest.mark.parametrize("key", ["date_of_birth", "donations", "salary"])
def test_never_editable_fields_cannot_be_made_editable(db, setup, key):
    org, op, _ = setup
    with pytest.raises(FieldSettingsError, match="never be made editable"):
        check_field_settings(db.session, org.id, [{"key": key, "visibility": "editable"}])
    # visible is fine
    check_field_settings(db.session, org.id, [{"key": key, "visibility": "visible"}])


def test_unknown_field_and_bad_visibility_are_refused(db, setup):
    org, _, _ = setup
    with pytest.raises(FieldSettingsError, match="no contact field"):
        check_field_settings(db.session, org.id, [{"key": "password_hash",
                                                   "visibility": "visible"}])
    with pytest.raises(FieldSettingsError, match="hidden, visible or editable"):
        check_field_settings(db.session, org.id, [{"key": "city", "visibility": "shown"}])


def test_exposed_fields_hide_hidden_ones_and_put_highlighted_first(db, setup):
    _, op, person = setup
    ops.update_fields(db.session, op, [
        {"key": "city", "visibility": "visible"},
        {"key": "first_name", "visibility": "editable"},
        {"key": "voted", "visibility": "editable", "highlight": True},
        {"key": "date_of_birth", "visibility": "visible", "highlight": True},
        {"key": "last_name", "visibility": "hidden", "highlight": True},
    ])
    shown = exposed_fields(op, person)
    assert [f["key"] for f in shown] == ["voted", "date_of_birth", "city", "first_name"]
    assert shown[0] == {"key": "voted", "label": "Voted", "value": "no", "editable": True,
                        "highlight": True}
    assert shown[1]["value"] == "1980-05-01" and shown[1]["editable"] is False
    assert all(f["key"] not in ("last_name", "salary", "donations", "email") for f in shown)
    assert editable_field_keys(db.session, op) == {"first_name", "voted"}


def test_a_never_editable_field_stored_as_editable_is_still_read_only(db, setup):
    _, op, person = setup
    op.field_settings = {"fields": [{"key": "donations", "visibility": "editable"}]}
    db.session.commit()
    assert exposed_fields(op, person) == [{"key": "donations", "label": "Donations",
                                           "value": "50", "editable": False,
                                           "highlight": False}]


def test_defaults_show_little_and_list_every_field(db, setup):
    _, op, person = setup
    rows = effective_settings(db.session, op)
    keys = [row["key"] for row in rows]
    assert keys[:4] == ["first_name", "last_name", "language", "city"]
    assert {"voted", "donations", "salary", "email"} <= set(keys)
    assert [f["key"] for f in exposed_fields(op, person)][0] == "first_name"
    assert "email" not in {f["key"] for f in exposed_fields(op, person)}


def test_cached_settings_speak_each_readers_language(app, db, setup):
    """Field labels cached by operation and version are not frozen in the language of the
    first caller who opened a card: a Swedish caller first, then an English one."""
    from flask_babel import force_locale

    _, op, _ = setup
    version = ("test", op.updated_at)
    labels = {}
    for locale in ("sv", "en", "fr", "sv"):
        with app.test_request_context(), force_locale(locale):
            rows = effective_settings(db.session, op, version=version)
            labels[locale] = next(row["label"] for row in rows if row["key"] == "time_zone")
    assert labels == {"sv": "Tidszon", "en": "Time zone", "fr": "Fuseau horaire"}
