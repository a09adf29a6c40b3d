"""Weekly charts drawn as inline SVG, so the HTML report is one self-contained file.

There is no plotting library in the environment and a finance inbox strips scripts, so each chart
is plain SVG markup: bars (optionally stacked) and lines over ISO weeks, a zero line, currency
ticks, a legend, and a shaded band for the report's own weeks. Every data point carries
``data-series``, ``data-week`` and ``data-value`` (the mart's signed value) so tests can tie a
drawn bar back to the mart to the cent, and a ``<title>`` so hovering shows the amount.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from shoptok.reports._format import compact_money, money

FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif"


@dataclass(frozen=True)
class Series:
    """One series: ``values`` are the mart's signed amounts; ``sign`` flips them for drawing costs up."""

    key: str
    label: str
    values: Sequence[Decimal]
    color: str
    sign: int = 1


def _nice_step(span: float, target: int = 5) -> float:
    raw = span / max(target, 1)
    exp = math.floor(math.log10(raw)) if raw > 0 else 0
    base = 10**exp
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * base:
            return m * base
    return 10 * base


def _ticks(lo: float, hi: float) -> list[float]:
    """Round ticks from at or below ``lo`` to at or above ``hi``, about five of them."""
    if hi - lo <= 0:
        return [lo]
    step = _nice_step(hi - lo)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(k * step, 6) for k in range(first, last + 1)]


def chart(
    *,
    chart_id: str,
    kind: str,
    week_keys: Sequence[str],
    week_labels: Sequence[str],
    bars: Sequence[Series] = (),
    lines: Sequence[Series] = (),
    stacked: bool = False,
    currency: str,
    highlight: Sequence[bool] = (),
    label_nonzero: bool = False,
    width: int = 600,
    height: int = 270,
) -> str:
    """One chart over the weeks: ``bars`` side by side (or ``stacked``) and ``lines`` with dots."""
    n = len(week_keys)
    if highlight and all(highlight):
        highlight = ()  # the whole chart is the period: shading everything would only tint it
    left, right, top, bottom = 66, 14, 30, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    drawn = {s.key: [float(v) * s.sign for v in s.values] for s in (*bars, *lines)}

    # y domain: include zero and every drawn value (stacked bars by their positive/negative sums)
    candidates = [0.0]
    if stacked:
        for i in range(n):
            candidates.append(sum(max(drawn[s.key][i], 0) for s in bars))
            candidates.append(sum(min(drawn[s.key][i], 0) for s in bars))
    else:
        candidates += [v for s in bars for v in drawn[s.key]]
    candidates += [v for s in lines for v in drawn[s.key]]
    lo, hi = min(candidates), max(candidates)
    if hi == lo:  # zero is always a candidate, so every value is zero: show a unit axis around it
        lo, hi = (-1.0, 1.0) if lines and not bars else (0.0, 1.0)
    ticks = _ticks(lo, hi)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])

    def y(v: float) -> float:
        return top + plot_h - (v - lo) / (hi - lo) * plot_h

    band = plot_w / max(n, 1)
    out: list[str] = [
        f'<svg id="{escape(chart_id)}" data-chart="{escape(kind)}" data-weeks="{n}" '
        f'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" style="{FONT};font-size:11px;max-width:100%;height:auto">'
    ]
    # the report's weeks: a pale band behind them
    for i in range(n):
        if i < len(highlight) and highlight[i]:
            out.append(
                f'<rect class="period" x="{left + i * band:.1f}" y="{top}" width="{band:.1f}" height="{plot_h}" '
                'fill="#fff4cc"/>'
            )
    # grid + y ticks
    for t in ticks:
        out.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
            f'stroke="{"#555" if t == 0 else "#e3e3e3"}" stroke-width="{1.2 if t == 0 else 1}"/>'
        )
        out.append(
            f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end" fill="#444">'
            f"{escape(compact_money(t, currency))}</text>"
        )
    # x labels (thinned when crowded)
    every = max(1, math.ceil(n / 14))
    for i, label in enumerate(week_labels):
        if i % every == 0 or i == n - 1:
            weight = "bold" if i < len(highlight) and highlight[i] else "normal"
            out.append(
                f'<text x="{left + (i + 0.5) * band:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                f'fill="#333" font-weight="{weight}">{escape(label)}</text>'
            )
    # bars
    if bars:
        slots = 1 if stacked else len(bars)
        bar_w = band * 0.72 / slots
        for i in range(n):
            pos_base = neg_base = 0.0
            for k, s in enumerate(bars):
                v = drawn[s.key][i]
                if stacked:
                    base = pos_base if v >= 0 else neg_base
                    y0, y1 = y(base), y(base + v)
                    if v >= 0:
                        pos_base += v
                    else:
                        neg_base += v
                    x = left + i * band + band * 0.14
                else:
                    y0, y1 = y(0), y(v)
                    x = left + i * band + band * 0.14 + k * bar_w
                opacity = "1" if (i < len(highlight) and highlight[i]) or not any(highlight) else "0.55"
                tip = f"{week_labels[i]} · {s.label}: {money(s.values[i], currency)}"
                out.append(
                    f'<rect class="datum" data-series="{escape(s.key)}" data-week="{escape(week_keys[i])}" '
                    f'data-value="{s.values[i]}" x="{x:.1f}" y="{min(y0, y1):.1f}" width="{bar_w:.1f}" '
                    f'height="{abs(y1 - y0):.1f}" fill="{s.color}" fill-opacity="{opacity}">'
                    f"<title>{escape(tip)}</title></rect>"
                )
    # lines with dots
    for s in lines:
        pts = [(left + (i + 0.5) * band, y(drawn[s.key][i])) for i in range(n)]
        if pts:
            path = " ".join(f"{'M' if i == 0 else 'L'}{px:.1f},{py:.1f}" for i, (px, py) in enumerate(pts))
            out.append(f'<path d="{path}" fill="none" stroke="{s.color}" stroke-width="2.2"/>')
        for i, (px, py) in enumerate(pts):
            value = s.values[i]
            off = label_nonzero and value != 0
            color = "#c62828" if off else s.color
            tip = f"{week_labels[i]} · {s.label}: {money(value, currency)}"
            out.append(
                f'<circle class="datum" data-series="{escape(s.key)}" data-week="{escape(week_keys[i])}" '
                f'data-value="{value}" cx="{px:.1f}" cy="{py:.1f}" r="{4.5 if off else 3.5}" fill="{color}" '
                f'stroke="#fff" stroke-width="1"><title>{escape(tip)}</title></circle>'
            )
            if off:
                out.append(
                    f'<text x="{px:.1f}" y="{py - 8:.1f}" text-anchor="middle" fill="#c62828" font-weight="bold">'
                    f"{escape(money(value, currency))}</text>"
                )
    # legend
    lx = left
    for idx, s in enumerate((*bars, *lines)):
        is_line = idx >= len(bars)
        swatch = (
            f'<line x1="{lx}" x2="{lx + 16}" y1="13" y2="13" stroke="{s.color}" stroke-width="2.5"/>'
            f'<circle cx="{lx + 8}" cy="13" r="3.5" fill="{s.color}"/>'
            if is_line
            else f'<rect x="{lx}" y="7" width="12" height="12" fill="{s.color}"/>'
        )
        out.append(swatch)
        out.append(f'<text x="{lx + 20}" y="17" fill="#222">{escape(s.label)}</text>')
        lx += 30 + int(len(s.label) * 6.4)
    out.append("</svg>")
    return "".join(out)
