"""Placeholders in an operation's script (`{first_name}`, `{caller_name}`...).

One list says which exist (`placeholders`): what the wizard shows next to the script editor,
what saving checks (`check_script`) and what a card fills (`script_values`, then
`calling.render_script`). Contact fields fill only when the operation exposes them to
callers, so a script can never show a hidden field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from ringround.operation_fields import effective_settings

PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
NAME_KEYS = ("first_name", "last_name")
BUILTIN: tuple[tuple[str, Any], ...] = (
    ("first_name", _l("The person's first name")),
    ("last_name", _l("The person's last name")),
    ("caller_name", _l("The caller's name (whoever makes the call)")),
    ("organization", _l("Your organization's name")),
)


class ScriptError(ValueError):
    """A script that cannot be saved, with a message fit to show."""


@dataclass(frozen=True)
class Placeholder:
    name: str
    label: Any  # a lazy string for built-ins, the field's label for custom fields

    @property
    def token(self) -> str:
        return "{" + self.name + "}"


def placeholders(session: Session, operation: Any,
                 version: tuple | None = None) -> list[Placeholder]:
    """The placeholders a script of this operation may use: names, caller, organization, and
    the custom fields callers are shown (never a hidden one). `version`: as for
    `operation_fields.effective_settings`."""
    found = [Placeholder(name, label) for name, label in BUILTIN]
    found += [Placeholder(row["key"], row["label"])
              for row in effective_settings(session, operation, version)
              if row["custom"] and row["visibility"] != "hidden"
              and row["key"] not in dict(BUILTIN)]
    return found


def used_placeholders(script: str) -> list[str]:
    """The placeholder names a script uses, in order, once each."""
    return list(dict.fromkeys(PLACEHOLDER_RE.findall(script or "")))


def check_script(session: Session, operation: Any, script: str) -> None:
    """ScriptError naming the first placeholder the script uses that does not exist."""
    offered = placeholders(session, operation)
    known = {p.name for p in offered}
    hidden = {row["key"] for row in effective_settings(session, operation)
              if row["visibility"] == "hidden" and row["custom"]}
    for name in used_placeholders(script):
        if name in known:
            continue
        if name in hidden:
            raise ScriptError(_("{%(name)s} is a field hidden from callers: make it visible "
                                "in the Fields step to use it.", name=name))
        raise ScriptError(_("{%(name)s} is not a placeholder; available: %(list)s.", name=name,
                            list=", ".join(p.token for p in offered)))


def script_values(offered: Iterable[Placeholder], shown_fields: Iterable[dict[str, Any]],
                  caller_name: str, organization_name: str) -> dict[str, str]:
    """What each placeholder becomes on one card. `shown_fields` are the card's exposed fields
    (`operation_fields.exposed_fields`): a field not among them fills as empty text."""
    shown = {f["key"]: f["value"] for f in shown_fields}
    values = {"caller_name": caller_name or "", "organization": organization_name or ""}
    for placeholder in offered:
        if placeholder.name not in values:
            value = shown.get(placeholder.name)
            values[placeholder.name] = "" if value is None else str(value)
    return values
