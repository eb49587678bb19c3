"""Extraction quality against known truth, ours and trafilatura's side by side.

    python -m dwscraper.evaluate DIR [--repeat N] [--json]

DIR holds pages/<name>.html and truth/<name>.json (the format of ../shared/dw). Per page and
in total: precision/recall/F1 of `text` against the truth body (bag of lowercased word
tokens), the same for the teaser, exact title/authors/published/topics, snippet checks,
clutter lines found in the text, and CPU milliseconds per page (fastest of --repeat runs;
the total is the median over pages, also as a multiple of a bare lxml.html parse of the same
page); trafilatura 2.x
(bare_extraction, metadata on) is scored on the same pages in the same run.

Rules worth knowing when reading the numbers:
- published is compared to the precision the truth has: a day-only truth, or fundus'
  midnight-naive "2023-04-28T00:00:00" (its way of writing a day), compares the day; any
  other truth compares the instant in UTC to the second (the record's precision).
- body_must_contain / body_must_not_contain look at what a reader sees as the article,
  teaser + text (trafilatura's snippets include the intro); body_must_start_with looks at
  `text` alone.
- Clutter patterns are defined here, independently of the parser's own rules.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dwscraper.parsing import parse_article

_TOKEN_RE = re.compile(r"\w+", re.U)
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MIDNIGHT_NAIVE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]00:00:00$")

# Lines that are page furniture, not article text (issue 4: skip links, menus, credits,
# "Read more", related content; plus ads, share/permalink lines, feedback, newsletter promos
# and editors' signature lines).
CLUTTER_PATTERNS: dict[str, re.Pattern[str]] = {
    "skip link": re.compile(
        r"^(?:\d+\.\s*)?(?:skip to (?:content|main menu|more dw sites)|skip next section|"
        r"zum inhalt springen|zur hauptnavigation springen|zu weiteren angeboten der dw springen)",
        re.I,
    ),
    "menu": re.compile(
        r"^(?:live tv|latest videos|latest audio|neueste videos|in focus|im fokus|"
        r"media center|top stories|themen|deutsch lernen|learn german|dw akademie)$",
        re.I,
    ),
    "credit": re.compile(
        r"^(?:image|bild|foto|photo|imagen)\s*:|(?:picture[- ]alliance|getty images|imago)"
        r"[^.!?]{0,40}$",
        re.I,
    ),
    "read more": re.compile(r"^\W*(?:read more|lesen sie (?:auch|mehr)|mehr dazu)\s*:", re.I),
    "related content": re.compile(
        r"^(?:related content|mehr zum thema|dw recommends|die redaktion empfiehlt|"
        r"audios and videos on the topic|audio und video zum thema|related topics|"
        r"ähnliche themen|more on this topic)$",
        re.I,
    ),
    "ad": re.compile(r"^(?:advertisement|anzeige|werbung)$", re.I),
    "share/permalink": re.compile(
        r"^(?:https?://p\.dw\.com/p/\S+|permalink\b.*|share|teilen)$",
        re.I,
    ),
    "feedback": re.compile(r"^(?:send us your feedback|schicken sie uns ihr feedback)", re.I),
    "newsletter": re.compile(r"sign up for the newsletter|newsletter abonnieren", re.I),
    "signature": re.compile(r"^[a-z]{1,6}(?:/[a-z]{1,6})+\s*(?:\([^()]{1,80}\))?$"),
}


@dataclass
class Scores:
    """One extractor's scores on one page (None: the truth does not know that field)."""

    text_p: float | None = None
    text_r: float | None = None
    text_f1: float | None = None
    teaser_f1: float | None = None
    title: bool | None = None
    authors: bool | None = None
    published: bool | None = None
    topics: bool | None = None
    teaser_exact: bool | None = None
    snippets_passed: int = 0
    snippets_total: int = 0
    snippet_failures: list[str] = field(default_factory=list)
    clutter: list[str] = field(default_factory=list)
    ms: float = 0.0


@dataclass
class PageResult:
    """Ours and trafilatura's scores on one page."""

    name: str
    extractor: str | None
    ours: Scores
    trafilatura: Scores | None
    has_body: bool
    lxml_ms: float = 0.0


def tokens(text: str | None) -> Counter[str]:
    """Bag of lowercased word tokens."""
    return Counter(_TOKEN_RE.findall((text or "").lower()))


def prf(candidate: str | None, truth: str | None) -> tuple[float, float, float]:
    """Precision, recall, F1 of the candidate's word bag against the truth's."""
    cand, gold = tokens(candidate), tokens(truth)
    overlap = sum((cand & gold).values())
    p = overlap / sum(cand.values()) if cand else 0.0
    r = overlap / sum(gold.values()) if gold else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f1


def _norm(value: str | None) -> str:
    return " ".join((value or "").split())


def _instant(value: str) -> datetime | None:
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).replace(microsecond=0)


