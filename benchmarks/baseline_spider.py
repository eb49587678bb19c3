"""The Scrapy ceiling for `make bench`: a sitemap spider that fetches every page and extracts
nothing, so the dwscraper crawl figure can be read against what Scrapy alone does here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy import Request
from scrapy.spiders import SitemapSpider

DW_HOSTS = ("https://www.dw.com", "http://www.dw.com")


class BaselineSpider(SitemapSpider):
    """Follows <base>/<lang>/article-sitemap.xml for each lang; parse() does nothing.

    Sitemaps name https://www.dw.com URLs (as DW's do); they are fetched from `base` instead.
    """

    name = "bench-baseline"

    def __init__(self, base: str = "", langs: str = "en", **kwargs: Any) -> None:
        self.base = base.rstrip("/")
        self.sitemap_urls = [f"{self.base}/{lang}/article-sitemap.xml" for lang in langs.split(",")]
        super().__init__(**kwargs)

    def _parse_sitemap(self, response: Any) -> Iterator[Any]:
        for out in super()._parse_sitemap(response):
            if isinstance(out, Request) and out.url.startswith(DW_HOSTS):
                out = out.replace(url=self.base + "/" + out.url.split("/", 3)[3])
            yield out

    def parse(self, response: Any) -> None:
        """Nothing to do: the page has been downloaded and decoded, which is all we measure."""
        return None
