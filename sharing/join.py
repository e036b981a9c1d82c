"""Volunteers' side: open a join link, give a name (and a phone, verified by SMS code where a
provider can text), land in the caller app, signed in for good.

Returning volunteers sign in with phone and code where texts can be sent, else with a personal
sign-in link an organizer or owner makes (`/in/<token>`). A code is never shown to whoever
asked for it, except in development mode (DEV_SHOW_CODES with the simulator, local address
only). The token is only ever in the URL: the session keeps the link's id, and nothing logs it.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user
from sqlalchemy import select

from ringround.accounts import organizations_of, role_in
from ringround.call_in_codes import call_in_open
from ringround.enrollment import (
    EnrollmentError,
    JoinResult,
    LinkClosedError,
    LinkStatus,
    RemovedError,
    check_phone_code,
    code_attempts_left,
    enroll,
    enroll_without_code,
    find_link,
    find_or_create_phone_user,
    issue_phone_code,
    landing_operation,
    link_status,
    operation_role,
    typed_phone,
    user_by_phone,
)
from ringround.extensions import db, limiter
from ringround.models import JoinLink, Operation, OperationMember, Organization, User, utcnow
from ringround.organizations import default_region
from ringround.redirects import safe_next_path
from ringround.signin_links import find_signin_link, use_signin_link
from sharing.access import caller_url, render_no_store, template_helpers
from sharing.forms import (
    LANGUAGES,
    CodeForm,
    JoinDetailsForm,
    JoinNameForm,
    OneTapForm,
    PhoneSigninForm,
)
from sharing.phone_codes import SIMULATED_CODE_KEY, send_code, sms_codes
from sharing.rate_keys import (
    address_limit,
    per_address,
    per_device,
    per_device_codes,
    remember_device,
)
from sharing.typed_forms import TYPED_KEY, ask_again, restore_typed
from web.context import ORG_SESSION_KEY

bp = Blueprint("join", __name__, template_folder="templates")
bp.context_processor(template_helpers)
bp.after_request(remember_device)

JOIN_KEY = "join_pending"
SIGNIN_KEY = "signin_pending"


def _limit(setting: str, default: str):
    return lambda: current_app.config.get(setting, default)


join_limit = _limit("JOIN_RATE_LIMIT", "30 per minute")
send_limit = _limit("CODE_SEND_RATE_LIMIT", "5 per minute;20 per hour")
check_limit = _limit("CODE_CHECK_RATE_LIMIT", "10 per minute")


def masked(phone: str) -> str:
    return f"•••• {phone[-4:]}" if phone else ""


def _closed(link: JoinLink | None, status: LinkStatus | None):
    code = 404 if link is None else 410
    return render_no_store("sharing/join_closed.html", code, link=link, status=status)


def _removed(link: JoinLink, error: RemovedError):
    return render_no_store("sharing/join_closed.html", 403, link=link, status=None,
                           message=str(error))


def _after_join(result: JoinResult) -> str:
    if result.operation_id is not None:
        return caller_url(result.operation_id)
    session[ORG_SESSION_KEY] = result.organization_id
    return url_for("console.dashboard")


def _is_member(link: JoinLink, user: User) -> bool:
    if link.operation_id is not None:
        return operation_role(db.session, user, link.operation_id) is not None
    return role_in(db.session, user, link.organization_id) is not None


@bp.route("/j/<token>", methods=["GET", "POST"])
@limiter.limit(join_limit, key_func=per_device)
@limiter.limit(send_limit, key_func=per_device_codes, methods=["POST"])
@limiter.limit(address_limit, key_func=per_address)
def open_link(token: str):
    link = find_link(db.session, token)
    if link is None:
        return _closed(None, None)
    status = link_status(link)
    if status is not LinkStatus.OPEN:
        return _closed(link, status)
    if current_user.is_authenticated:
        return _one_tap(link)
    by_sms = sms_codes()
    form = JoinDetailsForm() if by_sms else JoinNameForm()
    if request.method == "GET" and not restore_typed(form):
        codes = [code for code, _label in LANGUAGES if code]
        form.language.data = request.accept_languages.best_match(codes) or ""
    if not by_sms and form.validate_on_submit():
        done = _join_without_code(link, form)
        if done is not None:
            return done
    elif form.validate_on_submit():
        try:
            phone = typed_phone(form.phone.data, default_region(link.organization))
            row, code = issue_phone_code(db.session, phone, "join")
        except EnrollmentError as error:
            db.session.rollback()
            form.phone.errors = [str(error)]
        else:
            if send_code(phone, code):
                db.session.commit()
                session[JOIN_KEY] = {
                    "link_id": link.id, "code_id": row.id, "phone": phone,
                    "name": form.name.data.strip(), "email": form.email.data or None,
                    "language": form.language.data or None,
                }
                session.pop(TYPED_KEY, None)
                return redirect(url_for("join.verify"))
            db.session.rollback()
            form.phone.errors = [_("We could not text this number. Please check it.")]
    if request.method == "POST":
        return ask_again(form)
    return render_no_store("sharing/join.html", link=link, form=form, by_sms=by_sms)


def _join_without_code(link: JoinLink, form: JoinNameForm):
    """Enroll at once (no SMS to verify a number): a new account, signed in for good."""
    try:
        phone = (typed_phone(form.phone.data, default_region(link.organization))
                 if (form.phone.data or "").strip() else None)
        user, result = enroll_without_code(
            db.session, link, display_name=form.name.data, phone_e164=phone,
            email=form.email.data or None, language=form.language.data or None)
    except LinkClosedError as error:
        db.session.rollback()
        return _closed(link, error.status)
    except EnrollmentError as error:
        db.session.rollback()
        form.phone.errors = [str(error)]
        return None
    user.last_login_at = utcnow()
    db.session.commit()
    session.pop(TYPED_KEY, None)
    login_user(user, remember=True)
    return redirect(_after_join(result))


def _one_tap(link: JoinLink):
    form = OneTapForm()
    if form.validate_on_submit():
        try:
            result = enroll(db.session, link, current_user)
        except LinkClosedError as error:
            db.session.rollback()
            return _closed(link, error.status)
        except RemovedError as error:
            db.session.rollback()
            return _removed(link, error)
        db.session.commit()
        return redirect(_after_join(result))
    already = _is_member(link, current_user)
    return render_no_store("sharing/join_one_tap.html", link=link, form=form, already=already,
                           caller=caller_url(link.operation_id) if link.operation_id else None)


@bp.route("/j/verify", methods=["GET", "POST"])
@limiter.limit(check_limit, key_func=per_device_codes, methods=["POST"])
@limiter.limit(address_limit, key_func=per_address, methods=["POST"])
def verify():
    pending = session.get(JOIN_KEY)
    link = db.session.get(JoinLink, pending["link_id"]) if pending else None
    if link is None:
        flash(_("Please open your join link again."), "error")
        return redirect(url_for("join.signin_phone"))
    form = CodeForm()
    restore_typed(form)
    if form.validate_on_submit():
        if check_phone_code(db.session, pending["code_id"], pending["phone"], "join",
                            form.code.data):
            return _finish_join(link, pending)
        db.session.commit()  # the failed attempt counts
        form.code.errors = [_code_error(pending["code_id"])]
    if request.method == "POST":
        return ask_again(form)
    return render_no_store(
        "sharing/join_verify.html", link=link, form=form, phone=masked(pending["phone"]),
        simulated_code=session.get(SIMULATED_CODE_KEY), resend_form=OneTapForm(),
        resend_url=url_for("join.resend"),
    )


def _code_error(code_id: int) -> str:
    left = code_attempts_left(db.session, code_id)
    if left:
        return ngettext("That code is not right. %(num)d try left.",
                        "That code is not right. %(num)d tries left.", left)
    return _("That code can no longer be used. Ask for a new one.")


def _finish_join(link: JoinLink, pending: dict):
    user, _new = find_or_create_phone_user(
        db.session, phone_e164=pending["phone"], display_name=pending["name"],
        email=pending.get("email"), language=pending.get("language"),
    )
    if not user.active:
        db.session.rollback()
        flash(_("This account is switched off. Please ask an organizer."), "error")
        return redirect(url_for("join.signin_phone"))
    try:
        result = enroll(db.session, link, user)
    except LinkClosedError as error:
        db.session.rollback()
        return _closed(link, error.status)
    except RemovedError as error:
        db.session.rollback()
        return _removed(link, error)
    user.last_login_at = utcnow()
    db.session.commit()
    for key in (JOIN_KEY, SIMULATED_CODE_KEY, TYPED_KEY):
        session.pop(key, None)
    login_user(user, remember=True)
    return redirect(_after_join(result))


@bp.post("/j/resend")
@limiter.limit(send_limit, key_func=per_device_codes)
@limiter.limit(address_limit, key_func=per_address)
def resend():
    pending = session.get(JOIN_KEY)
    if not pending or not OneTapForm().validate_on_submit():
        return redirect(url_for("join.signin_phone"))
    try:
        row, code = issue_phone_code(db.session, pending["phone"], "join")
    except EnrollmentError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("join.verify"))
    if send_code(pending["phone"], code):
        db.session.commit()
        session[JOIN_KEY] = {**pending, "code_id": row.id}
        session.pop(TYPED_KEY, None)
        flash(_("We sent a new code."), "success")
    else:
        db.session.rollback()
        flash(_("We could not text this number."), "error")
    return redirect(url_for("join.verify"))


# ---- returning volunteers -----------------------------------------------------------------

def _default_region() -> str:
    """Signing in is not tied to an organization: national numbers are read as the first
    organization's (most instances have one)."""
    return default_region(db.session.scalar(select(Organization).order_by(Organization.id)))


