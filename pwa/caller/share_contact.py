"""The caller app's "Add someone who wants to get involved": a volunteer shares a contact card
from their phone (a .vcf file, or the browser's Contact Picker filling the typed fields) or
types a name and number, with the person's consent (ringround/people/volunteer_shares.py).

Only the operation's members may share; shares are limited per volunteer. The answer names
the person by the first name the volunteer gave, and is the same whether the organization
knew the number or not."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField, TelField
from wtforms.validators import Length

from pwa.caller import member_required
from ringround.extensions import db, limiter
from ringround.models import Operation, Organization
from ringround.operations import operations_to_call
from ringround.people import volunteer_shares as shares

bp = Blueprint("share_contact", __name__)


def _share_limit() -> str:
    return current_app.config["SHARE_CONTACT_RATE_LIMIT"]


class ShareContactForm(FlaskForm):
    """A contact card or a typed name and number, what for, and the consent."""

    card = FileField(_l("Their contact card (.vcf)"))
    first_name = StringField(_l("First name"), validators=[Length(max=shares.MAX_NAME)])
    last_name = StringField(_l("Last name"), validators=[Length(max=shares.MAX_NAME)])
    phone = TelField(_l("Phone number"), validators=[Length(max=40)])
    # `required` lets the browser stop a submit that would lose the chosen file (a file
    # input cannot be filled again); the core checks both anyway.
    purpose = StringField(_l("What they want to be contacted about"),
                          validators=[Length(max=shares.MAX_PURPOSE)],
                          render_kw={"required": True})
    consent = BooleanField(_l("They agreed to be contacted about this"),
                           render_kw={"required": True})


def _page(operation: Operation, form: ShareContactForm, error: str | None = None,
          status: int = 200, card_again: bool = False) -> Response:
    org = db.session.get(Organization, operation.organization_id)
    response = Response(render_template(
        "caller/share.html", operation=operation, form=form, error=error,
        organization=org.name if org else "", card_again=card_again), status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/call/share")
def choose_operation():
    """Where the phone's share sheet lands (through the service worker, which keeps the card):
    the share page of the volunteer's operation, or a choice when they have several."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.path))
    operations = operations_to_call(db.session, current_user)
    if len(operations) == 1:
        return redirect(url_for("share_contact.share_form", operation_id=operations[0].id))
    return render_template("caller/share_choose.html", operations=operations)


@bp.get("/call/<int:operation_id>/share")
@member_required()
def share_form(operation: Operation):
    return _page(operation, ShareContactForm())


@bp.post("/call/<int:operation_id>/share")
@limiter.limit(_share_limit, key_func=lambda: f"share:{current_user.get_id()}",
               exempt_when=lambda: not current_user.is_authenticated)
@member_required()
def share(operation: Operation):
    """Parse the card or the typed fields, share, and thank; errors keep what was typed."""
    form = ShareContactForm()
    if not form.validate_on_submit():
        message = next(iter(form.errors.values()), [None])[0]
        return _page(operation, form, str(message or _l("Please check the form.")), 422)
    upload = form.card.data
    try:
        if upload and upload.filename:
            card, via = shares.card_from_file(upload.read(shares.MAX_CARD_BYTES + 1)), "vcard"
        else:
            card, via = shares.typed_card(form.first_name.data or "", form.last_name.data or "",
                                          form.phone.data or ""), "typed"
        shared = shares.share_contact(db.session, operation, current_user, card,
                                      purpose=form.purpose.data or "",
                                      consented=bool(form.consent.data), via=via)
    except shares.ShareError as error:
        db.session.rollback()
        return _page(operation, form, str(error), 422,
                     card_again=bool(upload and upload.filename))
    db.session.commit()
    response = Response(render_template("caller/share_done.html", operation=operation,
                                        first_name=shared.first_name))
    response.headers["Cache-Control"] = "no-store"
    return response
