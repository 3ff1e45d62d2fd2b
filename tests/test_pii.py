"""The PII guard (bot/workflow/pii.py): a corpus of personal details it must catch, QA text it must let through,
and the refusal message a person sees."""

from __future__ import annotations

import random

import pytest

from bot.workflow.pii import KINDS, Finding, find_pii, nhs_number_valid
from messages import render

NAMES = ["Jayden Smith", "Grace Brown", "Mary-Ann O'Neill"]

# (text, kind, the text reported)
POSITIVES = [
    # dates of birth: a date next to a birth word
    ("DOB 12/03/2015", "birth_date", "12/03/2015"),
    ("D.O.B: 12.03.2015", "birth_date", "12.03.2015"),
    ("d.o.b. 1/3/15", "birth_date", "1/3/15"),
    ("Date of birth 2015-03-12 on the referral", "birth_date", "2015-03-12"),
    ("She was born on 12 March 2015 in hospital.", "birth_date", "12 March 2015"),
    ("born 12th of March 2015", "birth_date", "12th of March 2015"),
    ("born prematurely on 29 February 2016", "birth_date", "29 February 2016"),
    ("Her birthday is 12 March, so the visit moved.", "birth_date", "12 March"),
    ("12/03/2015 (DOB)", "birth_date", "12/03/2015"),
    ("Child A, aged 8 (12/03/2015), was seen", "birth_date", "12/03/2015"),
    ("date of birth: March 12, 2015", "birth_date", "March 12, 2015"),
    ("DOB 12-Mar-2015", "birth_date", "12-Mar-2015"),
    ("DOBs: 12/03/2015 and 04/05/2017", "birth_date", "04/05/2017"),
    ("Birth date 3.4.2019", "birth_date", "3.4.2019"),
    # ... as typed in a hurry (found by the corpus, tests/pii_corpus.py)
    ("DOB12/03/2015", "birth_date", "12/03/2015"),
    ("D.O.B.12.03.15 (aged 9)", "birth_date", "12.03.15"),
    ("dob-12/03/2015", "birth_date", "12/03/2015"),
    ("d.o.b.-12/3/15", "birth_date", "12/3/15"),
    ("date-of-birth 12/03/2015", "birth_date", "12/03/2015"),
    ("DOB 12 03 2015", "birth_date", "12 03 2015"),
    ("DOB12 March 2015", "birth_date", "12 March 2015"),
    # postcodes
    ("They moved to RH12 1AB last month.", "postcode", "RH12 1AB"),
    ("SW1A 1AA", "postcode", "SW1A 1AA"),
    ("postcode sw1a1aa", "postcode", "sw1a1aa"),
    ("rh121ab", "postcode", "rh121ab"),
    ("W1A 0AX", "postcode", "W1A 0AX"),
    ("near M1 1AE", "postcode", "M1 1AE"),
    ("B33 8TH", "postcode", "B33 8TH"),
    ("EC1A 1BB", "postcode", "EC1A 1BB"),
    ("(GU21 4XY)", "postcode", "GU21 4XY"),
    ("in Brighton, BN1 1AA.", "postcode", "BN1 1AA"),
    ("pasted as RH12  1AB", "postcode", "RH12  1AB"),
    # NHS numbers (valid check digit)
    ("NHS number 943 476 5919", "nhs_number", "943 476 5919"),
    ("9434765919", "nhs_number", "9434765919"),
    ("nhs no: 943-476-5919", "nhs_number", "943-476-5919"),
    ("NHS 204 838 6555", "nhs_number", "204 838 6555"),
    ("(6642502604)", "nhs_number", "6642502604"),
    # National Insurance numbers
    ("NI AB 12 34 56 C", "ni_number", "AB 12 34 56 C"),
    ("ab123456c", "ni_number", "ab123456c"),
    ("NI: JG103759A.", "ni_number", "JG103759A"),
    ("ZX 12 34 56 D", "ni_number", "ZX 12 34 56 D"),
    ("ab 123456 c", "ni_number", "ab 123456 c"),
    ("CE-12-34-56-B", "ni_number", "CE-12-34-56-B"),
    # without its suffix letter, just after what it is
    ("NI number AB123456 (letter not known)", "ni_number", "AB123456"),
    ("NINO: ab 12 34 56", "ni_number", "ab 12 34 56"),
    ("National Insurance no. JG103759", "ni_number", "JG103759"),
    ("ni no jg-10-37-59", "ni_number", "jg-10-37-59"),
    # phone numbers
    ("call 07700 900123", "phone", "07700 900123"),
    ("07700900123", "phone", "07700900123"),
    ("07700-900-123", "phone", "07700-900-123"),
    ("+44 7700 900123", "phone", "+44 7700 900123"),
    ("+44 (0)7700 900123", "phone", "+44 (0)7700 900123"),
    ("+447700900123", "phone", "+447700900123"),
    ("0044 7700 900123", "phone", "0044 7700 900123"),
    ("Tel (01403) 123456", "phone", "(01403) 123456"),
    ("01403 123456", "phone", "01403 123456"),
    ("020 7946 0958", "phone", "020 7946 0958"),
    ("(020) 7946 0958", "phone", "(020) 7946 0958"),
    ("0300 123 4567", "phone", "0300 123 4567"),
    ("0161 496 0000", "phone", "0161 496 0000"),
    ("01697 73555", "phone", "01697 73555"),
    # names from the case list
    ("Jayden Smith attended", "name", "Jayden Smith"),
    ("JAYDEN  SMITH", "name", "JAYDEN  SMITH"),
    ("met jayden\nsmith at school", "name", "jayden\nsmith"),
    ("Smith, Jayden", "name", "Smith, Jayden"),
    ("Jayden's voice is clear", "name", "Jayden"),
    ("the Smith family", "name", "Smith"),
    ("jayden was seen alone", "name", "jayden"),
    ("Grace was seen at school", "name", "Grace"),
    ("Mrs Brown attended", "name", "Brown"),
    ("Mary-Ann said she felt safe", "name", "Mary-Ann"),
    ("the O\u2019Neill household", "name", "O\u2019Neill"),
    ("Mary-Ann O'Neill", "name", "Mary-Ann O'Neill"),
    ("The Smiths came to the meeting", "name", "Smiths"),
    ("Jaydens voice is clear", "name", "Jaydens"),
]

