"""The contact import's writes on PostgreSQL: COPY (psycopg 3's `cursor.copy()`) instead of
`executemany`, and set-based statements from temporary staging tables where rows must be
merged with what is already there.

The importer decides, in Python and on both databases alike, which rows create a contact,
which merge into which, and what the report says (`import_merge.MergeState`); this module only
writes those decisions, in a handful of statements per chunk instead of one per row:

- rows that cannot clash with existing ones (new contacts under ids reserved from their
  sequence, their numbers — already looked up — and their tags) are copied straight into
  their tables;
- household keys go as one array to `INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING`,
  which adds the new ones; only those that existed are then looked up, by key;
- contacts merged into (a few percent of rows) are copied into a staging table of the
  contacts' own column types, then one `UPDATE … FROM` writes them.

The staging table is temporary (this connection only, no WAL), made once per import and
dropped at its end.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

_STAGED_CONTACTS = "import_contact_updates"


class PgCopyWriter:
    """Writes an import's rows through one psycopg connection (the import's own)."""

    def __init__(self, connection: Any, org_id: int):
        """`connection`: the import's psycopg (DBAPI) connection, in its transaction."""
        self.connection, self.org_id = connection, int(org_id)
        with connection.cursor() as cursor:
            # The contacts' columns and types without their constraints (a merge writes only
            # some columns): what one UPDATE … FROM reads.
            cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGED_CONTACTS} "  # noqa: S608
                           "AS SELECT * FROM contacts WITH NO DATA")

    def close(self) -> None:
        """Drop the staging table (the connection goes back to the pool)."""
        with self.connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {_STAGED_CONTACTS}")

    def _copy(self, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
        with self.connection.cursor() as cursor, cursor.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple]) -> int:
        """Copy `rows` (already bound for the driver) into `table`; returns their count."""
        self._copy(table, columns, rows)
        return len(rows)

    def household_ids(self, keys: list[str]) -> tuple[dict[str, int], int]:
        """The ids of these household keys (sorted, so their unique index takes them in one
        pass), adding the missing ones; returns ({key: id}, how many were added). The keys
        go as one array parameter (in binary, see `ChunkWriter._lookup`); the ones that
        existed are then looked up by key alone (a join of all of them read the whole table
        once per chunk: quadratic)."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO households (organization_id, key) "
                "SELECT %s, key FROM unnest(%b::text[]) AS key "
                "ON CONFLICT (organization_id, key) DO NOTHING RETURNING key, id",
                (self.org_id, keys))
            found = dict(cursor.fetchall())
            added = len(found)
            if added < len(keys):  # some existed already
                cursor.execute(
                    "SELECT key, id FROM households WHERE organization_id = %s "
                    "AND key = ANY(%b)", (self.org_id, [k for k in keys if k not in found]))
                found.update(cursor.fetchall())
        return found, added

    def update_contacts(self, columns: Sequence[str], rows: list[tuple]) -> None:
        """Write merged contacts: `rows` hold `id` then the other `columns`, bound."""
        with self.connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {_STAGED_CONTACTS}")
        self._copy(_STAGED_CONTACTS, ("id", *columns), rows)
        assignments = ", ".join(f"{name} = s.{name}" for name in columns)
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE contacts AS c SET {assignments} "  # noqa: S608
                f"FROM {_STAGED_CONTACTS} AS s WHERE c.id = s.id "
                f"AND c.organization_id = {self.org_id}")
