"""WARC files: write each fetch as request + response records, read archived pages back.

Why WARC: it is the web archives' format (warcio, pywb, Common Crawl tooling read it), so the
exact bytes a record came from stay usable without this project. No Scrapy import here: the
downloader/spider middlewares in dwscraper.warc_middleware adapt Scrapy to this module, and
dwscraper.reextract / dwscraper.extract read archives offline with it.

Writing: one gzip member per record, and each record (or request/response pair) reaches the
file in a single unbuffered write, so a run killed at any moment leaves a file that reads up
to its last whole record. Files are named from the run's start time only, never from URLs.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import logging
import os
import re
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from dwscraper.normalize import format_utc, run_stamp
from dwscraper.pages import is_page_type
from dwscraper.urls import canonical_url, is_content_url

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 1_000_000_000
# gzip level of WARC records. Measured per exchange on the real DW pages in ../shared/dw
# (~100 KB): level 6 3.8 ms, 0.259 of the body's size; level 3 2.0 ms, 0.283 (+9% bytes);
# level 1 1.8 ms, 0.296 (parse_article takes ~5 ms on the same pages).
GZIP_LEVEL = 3
# A body the server already compressed (Content-Encoding gzip, br, ...) gains nothing from
# a second deflate: its record is stored in its gzip member (level 0), as small as level 3
# made it (+0.2% of the body either way) at a copy's cost: 0.52 -> 0.03 ms per real DW page
# gzipped by the server (~25 KB), 0.40 -> 0.02 ms brotli'd.
STORE_LEVEL = 0
FETCHED_URI_HEADER = "DW-Fetched-URI"  # the URL actually fetched (a mirror in tests)
HINTS_CONTENT_TYPE = "application/json"
# Hop-by-hop framing Scrapy has already undone: the stored body is de-chunked, so keeping
# the header would make readers try to de-chunk it again.
_DROP_RESPONSE_HEADERS = frozenset({"transfer-encoding"})


_STEM_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}")  # a file name stem, no path


def warc_date(when: datetime) -> str:
    """WARC/1.0 date: UTC, second precision ('2024-01-30T14:13:12Z'), like fetched_at."""
    return format_utc(when)


def _serialize(records: Iterable[Any]) -> bytes:
    """warcio records as bytes, each record its own gzip member (the warcinfo record)."""
    out = bytearray()
    for rec in records:
        buf = io.BytesIO()
        WARCWriter(buf, gzip=False).write_record(rec)
        out += _gzip_member(buf.getvalue())
    return bytes(out)


# Records written per fetch are laid out here rather than by warcio's record builder, whose
# header bookkeeping cost more than gzipping a fixture page: the same bytes as warcio writes
# (header order included), apart from the random record ids.
def _gzip_member(*parts: bytes, level: int | None = None) -> bytes:
    """parts concatenated, as one gzip member.

    The window (and hash table) is sized to the data: zlib's defaults allocate and clear
    ~400 KB per stream, ~70 us, far more than compressing a 1 KB metadata record takes. A
    window larger than the data plus zlib's 262-byte look-ahead compresses no better.
    """
    n = sum(len(p) for p in parts)
    wbits = min(15, max(9, (n + 261).bit_length()))
    level = GZIP_LEVEL if level is None else level
    gz = zlib.compressobj(level, zlib.DEFLATED, 16 + wbits, max(1, wbits - 6))
    return b"".join([*(gz.compress(p) for p in parts), gz.flush()])


def _is_compressed(headers: list[tuple[str, str]]) -> bool:
    """True when a Content-Encoding other than identity applies to the body."""
    for k, v in headers:
        if k.lower() == "content-encoding" and v.strip().lower() not in ("", "identity"):
            return True
    return False


def _record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def _sha1(*parts: bytes) -> str:
    """A WARC digest: 'sha1:' + base32 of the SHA-1 of parts concatenated."""
    h = hashlib.sha1()
    for p in parts:
        h.update(p)
    return "sha1:" + base64.b32encode(h.digest()).decode("ascii")


def _http_block(first_line: str, headers: list[tuple[str, str]]) -> bytes:
    """An HTTP header block as warcio writes it: ASCII, or RFC 8187 %-encoding if not."""
    text = first_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    try:
        return text.encode("ascii")
    except UnicodeEncodeError:
        return StatusAndHeaders(first_line, list(headers), protocol="").to_ascii_bytes()


def _warc_record(headers: list[tuple[str, str]], *block: bytes, level: int | None = None) -> bytes:
    """One gzipped WARC/1.0 record: headers (Content-Length is added) and its block."""
    length = sum(len(b) for b in block)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers)
    head = f"WARC/1.0\r\n{head}Content-Length: {length}\r\n\r\n".encode()
    return _gzip_member(head, *block, b"\r\n\r\n", level=level)


@dataclass(frozen=True)
class Prepared:
    """An exchange serialized and gzipped, waiting to be appended to the current file."""

    data: bytes
    records: int
    record_id: str
    warc_date: str


@dataclass
class _OpenFile:
    path: Path
    fh: Any  # unbuffered binary file
    size: int = 0
    current: bool = True


@dataclass(frozen=True)
class Written:
    """Where a response landed: the WARC file's name and the response record's id."""

    warc_file: str
    record_id: str
    warc_date: str


class RotatingWarcWriter:
    """Gzipped WARC files for one run: dw-<run start>-<seq>.warc.gz, rolled at max_bytes.

    Once a file has reached max_bytes the next exchange opens the next sequence number.
    Existing files are never overwritten (the sequence number skips them). The last
    KEEP_OPEN rolled-over files stay open, so a metadata record written after a roll-over
    still joins its response's file: each file then holds its records' metadata.
    """

    KEEP_OPEN = 8

    def __init__(
        self,
        directory: str | os.PathLike[str],
        run_start: datetime,
        max_bytes: int = DEFAULT_MAX_BYTES,
        prefix: str = "dw",
        info: dict[str, Any] | None = None,
        stem_hint: Callable[[], str | None] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.stem = f"{prefix}-{run_stamp(run_start)}"
        # Asked once, when the first file opens: the run's JSONL stem, so both share a name.
        self._stem_hint = stem_hint
        self.max_bytes = max(1, int(max_bytes))
        self.info = dict(info or {})
        self.files: list[Path] = []
        self.records = 0
        self.bytes_written = 0  # over all files of the run
        self._seq = 0
        self._open_files: dict[str, _OpenFile] = {}  # name -> file; the last one is current
        # warcio's builder: record ids, digests, header layout (serialized by _serialize).
        self._builder = WARCWriter(io.BytesIO(), gzip=True)

    # -- files ------------------------------------------------------------------------------
    @property
    def _current(self) -> _OpenFile | None:
        if not self._open_files:
            return None
        last = next(reversed(self._open_files.values()))
        return last if last.current else None

    def _open(self) -> _OpenFile:
        if self._stem_hint is not None:
            hint, self._stem_hint = self._stem_hint(), None
            if hint and _STEM_RE.fullmatch(hint):
                self.stem = hint
        self.directory.mkdir(parents=True, exist_ok=True)
        while True:
            path = self.directory / f"{self.stem}-{self._seq:05d}.warc.gz"
            self._seq += 1
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                continue
            break
        cur = self._current
        if cur is not None:
            cur.current = False
        f = _OpenFile(path, os.fdopen(fd, "wb", buffering=0))
        self._open_files[path.name] = f
        self.files.append(path)
        while len(self._open_files) > self.KEEP_OPEN + 1:
            oldest = next(iter(self._open_files))
            self._open_files.pop(oldest).fh.close()
        info = {"software": "dwscraper (warcio)", "format": "WARC File Format 1.0"}
        info.update({k: v for k, v in self.info.items() if v not in (None, "")})
        self._write_bytes(f, _serialize([self._builder.create_warcinfo_record(path.name, info)]))
        return f

    def _for_exchange(self) -> _OpenFile:
        cur = self._current
        if cur is None or cur.size >= self.max_bytes:
            cur = self._open()
        return cur

    def _write_bytes(self, f: _OpenFile, data: bytes) -> None:
        """Write whole gzip members with one write call (looping only on short writes).

        A failed write (disk full) is cut back off the file, so the file stays readable
        to its last whole record and later records are not stranded behind a broken one.
        """
        view = memoryview(data)
        try:
            while view:
                n = f.fh.write(view)
                view = view[n or 0 :]
        except OSError:
            with contextlib.suppress(OSError):
                f.fh.truncate(f.size)
                f.fh.seek(f.size)
            raise
        f.size += len(data)
        self.bytes_written += len(data)

    def close(self) -> None:
        """Close every open file (the next write opens a new one)."""
        for f in self._open_files.values():
            f.fh.close()
        self._open_files.clear()

    # -- records ----------------------------------------------------------------------------
    def build_exchange(
        self,
        *,
        target_uri: str,
        fetched_uri: str,
        when: datetime,
        method: str,
        request_headers: list[tuple[str, str]],
        request_body: bytes,
        status: int,
        response_headers: list[tuple[str, str]],
        body: bytes,
        protocol: str = "HTTP/1.1",
        reason: str | None = None,
        ip_address: str | None = None,
        truncated: str | None = None,
    ) -> Prepared:
        """One fetch as a response record and its request record, gzipped, not yet written.

        Pure CPU work that touches no file and no writer state (safe in any thread); the
        append is write_prepared.
        """
        date = warc_date(when)
        extra = [("WARC-Date", date)]
        if fetched_uri != target_uri:
            extra.append((FETCHED_URI_HEADER, fetched_uri))

        if reason is None:
            try:
                reason = HTTPStatus(status).phrase
            except ValueError:
                reason = ""
        resp_headers = [
            (k, v) for k, v in response_headers if k.lower() not in _DROP_RESPONSE_HEADERS
        ]
        status_line = f"{status} {reason}".strip()
        resp_http = _http_block(f"{protocol or 'HTTP/1.1'} {status_line}", resp_headers)
        record_id = _record_id()
        resp_warc = list(extra)
        if ip_address:
            resp_warc.append(("WARC-IP-Address", ip_address))
        if truncated:
            resp_warc.append(("WARC-Truncated", truncated))
        target = [("WARC-Target-URI", target_uri)] if target_uri else []
        resp_warc += [("WARC-Type", "response"), ("WARC-Record-ID", record_id), *target]
        resp_warc += [
            ("WARC-Payload-Digest", _sha1(body)),
            ("WARC-Block-Digest", _sha1(resp_http, body)),
            ("Content-Type", "application/http; msgtype=response"),
        ]

        split = _split_uri(fetched_uri)
        req_headers = list(request_headers)
        if not any(k.lower() == "host" for k, _ in req_headers):
            req_headers.insert(0, ("Host", split[0]))
        req_http = _http_block(f"{method} {split[1]} HTTP/1.1", req_headers)
        req_warc = [*extra, ("WARC-Type", "request"), ("WARC-Record-ID", _record_id()), *target]
        req_warc += [
            ("WARC-Payload-Digest", _sha1(request_body)),
            ("WARC-Concurrent-To", record_id),
            ("WARC-Block-Digest", _sha1(req_http, request_body)),
            ("Content-Type", "application/http; msgtype=request"),
        ]
        level = STORE_LEVEL if _is_compressed(resp_headers) else None
        data = _warc_record(resp_warc, resp_http, body, level=level) + _warc_record(
            req_warc, req_http, request_body
        )
        return Prepared(data, 2, record_id, date)

    def write_prepared(self, prepared: Prepared) -> Written:
        """Append a built exchange to the current file (rolling over first if it is full)."""
        f = self._for_exchange()
        self._write_bytes(f, prepared.data)
        self.records += prepared.records
        return Written(f.path.name, prepared.record_id, prepared.warc_date)

    def write_exchange(self, **exchange: Any) -> Written:
        """Write one fetch (see build_exchange for the arguments); return where it went."""
        return self.write_prepared(self.build_exchange(**exchange))

    def write_metadata(
        self,
        *,
        target_uri: str,
        refers_to: str,
        when: datetime,
        data: dict[str, Any],
        warc_file: str | None = None,
    ) -> str:
        """Write a JSON metadata record about an earlier response (hints, outcome).

        It goes into `warc_file` (the response's file) while that is still open, else into
        the current file; it never starts a new one unless none is open.
        """
        f = self._open_files.get(warc_file or "") or self._current or self._open()
        payload = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str).encode()
        record_id = _record_id()
        digest = _sha1(payload)
        headers = [
            ("WARC-Date", warc_date(when)),
            ("WARC-Refers-To", refers_to),
            ("WARC-Type", "metadata"),
            ("WARC-Record-ID", record_id),
            *([("WARC-Target-URI", target_uri)] if target_uri else []),
            ("WARC-Payload-Digest", digest),
            ("WARC-Block-Digest", digest),
            ("Content-Type", HINTS_CONTENT_TYPE),
        ]
        self._write_bytes(f, _warc_record(headers, payload))
        self.records += 1
        return record_id


def _split_uri(uri: str) -> tuple[str, str]:
    """(host[:port], path?query) of a URL, for the request line and Host header."""
    parts = urlsplit(uri)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return parts.netloc, target


# ---- reading ---------------------------------------------------------------------------------


class WarcReadError(Exception):
    """A WARC file cannot be opened or read at all (missing, not a WARC)."""


@dataclass
class ArchivedResponse:
    """One archived HTTP response, body decoded (de-chunked, Content-Encoding removed)."""

    url: str  # WARC-Target-URI (canonical https://www.dw.com/... form for our files)
    fetched_url: str  # the URL actually fetched (DW-Fetched-URI, else the target)
    warc_date: str  # WARC-Date as written
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    warc_file: str
    record_id: str
    meta: dict[str, Any] = field(default_factory=dict)  # from read_metadata, if any
    error: str | None = None  # why the body could not be decoded, if it could not

    @property
    def hints(self) -> dict[str, Any]:
        """The private discovery keys the crawl's record carried ({} if none recorded)."""
        h = self.meta.get("hints")
        return h if isinstance(h, dict) else {}

    @property
    def content_type(self) -> str:
        """Media type from the HTTP header, lower-case, without parameters."""
        for k, v in self.headers:
            if k.lower() == "content-type":
                return v.split(";", 1)[0].strip().lower()
        return ""

    def header(self, name: str) -> str | None:
        """First value of an HTTP header (case-insensitive)."""
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


def _decode_body(raw: bytes, headers: list[tuple[str, str]]) -> bytes:
    """Undo Transfer-Encoding: chunked and Content-Encoding (gzip, deflate, br, zstd)."""
    hdr = {k.lower(): v for k, v in headers}
    if "chunked" in hdr.get("transfer-encoding", "").lower():
        raw = ChunkedDataReader(io.BytesIO(raw)).read()
    codings = [c.strip().lower() for c in hdr.get("content-encoding", "").split(",") if c.strip()]
    for coding in reversed(codings):
        raw = _decompress(raw, coding)
    return raw


def _decompress(data: bytes, coding: str) -> bytes:
    if coding in ("identity", ""):
        return data
    if coding in ("gzip", "x-gzip"):
        out = bytearray()
        while data:  # concatenated gzip members are legal
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out += d.decompress(data)
            if not d.eof:
                raise ValueError("truncated gzip body")
            data = d.unused_data
        return bytes(out)
    if coding == "deflate":
        try:
            return zlib.decompress(data)
        except zlib.error:
            return zlib.decompress(data, -zlib.MAX_WBITS)  # raw deflate, as some servers send
    if coding == "br":
        import brotli

        return brotli.decompress(data)
    if coding == "zstd":
        try:
            from compression import zstd  # Python 3.14+
        except ImportError:
            from backports import zstd  # type: ignore[no-redef]
        return zstd.decompress(data)
    raise ValueError(f"unsupported Content-Encoding {coding!r}")


def _open_archive(path: str | os.PathLike[str]) -> io.BufferedReader:
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the caller's finally
    except OSError as e:
        raise WarcReadError(f"{path}: {e.strerror or e}") from e
    return fh


_RECORD_TYPES = frozenset(
    {"warcinfo", "response", "resource", "request", "metadata", "revisit", "conversion",
     "continuation"}
)  # fmt: skip
_READ_ERRORS = (ArchiveLoadFailed, EOFError, zlib.error, OSError, ValueError, AttributeError)


def _iter_whole_records(
    path: str | os.PathLike[str], stats: dict[str, int], parse_http: bool = True
) -> Iterator[tuple[Any, bytes]]:
    """(warcio record, its raw payload) for every whole record of a WARC, in file order.

    A record cut short (a killed run) ends the iteration and counts 'truncated': it is
    never yielded, so no half page ever looks like a page. Raises WarcReadError when the
    file cannot be opened or its first record cannot be read (not a WARC). Without
    parse_http the HTTP headers stay in the payload (cheaper when only WARC headers matter).
    """
    fh = _open_archive(path)
    seen = 0
    last_end = 0
    cut = False
    try:
        gz = fh.read(2) == b"\x1f\x8b"
        fh.seek(0)
        it = ArchiveIterator(fh, no_record_parse=not parse_http)
        records = iter(it)
        while True:
            try:
                rec = next(records)
                # A cut inside the header block parses as a record without Content-Length
                # (mandatory in WARC) or with a clipped type; inside the block, as short.
                whole = (
                    rec.format == "warc"
                    and rec.rec_type in _RECORD_TYPES
                    and rec.length is not None
                )
                raw = rec.raw_stream.read() if whole else b""
                if whole:
                    head = rec.http_headers.total_len if rec.http_headers else 0
                    whole = len(raw) >= int(rec.length) - head
            except StopIteration:
                break
            except _READ_ERRORS as e:
                if seen == 0:
                    raise WarcReadError(f"{path}: not a readable WARC file ({e})") from e
                whole = False
            if not whole:
                if seen == 0:
                    raise WarcReadError(f"{path}: not a readable WARC file")
                cut = True
                break
            seen += 1
            if gz:
                last_end = it.get_record_offset() + it.get_record_length()
            yield rec, raw
        if gz and not cut and seen and Path(path).stat().st_size > last_end:
            cut = True  # a member begun but not one byte of it decodable: still a cut
    finally:
        fh.close()
    if cut:
        stats["truncated"] = stats.get("truncated", 0) + 1
        logger.warning("%s: cut short; read its %d whole records", path, seen)


def iter_responses(
    path: str | os.PathLike[str], stats: dict[str, int] | None = None
) -> Iterator[ArchivedResponse]:
    """Every whole response record in a WARC (.warc or .warc.gz), in file order.

    A file cut short (a killed run) yields its whole records and stops, counting
    'truncated'; a body that cannot be decoded comes with .error set, never raises.
    Raises WarcReadError when the file cannot be opened or is not a WARC at all.
    """
    stats = stats if stats is not None else {}
    name = Path(path).name
    for rec, raw in _iter_whole_records(path, stats):
        if rec.rec_type != "response" or rec.http_headers is None:
            continue
        rh = rec.rec_headers
        headers = [(k, v) for k, v in rec.http_headers.headers]
        try:
            status = int(rec.http_headers.get_statuscode() or 0)
        except ValueError:
            status = 0
        target = rh.get_header("WARC-Target-URI") or ""
        item = ArchivedResponse(
            url=target,
            fetched_url=rh.get_header(FETCHED_URI_HEADER) or target,
            warc_date=rh.get_header("WARC-Date") or "",
            status=status,
            headers=headers,
            body=b"",
            warc_file=name,
            record_id=rh.get_header("WARC-Record-ID") or "",
        )
        try:
            item.body = _decode_body(raw, headers)
        except Exception as e:  # any codec failure is data, not a crash
            item.body = raw
            item.error = f"undecodable body: {e}"
        yield item


def read_metadata(paths: Iterable[str | os.PathLike[str]]) -> dict[str, dict[str, Any]]:
    """What the crawl recorded about each response, keyed by the response's record id.

    Merges our JSON metadata records: {"hints": {...}} (the record's private discovery keys)
    and {"outcome": "written" | "dropped" | "error", "reason": ..., "revision": n}.
    Raises WarcReadError for a file that cannot be opened or is not a WARC.
    """
    found: dict[str, dict[str, Any]] = {}
    for path in paths:
        for rec, raw in _iter_whole_records(path, {}, parse_http=False):
            if rec.rec_type != "metadata":
                continue
            ctype = rec.rec_headers.get_header("Content-Type") or ""
            ref = rec.rec_headers.get_header("WARC-Refers-To")
            if not ref or not ctype.startswith(HINTS_CONTENT_TYPE):
                continue
            try:
                data = json.loads(raw)
            except ValueError:
                continue
            if isinstance(data, dict):
                data.pop("kind", None)
                found.setdefault(ref, {}).update(data)
    return found


def is_html(resp: ArchivedResponse) -> bool:
    """A page the spider would parse: Content-Type with html or xml, or none at all.

    The spider's own rule (dwscraper.pages.is_page_type; a missing type is left to the body
    sniffing of Scrapy's response classes, which reextract applies too).
    """
    return is_page_type(resp.content_type)


def iter_archived_pages(
    path: str | os.PathLike[str],
    stats: dict[str, int] | None = None,
    meta: dict[str, dict[str, Any]] | None = None,
) -> Iterator[ArchivedResponse]:
    """The archived DW content pages of a WARC: 200 HTML responses for a-/av-/... URLs.

    Sitemaps, feeds, robots.txt, redirects and errors are skipped and counted in stats by
    reason; `.meta` carries what the crawl recorded about each page (hints, outcome).
    This is what `python -m dwscraper.extract FILE.warc.gz` and the re-extraction read.
    Pass `meta` (read_metadata over all of a run's files) when a run rolled over files.
    """
    stats = stats if stats is not None else {}
    if meta is None:
        meta = read_metadata([path])

    def skip(reason: str) -> None:
        stats[reason] = stats.get(reason, 0) + 1

    for resp in iter_responses(path, stats):
        if not is_content_url(resp.url):
            skip("not_content_url")
        elif resp.status != 200:
            skip(f"http_{resp.status}")
        elif resp.error:
            skip("undecodable_body")
        elif not is_html(resp):
            skip("not_html")
        else:
            resp.meta = meta.get(resp.record_id, {})
            yield resp


def is_warc(path: str | os.PathLike[str]) -> bool:
    """True when the file is a WARC (plain or gzipped), judged by its first bytes."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head)
        except zlib.error:
            return False
    return head.startswith(b"WARC/")


def extract_archived(
    path: str | os.PathLike[str], stats: dict[str, int] | None = None
) -> Iterator[dict[str, Any]]:
    """parse_article over a WARC's content pages: one public record each, in file order.

    For `python -m dwscraper.extract FILE.warc.gz`: the parser alone (no pipelines), with
    the archived URL, fetched_at = WARC-Date and the record's WARC provenance. A page the
    parser fails on is counted in stats["parse_error"] and skipped.
    """
    from dwscraper.parsing import parse_article
    from dwscraper.record import content_hash, ordered

    stats = stats if stats is not None else {}
    for page in iter_archived_pages(path, stats):
        try:
            rec = parse_article(page.body, canonical_url(page.url))
        except Exception:
            stats["parse_error"] = stats.get("parse_error", 0) + 1
            logger.warning("%s: parser failed on %s", path, page.url)
            continue
        rec["fetched_at"] = page.warc_date or None
        rec["warc_file"] = page.warc_file
        rec["warc_record_id"] = page.record_id
        rec["content_hash"] = content_hash(rec)
        yield ordered(rec)
