"""dwscraper.sources: sitemaps, indexes, feeds; safe against hostile XML; streaming."""

from __future__ import annotations

import gzip
import itertools
import tracemalloc
from datetime import UTC, date, datetime

import pytest
from dwsite import make_article, news_sitemap, rss_feed, sitemap_index, urlset

from dwscraper import sources
from dwscraper.sources import Entry, ReadResult, SourceError, in_window, read_source


def read(body: bytes) -> tuple[list[Entry], ReadResult]:
    res = ReadResult()
    return list(read_source(body, res)), res


def test_news_sitemap_carries_publication_time_and_title():
    a = make_article(11, published="2024-01-30T14:13:12Z", title="A harbor story")
    entries, res = read(news_sitemap([a]))
    assert res.format == "urlset" and res.error is None
    assert entries == [
        Entry(
            a.url, "page", "2024-01-30T14:13:12Z", None, "A harbor story", "2024-01-30T14:13:12Z"
        ),
    ]


def test_plain_sitemap_lastmod_and_index_children():
    a = make_article(12, published="2023-05-01T09:30:00Z")
    entries, _ = read(urlset([a], ["https://www.dw.com/en/x/s-1"]))
    assert [(x.url, x.date, x.lastmod, x.published) for x in entries] == [
        (a.url, "2023-05-01T09:30:00Z", "2023-05-01T09:30:00Z", None),  # a lastmod only
        ("https://www.dw.com/en/x/s-1", None, None, None),
    ]
    idx, res = read(
        sitemap_index([("https://www.dw.com/en/c1.xml", datetime(2024, 1, 2, tzinfo=UTC))])
    )
    assert res.format == "sitemapindex"
    assert idx == [
        Entry(
            "https://www.dw.com/en/c1.xml",
            "sitemap",
            "2024-01-02T00:00:00Z",
            "2024-01-02T00:00:00Z",
        )
    ]


def test_rss_items_keep_tracking_link_and_pubdate():
    a = make_article(13, "de", published="2024-01-30T10:00:00Z", alt_slug="other-slug")
    entries, res = read(rss_feed("de", [a]))
    assert res.format == "rss"
    assert len(entries) == 1
    assert entries[0].url.startswith("https://www.dw.com/de/other-slug/a-13?maca=")
    assert entries[0].date == "2024-01-30T10:00:00Z"


def test_rdf_and_atom_feeds():
    rdf = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://rss.dw.com/rdf/rss-en-all"><title>DW</title></channel>
<item rdf:about="https://www.dw.com/en/x/a-5"><title>X</title><link>https://www.dw.com/en/x/a-5</link>
<dc:date>2024-02-01T08:00:00Z</dc:date></item></rdf:RDF>"""
    entries, res = read(rdf)
    assert res.format == "rdf"
    assert [(x.url, x.date) for x in entries] == [
        ("https://www.dw.com/en/x/a-5", "2024-02-01T08:00:00Z")
    ]
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<entry><title>Y</title><link rel="alternate" href="https://www.dw.com/en/y/a-6"/>
<updated>2024-02-02T09:00:00+01:00</updated></entry></feed>"""
    entries, res = read(atom)
    assert res.format == "atom"
    assert [(x.url, x.date) for x in entries] == [
        ("https://www.dw.com/en/y/a-6", "2024-02-02T08:00:00Z")
    ]


def test_gzip_sitemap_is_inflated():
    a = make_article(14)
    entries, _ = read(gzip.compress(urlset([a])))
    assert [x.url for x in entries] == [a.url]


def test_gzip_bomb_is_bounded():
    bomb = gzip.compress(b"<urlset>" + b" " * (2 * 1024 * 1024) + b"</urlset>")
    with pytest.raises(SourceError) as exc:
        list(read_source(bomb, max_size=1024 * 1024))
    assert exc.value.reason == "too_large"


def test_truncated_gzip_is_an_error():
    body = gzip.compress(urlset([make_article(15)]))[:-12]
    with pytest.raises(SourceError) as exc:
        list(read_source(body))
    assert exc.value.reason == "bad_gzip"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&lol3;</loc></url></urlset>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://www.dw.com/en/&xxe;/a-1</loc></url></urlset>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE, gzip.compress(XXE)])
