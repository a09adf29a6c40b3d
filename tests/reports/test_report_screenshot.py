"""The payout HTML renders in a real browser with its charts visible (headless Chromium screenshot).

Parsing the HTML proves the numbers are there; only a browser proves a person sees charts. The
screenshot is decoded with a stdlib PNG reader and checked for the chart colours: full-colour
bars for the report's week and the paler bars (0.55 opacity over white) for the history weeks.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from datetime import timedelta

import pytest

from shoptok.reports.payouts import write_payout_report
from shoptok.reports.period import iso_week_label
from tests.reports.pngread import read_png, size

pytestmark = pytest.mark.slow
WIDTH, HEIGHT = 1280, 2000

NET_BLUE = (0x3F, 0x7C, 0xBF)  # net settlement bars
ORANGE = (0xF2, 0x8C, 0x28)  # expected settlement line
CHARGEBACK_RED = (0xC0, 0x50, 0x4D)
PERIOD_BAND = (0xFF, 0xF4, 0xCC)


def _pale(rgb: tuple[int, int, int], opacity: float = 0.55) -> tuple[int, int, int]:
    return tuple(round(c * opacity + 255 * (1 - opacity)) for c in rgb)


def _near(a, b, tol: int = 4) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def screenshot(chromium, html, png, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(chromium),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            f"--screenshot={png}",
            f"--window-size={WIDTH},{HEIGHT}",
            f"file://{html}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_payout_html_renders_with_visible_charts(chromium, built_merchant, full_period, tmp_path):
    # the last week with data, plus its 11 weeks of history in the charts
    week = iso_week_label(full_period.last_week)
    report = write_payout_report(built_merchant.warehouse, tmp_path / "out", week=week)
    png = tmp_path / "payouts.png"
    proc = screenshot(chromium, report.html, png, tmp_path)
    assert png.exists(), proc.stderr[-2000:]
    assert size(png) == (WIDTH, HEIGHT)

    image = read_png(png)
    counts: Counter = Counter()
    rows_with_blue = set()
    for y in range(0, HEIGHT, 2):  # every other row: plenty, and twice as fast
        row = image.rows[y]
        step = image.channels
        for x in range(0, WIDTH * step, step * 2):
            counts[(row[x], row[x + 1], row[x + 2])] += 1
    total = sum(counts.values())
    white = counts[(255, 255, 255)]
    assert len(counts) > 100, "a blank or flat page"
    assert white / total < 0.9, f"{white / total:.0%} white"

    def matching(rgb) -> int:
        return sum(n for c, n in counts.items() if _near(c, rgb))

    # the report's week: full-colour net settlement bars on the period band; history: pale bars
    assert matching(NET_BLUE) > 300, matching(NET_BLUE)
    assert matching(_pale(NET_BLUE)) > 3000, matching(_pale(NET_BLUE))
    assert matching(PERIOD_BAND) > 2000, matching(PERIOD_BAND)
    assert matching(ORANGE) > 100, matching(ORANGE)
    assert matching(_pale(CHARGEBACK_RED)) + matching(CHARGEBACK_RED) > 100
    # the charts are on the first screen, below the header, not pushed off the page
    for y in range(0, HEIGHT, 4):
        row = image.rows[y]
        step = image.channels
        if any(_near((row[x], row[x + 1], row[x + 2]), _pale(NET_BLUE)) for x in range(0, WIDTH * step, step * 10)):
            rows_with_blue.add(y)
    assert rows_with_blue and min(rows_with_blue) < HEIGHT // 2


def test_the_week_shown_is_the_one_asked_for(built_merchant, full_period, tmp_path):
    """The chart window ends at the report's week and keeps up to 11 weeks of history before it."""
    from shoptok.reports.payouts import load_payout_data

    week = iso_week_label(full_period.last_week)
    data = load_payout_data(built_merchant.warehouse, week=week)
    assert data.chart_weeks[-1] == full_period.last_week
    assert len(data.chart_weeks) == min(12, (full_period.last_week - full_period.first_week).days // 7 + 1)
    assert data.chart_weeks == [data.chart_weeks[0] + timedelta(days=7 * i) for i in range(len(data.chart_weeks))]
