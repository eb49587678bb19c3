"""The signature line DW ends agency-based items with: editors' initials and agencies.

"rc/msh (AFP, AP, Reuters)", "ab/sti (dpa, rtr)", "cwo/fab (dpa, afp)", "(dpa, epd)", and
the "Edited by: Name" / "Redaktion: Name" credit lines. They are not prose: they leave `text`
and become `editors` / `agencies`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Initials: lowercase-ish letter groups joined by "/" ("rc/msh", "dj/jj", "ai/kle"), or one
# editor's alone ("ab (dpa)"; accepted only with an agency list, see parse_signature).
# Python's \w leaves out the vowel signs and viramas of Indic scripts ("एसबी", "এসিবি") and
# Arabic-script vowel marks and the zero-width (non-)joiners of Persian: letters all the same.
_MARKS = "\u064b-\u065f\u0670\u0900-\u0dff\u200c\u200d"
_INITIALS = rf"(?P<ini>[\w.{_MARKS}]{{1,8}}(?:\s*/\s*[\w.{_MARKS}]{{0,8}}){{0,4}})"
# One editor's initials: letters (and dots, "s.h"), lowercase when written in Latin script.
_INITIAL_RE = re.compile(rf"^[^\W\d_](?:[^\W\d_]|[.{_MARKS}]){{0,7}}$")
_AGENCIES = r"[(（](?P<ag>[^()（）\n]{1,120})[)）]"  # ASCII or full-width (CJK) brackets
_SIGNATURE_RE = re.compile(rf"^(?:{_INITIALS}\s*)?(?:{_AGENCIES})?\s*\.?$")
_AGENCY_TOKEN_RE = re.compile(rf"^[\w.&\- {_MARKS}]{{1,30}}$")
# DW Türkçe writes the agencies first: "AFP,dpa/BÖ,ET" (all of them agencies DW credits).
_AGENCIES_FIRST_RE = re.compile(
    r"^(?P<ag>[\w.&\- ]{1,30}(?:\s*,\s*[\w.&\- ]{1,30}){0,5})\s*/\s*"
    r"(?P<ini>[\w.]{1,8}(?:\s*[,/]\s*[\w.]{1,8}){0,4})\s*\.?$"
)
_SPLIT_RE = re.compile(r"\s*[,;،、/]\s*(?:(?:and|und|et|y|e|и)\s+)?|\s+(?:and|und|et|y|e|и)\s+")
# "Edited by: X", "Redaktion: X", "Editing by X" (a credit line, not prose).
_EDITED_BY_LABELS = (
    r"edited\s+by|editing\s+by|redaktion|redigiert\s+von|editor|édité\s+par|edición|"
    r"edição|редактор|редакция"
)
_EDITED_BY_RE = re.compile(rf"^(?:{_EDITED_BY_LABELS})(?:\s*:\s*|\s+)(?P<names>.{{2,120}})$", re.I)
# Where an editors' credit starts inside a line that holds another credit first ("Autorin:
# Diana Muster Redaktion: Kai Beispiel", two lines a <br> joined).
_EDITED_BY_INSIDE_RE = re.compile(rf"\s(?:{_EDITED_BY_LABELS})\s*[:：]", re.I)
# The same credit in DW's other editions ("Edition : M-A. Name" closes a French item, "责编：X"
# a Chinese one). These labels are ordinary words too, so only "label: names" counts here.
_EDITED_BY_LOCAL_RE = re.compile(
    r"^(?:[ée]dition|r[ée]daction|relecture|editado\s+por|redacci[óo]n|edi[cç][ãa]o|"
    r"reda[cç][ãa]o|revis[ãa]o|redakteur(?:in)?|redakcja|redaktor(?:ka)?|redactor|redactare|"
    r"redaktoi|redaktimi|urednik|urednica|urednik/ca|edit[öo]r|d[üu]zenleme|penyunting|"
    r"mhariri|edita|редактори?|редакція|редагування|уредник|уредничка|επιμέλεια|تحرير|"
    r"مراجعة|ویراستار|ویرایش|تحریریه|ادارت|संपादन|संपादक|সম্পাদনা|责编|責編|አርታኢ)"
    r"\s*[:：]\s*(?P<names>.{2,120})$",
    re.I,
)
# A sentence's end in every script DW writes: a credit line ends in none.
_SENTENCE_END_RE = re.compile(r"[.!?…。？！؟۔।]\s*$")
# Agencies DW credits; a lone initial ("ab (dpa)") must name one of them, or "mehr (siehe
# oben)" would pass for a signature.
_KNOWN_AGENCIES = frozenset(
    {
        "dpa", "afp", "ap", "reuters", "rtr", "kna", "epd", "efe", "ansa", "lusa", "sid", "ips",
        "apa", "tass", "itar-tass", "ria", "xinhua", "yonhap", "kyodo", "anadolu", "aa", "irna",
        "isna", "upi", "cna", "pti", "ani", "interfax", "тасс", "риа", "интерфакс", "укринформ",
    }
)  # fmt: skip
# Agencies written as a word ("Reuters"); the rest are acronyms, written all upper or all lower
# case ("AFP", "dpa"): a byline's "Isna" or "Ani" is more likely a place or a name.
_WORD_AGENCIES = frozenset({"reuters", "xinhua", "yonhap", "kyodo", "anadolu", "lusa", "interfax"})


def split_editors_credit(line: str) -> tuple[str, Signature | None]:
    """(what comes before an editors' credit inside the line, what that credit says)."""
    m = _EDITED_BY_INSIDE_RE.search(line)
    if m is None:
        return line, None
    return line[: m.start()], parse_signature(line[m.start() :].strip())


def is_agency(name: str) -> bool:
    """A news agency DW credits, spelled as agencies are ("dpa", "AFP", "Reuters"; not the
    name "Ani"): a source, never an author."""
    return _agency_spelling(name.strip())


# Short capitals that open a heading or dateline line ("USA (dpa, AFP)"), not an editor's.
_NOT_INITIALS = frozenset(
    """usa us uk eu un uno nato who imf iwf ecb ezb opec g7 g20 cdu csu spd fdp afd bsw
    nrw ard zdf bbc cnn fbi cia dw brd ddr""".split()  # noqa: SIM905
)


def _lone_initials(value: str) -> bool:
    """One editor's initials in capitals ("CP", "DZC"): two or three letters, not a country
    or an organisation ("USA", "EU"); "Berlin" and "Ukraine" are words."""
    value = value.strip()
    return value.isupper() and 2 <= len(value) <= 3 and value.lower() not in _NOT_INITIALS


@dataclass
class Signature:
    """What a signature / credit line said."""

    editors: list[str] = field(default_factory=list)
    agencies: list[str] = field(default_factory=list)


def _looks_like_name(name: str) -> bool:
    """Credit labels are everyday words too, so what follows one must look like people: a
    name starts with a letter, a capital where the script has case ("Édition : la crise
    continue" is a sentence), holds no digit ("Revisão: 15/03/2024") and is short (in a
    script without spaces a name is a few characters, a headline is not)."""
    if not name[0].isalpha() or name[0].islower() or any(ch.isdigit() for ch in name):
        return False
    return len(name) <= 40 and (" " in name or len(name) <= 8)


def _tokens(value: str) -> list[str]:
    return [t.strip() for t in _SPLIT_RE.split(value) if t and t.strip()]


def parse_signature(line: str | None) -> Signature | None:
    """Editors and agencies when `line` is a signature or credit line, else None."""
    if not line:
        return None
    if len(line) - line.count(" ") > 160 and line.isprintable():
        # Too long whatever its spacing (only " " can fold): a paragraph, not a credit. Every
        # body's last block is tried, and splitting a paragraph into words costs.
        return None
    line = " ".join(line.split())
    if not line or len(line) > 160:
        return None
    if _may_be_initials(line):
        decided, sig = _initials_signature(line)
        if decided:
            return sig
    return _edited_by(line)


def _may_be_initials(line: str) -> bool:
    """Whether the two initials patterns can match this single-spaced line: both need a "/"
    or an agency bracket, or are one word (and a dot). Most lines tried (every body's last
    ones) are sentences, spared two backtracking regexes."""
    return "/" in line or "(" in line or "（" in line or line.count(" ") < 2


def _initials_signature(line: str) -> tuple[bool, Signature | None]:
    """(whether the line is read as initials and agencies, what it says then)."""
    # Agencies first (DW Türkçe: "AFP,dpa/BÖ,ET", "dpa/ÇE"): tried before initials first.
    m = _AGENCIES_FIRST_RE.match(line)
    if m:
        agencies = _tokens(m.group("ag"))
        editors = [e for e in re.split(r"\s*[,/]\s*", m.group("ini")) if e]
        if (
            agencies
            and all(a.lower() in _KNOWN_AGENCIES for a in agencies)
            and editors
            # Initials, not words or agencies: "AFP,dpa/Berlin", "AFP, Reuters/dpa" are not.
            and all(
                len(e) <= 4
                and _INITIAL_RE.match(e)
                and (e.isupper() or e.islower())
                and e.lower() not in _KNOWN_AGENCIES
                and e.lower() not in _NOT_INITIALS
                for e in editors
            )
        ):
            return True, Signature(editors=editors, agencies=agencies)
    m = _SIGNATURE_RE.match(line)
    if m:
        initials = m.group("ini") or ""
        agencies_raw = m.group("ag") or ""
        editors = [t for t in re.split(r"\s*/\s*", initials) if t]
        agencies = _tokens(agencies_raw) if agencies_raw else []
        if editors and not agencies and all(is_agency(e) for e in editors):
            return True, Signature(agencies=editors)  # "dpa/afp": agencies only
        n_known = sum(a.lower() in _KNOWN_AGENCIES for a in agencies)
        known = n_known > 0
        upper_ok = known and ("/" in initials or (n_known >= 2 and _lone_initials(initials)))
        # Initials are short letter groups, lowercase in Latin script unless known agencies
        # follow ("EL/ers (EFE, AFP)", or one editor's "CP (EFE, AFP)": two agencies, since
        # "USA (dpa)" is a heading); "2022/2023" and "Ja/Nein" are not initials.
        if editors and not all(
            _INITIAL_RE.match(e) and (e.islower() or not e.isascii() or upper_ok) for e in editors
        ):
            return True, None
        if agencies_raw and not all(_AGENCY_TOKEN_RE.match(a) for a in agencies):
            return True, None
        if agencies and any(len(a.split()) > 3 for a in agencies):
            return True, None
        if not editors and not agencies:
            return True, None
        # A lone lowercase word is a signature only when known agencies follow ("ab (dpa)").
        if "/" not in initials and editors and not known:
            return True, None
        return True, Signature(editors=editors, agencies=agencies)
    return False, None


def _edited_by(line: str) -> Signature | None:
    m = _EDITED_BY_RE.match(line) or _EDITED_BY_LOCAL_RE.match(line)
    if m and not _SENTENCE_END_RE.search(m.group("names")):
        names = [n for n in _tokens(m.group("names")) if n]
        if not all(_looks_like_name(n) for n in names):
            return None
        if names and all(len(n.split()) <= 4 for n in names):
            return Signature(editors=names)
    return None


# "with AFP, dpa" after a byline's name ("mit dpa", "avec AFP", "con EFE", "com Lusa", "с ТАСС"),
# also after a place ("Houston, with AP"): the credit is what follows the last such word.
_BYLINE_WITH_RE = re.compile(
    r"(?:^|[\s,(（])(?:with|mit|avec|con|com|met|с)\s+(?P<ag>[^()（）]+)$", re.I
)
_BYLINE_EDGES = " ()（）.,;"


def byline_agencies(value: str | None) -> list[str]:
    """The agencies a byline credits beside its author ("Richard Connor with AFP, dpa",
    "Jeanette Seiffert (mit dpa, afp)", "Houston, with AP"), else [].

    Every name must be an agency DW credits: the same slot holds a place ("Houston") too.
    """
    text = " ".join((value or "").split()).strip(_BYLINE_EDGES)
    m = _BYLINE_WITH_RE.search(text)
    agencies = _tokens((m.group("ag") if m else text).strip(_BYLINE_EDGES))
    if agencies and all(_agency_spelling(a) for a in agencies):
        return agencies
    return []


def _agency_spelling(token: str) -> bool:
    low = token.lower()
    if low not in _KNOWN_AGENCIES:
        return False
    return token.isupper() or token.islower() or (low in _WORD_AGENCIES and token.istitle())


def merge_agencies(first: list[str], more: list[str]) -> list[str]:
    """first, then those of more not named yet (in any letter case)."""
    merged = list(first)
    seen = {a.lower() for a in first}
    for agency in more:
        if agency.lower() not in seen:
            seen.add(agency.lower())
            merged.append(agency)
    return merged


# Short notes may close an item after its credit lines ("This article was originally
# published in German.", "Dieser Artikel wurde aus dem Englischen adaptiert."): looked past.
_NOTE_MAX = 200


def split_signature(blocks: list[str]) -> tuple[list[str], Signature]:
    """Blocks without their trailing signature/credit lines, and what those lines said.

    The signature and an "Edited by" line may both close an item, in either order, and up to
    two short last lines (a translation note) may follow them: those stay, they leave the text.
    """
    found = Signature()
    out = list(blocks)
    last = len(out) - 1
    for i in range(last, max(-1, last - 5), -1):
        sig = parse_signature(out[i])
        if sig is None:
            if i >= last - 1 and len(out[i]) <= _NOTE_MAX:
                continue  # perhaps a note after the credit lines: look at the line above
            break
        del out[i]
        found.editors = sig.editors + [e for e in found.editors if e not in sig.editors]
        found.agencies = sig.agencies + [a for a in found.agencies if a not in sig.agencies]
    return out, found
