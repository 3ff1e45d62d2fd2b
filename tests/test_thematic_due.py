"""A thematic audit's deadlines reminded in the daily digest, walked through March and April 2027 by the clock as
`qabot tick` runs it, across Easter (Good Friday 26 March, Easter Monday 29 March): the audits are due by Wednesday
31 March and the overview report by Thursday 8 April. Each auditor hears of an accepted audit not yet complete two
working days before (Thursday 25 March, Easter in between), on the day and each working day after until it is
complete; the lead hears once, the day after, which audits are still open (QA references only), and of the report
from two working days before its date until it is written. One digest a person a day; a second tick sends nothing."""

from collections import defaultdict
from datetime import date, timedelta

from freezegun import freeze_time
from sqlalchemy import select

from scheduler.jobs import tick
from store.models import Audit, Event
from tests.test_disputes import _opened
from tests.test_inadequate_walk import _at
from tests.test_thematic import _audits, _complete, _define, _theme


def _digests(standin, user):
    return [c for c in standin.posted(user) if c.args["text"].startswith("Your reminders")]


def _sent(rt) -> dict[tuple[str, int], list[date]]:
    """Each reminder item (kind, id) of a thematic deadline, and the days it was in a digest."""
    days = defaultdict(list)
    with rt.database.unit_of_work() as db:
        for event in db.scalars(select(Event).where(Event.kind == "reminder.sent").order_by(Event.id)):
            if event.detail["item"].startswith("theme_"):
                days[(event.detail["item"], event.detail["item_id"])].append(rt.calendar.local(event.at).date())
    return dict(days)


def test_auditors_and_the_lead_are_reminded_of_a_themes_deadlines(rt, standin, slack, world):
    with freeze_time(_at(2027, 3, 15), tick=True):
        assert _define(rt, slack, standin, audits_by="2027-03-31", report_by="2027-04-05").body == ""
    theme = _theme(rt)
    (first, first_case, auditor), (second, second_case, other) = _audits(rt)
    with freeze_time(_at(2027, 3, 16), tick=True):
        for audit_id, who in ((first, auditor), (second, other)):
            slack.block_action(who, "allocation_accept", str(audit_id))
        rt.dispatcher.drain()
    with rt.database.unit_of_work() as db:
        refs = {a.id: a.qa_ref for a in db.scalars(select(Audit).where(Audit.theme_id == theme.id))}

    day = date(2027, 3, 15)
    while day <= date(2027, 4, 16):
        tick(rt, _at(day.year, day.month, day.day, 9))
        before = {user: len(_digests(standin, user)) for user in (auditor, other, "U0QA")}
        tick(rt, _at(day.year, day.month, day.day, 9, 30))  # a second tick (or a restart) sends nothing twice
        assert {user: len(_digests(standin, user)) for user in before} == before
        if day == date(2027, 3, 31):
            blocks = str(_digests(standin, auditor)[-1].args["blocks"])  # the button that opens the audit's form
            assert f"'action_id': 'audit_form_open', 'value': '{first}'" in blocks and refs[second] not in blocks
        if day == date(2027, 4, 1):
            with freeze_time(_at(2027, 4, 1, 11), tick=True):
                assert _complete(rt, slack, standin, first, auditor).body == ""
        if day == date(2027, 4, 7):
            with freeze_time(_at(2027, 4, 7, 11), tick=True):
                assert _complete(rt, slack, standin, second, other).body == ""
        if day == date(2027, 4, 9):
            with freeze_time(_at(2027, 4, 9, 11), tick=True):
                view = _opened(slack, standin, "U0QA", "thematic_report_open", theme.id)
                report = {"summary": {"answer": "The child's voice was not always recorded."}}
                report |= {"recommendations": {"answer": "Record the child's words at every visit."}}
                assert slack.view_submission("U0QA", view, report).body == ""
                rt.dispatcher.drain()
        day += timedelta(days=1)

    open_days = [date(2027, 3, 25), date(2027, 3, 31), date(2027, 4, 1)]
    late_days = [date(2027, 4, 2), date(2027, 4, 5), date(2027, 4, 6), date(2027, 4, 7)]
    assert _sent(rt) == {
        # Two working days before (Easter between), the day, then each working day until complete; never after.
        ("theme_audit", first): open_days,
        ("theme_audit", second): open_days + late_days,
        # The lead: once, the day after the audits' date; the report from two working days before until written.
        ("theme_overdue", theme.id): [date(2027, 4, 1)],
        ("theme_report", theme.id): [date(2027, 4, 1), *late_days, date(2027, 4, 8), date(2027, 4, 9)],
    }

    # One digest a person a day (its heading names the day), whatever it lists: the auditors' on each day either
    # of their audits was listed, the lead's each working day from 1 to 9 April (two items on 1 April).
    for user in {auditor, other, "U0QA"}:
        heads = [c.args["text"] for c in _digests(standin, user)]
        assert len(heads) == len(set(heads))
    assert len(_digests(standin, other)) == len(open_days + late_days)
    assert len(_digests(standin, "U0QA")) == 7
    lead = [str(c.args["blocks"]) for c in _digests(standin, "U0QA")]
    assert "still open: " in lead[0] and "2 audits are still open" in lead[0] and "is due by" in lead[0]
    assert refs[first] in lead[0] and refs[second] in lead[0]
    assert first_case not in lead[0] and second_case not in lead[0]  # QA references, never a case's id
    # Past its date with an audit still open: how many, and the findings so far; then, all in, just the report.
    assert "was due by" in lead[4] and "One audit is still open" in lead[4] and "thematic_findings" in lead[4]
    assert "All its findings are in" in lead[5] and "thematic_findings" not in lead[5]
    assert all("thematic_report_open" in text for text in lead)
