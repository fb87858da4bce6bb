"""Bar charts as inline SVG: no script, no style attribute (the CSP allows neither), a title per bar."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

_WIDTH = 720
_HEIGHT = 160
_LABEL_ROOM = 18


def bar_chart(labels: Sequence[str], values: Sequence[int], *, title: str, every: int = 1) -> Markup:
    """A bar per value, labelled below every `every` bars; the chart's text alternative is `title`."""
    count = max(1, len(values))
    peak = max([*values, 1])
    slot = _WIDTH / count
    bar = max(1.0, slot * 0.8)
    plot = _HEIGHT - _LABEL_ROOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for n, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = 0 if value <= 0 else max(1.0, plot * value / peak)
        x = n * slot + (slot - bar) / 2
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{plot - height:.1f}" width="{bar:.1f}" height="{height:.1f}">'
            f"<title>{escape(label)}: {value}</title></rect>"
        )
        if n % every == 0:
            parts.append(
                f'<text class="axis" x="{n * slot + slot / 2:.1f}" y="{_HEIGHT - 4}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    parts.append(f'<text class="peak" x="2" y="12">{peak}</text></svg>')
    return Markup("".join(parts))  # noqa: S704 - every value in it was escaped above
