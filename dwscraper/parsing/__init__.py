"""Page parsing: parse_article(html, url) -> record. Pure; never imports Scrapy."""

from dwscraper.parsing.article import parse_article

__all__ = ["parse_article"]
