"""One contact's page: their fields (custom ones by their label), their numbers' opt-outs and
marks, do-not-contact, erasure (confirmed by a typed word), and their data as JSON. The edit
form is `contact_editing`."""

from __future__ import annotations

import json

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import pgettext
from flask_login import current_user
from sqlalchemy import func, select

from pwa.console.contacts import ORGANIZERS, bp
from pwa.console.forms import CsrfForm
from ringround.extensions import db
from ringround.models import Attempt, Organization
from ringround.people.contact_edit import custom_fields
from ringround.people.contacts import (
    get_contact,
    get_phone,
    opted_out_numbers,
    reset_phone_status,
    set_do_not_contact,
    set_number_opted_out,
)
from ringround.people.erasure import erase_contact
from ringround.people.export import person_data
from web.context import org_role_required


def _contact_or_404(org: Organization, contact_id: int):
    contact = get_contact(db.session, org.id, contact_id)
    if contact is None:
        abort(404)
    return contact


@bp.get("/<int:contact_id>")
@org_role_required(*ORGANIZERS)
def contact(org: Organization, contact_id: int):
    person = _contact_or_404(org, contact_id)
    calls = db.session.scalar(select(func.count()).select_from(Attempt)
                              .where(Attempt.contact_id == person.id))
    return render_template("contacts/contact.html", org=org, contact=person, form=CsrfForm(),
                           opted_out=opted_out_numbers(db.session, org.id, person),
                           calls=calls, erase_word=erase_word(),
                           fields={f.key: f for f in custom_fields(db.session, org.id)})


@bp.post("/<int:contact_id>/do-not-contact")
@org_role_required(*ORGANIZERS)
def do_not_contact(org: Organization, contact_id: int):
    person = _contact_or_404(org, contact_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    set_do_not_contact(db.session, person, request.form.get("value") == "1", current_user.id)
    db.session.commit()
    return redirect(url_for("contacts.contact", contact_id=person.id))


@bp.post("/phones/<int:phone_id>/<action>")
@org_role_required(*ORGANIZERS)
def phone_action(org: Organization, phone_id: int, action: str):
    phone = get_phone(db.session, org.id, phone_id)
    if phone is None:
        abort(404)
    if not CsrfForm().validate_on_submit():
        abort(400)
    if action == "opt-out":
        set_number_opted_out(db.session, phone, True, current_user.id)
    elif action == "opt-in":
        set_number_opted_out(db.session, phone, False, current_user.id)
    elif action == "reset":
        reset_phone_status(db.session, phone, current_user.id)
    else:
        abort(404)
    db.session.commit()
    return redirect(url_for("contacts.contact", contact_id=phone.contact_id))


def erase_word() -> str:
    """The word an organizer types to confirm erasing a contact, in their language."""
    return pgettext("the word typed to confirm erasing a contact", "erase")


def confirms_erasure(typed: str | None) -> bool:
    """The translated word or the English one, in any case (phones capitalise)."""
    return (typed or "").strip().casefold() in {erase_word().casefold(), "erase"}


@bp.post("/<int:contact_id>/erase")
@org_role_required(*ORGANIZERS)
def erase(org: Organization, contact_id: int):
    person = _contact_or_404(org, contact_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    if not confirms_erasure(request.form.get("confirm")):
        flash(_("Type “%(word)s” to confirm.", word=erase_word()), "error")
        return redirect(url_for("contacts.contact", contact_id=person.id))
    erase_contact(db.session, person, current_user.id)
    flash(_("The contact was erased. Call results remain as anonymous counts."), "success")
    return redirect(url_for("contacts.index"))


@bp.post("/<int:contact_id>/data.json")
@org_role_required(*ORGANIZERS)
def person_json(org: Organization, contact_id: int):
    person = _contact_or_404(org, contact_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    data = person_data(db.session, person, current_user.id)
    return Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition":
                             f'attachment; filename="contact-{contact_id}.json"',
                             "Cache-Control": "no-store"})