def test_dtd_entity_tricks_rejected(body):
    with pytest.raises(SourceError) as exc:
        list(read_source(body))
    assert exc.value.reason == "unsafe_xml"


def test_malformed_xml_keeps_entries_before_the_error():
    a, b = make_article(21), make_article(22)
    body = urlset([a, b]).replace(b"</urlset>", b"<url><loc>https://www.dw.com/en/z/a-23</lo")
    entries, res = read(body)
    assert [x.url for x in entries] == [a.url, b.url]
    assert res.error == "malformed"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"<html><body>Service unavailable</body></html>", "not_xml"),
        (b"<!DOCTYPE html>\n<html><body>Maintenance</body></html>", "not_xml"),
        (b"\n<!-- cache --><html><body>Down</body></html>", "not_xml"),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"'
            b' "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd"><html><body>503</body></html>',
            "not_xml",
        ),
        (b"<feedback>not a sitemap</feedback>", "not_a_source"),
        (b"this is not xml", "not_xml"),
    ],
)
def test_non_sources_yield_nothing(body, error):
    try:
        entries, res = read(body)
    except SourceError as exc:
        assert exc.reason == error
        return
    assert entries == [] and res.error == error


@pytest.mark.parametrize("prefix", [b"\n", b"\r\n  \t", b"\xef\xbb\xbf\n"])
def test_whitespace_before_the_xml_declaration_is_read(prefix):
    a = make_article(31)
    body = urlset([a])
    assert body.startswith(b"<?xml")
    entries, res = read(prefix + body)
    assert [x.url for x in entries] == [a.url] and res.error is None


@pytest.mark.timeout(60)
def test_a_run_of_comments_before_the_root_is_read_in_linear_time():
    # A regex over repeated comments backtracked exponentially (40 comments: days).
    a = make_article(32)
    body = urlset([a]).replace(b"<urlset", b"<!-- c -->" * 40 + b"<urlset", 1)
    entries, _ = read(body)
    assert [x.url for x in entries] == [a.url]
    with pytest.raises(SourceError) as exc:
        list(read_source(b"<!-- c -->" * 40 + b"<html><body>down</body></html>"))
    assert exc.value.reason == "not_xml"


def test_empty_body_is_not_xml():
    with pytest.raises(SourceError) as exc:
        list(read_source(b"   "))
    assert exc.value.reason == "not_xml"


def test_entries_without_loc_are_counted_not_yielded():
    body = b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><lastmod>2024-01-01</lastmod></url></urlset>'
    entries, res = read(body)
    assert entries == [] and res.extra == {"no_url": 1}


def test_unreadable_date_is_none_not_a_crash():
    body = (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url>'
        b"<loc>https://www.dw.com/en/a/a-1</loc><lastmod>31.02.2024 25:61</lastmod></url></urlset>"
    )
    entries, _ = read(body)
    assert entries[0].date is None


def test_large_sitemap_streams_lazily():
    """50,000 URLs: entries come one by one and memory stays flat while reading."""
    rows = "".join(
        f"<url><loc>https://www.dw.com/en/story-{i}/a-{i}</loc><lastmod>2024-01-01</lastmod></url>"
        for i in range(50_000)
    )
    body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{rows}</urlset>'.encode()
    gen = read_source(body)
    first = next(gen)
    assert first.url.endswith("/a-0")
    count = 1 + sum(1 for _ in itertools.islice(gen, 999))
    # Trace 10,000 entries in the middle: a reader that collected its entries first (a list
    # of them) would grow by MBs of Python objects here; a streaming one stays flat.
    tracemalloc.start()
    count += sum(1 for _ in itertools.islice(gen, 10_000))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    count += sum(1 for _ in gen)
    assert count == 50_000
    assert peak < 1_000_000, peak


def test_in_window_days_inclusive_and_undated_kept():
    since, until = date(2024, 1, 1), date(2024, 1, 31)
    assert in_window("2024-01-01T00:00:01Z", since, until)
    assert in_window("2024-01-31", since, until)
    assert not in_window("2023-12-31T23:59:59Z", since, until)
    assert not in_window("2024-02-01", since, until)
    assert in_window(None, since, until)
    assert in_window("2020-01-01", None, None)


def test_parse_day_messages():
    assert sources.parse_day("2024-01-30") == date(2024, 1, 30)
    assert sources.parse_day(None) is None
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        sources.parse_day("30.01.2024")
