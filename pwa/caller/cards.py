"""The caller app's pages and cards: the person to call now, or why nobody is, and the
caller's own figures. The phone's script asks `/next` for the next card."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time

from flask import (
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, get_translations
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select

from pwa.caller.base import (
    _limited_json,
    _limits,
    _no_store,
    _organization_name,
    _proof_key,
    _version,
    bp,
    member_required,
)
from ringround import queue
from ringround.call_in_codes import call_in_open
from ringround.calling import (
    SKIP_REASONS,
    Card,
    build_card,
    caller_dispositions,
    card_script,
    local_moment,
    milestone_reached,
    needs_wrap_up,
    offline_refusal,
    questions_of,
)
from ringround.extensions import db, htmx
from ringround.models import (
    Attempt,
    Contact,
    ContactPhone,
    Operation,
    utcnow,
)
from ringround.operations import can_manage, operations_to_call
from ringround.queue.accept import lease_proof
from web.formats import clock

BATCH_DEFAULT = 5
CARD_ID_NAMESPACE = uuid.UUID("9b0e8c52-4f0c-4d1e-9a57-2f1d3c6b7a10")


def _card_for_lease(operation: Operation, lease) -> Card | None:
    """The card of a lease: from the contact's columns the lease read, else one query."""
    if lease.contact is not None:
        contact, extension = lease.contact, lease.contact.extension
    else:
        found = db.session.execute(
            select(Contact, ContactPhone.extension)
            .outerjoin(ContactPhone, ContactPhone.id == lease.phone_id)
            .where(Contact.id == lease.contact_id)).first()
        if found is None:
            return None
        contact, extension = found
    card = build_card(operation, contact, lease.target_id, lease.phone_e164, lease.expires_at,
                      caller_name=current_user.display_name,
                      organization_name=_organization_name(operation), version=_version(),
                      extension=extension)
    # The same lease shows the same id after a reload (e.g. the redirect after a bridged
    # call), so a result sent without JavaScript joins the call's attempt.
    seed = f"{current_user.id}:{lease.target_id}:{lease.expires_at.isoformat()}"
    card.client_id = str(uuid.uuid5(CARD_ID_NAMESPACE, seed))
    card.lease_proof = lease_proof(_proof_key(), current_user.id, operation.id, lease.target_id)
    return card

def _shell_script(operation: Operation) -> str:
    """The script on a page without a person: the person's placeholders stay empty."""
    return card_script(operation, [], current_user.display_name, _organization_name(operation),
                       _version())

def _current_lease(operation: Operation) -> tuple[queue.Lease | None, int | None]:
    """The target this agent already holds, else a newly leased one, else None; and, when
    the limits refused a new one, in how many seconds the agent may go on.

    Commits, also when the limits refuse: they are checked before the lease writes anything,
    so the commit keeps only what came before in the transaction (a result sent with the
    request for this card, `api_sync`)."""
    try:
        # With max_open=1 the queue hands back the lease held already, if any, and leases
        # only when there is none: one statement fewer than asking for the held ones first.
        lease = queue.lease_next(db.session, operation, current_user, max_open=1,
                                 limits=_limits())
    except queue.LimitReachedError as limited:
        db.session.commit()
        return None, limited.retry_after
    db.session.commit()
    if lease is None:
        # Nobody to lease (or the operation paused): the one held stays on the card.
        held = queue.held_leases(db.session, operation, current_user)
        lease = held[0] if held else None
    return lease, None

def _current_card(operation: Operation) -> tuple[Card | None, int | None]:
    """The card of `_current_lease`, and the wait when the limits refused one."""
    lease, wait = _current_lease(operation)
    return (_card_for_lease(operation, lease) if lease else None), wait

def _empty_state(operation: Operation, wait_seconds: int | None = None) -> dict:
    """Why nobody is on the card, and when someone will be ("from 17:00 their time")."""
    now = utcnow()
    found = queue.next_callable_zone(db.session, operation, now=now)
    state = {"state": operation.state, "next_at": None, "local_time": None, "wait_minutes": None,
             "window_start": clock(operation.window_start),
             "window_end": clock(operation.window_end),
             "limited": queue.limited_message(wait_seconds) if wait_seconds else None}
    if found is not None:
        next_at, zone = found
        state["next_at"] = next_at
        local = local_moment(next_at, zone)
        state["local_time"] = clock(local)
        # Waiting for the calling hours to open (else: for cool-downs and retry times).
        state["by_hours"] = operation.window_start is not None and (
            local.time().replace(second=0, microsecond=0) == operation.window_start)
        if next_at > now:
            state["wait_minutes"] = max(1, round((next_at - now).total_seconds() / 60))
    return state

