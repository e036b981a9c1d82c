"""Call operations from the organizer's side: the wizard's steps, members and the lifecycle.

Every function takes a session and plain values, checks them, changes the operation and
returns it (or raises OperationError with a message fit to show, changing nothing).
The wizard's steps, in the order organizers know, are listed in STEPS.
"""

from __future__ import annotations

import calendar
import copy
from datetime import datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ringround import questionnaires
from ringround.audit import record_audit
from ringround.models import (
    Membership,
    Operation,
    OperationMember,
    OperationMode,
    OperationRemoval,
    OperationRole,
    OperationState,
    Organization,
    OrgRole,
    SavedList,
    User,
    utcnow,
)
from ringround.operation_dispositions import (
    DEFAULT_RETRY_RULES,
    DispositionError,
    check_dispositions,
    check_retry_rules,
    check_voicemail_policy,
)
from ringround.operation_fields import (
    FieldSettingsError,
    available_fields,
    check_field_settings,
)
from ringround.operation_rules import validate_exclusions
from ringround.queue.exclusions import apply_exclusions, field_and_tag_labels
from ringround.script_placeholders import ScriptError, check_script

STEPS = ("mode", "source", "basics", "method", "questionnaire", "recycling", "exclusions",
         "fields", "people", "review")
DEFAULT_WINDOW = (time(9, 0), time(21, 0))
FILTER_KEYS = ("tags_any", "tags_all", "tags_none", "fields", "city", "postcode_prefix",
               "language", "country", "has_mobile", "created_since", "not_called_days")
EXCLUSION_KINDS = ("field_equals", "answered", "tag", "opted_out")
EDITABLE_STATES = (OperationState.DRAFT, OperationState.ACTIVE, OperationState.PAUSED)


class OperationError(ValueError):
    """A change that cannot be made, with a message fit to show (and the field it is about).

    `errors` holds every problem found, field -> message, so a form can show them all at once.
    """

    def __init__(self, message: str, field: str | None = None,
                 errors: dict[str, str] | None = None):
        super().__init__(message)
        self.field = field
        self.errors = errors or ({field: message} if field else {})

    @classmethod
    def from_problems(cls, problems: dict[str, str]) -> OperationError:
        """One error carrying several problems (the first one is its message)."""
        field, message = next(iter(problems.items()))
        return cls(message, field, dict(problems))


def _actor_id(actor: User | None) -> int | None:
    """Who to record in the audit log (None: the command line, run by the server's owner)."""
    return actor.id if actor is not None else None


def _editable(operation: Operation) -> None:
    if operation.state not in EDITABLE_STATES:
        raise OperationError(_("This operation has ended. Duplicate it to run it again."))