NEGATIVES = [
    "QA-2027-01-017 was moderated and the grade agreed.",
    "We met on 12/01/2027 with the practitioner and team manager.",
    "The review on 2027-01-12 was attended by the CRO.",
    "Meeting held 12 January 2027 at 09:30.",
    "Actions due by 09/02/2027; next review 14.03.2027.",
    "On 12/03/2015 the case was first opened.",
    "The child, aged 8, was seen alone on 12/01/2027.",
    "Her birthday was discussed at the meeting on 12/01/2027.",
    "She was born in Poland. We met on 12/01/2027.",
    "The unborn baby is due in March 2027; the pre-birth assessment starts on 3 February.",
    "Graded Requires Improvement: the plan is not SMART.",
    "RI",
    "Good",
    "Outstanding practice, shared as learning.",
    "Inadequate - moderated immediately, re-audit in three months.",
    "Case 100234 was audited; Mosaic ID 1002345.",
    "Visits at 09:30 and 14:15; a 3/4 way meeting with the HoS.",
    "Reference 5942859575 on the form.",  # ten digits, wrong NHS check digit
    "Year 10 pupil, 2 of 3 actions done, 5 visits in 6 weeks, score 7/10.",
    "CIN plan, CP plan, CLA review, PEP, s47 enquiry, ICPC, RCPC.",
    "Call the duty line on 0800 123 4567.",
    "Section 47 strategy meeting on 3rd March.",
    "We hope grace and goodwill were shown; the brown folder will go to the TM.",
    "She visited the smithy museum with her foster carer.",
    "Referral from the RH12 area team.",
    "Payroll AB123456 is not an NI number without its suffix.",
    "Staff in AB123456 and NI team CE 12 34 56 are payroll codes, not NINOs.",
    "Meeting 12 03 2027 at the school; version 1.2.03.2015 of the form.",
    "Blacksmiths and smiths at the museum; the browns of autumn.",
    "QQ 12 34 56 C is HMRC's example, and TN123456A is never issued.",
    "£1,250.00 spent on the family programme.",
    "Moderated in 2027 Q1; 45 minutes; 60-minute meeting.",
    "Family Safeguarding: motivational interviewing, group case supervision monthly.",
]


