"""A seeded corpus of personal details as people type them into qabot's free-text fields, each planted in a
social-work sentence, and a control set of ordinary QA text that must pass. Used by tests/test_pii_corpus.py
(the guard's hit rate, and every field of every form typed into over HTTP) and by `python -m tests.pii_corpus`.

The same seed gives the same corpus. Identifiers are shaped as the real ones are (NHS numbers with a valid
modulus 11 check digit, NI numbers with HMRC's allowed prefixes and suffixes, postcodes in every Royal Mail
format, phone numbers in Ofcom's ranges for drama, 07700 900xxx and friends) so nothing here is a real person's.

Names are the workers the case list names (the guard learns its names from the case list: see
bot/workflow/guard.py). The list below is agency and locum workers matched to nobody in the directory, so the
bot has no reason ever to show their names: any appearance in Slack is a leak.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from bot.workflow.pii import _EVERYDAY_WORDS, nhs_number_valid

CATEGORIES = ("name", "birth_date", "postcode", "nhs_number", "ni_number", "phone")
# Where the test that measures the hit rate leaves its table, for conftest.py to print at the end of the run.
PII_TABLE = pytest.StashKey[list[str]]()
# A first name that is also an everyday English word, written in lower case ("grace", "hope") is taken for the
# word by design (bot/workflow/pii.py): measured and printed, but not one of the categories that must be caught.
TRADE_OFF = "name_everyday_lower"
# The printed table's words, as the README's.
LABELS = {
    "name": "names from the case list",
    "birth_date": "dates of birth",
    "postcode": "postcodes",
    "nhs_number": "NHS numbers",
    "ni_number": "National Insurance numbers",
    "phone": "phone numbers",
    TRADE_OFF: "lower-case first names that are also words (let through on purpose)",
}

FIRST_NAMES = [
    "Oliver", "Amelia", "Jayden", "Isla", "Leo", "Freddie", "Mia", "Kacper", "Aisha", "Tyler", "Siobhan", "Callum",
    "Zainab", "Kayden", "Nevaeh", "Oluwaseun", "Grace", "Hope", "Ruby", "Rose", "Mary-Ann", "Dariusz", "Thiago",
    "Ellie-Mae", "Tariq", "Precious", "Lacey", "Kai", "Roxanne", "Bartosz",
]  # fmt: skip
SURNAMES = [
    "Okafor", "Kowalczyk", "O'Neill", "Smith-Jones", "McAllister", "Nowak", "Hussain", "Fairbrother", "Ahmed",
    "Mensah", "Pemberton", "Adeyemi", "Sharpe", "Doherty", "Wojcik", "Bradshaw", "Achterberg", "Quigley",
    "Oyelaran", "Featherstone", "Ramsbottom", "Abdi", "Greenhalgh", "Petrescu",
]  # fmt: skip

# Postcode areas that exist, and the awkward ones written out: the non-geographic GIR 0AA, central London's
# A9A and AA9A districts, a two-digit district, Girobank's and the DVLA's.
AREAS = ["M", "B", "L", "G", "N", "E", "W", "S", "RH", "BN", "SW", "SE", "NW", "EC", "GU", "CR", "LS", "NE", "BS",
         "DN", "TN", "ME", "PO", "CF", "KT", "OX", "CB", "WC"]  # fmt: skip
EDGE_POSTCODES = ["GIR 0AA", "EC1A 1BB", "W1A 0AX", "SW1A 1AA", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "WC2H 7LT"]
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

# NI prefixes: first letter not D F I Q U V, second not D F I O Q U V, and never these pairs.
_NI_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
_NI_SECOND = "ABCEGHJKLMNPRSTWXYZ"
_NI_BANNED = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


@dataclass(frozen=True)
class Sample:
    category: str  # one of CATEGORIES, or TRADE_OFF
    text: str  # the sentence as typed
    value: str  # the personal detail planted in it, exactly as written there

    @property
    def span(self) -> tuple[int, int]:
        start = self.text.index(self.value)
        return start, start + len(self.value)


def case_list_names(seed: int = 8, count: int = 12) -> list[str]:
    """The workers a month's case list names (and so the names the guard refuses)."""
    rng = random.Random(seed)
    firsts = rng.sample(FIRST_NAMES, count)
    # Names that are also words ("Grace", "Hope", "Rose") are in every real list: keep some.
    for i, word_name in enumerate(("Grace", "Hope", "Rose")):
        if word_name not in firsts:
            firsts[i] = word_name
    return [f"{first} {surname}" for first, surname in zip(firsts, rng.sample(SURNAMES, count), strict=True)]