def one_month_after(moment: datetime) -> datetime:
    """The same day and time one calendar month later (the 31st becomes the month's last day)."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


# --- creating ------------------------------------------------------------------------------

def create_draft(session: Session, org_id: int, actor: User, name: str = "") -> Operation:
    """A new draft operation owned by `actor`, with the organization's default calling hours
    and the default dates and rules."""
    now = utcnow().replace(second=0, microsecond=0)
    org = session.get(Organization, org_id)
    window = (org.default_window_start, org.default_window_end) if org else DEFAULT_WINDOW
    operation = Operation(
        organization_id=org_id, name=(name or "").strip()[:200] or _("New call operation"),
        state=OperationState.DRAFT, mode=OperationMode.SIMPLE, description="",
        starts_at=now, ends_at=one_month_after(now), window_start=window[0],
        window_end=window[1], weekdays="0123456", allow_own_phone=True,
        allow_campaign_line=False, script="", questionnaire=questionnaires.blank(),
        dispositions={"labels": {}, "custom": []}, retry_rules=copy.deepcopy(DEFAULT_RETRY_RULES),
        exclusions={"household_wide": False, "rules": [], "done_conditions": []},
        field_settings={}, voicemail_policy={"leave_message": False, "message": ""},
        source_filter={}, cooldown_minutes=0, max_calls_per_person=None,
    )
    operation.members.append(OperationMember(user_id=actor.id, role=OperationRole.OWNER))
    session.add(operation)
    session.flush()
    record_audit(session, org_id, actor.id, "operation.created", "operation", operation.id)
    return operation


# --- the wizard's steps --------------------------------------------------------------------

def update_mode(session: Session, operation: Operation, mode: str) -> Operation:
    """Step 1: simple (one screen) or guided (one question at a time)."""
    _editable(operation)
    try:
        operation.mode = OperationMode(mode)
    except ValueError:
        raise OperationError(_("Choose simple or guided."), "mode") from None
    return operation


def normalize_filter(raw: dict[str, Any]) -> dict[str, Any]:
    """A contact filter in the contacts' filter schema (ringround.people.filters), empty
    values dropped, or OperationError when it cannot be applied."""
    from ringround.people.filters import FilterError, clean_filter, contact_ids_select

    unknown = set(raw) - set(FILTER_KEYS)
    if unknown:
        raise OperationError(_("Unknown filter “%(name)s”.", name=sorted(unknown)[0]),
                             "source_filter")
    days = raw.get("not_called_days")
    if isinstance(days, str):
        days = days.strip()
    if days not in (None, ""):
        try:
            days = int(days)
        except (TypeError, ValueError):
            raise OperationError(_("“Not called for” needs a number of days."),
                                 "not_called_days") from None
        if not 1 <= days <= 3650:
            raise OperationError(_("“Not called for” must be from 1 to 3650 days."),
                                 "not_called_days")
    clean = clean_filter({**raw, "not_called_days": days})
    try:
        contact_ids_select(0, clean)  # compiles every condition: bad dates, operators
    except FilterError as error:
        raise OperationError(str(error), "source_filter") from None
    return clean


def update_source(
    session: Session, operation: Operation, *, list_id: int | None = None,
    contact_filter: dict[str, Any] | None = None,
) -> Operation:
    """Step 2: a saved list of this organization, or a filter over its contacts."""
    _editable(operation)
    if list_id is not None:
        saved = session.get(SavedList, list_id)
        if saved is None or saved.organization_id != operation.organization_id:
            raise OperationError(_("Choose one of your saved lists."), "source_list")
        operation.source_list_id, operation.source_filter = saved.id, {}
    else:
        clean = normalize_filter(contact_filter or {})
        if not clean:
            raise OperationError(_("Choose a saved list or set at least one filter."), "source")
        operation.source_list_id, operation.source_filter = None, clean
    _refresh_targets(session, operation)
    return operation


def count_source(
    session: Session, operation: Operation, *, list_id: int | None = None,
    contact_filter: dict[str, Any] | None = None,
) -> int:
    """How many contacts a source (as update_source takes it) matches now, without saving it:
    the source step's live count."""
    from ringround.people.filters import FilterError, count_matching

    if list_id is not None:
        saved = session.get(SavedList, list_id)
        if saved is None or saved.organization_id != operation.organization_id:
            raise OperationError(_("Choose one of your saved lists."), "list_id")
        chosen = saved.filter or {}
    else:
        chosen = normalize_filter(contact_filter or {})
    try:
        return count_matching(session, operation.organization_id, chosen)
    except FilterError as error:
        raise OperationError(str(error), "source_filter") from None


def update_basics(
    session: Session, operation: Operation, *, name: str, description: str,
    starts_at: datetime, ends_at: datetime | None, window_start: time, window_end: time,
    weekdays: str,
) -> Operation:
    """Step 3: name, description, dates (end defaults to a month after start), daily window
    and weekdays (applied in each contact's own time zone)."""
    _editable(operation)
    name = (name or "").strip()
    problems: dict[str, str] = {}  # every problem at once, so the form can show them all
    if not name:
        problems["name"] = _("The operation needs a name.")
    elif len(name) > 200:
        problems["name"] = _("Names are limited to 200 characters.")
    if starts_at is None or starts_at.tzinfo is None:
        problems["starts_at"] = _("Give the date and time calling starts.")
    else:
        ends_at = ends_at or one_month_after(starts_at)
        if ends_at.tzinfo is None:
            problems["ends_at"] = _("Give the date and time calling ends.")
        elif ends_at <= starts_at:
            problems["ends_at"] = _("The end must come after the start.")
    if window_start is not None and window_end is not None and window_end <= window_start:
        problems["window_end"] = _("The daily window must end after it starts.")
    elif window_start is None:
        problems["window_start"] = _("Give the time calls may start.")
    elif window_end is None:
        problems["window_end"] = _("Give the time calls must stop.")
    days = "".join(sorted(set(weekdays or "")))
    if not days or any(d not in "0123456" for d in days):
        problems["weekdays"] = _("Choose at least one weekday.")
    if problems:
        raise OperationError.from_problems(problems)
    operation.name, operation.description = name, (description or "").strip()
    operation.starts_at, operation.ends_at = starts_at, ends_at
    operation.window_start, operation.window_end, operation.weekdays = (
        window_start, window_end, days)
    return operation


