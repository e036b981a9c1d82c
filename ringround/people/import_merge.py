"""How an import merges a chunk of cleaned rows: the merge rule (`merge.find_match`) against
indexes of the chunk's numbers and emails already in the database and of the rows before it;
rows become new contacts, merges into one of them, or rejections, each reported."""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ringround.models import CustomFieldType, OptOut, Tag
from ringround.optouts import optout_key, phone_hmac
from ringround.people.contact_values import coerce_custom
from ringround.people.import_report import ImportReport, ImportSummary
from ringround.people.import_writes import (
    EMAIL,
    FIRST_NAME,
    NO_FIELDS,
    ChunkWriter,
    IncomingRow,
    PendingContact,
    present_fields,
)
from ringround.people.merge import (
    conflict_message,
    email_household_key,
    find_match,
    foreign_numbers,
    household_secret,
    merge_fields,
)
from ringround.people.normalize import (
    CONTACT_FIELDS,
    CleanRow,
    Phone,
    RejectedRow,
    Remark,
)
from ringround.people.pg_copy import PgCopyWriter

# The remark on a custom field's value that is not of the field's type.
_NOT_VALID = {CustomFieldType.NUMBER: "custom_not_number", CustomFieldType.DATE: "custom_not_date",
              CustomFieldType.BOOLEAN: "custom_not_boolean"}