def _progress(operation: Operation) -> dict:
    now = utcnow()
    stats = queue.stats_for_agent(db.session, operation.id, current_user.id, now.date())
    first_today = db.session.scalar(select(func.min(Attempt.created_at)).where(
        Attempt.operation_id == operation.id, Attempt.agent_id == current_user.id,
        Attempt.created_at >= datetime.combine(now.date(), time(0), tzinfo=UTC)))
    last = _last_attempt(operation)
    return {
        "calls": stats.calls, "reached": stats.people_reached,
        "milestone": milestone_reached(stats.calls),
        "wrap_up": needs_wrap_up(first_today, now),
        "last_until": (last.recorded_at + queue.EDIT_WINDOW) if last else None,
    }

def _last_attempt(operation: Operation) -> Attempt | None:
    return db.session.scalar(select(Attempt).where(
        Attempt.operation_id == operation.id, Attempt.agent_id == current_user.id,
        Attempt.recorded_at > utcnow() - queue.EDIT_WINDOW,
    ).order_by(Attempt.recorded_at.desc(), Attempt.id.desc()).limit(1))

def _render_call(operation: Operation, card: Card | None, oob: bool = False,
                 wait_seconds: int | None = None) -> str:
    return render_template(
        "caller/_call.html", operation=operation, card=card, oob=oob,
        questions=questions_of(operation),
        groups=caller_dispositions(operation), skip_reasons=_skip_reasons(),
        card_words=_card_words(),
        empty=None if card else _empty_state(operation, wait_seconds),
        progress=_progress(operation),
    )

def _skip_reasons() -> list[tuple[str, str]]:
    return _card_words()["skip_reasons"]


# The card's words by language (its translations object): looked up once, not at every card.
_card_texts: dict[object, dict] = {}


def _card_words() -> dict:
    """The card's fixed words in the page's language (`card_words` in caller/_card.html), and
    the skip reasons. As Jinja's `_()` treats them, translations are trusted text (Markup); the
    extension's placeholder is filled in the template (`%` escapes the value)."""
    translations = get_translations()
    text = _card_texts.get(translations)
    if text is None:
        words = {
            "next_person": _("The next person"), "call": _("Call"),
            "extension": _("ext. %(extension)s"),
            "campaign_line": _("Call through the campaign line"), "script": _("Script"),
            "update_details": _("Update their details"),
            "notes": _("Notes for the organizers"),
            "save_and_next": _("Save and call the next person"),
            "skip_person": _("Skip this person"), "why_skip": _("Why skip?"),
            "skip_and_next": _("Skip and show the next person"),
        }
        text = {key: Markup(value) for key, value in words.items()}  # noqa: S704 - ours
        labels = {"language": _("They may not speak my language"),
                  "knows_person": _("I know this person"),
                  "uncomfortable": _("I would rather not call them"),
                  "other": _("Another reason")}
        text["skip_reasons"] = [(code, labels[code]) for code in SKIP_REASONS]
        if len(_card_texts) >= 64:
            _card_texts.clear()
        _card_texts[translations] = text
    return text

def _manage_url(operation: Operation) -> str | None:
    """The operation's dashboard, for those who run it (an owner who joined by link has no
    other way there from the caller app)."""
    if can_manage(db.session, operation, current_user):
        return url_for("operations.dashboard", op_id=operation.id)
    return None

def _call_in_url(operation: Operation) -> str | None:
    """The operation's "Call in by phone" page (the telephony part's), when it takes calls
    by phone: a volunteer without data gets their keypad code there."""
    if call_in_open(operation) and "sms.call_in" in current_app.view_functions:
        return url_for("sms.call_in", operation_id=operation.id)
    return None