def update_call_method(
    session: Session, operation: Operation, *, own_phone: bool, campaign_line: bool
) -> Operation:
    """Step 4: the caller's own phone (tel: links) and/or the campaign line (bridged)."""
    _editable(operation)
    if not own_phone and not campaign_line:
        raise OperationError(_("Choose at least one way to call."), "method")
    operation.allow_own_phone, operation.allow_campaign_line = own_phone, campaign_line
    return operation


def update_script(session: Session, operation: Operation, script: str) -> Operation:
    """The script callers read (Markdown), shown on the card in both modes."""
    _editable(operation)
    if len(script or "") > 20_000:
        raise OperationError(_("The script is limited to 20,000 characters."), "script")
    try:
        check_script(session, operation, script or "")
    except ScriptError as error:
        raise OperationError(str(error), "script") from error
    operation.script = (script or "").strip()
    return operation


def update_questionnaire(
    session: Session, operation: Operation, questionnaire: dict[str, Any]
) -> Operation:
    """Step 5: a whole questionnaire, checked (no dangling branches, no circles)."""
    _editable(operation)
    try:
        operation.questionnaire = questionnaires.check(questionnaire)
    except questionnaires.QuestionnaireError as error:
        raise OperationError(" ".join(error.problems), "questionnaire") from None
    return operation


def apply_template(session: Session, operation: Operation, name: str | None) -> Operation:
    """Step 5: start from a template (or blank when `name` is None)."""
    try:
        language = session.get(Organization, operation.organization_id).language
        chosen = questionnaires.template(name, language) if name else questionnaires.blank()
    except questionnaires.QuestionnaireError as error:
        raise OperationError(str(error), "template") from None
    return update_questionnaire(session, operation, chosen)


def update_recycling(
    session: Session, operation: Operation, *, labels: dict[str, str],
    custom: list[dict[str, str]], retry_rules: dict[str, dict[str, int]],
    leave_message: bool, message: str,
) -> Operation:
    """Step 6: disposition labels and additions, retries per disposition, voicemail policy."""
    _editable(operation)
    try:
        dispositions = check_dispositions(labels, custom)
        rules = check_retry_rules(retry_rules, dispositions["custom"])
        voicemail = check_voicemail_policy(leave_message, message)
    except DispositionError as error:
        raise OperationError(str(error), "recycling") from None
    operation.dispositions, operation.retry_rules = dispositions, rules
    operation.voicemail_policy = voicemail
    return operation


def _check_exclusion(rule: dict[str, Any], question_ids: set[str], done: bool,
                     field_keys: set[str] | None = None) -> dict:
    kind = rule.get("kind")
    label = (rule.get("label") or "").strip()[:80]
    if kind not in (("answered",) if done else EXCLUSION_KINDS):
        raise OperationError(_("Unknown kind of rule “%(kind)s”.", kind=kind), "exclusions")
    if not label:
        raise OperationError(_("Every rule needs a label (shown as the reason)."), "exclusions")
    clean: dict[str, Any] = {"kind": kind, "label": label}
    if kind == "field_equals":
        if not (rule.get("field") or "").strip():
            raise OperationError(_("Say which field the rule looks at."), "exclusions")
        if field_keys is not None and rule["field"].strip() not in field_keys:
            raise OperationError(_("There is no contact field called %(key)s.",
                                   key=rule["field"]), "exclusions")
        clean["field"], clean["value"] = rule["field"].strip(), str(rule.get("value") or "")
    elif kind == "tag":
        if not (rule.get("tag") or "").strip():
            raise OperationError(_("Say which tag removes a target."), "exclusions")
        clean["tag"] = rule["tag"].strip()
    elif kind == "answered":
        if rule.get("question") not in question_ids:
            raise OperationError(_("The rule refers to a question the questionnaire lacks."),
                                 "exclusions")
        clean["question"] = rule["question"]
        clean["answer"] = rule.get("answer") or None
    if done:
        days = rule.get("reselect_after_days")
        if days not in (None, "") and (not isinstance(days, int) or not 1 <= days <= 3650):
            raise OperationError(_("“Reselect after” must be from 1 to 3650 days."), "exclusions")
        clean["reselect_after_days"] = days or None
    return clean


