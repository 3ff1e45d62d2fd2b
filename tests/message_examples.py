"""Representative contexts for every template in messages/templates/ (tests render and validate each)."""

from datetime import UTC, date, datetime

from bot.workflow.forms import load_form

ACCEPT_BY = date(2027, 1, 6)
AT = datetime(2027, 1, 6, 9, 12, tzinfo=UTC)

ALLOCATION = {
    "qa_ref": "QA-2027-01-017",
    "case_ref": "123456",
    "audit_id": 17,
    "restricted": False,
    "category": "CP",
    "team": "Family Safeguarding Team 3",
    "practitioner": "Sam Patel",
    "team_manager": "Jo Brown",
    "cro_required": True,
    "case_link": "https://casesystem.example/person/123456",
    "month": "January 2027",
    "accept_by": ACCEPT_BY,
    "complete_by": date(2027, 1, 29),
}

PEOPLE = {"auditor": "Alex Green", "practitioner": "Sam Patel", "team_manager": "Jo Brown"}

EXAMPLES: dict[str, list[dict]] = {
    "allocation_request": [
        ALLOCATION,
        ALLOCATION | {"category": "CIN", "cro_required": False, "case_link": None},
        {"qa_ref": "QA-2027-01-018", "audit_id": 18, "restricted": True, "accept_by": ACCEPT_BY},
    ],
    "allocation_accepted": [
        {"qa_ref": "QA-2027-01-017", "audit_id": 17, "by_name": "Alex Green", "at": AT},
    ],
    "allocation_told": [
        {"role": role, "month": "January 2027", "items": items, "changed": changed}
        for role in ("practitioner", "team_manager", "service_manager")
        for changed in (False, True)
        for items in (
            [{"qa_ref": "QA-2027-01-017", "auditor": "Alex Green"}],
            [{"qa_ref": "QA-2027-01-017", "auditor": "Alex Green"}, {"qa_ref": "QA-2027-01-018", "auditor": "Sam Lee"}],
        )
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
    "allocation_moved": [
        {"qa_ref": "QA-2027-01-017", "new_auditor": "Sam Lee", "by_name": "Quinn QA", "at": AT},
    ],
    "allocation_declined_qa": [
        {"qa_ref": "QA-2027-01-017", "auditor": "Alex Green", "new_auditor": "Sam Lee"},
        {"qa_ref": "QA-2027-01-017", "auditor": "Alex Green", "new_auditor": None},
    ],
    "allocation_review": [
        {
            "run_id": 3,
            "month": "January 2027",
            "seed": 1234,
            "listed": 40,
            "left_out": 2,
            "recent_months": 6,
            "top_up": False,
            "allocated": 0,
            "held_back_drawn": 1,
            "teams": [
                {
                    "name": "Family Support North",
                    "cases": [
                        {
                            "case_id": 1,
                            "case_ref": "CS-100234",
                            "category": "CP",
                            "practitioner": "Sam Patel",
                            "auditor": "Alex Green",
                            "held_back": None,
                            "reaudit": False,
                        },
                        {
                            "case_id": 2,
                            "case_ref": "CS-100871",
                            "category": "CIN",
                            "practitioner": None,
                            "auditor": None,
                            "held_back": "worker_not_matched",
                            "reaudit": True,
                        },
                    ],
                },
                {
                    "name": "Children We Care For",
                    "cases": [
                        {
                            "case_id": n,
                            "case_ref": f"CS-2{n:05d}",
                            "category": "CLA",
                            "practitioner": "Jo Brown",
                            "auditor": "Alex Green",
                            "held_back": None,
                            "reaudit": False,
                        }
                        for n in range(3, 15)
                    ],
                },
            ],
        },
        {
            "run_id": 4,
            "month": "February 2027",
            "seed": 1,
            "listed": 0,
            "left_out": 0,
            "recent_months": 6,
            "teams": [],
            "top_up": True,
            "allocated": 12,
            "held_back_drawn": 0,
        },
    ],
    "allocation_summary": [
        {
            "month": "January 2027",
            "by_name": "Quinn QA",
            "held_back": 2,
            "teams": [{"name": "Family Support North", "count": 2}, {"name": "Children We Care For", "count": 1}],
        },
        {"month": "January 2027", "by_name": None, "held_back": 0, "teams": []},
    ],
    "allocation_held_back": [
        {"month": "January 2027", "items": [{"case_ref": "CS-100871", "reason": "no_worker"}]},
        {
            "month": "January 2027",
            "items": [{"case_ref": f"CS-{n}", "reason": "no_auditor"} for n in range(45)],
        },
    ],
    "month_start": [
        {"month": "January 2027", "code": "2027-01", "imported": 0, "late": False},
        {"month": "January 2027", "code": "2027-01", "imported": 412, "late": True},
    ],
    "meeting_form": [
        {
            "qa_ref": "QA-2027-01-017",
            "audit_id": 17,
            "practitioner": "Sam Patel",
            "team_manager": "Jo Brown",
            "cro_required": True,
            "day": None,
            "at_time": None,
            "attending": [],
        },
        {
            "qa_ref": "QA-2027-01-017",
            "audit_id": 17,
            "practitioner": None,
            "team_manager": "Jo Brown",
            "cro_required": False,
            "day": date(2027, 1, 12),
            "at_time": "10:30",
            "attending": ["team_manager", "cro"],
        },
    ],
    "meeting_arranged": [
        {
            "qa_ref": "QA-2027-01-017",
            "audit_id": 17,
            "when": AT,
            "auditor": "Alex Green",
            "moved": False,
            "self_assessment_needed": True,
        },
        {
            "qa_ref": "QA-2027-01-017",
            "audit_id": 17,
            "when": AT,
            "auditor": "Alex Green",
            "moved": True,
            "self_assessment_needed": False,
        },
    ],
    "meeting_recorded": [
        {
            "qa_ref": "QA-2027-01-017",
            "audit_id": 17,
            "when": AT,
            "attendees": ["Sam Patel", "Jo Brown"],
            "cro_missing": True,
        },
        {"qa_ref": "QA-2027-01-017", "audit_id": 17, "when": AT, "attendees": [], "cro_missing": False},
    ],
    "refusal": [
        {"reason": "not_the_practitioner", "qa_ref": "QA-2027-01-017"},
        {"reason": "not_on_audit", "qa_ref": "QA-2027-01-017"},
        {"reason": "meeting_not_open", "qa_ref": "QA-2027-01-017", "status": "allocated"},
        {"reason": "meeting_not_open", "qa_ref": "QA-2027-01-017", "status": "awaiting_moderation"},
        {"reason": "meeting_in_past"},
        {"reason": "meeting_not_working_day", "day": date(2027, 1, 9)},
        {"reason": "meeting_after_due", "due": date(2027, 1, 29)},
        {"reason": "meeting_unknown_person"},
        {"reason": "not_qa_team"},
        {"reason": "already_allocated", "month": "January 2027", "by": "Quinn QA", "at": AT},
        {"reason": "no_case_list", "month": "January 2027"},
        {"reason": "unknown_cases", "refs": ["CS-1", "CS-2"]},
        {"reason": "cases_already_allocated", "items": [{"case_ref": "CS-100512", "qa_ref": "QA-2027-01-001"}]},
        {"reason": "draft_replaced"},
        {"reason": "not_your_allocation", "qa_ref": "QA-2027-01-017"},
        {"reason": "already_decided", "qa_ref": "QA-2027-01-017", "status": "accepted", "at": AT},
        {"reason": "already_decided", "qa_ref": "QA-2027-01-017", "status": "reassigned", "at": None},
        {"reason": "unknown"},
    ],
    "notice": [
        {"text": "Already accepted by Alex Green."},
    ],
    "help": [{}],
}

# --- safeguarding (an immediate safeguarding concern: alert, re-alert, QA channel, acknowledged) -------------

SAFEGUARDING = {
    "qa_ref": "QA-2027-01-017",
    "escalation_id": 5,
    "raised_by": "Alex Green",
    "raised_at": AT,
    "respond_by": datetime(2027, 1, 6, 11, 12, tzinfo=UTC),
    "top": False,
}
SAFEGUARDING_ALERTED = [
    {"role": "team_manager", "name": "Jo Brown", "covering": False},
    {"role": "service_manager", "name": "Kim Lee", "covering": False},
    {"role": "head_of_service", "name": "Pat Quinn", "covering": False},
    {"role": "ad_safeguarding", "name": "Dana Shah", "covering": False},
    {"role": "team_manager", "name": "Ray Cover", "covering": True},
]
EXAMPLES["safeguarding_alert"] = [
    SAFEGUARDING | {"alerted": SAFEGUARDING_ALERTED, "escalated": False},
    SAFEGUARDING
    | {"alerted": [{"role": "assistant_director", "name": "Ali Reed", "covering": False}], "escalated": True},
    SAFEGUARDING | {"alerted": [], "escalated": True, "top": True},
]
EXAMPLES["safeguarding_realert"] = [
    SAFEGUARDING | {"newly_alerted": [{"role": "assistant_director", "name": "Ali Reed", "covering": False}]},
    SAFEGUARDING | {"newly_alerted": [{"role": "executive_director", "name": "Eve Stone", "covering": True}]},
    SAFEGUARDING | {"newly_alerted": [], "top": True},
]
EXAMPLES["safeguarding_channel"] = [
    {k: v for k, v in SAFEGUARDING.items() if k != "escalation_id"}
    | {"alerted": [{"role": a["role"]} for a in SAFEGUARDING_ALERTED[:4]], "still": False},
    {k: v for k, v in SAFEGUARDING.items() if k != "escalation_id"}
    | {"alerted": [{"role": "executive_director"}], "still": True, "top": True},
    {k: v for k, v in SAFEGUARDING.items() if k != "escalation_id"} | {"alerted": [], "still": False},
]
_ACKNOWLEDGED = {
    "qa_ref": "QA-2027-01-017",
    "by_name": "Kim Lee",
    "at": AT,
    "raised_by": "Alex Green",
    "raised_at": AT,
    "escalation_id": 5,
    "resolve_by": None,
    "resolved_by": None,
    "resolved_at": None,
}
EXAMPLES["safeguarding_acknowledged"] = [
    _ACKNOWLEDGED,
    _ACKNOWLEDGED | {"resolve_by": AT},  # the acknowledger's own alert: Resolve
    _ACKNOWLEDGED | {"resolved_by": "Jo Brown", "resolved_at": AT},
]
EXAMPLES["refusal"] += [
    {"reason": "not_alerted", "qa_ref": "QA-2027-01-017"},
    {"reason": "already_acknowledged", "qa_ref": "QA-2027-01-017", "by": "Kim Lee", "at": AT},
    {"reason": "already_acknowledged", "qa_ref": "QA-2027-01-017", "by": "someone", "at": None},
]
EXAMPLES["pii_refused"] = [
    {"findings": [{"kind": "birth_date", "text": "12/03/2015"}, {"kind": "postcode", "text": "RH12 1AB"}]},
    {
        "findings": [
            {"kind": "name", "text": "Jayden"},
            {"kind": "nhs_number", "text": "943 476 5919"},
            {"kind": "ni_number", "text": "AB 12 34 56 C"},
            {"kind": "phone", "text": "07700 900123"},
            {"kind": "name", "text": "Smith"},
        ]
    },
    {"findings": []},
]
FORM = load_form("collaborative")
GRADES = [{"code": g.code, "words": g.words} for g in FORM.scale.grades]
EXAMPLES["audit_form_step"] = [
    {
        "qa_ref": "QA-2027-01-017",
        "audit_id": 17,
        "number": n + 1,
        "total": len(FORM.steps) + 1,
        "step": step,
        "grades": GRADES,
        "values": {},
    }
    for n, step in enumerate(FORM.steps)
] + [
    {
        "qa_ref": "QA-2027-01-017",
        "audit_id": 17,
        "number": 1,
        "total": len(FORM.steps) + 1,
        "step": step,
        "grades": GRADES,
        "values": {
            "assessment": "good",
            "assessment_rationale": "Clear analysis.",
            "child_voice": "partly",
            "fsm_evidence": ["motivational_interviewing"],
            "fsm_comment": "Seen in supervision notes.",
        },
    }
    for step in FORM.steps
]
EXAMPLES["audit_actions"] = [
    {
        "qa_ref": "QA-2027-01-017",
        "audit_id": 17,
        "number": 7,
        "total": 7,
        "slots": 5,
        "latest": date(2027, 2, 9),
        "required": True,
        "overall": "requires_improvement",
    },
    {
        "qa_ref": "QA-2027-01-017",
        "audit_id": 17,
        "number": 7,
        "total": 7,
        "slots": 5,
        "latest": date(2027, 2, 9),
        "required": False,
        "overall": None,
    },
]
EXAMPLES["audit_submitted"] = [
    {
        "qa_ref": "QA-2027-01-017",
        "auditor": "Alex Green",
        "overall": "requires_improvement",
        "grades": [{"domain": "Assessment", "grade": "good"}, {"domain": "Planning", "grade": None}],
        "actions": [{"description": "Update the child's plan with the school.", "owner": "Jo Brown", "due": AT}],
        "inadequate": False,
    },
    {
        "qa_ref": "QA-2027-01-017",
        "auditor": "Alex Green",
        "overall": "inadequate",
        "grades": [],
        "actions": [],
        "inadequate": True,
    },
]
_ACTION_STATE = {"status": "open", "due": AT, "state_by": None, "state_at": None}
_DONE_STATE = {"status": "done", "due": AT, "state_by": "Sam Patel", "state_at": AT}
_SIGNED_STATE = {"status": "signed_off", "due": AT, "state_by": "Jo Brown", "state_at": AT}
EXAMPLES["action_assigned"] = [
    {
        "qa_ref": "QA-2027-01-017",
        "action_id": 5,
        "description": "Update the plan.\nShare it with the family.",
        "auditor": "Alex Green",
    }
    | state
    for state in (_ACTION_STATE, _DONE_STATE, _SIGNED_STATE)
]
EXAMPLES["audit_received"] = [
    {"qa_ref": "QA-2027-01-017", "overall": "good", "actions": 1, "inadequate": False},
    {"qa_ref": "QA-2027-01-017", "overall": "inadequate", "actions": 2, "inadequate": True},
    {
        "qa_ref": "QA-2027-01-017",
        "overall": "good",
        "actions": 1,
        "inadequate": False,
        "moderated": {"overall": "requires_improvement", "was": "good"},
    },
    {
        "qa_ref": "QA-2027-01-017",
        "overall": "good",
        "actions": 1,
        "inadequate": False,
        "moderated": {"overall": "good", "was": "good"},
        "settled": {"status": "changed", "grade": "outstanding", "by": "Quentin Quality"},
    },
]
EXAMPLES["refusal"] += [
    {"reason": "audit_not_open", "qa_ref": "QA-2027-01-017", "status": "allocated"},
    {"reason": "audit_not_open", "qa_ref": "QA-2027-01-017", "status": "awaiting_moderation"},
    {"reason": "form_incomplete", "step": "Assessment and planning"},
    {"reason": "action_needs_description"},
    {"reason": "action_needs_owner"},
    {"reason": "action_owner_unknown"},
    {"reason": "action_needs_due"},
    {"reason": "action_due_too_late", "latest": date(2027, 2, 9)},
    {"reason": "action_due_past"},
    {"reason": "actions_required", "grade": "inadequate"},
]

# --- family feedback (step 3: recorded by the auditor, read only by the people on the audit) ---------------------

FEEDBACK_SAID = "She said she feels safe & happy at home now, and likes her new school. "
EXAMPLES["family_feedback_form"] = [
    {
        "qa_ref": "QA-2027-01-017",
        "audit_id": 17,
        "how": None,
        "values": {"reason": None, "child_voice": None, "family_view": None},
    },
    {
        "qa_ref": "QA-2027-01-017",
        "audit_id": 17,
        "how": "mind_of_my_own",
        "values": {
            "reason": None,
            "child_voice": "Wants to see dad more.",
            "family_view": "Mum said the plan is clear.",
        },
    },
    {
        "qa_ref": "QA-2027-01-017",
        "audit_id": 17,
        "how": "not_obtained",
        "values": {"reason": "The family declined.", "child_voice": None, "family_view": None},
    },
]
EXAMPLES["family_feedback_view"] = [
    {
        "qa_ref": "QA-2027-01-017",
        "restricted": False,
        "how": "visit",
        "why_not": None,
        "child_voice": "Wants to see dad more.",
        "family_view": "Mum said the plan is clear.",
        "recorded_by": "Alex Green",
        "at": AT,
    },
    {
        "qa_ref": "QA-2027-01-017",
        "restricted": False,
        "how": "not_obtained",
        "why_not": "The family could not be reached.",
        "child_voice": None,
        "family_view": None,
        "recorded_by": "Alex Green",
        "at": AT,
    },
    # long enough to be split over sections (3000 characters each, once escaped)
    {
        "qa_ref": "QA-2027-01-017",
        "restricted": False,
        "how": "phone",
        "why_not": None,
        "child_voice": FEEDBACK_SAID * 60,
        "family_view": "Dad found the visits helpful.",
        "recorded_by": "Alex Green",
        "at": AT,
    },
    {"qa_ref": "QA-2027-01-018", "restricted": True},
]
EXAMPLES["family_feedback_recorded"] = [
    {"qa_ref": "QA-2027-01-017", "audit_id": 17, "auditor": "Alex Green", "updated": False},
    {"qa_ref": "QA-2027-01-017", "audit_id": 17, "auditor": "Alex Green", "updated": True},
]
EXAMPLES["refusal"] += [
    {"reason": "family_feedback_auditor_only", "qa_ref": "QA-2027-01-017"},
    {"reason": "family_feedback_closed", "qa_ref": "QA-2027-01-017", "status": "allocated"},
    {"reason": "family_feedback_closed", "qa_ref": "QA-2027-01-017", "status": "awaiting_moderation"},
    {"reason": "family_feedback_how"},
    {"reason": "family_feedback_reason_needed"},
    {"reason": "family_feedback_child_voice_needed"},
    {"reason": "family_feedback_family_view_needed"},
    {"reason": "family_feedback_too_long", "length": 3012, "limit": 3000},
    {"reason": "family_feedback_not_recorded", "qa_ref": "QA-2027-01-017"},
]

# --- the practitioner's self-assessment (QAF step 2): form, read-only view, auditor's DM, reminders ----------

SA_FORM = load_form("collaborative")
SA_SAID = "Saw the child alone at school & at home; <b> they drew their week. "
EXAMPLES["self_assessment_form"] = [
    {
        "qa_ref": "QA-2027-01-017",
        "audit_id": 17,
        "auditor": "Alex Green",
        "meeting": AT,
        "due": date(2027, 1, 5),
        "grades": [{"code": g.code, "words": g.words} for g in SA_FORM.scale.grades],
        "domains": list(SA_FORM.domains),
        "max_length": 3000,
        "values": {},
    },
    {
        "qa_ref": "QA-2027-01-017",
        "audit_id": 17,
        "auditor": None,
        "meeting": None,
        "due": None,
        "grades": [{"code": g.code, "words": g.words} for g in SA_FORM.scale.grades],
        "domains": list(SA_FORM.domains),
        "max_length": 3000,
        "values": {d.id: "good" for d in SA_FORM.domains}
        | {d.rationale_id: SA_SAID for d in SA_FORM.domains}
        | {"lived_experience": SA_SAID, "proud_of": "The safety plan.", "do_differently": "Visit sooner."},
    },
]
EXAMPLES["self_assessment_view"] = [
    {
        "qa_ref": "QA-2027-01-017",
        "practitioner": "Sam Patel",
        "saved_at": AT,
        "updated": False,
        "domains": [{"label": d.label, "words": "Good", "reflection": SA_SAID} for d in SA_FORM.domains],
        "lived_experience": SA_SAID,
        "proud_of": "The safety plan.",
        "do_differently": "Visit sooner.",
    },
    # at the input's limit, and longer once escaped: each section is capped at 3000 characters
    {
        "qa_ref": "QA-2027-01-017",
        "practitioner": "Sam Patel",
        "saved_at": AT,
        "updated": True,
        "domains": [{"label": "Assessment", "words": "Requires Improvement", "reflection": "&" * 3000}],
        "lived_experience": "<" * 3000,
        "proud_of": "x" * 3000,
        "do_differently": "y",
    },
]
EXAMPLES["self_assessment_done"] = [
    {"qa_ref": "QA-2027-01-017", "audit_id": 17, "practitioner": "Sam Patel", "updated": False, "meeting": AT},
    {"qa_ref": "QA-2027-01-017", "audit_id": 17, "practitioner": "Sam Patel", "updated": True, "meeting": None},
]
EXAMPLES["refusal"] += [
    {"reason": "self_assessment_closed", "qa_ref": "QA-2027-01-017", "status": "allocated"},
    {"reason": "self_assessment_closed", "qa_ref": "QA-2027-01-017", "status": "awaiting_moderation"},
    {"reason": "self_assessment_closed", "qa_ref": "QA-2027-01-017", "status": "cancelled"},
    {"reason": "self_assessment_missing", "question": "grade", "label": "Assessment"},
    {"reason": "self_assessment_missing", "question": "reflection", "label": "Partnership / multi-agency working"},
    {"reason": "self_assessment_missing", "question": "lived_experience", "label": None},
    {"reason": "self_assessment_missing", "question": "proud_of", "label": None},
    {"reason": "self_assessment_missing", "question": "do_differently", "label": None},
    {"reason": "self_assessment_too_long", "limit": 3000, "length": 3012},
    {"reason": "self_assessment_not_done", "qa_ref": "QA-2027-01-017"},
    {"reason": "self_assessment_restricted", "qa_ref": "QA-2027-01-017"},
]
EXAMPLES["refusal"] += [{"reason": "form_unreadable"}, {"reason": "click_failed"}, {"reason": "form_failed"}]
EXAMPLES["refusal"] += [
    {"reason": "not_the_auditor", "qa_ref": "QA-2027-01-017"},
    {"reason": "audit_before_meeting"},
    {"reason": "audit_needs_feedback", "qa_ref": "QA-2027-01-017"},
    {"reason": "action_owner_not_on_audit"},
    {"reason": "actions_required", "grade": "requires_improvement"},
]
EXAMPLES["pii_refused"] += [{"findings": [{"kind": "case_id", "text": "CS-100234"}]}]
# Moderation
EXAMPLES["moderation_assigned"] = [
    {
        "qa_ref": "QA-2027-01-017",
        "moderation_id": 4,
        "overall": "good",
        "due": AT,
        "inadequate": False,
        "decided": None,
    },
    {
        "qa_ref": "QA-2027-01-017",
        "moderation_id": 4,
        "overall": "inadequate",
        "due": AT,
        "inadequate": True,
        "decided": None,
    },
    {"qa_ref": "QA-2027-01-017", "moderation_id": 4, "overall": "good", "due": AT, "inadequate": False, "decided": AT},
]
EXAMPLES["moderation_form"] = [
    {
        "qa_ref": "QA-2027-01-017",
        "moderation_id": 4,
        "auditor": "Alex Green",
        "due": AT,
        "grades": [
            {"id": "assessment", "rationale_id": "assessment_rationale", "label": "Assessment", "grade": "good"},
            {"id": "planning", "rationale_id": "planning_rationale", "label": "Planning", "grade": None},
            {"id": "overall", "rationale_id": "overall_rationale", "label": "Overall", "grade": "inadequate"},
        ],
        "scale": [
            {"code": "outstanding", "words": "Outstanding"},
            {"code": "good", "words": "Good"},
            {"code": "requires_improvement", "words": "Requires Improvement"},
            {"code": "inadequate", "words": "Inadequate"},
        ],
        "mode": "reflective",
    },
]
_MODERATED = [
    {"domain": "Assessment", "grade": "requires_improvement", "was": "good", "why": "Plan not reviewed."},
    {"domain": "Planning", "grade": "good", "was": "good", "why": None},
    {"domain": "Review", "grade": None, "was": None, "why": None},
]
EXAMPLES["moderation_outcome"] = [
    {
        "qa_ref": "QA-2027-01-017",
        "moderator": "Mo Derator",
        "overall": "requires_improvement",
        "was": "good",
        "why": "The plan was not reviewed.",
        "results": _MODERATED,
        "changed": 2,
    },
    {
        "qa_ref": "QA-2027-01-017",
        "moderator": "Mo Derator",
        "overall": "good",
        "was": "good",
        "why": None,
        "results": _MODERATED[1:],
        "changed": 0,
    },
    # at the input's limit, and longer once escaped
    {
        "qa_ref": "QA-2027-01-017",
        "moderator": "Mo Derator",
        "overall": "good",
        "was": "inadequate",
        "why": "&" * 3000,
        "results": [{"domain": "Assessment", "grade": "good", "was": "inadequate", "why": "<" * 3000}],
        "changed": 1,
    },
]
EXAMPLES["moderation_audit_update"] = [
    {
        "qa_ref": "QA-2027-01-017",
        "auditor": "Alex Green",
        "overall": "requires_improvement",
        "was": "good",
        "results": [{k: r[k] for k in ("domain", "grade", "was")} for r in _MODERATED],
        "actions": [{"description": "Review the plan.", "owner": "Sam Patel", "due": date(2027, 1, 22)}],
    },
    {
        "qa_ref": "QA-2027-01-017",
        "auditor": "Alex Green",
        "overall": "good",
        "was": "good",
        "results": [],
        "actions": [],
    },
]
EXAMPLES["moderation_qa"] = [
    {"kind": "unassigned", "refs": ["QA-2027-01-017"]},
    {"kind": "unassigned", "refs": ["QA-2027-01-017", "QA-2027-01-018"]},
    {"kind": "late", "refs": ["QA-2027-01-017", "QA-2027-01-018"]},
]
EXAMPLES["refusal"] += [
    {"reason": "not_the_moderator", "qa_ref": "QA-2027-01-017", "moved": False},
    {"reason": "not_the_moderator", "qa_ref": "QA-2027-01-017", "moved": True},
    {"reason": "moderation_done", "qa_ref": "QA-2027-01-017", "at": AT},
    {"reason": "moderation_done", "qa_ref": "QA-2027-01-017", "at": None},
    {"reason": "moderation_rationale_needed"},
    {"reason": "moderation_grade_needed"},
    {"reason": "moderation_mode_needed"},
]
EXAMPLES["moderation_outcome"] = [ctx | {"dispute": None} for ctx in EXAMPLES["moderation_outcome"]] + [
    EXAMPLES["moderation_outcome"][0] | {"dispute": 4}
]
EXAMPLES["dispute_form"] = [{"qa_ref": "QA-2027-01-017", "moderation_id": 4, "grade": "requires_improvement"}]
EXAMPLES["dispute_change_form"] = [
    {
        "qa_ref": "QA-2027-01-017",
        "dispute_id": 2,
        "grade": "requires_improvement",
        "scale": [
            {"code": "outstanding", "words": "Outstanding"},
            {"code": "good", "words": "Good"},
            {"code": "requires_improvement", "words": "Requires Improvement"},
            {"code": "inadequate", "words": "Inadequate"},
        ],
    }
]
EXAMPLES["dispute_meeting_form"] = [
    {
        "qa_ref": "QA-2027-01-017",
        "dispute_id": 2,
        "people": [
            {"role": "practitioner", "name": "Sam Patel"},
            {"role": "team_manager", "name": "Priya Shah"},
            {"role": "auditor", "name": "Alex Green"},
            {"role": "moderator", "name": "Mo Derator"},
        ],
    }
]
EXAMPLES["dispute_qa"] = [{"qa_ref": "QA-2027-01-017"}]
_DISPUTE = {
    "qa_ref": "QA-2027-01-017",
    "dispute_id": 2,
    "grade": "requires_improvement",
    "by": "Sam Patel",
    "role": "practitioner",
    "why": "The plan was reviewed at the core group.",
    "status": "open",
    "meeting": None,
    "decided_by": None,
    "decided_at": None,
    "new_grade": None,
}
EXAMPLES["dispute_raised"] = [
    _DISPUTE,
    _DISPUTE | {"role": "team_manager", "status": "meeting_arranged", "meeting": AT},
    _DISPUTE | {"status": "upheld", "decided_by": "Hana Head", "decided_at": AT, "new_grade": "requires_improvement"},
    _DISPUTE | {"status": "changed", "decided_by": "Hana Head", "decided_at": AT, "new_grade": "good"},
    _DISPUTE | {"why": "&" * 2900},
]
_DECIDED = {
    "qa_ref": "QA-2027-01-017",
    "status": "upheld",
    "grade": "requires_improvement",
    "was": "requires_improvement",
    "rationale": None,
    "by": "Hana Head",
    "meeting": None,
}
EXAMPLES["dispute_decided"] = [
    _DECIDED,
    _DECIDED | {"status": "changed", "grade": "good", "rationale": "The plan was reviewed at the core group."},
    _DECIDED | {"status": "changed", "grade": "inadequate", "rationale": "&" * 2900},
    _DECIDED | {"status": "meeting_arranged", "meeting": AT},
]
EXAMPLES["refusal"] += [
    {"reason": "dispute_not_yours", "qa_ref": "QA-2027-01-017"},
    {"reason": "dispute_not_moderated", "qa_ref": "QA-2027-01-017"},
    {"reason": "dispute_already_open", "qa_ref": "QA-2027-01-017"},
    {"reason": "dispute_too_late", "qa_ref": "QA-2027-01-017", "by": AT},
    {"reason": "dispute_reason_needed"},
    {"reason": "dispute_too_long", "limit": 2900, "length": 3001},
    {"reason": "not_qa_head", "qa_ref": "QA-2027-01-017"},
    {"reason": "dispute_decided", "qa_ref": "QA-2027-01-017", "by": "Hana Head", "at": AT, "status": "upheld"},
    {"reason": "dispute_decided", "qa_ref": "QA-2027-01-017", "by": "Hana Head", "at": None, "status": "changed"},
    {"reason": "dispute_meeting_arranged", "qa_ref": "QA-2027-01-017", "at": AT},
    {"reason": "dispute_meeting_when"},
    {"reason": "dispute_same_grade"},
    {"reason": "dispute_rationale_needed"},
]

PATHWAY = {
    "task_id": 4,
    "qa_ref": "QA-2027-04-002",
    "first_ref": "QA-2027-01-017",
    "cycle": 1,
    "due": AT,
    "reaudit": "July 2027",
    "ad": "Ada Director",
    "resolvers": ["Helen Head", "Sara Service"],
    "status": "pending",
    "done_by": None,
    "done_at": None,
    "held_on": None,
    "withdrawn_grade": None,
}
EXAMPLES["inadequate_task"] = [
    PATHWAY | {"kind": "reflective_meeting", "cycle": 0, "first_ref": None, "resolvers": []},
    PATHWAY | {"kind": "ad_escalation"},
    PATHWAY | {"kind": "ad_escalation", "ad": None, "resolvers": []},
    PATHWAY | {"kind": "resolution"},
    PATHWAY | {"kind": "executive", "cycle": 2},
    PATHWAY
    | {"kind": "reflective_meeting", "cycle": 0, "status": "done", "done_by": "Sara Service", "done_at": AT}
    | {"held_on": date(2027, 1, 20)},
    PATHWAY | {"kind": "ad_escalation", "status": "done", "done_by": "Ann Safeguard", "done_at": AT},
    PATHWAY | {"kind": "resolution", "status": "done", "done_by": "Helen Head", "done_at": AT},
    PATHWAY | {"kind": "executive", "cycle": 3, "status": "done", "done_by": "Ed Exec", "done_at": AT},
    PATHWAY | {"kind": "reflective_meeting", "status": "withdrawn", "withdrawn_grade": "requires_improvement"},
]
# A step of the pathway as a digest lists it (see action_digest below).
PATHWAY_ITEM = {
    k: v for k, v in PATHWAY.items() if k not in ("status", "done_by", "done_at", "held_on", "withdrawn_grade")
}
EXAMPLES["inadequate_notice"] = [
    {"kind": "escalated_to_you", "qa_ref": "QA-2027-04-002", "by": "Ann Safeguard", "resolvers": ["Helen Head"]},
    {"kind": "escalated_to_you", "qa_ref": "QA-2027-04-002", "by": "Ann Safeguard", "resolvers": []},
    {"kind": "resolved", "qa_ref": "QA-2027-04-002", "by": "Helen Head", "note": "A new plan with the school."},
    {"kind": "final", "qa_ref": "QA-2027-07-001"},
    {"kind": "cycle_ended", "qa_ref": "QA-2027-04-002", "grade": "good", "first_ref": "QA-2027-01-017"},
]
EXAMPLES["inadequate_qa"] = [
    {
        "kind": "confirmed",
        "qa_ref": "QA-2027-01-017",
        "cycle": 0,
        "tasks": ["reflective_meeting"],
        "unasked": [],
        "reaudit": "April 2027",
    },
    {
        "kind": "confirmed",
        "qa_ref": "QA-2027-04-002",
        "cycle": 1,
        "tasks": ["ad_escalation", "resolution"],
        "unasked": ["ad_escalation"],
        "reaudit": "July 2027",
    },
    {"kind": "withdrawn", "qa_ref": "QA-2027-01-017", "grade": "requires_improvement"},
    {"kind": "cycle_ended", "qa_ref": "QA-2027-04-002", "grade": "good", "first_ref": "QA-2027-01-017"},
    {"kind": "reaudit_held", "qa_ref": "QA-2027-01-017", "month": "April 2027", "reason": "no_auditor"},
    {"kind": "reaudit_held", "qa_ref": None, "month": "April 2027", "reason": "no_worker"},
    {"kind": "late", "items": [{"qa_ref": "QA-2027-01-017", "kind": "reflective_meeting", "due": AT}]},
    {"kind": "reflective_meeting_done", "qa_ref": "QA-2027-01-017", "held_on": date(2027, 1, 20)},
    {"kind": "ad_escalation_done", "qa_ref": "QA-2027-04-002", "held_on": None},
    {"kind": "resolution_done", "qa_ref": "QA-2027-04-002", "held_on": None},
    {"kind": "executive_done", "qa_ref": "QA-2027-07-001", "held_on": None},
]
EXAMPLES["inadequate_form"] = [
    {"task_id": 4, "kind": "reflective_meeting", "qa_ref": "QA-2027-01-017", "attendees": ["practitioner", "auditor"]},
    {"task_id": 5, "kind": "resolution", "qa_ref": "QA-2027-04-002", "attendees": []},
]
EXAMPLES["allocation_request"] += [ALLOCATION | {"reaudit_of": "QA-2026-10-003"}]
EXAMPLES["refusal"] += [
    {"reason": "pathway_not_asked", "qa_ref": "QA-2027-01-017"},
    {"reason": "pathway_withdrawn", "qa_ref": "QA-2027-01-017", "grade": "requires_improvement"},
    {"reason": "pathway_done", "qa_ref": "QA-2027-01-017", "by": "Sara Service", "at": AT},
    {"reason": "pathway_held_on_needed"},
    {"reason": "pathway_held_on_future"},
    {"reason": "pathway_held_on_before", "at": AT},
    {"reason": "pathway_note_needed"},
    {"reason": "pathway_note_too_long", "limit": 2900},
]
EXAMPLES["moderation_outcome"] += [
    EXAMPLES["moderation_outcome"][0]
    | {"settled": {"status": "upheld", "grade": "requires_improvement", "by": "Hana"}},
    EXAMPLES["moderation_outcome"][1] | {"settled": {"status": "changed", "grade": "inadequate", "by": "Hana"}},
]
EXAMPLES["moderation_audit_update"] += [
    EXAMPLES["moderation_audit_update"][0] | {"settled": {"status": "changed", "grade": "good", "by": "Hana"}},
    EXAMPLES["moderation_audit_update"][1] | {"settled": {"status": "upheld", "grade": "good", "by": "Hana"}},
]
# Good practice: the moderator's box, the auditor's button and form, the QA channel, the QA team's App Home
EXAMPLES["moderation_form"] = [ctx | {"good_practice": True} for ctx in EXAMPLES["moderation_form"]] + [
    EXAMPLES["moderation_form"][0] | {"good_practice": False}
]
EXAMPLES["moderation_outcome"] = [ctx | {"nominate": None, "nominated": None} for ctx in EXAMPLES["moderation_outcome"]]
EXAMPLES["moderation_outcome"] += [
    EXAMPLES["moderation_outcome"][1] | {"nominate": 17},
    EXAMPLES["moderation_outcome"][1] | {"nominated": {"role": "moderator", "yours": False, "at": AT}},
    EXAMPLES["moderation_outcome"][1] | {"nominated": {"role": "auditor", "yours": True, "at": AT}},
]
EXAMPLES["moderation_assigned"] = [ctx | {"nominated": False} for ctx in EXAMPLES["moderation_assigned"]] + [
    EXAMPLES["moderation_assigned"][-1] | {"nominated": True}
]
EXAMPLES["good_practice_form"] = [{"qa_ref": "QA-2027-01-017", "audit_id": 17, "grade": "outstanding"}]
EXAMPLES["good_practice_qa"] = [
    {"qa_ref": "QA-2027-01-017", "grade": "good", "role": "auditor"},
    {"qa_ref": "QA-2027-01-017", "grade": "outstanding", "role": "moderator"},
]
EXAMPLES["refusal"] += [
    {"reason": "good_practice_restricted", "qa_ref": "QA-2027-01-017"},
    {"reason": "good_practice_already", "qa_ref": "QA-2027-01-017", "by": "Mo Derator", "role": "moderator", "at": AT},
    {"reason": "good_practice_already", "qa_ref": "QA-2027-01-017", "by": "Alex Green", "role": "auditor", "at": None},
    {
        "reason": "good_practice_grade",
        "qa_ref": "QA-2027-01-017",
        "grade": "requires_improvement",
        "eligible": ["outstanding", "good"],
    },
    {"reason": "good_practice_grade", "qa_ref": "QA-2027-01-017", "grade": None, "eligible": ["outstanding", "good"]},
    {"reason": "good_practice_reason_needed"},
    {"reason": "good_practice_not_ticked"},
    {"reason": "good_practice_too_long", "limit": 2900, "length": 3001},
    {"reason": "allocation_reason_too_long", "limit": 1000, "length": 100_001},
]
# Group moderation meetings
_GROUP_ITEMS = [
    {"moderation_id": 5, "qa_ref": "QA-2027-01-018", "overall": "inadequate", "urgent": True},
    {"moderation_id": 4, "qa_ref": "QA-2027-01-017", "overall": "good", "urgent": False},
]
EXAMPLES["group_moderation_form"] = [
    {
        "period": "2027-01",
        "month": "January 2027",
        "items": _GROUP_ITEMS,
        "more": 0,
        "limit": 40,
        "today": date(2027, 1, 11),
        "chair_user": "U0QA",
    },
    {
        "period": "2027-01",
        "month": "January 2027",
        "items": [{"moderation_id": 6, "qa_ref": "QA-2027-01-019", "overall": None, "urgent": False}],
        "more": 3,
        "limit": 1,
        "today": date(2027, 1, 11),
        "chair_user": "U0QA",
    },
]
_SESSION_ITEMS = [item | {"recorded": False, "grade": None} for item in _GROUP_ITEMS]
EXAMPLES["moderation_session"] = [
    {"held_on": date(2027, 1, 18), "items": _SESSION_ITEMS, "complete": False},
    {
        "held_on": date(2027, 1, 18),
        "items": [_SESSION_ITEMS[0] | {"recorded": True, "grade": "requires_improvement"}, _SESSION_ITEMS[1]],
        "complete": False,
    },
    {
        "held_on": date(2027, 1, 18),
        "items": [
            _SESSION_ITEMS[0] | {"recorded": True, "grade": "inadequate"},
            _SESSION_ITEMS[1] | {"recorded": True, "grade": None, "overall": None},
        ],
        "complete": True,
    },
]
EXAMPLES["moderation_moved"] = [
    {"qa_ref": "QA-2027-01-017", "held_on": date(2027, 1, 18), "chair": "Quinn QA", "yours": False},
    {"qa_ref": "QA-2027-01-017", "held_on": date(2027, 1, 18), "chair": "Mo Derator", "yours": True},
]
EXAMPLES["moderation_session_summary"] = [
    {"held_on": date(2027, 1, 18), "audits": 1, "changed": 1},
    {"held_on": date(2027, 1, 18), "audits": 12, "changed": 0},
]
EXAMPLES["refusal"] += [
    {"reason": "group_not_qa_team"},
    {"reason": "group_nothing_pending", "month": "January 2027"},
    {"reason": "group_date_needed"},
    {"reason": "group_date_past"},
    {"reason": "group_no_audits"},
    {"reason": "group_not_pending", "refs": ["QA-2027-01-017"]},
    {"reason": "group_not_pending", "refs": ["QA-2027-01-017", "QA-2027-01-018"]},
    {"reason": "group_too_many", "limit": 40, "chosen": 41},
    {"reason": "group_chair_needed"},
    {"reason": "group_chair_unknown"},
    {"reason": "group_chair_role", "name": "Tom Teamlead"},
    {"reason": "group_chair_not_independent", "name": "Fay Close", "refs": ["QA-2027-01-017"]},
    {"reason": "group_chair_not_independent", "name": "Fay Close", "refs": ["QA-2027-01-017", "QA-2027-01-018"]},
]

ESCALATION = {
    "escalation_id": 3,
    "policy": "overdue_action",
    "qa_ref": "QA-2027-01-017",
    "due": AT,
    "role": "service_manager",
    "asked": "Sara Service",
    "respond_by": AT,
    "status": "pending",
    "decision": None,
    "decided_by": None,
    "decided_at": None,
    "top": False,
    "what": "Update the child's plan with the school.",
    "owner": "Sam Patel",
    "acknowledged_at": None,
    "yours": False,
}
EXAMPLES["escalation_request"] = [
    ESCALATION | {"came": "started", "by": None},
    ESCALATION | {"came": "climbed", "by": None, "role": "head_of_service", "asked": "Helen Head"},
    ESCALATION | {"came": "reminded", "by": None, "role": "executive_director", "asked": "Ed Exec", "top": True},
    ESCALATION | {"came": "escalated_now", "by": "Sara Service", "role": "assistant_director", "asked": "Ada"},
    ESCALATION | {"came": "escalated_now", "by": None},
    ESCALATION | {"came": "closed", "by": None, "role": "head_of_service", "asked": "Helen Head"},
    ESCALATION
    | {
        "came": "closed",
        "by": None,
        "status": "resolved",
        "decision": "resolved",
        "decided_by": "Helen",
        "decided_at": AT,
    },
    ESCALATION | {"came": "closed", "by": None, "status": "settled", "decision": "settled", "decided_at": AT},
    ESCALATION
    | {"came": "started", "by": None, "policy": "overdue_moderation", "what": None, "owner": None, "asked": None},
]
_ABOUT = {k: ESCALATION[k] for k in ("policy", "qa_ref", "owner", "due", "asked", "role", "acknowledged_at", "yours")}
_NOTICE = _ABOUT | {"note": None, "new_date": None}
EXAMPLES["escalation_notice"] = [
    _NOTICE | {"what_happened": "started", "decided_by": None, "yours": True},
    _NOTICE | {"what_happened": "started", "decided_by": None, "yours": True, "policy": "overdue_moderation"},
    _NOTICE | {"what_happened": "resolved", "decided_by": "Helen Head", "yours": True, "note": "Shared on Monday."},
    _NOTICE | {"what_happened": "climbed", "decided_by": None},
    _NOTICE | {"what_happened": "resolved", "decided_by": "Helen Head"},
    _NOTICE | {"what_happened": "resolved", "decided_by": "Helen Head", "note": "Shared with the school > on Monday."},
    _NOTICE | {"what_happened": "extended", "decided_by": "Helen Head", "new_date": ESCALATION["due"], "note": "Away."},
    _NOTICE | {"what_happened": "settled", "decided_by": None, "policy": "overdue_moderation"},
]
EXAMPLES["escalation_qa"] = [
    {"kind": "nobody", "qa_ref": "QA-2027-01-017", "policy": "overdue_action"},
    {"kind": "stuck", "qa_ref": "QA-2027-01-017", "policy": "overdue_moderation"},
]
EXAMPLES["escalation_form"] = [_ABOUT | {"form": form, "escalation_id": 3} for form in ("resolve", "extend")]
EXAMPLES["refusal"] += [
    {"reason": "escalation_not_yours", "qa_ref": "QA-2027-01-017", "holder": "Sara Service"},
    {"reason": "escalation_decided", "qa_ref": "QA-2027-01-017", "by": "Sara Service", "at": AT},
    {"reason": "escalation_decided", "qa_ref": "QA-2027-01-017", "by": None, "at": None},
    {"reason": "escalation_at_top", "qa_ref": "QA-2027-01-017"},
    {"reason": "escalation_note_needed"},
    {"reason": "escalation_note_too_long", "limit": 2900},
    {"reason": "escalation_date_needed"},
    {"reason": "escalation_date_not_working"},
    {"reason": "escalation_date_too_far", "limit": 20},
    {"reason": "escalation_reason_needed"},
]
EXAMPLES["escalation_request"] += [
    ESCALATION | {"came": "started", "by": None, "policy": "overdue_pathway_step", "what": None, "owner": kind}
    for kind in ("reflective_meeting", "resolution")
]
EXAMPLES["escalation_qa"] += [{"kind": "nobody", "qa_ref": "QA-2027-01-017", "policy": "overdue_pathway_step"}]
# An acknowledged immediate safeguarding concern with nothing recorded: Resolve only, whatever the level.
_SAFEGUARDING_ESCALATION = ESCALATION | {
    "policy": "safeguarding",
    "what": None,
    "owner": "Kim Lee",
    "acknowledged_at": AT,
    "role": "assistant_director",
    "asked": "Ali Reed",
}
EXAMPLES["escalation_request"] += [
    _SAFEGUARDING_ESCALATION | {"came": "reminded", "by": None},
    _SAFEGUARDING_ESCALATION | {"came": "climbed", "by": None},
    _SAFEGUARDING_ESCALATION | {"came": "reminded", "by": None, "top": True, "role": "executive_director"},
    _SAFEGUARDING_ESCALATION | {"came": "closed", "by": None, "status": "acknowledged"},
    _SAFEGUARDING_ESCALATION
    | {
        "came": "closed",
        "by": None,
        "status": "resolved",
        "decision": "resolved",
        "decided_by": "Jo",
        "decided_at": AT,
    },
]
EXAMPLES["escalation_notice"] += [
    {k: _SAFEGUARDING_ESCALATION[k] for k in _ABOUT}
    | {"what_happened": "climbed", "decided_by": None, "note": None, "new_date": None}
]
EXAMPLES["escalation_form"] += [
    {k: _SAFEGUARDING_ESCALATION[k] for k in _ABOUT} | {"form": "resolve", "escalation_id": 5}
]
EXAMPLES["escalation_qa"] += [{"kind": "stuck", "qa_ref": "QA-2027-01-017", "policy": "safeguarding"}]
EXAMPLES["refusal"] += [{"reason": "safeguarding_not_acknowledged", "qa_ref": "QA-2027-01-017"}]
EXAMPLES["moderation_outcome"] = [
    ctx | {"dispute_by": AT if ctx.get("dispute") else None} for ctx in EXAMPLES["moderation_outcome"]
]

# --- daily digests: each person's one message a day of what is due to them, each item with Snooze ------------------
_ITEM = {"qa_ref": "QA-2027-01-017", "description": "Update the plan.\nShare it with the family.", "due": AT}
_DIGEST_ITEMS = [
    _ITEM | {"kind": "overdue", "id": 1, "owner": "Sam Patel", "snoozed_until": None},
    _ITEM | {"kind": "due_today", "id": 2, "owner": "Sam Patel", "snoozed_until": None},
    _ITEM | {"kind": "due_soon", "id": 3, "owner": "Sam Patel", "snoozed_until": date(2027, 1, 8)},
    _ITEM | {"kind": "sign_off", "id": 4, "owner": "Sam Patel", "snoozed_until": None},
    _ITEM | {"kind": "sign_off", "id": 5, "owner": None, "snoozed_until": None},
    {"kind": "supervision", "id": 17, "qa_ref": "QA-2027-01-017", "open": 2, "weeks": 8, "snoozed_until": None},
    {"kind": "supervision", "id": 18, "qa_ref": "QA-2027-01-018", "open": 1, "weeks": 4, "snoozed_until": None},
]
# Every other reminder, as an item of the digest with the buttons that answer it.
_ASKED_ITEMS = [
    {"kind": "accept", "id": 17, "qa_ref": "QA-2027-01-017", "accept_by": ACCEPT_BY, "decided": None},
    {"kind": "accept", "id": 18, "qa_ref": "QA-2027-01-018", "accept_by": ACCEPT_BY, "decided": None},
    {
        "kind": "accept",
        "id": 19,
        "qa_ref": "QA-2027-01-019",
        "accept_by": ACCEPT_BY,
        "decided": {"status": "declined", "by": "Alex Green", "at": AT},
    },
    {"kind": "meeting", "id": 17, "qa_ref": "QA-2027-01-017", "when": AT},
    *(
        {"kind": "self_assessment", "id": 17 + n, "qa_ref": "QA-2027-01-017"} | facts
        for n, facts in enumerate(
            (
                {"meeting": AT, "due": date(2027, 1, 5), "on_the_day": False},
                {"meeting": AT, "due": date(2027, 1, 5), "on_the_day": True},
                {"meeting": None, "due": None, "on_the_day": False},
            )
        )
    ),
    {"kind": "moderation", "id": 4, "qa_ref": "QA-2027-01-017", "due": AT, "overdue": False},
    {"kind": "moderation", "id": 5, "qa_ref": "QA-2027-01-018", "due": AT, "overdue": True},
    *(
        PATHWAY_ITEM | {"kind": "pathway", "id": n, "step": step, "overdue": overdue} | extra
        for n, (step, overdue, extra) in enumerate(
            (
                ("reflective_meeting", False, {"cycle": 0}),
                ("ad_escalation", True, {}),
                ("resolution", True, {}),
                ("executive", False, {"cycle": 2}),
            )
        )
    ),
]
_SNOOZE_DAYS = [date(2027, 1, d) for d in (7, 8, 11, 12, 13, 14, 15, 18, 19, 20)]
EXAMPLES["action_digest"] = [
    {"on": date(2027, 1, 6), "items": _DIGEST_ITEMS[:1], "snooze_days": _SNOOZE_DAYS},
    {"on": date(2027, 1, 6), "items": _DIGEST_ITEMS, "snooze_days": _SNOOZE_DAYS},
    {"on": date(2027, 1, 6), "items": _ASKED_ITEMS[:1], "snooze_days": _SNOOZE_DAYS},
    {"on": date(2027, 1, 6), "items": _ASKED_ITEMS + _DIGEST_ITEMS, "snooze_days": _SNOOZE_DAYS},
    # More than fit in one message: the rest are named.
    {"on": date(2027, 1, 6), "items": [_DIGEST_ITEMS[1] | {"id": n} for n in range(43)], "snooze_days": _SNOOZE_DAYS},
    {"on": date(2027, 1, 6), "items": [_ASKED_ITEMS[0] | {"id": n} for n in range(30)], "snooze_days": _SNOOZE_DAYS},
]
EXAMPLES["refusal"] += [
    {"reason": "snooze_not_yours", "qa_ref": "QA-2027-01-017", "name": "Sam Patel"},
    {"reason": "snooze_nothing_due", "qa_ref": "QA-2027-01-017"},
    {"reason": "snooze_date_past"},
    {"reason": "snooze_date_not_working"},
    {"reason": "snooze_date_too_far", "limit": 10},
]
# SMART actions to completion: marked done, signed off or reopened, extended (a second by the Service Manager)
_ACTION = {
    "qa_ref": "QA-2027-01-017",
    "action_id": 5,
    "description": "Update the plan.\nShare it with the family.",
    "owner": "Sam Patel",
    "due": AT,
}
EXAMPLES["action_update"] = [
    {k: v for k, v in _ACTION.items() if k != "owner"}
    | {"came": came, "by": "Jo Brown", "reason": reason, "to": to}
    | state
    for came, reason, to, state in (
        ("signed_off", None, None, _SIGNED_STATE),
        ("reopened", "The plan still needs the school's part.", None, _ACTION_STATE),
        ("reopened", "Not yet.", None, _DONE_STATE),
        ("extended", "The school is closed for half term.", date(2027, 2, 19), _ACTION_STATE),
    )
]
_DONE = _ACTION | {
    "by": "Sam Patel",
    "note": "Shared at the core group.",
    "link": "https://records.example/plan/17",
    "late": False,
    "to_qa": False,
    "status": "done",
    "decided_by": None,
    "decided_at": None,
    "reason": None,
}
EXAMPLES["action_done"] = [
    _DONE,
    _DONE | {"by": "Cora Cover", "note": None, "late": True},
    _DONE | {"link": None},
    _DONE | {"status": "signed_off", "decided_by": "Jo Brown", "decided_at": AT},
    _DONE | {"status": "open", "decided_by": "Jo Brown", "decided_at": AT, "reason": "The school's part is missing."},
    _DONE | dict.fromkeys(("description", "owner", "by", "note", "link")) | {"to_qa": True},
]
_LISTED = _ACTION | {"status": "open", "extensions": 0, "asked": None, "extend": True}
EXAMPLES["action_list"] = [
    {
        "qa_ref": "QA-2027-01-017",
        "service_manager": "Sara Service",
        "actions": [
            _LISTED,
            _LISTED | {"action_id": 6, "status": "done", "extend": False},
            _LISTED | {"action_id": 7, "extensions": 1, "asked": "Sara Service", "extend": False},
            _LISTED | {"action_id": 8, "status": "signed_off", "extensions": 2, "extend": False},
        ],
    },
    {"qa_ref": "QA-2027-01-017", "service_manager": None, "actions": [_LISTED]},
]
EXAMPLES["action_done_form"] = [_ACTION]
EXAMPLES["action_reopen_form"] = [
    _ACTION | {"note": "Shared at the core group.", "link": "https://records.example/plan/17"},
    _ACTION | {"note": None, "link": None},
]
EXAMPLES["action_extend_form"] = [
    _ACTION | {"second": False, "service_manager": "Sara Service", "latest": date(2027, 2, 3)},
    _ACTION | {"second": True, "service_manager": "Sara Service", "latest": date(2027, 2, 3)},
    _ACTION | {"second": True, "service_manager": None, "latest": date(2027, 2, 3)},
]
_REQUEST = {k: _ACTION[k] for k in ("qa_ref", "description", "owner")} | {
    "extension_id": 2,
    "requested_by": "Jo Brown",
    "was": AT,
    "to": datetime(2027, 2, 3, 17, 30, tzinfo=UTC),
    "reason": "The family is away.",
    "first_reason": "Half term.",
    "status": "requested",
    "decided_by": None,
    "decided_at": None,
}
EXAMPLES["action_extension_request"] = [
    _REQUEST,
    _REQUEST | {"first_reason": None},
    _REQUEST | {"status": "approved", "decided_by": "Sara Service", "decided_at": AT},
    _REQUEST | {"status": "refused", "decided_by": "Sara Service", "decided_at": AT},
]
EXAMPLES["action_extension_decided"] = [
    {k: _REQUEST[k] for k in ("qa_ref", "description", "owner", "to", "was")} | {"status": status, "by": "Sara Service"}
    for status in ("approved", "refused")
]
EXAMPLES["refusal"] += [
    {"reason": "action_not_owner", "qa_ref": "QA-2027-01-017", "owner": "Sam Patel"},
    {"reason": "action_not_team_manager", "qa_ref": "QA-2027-01-017", "holder": "Jo Brown"},
    {"reason": "action_not_team_manager", "qa_ref": "QA-2027-01-017", "holder": None},
    {"reason": "action_extend_not_team_manager", "qa_ref": "QA-2027-01-017", "holder": "Jo Brown"},
    {"reason": "action_already_done", "qa_ref": "QA-2027-01-017", "by": "Sam Patel", "at": AT},
    {"reason": "action_signed_off", "qa_ref": "QA-2027-01-017", "by": "Jo Brown", "at": AT},
    {"reason": "action_signed_off", "qa_ref": "QA-2027-01-017", "by": None, "at": None},
    {"reason": "action_reopened", "qa_ref": "QA-2027-01-017", "by": "Jo Brown", "at": AT},
    {"reason": "action_not_done", "qa_ref": "QA-2027-01-017"},
    {"reason": "action_done_needs_note"},
    {"reason": "action_note_too_long", "limit": 2900},
    {"reason": "action_link_invalid"},
    {"reason": "action_reopen_reason_needed"},
    {"reason": "action_extend_reason_needed"},
    {"reason": "action_date_needed"},
    {"reason": "action_date_not_working"},
    {"reason": "action_date_too_far", "limit": 20, "latest": date(2027, 2, 3)},
    {"reason": "action_date_not_later", "due": AT},
    {"reason": "action_extend_done", "qa_ref": "QA-2027-01-017"},
    {"reason": "action_extension_pending", "qa_ref": "QA-2027-01-017", "asked": "Sara Service", "at": AT},
    {"reason": "action_extension_refused", "qa_ref": "QA-2027-01-017", "by": "Sara Service", "at": AT},
    {"reason": "action_extension_limit", "qa_ref": "QA-2027-01-017", "due": AT},
    {"reason": "action_extended", "qa_ref": "QA-2027-01-017", "by": "Jo Brown", "due": AT},
    {"reason": "action_no_service_manager", "qa_ref": "QA-2027-01-017"},
    {"reason": "action_extension_not_yours", "qa_ref": "QA-2027-01-017", "holder": "Sara Service"},
    {"reason": "action_extension_decided", "qa_ref": "QA-2027-01-017", "status": "approved", "by": "Sara", "at": AT},
    {"reason": "action_extension_decided", "qa_ref": "QA-2027-01-017", "status": "refused", "by": None, "at": None},
]

SCALE = ["outstanding", "good", "requires_improvement", "inadequate"]
REPORT = {
    "quarter": "2027Q1",
    "period": "January to March 2027",
    "as_of": datetime(2027, 4, 1, 8, 0, tzinfo=UTC),
    "scale": SCALE,
    "audits": {
        "allocated": 12,
        "completed": 10,
        "months": [
            {"label": "January 2027", "allocated": 4, "completed": 4},
            {"label": "February 2027", "allocated": 4, "completed": 4},
            {"label": "March 2027", "allocated": 4, "completed": 2},
        ],
    },
    "grades": {
        "overall": [1, 5, 3, 1],
        "months": [
            {"label": "January 2027", "counts": [0, 2, 1, 1]},
            {"label": "February 2027", "counts": [1, 2, 1, 0]},
            {"label": "March 2027", "counts": [0, 1, 1, 0]},
        ],
        "domains": [
            {"label": "Assessment", "counts": [1, 6, 3, 0]},
            {"label": "Management Oversight & Supervision", "counts": [0, 0, 0, 0]},
        ],
        "services": [
            {"label": "Children We Care For", "counts": [0, 2, 1, 0]},
            {"label": "Family Support", "counts": [1, 3, 2, 1]},
        ],
    },
    "moderation": {"audits": 8, "grades": 56, "changed": 6, "overall_changed": 2, "kappa": 0.636, "kappa_n": 8},
    "voice": {"answered": 10, "yes": 6, "partly": 3, "no": 1},
    "actions": {"due": 20, "on_time": 14, "late": 3, "overdue": 2, "not_yet_due": 1},
    "escalations": {
        "total": 3,
        "levels": [
            {"role": "service_manager", "count": 2},
            {"role": "head_of_service", "count": 1},
            {"role": "assistant_director", "count": 0},
            {"role": "executive_director", "count": 0},
        ],
    },
    "themes": [{"label": "Child's voice", "count": 3}, {"label": "Management oversight", "count": 1}],
    "again": False,
}
NOTHING = {
    "audits": {"allocated": 0, "completed": 0, "months": [{"label": "April 2027", "allocated": 0, "completed": 0}]},
    "grades": {"overall": [0, 0, 0, 0], "months": [], "domains": [], "services": []},
    "moderation": {"audits": 0, "grades": 0, "changed": 0, "overall_changed": 0, "kappa": None, "kappa_n": 0},
    "voice": {"answered": 0, "yes": 0, "partly": 0, "no": 0},
    "actions": {"due": 0, "on_time": 0, "late": 0, "overdue": 0, "not_yet_due": 0},
    "escalations": {"total": 0, "levels": [{"role": "service_manager", "count": 0}]},
    "themes": [],
}
EXAMPLES["quarterly_report"] = [
    REPORT,
    REPORT | {"again": True},
    REPORT | NOTHING,
    # Many services and themes: the first ten of each, the rest in the CSV.
    REPORT
    | {
        "grades": REPORT["grades"]
        | {"services": [{"label": f"Service {n}", "counts": [1, 1, 0, 0]} for n in range(14)]},
        "themes": [{"label": f"Theme {n}", "count": 1} for n in range(12)],
        "escalations": {"total": 1, "levels": [{"role": "service_manager", "count": 0}]},
    },
]
EXAMPLES["report_queued"] = [{"quarter": "2027Q1"}]
EXAMPLES["refusal"] += [
    {"reason": "report_not_qa_team"},
    {"reason": "report_bad_quarter", "problem": "a quarter looks like 2027Q1 (the year, Q, then 1 to 4)"},
    {"reason": "report_no_channel"},
    {"reason": "report_nothing", "quarter": "2026Q3"},
]
# Learning highlights and the month's top ten
EXAMPLES["highlight_form"] = [{}]
EXAMPLES["learning_highlight"] = [
    {
        "theme": "The child's voice in plans",
        "learned": "Plans written with the child, in their words, were followed through.\nReviews noticed it.",
        "link": "https://intranet.example/practice/voice-of-the-child",
        "author": "Quinn QA",
    },
    {"theme": "Supervision", "learned": "Group supervision & reflection helped.", "link": None, "author": "Quinn QA"},
]
_TOPTEN_ITEMS = [
    {"title": None, "grade": "outstanding", "service": "Children's Social Care", "text": "Direct work was creative."},
    {"title": "The child's voice in plans", "grade": None, "service": None, "text": "Plans in the child's words."},
    {"title": None, "grade": "good", "service": None, "text": "The chronology was kept up to date & used."},
]
_TOPTEN = {"topten_id": 3, "month": "January 2027", "items": _TOPTEN_ITEMS}
EXAMPLES["topten_draft"] = [
    _TOPTEN | {"status": "draft", "approved_by": None, "approved_at": None},
    _TOPTEN | {"status": "posted", "approved_by": "Hana Head", "approved_at": AT},
    _TOPTEN | {"items": [_TOPTEN_ITEMS[1]] * 10, "status": "draft", "approved_by": None, "approved_at": None},
]
EXAMPLES["topten_form"] = [
    _TOPTEN | {"values": [item["text"] for item in _TOPTEN_ITEMS]},
    _TOPTEN | {"items": [_TOPTEN_ITEMS[0]] * 10, "values": ["Direct work was creative."] * 10},
]
EXAMPLES["topten_post"] = [
    {"month": "January 2027", "items": _TOPTEN_ITEMS},
    {"month": "January 2027", "items": [_TOPTEN_ITEMS[1]] * 10},
]
EXAMPLES["refusal"] += [
    {"reason": "learning_not_qa_team"},
    {"reason": "learning_no_channel"},
    {"reason": "highlight_theme_needed", "theme_limit": 120, "learned_limit": 2900},
    {"reason": "highlight_theme_too_long", "theme_limit": 120, "learned_limit": 2900},
    {"reason": "highlight_learned_needed", "theme_limit": 120, "learned_limit": 2900},
    {"reason": "highlight_learned_too_long", "theme_limit": 120, "learned_limit": 2900},
    {"reason": "highlight_bad_link", "theme_limit": 120, "learned_limit": 2900},
    {"reason": "topten_nothing", "month": "January 2027"},
    {"reason": "topten_not_approver", "month": "January 2027"},
    {"reason": "topten_decided", "month": "January 2027", "by": "Hana Head", "at": AT},
    {"reason": "topten_decided", "month": "January 2027", "by": "someone", "at": None},
    {"reason": "topten_empty"},
    {"reason": "topten_changed"},
    {"reason": "topten_too_long", "limit": 2900},
]
EXAMPLES["export_made"] = [
    {
        "by": "Quinn QA",
        "reason": "Ofsted self-evaluation",
        "start": date(2027, 1, 1),
        "end": date(2027, 3, 31),
        "person": False,
    },
    {"by": "Quinn QA", "reason": "SAR <ref 12>", "start": date(2026, 1, 1), "end": AT, "person": True},
]

# --- App Home by role ----------------------------------------------------------------------------------------------


def _home_section(kind: str, items: list[dict], count: int | None = None) -> dict:
    return {"kind": kind, "items": items, "count": len(items) if count is None else count}


_HOME_AUDIT = {"qa_ref": "QA-2027-01-017", "restricted": False, "id": 17, **PEOPLE}
_HOME_HIDDEN = {"qa_ref": "QA-2027-01-018", "restricted": True, "id": 18}
_HOME_THEMED = _HOME_AUDIT | {"theme": "Neglect: is the child's <lived> experience understood?"}
_HOME_THEME = {
    "qa_ref": "TH-2027-01",
    "restricted": False,
    "id": 4,
    "title": "Neglect: is the child's lived experience understood?",
    "state": "auditing",
}
HOME_PROGRESS = {
    "month": "2027-01",
    "month_words": "January 2027",
    "allocated": 12,
    "accepted": 10,
    "audited": 6,
    "moderated": 4,
    "unaccepted": 2,
    "late_moderations": 1,
    "safeguarding": 1,
    "learning_queue": 3,
}
HOME_WAITING = [
    _home_section(
        "accept",
        [
            _HOME_AUDIT | {"status": "allocated", "due": ACCEPT_BY},
            _HOME_HIDDEN,
            _HOME_THEMED | {"status": "allocated", "due": ACCEPT_BY},
        ],
    ),
    _home_section("meeting", [_HOME_AUDIT | {"status": "accepted", "due": ACCEPT_BY}]),
    _home_section("feedback", [_HOME_AUDIT | {"status": "in_progress", "due": None}]),
    _home_section(
        "complete",
        [_HOME_AUDIT | {"status": "in_progress", "due": ACCEPT_BY}, _HOME_THEMED | {"status": "accepted", "due": None}],
    ),
    _home_section(
        "self_assessment",
        [
            _HOME_AUDIT | {"status": "accepted", "due": ACCEPT_BY, "meeting": AT},
            _HOME_AUDIT | {"status": "accepted", "due": None, "meeting": None, "auditor": None},
        ],
    ),
    _home_section(
        "actions",
        [
            {**_HOME_AUDIT, "state": "open", "due": AT, "overdue": True, "description": "Visit <@U1> & agree\nplan"},
            {**_HOME_AUDIT, "state": "open", "due": AT, "overdue": False, "description": "Update the plan"},
            {**_HOME_AUDIT, "state": "done", "due": AT, "overdue": False, "description": "Chronology"},
        ],
    ),
    _home_section("sign_off", [{**_HOME_AUDIT, "owner": "Sam Patel", "done_at": AT, "description": "Chronology"}]),
    _home_section(
        "moderations",
        [
            {**_HOME_AUDIT, "due": AT, "overdue": False, "overall": "good", "held_on": ACCEPT_BY},
            {**_HOME_AUDIT, "due": AT, "overdue": True, "overall": None, "held_on": None},
        ],
    ),
    _home_section(
        "escalations",
        [
            {**_HOME_AUDIT, "policy": policy, "top": top, "respond_by": AT}
            for policy, top in (
                ("overdue_action", False),
                ("overdue_moderation", True),
                ("overdue_pathway_step", False),
                ("safeguarding", False),
                ("overdue_loop_check", True),
            )
        ],
    ),
    _home_section(
        "pathway",
        [
            {**_HOME_AUDIT, "step": step, "due": AT}
            for step in ("reflective_meeting", "resolution", "ad_escalation", "executive")
        ],
    ),
    _home_section("extensions", [{**_HOME_AUDIT, "by": "Jo Brown", "was_due": AT, "to_due": AT}]),
    _home_section(
        "disputes",
        [
            {**_HOME_AUDIT, "by": "Sam Patel", "grade": "good", "state": "open", "meeting": None},
            {**_HOME_AUDIT, "by": "Jo Brown", "grade": "inadequate", "state": "meeting_arranged", "meeting": AT},
        ],
    ),
    _home_section(
        "theme_report", [_HOME_THEME | {"sponsor": "Helen Head", "complete": 4, "sampled": 4, "due": ACCEPT_BY}]
    ),
    _home_section(
        "theme_sign_off",
        [
            _HOME_THEME
            | {"state": "awaiting_sign_off", "lead": "Quinn QA", "recommendations": n, "summary": "Voice <b>\nlost."}
            for n in (1, 3)
        ],
    ),
    _home_section(
        "loop_checks",
        [
            _HOME_THEME | {"state": "signed_off", "id": 7, "stage": "six_weeks", "due": AT, "overdue": False},
            _HOME_THEME | {"state": "signed_off", "id": 8, "stage": "three_months", "due": AT, "overdue": True},
        ],
    ),
    _home_section(
        "topten",
        [
            {"restricted": False, "id": 2, "month_words": "December 2026", "size": 10},
            {"restricted": False, "id": 3, "month_words": "January 2027", "size": 1},
        ],
    ),
]
HOME_WATCHING = [
    _home_section("mine", [_HOME_AUDIT | {"status": s} for s in ("allocated", "accepted", "moderated")]),
    _home_section("team", [_HOME_AUDIT | {"status": "awaiting_moderation"}, _HOME_HIDDEN]),
    _home_section(
        "audited",
        [_HOME_AUDIT | {"status": "awaiting_moderation", "auditor": None}, _HOME_THEMED | {"status": "complete"}],
    ),
    _home_section("team_overdue", [{**_HOME_AUDIT, "owner": "Sam Patel", "due": AT}]),
    _home_section(
        "themes",
        [
            _HOME_THEME | {"sponsor": "Helen Head", "complete": 1, "sampled": 1, "due": ACCEPT_BY, "signed_at": None},
            _HOME_THEME | {"sponsor": "Helen Head", "complete": 2, "sampled": 4, "due": ACCEPT_BY, "signed_at": None},
            _HOME_THEME
            | {"state": "awaiting_sign_off", "sponsor": "Helen Head", "complete": 4, "sampled": 4, "signed_at": None},
            _HOME_THEME
            | {"state": "signed_off", "sponsor": "Helen Head", "complete": 4, "sampled": 4, "signed_at": AT},
        ],
    ),
]
EXAMPLES["home"] = [
    {"name": "Alex Green", "waiting": [], "watching": [], "progress": None, "learning_queue": None},
    {"name": None, "waiting": [], "watching": [], "progress": None, "learning_queue": None},
    {
        "name": "Alex Green",
        "waiting": HOME_WAITING,
        "watching": HOME_WATCHING,
        "progress": None,
        "learning_queue": None,
    },
    {"name": "Quinn QA", "waiting": [], "watching": [], "progress": HOME_PROGRESS, "learning_queue": 3},
    {
        "name": "Quinn QA",
        "waiting": [],
        "watching": HOME_WATCHING,
        "progress": HOME_PROGRESS | {"learning_queue": 0},
        "learning_queue": 0,
    },
    # A QA lead who also approves the top ten, and sponsors a theme: the thematic and learning sections alone.
    {
        "name": "Quinn QA",
        "waiting": [
            s for s in HOME_WAITING if s["kind"] in ("theme_report", "theme_sign_off", "loop_checks", "topten")
        ],
        "watching": [s for s in HOME_WATCHING if s["kind"] == "themes"],
        "progress": None,
        "learning_queue": None,
    },
    # (the long list stays last: a test reads it there) ten of each kind shown of 60
    {
        "name": "Pat Quinn",
        "waiting": [_home_section(s["kind"], [s["items"][0]] * 10, 60) for s in HOME_WAITING],
        "watching": [_home_section(s["kind"], [s["items"][0]] * 10, 60) for s in HOME_WATCHING],
        "progress": HOME_PROGRESS,
        "learning_queue": 3,
    },
]
# Thematic audits: defined, allocated, completed, reported, signed off, and the loop closed by the sponsor.
_THEME = {
    "theme_id": 4,
    "ref": "TH-2027-01",
    "title": "Neglect: is the child's lived experience understood?",
    "trigger": "Ofsted findings / action plan",
    "sponsor": "Helen Head",
    "lead": "Quinn QA",
    "audits_by": date(2027, 2, 12),
    "report_by": date(2027, 2, 26),
}
_FIGURES = {
    "completed": 3,
    "sampled": 4,
    "questions": [
        {
            "label": "How well is the child's lived experience understood?",
            "kind": "grade",
            "split": [
                {"label": "Outstanding", "count": 0},
                {"label": "Good", "count": 2},
                {"label": "Requires Improvement", "count": 1},
                {"label": "Inadequate", "count": 0},
            ],
        },
        {
            "label": "Is the plan up to date?",
            "kind": "yes_no",
            "split": [{"label": "Yes", "count": 2}, {"label": "No", "count": 1}],
        },
        {"label": "What would have made the difference?", "kind": "text", "split": [{"label": "Answered", "count": 3}]},
    ],
}
EXAMPLES["thematic_define_form"] = [
    {
        "triggers": {"ofsted": "Ofsted findings / action plan", "reaudit": "Previous audits that need re-auditing"},
        "categories": ["CP", "CIN", "care_leaver"],
        "teams": [{"id": 1, "name": "Family Support North"}],
        "month": "2027-01",
    },
    {"triggers": {"ofsted": "Ofsted findings / action plan"}, "categories": ["CP"], "teams": [], "month": "2027-01"},
]
EXAMPLES["thematic_defined"] = [
    _THEME | {"audits": 4, "held_back": 0, "questions": 3, "role": "lead"},
    _THEME | {"audits": 1, "held_back": 2, "questions": 1, "role": "sponsor"},
]


def _about(*keys: str) -> dict:
    return {k: _THEME[k] for k in ("ref", "title", *keys)}


EXAMPLES["thematic_findings"] = [
    _about("theme_id", "sponsor", "report_by") | _FIGURES | {"open": open_} for open_ in (True, False)
]
EXAMPLES["thematic_report_form"] = [_about("theme_id", "sponsor")]
_REPORT = (
    _about("theme_id", "lead")
    | _FIGURES
    | {
        "summary": "Most plans were current.\nThe child's voice was not always recorded.",
        "recommendations": ["Record the child's words in every visit.", "Review plans monthly."],
    }
)
EXAMPLES["thematic_report"] = [
    _REPORT | {"signed_by": None, "signed_at": None},
    _REPORT | {"signed_by": "Helen Head", "signed_at": AT},
]
EXAMPLES["thematic_signed_off"] = [
    _about("sponsor")
    | {"by": "Helen Head", "recommendations": 2, "six_weeks": date(2027, 4, 9), "three_months": date(2027, 5, 26)}
]
_RECS = [{"number": 1, "text": "Record the child's words in every visit."}, {"number": 2, "text": "Review plans."}]
EXAMPLES["thematic_loop_form"] = [
    _about() | {"check_id": 2, "stage": stage, "recommendations": _RECS} for stage in ("six_weeks", "three_months")
]
_LOOP = _about() | {"by": "Helen Head", "counts": {"done": 1, "partly": 1, "not_yet": 0}}
EXAMPLES["thematic_loop_recorded"] = [
    _LOOP
    | {
        "stage": "six_weeks",
        "items": [
            {"text": "Record the child's words in every visit.", "status": "done", "note": "In supervision."},
            {"text": "Review plans.", "status": "partly", "note": None},
        ],
        "impact": None,
    },
    _LOOP
    | {
        "stage": "three_months",
        "items": [{"text": "Review plans.", "status": "not_yet", "note": None}],
        "impact": "Children's words now lead their plans.",
    },
    _LOOP | {"stage": "three_months", "items": [], "impact": None, "channel": True},
]
EXAMPLES["allocation_request"] += [
    ALLOCATION | {"theme": "Neglect: is the child's lived experience understood?", "cro_required": False}
]
EXAMPLES["allocation_accepted"] += [
    {"qa_ref": "QA-2027-01-017", "audit_id": 17, "by_name": "Alex Green", "at": AT, "thematic": True}
]
EXAMPLES["audit_received"] += [
    {"qa_ref": "QA-2027-01-017", "overall": None, "actions": 1, "inadequate": False, "theme": "Neglect"}
]
_LOOP_ESCALATION = {
    "policy": "overdue_loop_check",
    "qa_ref": "TH-2027-01",
    "what": "Neglect: is the child's lived experience understood?",
    "owner": "Helen Head",
    "stage": "six_weeks",
    "role": "assistant_director",
    "asked": "Ada Director",
}
EXAMPLES["escalation_request"] += [
    ESCALATION | _LOOP_ESCALATION | {"came": "started", "by": None},
    ESCALATION | _LOOP_ESCALATION | {"came": "closed", "by": None, "stage": "three_months"},
]
EXAMPLES["escalation_notice"] += [
    _NOTICE | _LOOP_ESCALATION | {"what_happened": "started", "decided_by": None, "yours": True},
]
EXAMPLES["escalation_form"] += [_ABOUT | _LOOP_ESCALATION | {"form": "resolve", "escalation_id": 3}]
EXAMPLES["escalation_qa"] += [{"kind": "nobody", "qa_ref": "TH-2027-01", "policy": "overdue_loop_check"}]
_LOOP_ITEM = {
    "kind": "loop_check",
    "id": 2,
    "qa_ref": "TH-2027-01",
    "title": "Neglect",
    "stage": "six_weeks",
    "due": AT,
    "overdue": False,
    "decided": None,
}
EXAMPLES["action_digest"] += [
    {
        "on": date(2027, 1, 6),
        "items": [
            _LOOP_ITEM,
            _LOOP_ITEM | {"id": 3, "stage": "three_months", "overdue": True},
            _LOOP_ITEM | {"id": 4, "decided": {"by": "Helen Head", "at": AT}},
        ],
        "snooze_days": _SNOOZE_DAYS,
    }
]
EXAMPLES["refusal"] += [
    {"reason": "theme_qa_only"},
    {"reason": "theme_title_needed", "title_limit": 150},
    {"reason": "theme_trigger_needed"},
    {"reason": "theme_sponsor_not_hos"},
    {"reason": "theme_question_prefix", "line": 2, "text": "how: is the plan current?"},
    {"reason": "theme_question_length", "line": 3, "question_limit": 300},
    {"reason": "theme_questions_needed"},
    {"reason": "theme_questions_too_many", "questions_most": 20},
    {"reason": "theme_date_needed"},
    {"reason": "theme_date_not_working"},
    {"reason": "theme_date_too_far", "within": 65},
    {"reason": "theme_report_before_audits"},
    {"reason": "theme_unknown_cases", "unknown": "CS-999, CS-998"},
    {"reason": "theme_cases_unmatched", "unmatched": "CS-100990"},
    {"reason": "theme_sample_too_big", "sample_most": 30},
    {"reason": "theme_month_unknown", "month": "2027-13"},
    {"reason": "theme_month_unknown", "month": ""},
    {"reason": "theme_size_needed", "sample_most": 30},
    {"reason": "theme_sample_empty"},
    {"reason": "theme_not_lead", "ref": "TH-2027-01", "lead": "Quinn QA"},
    {"reason": "theme_reported", "ref": "TH-2027-01", "status": "awaiting_sign_off"},
    {"reason": "theme_summary_needed", "limit": 2900},
    {"reason": "theme_recommendations_needed", "most": 10},
    {"reason": "theme_not_sponsor", "ref": "TH-2027-01", "sponsor": "Helen Head"},
    {"reason": "theme_signed_already", "ref": "TH-2027-01", "by": "Helen Head", "at": AT},
    {"reason": "theme_signed_already", "ref": "TH-2027-01", "by": None, "at": None},
    {"reason": "theme_progress_needed"},
    {"reason": "theme_note_too_long", "limit": 900},
    {"reason": "theme_impact_needed"},
    {"reason": "theme_loop_recorded", "ref": "TH-2027-01", "stage": "six_weeks", "by": "Helen Head", "at": AT},
]
# A thematic audit's deadlines (thematic_due.py): the auditor's audit, the lead's report, the audits still open.
_THEME_AUDIT = {"kind": "theme_audit", "id": 7, "qa_ref": "QA-2027-0007", "title": "Neglect"}
_THEME_REPORT = {"kind": "theme_report", "id": 1, "qa_ref": "TH-2027-01", "title": "Neglect"}
EXAMPLES["action_digest"] += [
    {
        "on": date(2027, 2, 10),
        "items": [
            _THEME_AUDIT | {"due": date(2027, 2, 12), "overdue": False},
            _THEME_AUDIT | {"id": 8, "qa_ref": "QA-2027-0008", "due": date(2027, 2, 12), "overdue": True},
            _THEME_REPORT | {"due": date(2027, 2, 19), "overdue": False, "open": 0},
            _THEME_REPORT | {"id": 2, "due": date(2027, 2, 19), "overdue": True, "open": 2},
            {"kind": "theme_overdue", "id": 1, "qa_ref": "TH-2027-01", "title": "Neglect", "due": date(2027, 2, 12)}
            | {"refs": ["QA-2027-0007", "QA-2027-0008"]},
        ],
        "snooze_days": _SNOOZE_DAYS,
    }
]