def same_date(ours: str | None, truth: str) -> bool:
    """Equal to the precision the truth has (see the module docstring)."""
    if not ours:
        return False
    if _DAY_RE.match(truth) or _MIDNIGHT_NAIVE_RE.match(truth):
        return ours[:10] == truth[:10]
    a, b = _instant(ours), _instant(truth)
    return a is not None and a == b


def clutter_lines(text: str | None) -> list[str]:
    """Lines of `text` that match a clutter pattern, as 'kind: line'."""
    found = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        for kind, pattern in CLUTTER_PATTERNS.items():
            if pattern.search(line):
                found.append(f"{kind}: {line[:80]}")
                break
    return found


def score(
    truth: dict[str, Any],
    *,
    title: str | None,
    teaser: str | None,
    text: str | None,
    authors: list[str],
    published: str | None,
    topics: list[str],
) -> Scores:
    """Scores of one extraction against one truth file."""
    s = Scores()
    if truth.get("body"):
        s.text_p, s.text_r, s.text_f1 = prf(text, truth["body"])
    if truth.get("teaser"):
        s.teaser_f1 = prf(teaser, truth["teaser"])[2]
        s.teaser_exact = _norm(teaser) == _norm(truth["teaser"])
    if truth.get("title"):
        s.title = _norm(title) == _norm(truth["title"])
    if isinstance(truth.get("authors"), list):
        s.authors = [_norm(a) for a in authors] == [_norm(a) for a in truth["authors"]]
    if truth.get("published"):
        s.published = same_date(published, truth["published"])
    if truth.get("topics"):
        s.topics = [_norm(t) for t in topics] == [_norm(t) for t in truth["topics"]]
    seen = "\n\n".join(x for x in (teaser, text) if x)
    for snippet in truth.get("body_must_contain") or []:
        s.snippets_total += 1
        if snippet in seen:
            s.snippets_passed += 1
        else:
            s.snippet_failures.append(f"missing: {snippet}")
    for snippet in truth.get("body_must_not_contain") or []:
        s.snippets_total += 1
        if snippet not in seen:
            s.snippets_passed += 1
        else:
            s.snippet_failures.append(f"present: {snippet}")
    start = truth.get("body_must_start_with")
    if start:
        s.snippets_total += 1
        if (text or "").startswith(start):
            s.snippets_passed += 1
        else:
            s.snippet_failures.append(f"does not start with: {start}")
    s.clutter = clutter_lines(text)
    return s


def _timed(fn: Any, repeat: int) -> tuple[Any, float]:
    """Result and the fastest of `repeat` runs, in CPU ms of this process: on a busy machine
    wall-clock time measures the other processes, not the extraction."""
    times, result = [], None
    for _ in range(max(1, repeat)):
        t0 = time.process_time()
        result = fn()
        times.append((time.process_time() - t0) * 1000)
    return result, min(times)


def _trafilatura(data: bytes, url: str, truth: dict[str, Any], repeat: int) -> Scores:
    import trafilatura

    doc, ms = _timed(lambda: trafilatura.bare_extraction(data, url=url, with_metadata=True), repeat)
    d = doc.as_dict() if doc is not None and hasattr(doc, "as_dict") else (doc or {})
    tags: list[str] = []
    for t in d.get("tags") or []:
        tags.extend(x.strip() for x in str(t).split(",") if x.strip())
    s = score(
        truth,
        title=d.get("title"),
        teaser=d.get("description"),
        text=d.get("text"),
        authors=[a.strip() for a in (d.get("author") or "").split(";") if a.strip()],
        published=d.get("date"),
        topics=tags,
    )
    s.ms = ms
    return s


def evaluate_dir(
    directory: str | Path, repeat: int = 3, with_trafilatura: bool = True
) -> list[PageResult]:
    """Score every page of DIR that has a truth file."""
    import lxml.html

    root = Path(directory)
    results = []
    warmed = False
    for truth_path in sorted((root / "truth").glob("*.json")):
        if truth_path.name.endswith(".orig.json"):
            continue
        page = root / "pages" / (truth_path.stem + ".html")
        if not page.exists():
            continue
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        data = page.read_bytes()
        url = truth.get("url") or ""
        if not warmed:  # first-call costs (imports, regex compilation) are not per-page costs
            parse_article(data, url)
            warmed = True
        _, lxml_ms = _timed(lambda data=data: lxml.html.document_fromstring(data), repeat)
        rec, ms = _timed(lambda data=data, url=url: parse_article(data, url), repeat)
        ours = score(
            truth,
            title=rec.get("title"),
            teaser=rec.get("teaser"),
            text=rec.get("text"),
            authors=rec.get("authors") or [],
            published=rec.get("published"),
            topics=rec.get("topics") or [],
        )
        ours.ms = ms
        traf = _trafilatura(data, url, truth, repeat) if with_trafilatura else None
        results.append(
            PageResult(
                name=truth_path.stem,
                extractor=rec.get("extractor"),
                ours=ours,
                trafilatura=traf,
                has_body=bool(truth.get("body")),
                lxml_ms=lxml_ms,
            )
        )
    return results