# -- the corpus -------------------------------------------------------------------------------------------------

_NAME_FORMS = [
    ("{first} said she felt listened to at the meeting.", "first"),
    ("{first}'s voice comes through clearly in the record.", "first"),
    ("Visited by {full} with the team manager.", "full"),
    ("the {surname} family were seen together at home.", "surname"),
    ("I spoke to {lower_full} about school.", "lower_full"),
    ("Record updated: {surname}, {first}.", "surname_first"),
    ("{upper_first} ENGAGED WELL WITH THE DIRECT WORK.", "upper_first"),
    ("mum and {lower_first} both want the plan explained again.", "lower_first"),
    ("Supervision with {full}'s manager picked up the drift.", "full"),
    ("The plan was shared with {first} and her dad.", "first"),
    ("{first} {surname} (allocated worker) was off sick.", "full"),
    ("the worker, {lower_surname}, chased the school twice.", "lower_surname"),
    ("The {surname}s were seen together at the contact centre.", "surname"),
    ("{first}s voice is missing from the plan.", "first"),
]


def _names_samples(rng: random.Random, names: list[str], count: int) -> list[Sample]:
    samples = []
    while len(samples) < count:
        full = rng.choice(names)
        first, surname = full.split()[0], full.split()[-1]
        template, form = rng.choice(_NAME_FORMS)
        values = {
            "first": first,
            "full": full,
            "surname": surname,
            "lower_full": full.lower(),
            "surname_first": f"{surname}, {first}",
            "upper_first": first.upper(),
            "lower_first": first.lower(),
            "lower_surname": surname.lower(),
        }
        text = template.format(**values)
        value = values[form]
        lower_word = form.startswith("lower") and any(w in _EVERYDAY_WORDS for w in value.split())
        samples.append(Sample(TRADE_OFF if lower_word and " " not in value else "name", text, value))
    # and each first name that is also a word, once in lower case, so the trade-off is always measured
    for first in sorted({n.split()[0] for n in names if n.split()[0].lower() in _EVERYDAY_WORDS}):
        samples.append(Sample(TRADE_OFF, f"spoke with {first.lower()} and her mum at school.", first.lower()))
    return samples


_DOB_FORMATS = [
    lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}",  # 12/03/2015
    lambda d: f"{d.day}.{d.month}.{d.year % 100:02d}",  # 12.3.15
    lambda d: f"{d.day} {d:%B} {d.year}",  # 12 March 2015
    lambda d: f"{d.day}{_ordinal(d.day)} {d:%b} {d.year}",  # 12th Mar 2015
    lambda d: d.isoformat(),  # 2015-03-12
    lambda d: f"{d.day}/{d.month}/{d.year % 100:02d}",  # 12/3/15
    lambda d: f"{d.day:02d}-{d.month:02d}-{d.year}",  # 12-03-2015
    lambda d: f"{d:%B} {d.day}, {d.year}",  # March 12, 2015
    lambda d: f"{d.day}{_ordinal(d.day)} of {d:%B} {d.year}",  # 12th of March 2015
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",  # 12.03.2015
    lambda d: f"{d.day}-{d:%b}-{d.year}",  # 12-Mar-2015
    lambda d: f"{d.day:02d} {d.month:02d} {d.year}",  # 12 03 2015
]
_DOB_SENTENCES = [
    "DOB {d}, lives with mum and two siblings.",
    "Child's date of birth is {d}.",
    "Born {d}, the youngest of three.",
    "He was born on {d} at 32 weeks.",
    "Younger sibling (DOB {d}) also on a plan.",
    "d.o.b. {d} - please check the chronology.",
    "Date of Birth: {d}",
    "The baby was born prematurely on {d} and is doing well.",
    "dob {d}",
    "Her birthday is {d}, so the visit moved.",
    "Child A, {d} (DOB), attends the nursery.",
    "D.O.B: {d}. Referred by school.",
    "DOB{d}",
    "D.O.B.{d} (aged 9)",
    "dob-{d}",
    "date-of-birth {d} per the birth certificate",
    "Mum's DoB:{d}",
]


