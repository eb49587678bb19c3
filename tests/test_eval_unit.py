"""The evaluation's own rules (scores, date precision, clutter), on tiny inputs."""

from __future__ import annotations

import json

import pytest

from dwscraper.evaluate import clutter_lines, evaluate_dir, main, prf, same_date, score


def test_bag_of_words_prf():
    assert prf("a b c", "a b c") == (1.0, 1.0, 1.0)
    p, r, f1 = prf("A b x", "a b c d")
    assert (p, r) == (2 / 3, 2 / 4)
    assert f1 == pytest.approx(2 * p * r / (p + r))
    assert prf(None, "a") == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("ours", "truth", "ok"),
    [
        ("2023-04-28", "2023-04-28T00:00:00", True),  # fundus' midnight-naive day
        ("2023-04-28", "2023-04-28", True),
        ("2023-04-27", "2023-04-28", False),
        ("2024-01-30T14:13:12Z", "2024-01-30T14:13:12.269000+00:00", True),
        ("2024-01-30T14:13:12Z", "2024-01-30T15:13:12.269+01:00", True),
        ("2024-01-30", "2024-01-30T14:13:12.269Z", False),  # a day is not the known instant
        (None, "2024-01-30", False),
    ],
)
def test_dates_compare_to_the_truths_precision(ours, truth, ok):
    assert same_date(ours, truth) is ok


def test_clutter_lines():
    text = "Prose.\n\nSkip to content\n\nImage: picture-alliance/dpa\n\nRead more: Other"
    text += "\n\nrc/msh (AFP)"
    kinds = [c.split(":")[0] for c in clutter_lines(text)]
    assert kinds == ["skip link", "credit", "read more", "signature"]
    assert clutter_lines("A normal paragraph about skipping work.") == []


def test_snippets_look_at_teaser_and_text():
    truth = {
        "body_must_contain": ["intro words", "body words"],
        "body_must_not_contain": ["Read more"],
        "body_must_start_with": "body words",
    }
    s = score(
        truth,
        title=None,
        teaser="intro words",
        text="body words here",
        authors=[],
        published=None,
        topics=[],
    )
    assert (s.snippets_passed, s.snippets_total) == (4, 4)
    bad = score(truth, title=None, teaser=None, text="Read more x", authors=[], published=None,
                topics=[])  # fmt: skip
    assert bad.snippets_passed == 0 and len(bad.snippet_failures) == 4


def test_evaluate_dir_and_command(tmp_path, capsys):
    (tmp_path / "pages").mkdir()
    (tmp_path / "truth").mkdir()
    page = (
        "<html lang='en'><body><article><header><h1>Title here</h1></header>"
        "<div class='rich-text'><p>Body words of the story.</p></div></article></body></html>"
    )
    (tmp_path / "pages" / "x.html").write_text(page, encoding="utf-8")
    truth = {"url": "https://www.dw.com/en/x/a-1", "title": "Title here", "authors": [],
             "body": "Body words of the story."}  # fmt: skip
    (tmp_path / "truth" / "x.json").write_text(json.dumps(truth), encoding="utf-8")
    (tmp_path / "truth" / "x.orig.json").write_text("{}", encoding="utf-8")
    [result] = evaluate_dir(tmp_path, repeat=1, with_trafilatura=False)
    assert result.ours.text_f1 == 1.0 and result.ours.title and result.ours.authors
    assert main([str(tmp_path), "--repeat", "1", "--no-trafilatura"]) == 0
    assert "TOTAL ours: text F1 mean 1.000" in capsys.readouterr().out
    assert main([str(tmp_path / "nothing"), "--no-trafilatura"]) == 2
