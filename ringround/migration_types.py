"""How Alembic autogenerate writes our column types into migration scripts.

Our TypeDecorators (UTC datetimes, string-stored enums) are stored as plain columns, so
migrations are written with the plain type: scripts then never import application code.
"""

from __future__ import annotations

from ringround.models.base import StrEnumType, UTCDateTime


def render_item(type_: str, obj, autogen_context):
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, StrEnumType):
        return f"sa.String(length={obj.impl.length})"
    return False