def _ordinal(day: int) -> str:
    return "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _birth_samples(rng: random.Random, count: int) -> list[Sample]:
    samples = []
    for i in range(count):
        born = date(2008, 1, 1) + timedelta(days=rng.randrange(17 * 365))
        value = _DOB_FORMATS[i % len(_DOB_FORMATS)](born)
        samples.append(Sample("birth_date", rng.choice(_DOB_SENTENCES).format(d=value), value))
    return samples


def postcode(rng: random.Random) -> str:
    area = rng.choice(AREAS)
    district = str(rng.randint(1, 29 if len(area) == 2 else 99))
    if area in ("EC", "WC", "SW", "W") and rng.random() < 0.4:  # central London: EC1A, WC2H, SW1A, W1A
        district = f"{rng.randint(1, 2)}{rng.choice('ABCHJKMNPRVWXY')}"
    inward = f"{rng.randint(0, 9)}{rng.choice(_INWARD_LETTERS)}{rng.choice(_INWARD_LETTERS)}"
    return f"{area}{district} {inward}"


_POSTCODE_SENTENCES = [
    "The family moved to {p} in the summer.",
    "New address postcode {p}, school place to follow.",
    "Dad now lives near {p} and sees the children weekly.",
    "Placement is in {p} (out of area).",
    "postcode {p}",
    "Moved from {p} to temporary accommodation.",
    "Home visit at {p}; the house was warm and tidy.",
]


def _postcode_samples(rng: random.Random, count: int) -> list[Sample]:
    samples = []
    for i in range(count):
        code = EDGE_POSTCODES[i] if i < len(EDGE_POSTCODES) else postcode(rng)
        style = i % 4  # as printed, without the space, in lower case, both
        code = code.replace(" ", "") if style in (1, 3) else code
        code = code.lower() if style in (2, 3) else code
        samples.append(Sample("postcode", rng.choice(_POSTCODE_SENTENCES).format(p=code), code))
    return samples


def nhs_number(rng: random.Random) -> str:
    while True:
        digits = "".join(str(rng.randint(0, 9)) for _ in range(9))
        check = 11 - sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        if check != 10:
            number = digits + str(0 if check == 11 else check)
            if nhs_number_valid(number):
                return number


_NHS_SENTENCES = [
    "NHS number {n} on the health assessment.",
    "nhs no: {n}",
    "Health visitor confirmed NHS {n}.",
    "The GP letter quotes {n} for the baby.",
    "NHS No. {n} - immunisations up to date.",
    "Child's NHS number is {n}.",
]


def _nhs_samples(rng: random.Random, count: int) -> list[Sample]:
    samples = []
    for i in range(count):
        n = nhs_number(rng)
        value = [f"{n[:3]} {n[3:6]} {n[6:]}", f"{n[:3]}-{n[3:6]}-{n[6:]}", n][i % 3]
        samples.append(Sample("nhs_number", rng.choice(_NHS_SENTENCES).format(n=value), value))
    return samples


def ni_number(rng: random.Random) -> str:
    while True:
        prefix = rng.choice(_NI_FIRST) + rng.choice(_NI_SECOND)
        if prefix not in _NI_BANNED:
            return prefix + "".join(str(rng.randint(0, 9)) for _ in range(6)) + rng.choice("ABCD")


_NI_SENTENCES = [
    "Mum's NI number {n} is on the benefits letter.",
    "NI: {n}",
    "National Insurance number {n} given for the care leaver.",
    "Dad gave his NINO {n} for the housing form.",
    "ni no {n}",
    "NI number {bare} (letter at the end not known).",
    "NINO: {bare}",
]


def _ni_samples(rng: random.Random, count: int) -> list[Sample]:
    samples = []
    for i in range(count):
        n = ni_number(rng)
        value = [
            n,
            f"{n[:2]} {n[2:4]} {n[4:6]} {n[6:8]} {n[8]}",
            n.lower(),
            f"{n[:2]} {n[2:8]} {n[8]}",
            f"{n[:2]}-{n[2:4]}-{n[4:6]}-{n[6:8]}-{n[8]}",
        ][i % 5]
        sentence = rng.choice(_NI_SENTENCES)
        if "{bare}" in sentence:  # the number without its suffix letter, as people often give it
            value = value[:-1].rstrip(" -")
        samples.append(Sample("ni_number", sentence.format(n=value, bare=value), value))
    return samples