def _fmt_f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _fmt_b(value: bool | None) -> str:
    return "-" if value is None else ("ok" if value else "NO")


def _exact(results: list[Scores], name: str) -> str:
    known = [getattr(s, name) for s in results if getattr(s, name) is not None]
    return f"{sum(known)}/{len(known)}"


def summary(scores: list[Scores], has_body: list[bool]) -> dict[str, Any]:
    """Totals of one extractor over all pages."""
    f1s = [s.text_f1 for s, b in zip(scores, has_body, strict=True) if b and s.text_f1 is not None]
    teasers = [s.teaser_f1 for s in scores if s.teaser_f1 is not None]
    return {
        "pages": len(scores),
        "text_f1_mean": statistics.fmean(f1s) if f1s else None,
        "text_f1_min": min(f1s) if f1s else None,
        "text_pages": len(f1s),
        "teaser_f1_mean": statistics.fmean(teasers) if teasers else None,
        "title": _exact(scores, "title"),
        "authors": _exact(scores, "authors"),
        "published": _exact(scores, "published"),
        "topics": _exact(scores, "topics"),
        "teaser_exact": _exact(scores, "teaser_exact"),
        "snippets": f"{sum(s.snippets_passed for s in scores)}/"
        f"{sum(s.snippets_total for s in scores)}",
        "clutter_lines": sum(len(s.clutter) for s in scores),
        "median_ms": statistics.median([s.ms for s in scores]) if scores else None,
    }


def render(results: list[PageResult]) -> str:
    """The evaluation table (per page, then totals), ours beside trafilatura's."""
    head = (
        f"{'page':<20} {'who':<5} {'layout':<8} {'P':>6} {'R':>6} {'F1':>6} {'teaser':>6} "
        f"{'title':>5} {'auth':>4} {'date':>4} {'topic':>5} {'snip':>5} {'clut':>4} {'ms':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        rows = [("ours", r.ours, r.extractor or "none")]
        if r.trafilatura is not None:
            rows.append(("traf", r.trafilatura, ""))
        for who, s, layout in rows:
            lines.append(
                f"{r.name if who == 'ours' else '':<20} {who:<5} {layout:<8} "
                f"{_fmt_f(s.text_p):>6} {_fmt_f(s.text_r):>6} {_fmt_f(s.text_f1):>6} "
                f"{_fmt_f(s.teaser_f1):>6} {_fmt_b(s.title):>5} {_fmt_b(s.authors):>4} "
                f"{_fmt_b(s.published):>4} {_fmt_b(s.topics):>5} "
                f"{s.snippets_passed}/{s.snippets_total:<3} {len(s.clutter):>4} {s.ms:>7.2f}"
            )
            for note in s.snippet_failures + s.clutter:
                lines.append(f"{'':<27}! {note}")
    lines.append("")
    has_body = [r.has_body for r in results]
    totals = [("ours", summary([r.ours for r in results], has_body))]
    if all(r.trafilatura is not None for r in results) and results:
        totals.append(
            ("trafilatura", summary([r.trafilatura for r in results], has_body))  # type: ignore[misc]
        )
    ratios = [r.ours.ms / r.lxml_ms for r in results if r.lxml_ms]
    if ratios:
        line = (
            f"TIME ours: median {statistics.median(r.ours.ms for r in results):.2f} ms/page = "
            f"{statistics.median(ratios):.2f}x a bare lxml.html parse of the page (median "
            f"{statistics.median(r.lxml_ms for r in results):.2f} ms)"
        )
        vs_traf = [r.ours.ms / r.trafilatura.ms for r in results if r.trafilatura]
        if vs_traf:
            line += f"; {statistics.median(vs_traf):.3f}x trafilatura's time"
        lines.append(line)
    for who, t in totals:
        lines.append(
            f"TOTAL {who}: text F1 mean {_fmt_f(t['text_f1_mean'])} min {_fmt_f(t['text_f1_min'])}"
            f" ({t['text_pages']} pages with full body); teaser F1 mean "
            f"{_fmt_f(t['teaser_f1_mean'])} exact {t['teaser_exact']}; title {t['title']}; "
            f"authors {t['authors']}; published {t['published']}; topics {t['topics']}; "
            f"snippets {t['snippets']}; clutter lines {t['clutter_lines']}; "
            f"median {t['median_ms']:.2f} ms/page"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the evaluation of DIR; exit 2 when DIR has no pages with truth."""
    parser = argparse.ArgumentParser(prog="python -m dwscraper.evaluate")
    parser.add_argument("directory", metavar="DIR")
    parser.add_argument("--repeat", type=int, default=5, help="timing runs per page (median)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--no-trafilatura", action="store_true")
    args = parser.parse_args(argv)
    results = evaluate_dir(args.directory, args.repeat, not args.no_trafilatura)
    if not results:
        print(f"dwscraper.evaluate: no pages with truth in {args.directory}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([asdict(r) for r in results], ensure_ascii=False, indent=1))
    else:
        print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
