"""Thematic audits (Key Area 3) and closing their loop (Key Area 6).

The QA team defines a theme (`/qa theme`): a title, what triggered it, a sponsor (a Head of Service), a sample (a
filter on a month's case list, or hand-picked cases), its own questions (grade, yes/no or text) and deadlines.
Each sampled case becomes an Audit of kind "thematic", allocated like any audit (never in the auditor's own team
or line, least loaded first; accepted or passed back with the allocation's buttons) and completed with the audit
form built from the theme's questions, with SMART actions for the child that are tracked like any other.

When every sampled audit is complete (or when the lead asks), the lead gets the findings in figures and writes the
overview report (a summary and recommendations); the sponsor signs it off. Then the loop is closed: the sponsor is
asked in their daily digest at six weeks to record how far each recommendation is implemented, and at three months
the progress against the audit's goals; reminded each working day while it is due, and escalated up their line
(escalation.py, `overdue_loop_check`) when silent. Findings and loop figures name no case and no practitioner."""

from __future__ import annotations

import calendar as months_calendar
import random
import secrets
from collections import Counter
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot import months, outbox
from bot.calendar import Calendar, now
from bot.config import Settings
from bot.workflow import allocation, auditors, caselist, guard, reminders, thematic_due, trail
from bot.workflow.annex_a import MAX_REF
from bot.workflow.directory import QA_TEAM, by_slack_id
from bot.workflow.forms import FormDefinition, FormError, grade_scale, questions_form
from bot.workflow.outcome import DONE, Outcome, refused
from bot.workflow.reminders import Reminder
from store.models import CATEGORIES, Audit, Case, CaseListEntry, Event, LoopCheck, Person, Recommendation, Team, Theme

# The seed's triggers for a thematic audit, in its words.
TRIGGERS = {
    "safeguarding_review": "Child Safeguarding Practice Review",
    "ofsted": "Ofsted findings / action plan",
    "performance_data": "Concerns from performance data",
    "senior_managers": "Concerns from senior managers",
    "reaudit": "Previous audits that need re-auditing",
}
PREFIXES = {"grade": "grade", "yes/no": "yes_no", "text": "text"}
MAX_TITLE = 150
MAX_QUESTION = 300
MAX_QUESTIONS = 20
MAX_SAMPLE = 30
MAX_RECOMMENDATIONS = 10
MAX_SUMMARY = 2900
DEADLINE_WITHIN = 65  # working days: about three months ahead
CLOSED = ("declined", "cancelled")
STAGES = ("six_weeks", "three_months")
PROGRESS = ("done", "partly", "not_yet")
SIX_WEEKS = timedelta(weeks=6)


# ----- defining a theme --------------------------------------------------------------------------------------------


def _qa_member(db: Session, slack_user_id: str, action: str) -> Person | Outcome:
    person = by_slack_id(db, slack_user_id)
    if person is None or not person.roles & QA_TEAM:
        trail.record(db, f"refused.{action}", actor=person, actor_slack_id=slack_user_id, reason="not the QA team")
        return refused("theme_qa_only")
    return person


def define_context(db: Session, cal: Calendar, slack_user_id: str) -> Outcome:
    """What the define form offers: the triggers, the case categories, the directory's teams, this month."""
    person = _qa_member(db, slack_user_id, "theme_define")
    if isinstance(person, Outcome):
        return person
    teams = db.scalars(select(Team).order_by(Team.name)).all()
    return Outcome(
        ok=True,
        detail={
            "triggers": TRIGGERS,
            "categories": list(CATEGORIES),
            "teams": [{"id": t.id, "name": t.name} for t in teams][:100],
            "month": months.of(cal.local(now()).date()),
        },
    )


def parse_questions(text: str) -> tuple[list[dict[str, str]], dict[str, Any] | None]:
    """One question a line, `grade:`, `yes/no:` or `text:` first. The questions, or what is wrong (a code and
    the line) for the field."""
    rows = []
    for number, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        prefix, colon, label = line.partition(":")
        kind = PREFIXES.get(prefix.strip().lower())
        if not colon or kind is None:
            return [], {"code": "theme_question_prefix", "line": number, "text": line[:60]}
        label = label.strip()
        if not label or len(label) > MAX_QUESTION:
            return [], {"code": "theme_question_length", "line": number}
        rows.append({"id": f"q{len(rows) + 1}", "kind": kind, "label": label})
    if not rows:
        return [], {"code": "theme_questions_needed"}
    if len(rows) > MAX_QUESTIONS:
        return [], {"code": "theme_questions_too_many"}
    return rows, None