@bp.route("/signin/phone", methods=["GET", "POST"])
@limiter.limit(send_limit, key_func=per_device_codes, methods=["POST"])
@limiter.limit(address_limit, key_func=per_address, methods=["POST"])
def signin_phone():
    form = PhoneSigninForm()
    if not sms_codes():  # nothing can be texted: the same page for everyone, whatever typed
        return render_no_store("sharing/signin_phone.html", form=None)
    restore_typed(form)
    if form.validate_on_submit():
        try:
            phone = typed_phone(form.phone.data, _default_region())
        except EnrollmentError as error:
            form.phone.errors = [str(error)]
        else:
            return _start_signin(phone, form)
    if request.method == "POST":
        return ask_again(form)
    return render_no_store("sharing/signin_phone.html", form=form)


def _start_signin(phone: str, form: PhoneSigninForm):
    """Every number gets the same next page, wording and timing: a code is made for any
    number (so the per-number limit answers alike) but texted, after the response, only to
    an account's number. The page never says who has an account."""
    user = user_by_phone(db.session, phone)
    session.pop(SIMULATED_CODE_KEY, None)
    try:
        row, code = issue_phone_code(db.session, phone, "signin")
    except EnrollmentError as error:
        db.session.rollback()
        form.phone.errors = [str(error)]
        return ask_again(form)
    db.session.commit()
    code_id = row.id
    if user is not None and user.active:
        send_code(phone, code, later=True)
    session[SIGNIN_KEY] = {"phone": phone, "code_id": code_id,
                           "next": safe_next_path(request.args.get("next"))}
    session.pop(TYPED_KEY, None)
    return redirect(url_for("join.signin_code"))


