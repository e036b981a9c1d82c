"""Select and radio options for WTForms from (value, label) pairs.

WTForms 3.3 deprecates bare tuples as choices (gone in 3.4); our option lists stay plain
pairs (also used as lookups elsewhere) and become `SelectChoice`s here, at the form.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wtforms import SelectChoice


def options(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """`SelectChoice`s for the given (value, label) pairs, in order."""
    return [SelectChoice(value, label) for value, label in pairs]