def define(db: Session, cal: Calendar, settings: Settings, slack_user_id: str, values: dict[str, Any]) -> Outcome:
    """Check the define form and, when all is well, record the theme, draw its sample and allocate each case.
    `values`: title, trigger, sponsor (a Slack id), month, categories, team_id, size, picked, questions,
    audits_by and report_by (dates or None). A refusal names each field to fix; nothing is written then."""
    lead = _qa_member(db, slack_user_id, "theme_define")
    if isinstance(lead, Outcome):
        return lead
    errors: dict[str, str] = {}
    extra: dict[str, Any] = {}
    title = (values.get("title") or "").strip()
    if not title or len(title) > MAX_TITLE:
        errors["title"] = "theme_title_needed"
    trigger = values.get("trigger")
    if trigger not in TRIGGERS:
        errors["trigger"] = "theme_trigger_needed"
    sponsor = by_slack_id(db, values.get("sponsor") or "") if values.get("sponsor") else None
    if sponsor is None or "head_of_service" not in sponsor.roles:
        errors["sponsor"] = "theme_sponsor_not_hos"
    questions, problem = parse_questions(values.get("questions") or "")
    if problem:
        errors["questions"] = problem.pop("code")
        extra |= problem
    audits_by, report_by = values.get("audits_by"), values.get("report_by")
    if found := cal.new_date_problem(audits_by, DEADLINE_WITHIN):
        errors["audits_by"] = f"theme_{found}"
    if found := cal.new_date_problem(report_by, DEADLINE_WITHIN):
        errors["report_by"] = f"theme_{found}"
    elif audits_by and report_by <= audits_by:
        errors["report_by"] = "theme_report_before_audits"
    extra |= {"within": DEADLINE_WITHIN, "title_limit": MAX_TITLE, "question_limit": MAX_QUESTION}
    extra |= {"questions_most": MAX_QUESTIONS, "sample_most": MAX_SAMPLE}
    cases, sample, month = _sample(db, cal, values, errors, extra)
    if errors:
        return refused("action_errors", errors=errors, **extra)
    texts = {"title": title, "questions": "\n".join(q["label"] for q in questions)}
    if problem := guard.check(db, texts):
        return problem
    scale = grade_scale()
    theme = Theme(
        ref=_next_ref(db, cal),
        title=title,
        trigger=trigger,
        sponsor=sponsor,
        lead=lead,
        month=month,
        sample=sample,
        questions=questions,
        grade_scale=scale.version,
        audits_by=audits_by,
        report_by=report_by,
        status="auditing",
        created_at=now(),
    )
    thematic_due.schedule_theme(cal, settings, theme)
    db.add(theme)
    db.flush()
    form_of(theme)  # the questions make a valid form (the checks above keep to its rules)
    allocated, held_back = _allocate(db, cal, settings, theme, cases, lead)
    trail.record(
        db,
        "theme.defined",
        actor=lead,
        subject=theme,
        trigger=trigger,
        sponsor_id=sponsor.id,
        sample=sample,
        questions=len(questions),
        audits=[a.id for a in allocated],
        held_back=held_back,
        audits_by=audits_by.isoformat(),
        report_by=report_by.isoformat(),
    )
    ctx = _theme_ctx(theme) | {"audits": len(allocated), "held_back": held_back, "questions": len(questions)}
    for role, person in (("lead", lead), ("sponsor", sponsor)):
        if person.slack_user_id:
            outbox.enqueue(
                db, f"theme:{theme.id}:defined:{role}", person.slack_user_id, "thematic_defined", ctx | {"role": role}
            )
    return Outcome(ok=True, detail={"ref": theme.ref})


def _next_ref(db: Session, cal: Calendar) -> str:
    year = cal.local(now()).year
    count = db.scalar(select(func.count()).select_from(Theme).where(Theme.ref.like(f"TH-{year}-%")))
    return f"TH-{year}-{count + 1:02d}"