def _phone(rng: random.Random, i: int) -> str:
    mobile = f"7700 900{rng.randint(0, 999):03d}"
    london = f"20 7946 0{rng.randint(0, 999):03d}"
    city = f"{rng.choice(['113', '114', '115', '116', '117', '118', '121', '131', '141', '151', '161'])} 496 0{rng.randint(0, 999):03d}"  # noqa: E501
    area = f"1632 960{rng.randint(0, 999):03d}"
    forms = [
        f"0{mobile}",
        f"0{mobile}".replace(" ", ""),
        f"0{mobile[:4]}-{mobile[5:8]}-{mobile[8:]}",
        f"+44 {mobile}",
        f"+44{mobile}".replace(" ", ""),
        f"+44 (0){mobile}",
        f"0044 {mobile}",
        f"(0{mobile[:4]}) {mobile[5:]}",
        f"0{london}",
        f"(0{london[:2]}) {london[3:]}",
        f"+44 (0){london}",
        f"0{city}",
        f"(0{city[:3]}) {city[4:]}",
        f"0{city}".replace(" ", "-"),
        f"0{area}",
        f"(0{area[:4]}) {area[5:]}",
        f"0300 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        f"+44 0{mobile}",  # the trunk 0 kept after +44, as people do
    ]
    return forms[i % len(forms)]


_PHONE_SENTENCES = [
    "Mum asked to be called on {p} after 3pm.",
    "Dad's mobile is {p}.",
    "tel {p}",
    "Grandma (kinship carer) can be reached on {p}.",
    "Contact: {p} - text first.",
    "New number for the family: {p}",
    "mob:{p}",
]


def _phone_samples(rng: random.Random, count: int) -> list[Sample]:
    return [Sample("phone", rng.choice(_PHONE_SENTENCES).format(p=(p := _phone(rng, i))), p) for i in range(count)]


def corpus(seed: int = 8, per_category: int = 120, names: list[str] | None = None) -> list[Sample]:
    """`per_category` samples of each kind of personal detail (the name samples include the trade-off ones)."""
    rng = random.Random(seed)
    names = names or case_list_names(seed)
    return [
        *_names_samples(rng, names, per_category),
        *_birth_samples(rng, per_category),
        *_postcode_samples(rng, per_category),
        *_nhs_samples(rng, per_category),
        *_ni_samples(rng, per_category),
        *_phone_samples(rng, per_category),
    ]


# -- the control set: what QA text really says, numbers and dates included ---------------------------------------

_CONTROL = [
    "The meeting was held on {meeting} with the practitioner and team manager.",
    "Core group met on {meeting_short}; the plan was reviewed and updated.",
    "Next review {meeting}, chaired by the IRO.",
    "{visits} visits in the last {weeks} weeks, all within timescale.",
    "Strategy discussion on {meeting}, Section 47 enquiries completed in {days} working days.",
    "Grade: Requires Improvement. The assessment was {days} days late.",
    "The overall grade is Good: the child's voice is clear throughout.",
    "Overall Outstanding; the direct work was creative and well recorded.",
    "Inadequate: no management oversight recorded for {weeks} weeks.",
    "Discussed in supervision on {meeting}; actions agreed for the next {weeks} weeks.",
    "See QA-2027-01-0{ref} for the previous audit of this case.",
    "Family received a £{money} Section 17 payment for school uniform.",
    "Rent arrears of £{money}.50 are being paid back at £{small} a week.",
    "Scaling question: mum scored {scale}/10, the worker {scale2}/10.",
    "Signs of Safety mapping on {meeting} with {visits} family members.",
    "Child seen alone on {visits} of {weeks} visits.",
    "The child, aged {age}, was seen on {meeting} at school.",
    "Childline (0800 1111) and the NSPCC helpline 0808 800 5000 were shared with the young person.",
    "Referral received at 10:30 on {meeting}; ICPC held within 15 working days.",
    "The plan has {visits} SMART actions, {small} of them complete.",
    "Chronology covers 2019-2026; it needs updating from {meeting}.",
    "Invoice 1234567890 for the contact centre was paid.",
    "Ofsted ILACS inspection in 2023 judged the service Good.",
    "Family Safeguarding: group case supervision every {weeks} weeks, with the adult practitioners.",
    "We hope the family will grace the review with their presence; rose early, will attend.",
    "Birth father's views were sought; he was not present at the meeting on {meeting}.",
    "Born into a large family, she helps with her younger siblings.",
    "Her birthday party is being planned by the foster carers.",
    "Team quota: {visits} audits a month, {small} per team manager.",
    "The caseload is {caseload} children; {small} are on child protection plans.",
    "Room 2.14, County Hall, at 14:00 on {meeting}.",
    "Agreed at the 3/4-way meeting: the grade stands (Requires Improvement).",
    "Form F assessment started {meeting}; panel in {weeks} weeks.",
    "Page 12 of 40 in the case summary; 3 of 5 actions are overdue.",
    "Version 2.3 of the plan was uploaded on {meeting_iso}.",
    "The school reported 92% attendance this term, up from 78%.",
    "A&E attendance on {meeting} was followed up by the health visitor within 48 hours.",
    "Contact with dad is every other Saturday, 10am to 4pm.",
    "CP plan started {meeting}; review conference in 3 months.",
    "Action 2 due {meeting}: the worker will update the plan with the school.",
]


