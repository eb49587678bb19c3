"""dwscraper.urls: which DW URL is which content."""

from __future__ import annotations

import pytest

from dwscraper import urls


@pytest.mark.parametrize(
    ("url", "cid", "kind"),
    [
        ("https://www.dw.com/en/some-story/a-68117411", "a-68117411", "article"),
        ("https://www.dw.com/de/s/a-68117411?maca=de-rss-de-all-1119-rdf", "a-68117411", "article"),
        ("https://www.dw.com/en/intelligent-light/av-19112290", "av-19112290", "video"),
        # DW's newer video URLs: the same content number under /video-
        ("https://www.dw.com/en/intelligent-light/video-19112290", "av-19112290", "video"),
        ("https://www.dw.com/en/x/audio-123", "audio-123", "audio"),
        ("https://www.dw.com/en/x/g-123", "g-123", "gallery"),
        ("https://www.dw.com/en/x/live-123", "live-123", "liveblog"),
        ("https://www.dw.com/en/top-stories/s-9097", None, None),
        ("https://www.dw.com/en/germany/t-17367890", None, None),
        ("https://www.dw.com/en/program/s-123/video", None, None),
    ],
)  # fmt: skip
def test_content_id_and_page_type(url, cid, kind):
    assert urls.content_id(url) == cid
    assert urls.page_type(url) == kind
    assert urls.is_content_url(url) is (cid is not None)
    if cid:
        assert urls.page_type(cid) == kind


def test_video_page_under_either_url_is_one_record_id():
    from dwscraper.parsing import parse_article

    html = "<html><head><title>t</title></head><body><p>x</p></body></html>"
    a = parse_article(html, "https://www.dw.com/en/clip/video-555")
    b = parse_article(html, "https://www.dw.com/en/clip/av-555")
    assert a["id"] == b["id"] == "av-555"
    assert a["page_type"] == b["page_type"] == "video"
    assert a["url"] == "https://www.dw.com/en/clip/video-555"  # the URL stays the page's own


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://p.dw.com/p/4boRv", "4boRv"),
        ("http://p.dw.com/p/4boRv?maca=x", "4boRv"),
        ("https://dw.com/p/1GYaU/", "1GYaU"),
        ("http://dw.de/p/16gAt#top", "16gAt"),
        ("https://www.dw.com/en/story/a-123", None),
        ("https://p.dw.com/p/4boRv/extra", None),
        ("https://example.com/p/4boRv", None),
    ],
)
def test_permalink_code_only_for_urls_that_are_permalinks(url, code):
    assert urls.permalink_code(url) == code