def _echoed(typed: str) -> str:
    """What was typed, short enough to quote back in a field error (a case-system ID or a month is far shorter):
    quoting a pasted page whole would make the answer longer than Slack takes."""
    return typed if len(typed) <= MAX_REF else typed[: MAX_REF - 1] + "…"


def _sample(
    db: Session, cal: Calendar, values: dict[str, Any], errors: dict[str, str], extra: dict[str, Any]
) -> tuple[list[Case], dict[str, Any], str]:
    """The sampled cases: hand-picked case-system IDs when given, otherwise drawn (seeded) from a month's case list
    by category and team. Only cases with a practitioner matched in the directory can be audited independently."""
    picked = [line.strip() for line in (values.get("picked") or "").splitlines() if line.strip()]
    if picked:
        found = {c.case_ref: c for c in db.scalars(select(Case).where(Case.case_ref.in_(picked)))}
        unknown = [ref for ref in picked if ref not in found]
        if unknown:
            errors["picked"] = "theme_unknown_cases"
            extra["unknown"] = ", ".join(_echoed(ref) for ref in unknown[:10])
        elif len(set(picked)) > MAX_SAMPLE:
            errors["picked"] = "theme_sample_too_big"
        elif unmatched := [ref for ref in dict.fromkeys(picked) if found[ref].worker_id is None]:
            errors["picked"] = "theme_cases_unmatched"
            extra["unmatched"] = ", ".join(unmatched[:10])
        month = months.of(cal.local(now()).date())
        return [found[ref] for ref in dict.fromkeys(picked) if ref in found], {"picked": picked}, month
    month = (values.get("month") or "").strip()
    if not months.is_month(month) or not caselist.has_case_list(db, month):
        errors["month"] = "theme_month_unknown"
        extra["month"] = _echoed(month)
        return [], {}, month
    size_text = (values.get("size") or "").strip()
    size = int(size_text) if size_text.isascii() and size_text.isdigit() else 0
    if not 1 <= size <= MAX_SAMPLE:
        errors["size"] = "theme_size_needed"
        return [], {}, month
    categories = [c for c in values.get("categories") or [] if c in CATEGORIES]
    team_id = values.get("team_id")
    query = (
        select(CaseListEntry)
        .join(CaseListEntry.case)
        .where(CaseListEntry.month == month, CaseListEntry.worker_id.is_not(None))
        .order_by(Case.case_ref)
    )
    if categories:
        query = query.where(CaseListEntry.category.in_(categories))
    if team_id:
        query = query.where(CaseListEntry.team_id == int(team_id))
    entries = db.scalars(query).all()
    if not entries:
        errors["size"] = "theme_sample_empty"
        return [], {}, month
    seed = secrets.randbelow(2**31)
    chosen = random.Random(seed).sample(entries, min(size, len(entries)))
    sample = {"month": month, "categories": categories, "team_id": int(team_id) if team_id else None, "size": size}
    return [e.case for e in chosen], sample | {"seed": seed}, month


def _allocate(
    db: Session, cal: Calendar, settings: Settings, theme: Theme, cases: list[Case], lead: Person
) -> tuple[list[Audit], int]:
    """Each case to the least-loaded independent auditor with capacity (allocation's rules); a case nobody may
    audit is held back and counted for the lead."""
    pool = auditors.available(db, seed=theme.id)
    load = auditors.monthly_load(db, theme.month)
    listed = caselist.listed(db, theme.month, cases)
    audits, held_back = [], 0
    for case in cases:
        practitioner = listed[case.id].worker
        chosen = (
            auditors.pick(pool, load, practitioner, case, settings.framework.auditor_monthly_max)
            if practitioner is not None
            else None
        )
        if chosen is None:
            held_back += 1
            trail.record(db, "theme.case_held_back", subject=theme, case_id=case.id)
            continue
        audits.append(allocation.allocate(db, cal, settings, case, chosen, theme.month, by=lead, theme=theme))
    return audits, held_back


def _theme_ctx(theme: Theme, *keys: str) -> dict[str, Any]:
    """What messages say about the theme: its reference and title, and the other `keys` the message shows (all of
    them when none are named)."""
    facts = {
        "theme_id": theme.id,
        "ref": theme.ref,
        "title": theme.title,
        "trigger": TRIGGERS[theme.trigger],
        "sponsor": theme.sponsor.name,
        "lead": theme.lead.name,
        "audits_by": theme.audits_by,
        "report_by": theme.report_by,
    }
    return {k: v for k, v in facts.items() if not keys or k in (*keys, "ref", "title")}