def test_every_kind_has_a_corpus() -> None:
    for kind in KINDS:
        assert sum(k == kind for _, k, _ in POSITIVES) >= 5, kind


def test_positives_are_caught() -> None:
    missed = [
        (text, kind, found) for text, kind, found in POSITIVES if Finding(kind, found) not in find_pii(text, NAMES)
    ]
    caught = len(POSITIVES) - len(missed)
    assert not missed, f"hit rate {caught}/{len(POSITIVES)} ({caught / len(POSITIVES):.0%}); missed: {missed}"


def test_negatives_pass() -> None:
    flagged = [(text, find_pii(text, NAMES)) for text in NEGATIVES]
    flagged = [(text, found) for text, found in flagged if found]
    rate = len(flagged) / len(NEGATIVES)
    assert not flagged, f"false positives {len(flagged)}/{len(NEGATIVES)} ({rate:.0%}): {flagged}"


def test_findings_in_text_order_and_once_each() -> None:
    text = (
        "Jayden (DOB 12/03/2015) lives at RH12 1AB; call 07700 900123 or 07700 900123. "
        "NHS 943 476 5919, NI AB123456C. Jayden Smith and JAYDEN again."
    )
    assert find_pii(text, NAMES) == [
        Finding("name", "Jayden"),
        Finding("birth_date", "12/03/2015"),
        Finding("postcode", "RH12 1AB"),
        Finding("phone", "07700 900123"),
        Finding("nhs_number", "943 476 5919"),
        Finding("ni_number", "AB123456C"),
        Finding("name", "Jayden Smith"),  # the full name, not its parts
    ]


def test_no_names_given_finds_no_names() -> None:
    assert find_pii("Jayden Smith attended") == []
    assert find_pii("Jayden Smith attended", ["", "   "]) == []


def test_short_name_parts_only_in_the_full_name() -> None:
    assert find_pii("Jo said so, and Lin agreed. Jo Lin attended.", ["Jo Lin"]) == [
        Finding("name", "Lin"),
        Finding("name", "Jo Lin"),
    ]


def test_nhs_check_digit() -> None:
    assert nhs_number_valid("9434765919")
    assert not nhs_number_valid("9434765918")
    assert not nhs_number_valid("0000000000") and not nhs_number_valid("943476591")
    rng = random.Random(2027)
    passing = sum(nhs_number_valid(str(rng.randrange(10**9, 10**10))) for _ in range(20_000)) / 20_000
    assert 0.07 < passing < 0.11, f"{passing:.1%} of random 10-digit numbers pass the check"


# the refusal a person sees

WORDS = {
    "birth_date": ("12/03/2015", "the date of birth (12/03/2015)"),
    "postcode": ("RH12 1AB", "the postcode (RH12 1AB)"),
    "nhs_number": ("943 476 5919", "the NHS number (943 476 5919)"),
    "ni_number": ("AB 12 34 56 C", "the National Insurance number (AB 12 34 56 C)"),
    "phone": ("07700 900123", "the phone number (07700 900123)"),
    "name": ("Jayden", "the name (Jayden)"),
}


@pytest.mark.parametrize("kind", KINDS)
def test_refusal_names_each_kind(kind: str) -> None:
    found, words = WORDS[kind]
    message = render("pii_refused", {"findings": [{"kind": kind, "text": found}]})
    expected = f"Please remove {words}: personal details belong in the case record, not in qabot."
    assert message["text"] == expected
    assert message["blocks"][0]["text"]["text"] == expected


def test_refusal_from_the_guard() -> None:
    findings = find_pii("Born 12/03/2015, lives at RH12 1AB.", NAMES)
    message = render("pii_refused", {"findings": [{"kind": f.kind, "text": f.text} for f in findings]})
    assert message["text"] == (
        "Please remove the date of birth (12/03/2015) and the postcode (RH12 1AB): "
        "personal details belong in the case record, not in qabot."
    )


def test_refusal_groups_a_kind() -> None:
    findings = [{"kind": "name", "text": "Jayden"}, {"kind": "phone", "text": "07700 900123"}]
    findings.append({"kind": "name", "text": "Smith"})
    text = render("pii_refused", {"findings": findings})["text"]
    assert text.startswith("Please remove the names (Jayden, Smith) and the phone number (07700 900123): ")