def _page(operation: Operation, without_person: bool, status: int = 200, **kept):
    card, wait = (None, None) if without_person else _current_card(operation)
    return _no_store(Response(status=status, response=render_template(
        "caller/page.html", operation=operation, shell=without_person, card=card,
        manage_url=_manage_url(operation), call_in_url=_call_in_url(operation),
        script_html=_shell_script(operation) if without_person else "",
        questions=questions_of(operation),
        groups=caller_dispositions(operation), skip_reasons=_skip_reasons(),
        card_words=_card_words(),
        empty=None if card or without_person else _empty_state(operation, wait),
        progress=_progress(operation), batch_default=BATCH_DEFAULT,
        offline_refusal=offline_refusal(operation),
        batch_max=current_app.config["CALLER_BATCH_MAX"],
        **kept,
    )))

@bp.get("/call/")
def start():
    """The installed app's start URL: the operation to call for, or a choice of them."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.path))
    operations = operations_to_call(db.session, current_user)
    managed = {op.id: url for op in operations if (url := _manage_url(op))}
    if len(operations) == 1 and not managed:
        return redirect(url_for("caller.home", operation_id=operations[0].id))
    call_in = {op.id: url for op in operations if (url := _call_in_url(op))}
    return render_template("caller/start.html", operations=operations, managed=managed,
                           call_in=call_in)

@bp.get("/call/<int:operation_id>")
@member_required()
def home(operation: Operation):
    return _page(operation, without_person=False)

@bp.get("/call/<int:operation_id>/shell")
@member_required()
def shell(operation: Operation):
    """The page without a person on it: what the service worker keeps for offline use."""
    return _page(operation, without_person=True)

@bp.get("/call/<int:operation_id>/card")
@member_required()
def card(operation: Operation):
    if not htmx:
        return redirect(url_for("caller.home", operation_id=operation.id))
    card, wait = _current_card(operation)
    return _no_store(Response(_render_call(operation, card, oob=True, wait_seconds=wait)))

@bp.get("/call/<int:operation_id>/progress")
@member_required()
def progress(operation: Operation):
    """The caller's own figures (calls today, people reached), refreshed after a sync."""
    return _no_store(Response(render_template(
        "caller/_progress.html", operation=operation, progress=_progress(operation))))

def _lease_json(operation: Operation, lease, position: int, card: Card | None = None
                ) -> dict | None:
    card = card or _card_for_lease(operation, lease)
    if card is None:
        return None
    return {
        "target_id": card.target_id, "position": position,
        "expires_at": card.expires_at.isoformat() if card.expires_at else None,
        "card_html": render_template(
            "caller/_card.html", operation=operation, card=card,
            questions=questions_of(operation), result_choices_html=_result_choices_html(operation),
            groups=caller_dispositions(operation), skip_reasons=_skip_reasons(),
            card_words=_card_words()),
    }


# The result form's choices, rendered once per (operation, settings version, language).
_result_choices: dict[tuple, Markup] = {}


def _result_choices_html(operation: Operation) -> Markup | None:
    """The card's outcome choices and questions with nothing chosen (the same for every card
    of the operation): rendered once per operation version and language."""
    version = _version()
    if version is None:
        return None
    key = (operation.id, version, str(get_locale()))
    html = _result_choices.get(key)
    if html is None:
        html = Markup(render_template(  # noqa: S704 - our own template's output
            "caller/_result_choices.html", groups=caller_dispositions(operation),
            questions=questions_of(operation)))
        if len(_result_choices) >= 256:
            _result_choices.clear()
        _result_choices[key] = html
    return html

def _next_answer(operation: Operation) -> tuple[dict, int | None]:
    """The next card as the phone's API gives it ({"lease": ...} or, with nobody to call,
    {"lease": None, "next_at": ...}), or the wait in seconds when the limits refuse one."""
    lease, wait = _current_lease(operation)
    if wait is not None:
        return {}, wait
    card = _card_for_lease(operation, lease) if lease else None
    if card is None:
        empty = _empty_state(operation)
        return {"lease": None, "next_at": empty["next_at"] and empty["next_at"].isoformat()}, None
    return {"lease": _lease_json(operation, lease, 0, card)}, None

@bp.post("/api/call/<int:operation_id>/next")
@member_required(api=True)
def api_next(operation: Operation):
    answer, wait = _next_answer(operation)
    if wait is not None:
        return _limited_json(wait)
    return _no_store(jsonify(answer))

@bp.get("/api/call/<int:operation_id>/progress")
@member_required(api=True)
def api_progress(operation: Operation):
    progress = _progress(operation)
    return _no_store(jsonify(calls=progress["calls"], reached=progress["reached"],
                             milestone=progress["milestone"], wrap_up=progress["wrap_up"]))