# ----- the form ----------------------------------------------------------------------------------------------------


def form_of(theme: Theme) -> FormDefinition:
    """The theme's questions as an audit form, on the grade scale it was defined with."""
    try:
        return questions_form("thematic", theme.ref, "Thematic audit", theme.grade_scale, theme.questions)
    except FormError as e:  # the define form's checks keep to the form's rules: this is a bug, not bad input
        raise RuntimeError(f"theme {theme.ref}: {e}") from e


def completed(db: Session, audit: Audit) -> None:
    """A sampled audit was submitted: once every one is, the lead gets the findings."""
    theme = audit.theme
    audit.next_reminder_at = None  # its deadline's reminders end (thematic_due.py)
    open_ = db.scalar(
        select(func.count())
        .select_from(Audit)
        .where(Audit.theme_id == theme.id, Audit.status.not_in((*CLOSED, "complete")))
    )
    if not open_ and theme.findings_sent_at is None and theme.status == "auditing":
        theme.findings_sent_at = now()
        trail.record(db, "theme.audits_complete", subject=theme)
        _send_findings(db, theme)


def findings(db: Session, theme: Theme) -> dict[str, Any]:
    """The figures per question across the completed audits: grades (in words), yes and no, how many wrote an
    answer. No case references and no names."""
    done = db.scalars(select(Audit).where(Audit.theme_id == theme.id, Audit.status == "complete")).all()
    sampled = db.scalar(
        select(func.count()).select_from(Audit).where(Audit.theme_id == theme.id, Audit.status.not_in(CLOSED))
    )
    scale = grade_scale(theme.grade_scale)
    rows = []
    for q in theme.questions:
        counts = Counter(a.answers.get(q["id"]) for a in done if a.answers.get(q["id"]))
        if q["kind"] == "grade":
            split = [{"label": g.words, "count": counts.get(g.code, 0)} for g in scale.grades]
        elif q["kind"] == "yes_no":
            split = [{"label": "Yes", "count": counts.get("yes", 0)}, {"label": "No", "count": counts.get("no", 0)}]
        else:
            split = [{"label": "Answered", "count": sum(counts.values())}]
        rows.append({"label": q["label"], "kind": q["kind"], "split": split})
    return {"completed": len(done), "sampled": sampled, "questions": rows}


def _send_findings(db: Session, theme: Theme) -> None:
    figures = findings(db, theme)
    if theme.lead.slack_user_id:
        outbox.enqueue(
            db,
            f"theme:{theme.id}:findings:{figures['completed']}",
            theme.lead.slack_user_id,
            "thematic_findings",
            _theme_ctx(theme, "theme_id", "sponsor", "report_by") | figures | {"open": theme.status == "auditing"},
        )


def _lead(db: Session, theme_id: int, slack_user_id: str, action: str) -> tuple[Person, Theme] | Outcome:
    person, theme = by_slack_id(db, slack_user_id), db.get(Theme, theme_id)
    if person is None or theme is None:
        trail.record(db, f"refused.{action}", actor_slack_id=slack_user_id, reason="unknown", theme_id=theme_id)
        return refused("unknown")
    if person.id != theme.lead_id:
        trail.record(db, f"refused.{action}", actor=person, subject=theme, reason="not the lead")
        return refused("theme_not_lead", ref=theme.ref, lead=theme.lead.name)
    return person, theme


def findings_now(db: Session, cal: Calendar, settings: Settings, theme_id: int, slack_user_id: str) -> Outcome:
    """The lead asks for the findings so far (before every audit is in)."""
    found = _lead(db, theme_id, slack_user_id, "theme_findings")
    if isinstance(found, Outcome):
        return found
    person, theme = found
    trail.record(db, "theme.findings_asked", actor=person, subject=theme)
    _send_findings(db, theme)
    return DONE


# ----- the overview report and its sign-off ------------------------------------------------------------------------


def report_context(db: Session, theme_id: int, slack_user_id: str) -> Outcome:
    found = _lead(db, theme_id, slack_user_id, "theme_report")
    if isinstance(found, Outcome):
        return found
    _, theme = found
    if theme.status != "auditing":
        return refused("theme_reported", ref=theme.ref, status=theme.status)
    return Outcome(ok=True, detail=_theme_ctx(theme, "theme_id", "sponsor"))


