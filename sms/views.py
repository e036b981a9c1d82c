"""Organizer pages for the phone line (number, help text, webhooks, follow-up texts, missed
call-backs) and the agent's one-tap follow-up."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ringround.audit import record_audit
from ringround.call_in_codes import call_in_open, code_expiry, issue_call_in_code
from ringround.campaign_numbers import CampaignNumberError, set_campaign_number
from ringround.enrollment import operation_role
from ringround.extensions import db, htmx
from ringround.models import (
    Attempt,
    CallLeg,
    Direction,
    FollowUpTemplate,
    Message,
    Operation,
    OperationMember,
    Organization,
    OrgRole,
    utcnow,
)
from ringround.operation_stats import missed_callbacks_of_organization
from sms import bp
from sms.forms import CampaignNumberForm, EmptyForm, FollowUpForm
from sms.inbound import TO_READ
from sms.links import hook_url
from sms.outbound import (
    DISPATCHING,
    QUEUED,
    TextRefusedError,
    measure_text,
    refusal_of,
    send_followup,
)
from sms.provider import get_provider
from sms.provider_errors import recent_refusals
from sms.telephony_numbers import default_number
from web.context import org_role_required

ORGANIZERS = (OrgRole.ADMIN, OrgRole.ORGANIZER)


def org_templates(org_id: int, operation_id: int | None = None) -> list[FollowUpTemplate]:
    query = select(FollowUpTemplate).where(FollowUpTemplate.organization_id == org_id,
                                           FollowUpTemplate.active.is_(True))
    if operation_id is not None:
        query = query.where((FollowUpTemplate.operation_id.is_(None))
                            | (FollowUpTemplate.operation_id == operation_id))
    return list(db.session.scalars(query.order_by(FollowUpTemplate.name)))


def webhook_urls() -> list[tuple[str, str]]:
    """What to paste into the provider's console."""
    return [(_("A message comes in"), hook_url("telephony_hooks.inbound_sms")),
            (_("A call comes in"), hook_url("telephony_hooks.inbound_voice"))]


@bp.route("/", methods=["GET", "POST"])
@org_role_required(*ORGANIZERS)
def settings(org: Organization):
    form = CampaignNumberForm(obj=org)
    if form.validate_on_submit():
        try:
            set_campaign_number(db.session, org, form.campaign_number.data or None,
                                get_provider().default_from)
        except CampaignNumberError as error:
            db.session.rollback()
            form.campaign_number.errors = [str(error)]
        else:
            org.help_text = form.help_text.data or None
            record_audit(db.session, org.id, current_user.id, "telephony.settings_changed")
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("sms.settings"))
    missed = missed_callbacks_of_organization(db.session, org.id)
    operations = db.session.scalars(
        select(Operation).where(Operation.organization_id == org.id).order_by(Operation.name)
    ).all()
    to_read = db.session.scalars(
        select(Message).where(Message.organization_id == org.id, Message.status == TO_READ,
                              Message.direction == Direction.INBOUND)
        .order_by(Message.created_at.desc()).limit(50)
    ).all()
    template_form = FollowUpForm()
    template_form.operation_id.choices = [("", _("Every operation"))] + [
        (str(op.id), op.name) for op in operations]
    return render_template(
        "sms/settings.html", org=org, form=form, template_form=template_form,
        templates=org_templates(org.id), provider=get_provider(), webhooks=webhook_urls(),
        missed=missed, to_read=to_read, button=EmptyForm(),
        refusals=recent_refusals(db.session, org.id),
    )


@bp.get("/segments")
@org_role_required(*ORGANIZERS)
def text_segments(org: Organization):
    """Encoding, segments and cost of the text being typed (the editors ask as one types)."""
    body = request.args.get("body", request.args.get("help_text", ""))[:2000]
    return render_template("sms/_segments.html", measures=measure_text(body))


@bp.post("/followups")
@org_role_required(*ORGANIZERS)
def add_followup(org: Organization):
    form = FollowUpForm()
    form.operation_id.choices = []
    if form.validate_on_submit():
        op_id = form.operation_id.data
        operation = db.session.get(Operation, int(op_id)) if op_id and op_id.isdigit() else None
        if operation is not None and operation.organization_id != org.id:
            abort(404)
        db.session.add(FollowUpTemplate(organization_id=org.id, name=form.name.data.strip(),
                                        body=form.body.data.strip(),
                                        operation_id=operation.id if operation else None))
        db.session.commit()
        flash(_("Follow-up text saved."), "success")
    else:
        flash(_("A follow-up text needs a name and a text."), "error")
    return redirect(url_for("sms.settings"))


