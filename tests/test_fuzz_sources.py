"""Property-based fuzzing of the sitemap/feed reader: SourceError or entries, nothing else.

Mutated real-looking sitemaps, indexes and feeds (tests/dwsite.py's generators), some gzipped,
some carrying entity bombs or external entities, plus random bytes. The reader must never
raise anything but SourceError, never expand an entity, never read a file.
"""

from __future__ import annotations

import gzip
import random

from dwsite import WWW, default_articles, news_sitemap, rss_feed, sitemap_index, urlset
from hypothesis import given, settings
from hypothesis import strategies as st

from dwscraper.sources import Entry, ReadResult, SourceError, read_source

ARTS = default_articles()
CORPUS = [
    news_sitemap(ARTS, [f"{WWW}/en/x/s-1"]),
    urlset(ARTS),
    sitemap_index([(f"{WWW}/en/article-sitemap-{i}.xml", a.lastmod) for i, a in enumerate(ARTS)]),
    rss_feed("en", ARTS),
    rss_feed("de", ARTS),
]
SNIPPETS = (
    b'<!DOCTYPE x [<!ENTITY a "lollollol"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>',
    b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
    b'<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd">',
    b"&b;&e;&amp;&#0;&#x110000;",
    b"<![CDATA[https://www.dw.com/en/x/a-1]]>",
    b"<url><loc></loc></url>",
    b"<sitemap><loc>file:///etc/passwd</loc></sitemap>",
    b"<url>" * 2000,
    b"\x00\xff\xfe",
    b"<?xml version='1.0' encoding='ebcdic-bogus'?>",
    b"<?xml-stylesheet href='http://127.0.0.1:9/x.xsl'?>",
    b"<xi:include xmlns:xi='http://www.w3.org/2001/XInclude' href='file:///etc/passwd'/>",
)


def mutate(body: bytes, rnd: random.Random) -> bytes:
    for _ in range(rnd.randint(1, 4)):
        op = rnd.choice(("truncate", "delete", "duplicate", "insert", "snippet"))
        i = rnd.randint(0, len(body))
        if op == "truncate":
            body = body[:i]
        elif op == "delete":
            body = body[:i] + body[i + rnd.randint(0, 500) :]
        elif op == "duplicate":
            j = min(len(body), i + rnd.randint(0, 800))
            body = body[:j] + body[i:j] * rnd.randint(1, 3) + body[j:]
        elif op == "insert":
            body = body[:i] + rnd.randbytes(rnd.randint(1, 30)) + body[i:]
        else:
            body = body[:i] + rnd.choice(SNIPPETS) + body[i:]
    if rnd.random() < 0.2:
        body = gzip.compress(body, mtime=0)
        if rnd.random() < 0.3:
            body = body[: rnd.randint(0, len(body))]  # a cut gzip stream
    return body


def check(body: bytes) -> None:
    res = ReadResult()
    try:
        entries = list(read_source(body, res, max_size=2 * 1024 * 1024))
    except SourceError as exc:
        assert exc.reason
        return
    for e in entries:
        assert isinstance(e, Entry) and isinstance(e.url, str) and e.url
        assert "lollol" not in e.url and "root:" not in e.url
        assert e.kind in ("page", "sitemap")
    assert res.entries == len(entries)


@settings(max_examples=2000, deadline=None, derandomize=True)
@given(st.sampled_from(CORPUS), st.integers(0, 2**32))
def test_mutated_sources_never_raise(body, seed):
    check(mutate(body, random.Random(seed)))


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.binary(max_size=4096))
def test_random_bytes_never_raise(body):
    check(body)


def test_corpus_reads():
    for body in CORPUS:
        assert list(read_source(body))