def report(db: Session, theme_id: int, slack_user_id: str, summary: str, recommendations: str) -> Outcome:
    """The lead's overview report: a summary and the recommendations (one a line), sent to the sponsor to sign
    off."""
    found = _lead(db, theme_id, slack_user_id, "theme_report")
    if isinstance(found, Outcome):
        return found
    lead, theme = found
    if theme.status != "auditing":  # told on the form (the conditional update below settles a race)
        return refused("theme_reported", ref=theme.ref, status=theme.status)
    summary = (summary or "").strip()
    lines = [line.strip() for line in (recommendations or "").splitlines() if line.strip()]
    errors = {}
    if not summary or len(summary) > MAX_SUMMARY:
        errors["summary"] = "theme_summary_needed"
    if not lines or len(lines) > MAX_RECOMMENDATIONS or any(len(line) > MAX_QUESTION for line in lines):
        errors["recommendations"] = "theme_recommendations_needed"
    if errors:
        return refused("action_errors", errors=errors, limit=MAX_SUMMARY, most=MAX_RECOMMENDATIONS)
    if problem := guard.check(db, {"summary": summary, "recommendations": "\n".join(lines)}):
        return problem
    moment = now()
    won = db.execute(
        update(Theme)
        .where(Theme.id == theme.id, Theme.status == "auditing")
        .values(status="awaiting_sign_off", summary=summary, reported_at=moment, report_reminder_at=None)
    ).rowcount
    db.refresh(theme)
    if not won:
        return refused("theme_reported", ref=theme.ref, status=theme.status)
    for number, text in enumerate(lines, 1):
        db.add(Recommendation(theme_id=theme.id, number=number, text=text))
    db.flush()
    trail.record(db, "theme.reported", actor=lead, subject=theme, recommendations=len(lines))
    if theme.sponsor.slack_user_id:
        outbox.enqueue(db, _report_key(theme), theme.sponsor.slack_user_id, "thematic_report", _report_ctx(db, theme))
    return DONE


def _report_key(theme: Theme) -> str:
    return f"theme:{theme.id}:report"


def _report_ctx(db: Session, theme: Theme) -> dict[str, Any]:
    signer = db.get(Person, theme.signed_off_by_id) if theme.signed_off_by_id else None
    return (
        _theme_ctx(theme, "theme_id", "lead")
        | findings(db, theme)
        | {
            "summary": theme.summary,
            "recommendations": [r.text for r in theme.recommendations],
            "signed_by": signer.name if signer else None,
            "signed_at": theme.signed_off_at,
        }
    )


def _sponsor(db: Session, theme: Theme, slack_user_id: str, action: str) -> Person | Outcome:
    """The sponsor, or their recorded delegate; anyone else is refused, on the trail."""
    person = by_slack_id(db, slack_user_id)
    if person is None:
        trail.record(db, f"refused.{action}", actor_slack_id=slack_user_id, subject=theme, reason="unknown")
        return refused("unknown")
    if person.id not in (theme.sponsor_id, theme.sponsor.delegate_id):
        trail.record(db, f"refused.{action}", actor=person, subject=theme, reason="not the sponsor")
        return refused("theme_not_sponsor", ref=theme.ref, sponsor=theme.sponsor.name)
    return person


