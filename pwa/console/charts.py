"""Small server-rendered SVG charts (no JavaScript library; styled from app.css)."""

from __future__ import annotations

from markupsafe import Markup, escape

ROW = 28
LABEL_WIDTH = 130
BAR_WIDTH = 150
WIDTH = LABEL_WIDTH + BAR_WIDTH + 80  # room for "1234 (100%)"


def _short(label: str, limit: int = 20) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def bar_chart(items: list[tuple[str, int]], title: str) -> Markup:
    """A horizontal bar chart of (label, count) pairs, with the counts written out.

    Screen readers get the title and a description listing every value.
    """
    top = max((count for _, count in items), default=0) or 1
    total = sum(count for _, count in items)
    height = ROW * max(len(items), 1) + 8
    description = "; ".join(f"{label}: {count}" for label, count in items)
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>",
    ]
    for row, (label, count) in enumerate(items):
        y = 4 + row * ROW
        width = round(BAR_WIDTH * count / top)
        share = f" ({round(100 * count / total)}%)" if total else ""
        parts.append(
            f'<g class="chart-row"><text class="chart-label" x="0" y="{y + 18}">'
            f"{escape(_short(label))}</text>"
            f'<rect class="chart-track" x="{LABEL_WIDTH}" y="{y + 4}" width="{BAR_WIDTH}" '
            f'height="18" rx="3"/>'
            f'<rect class="chart-bar" x="{LABEL_WIDTH}" y="{y + 4}" width="{width}" '
            f'height="18" rx="3"/>'
            f'<text class="chart-count" x="{LABEL_WIDTH + BAR_WIDTH + 6}" y="{y + 18}">'
            f"{count}{escape(share)}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