@bp.route("/signin/phone/code", methods=["GET", "POST"])
@limiter.limit(check_limit, key_func=per_device_codes, methods=["POST"])
@limiter.limit(address_limit, key_func=per_address, methods=["POST"])
def signin_code():
    pending = session.get(SIGNIN_KEY)
    if not pending:
        return redirect(url_for("join.signin_phone"))
    form = CodeForm()
    restore_typed(form)
    if form.validate_on_submit():
        code_id = pending.get("code_id")
        user = user_by_phone(db.session, pending["phone"])
        if code_id and check_phone_code(db.session, code_id, pending["phone"], "signin",
                                        form.code.data) and user is not None and user.active:
            user.last_login_at = utcnow()
            db.session.commit()
            for key in (SIGNIN_KEY, SIMULATED_CODE_KEY, TYPED_KEY):
                session.pop(key, None)
            login_user(user, remember=True)
            return redirect(safe_next_path(pending.get("next")) or _landing(user))
        db.session.commit()
        form.code.errors = [_code_error(code_id)]
    if request.method == "POST":
        return ask_again(form)
    return render_no_store(
        "sharing/join_verify.html", link=None, form=form, phone=masked(pending["phone"]),
        simulated_code=session.get(SIMULATED_CODE_KEY), resend_form=None, resend_url=None,
    )


# ---- personal sign-in links ---------------------------------------------------------------

@bp.route("/in/<token>", methods=["GET", "POST"])
@limiter.limit(join_limit, key_func=per_device)
@limiter.limit(address_limit, key_func=per_address)
def signin_link(token: str):
    """Open a personal sign-in link: a button first (so link previews do not burn it)."""
    form = OneTapForm()
    if request.method == "POST" and form.validate_on_submit():
        signed_in = use_signin_link(db.session, token)
        if signed_in is not None:
            db.session.commit()
            session.clear()
            login_user(signed_in.user, remember=True)
            return redirect(caller_url(signed_in.operation_id) if signed_in.operation_id
                            and operation_role(db.session, signed_in.user,
                                               signed_in.operation_id)
                            else _landing(signed_in.user))
        db.session.rollback()
    link = find_signin_link(db.session, token)
    if link is None:
        return render_no_store("sharing/signin_link.html", 410, link=None, form=None)
    return render_no_store("sharing/signin_link.html", link=link, form=form)


def _landing(user: User) -> str:
    if organizations_of(db.session, user):
        return url_for("console.dashboard")
    operation = landing_operation(db.session, user)
    return caller_url(operation.id) if operation else url_for("join.my_operations")


@bp.get("/my/operations")
@login_required
def my_operations():
    rows = db.session.execute(
        select(Operation, OperationMember.role)
        .join(OperationMember, OperationMember.operation_id == Operation.id)
        .where(OperationMember.user_id == current_user.id).order_by(Operation.name)
    ).all()
    return render_no_store("sharing/my_operations.html", rows=rows, caller_url=caller_url,
                           call_in={op.id for op, _role in rows if call_in_open(op)})