def update_exclusions(
    session: Session, operation: Operation, *, household_wide: bool,
    rules: list[dict[str, Any]], done_conditions: list[dict[str, Any]],
    cooldown_minutes: int, max_calls_per_person: int | None,
) -> Operation:
    """Step 7: exclusions (field, answer, tag, opted out), household-wide or not, cooldown,
    a cap on calls per person, and done-conditions (with an optional reselect delay)."""
    _editable(operation)
    question_ids = {q["id"] for q in questionnaires.questions_of(operation.questionnaire)}
    field_keys = {f.key for f in available_fields(session, operation.organization_id)}
    problems: dict[str, str] = {}  # every problem at once, so the form can show them all
    try:
        clean_rules = [_check_exclusion(rule, question_ids, False, field_keys) for rule in rules]
    except OperationError as error:
        problems["new_kind"] = str(error)
    try:
        clean_done = [_check_exclusion(rule, question_ids, done=True)
                      for rule in done_conditions]
    except OperationError as error:
        problems["done_question"] = str(error)
    if not isinstance(cooldown_minutes, int) or not 0 <= cooldown_minutes <= 60 * 24 * 90:
        problems["cooldown_minutes"] = _("The cooldown must be from 0 minutes to 90 days.")
    if max_calls_per_person is not None and not 1 <= max_calls_per_person <= 100:
        problems["max_calls_per_person"] = _("The cap on calls per person must be from 1 to 100.")
    if problems:
        raise OperationError.from_problems(problems)
    exclusions = {"household_wide": bool(household_wide), "rules": clean_rules,
                  "done_conditions": clean_done}
    problems = validate_exclusions(exclusions)  # the queue's own reading must agree
    if problems:
        raise OperationError(problems[0], "exclusions")
    dropped = field_and_tag_labels(operation.exclusions)
    operation.exclusions = exclusions
    operation.cooldown_minutes, operation.max_calls_per_person = (
        cooldown_minutes, max_calls_per_person)
    # Saved rules take effect on the targets at once (the dashboard counts them).
    session.flush()
    apply_exclusions(session, operation, dropped_labels=dropped)
    return operation


def update_fields(
    session: Session, operation: Operation, fields: list[dict[str, Any]]
) -> Operation:
    """Step 8: hidden/visible/editable, highlight and order of each contact field."""
    _editable(operation)
    try:
        operation.field_settings = check_field_settings(
            session, operation.organization_id, fields)
    except FieldSettingsError as error:
        raise OperationError(str(error), "fields") from None
    return operation


# --- step 9: people ------------------------------------------------------------------------

def _clean_tags(tags: list[str] | str | None) -> list[str]:
    if isinstance(tags, str):
        tags = tags.split(",")
    return sorted({t.strip()[:64] for t in tags or [] if t.strip()})


def candidate_members(session: Session, operation: Operation) -> list[User]:
    """Users who could join this operation: the organization's members, anyone already in
    one of its operations (volunteers who joined by link) and those removed from this one
    (to add them back), minus current members."""
    org_id = operation.organization_id
    current = {m.user_id for m in operation.members}
    org_users = select(Membership.user_id).where(Membership.organization_id == org_id)
    op_users = select(OperationMember.user_id).join(Operation).where(
        Operation.organization_id == org_id)
    removed = select(OperationRemoval.user_id).where(
        OperationRemoval.operation_id == operation.id)
    users = session.scalars(
        select(User).where(User.id.in_(org_users.union(op_users, removed)),
                           User.active.is_(True))
        .order_by(User.display_name)
    )
    return [user for user in users if user.id not in current]


