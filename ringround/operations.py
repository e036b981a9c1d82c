"""Call operations from the organizer's side: creating one and the wizard's steps.

Every function takes a session and plain values, checks them, changes the operation and
returns it (or raises OperationError with a message fit to show, changing nothing).
The wizard's steps, in the order organizers know, are listed in STEPS. Members and who
manages an operation live in `operation_members`, the lifecycle in `operation_lifecycle`;
both are re-exported here, so the console calls every use case on an operation as `ops.X`.
"""

from __future__ import annotations

import copy
from datetime import datetime, time
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from ringround import questionnaires
from ringround.audit import record_audit
from ringround.models import (
    Operation,
    OperationMember,
    OperationMode,
    OperationRole,
    OperationState,
    Organization,
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
from ringround.operation_errors import OperationError, check_editable
from ringround.operation_fields import (
    FieldSettingsError,
    available_fields,
    check_field_settings,
)
from ringround.operation_lifecycle import (  # noqa: F401 (re-exported: ops.activate, ...)
    activate,
    can_delete,
    delete_draft,
    duplicate,
    end,
    one_month_after,
    operations_to_call,
    pause,
    readiness_problems,
    refresh_targets,
    resume,
)
from ringround.operation_members import (  # noqa: F401 (re-exported: ops.add_member, ...)
    ORGANIZER_STEPS,
    Standing,
    add_member,
    can_edit_step,
    can_manage,
    candidate_members,
    is_organizer,
    owned_operations,
    removal_of,
    remove_member,
    removed_people,
    standing_in,
    update_member,
)
from ringround.operation_rules import validate_exclusions
from ringround.people.filters import FilterError, clean_filter, contact_ids_select, count_matching
from ringround.queue import source_filter
from ringround.queue.exclusions import apply_exclusions, field_and_tag_labels
from ringround.script_placeholders import ScriptError, check_script

STEPS = ("mode", "source", "basics", "method", "questionnaire", "recycling", "exclusions",
         "fields", "people", "review")
DEFAULT_WINDOW = (time(9, 0), time(21, 0))
FILTER_KEYS = ("tags_any", "tags_all", "tags_none", "fields", "city", "postcode_prefix",
               "language", "country", "has_mobile", "created_since", "not_called_days")
EXCLUSION_KINDS = ("field_equals", "answered", "tag", "opted_out")


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
    check_editable(operation)
    try:
        operation.mode = OperationMode(mode)
    except ValueError:
        raise OperationError(_("Choose simple or guided."), "mode") from None
    return operation


def normalize_filter(raw: dict[str, Any]) -> dict[str, Any]:
    """A contact filter in the contacts' filter schema (ringround.people.filters), empty
    values dropped, or OperationError when it cannot be applied."""
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
    check_editable(operation)
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
    refresh_targets(session, operation)
    return operation


def count_source(
    session: Session, operation: Operation, *, list_id: int | None = None,
    contact_filter: dict[str, Any] | None = None,
) -> int:
    """How many contacts a source (as update_source takes it) matches now, without saving it:
    the source step's live count."""
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
    check_editable(operation)
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
    check_editable(operation)
    if not own_phone and not campaign_line:
        raise OperationError(_("Choose at least one way to call."), "method")
    operation.allow_own_phone, operation.allow_campaign_line = own_phone, campaign_line
    return operation


def update_script(session: Session, operation: Operation, script: str) -> Operation:
    """The script callers read (Markdown), shown on the card in both modes."""
    check_editable(operation)
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
    check_editable(operation)
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
    check_editable(operation)
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
    check_editable(operation)
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
    check_editable(operation)
    try:
        operation.field_settings = check_field_settings(
            session, operation.organization_id, fields)
    except FieldSettingsError as error:
        raise OperationError(str(error), "fields") from None
    return operation


def matching_count(session: Session, operation: Operation) -> int | None:
    """How many of the organization's contacts the source matches now (None: no source yet,
    or the filter cannot be applied)."""
    if operation.source_list_id is None and not operation.source_filter:
        return None
    try:
        return count_matching(session, operation.organization_id,
                              source_filter(session, operation))
    except FilterError:
        return None
