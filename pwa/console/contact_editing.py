"""One contact's edit form: fields, custom fields by their label, tags and numbers, checked
and saved by `ringround.people.contact_edit.edit_contact`; a refusal shows the form again
with what was typed and a message per field, and saves nothing."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from pwa.console.contacts import ORGANIZERS, bp
from pwa.console.forms import CsrfForm, country_options
from ringround.extensions import db
from ringround.models import Contact, Organization, PhoneLabel
from ringround.organizations import zone_names
from ringround.people.contact_edit import (
    ContactEdit,
    ContactEditError,
    custom_fields,
    edit_contact,
    form_values,
)
from ringround.people.contact_values import LANGUAGE_NAMES
from ringround.people.contacts import get_contact
from ringround.people.normalize import CONTACT_FIELDS
from web.context import org_role_required
from web.formats import language_label


@bp.route("/<int:contact_id>/edit", methods=["GET", "POST"])
@org_role_required(*ORGANIZERS)
def edit(org: Organization, contact_id: int):
    person = get_contact(db.session, org.id, contact_id)
    if person is None:
        abort(404)
    form = CsrfForm()
    values, errors, owner_id = form_values(person), {}, None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        values = request.form.to_dict()
        try:
            changed = edit_contact(db.session, person, edit_from(request.form, person),
                                   current_user.id)
        except ContactEditError as error:
            db.session.rollback()
            errors, owner_id = error.errors, error.owner_id
        else:
            db.session.commit()
            flash(_("Changes saved.") if changed else _("Nothing was changed."), "success")
            return redirect(url_for("contacts.contact", contact_id=person.id))
    return render_template(
        "contacts/edit.html", org=org, contact=person, form=form, values=values, errors=errors,
        owner_id=owner_id, definitions=custom_fields(db.session, org.id),
        countries=_with_current([(c.value, c.label) for c in country_options()], person.country),
        zones=_with_current([(zone, zone) for zone in zone_names()], person.time_zone),
        languages=_languages(person.language),
        labels=[(label.value, label.label) for label in PhoneLabel],
    ), 422 if errors else 200


def edit_from(form: MultiDict, person: Contact) -> ContactEdit:
    """The edit the form sent, as typed."""
    return ContactEdit(
        fields={name: form.get(name, "") for name in CONTACT_FIELDS},
        custom={key.removeprefix("custom-"): value for key, value in form.items()
                if key.startswith("custom-")},
        tags=form.get("tags", ""),
        phones={phone.id: (form.get(f"phone-{phone.id}-label", ""),
                           form.get(f"phone-{phone.id}-remove") == "1")
                for phone in person.phones},
        new_phone=form.get("new_phone", ""), new_phone_label=form.get("new_phone_label", ""))


def _with_current(options: list[tuple[str, str]], current: str | None
                  ) -> list[tuple[str, str]]:
    """The options, and the contact's value if an older import kept one they lack (a
    select would otherwise show, and send, the first)."""
    if current and all(value != current for value, _label in options):
        return [(current, current), *options]
    return options


def _languages(current: str | None) -> list[tuple[str, str]]:
    """(code, name in the reader's language) of the languages an import recognises, and the
    contact's own."""
    codes = set(LANGUAGE_NAMES.values()) | ({current} if current else set())
    return sorted(((code, language_label(code)) for code in codes),
                  key=lambda pair: pair[1].casefold())