def add_member(
    session: Session, operation: Operation, actor: User, *, user_id: int, role: str,
    prefer_tags: list[str] | str | None = None, avoid_tags: list[str] | str | None = None,
) -> OperationMember:
    """Add an owner or agent (someone already known to the organization). Adding back someone
    who was removed lifts the removal: join links let them in again."""
    _editable(operation)
    if user_id not in {u.id for u in candidate_members(session, operation)}:
        raise OperationError(_("Choose someone from your organization who is not in yet."),
                             "user")
    try:
        role_value = OperationRole(role)
    except ValueError:
        raise OperationError(_("Choose owner or agent."), "role") from None
    member = OperationMember(user_id=user_id, role=role_value, prefer_tags=_clean_tags(
        prefer_tags), avoid_tags=_clean_tags(avoid_tags))
    operation.members.append(member)
    session.execute(delete(OperationRemoval).where(
        OperationRemoval.operation_id == operation.id, OperationRemoval.user_id == user_id))
    session.flush()
    record_audit(session, operation.organization_id, actor.id, "operation.member_added",
                 "operation", operation.id, {"user_id": user_id, "role": role_value.value})
    return member


def _member(operation: Operation, member_id: int) -> OperationMember:
    member = next((m for m in operation.members if m.id == member_id), None)
    if member is None:
        raise OperationError(_("This person is not in the operation."), "member")
    return member


def _owners(operation: Operation) -> list[OperationMember]:
    return [m for m in operation.members if m.role is OperationRole.OWNER]


def update_member(
    session: Session, operation: Operation, member_id: int, *, role: str,
    prefer_tags: list[str] | str | None = None, avoid_tags: list[str] | str | None = None,
    actor: User | None = None,
) -> OperationMember:
    """Change a member's role, and the tags that steer which targets they get first or never
    (None leaves them as they are). A change of role is audited when `actor` is given."""
    _editable(operation)
    member = _member(operation, member_id)
    try:
        role_value = OperationRole(role)
    except ValueError:
        raise OperationError(_("Choose owner or agent."), "role") from None
    if member.role is OperationRole.OWNER and role_value is not OperationRole.OWNER \
            and len(_owners(operation)) == 1:
        raise OperationError(_("An operation keeps at least one owner."), "role")
    prefer = member.prefer_tags if prefer_tags is None else _clean_tags(prefer_tags)
    avoid = member.avoid_tags if avoid_tags is None else _clean_tags(avoid_tags)
    if set(prefer) & set(avoid):
        raise OperationError(_("A tag cannot be both preferred and avoided."), "tags")
    changed_role = member.role is not role_value
    member.role, member.prefer_tags, member.avoid_tags = role_value, prefer, avoid
    if changed_role and actor is not None:
        session.flush()
        record_audit(session, operation.organization_id, actor.id, "operation.member_role",
                     "operation", operation.id,
                     {"user_id": member.user_id, "role": role_value.value})
    return member


def remove_member(
    session: Session, operation: Operation, actor: User, member_id: int
) -> None:
    """Take someone out of the operation (never the last owner). The removal holds: no join
    link lets them back in until an organizer or owner adds them back (`add_member`)."""
    _editable(operation)
    member = _member(operation, member_id)
    if member.role is OperationRole.OWNER and len(_owners(operation)) == 1:
        raise OperationError(_("An operation keeps at least one owner."), "member")
    operation.members.remove(member)
    if removal_of(session, operation.id, member.user_id) is None:
        session.add(OperationRemoval(operation_id=operation.id, user_id=member.user_id,
                                     removed_by_id=actor.id))
    session.flush()
    record_audit(session, operation.organization_id, actor.id, "operation.member_removed",
                 "operation", operation.id, {"user_id": member.user_id})


def removal_of(session: Session, operation_id: int, user_id: int) -> OperationRemoval | None:
    """The standing removal of this person from this operation, if any."""
    return session.scalar(select(OperationRemoval).where(
        OperationRemoval.operation_id == operation_id, OperationRemoval.user_id == user_id))


def removed_people(session: Session, operation_id: int) -> list[tuple[User, OperationRemoval]]:
    """People removed from the operation (newest first), whom the people page can add back."""
    return [(user, removal) for user, removal in session.execute(
        select(User, OperationRemoval).join(OperationRemoval, OperationRemoval.user_id == User.id)
        .where(OperationRemoval.operation_id == operation_id)
        .order_by(OperationRemoval.removed_at.desc())
    ).tuples()]


# --- who may edit --------------------------------------------------------------------------

