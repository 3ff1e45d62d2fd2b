"""The PII guard: free text people type (rationale, feedback, highlights) is checked before it is stored or
posted, and refused with a field error naming what to remove (DESIGN: Data protection). Pure: no I/O.

`find_pii(text, names)` finds UK dates of birth, postcodes, NHS numbers, National Insurance numbers, phone
numbers, and the names it is given (the family's names from the case list). The words shown to people are in
`messages/templates/pii_refused.json.j2`.

Where to draw the line: a miss puts a child's details into Slack, where they are disclosable and hard to
erase, while a false alarm costs one rephrase ("the child", "mother"). So the guard leans towards flagging,
but only on evidence of a real identifier: check digits for NHS numbers, the official letter rules for NI
numbers and postcodes, real UK number ranges for phones, and a birth word next to a date — a bare date is
far more often a meeting or a review than a birthday, so it passes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

KINDS = ("birth_date", "postcode", "nhs_number", "ni_number", "phone", "name")


@dataclass(frozen=True)
class Finding:
    kind: str  # one of KINDS
    text: str  # as written in the text


# A separator people put inside numbers: space, no-break space, hyphen or a typographic dash.
_SEP = r"[ \u00a0\-\u2010-\u2015]"

# Full UK postcodes (the Royal Mail / gov.uk data-standards pattern), with or without the space, any case.
# The outward code alone ("RH12") is a district of thousands of homes and is not flagged.
_POSTCODE = re.compile(
    r"(?<![A-Za-z0-9])(?:GIR ?0AA|"
    r"(?:[A-PR-UWYZ][0-9]{1,2}|[A-PR-UWYZ][A-HK-Y][0-9]{1,2}|[A-PR-UWYZ][0-9][A-HJKPSTUW]"
    r"|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])"
    r"[ \u00a0]{0,2}[0-9][ABD-HJLNP-UW-Z]{2})(?![A-Za-z0-9])",
    re.IGNORECASE,
)

# NHS numbers: 10 digits, as 3-3-4 with spaces or dashes or run together; kept only if the mod-11 check digit
# is right, so roughly nine in ten random 10-digit numbers (case-system ids, reference numbers) pass.
_NHS = re.compile(rf"(?<![\d\w])(\d{{3}}){_SEP}?(\d{{3}}){_SEP}?(\d{{4}})(?![\d\w])")

# National Insurance numbers: two letters (HMRC: the first not D, F, I, Q, U or V; the second not D, F, I, O,
# Q, U or V; never BG, GB, KN, NK, NT, TN or ZZ), six digits, a suffix A-D. Spaces allowed. Without the
# suffix it is not flagged on its own: "AB123456" is as likely a case-system or payroll reference.
_NI = re.compile(
    r"(?<![A-Za-z0-9])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    rf"{_SEP}?\d{{2}}{_SEP}?\d{{2}}{_SEP}?\d{{2}}{_SEP}?[A-D](?![A-Za-z0-9])",
    re.IGNORECASE,
)

# Without its suffix, the same number is flagged only just after a word that says what it is ("NI number
# AB123456", "NINO: ab 12 34 56"): people often leave the letter off.
_NI_BARE = re.compile(
    r"(?<![A-Za-z0-9])(?:N\.?\s?I\.?(?:\s*(?:number|no\.?))?|NINO|national\s+insurance(?:\s*(?:number|no\.?))?)"
    r"[\s:.\-]{0,3}"
    r"(?P<number>(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    rf"{_SEP}?\d{{2}}{_SEP}?\d{{2}}{_SEP}?\d{{2}})(?![A-Za-z0-9])",
    re.IGNORECASE,
)

# UK phone numbers: mobiles (07…), geographic (01…, 02…) and 03 numbers, 10 or 11 digits with the trunk 0,
# or the same after +44 / 0044 (with an optional "(0)"); spaces, dashes and brackets anywhere. 08 and 09
# numbers (helplines, premium rate) are services, not people, and are not flagged.
_PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)44[ \u00a0\-]*(?:\(0\)[ \u00a0\-]*)?|\(?0)"
    r"[1237](?:[ \u00a0\-\u2010-\u2015()]*\d){8,9}(?![\d\w])"
)

# Dates. A date of birth is a date near a birth word; the date itself is what is reported.
_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH = (
    r"(?P<month_name>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_ORD = r"(?:st|nd|rd|th)?"
# Where a numeric date may start: not inside a longer number or date, but straight after a word and its stop or
# dash ("D.O.B.12.03.15", "dob-12/03/2015", "d.o.b.-12/3/15").
_DATE_START = r"(?:(?<![\d/.\-])|(?<=[A-Za-z.:][/.\-]))"
_DATES = [
    # 12/03/2015, 12.03.2015, 12-03-2015, 12/3/15, and 12 03 2015
    re.compile(rf"{_DATE_START}(?P<d>\d{{1,2}})([/.\-])(?P<m>\d{{1,2}})\2(?P<y>\d{{4}}|\d{{2}})(?![\d/\-]|\.\d)"),
    re.compile(rf"{_DATE_START}(?P<d>\d{{1,2}}) (?P<m>\d{{1,2}}) (?P<y>\d{{4}})(?![\d/\-]|\.\d)"),
    # 2015-03-12, 2015/03/12
    re.compile(rf"{_DATE_START}(?P<y>\d{{4}})([/\-])(?P<m>\d{{1,2}})\2(?P<d>\d{{1,2}})(?![\d/\-])"),
    # 12 March 2015, 12th of March 2015, 12-Mar-2015, and (near a birth word) 12 March
    re.compile(
        rf"(?<![\d_])(?P<d>\d{{1,2}}){_ORD}(?:[ \-]+of)?[ \-]+{_MONTH}(?:,?[ \-]+(?P<y>\d{{4}}))?(?![\w])",
        re.IGNORECASE,
    ),
    # March 12 2015, March 12th, 2015, and (near a birth word) March 12th
    re.compile(rf"(?<![\w]){_MONTH}[ ]+(?P<d>\d{{1,2}}){_ORD}(?:,?[ ]+(?P<y>\d{{4}}))?(?![\w])", re.IGNORECASE),
]
# Words that make a nearby date a birth date: the date must follow within a few words in the same sentence
# ("born on", "DOB:", "date of birth recorded as") or come just before ("12/03/2015 (DOB)"). So "her birthday
# was discussed at the meeting on 12/01/2027" passes, while "born prematurely on 12/03/2015" is caught.
_BIRTH_WORD = re.compile(
    r"(?<![\w])(?:born|birth[\s\-]*days?|birth[\s\-]*dates?|dates?[\s\-]+of[\s\-]+birth|d\.?\s?o\.?\s?b\.?(?:['\u2019]?s)?)"
    r"(?![^\W\d_])",  # a letter may not follow, a digit may: "DOB12/03/2015"
    re.IGNORECASE,
)
_BEFORE = (40, 4)  # a birth word at most 40 characters and 4 words before the date
_AFTER = (25, 3)  # or at most 25 characters and 3 words after it
_SENTENCE_BREAK = re.compile(r"[!?;\n]|\.\s")
# "aged" only right next to a date, as in "aged 8 (12/03/2015)" or "12/03/2015 (aged 8)": "the child, aged 8,
# was seen on 12/01/2027" is a visit, not a birthday.
_AGED = re.compile(r"(?<![\w])aged\s+\d{1,2}(?:\s*(?:years?|yrs?|months?))?(?:\s+old)?(?![\w])", re.IGNORECASE)
_AGED_NEXT = re.compile(r"[\s,(:)\-\u2013]{0,5}")
# More dates in a list after a date of birth ("DOB 12/03/2015, 04/05/2017 and 9/9/2019") are siblings' ones.
_LIST_NEXT = re.compile(r"[\s,]*(?:(?:and|&)\s*)?")


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    kind: str


def find_pii(text: str, names: Iterable[str] = ()) -> list[Finding]:
    """Personal details in `text`, in the order they appear, each (kind, text as written) once."""
    spans = [
        *_spans(_POSTCODE, text, "postcode"),
        *_nhs_numbers(text),
        *_spans(_NI, text, "ni_number"),
        *(_Span(m.start("number"), m.end("number"), "ni_number") for m in _NI_BARE.finditer(text)),
        *_spans(_PHONE, text, "phone"),
        *_dates_of_birth(text),
        *_names(text, names),
    ]
    # Where two findings overlap (a full name and its surname, say), the longer one is reported.
    spans.sort(key=lambda s: (s.start, -(s.end - s.start), KINDS.index(s.kind)))
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    end = -1
    for span in spans:
        if span.start < end:
            continue
        end = span.end
        found = text[span.start : span.end]
        key = (span.kind, " ".join(found.casefold().split()))
        if key not in seen:
            seen.add(key)
            findings.append(Finding(span.kind, found))
    return findings


def _spans(pattern: re.Pattern[str], text: str, kind: str) -> Iterator[_Span]:
    for m in pattern.finditer(text):
        yield _Span(m.start(), m.end(), kind)


def _nhs_numbers(text: str) -> Iterator[_Span]:
    for m in _NHS.finditer(text):
        if nhs_number_valid("".join(m.groups())):
            yield _Span(m.start(), m.end(), "nhs_number")


def nhs_number_valid(digits: str) -> bool:
    """The NHS number's modulus 11 check: weights 10..2 on the first nine digits, 11 - remainder is the tenth
    (11 counts as 0; 10 means no valid number). A number of one repeated digit is never issued."""
    if len(digits) != 10 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    check = 11 - sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
    return (0 if check == 11 else check) == int(digits[9])


def _dates_of_birth(text: str) -> Iterator[_Span]:
    words = [(m.start(), m.end()) for m in _BIRTH_WORD.finditer(text)]
    ages = [(m.start(), m.end()) for m in _AGED.finditer(text)]
    if not words and not ages:
        return
    dates = sorted(
        ((m.start(), m.end()) for pattern in _DATES for m in pattern.finditer(text) if _is_date(m)),
        key=lambda d: (d[0], -d[1]),
    )
    taken = -1  # where the last date read ended
    listed = -1  # where the last date of birth ended, if it was the last date read
    for start, end in dates:
        if start < taken:
            continue  # a shorter reading of a date already read ("12 March" inside "12 March 2015")
        birth = (
            any(_close(text, w_end, start, *_BEFORE) or _close(text, end, w_start, *_AFTER) for w_start, w_end in words)
            or any(
                _AGED_NEXT.fullmatch(text, a_end, start) or _AGED_NEXT.fullmatch(text, end, a_start)
                for a_start, a_end in ages
            )
            or (listed >= 0 and _LIST_NEXT.fullmatch(text, listed, start) is not None)
        )
        taken, listed = end, end if birth else -1
        if birth:
            yield _Span(start, end, "birth_date")


def _close(text: str, start: int, end: int, chars: int, words: int) -> bool:
    """Whether text[start:end] is a short gap within one sentence."""
    if not 0 <= end - start <= chars or _SENTENCE_BREAK.search(text, start, end):
        return False
    return sum(1 for w in text[start:end].split() if any(c.isalnum() for c in w)) <= words


def _is_date(m: re.Match[str]) -> bool:
    groups = m.groupdict()
    day = int(groups["d"])
    if groups.get("month_name"):
        month = _MONTHS[groups["month_name"][:3].lower()]
        return 1 <= day <= 31 and _valid(2000, month, day)  # 2000 is a leap year: 29 February is fine
    year = int(groups["y"])
    year = year + 2000 if year < 100 else year
    month = int(groups["m"])
    return _valid(year, month, day) or _valid(year, day, month)  # UK order, or US


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


# Names. A full name is matched in any case, with any whitespace between its parts, also as "Surname, First".
# A single part (a first name alone, or the surname alone) is matched too, because that is how people write
# about a child ("Jayden's voice is clear", "the Smith family"), when it has at least three letters:
# - written with a capital (a proper noun), always;
# - in lower case, unless it is also an everyday English word ("hope", "will", "brown", "may"), which is
#   then far more likely the word than the name.
# A capitalised part with an "s" is the family ("the Okafors") or a possessive typed without its apostrophe.
# So "grace" in lower case is not flagged for a Grace, and a two-letter name ("Jo") only as part of the full
# name; capitalised "Will" at the start of a sentence is flagged for a Will (a rephrase, not a leak).
_MIN_PART = 3
_EVERYDAY_WORDS = frozenset(
    """
    april august autumn bell berry bill bird black bloom brook brooks brown bush buck burns can carter chase
    child christian clay cook cross dale dawn dean don eve faith fisher ford fox frank free gay gale gem gene
    glen gold good grace grant gray green grey guy hall happy hardy harper hay heath holly hope hunter ivy
    jack jade jay joy june just kay king lake lane lee long love lucky major mark marsh mason max may mercy
    miles mill miller moss north page park parker pat penny pierce piper poppy porter price rain ray read reed
    rich rob rock rose ruby rush sage sandy savage say scott sky small smart snow spring stark stone storm
    summer sunny sweet taylor terry tip true walker ward warren wells west white will winter wood woods young
    """.split()
)


def _names(text: str, names: Iterable[str]) -> Iterator[_Span]:
    fulls, parts = _name_patterns(tuple(names))
    if fulls is not None:
        for m in fulls.finditer(text):
            yield _Span(m.start(), m.start() + len(m.group(1)), "name")
    if parts is not None:
        for m in parts.finditer(text):
            found, plural = m.groups()
            if plural and not found[0].isupper():
                continue  # "the Okafors", "Jaydens voice"; but "wills" is not a Will
            if found[0].isupper() or found.casefold() not in _EVERYDAY_WORDS:
                yield _Span(m.start(), m.start() + len(found) + len(plural), "name")


@lru_cache(maxsize=8)
def _name_patterns(names: tuple[str, ...]) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """Every way a list of names is written, as two patterns kept for the list (the guard passes the same one until the
    case lists change): each whole name, and each part of one. A match is looked for at every word's start (inside a
    lookahead, so names that overlap are all found) and, where several could match there, the longest is tried first,
    so a field is checked in one pass instead of one per name."""
    fulls: set[tuple[str, ...]] = set()
    parts: set[str] = set()
    for name in names:
        words = tuple(name.split())
        if not words:
            continue
        fulls.add(words)
        if len(words) > 1:
            fulls.add((f"{words[-1]},", *words[:-1]))  # "Smith, Jayden"
            if len(words) > 2:
                fulls.add((words[0], words[-1]))  # without the middle names
        pieces = (p for w in words for p in (w, *re.split(r"[-\u2010-\u2015]", w)))  # "Smith-Jones", "Jones"
        parts.update(p for p in pieces if len(p) >= _MIN_PART)
    longest_first = sorted(fulls, key=lambda words: (-sum(map(len, words)), words))
    whole = "|".join(r"\s+".join(_literal(w) for w in words) for words in longest_first)
    each = "|".join(_literal(p) for p in sorted(parts, key=lambda p: (-len(p), p)))
    return (
        re.compile(rf"(?<![\w])(?=({whole})(?![\w]))", re.IGNORECASE) if fulls else None,
        re.compile(rf"(?<![\w])(?=({each})(s?)(?![\w]))", re.IGNORECASE) if parts else None,
    )


def _literal(word: str) -> str:
    """A name as a pattern; a straight and a curly apostrophe ("O'Neill", "O’Neill") are the same."""
    return "".join("['\u2019]" if c in "'\u2019" else re.escape(c) for c in word)
