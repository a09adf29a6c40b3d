"""The merchant's own configuration as tables: which shops pair up, warehouse ↔ location, FBT.

dbt reads these (``raw_config``) instead of a seed, so the warehouse↔location map always matches
the connections the data was extracted with. No credentials are written.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import dlt

from shoptok.connections import Connection


@dlt.source(name="shoptok_config", max_table_nesting=0)
def config_source(connections: Sequence[Connection]) -> Any:
    @dlt.resource(name="connections", primary_key=["connection_id"], write_disposition="merge")
    def connections_rows() -> Iterator[list[dict[str, Any]]]:
        yield [
            {
                "connection_id": c.id,
                "shopify_shop_domain": c.shopify.shop_domain,
                "shopify_currency": c.shopify.currency,
                "tiktok_shop_id": c.tiktok.shop_id,
                "tiktok_region": c.tiktok.region,
                "tiktok_currency": c.tiktok.currency,
            }
            for c in connections
        ]

    @dlt.resource(name="warehouses", primary_key=["connection_id", "tiktok_warehouse_id"], write_disposition="merge")
    def warehouse_rows() -> Iterator[list[dict[str, Any]]]:
        rows = []
        for c in connections:
            known = {str(w.get("id")): w for w in c.tiktok.warehouses}
            for wid in sorted(set(known) | set(c.warehouse_location_map)):
                w = known.get(wid, {})
                rows.append(
                    {
                        "connection_id": c.id,
                        "tiktok_warehouse_id": wid,
                        "name": w.get("name"),
                        "is_fbt": bool(w.get("fbt", False)),
                        "shopify_location_id": c.warehouse_location_map.get(wid),
                    }
                )
        yield rows

    return connections_rows, warehouse_rows
