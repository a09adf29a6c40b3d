"""Catalog violations with fix hints: what a merchandiser changes in Shopify so TikTok accepts it.

Shopify is the source of truth for title, price, images, weight and SKU, and the TikTok channel
copies from it; a fix made in TikTok Seller Center is overwritten by the next sync. So every
hint points at the Shopify field (or the ``tiktok.*`` product metafield) to change, with the
row's own numbers in it ("title is 312 characters; TikTok accepts 25–255") and a link to the
variant in Shopify admin.
"""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from shoptok.reports._db import Row, atomic_write_text, read_only, rows, warehouse_clock
from shoptok.reports._format import dec, money, when
from shoptok.reports._xlsx import Col
from shoptok.reports.html import esc, page
from shoptok.settings import PROJECT_ROOT

#: the contract's violation codes, in the order the mart documents them
VIOLATIONS = [
    "title_too_long",
    "title_too_short",
    "missing_image",
    "missing_weight",
    "zero_weight",
    "missing_dimensions",
    "missing_sku",
    "duplicate_sku",
    "price_mismatch",
    "title_diverged",
    "not_listed_on_tiktok",
    "tiktok_status_failed",
    "tiktok_status_draft",
]

#: one line per violation: what to change, where, in Shopify (summary table)
FIX_SUMMARY = {
    "title_too_long": "Shorten the product title in Shopify, or set a shorter TikTok title in metafield tiktok.title.",
    "title_too_short": "Lengthen the product title in Shopify (brand, material, use), or set metafield tiktok.title.",
    "missing_image": "Add at least one image to the product in Shopify (product → Media).",
    "missing_weight": "Enter the variant's shipping weight in Shopify (variant → Shipping → Weight).",
    "zero_weight": "Replace the 0 weight with the real packed weight in Shopify (variant → Shipping → Weight).",
    "missing_dimensions": "Set the package size in product metafield tiktok.package_dimensions, e.g. 30x20x5 cm.",
    "missing_sku": "Give the variant a SKU in Shopify (variant → Inventory → SKU).",
    "duplicate_sku": "Make the SKU unique across variants in Shopify (variant → Inventory → SKU).",
    "price_mismatch": "Check the Shopify price: if right, nothing to do (the repair plan sets TikTok's price); "
    "if wrong, fix the variant price in Shopify.",
    "title_diverged": "Edit the title in Shopify (or metafield tiktok.title), never in Seller Center: the next sync "
    "overwrites it.",
    "not_listed_on_tiktok": "Publish the product to the TikTok sales channel in Shopify (product → Sales channels).",
    "tiktok_status_failed": "Read TikTok's rejection reason in Seller Center, fix the cause in Shopify, re-publish.",
    "tiktok_status_draft": "Complete the missing fields in Shopify and re-publish to the TikTok channel.",
}


def _title_bounds() -> tuple[int, int]:
    """The same bounds the mart checks (dbt vars), so the hint and the rule never disagree."""
    try:
        import yaml

        doc = yaml.safe_load((PROJECT_ROOT / "dbt_project" / "dbt_project.yml").read_text())
        v = doc.get("vars", {})
        return int(v.get("title_min_length", 25)), int(v.get("title_max_length", 255))
    except (OSError, ValueError, TypeError, ImportError, AttributeError):
        return 25, 255


def fix_hint(violation: str, row: Row, bounds: tuple[int, int] | None = None) -> str:
    """The row-specific instruction: what to change in Shopify, with the row's numbers."""
    lo, hi = bounds or _title_bounds()
    n = row.get("title_length")
    cur = row.get("currency") or ""
    if violation == "title_too_long":
        return f"Title is {n} characters; TikTok accepts {lo}–{hi}. " + FIX_SUMMARY[violation]
    if violation == "title_too_short":
        return f"Title is {n} characters; TikTok needs at least {lo}. " + FIX_SUMMARY[violation]
    if violation == "duplicate_sku":
        return f"SKU {row.get('sku')} is on {row.get('variants_with_sku')} variants. " + FIX_SUMMARY[violation]
    if violation == "price_mismatch":
        return (
            f"TikTok sells at {money(row.get('tiktok_price'), cur)}, "
            f"Shopify at {money(row.get('shopify_price'), cur)}. " + FIX_SUMMARY[violation]
        )
    if violation == "title_diverged":
        return f"TikTok shows a different title than {row.get('listing_title')!r}. " + FIX_SUMMARY[violation]
    return FIX_SUMMARY.get(violation, "See docs/marts.md (dim_catalog_health) for this rule.")


