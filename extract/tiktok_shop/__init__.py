"""TikTok Shop extraction: the API client (also used by writeback) and the dlt source."""

from extract.tiktok_shop.client import ApiResult, TikTokClient
from extract.tiktok_shop.source import ExtractStats, tiktok_shop_source

__all__ = ["ApiResult", "ExtractStats", "TikTokClient", "tiktok_shop_source"]
