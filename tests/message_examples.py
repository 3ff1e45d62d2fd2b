"""Representative contexts for every template in messages/templates/ (tests render and validate each)."""

from datetime import UTC, date, datetime

ACCEPT_BY = date(2027, 1, 6)
AT = datetime(2027, 1, 6, 9, 12, tzinfo=UTC)

ALLOCATION = {
    "qa_ref": "QA-2027-01-017",
    "audit_id": 17,
    "restricted": False,
    "category": "Child protection",
    "team": "Family Safeguarding Team 3",
    "practitioner": "Sam Patel",
    "team_manager": "Jo Brown",
    "cro_required": True,
    "case_link": "https://casesystem.example/person/123456",
    "month": "January 2027",
    "accept_by": ACCEPT_BY,
}

EXAMPLES: dict[str, list[dict]] = {
    "allocation_request": [
        ALLOCATION,
        ALLOCATION | {"category": "Child in need", "cro_required": False, "case_link": None},
        {"qa_ref": "QA-2027-01-018", "audit_id": 18, "restricted": True, "accept_by": ACCEPT_BY},
    ],
    "allocation_reminder": [
        {"qa_ref": "QA-2027-01-017", "audit_id": 17, "accept_by": ACCEPT_BY, "reminder_number": 1},
        {"qa_ref": "QA-2027-01-017", "audit_id": 17, "accept_by": ACCEPT_BY, "reminder_number": 2},
    ],
    "allocation_accepted": [
        {"qa_ref": "QA-2027-01-017", "by_name": "Alex Green", "at": AT},
    ],
    "allocation_told": [
        {"qa_ref": "QA-2027-01-017", "auditor": "Alex Green", "role": role, "month": "January 2027"}
        for role in ("practitioner", "team_manager", "service_manager")
    ],
    "allocation_not_accepted": [
        {"qa_ref": "QA-2027-01-017", "auditor": "Alex Green", "days": 3},
    ],
    "allocation_decline_form": [
        {"qa_ref": "QA-2027-01-017", "audit_id": 17},
    ],
    "allocation_declined": [
        {"qa_ref": "QA-2027-01-017", "by_name": "Alex Green", "at": AT},
    ],
    "allocation_declined_qa": [
        {"qa_ref": "QA-2027-01-017", "auditor": "Alex Green"},
    ],
    "refusal": [
        {"reason": "not_your_allocation", "qa_ref": "QA-2027-01-017"},
        {"reason": "already_decided", "qa_ref": "QA-2027-01-017", "status": "accepted", "at": AT},
        {"reason": "already_decided", "qa_ref": "QA-2027-01-017", "status": "reassigned", "at": None},
        {"reason": "unknown"},
    ],
    "notice": [
        {"text": "Already accepted by Alex Green."},
    ],
    "home": [
        {"name": "Alex Green", "waiting": [], "watching": []},
        {
            "name": "Alex Green",
            "waiting": [
                {"qa_ref": "QA-2027-01-017", "what": "Accept the allocation", "due": ACCEPT_BY},
                {"qa_ref": "QA-2027-01-009", "what": "Record the family's feedback", "due": None},
            ],
            "watching": [{"qa_ref": "QA-2026-12-004", "status": "Awaiting moderation"}],
        },
        {
            "name": "Jo Brown",
            "waiting": [],
            "watching": [{"qa_ref": "QA-2026-12-004", "status": "Awaiting moderation"}],
        },
        {
            "name": "Pat Quinn",
            "waiting": [
                {"qa_ref": f"QA-2027-01-{n:03}", "what": "Sign off the actions", "due": ACCEPT_BY}
                for n in range(1, 201)
            ],
            "watching": [{"qa_ref": f"QA-2026-12-{n:03}", "status": "Moderated"} for n in range(1, 201)],
        },
    ],
    "help": [{}],
}