def sign_off(db: Session, cal: Calendar, settings: Settings, theme_id: int, slack_user_id: str) -> Outcome:
    """The sponsor signs off the overview report and takes on its recommendations: the close-the-loop checks are
    set for six weeks and three months on (the next working day when that is not one)."""
    theme = db.get(Theme, theme_id)
    if theme is None:
        trail.record(db, "refused.theme_sign_off", actor_slack_id=slack_user_id, reason="unknown", theme_id=theme_id)
        return refused("unknown")
    person = _sponsor(db, theme, slack_user_id, "theme_sign_off")
    if isinstance(person, Outcome):
        return person
    moment = now()
    won = db.execute(
        update(Theme)
        .where(Theme.id == theme.id, Theme.status == "awaiting_sign_off")
        .values(status="signed_off", signed_off_at=moment, signed_off_by_id=person.id)
    ).rowcount
    db.refresh(theme)
    if not won:
        signer = db.get(Person, theme.signed_off_by_id) if theme.signed_off_by_id else None
        trail.record(db, "refused.theme_sign_off", actor=person, subject=theme, reason=f"theme {theme.status}")
        return refused(
            "theme_signed_already", ref=theme.ref, by=signer.name if signer else None, at=theme.signed_off_at
        )
    today = cal.local(moment).date()
    dates = {"six_weeks": _working(cal, today + SIX_WEEKS), "three_months": _working(cal, _add_months(today, 3))}
    fw = settings.framework
    for stage, day in dates.items():
        db.add(
            LoopCheck(
                theme_id=theme.id,
                stage=stage,
                status="pending",
                due_at=cal.at(day, cal.end),
                next_reminder_at=cal.at(day, fw.reminder_time),
                answers={},
            )
        )
    db.flush()
    trail.record(
        db, "theme.signed_off", actor=person, subject=theme, **{stage: day.isoformat() for stage, day in dates.items()}
    )
    outbox.enqueue_update(
        db, f"{_report_key(theme)}:signed", _report_key(theme), "thematic_report", _report_ctx(db, theme)
    )
    told = _theme_ctx(theme, "sponsor") | {"by": person.name, "recommendations": len(theme.recommendations), **dates}
    if theme.lead.slack_user_id:
        outbox.enqueue(db, f"theme:{theme.id}:signed:lead", theme.lead.slack_user_id, "thematic_signed_off", told)
    if settings.qa_channel:
        outbox.enqueue(db, f"theme:{theme.id}:signed:qa", settings.qa_channel, "thematic_signed_off", told)
    return DONE


def _working(cal: Calendar, day: date) -> date:
    return day if cal.is_working_day(day) else cal.next_working_day(day)


def _add_months(day: date, n: int) -> date:
    index = day.year * 12 + day.month - 1 + n
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, months_calendar.monthrange(year, month + 1)[1]))


# ----- closing the loop --------------------------------------------------------------------------------------------


def due_reminders(db: Session, cal: Calendar, settings: Settings, moment: datetime) -> list[Reminder]:
    """For the sponsor's digest: a close-the-loop check from its day, each working day until it is recorded."""
    due = db.scalars(
        select(LoopCheck)
        .where(LoopCheck.status == "pending", LoopCheck.next_reminder_at <= moment)
        .order_by(LoopCheck.due_at, LoopCheck.id)
    ).all()
    return [
        Reminder(
            {
                "kind": "loop_check",
                "id": check.id,
                "qa_ref": check.theme.ref,
                "title": check.theme.title,
                "stage": check.stage,
                "due": check.due_at,
                "overdue": check.due_at < moment,
                "decided": None,
            },
            [check.theme.sponsor],
            check.theme,
            partial(_reminded, cal, settings, check),
        )
        for check in due
    ]


def _reminded(cal: Calendar, settings: Settings, check: LoopCheck, moment: datetime) -> None:
    check.last_reminded_at = moment
    check.next_reminder_at = cal.at(cal.next_working_day(cal.local(moment).date()), settings.framework.reminder_time)


def reschedule(cal: Calendar, settings: Settings, check: LoopCheck) -> None:
    """A new date (an escalation's Extend): reminded again from that day."""
    check.next_reminder_at = cal.at(cal.local(check.due_at).date(), settings.framework.reminder_time)


def check_context(db: Session, check_id: int, slack_user_id: str) -> Outcome:
    check = db.get(LoopCheck, check_id)
    if check is None:
        trail.record(db, "refused.theme_loop", actor_slack_id=slack_user_id, reason="unknown", check_id=check_id)
        return refused("unknown")
    person = _sponsor(db, check.theme, slack_user_id, "theme_loop")
    if isinstance(person, Outcome):
        return person
    if check.status != "pending":
        return _recorded_already(db, check)
    theme = check.theme
    return Outcome(
        ok=True,
        detail=_theme_ctx(theme, "ref")
        | {
            "check_id": check.id,
            "stage": check.stage,
            "recommendations": [{"number": r.number, "text": r.text} for r in theme.recommendations],
        },
    )


def _recorded_already(db: Session, check: LoopCheck) -> Outcome:
    by = db.get(Person, check.recorded_by_id) if check.recorded_by_id else None
    return refused(
        "theme_loop_recorded", ref=check.theme.ref, stage=check.stage, by=by.name if by else None, at=check.recorded_at
    )


