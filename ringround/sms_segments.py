"""How a text travels: its encoding (GSM-7 or UCS-2), how many segments it takes and so what
it costs relative to one segment — the one rule the editors and any check use.

GSM-7 (3GPP TS 23.038) holds 160 septets in one segment, 153 per segment once split; its
extension table (€ [ ] { } ^ ~ | \\ and form feed) takes two septets and a pair is never split.
A text with any character outside GSM-7 ("Aïcha", "Zoë", emoji) goes as UCS-2: 70 UTF-16
units in one segment, 67 once split, a surrogate pair never split. Which characters are GSM-7
is the `gsm0338` codec's table (é, ü, Ä, Ö, Å, Ü, ñ are; ï, ë, ç, â are not).
"""

from __future__ import annotations

from dataclasses import dataclass

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec

GSM7, UCS2 = "GSM-7", "UCS-2"
SINGLE = {GSM7: 160, UCS2: 70}
SPLIT = {GSM7: 153, UCS2: 67}
WARN_ABOVE = 2  # segments


@dataclass(frozen=True)
class Segments:
    encoding: str
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    count: int

    @property
    def cost_factor(self) -> int:
        """What the text costs as a multiple of one segment (providers bill per segment)."""
        return self.count

    @property
    def too_long(self) -> bool:
        return self.count > WARN_ABOVE


def _gsm7_sizes(text: str) -> list[int] | None:
    """Septets per character, or None when a character is not in GSM-7."""
    try:
        return [len(char.encode("gsm03.38")) for char in text]
    except UnicodeEncodeError:
        return None


def _count(sizes: list[int], single: int, split: int) -> int:
    """Segments for characters of these sizes; a character never straddles two segments."""
    if sum(sizes) <= single:
        return 1 if sizes else 0
    count, used = 1, 0
    for size in sizes:
        if used + size > split:
            count, used = count + 1, 0
        used += size
    return count


def segments(text: str) -> Segments:
    """The encoding, length in units and segment count of `text` as it will be sent."""
    sizes = _gsm7_sizes(text)
    encoding = GSM7
    if sizes is None:
        encoding = UCS2
        sizes = [2 if ord(char) > 0xFFFF else 1 for char in text]
    return Segments(encoding, sum(sizes), _count(sizes, SINGLE[encoding], SPLIT[encoding]))