def can_manage(session: Session, operation: Operation, user: User) -> bool:
    """Organization admins and organizers, and the operation's owners, edit it and see results.
    Agents never do."""
    if not getattr(user, "is_authenticated", False):
        return False
    role = session.scalar(select(Membership.role).where(
        Membership.user_id == user.id, Membership.organization_id == operation.organization_id))
    if role in (OrgRole.ADMIN, OrgRole.ORGANIZER):
        return True
    return any(m.user_id == user.id and m.role is OperationRole.OWNER
               for m in operation.members)


# Who is called and what callers see of them are the organization's decisions: an owner (a
# role anyone gets through an owner link) edits the script, questions, rules and people only.
ORGANIZER_STEPS = frozenset({"source", "fields"})


def is_organizer(session: Session, organization_id: int, user: User) -> bool:
    """An admin or organizer of the organization."""
    if not getattr(user, "is_authenticated", False):
        return False
    role = session.scalar(select(Membership.role).where(
        Membership.user_id == user.id, Membership.organization_id == organization_id))
    return role in (OrgRole.ADMIN, OrgRole.ORGANIZER)


def can_edit_step(session: Session, operation: Operation, user: User, step: str) -> bool:
    """Whether `user` may change this wizard step: the source and the fields callers see are
    for organizers only; the other steps for everyone who manages the operation."""
    if step in ORGANIZER_STEPS:
        return is_organizer(session, operation.organization_id, user)
    return can_manage(session, operation, user)


def owned_operations(session: Session, user: User) -> list[Operation]:
    """Operations where `user` is an owner."""
    return list(session.scalars(
        select(Operation).join(OperationMember).where(
            OperationMember.user_id == user.id, OperationMember.role == OperationRole.OWNER)
        .order_by(Operation.created_at.desc())
    ))


def matching_count(session: Session, operation: Operation) -> int | None:
    """How many of the organization's contacts the source matches now (None: no source yet,
    or the filter cannot be applied)."""
    if operation.source_list_id is None and not operation.source_filter:
        return None
    from ringround.people.filters import FilterError, count_matching
    from ringround.queue import source_filter

    try:
        return count_matching(session, operation.organization_id,
                              source_filter(session, operation))
    except FilterError:
        return None


# --- review and lifecycle ------------------------------------------------------------------

def readiness_problems(session: Session, operation: Operation) -> list[str]:
    """What stops this operation from being activated ([] when it is ready)."""
    problems = []
    if operation.source_list_id is None and not operation.source_filter:
        problems.append(_("Choose who to call (a saved list or a filter)."))
    if operation.starts_at is None or operation.ends_at is None:
        problems.append(_("Set the start and end."))
    elif operation.ends_at <= utcnow():
        problems.append(_("The end date has passed."))
    if not operation.allow_own_phone and not operation.allow_campaign_line:
        problems.append(_("Choose at least one way to call."))
    questions = questionnaires.questions_of(operation.questionnaire)
    if operation.mode is OperationMode.GUIDED and not questions:
        problems.append(_("Guided mode needs at least one question."))
    problems += questionnaires.validate(operation.questionnaire)
    return problems


def _refresh_targets(session: Session, operation: Operation) -> int | None:
    """Materialize targets from the source when the operation is live (the queue does it)."""
    if operation.state is not OperationState.ACTIVE:
        return None
    return _materialize(session, operation)


def _materialize(session: Session, operation: Operation) -> int | None:
    try:
        from ringround.queue import materialize_targets
    except ImportError:  # the queue is built separately; without it no targets are made
        return None
    session.flush()
    return materialize_targets(session, operation)


def activate(session: Session, operation: Operation, actor: User | None) -> int | None:
    """Review passed: the operation goes live and its targets are materialized from the source.
    Returns how many targets the queue added (None when the queue is not installed)."""
    if operation.state is not OperationState.DRAFT:
        raise OperationError(_("Only a draft can be activated."))
    problems = readiness_problems(session, operation)
    if problems:
        raise OperationError(" ".join(problems))
    operation.state = OperationState.ACTIVE
    added = _materialize(session, operation)
    record_audit(session, operation.organization_id, _actor_id(actor), "operation.activated",
                 "operation", operation.id, {"targets_added": added})
    return added


def pause(session: Session, operation: Operation, actor: User | None) -> Operation:
    """Stop handing out targets for now (results still arrive)."""
    if operation.state is not OperationState.ACTIVE:
        raise OperationError(_("Only an active operation can be paused."))
    operation.state = OperationState.PAUSED
    record_audit(session, operation.organization_id, _actor_id(actor), "operation.paused",
                 "operation", operation.id)
    return operation