def control(seed: int = 8, count: int = 200) -> list[str]:
    """Ordinary QA text, with meeting dates, grades, counts, money and references: none of it personal data."""
    rng = random.Random(seed + 1)
    sentences = []
    for i in range(count):
        meeting = date(2026, 9, 1) + timedelta(days=rng.randrange(240))
        values = {
            "meeting": [f"{meeting:%d/%m/%Y}", f"{meeting.day} {meeting:%B %Y}", f"{meeting:%d.%m.%y}"][i % 3],
            "meeting_short": f"{meeting.day}/{meeting.month}",
            "meeting_iso": meeting.isoformat(),
            "visits": rng.randint(2, 12),
            "weeks": rng.randint(2, 12),
            "days": rng.randint(3, 45),
            "ref": f"{rng.randint(1, 99):02d}",
            "money": f"{rng.randint(20, 2500):,}",
            "small": rng.randint(1, 9),
            "scale": rng.randint(1, 10),
            "scale2": rng.randint(1, 10),
            "age": rng.randint(1, 17),
            "caseload": rng.randint(12, 24),
        }
        sentences.append(_CONTROL[i % len(_CONTROL)].format(**values))
    return sentences


# -- searching what Slack was sent ------------------------------------------------------------------------------


def leak_pattern(value: str) -> re.Pattern[str]:
    """A pattern that finds `value` however it is re-spaced, re-punctuated or re-cased ("RH12 1AB" as "rh121ab",
    "943 476 5919" as "943-476-5919"), but not inside a longer word or number."""
    chars = [c for c in value.casefold() if c.isalnum()]
    between = r"[\s\-./()'\u2019,]*"
    return re.compile(r"(?<![0-9a-z])" + between.join(re.escape(c) for c in chars) + r"(?![0-9a-z])", re.IGNORECASE)


def hit_rates(samples: list[Sample], controls: list[str], names: list[str]) -> dict[str, tuple[int, int]]:
    """Per category (and "control", counting false alarms), how many the guard flagged out of how many. A sample
    is caught when a finding overlaps the detail planted in it (the field is then refused whole)."""
    from bot.workflow.pii import find_pii

    counts: dict[str, list[int]] = {}
    for sample in samples:
        start, end = sample.span
        # Findings carry their text, not where it is: any place it occurs counts.
        positions = [
            m.span() for f in find_pii(sample.text, names) for m in re.finditer(re.escape(f.text), sample.text)
        ]
        caught = any(s < end and start < e for s, e in positions)
        tally = counts.setdefault(sample.category, [0, 0])
        tally[0] += caught
        tally[1] += 1
    alarms = sum(1 for text in controls if find_pii(text, names))
    return {**{k: (v[0], v[1]) for k, v in counts.items()}, "control": (alarms, len(controls))}


def table(rates: dict[str, tuple[int, int]]) -> list[str]:
    lines = ["PII corpus: the guard's hit rate (bot/workflow/pii.py)"]
    for category in (*CATEGORIES, TRADE_OFF):
        if category in rates:
            hit, total = rates[category]
            lines.append(f"  {hit:>4}/{total:<4} caught  {100 * hit / total:5.1f}%  {LABELS[category]}")
    alarms, total = rates["control"]
    lines.append(f"  {alarms:>4}/{total:<4} refused {100 * alarms / total:5.1f}%  ordinary sentences (false positives)")
    return lines


if __name__ == "__main__":
    names = case_list_names()
    print("\n".join(table(hit_rates(corpus(names=names), control(), names))))