def admin_url(row: Row) -> str:
    """The variant's page in Shopify admin (product page when the variant id is unknown)."""
    domain = row.get("shopify_shop_domain")
    product = str(row.get("shopify_product_id") or "").rsplit("/", 1)[-1]
    variant = str(row.get("shopify_variant_id") or "").rsplit("/", 1)[-1]
    if not domain or not product:
        return ""
    base = f"https://{domain}/admin/products/{product}"
    return f"{base}/variants/{variant}" if variant else base


@dataclass(frozen=True)
class CatalogReport:
    html: Path
    csv: Path
    violations: int
    variants: int
    by_violation: dict[str, int]
    seconds: float

    @property
    def paths(self) -> list[Path]:
        return [self.html, self.csv]


CSV_COLS = [
    "connection_id",
    "sku",
    "listing_title",
    "title_length",
    "violation",
    "fix_hint",
    "shopify_admin_url",
    "shopify_product_id",
    "shopify_variant_id",
    "tiktok_product_id",
    "tiktok_sku_id",
    "listing_status",
    "currency",
    "shopify_price",
    "tiktok_price",
    "detected_at",
]


def load_catalog_rows(warehouse: Path, connection: str | None = None) -> tuple[list[Row], datetime | None]:
    """One row per variant × violation (unpublishable variants only), with the fix hint."""
    where = " and h.connection_id = ?" if connection else ""
    with read_only(warehouse) as con:
        clock = warehouse_clock(con)
        found = rows(
            con,
            f"""
            with health as (
                select *,
                       count(*) filter (where shopify_variant_id is not null and coalesce(sku, '') != '')
                           over (partition by connection_id, sku) as variants_with_sku
                from marts.dim_catalog_health
            )
            select h.connection_id, c.shopify_shop_domain, c.shopify_currency as currency, h.sku, h.listing_title,
                   length(h.listing_title) as title_length, v.violation, h.shopify_product_id, h.shopify_variant_id,
                   h.tiktok_product_id, h.tiktok_sku_id, h.listing_status, h.shopify_price, h.tiktok_price,
                   h.variants_with_sku, h.detected_at
            from health as h
            cross join unnest(h.violations) as v(violation)
            left join staging.stg_config__connections as c on h.connection_id = c.connection_id
            where not h.is_publishable{where}
            order by h.connection_id, h.sku nulls first, h.shopify_variant_id, v.violation
            """,
            [connection] if connection else [],
        )
    bounds = _title_bounds()
    order = {v: i for i, v in enumerate(VIOLATIONS)}
    for r in found:
        r["fix_hint"] = fix_hint(r["violation"], r, bounds)
        r["shopify_admin_url"] = admin_url(r)
    found.sort(key=lambda r: (r["connection_id"], order.get(r["violation"], 99), r["sku"] or ""))
    return found, clock