class MergeState(ChunkWriter):
    """The in-memory indexes an import dedupes against (numbers, emails, households, tags)."""

    def __init__(self, session: Session, org_id: int, source: str, extra_tags: list[str],
                 report: ImportReport, summary: ImportSummary, custom_types: dict[str, str]):
        self.session, self.org_id, self.source = session, org_id, source[:120]
        self.report, self.summary = report, summary
        self.custom_types = custom_types
        self.extra_tags = tuple(extra_tags)
        # Per chunk: the chunk's numbers, emails and households already in the database
        # (`_load_indexes`), then what the chunk itself adds. Memory stays flat however big
        # the organization or the file; the unique indexes do the lookups.
        self.phone_index: dict[str, int] = {}
        # email -> the contacts with it, oldest first (a family may share one); and the first
        # name and household of those already in the database, for `same_person`
        self.email_index: dict[str, list[int]] = {}
        self.people: dict[int, tuple[str | None, int | None]] = {}
        self.household_secret = household_secret()
        self.households: dict[str, int] = {}
        self.tag_ids: dict[str, int] = dict(session.execute(
            select(Tag.name, Tag.id).where(Tag.organization_id == org_id)).all())
        self._tag_rows: dict[tuple[str, ...], tuple[int, ...]] = {}
        self.optouts: set[str] = set(session.scalars(
            select(OptOut.phone_hmac).where(OptOut.organization_id == org_id)))
        self.optout_key = optout_key() if self.optouts else b""
        connection = session.connection()
        self.mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        self.dialect = connection.dialect
        # PostgreSQL: rows written by COPY and set-based statements (`pg_copy`)
        self.copier = (PgCopyWriter(connection.connection.driver_connection, org_id)
                       if connection.dialect.name == "postgresql" else None)

    def close(self) -> None:
        """Drop what the import set up on its connection (PostgreSQL's staging tables)."""
        if self.copier is not None:
            self.copier.close()

    # -- matching -----------------------------------------------------------------------

    def _is_suppressed(self, phones: tuple[Phone, ...]) -> bool:
        return any(phone_hmac(phone[0], self.optout_key) in self.optouts for phone in phones)

    def _coerce_custom(self, custom: dict[str, str], warnings: list[Remark]) -> dict[str, Any]:
        coerced_fields: dict[str, Any] = {}
        for key, value in custom.items():
            kind = self.custom_types.get(key, "text")
            coerced = coerce_custom(kind, value)
            if coerced is None:
                warnings.append((_NOT_VALID[kind], {"key": key, "value": value}))
            else:
                coerced_fields[key] = coerced
        return coerced_fields

    def _load_indexes(self, rows: list[CleanRow | RejectedRow]) -> None:
        """The chunk's numbers and emails already in the database. (Its households are
        looked up only if some are, when they are written: `_household_ids`.)"""
        clean = [row for row in rows if len(row) > 2]
        numbers = list({phone[0] for row in clean for phone in row[2]})
        emails = list({row[1][EMAIL] for row in clean if row[1][EMAIL]})
        self.phone_index = dict(self._lookup(
            "contact_phones", ("e164", "contact_id"), "e164", numbers, plain=True))
        # Oldest first. (No ORDER BY id here: SQLite would walk the whole organization's
        # contacts in id order instead of seeking the emails' index.)
        found = sorted(self._lookup("contacts", ("email", "id", "first_name", "household_id"),
                                    "email", emails), key=itemgetter(1))
        self.email_index = {}
        for email, contact_id, _first, _household in found:
            self.email_index.setdefault(email, []).append(contact_id)
        self.people = {contact_id: (first, household)
                       for _email, contact_id, first, household in found}
        # Contacts matched by number may then be matched by a later row's email.
        by_number = list(set(self.phone_index.values()) - self.people.keys())
        self.people.update((contact_id, (first, household)) for contact_id, first, household
                           in self._lookup("contacts", ("id", "first_name", "household_id"),
                                           "id", by_number))
        self.households = {}

    def _share_household(self, sharer: int, item: PendingContact, email: str,
                         pending: list[PendingContact], db_merges: dict[int, list[IncomingRow]]
                         ) -> None:
        """Put `item` (a new contact with no address) in the household of `sharer`, who has
        the same email; a household keyed by the email if `sharer` has none yet."""
        if sharer < 0:
            first = pending[-sharer - 1]
            if first.household is None and first.household_id is None:
                first.household = email_household_key(self.household_secret, email)
            item.household, item.household_id = first.household, first.household_id
            return
        household_id = self.people[sharer][1]
        if household_id is not None:
            item.household_id = household_id
            return
        item.household = email_household_key(self.household_secret, email)
        # `_write_merges` gives `sharer` that household (it has none)
        db_merges.setdefault(sharer, []).append(IncomingRow(
            item.row, NO_FIELDS, (), (), None, item.household, [], False))

    def apply(self, raw: list[tuple[int, list[str]]],
              results: list[CleanRow | RejectedRow]) -> None:
        """Merge one chunk of cleaned rows (`raw`: one item per row read) and write it."""
        self._load_indexes(results)
        pending: list[PendingContact] = []
        db_merges: dict[int, list[IncomingRow]] = {}
        phone_index, email_index = self.phone_index, self.email_index
        summary, report, extra_tags = self.summary, self.report, self.extra_tags
        optouts, custom_types = self.optouts, self.custom_types
        rejected = 0

        def first_name_of(contact: int) -> str | None:  # < 0: a contact of this chunk
            return (pending[-contact - 1].values[FIRST_NAME] if contact < 0
                    else self.people[contact][0])

        for result in results:
            if len(result) == 2:
                rejected += 1
                report.add(result[0], "rejected", result[1])
                continue
            row, values, phones, tags, custom, household, found, opted_out = result
            warnings = list(found)
            if custom and custom_types:
                custom = self._coerce_custom(custom, warnings)
            if extra_tags:
                tags = tuple(dict.fromkeys(tags + extra_tags))
            dnc = opted_out or (bool(optouts) and self._is_suppressed(phones))
            email = values[EMAIL]
            numbers = [phone[0] for phone in phones]
            # sharer: another person with this email (a family address)
            match, sharer = find_match(numbers, email, values[FIRST_NAME], phone_index,
                                       email_index, first_name_of)
            if match is not None and (foreign := foreign_numbers(numbers, match, phone_index)):
                warnings.extend(("foreign_number", {"number": number}) for number in foreign)
                phones = tuple(p for p in phones if p[0] not in foreign)
            if dnc:
                summary.suppressed += 1
            if match is None:
                match = -(len(pending) + 1)
                item = PendingContact(row, values, phones, tags, custom, household, dnc)
                pending.append(item)
                summary.created += 1
                if sharer is not None:
                    self._keep_apart(sharer, item, email, pending, db_merges, warnings)
                    email_index[email].append(match)
            else:
                summary.merged += 1
                if match < 0:
                    self._merge_pending(pending[-match - 1], values, phones, tags, custom,
                                        household, dnc, warnings)
                else:
                    db_merges.setdefault(match, []).append(IncomingRow(
                        row, values, phones, tags, custom, household, warnings, dnc))
            for phone in phones:
                phone_index.setdefault(phone[0], match)
            if email and email not in email_index:
                email_index[email] = [match]
            if warnings and match < 0:
                summary.warnings += 1
                report.add(row, "warning", tuple(warnings))
        summary.rejected += rejected
        summary.rows += len(results) - rejected
        self._write_new(pending)
        if db_merges:
            self._write_merges(db_merges)
        self.report.flush()

    def _keep_apart(self, sharer: int, item: PendingContact, email: str,
                    pending: list[PendingContact], db_merges: dict[int, list[IncomingRow]],
                    warnings: list[Remark]) -> None:
        """A new contact with the email of `sharer`, another person: reported, and in the
        household of its own address, else in `sharer`'s."""
        self.summary.kept_apart += 1
        warnings.append(self._kept_apart(sharer, item.values[FIRST_NAME],
                                         item.household is not None, pending))
        if item.household is None:
            self._share_household(sharer, item, email, pending, db_merges)

    def _kept_apart(self, sharer: int, first_name: str | None, own_household: bool,
                    pending: list[PendingContact]) -> Remark:
        """The report's remark on a row kept apart from another person with its email."""
        if sharer < 0:
            other = pending[-sharer - 1]
            who, number, name = "row", other.row, other.values[FIRST_NAME]
        else:
            who, number, name = "contact", sharer, self.people[sharer][0]
        where = "own" if own_household else "shared"
        return (f"kept_apart_{who}_{where}", {"other": str(number), "other_name": str(name),
                                             "first_name": str(first_name)})

    @staticmethod
    def _merge_pending(target: PendingContact, values: tuple, phones: tuple[Phone, ...],
                       tags: tuple[str, ...], custom: dict | None, household: str | None,
                       dnc: bool, warnings: list[Remark]) -> None:
        current, incoming = present_fields(target.values), present_fields(values)
        updates, conflicts = merge_fields(current, incoming)
        current.update(updates)
        target.values = tuple(current.get(name) for name in CONTACT_FIELDS)
        warnings.extend(conflict_message(name, current[name], incoming[name])
                        for name in conflicts)
        numbers = {phone[0] for phone in target.phones}
        target.phones = (*target.phones, *(p for p in phones if p[0] not in numbers))
        target.tags = tuple(dict.fromkeys(target.tags + tags))
        if custom:
            target.custom = {**custom, **(target.custom or {})}
        target.household = target.household or household
        target.dnc = target.dnc or dnc