@bp.post("/followups/<int:template_id>/archive")
@org_role_required(*ORGANIZERS)
def archive_followup(template_id: int, org: Organization):
    template = db.session.get(FollowUpTemplate, template_id)
    if template is None or template.organization_id != org.id or not EmptyForm().validate():
        abort(404)
    template.active = False
    db.session.commit()
    return redirect(url_for("sms.settings"))


@bp.post("/missed/<int:leg_id>/handled")
@org_role_required(*ORGANIZERS)
def missed_handled(leg_id: int, org: Organization):
    leg = db.session.get(CallLeg, leg_id)
    if leg is None or leg.organization_id != org.id or not EmptyForm().validate():
        abort(404)
    leg.handled_at = utcnow()
    db.session.commit()
    return redirect(url_for("sms.settings"))


@bp.post("/texts/<int:message_id>/read")
@org_role_required(*ORGANIZERS)
def text_read(message_id: int, org: Organization):
    """An organizer has read an unclear text (and acted on it by hand if needed)."""
    message = db.session.get(Message, message_id)
    if message is None or message.organization_id != org.id or message.status != TO_READ \
            or not EmptyForm().validate():
        abort(404)
    message.status = "read"
    record_audit(db.session, org.id, current_user.id, "telephony.text_read", "message",
                 message.id)
    db.session.commit()
    return redirect(url_for("sms.settings"))


def own_attempt(attempt_id: int) -> Attempt:
    """An attempt the signed-in agent made, in an operation they still belong to (others'
    attempts, and those of an operation they were removed from, do not exist for them)."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None or attempt.agent_id != current_user.id \
            or operation_role(db.session, current_user, attempt.operation_id) is None:
        abort(404)
    return attempt


@bp.get("/attempts/<int:attempt_id>/followups")
@login_required
def followups_for_attempt(attempt_id: int):
    """The one-tap follow-up buttons after a call (a fragment the caller app includes)."""
    attempt = own_attempt(attempt_id)
    operation = db.session.get(Operation, attempt.operation_id)
    return render_template(
        "sms/_followups.html" if htmx else "sms/followups_page.html", attempt=attempt,
        button=EmptyForm(), templates=org_templates(operation.organization_id, operation.id),
    )


@bp.post("/attempts/<int:attempt_id>/followups/<int:template_id>")
@login_required
def send_followup_view(attempt_id: int, template_id: int):
    attempt = own_attempt(attempt_id)
    template = db.session.get(FollowUpTemplate, template_id)
    if template is None or not EmptyForm().validate():
        abort(404)
    try:
        text = send_followup(db.session, template, attempt, current_user)
    except TextRefusedError as error:
        db.session.rollback()
        message, category = str(error), "error"
    else:
        db.session.commit()  # the job sends it (at once when jobs run where enqueued)
        refusal = refusal_of(text)
        if refusal is not None:
            message, category = refusal, "error"
        elif text.status in (QUEUED, DISPATCHING):
            message, category = _("Sending: %(name)s", name=template.name), "success"
        else:
            message, category = _("Sent: %(name)s", name=template.name), "success"
    if htmx:
        return render_template("sms/_flash.html", message=message, category=category)
    flash(message, category)
    return redirect(url_for("sms.followups_for_attempt", attempt_id=attempt.id))


def member_operation(operation_id: int) -> Operation:
    """An operation the signed-in user is a member of (others do not exist for them)."""
    operation = db.session.get(Operation, operation_id)
    if operation is None or db.session.scalar(select(OperationMember.id).where(
            OperationMember.operation_id == operation_id,
            OperationMember.user_id == current_user.id)) is None:
        abort(404)
    return operation


@bp.route("/operations/<int:operation_id>/call-in", methods=["GET", "POST"])
@login_required
def call_in(operation_id: int):
    """The volunteer's call-in code (shown once, when issued) and the number to dial."""
    operation = member_operation(operation_id)
    form, code = EmptyForm(), None
    if form.validate_on_submit() and call_in_open(operation):
        code = issue_call_in_code(db.session, operation.id, current_user.id)
        db.session.commit()
    org = db.session.get(Organization, operation.organization_id)
    expires = code_expiry(db.session, operation.id, current_user.id)
    return render_template("sms/call_in.html", operation=operation, form=form, code=code,
                           number=default_number(org, operation), open=call_in_open(operation),
                           expires=expires, expired=expires is not None and expires <= utcnow())
