"""Erasing a person on request: personal data deleted, call results kept only as anonymous
counts, opt-outs kept as keyed hashes, and an audit entry (without personal data)."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, selectinload

from ringround.audit import record_audit
from ringround.models import Attempt, Contact, Household, Target, TargetState
from ringround.optouts import opt_out
from ringround.people.erasure_ledger import (
    contact_hashes,
    erased_before,
    erased_hashes,
    record_erasure,
)
from ringround.people.erasure_telephony import erase_telephony_records
from ringround.people.jobs import erase_import_copies


def erase_contact(session: Session, contact: Contact, actor_id: int | None,
                  via: str = "web", record: bool = True) -> dict[str, int]:
    """Erase `contact` and everything personal that hangs off it; commit. Returns counts.

    Unless `record` is false (a replay), the erasure also goes into the erasure ledger, so it
    survives restoring an older backup."""
    org_id, contact_id = contact.organization_id, contact.id
    numbers = [phone.e164 for phone in contact.phones]
    email = contact.email
    # A person who asked not to be contacted stays suppressed after erasure (keyed hash).
    kept_optouts = 0
    if contact.do_not_contact:
        for number in numbers:
            kept_optouts += opt_out(session, org_id, number, "erasure")
    attempts = session.execute(
        update(Attempt).where(Attempt.contact_id == contact_id)
        .values(contact_id=None, notes=None, answers={}, field_updates={})
        .execution_options(synchronize_session=False)).rowcount or 0
    # Targets still to call leave the queue; finished ones keep their state (the operation's
    # counts stay right) but no longer point at anyone.
    session.execute(
        update(Target).where(Target.contact_id == contact_id,
                             Target.state.in_([TargetState.WAITING, TargetState.LEASED]))
        .values(state=TargetState.REMOVED, reason="erased")
        .execution_options(synchronize_session=False))
    targets = session.execute(
        update(Target).where(Target.contact_id == contact_id)
        .values(contact_id=None, time_zone="UTC", leased_to_id=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)).rowcount or 0
    texts = erase_telephony_records(session, org_id, contact_id, numbers)
    household_id = contact.household_id
    session.delete(contact)
    session.flush()
    if household_id is not None:
        left = session.scalar(select(func.count()).select_from(Contact)
                              .where(Contact.household_id == household_id))
        if not left:
            session.execute(delete(Household).where(Household.id == household_id))
    # Import reports may quote a cell of the person's row, and uploads not yet imported hold
    # it: neither can be searched reliably, so the organization's go (docs/privacy.md).
    import_files = erase_import_copies(session, org_id)
    counts = {"phones": len(numbers), "attempts_anonymized": attempts,
              "targets_anonymized": targets, "optouts_kept": kept_optouts,
              "texts_deleted": texts, "import_files_deleted": import_files}
    record_audit(session, org_id, actor_id, "contact.erased", "contact", contact_id,
                 {**counts, "via": via})
    if record:
        record_erasure(org_id, numbers, email)
    session.commit()
    return counts


def replay_erasures(session: Session) -> int:
    """Erase again everyone the ledger names (who was created before that erasure); return
    how many were erased."""
    erased = erased_hashes()
    count = 0
    for org_id, hashes in erased.items():
        contacts = session.scalars(select(Contact).where(Contact.organization_id == org_id)
                                   .options(selectinload(Contact.phones))).all()
        for contact in contacts:
            mine = contact_hashes([p.e164 for p in contact.phones], contact.email)
            if erased_before(hashes, mine, contact.created_at):
                erase_contact(session, contact, actor_id=None, via="erasure-ledger",
                              record=False)
                count += 1
    return count
