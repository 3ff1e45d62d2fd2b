"""The demo's council: a small staff directory and an Annex A case list, written as the files a QA team
would be given (a staff CSV and a messy workbook), plus the directory the tests seed directly."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook

from bot.sandbox.server import SlackStandIn
from bot.workflow.directory import add_person
from store import Database
from store.models import Case, CaseListEntry, Person

# name, email, Slack user id, roles, team, line manager (first name)
STAFF = [
    ("Helen Head", "helen@council.example", "U0HOS", ["head_of_service"], "Service Leadership", None),
    ("Sara Service", "sara@council.example", "U0SM", ["service_manager"], "Service Leadership", "helen"),
    ("Tom Teamlead", "tom@council.example", "U0TM", ["team_manager"], "Family Support North", "sara"),
    ("Priya Practitioner", "priya@council.example", "U0PRAC", ["practitioner"], "Family Support North", "tom"),
    ("Amira Auditor", "amira@council.example", "U0AUD", ["auditor"], "Quality Assurance", None),
    ("Oliver Other", "oliver@council.example", "U0AUD2", ["auditor"], "Quality Assurance", None),
    ("Quinn QA", "quinn@council.example", "U0QA", ["qa_team"], "Quality Assurance", None),
]
# The demo's directory adds a second team, a practitioner whose Slack id must be looked up by email, and an
# auditor inside Priya's team (who therefore never audits Priya's cases), a moderator, and the QA Head of Service
# who decides disputed grades; above Helen, Ada the Assistant Director, to whom an overdue action climbs.
MORE_STAFF = [
    ("Ada Director", "ada@council.example", "U0ADA", ["assistant_director"], "Service Leadership", None),
    ("Tess Teamlead", "tess@council.example", "U0TESS", ["team_manager"], "Children We Care For", "sara"),
    ("Cara Carer", "cara@council.example", "U0CARA", ["practitioner"], "Children We Care For", "tess"),
    ("Pete Practitioner", "pete@council.example", "", ["practitioner"], "Family Support North", "tom"),
    ("Nina Nearby", "nina@council.example", "U0NINA", ["auditor", "practitioner"], "Family Support North", "tom"),
    ("Mo Moderator", "mo@council.example", "U0MOD", ["moderator"], "Quality Assurance", None),
    ("Quentin Quality", "quentin@council.example", "U0QAHEAD", ["qa_head_of_service"], "Quality Assurance", None),
]
LOOKED_UP = {"pete@council.example": "U0PETE"}
# The tests' directory stops at Helen; in the demo's file she reports to Ada.
FILE_MANAGERS = {"helen@council.example": "ada"}

# case-system id, category; the tests' three cases, all Priya's
CASES = [("CS-100234", "CP"), ("CS-100871", "CIN"), ("CS-100512", "CLA")]

# The demo workbook: (list, Child Unique ID, team, worker). Names and codes as exported, mess included.
DEMOGRAPHICS = ("Gender", "Ethnicity", "Date of Birth")
WORKBOOK = {
    "List 3": ("Date of Referral", [(100301, "Family Support North", "Priya\u00a0Practitioner")]),
    "List 6": (
        "CIN Start Date",
        [
            (100871, "Family Support North", "Priya Practitioner"),
            (100455, "Family Support North", "pete  practitioner"),
            (100622, "Family Support North", "Pete Practitioner"),
            (100234, "Family Support North", "Priya Practitioner"),
            (100990, "#N/A", "#N/A"),
        ],
    ),
    "List 7": (
        "Child Protection Plan Start Date",
        [
            (100234, "Family Support North", "Priya Practitioner"),
            (100777, "Children We Care For", "Agency Worker"),
        ],
    ),
    "List 8": (
        "Date Started to be Looked After",
        [
            (100512, "Children We Care For", "Cara Carer"),
            (100513, "Children We Care For", "Cara Carer"),
            (100514, "Children We Care For", "Cara Carer"),
        ],
    ),
}


def write_staff_csv(path: Path) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(["name", "email", "slack_user_id", "roles", "team", "service", "manager_email"])
        for name, email, slack_id, roles, team, manager in STAFF + MORE_STAFF:
            manager = manager or FILE_MANAGERS.get(email)
            out.writerow(
                [
                    name,
                    email,
                    slack_id,
                    ";".join(roles),
                    team,
                    "Children's Social Care",
                    f"{manager}@council.example" if manager else "",
                ]
            )
    return path


def write_annex_a(path: Path) -> Path:
    """An Annex A workbook as a council exports it: demographic columns (which qabot never reads), a child on
    two lists, `#N/A`, a non-breaking space and odd spacing in names, a blank row."""
    book = Workbook()
    book.remove(book.active)
    for title, (date_header, rows) in WORKBOOK.items():
        sheet = book.create_sheet(title)
        sheet.append(["Child Unique ID", *DEMOGRAPHICS, date_header, " Allocated Team", "Allocated Worker "])
        for n, (child, team, worker) in enumerate(rows):
            sheet.append([child, "b) Female", "a) WBRI", datetime(2015, 2, 3), datetime(2026, 11, 2 + n), team, worker])
        sheet.append([])
    book.save(path)
    return path


def seed(database: Database, standin: SlackStandIn | None = None) -> dict[str, int]:
    """The tests' directory and three cases, straight into the store. Returns person ids by first name."""
    ids = {}
    with database.unit_of_work() as db:
        for name, email, slack_id, roles, team, manager in STAFF:
            person = add_person(
                db,
                name=name,
                email=email,
                slack_user_id=slack_id,
                roles=roles,
                team=team,
                service="Children's Social Care",
                manager_email=f"{manager}@council.example" if manager else None,
            )
            ids[name.split()[0].lower()] = person.id
            if standin:
                standin.add_user(slack_id, email, name)
        priya = db.get(Person, ids["priya"])
        for case_ref, category in CASES:
            case = Case(case_ref=case_ref, category=category, team=priya.team, worker=priya, month="2027-01")
            db.add(CaseListEntry(case=case, month="2027-01", category=category, team=priya.team, worker=priya))
    return ids
