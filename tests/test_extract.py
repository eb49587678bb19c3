"""python -m dwscraper.extract: one JSON line per file, canonical URL, exit 2 on bad files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dwscraper.extract import main
from dwscraper.record import FIELDS, content_hash

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "tests" / "fixtures" / "pages"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dwscraper.extract", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_one_record_per_file_with_url_from_canonical():
    files = [PAGES / "new_en_article.html", PAGES / "old_de_article.html"]
    out = run(*map(str, files))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 2
    records = [json.loads(line) for line in lines]
    assert [list(r) for r in records] == [list(FIELDS)] * 2
    assert (
        records[0]["url"]
        == "https://www.dw.com/en/harbor-town-tests-floating-solar-farm/a-70000001"
    )
    assert records[1]["id"] == "a-59900001"
    assert all(not k.startswith("_") for r in records for k in r)
    # The hash a crawl's pipelines would set (the parser leaves it to them).
    assert all(r["content_hash"] == content_hash(r) for r in records)


def test_url_option_overrides_canonical():
    out = run(
        str(PAGES / "new_en_article.html"), "--url", "https://www.dw.com/en/other/a-123?maca=x"
    )
    record = json.loads(out.stdout)
    assert record["id"] == "a-123"
    assert record["url"] == "https://www.dw.com/en/other/a-123"


def test_unreadable_file_exits_2_with_one_line(tmp_path):
    missing = tmp_path / "nope.html"
    out = run(str(PAGES / "old_fr_labels.html"), str(missing), str(tmp_path))
    assert out.returncode == 2
    errors = out.stderr.strip().splitlines()
    assert len(errors) == 2
    assert str(missing) in errors[0] and errors[0].startswith("dwscraper.extract: ")
    # The readable file is still extracted.
    assert json.loads(out.stdout)["language"] == "fr"


def test_main_in_process(capsys):
    assert main([str(PAGES / "new_zh_cjk.html")]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["language"] == "zh"
    assert "柏林" in out  # UTF-8 out, not \\u escapes
