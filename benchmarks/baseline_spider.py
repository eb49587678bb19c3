"""The Scrapy ceiling for `make bench`: a sitemap spider that fetches every page and extracts
nothing, so the dwscraper crawl figure can be read against what Scrapy alone does here."""

from __future__ import annotations

from typing import Any

from scrapy.spiders import SitemapSpider


class BaselineSpider(SitemapSpider):
    """Follows <base>/<lang>/article-sitemap.xml for each lang; parse() does nothing."""

    name = "bench-baseline"

    def __init__(self, base: str = "", langs: str = "en", **kwargs: Any) -> None:
        self.sitemap_urls = [f"{base}/{lang}/article-sitemap.xml" for lang in langs.split(",")]
        super().__init__(**kwargs)

    def parse(self, response: Any) -> None:
        """Nothing to do: the page has been downloaded and decoded, which is all we measure."""
        return None
