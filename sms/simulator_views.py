"""The simulator's developer page: simulated phones for organizers, only while the simulator
is the active provider. Every button goes through the real webhooks, signed."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import and_, or_, select
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Regexp

from ringround.campaign_numbers import organizations_sending_from
from ringround.extensions import db
from ringround.models import CallLeg, Message, Organization, OrgRole, SimCall, SimText
from sms.forms import E164, EmptyForm
from sms.provider import get_provider
from sms.simulator import SimulatedNetwork, SimulatorError
from sms.telephony_numbers import default_number, organization_numbers
from web.context import org_role_required

sim = Blueprint("telephony_sim", __name__, url_prefix="/telephony/simulator")
CALL_ACTIONS = {"answer", "voicemail", "busy", "no-answer", "failed", "hangup", "timeout"}


class TextInForm(FlaskForm):
    phone = StringField(_l("From phone"), validators=[DataRequired(), E164])
    number = StringField(_l("To campaign number"), validators=[DataRequired(), E164])
    body = StringField(_l("Text"), validators=[DataRequired(), Length(max=640)])


class DialInForm(FlaskForm):
    phone = StringField(_l("From phone"), validators=[DataRequired(), E164])
    number = StringField(_l("To campaign number"), validators=[DataRequired(), E164])


class KeysForm(FlaskForm):
    digits = StringField(_l("Keys"), validators=[DataRequired(), Regexp(r"^[0-9*#]{1,12}$")])


@sim.before_request
def simulator_only():
    if not get_provider().is_simulated:
        abort(404)


def network() -> SimulatedNetwork:
    return SimulatedNetwork(current_app._get_current_object())


def on_line(model, numbers: set[str]):
    """Calls or texts to or from one of these numbers."""
    return or_(model.to_number.in_(numbers), model.from_number.in_(numbers))


def visible_to(model, org: Organization):
    """The simulated calls or texts an organizer of `org` sees and drives: all the traffic of
    the numbers only `org` uses; on a number shared with other organizations (the default
    number), only what the app recorded for `org` (its texts, its call legs)."""
    default = get_provider().default_from
    numbers = organization_numbers(db.session, org)
    shared = {n for n in numbers
              if organizations_sending_from(db.session, n, default) - {org.id}}
    if model is SimText:
        ours = select(Message.sid).where(Message.organization_id == org.id,
                                         Message.sid.is_not(None))
        recorded = model.sid.in_(ours)
    else:
        ours = select(CallLeg.sid).where(CallLeg.organization_id == org.id,
                                         CallLeg.sid.is_not(None))
        recorded = or_(model.sid.in_(ours), model.parent_sid.in_(ours))
    return or_(on_line(model, numbers - shared), and_(on_line(model, shared), recorded))


def own(model, sid: str, org: Organization) -> None:
    if db.session.scalar(select(model.id).where(model.sid == sid,
                                                visible_to(model, org))) is None:
        abort(404)


@sim.get("/")
@org_role_required(OrgRole.ADMIN, OrgRole.ORGANIZER)
def phones(org: Organization):
    calls = db.session.scalars(select(SimCall).where(visible_to(SimCall, org))
                               .order_by(SimCall.id.desc()).limit(40)).all()
    texts = db.session.scalars(select(SimText).where(visible_to(SimText, org))
                               .order_by(SimText.id.desc()).limit(60)).all()
    number = default_number(org)
    return render_template(
        "sms/simulator.html", calls=calls, texts=texts, button=EmptyForm(),
        keys=KeysForm(formdata=None),
        text_form=TextInForm(formdata=None, number=number, prefix="text"),
        dial_form=DialInForm(formdata=None, number=number, prefix="dial"),
    )


def _done(error: SimulatorError | None = None):
    if error is not None:
        db.session.rollback()
        flash(str(error), "error")
    return redirect(url_for("telephony_sim.phones"))


@sim.post("/calls/<sid>/<action>")
@org_role_required(OrgRole.ADMIN, OrgRole.ORGANIZER)
def call_action(sid: str, action: str, org: Organization):
    if action not in CALL_ACTIONS or not EmptyForm().validate_on_submit():
        abort(400)
    own(SimCall, sid, org)
    net = network()
    try:
        if action in ("answer", "voicemail"):
            net.answer(sid, by="machine" if action == "voicemail" else "human")
        elif action == "hangup":
            net.hang_up(sid)
        elif action == "timeout":
            net.no_key(sid)
        else:
            net.ring_out(sid, action)
        db.session.commit()
    except SimulatorError as error:
        return _done(error)
    return _done()


@sim.post("/calls/<sid>/keys")
@org_role_required(OrgRole.ADMIN, OrgRole.ORGANIZER)
def call_keys(sid: str, org: Organization):
    own(SimCall, sid, org)
    form = KeysForm()
    if not form.validate_on_submit():
        return _done(SimulatorError(_("Keys are digits, * and #.")))
    try:
        network().press(sid, form.digits.data)
        db.session.commit()
    except SimulatorError as error:
        return _done(error)
    return _done()


@sim.post("/texts")
@org_role_required(OrgRole.ADMIN, OrgRole.ORGANIZER)
def text_in(org: Organization):
    form = TextInForm(prefix="text")
    if not form.validate_on_submit():
        return _done(SimulatorError(_("Give both numbers in international form, and a text.")))
    if form.number.data not in organization_numbers(db.session, org):
        return _done(SimulatorError(_("That is not one of your campaign numbers.")))
    try:
        network().text_in(form.phone.data, form.number.data, form.body.data)
    except SimulatorError as error:
        return _done(error)
    return _done()


@sim.post("/dial")
@org_role_required(OrgRole.ADMIN, OrgRole.ORGANIZER)
def dial_in(org: Organization):
    form = DialInForm(prefix="dial")
    if not form.validate_on_submit():
        return _done(SimulatorError(_("Give both numbers in international form.")))
    if form.number.data not in organization_numbers(db.session, org):
        return _done(SimulatorError(_("That is not one of your campaign numbers.")))
    try:
        network().dial_in(form.phone.data, form.number.data)
        db.session.commit()
    except SimulatorError as error:
        return _done(error)
    return _done()


@sim.post("/texts/<sid>/<outcome>")
@org_role_required(OrgRole.ADMIN, OrgRole.ORGANIZER)
def text_outcome(sid: str, outcome: str, org: Organization):
    if outcome not in ("delivered", "unsubscribed") or not EmptyForm().validate_on_submit():
        abort(400)
    own(SimText, sid, org)
    try:
        if outcome == "delivered":
            network().report_text(sid, "delivered")
        else:
            network().report_text(sid, "undelivered", 21610)
    except SimulatorError as error:
        return _done(error)
    return _done()