def _csv_text(found: list[Row]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in found:
        out = dict(r)
        for k in ("shopify_price", "tiktok_price"):
            out[k] = "" if r.get(k) is None else str(dec(r[k]))
        out["detected_at"] = when(r.get("detected_at"))
        writer.writerow(out)
    return buf.getvalue()


HTML_COLS = [
    Col("sku", "SKU"),
    Col("listing_title", "Title TikTok should show"),
    Col("violation", "Violation"),
    Col("fix_hint", "What to change in Shopify"),
    Col("listing_status", "On TikTok"),
]


def _html(found: list[Row], clock: datetime | None, generated: datetime, connection: str | None) -> str:
    scope = f"connection {connection}" if connection else "all connections"
    parts = []
    counts = Counter((r["connection_id"], r["violation"]) for r in found)
    variants = {(r["connection_id"], r["shopify_variant_id"] or r["tiktok_sku_id"]) for r in found}
    parts.append(
        f'<p class="note" id="catalog-totals" data-violations="{len(found)}" data-variants="{len(variants)}">'
        f"{len(variants):,} variants cannot be published as they are, with {len(found):,} violations. Shopify is the "
        "source of truth: fix these in Shopify (or in the product's tiktok.* metafields), never in Seller Center, "
        "where the next sync would overwrite the change.</p>"
    )
    parts.append(
        '<h2>By violation</h2><table id="catalog-summary"><thead><tr><th>Connection</th><th>Violation</th>'
        "<th>Variants</th><th>What to change in Shopify</th></tr></thead><tbody>"
    )
    order = {v: i for i, v in enumerate(VIOLATIONS)}
    for (conn, violation), n in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1], order.get(kv[0][1], 99))):
        parts.append(
            f'<tr><td>{esc(conn)}</td><td>{esc(violation)}</td><td class="num" data-violation="{esc(violation)}" '
            f'data-connection="{esc(conn)}">{n}</td><td>{esc(FIX_SUMMARY.get(violation, ""))}</td></tr>'
        )
    parts.append("</tbody></table>")
    for conn in sorted({r["connection_id"] for r in found}):
        mine = [r for r in found if r["connection_id"] == conn]
        body = []
        for r in mine:
            link = r["shopify_admin_url"]
            sku = f'<a href="{esc(link)}">{esc(r["sku"] or "(no SKU)")}</a>' if link else esc(r["sku"] or "(no SKU)")
            body.append(
                f"<tr><td>{sku}</td><td>{esc(r['listing_title'])}</td><td>{esc(r['violation'])}</td>"
                f"<td>{esc(r['fix_hint'])}</td><td>{esc(r['listing_status'])}</td></tr>"
            )
        head = "".join(f"<th>{esc(c.header)}</th>" for c in HTML_COLS)
        parts.append(
            f"<h2>{esc(conn)}: {len(mine):,} violations</h2>"
            f'<table id="catalog-{esc(conn)}" data-rows="{len(mine)}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>"
        )
    if not found:
        parts.append('<p class="note">Every variant is publishable on TikTok.</p>')
    return page(
        "TikTok catalog health: what to fix in Shopify",
        [f"Data as of {when(clock)} UTC · generated {when(generated)} UTC · {scope}."],
        "".join(parts),
    )


def write_catalog_report(
    warehouse: Path, out_dir: Path, *, connection: str | None = None, as_of: datetime | None = None
) -> CatalogReport:
    """Write ``catalog_<date>.html`` and ``.csv`` (one row per variant × violation) into ``out_dir``."""
    started = time.perf_counter()
    found, clock = load_catalog_rows(warehouse, connection)
    clock = as_of or clock or datetime.now(UTC).replace(microsecond=0)
    generated = datetime.now(UTC).replace(microsecond=0)
    stem = f"catalog_{clock:%Y-%m-%d}" + (f"_{connection}" if connection else "")
    out_dir = Path(out_dir)
    html_path = atomic_write_text(out_dir / f"{stem}.html", _html(found, clock, generated, connection))
    csv_path = atomic_write_text(out_dir / f"{stem}.csv", _csv_text(found))
    variants = {(r["connection_id"], r["shopify_variant_id"] or r["tiktok_sku_id"]) for r in found}
    return CatalogReport(
        html=html_path,
        csv=csv_path,
        violations=len(found),
        variants=len(variants),
        by_violation=dict(Counter(r["violation"] for r in found)),
        seconds=round(time.perf_counter() - started, 3),
    )