def resume(session: Session, operation: Operation, actor: User | None) -> Operation:
    """Hand out targets again, picking up contacts that newly match the source."""
    if operation.state is not OperationState.PAUSED:
        raise OperationError(_("Only a paused operation can be resumed."))
    problems = readiness_problems(session, operation)
    if problems:
        raise OperationError(" ".join(problems))
    operation.state = OperationState.ACTIVE
    _materialize(session, operation)
    record_audit(session, operation.organization_id, _actor_id(actor), "operation.resumed",
                 "operation", operation.id)
    return operation


def end(session: Session, operation: Operation, actor: User | None) -> Operation:
    """Finish for good: no more calls; results stay."""
    if operation.state not in (OperationState.ACTIVE, OperationState.PAUSED,
                               OperationState.DRAFT):
        raise OperationError(_("This operation has already ended."))
    operation.state = OperationState.ENDED
    record_audit(session, operation.organization_id, _actor_id(actor), "operation.ended",
                 "operation", operation.id)
    return operation


def can_delete(session: Session, operation: Operation, user: User) -> bool:
    """Only a draft can be deleted, and only by its organization's admins and organizers."""
    role = session.scalar(select(Membership.role).where(
        Membership.user_id == user.id, Membership.organization_id == operation.organization_id))
    return operation.state is OperationState.DRAFT and role in (OrgRole.ADMIN,
                                                               OrgRole.ORGANIZER)


def delete_draft(session: Session, operation: Operation, actor: User) -> None:
    """Delete a draft for good (with its members and join links). Active, paused and ended
    operations are never deleted: their results matter; they are paused or ended instead."""
    if operation.state is not OperationState.DRAFT:
        raise OperationError(_("Only a draft can be deleted: pause or end this operation instead."))
    if not can_delete(session, operation, actor):
        raise OperationError(_("Only the organization's admins and organizers delete drafts."))
    record_audit(session, operation.organization_id, actor.id, "operation.deleted",
                 "operation", operation.id, {"name": operation.name})
    session.delete(operation)
    session.flush()


COPIED_COLUMNS = ("description", "mode", "source_list_id", "source_filter", "window_start",
                  "window_end", "weekdays", "allow_own_phone", "allow_campaign_line", "script",
                  "questionnaire", "dispositions", "retry_rules", "exclusions",
                  "field_settings", "voicemail_policy", "cooldown_minutes",
                  "max_calls_per_person", "campaign_number")


def duplicate(session: Session, operation: Operation, actor: User) -> Operation:
    """A new draft with the same settings and members (no targets, no results), its dates
    moved to start now and keep the same length."""
    now = utcnow().replace(second=0, microsecond=0)
    length = (operation.ends_at - operation.starts_at
              if operation.starts_at and operation.ends_at else None)
    copy_ = Operation(
        organization_id=operation.organization_id, state=OperationState.DRAFT,
        name=f"{operation.name} (copy)"[:200], starts_at=now,
        ends_at=now + length if length and length > timedelta(0) else one_month_after(now),
        **{column: copy.deepcopy(getattr(operation, column)) for column in COPIED_COLUMNS},
    )
    for member in operation.members:
        copy_.members.append(OperationMember(
            user_id=member.user_id, role=member.role, prefer_tags=list(member.prefer_tags),
            avoid_tags=list(member.avoid_tags)))
    if not any(m.user_id == actor.id and m.role is OperationRole.OWNER for m in copy_.members):
        existing = next((m for m in copy_.members if m.user_id == actor.id), None)
        if existing:
            existing.role = OperationRole.OWNER
        else:
            copy_.members.append(OperationMember(user_id=actor.id, role=OperationRole.OWNER))
    session.add(copy_)
    session.flush()
    record_audit(session, operation.organization_id, actor.id, "operation.duplicated",
                 "operation", copy_.id, {"from": operation.id})
    return copy_


def operations_to_call(session: Session, user: User) -> list[Operation]:
    """The operations `user` is a member of that have not ended, newest first (the caller
    app's start page and the share sheet's landing offer these)."""
    return list(session.scalars(
        select(Operation).join(OperationMember).where(
            OperationMember.user_id == user.id, Operation.state != OperationState.ENDED,
        ).order_by(Operation.id.desc())))
