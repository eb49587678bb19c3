"""Days as pages show them, in each edition's own words and digits.

Owns reading a visible day ("28.04.2023", "۲۸.۰۴.۲۰۲۳", "30. Januar 2024", "June 14, 2026",
"18 de septiembre de 2015", "2024年4月2日") into "YYYY-MM-DD". Used where a page has no
machine-readable date (old layout smallList, new layout header fallback); a day is never
turned into an invented midnight.
"""

from __future__ import annotations

import re
from datetime import date

# Arabic-Indic, Persian, Devanagari and Bengali digits -> ASCII.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹०१२३४५६७८९০১২৩৪৫৬৭৮৯", "0123456789" * 4)
_NUMERIC_RE = re.compile(r"\b(\d{1,2})([./-])(\d{1,2})\2(\d{4})\b")
_CJK_RE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_DAY_MONTH_YEAR_RE = re.compile(
    r"\b(\d{1,2})\.?\s+(?:de\s+)?([^\W\d_]{3,})\.?,?\s+(?:de\s+)?(\d{4})"
)
_MONTH_DAY_YEAR_RE = re.compile(r"\b([^\W\d_]{3,})\.?\s+(\d{1,2}),?\s+(\d{4})")

_MONTH_NAMES = {
    1: "january jan januar jänner janvier enero janeiro gennaio styczeń stycznia января январь "
    "січня січень ocak januari siječnja januara јануари януари ιανουαρίου",
    2: "february feb februar février fevrier febrero fevereiro febbraio luty lutego февраля "
    "февраль лютого лютий şubat februari veljače februara фебруари февруари φεβρουαρίου",
    3: "march mar märz maerz mars marzo março marzec marca марта март березня березень mart "
    "maret ožujka marta март μαρτίου",
    4: "april apr avril abril aprile kwiecień kwietnia апреля апрель квітня квітень nisan "
    "travnja aprila април απριλίου",
    5: "may mai mayo maio maggio maj maja мая май травня травень mayıs mei svibnja мај μαΐου",
    6: "june jun juni juin junio junho giugno czerwiec czerwca июня июнь червня червень "
    "haziran lipnja juna јуни юни ιουνίου",
    7: "july jul juli juillet julio julho luglio lipiec lipca июля июль липня липень temmuz "
    "srpnja jula јули юли ιουλίου",
    8: "august aug août aout agosto sierpień sierpnia августа август серпня серпень ağustos "
    "agustus kolovoza avgusta август αυγούστου",
    9: "september sep sept septembre septiembre setiembre setembro settembre wrzesień "
    "września сентября сентябрь вересня вересень eylül rujna septembra септември "
    "σεπτεμβρίου",
    10: "october oct oktober octobre octubre outubro ottobre październik października октября "
    "октябрь жовтня жовтень ekim listopada listopad oktobra октомври октомври οκτωβρίου",
    11: "november nov novembre noviembre novembro listopad listopada ноября ноябрь "
    "листопада листопад kasım studenoga novembra ноември νοεμβρίου",
    12: "december dec dezember décembre decembre diciembre dezembro dicembre grudzień grudnia "
    "декабря декабрь грудня грудень aralık desember prosinca decembra декември δεκεμβρίου",
}
# "listopad" is November in Polish/Czech and October in Croatian: Polish wins (an edition).
MONTHS: dict[str, int] = {}
for _number, _names in sorted(_MONTH_NAMES.items()):
    for _name in _names.split():
        MONTHS[_name] = _number


def _iso(y: int, m: int, d: int) -> str | None:
    try:
        return date(y, m, d).isoformat()
    except ValueError:
        return None


def day_from(value: str | None, month_first: bool = False) -> str | None:
    """'YYYY-MM-DD' of the first day written in `value`, or None.

    Numeric days are day-first (dd.mm.yyyy, as DW writes them) unless `month_first` (the
    English edition's "06/14/2026") or the first number cannot be a month.
    """
    if not value:
        return None
    text = value.translate(_DIGITS)
    m = _NUMERIC_RE.search(text)
    if m:
        a, sep, b, y = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
        if (month_first and sep == "/" and a <= 12) or (a <= 12 < b):
            a, b = b, a
        return _iso(y, b, a)
    m = _CJK_RE.search(text)
    if m:
        return _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    low = text.lower()
    m = _DAY_MONTH_YEAR_RE.search(low)
    if m and m.group(2) in MONTHS:
        return _iso(int(m.group(3)), MONTHS[m.group(2)], int(m.group(1)))
    m = _MONTH_DAY_YEAR_RE.search(low)
    if m and m.group(1) in MONTHS:
        return _iso(int(m.group(3)), MONTHS[m.group(1)], int(m.group(2)))
    return None