def record_check(
    db: Session, cal: Calendar, settings: Settings, check_id: int, slack_user_id: str, values: dict[str, Any]
) -> Outcome:
    """The sponsor records the check: per recommendation done / partly / not yet, with an optional note; at three
    months, the impact for children too. The lead hears it all, the QA channel the figures."""
    check = db.get(LoopCheck, check_id)
    if check is None:
        trail.record(db, "refused.theme_loop", actor_slack_id=slack_user_id, reason="unknown", check_id=check_id)
        return refused("unknown")
    theme = check.theme
    person = _sponsor(db, theme, slack_user_id, "theme_loop")
    if isinstance(person, Outcome):
        return person
    if check.status != "pending":  # told on the form (the conditional update below settles a race)
        return _recorded_already(db, check)
    errors, answers, notes = {}, {}, {}
    for rec in theme.recommendations:
        status = values.get(f"rec_{rec.number}")
        if status not in PROGRESS:
            errors[f"rec_{rec.number}"] = "theme_progress_needed"
        note = (values.get(f"note_{rec.number}") or "").strip()
        if len(note) > MAX_QUESTION * 3:
            errors[f"note_{rec.number}"] = "theme_note_too_long"
        answers[str(rec.number)] = {"status": status, "note": note or None}
        notes[f"note_{rec.number}"] = note
    impact = (values.get("impact") or "").strip()
    if check.stage == "three_months" and not impact:
        errors["impact"] = "theme_impact_needed"
    if errors:
        return refused("action_errors", errors=errors, limit=MAX_QUESTION * 3)
    if problem := guard.check(db, {**notes, "impact": impact}):
        return problem
    moment = now()
    won = db.execute(
        update(LoopCheck)
        .where(LoopCheck.id == check.id, LoopCheck.status == "pending")
        .values(
            status="recorded",
            answers=answers | ({"impact": impact} if impact else {}),
            recorded_at=moment,
            recorded_by_id=person.id,
            next_reminder_at=None,
        )
    ).rowcount
    db.refresh(check)
    if not won:
        return _recorded_already(db, check)
    counts = Counter(a["status"] for a in answers.values())
    trail.record(db, "theme.loop_recorded", actor=person, subject=theme, stage=check.stage, **dict(counts))
    _show_decided(db, theme, check, person, moment)
    ctx = _theme_ctx(theme, "ref") | {
        "stage": check.stage,
        "by": person.name,
        "counts": {status: counts.get(status, 0) for status in PROGRESS},
        "items": [{"text": r.text, **answers[str(r.number)]} for r in theme.recommendations],
        "impact": impact or None,
    }
    if theme.lead.slack_user_id:
        outbox.enqueue(
            db, f"theme:{theme.id}:loop:{check.stage}:lead", theme.lead.slack_user_id, "thematic_loop_recorded", ctx
        )
    if settings.qa_channel:
        outbox.enqueue(
            db,
            f"theme:{theme.id}:loop:{check.stage}:qa",
            settings.qa_channel,
            "thematic_loop_recorded",
            ctx | {"items": [], "impact": None, "channel": True},
        )
    pending = db.scalar(
        select(func.count()).select_from(LoopCheck).where(LoopCheck.theme_id == theme.id, LoopCheck.status == "pending")
    )
    if not pending:
        db.execute(update(Theme).where(Theme.id == theme.id, Theme.status == "signed_off").values(status="closed"))
        trail.record(db, "theme.closed", subject=theme)
    return DONE


def _show_decided(db: Session, theme: Theme, check: LoopCheck, person: Person, moment: datetime) -> None:
    """Every digest that listed the check shows it recorded, its button gone."""
    keys = {
        event.detail.get("key")
        for event in db.scalars(
            select(Event).where(
                Event.subject_type == Theme.__tablename__, Event.subject_id == theme.id, Event.kind == "reminder.sent"
            )
        )
        if (event.detail.get("item"), event.detail.get("item_id")) == ("loop_check", check.id)
    }
    decided = {"by": person.name, "at": moment}
    for key in sorted(k for k in keys if k):
        reminders.show(db, key, ("loop_check",), check.id, f"loop:{check.id}:recorded", decided=decided)
