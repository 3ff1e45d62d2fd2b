"""`qabot demo`: a scripted slice of the workflow, played on a fresh SQLite file against the Slack stand-in,
through the real HTTP endpoint, the real commands and the real clock functions. It starts from a staff CSV
and an Annex A workbook, as a QA team would, follows one case from allocation through the audit to its
moderation, a disputed grade and an overdue action escalated up the chain, and prints who was told what and what
changed."""

from __future__ import annotations

import shutil
import tempfile
from argparse import Namespace
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot import cli
from bot.calendar import clock_at
from bot.config import Settings
from bot.demo.data import CASES, LOOKED_UP, MORE_STAFF, STAFF, seed, write_annex_a, write_staff_csv
from bot.demo.transcript import LONDON, Transcript, button_values, review_lines, section_lines
from bot.runtime import Runtime
from bot.sandbox.requests import SignedSender
from bot.sandbox.server import SlackStandIn
from bot.server import background_server
from bot.workflow.forms import load_form
from scheduler.jobs import tick
from store.models import Audit, Dispute, Escalation, Event, Moderation, Person

__all__ = ["CASES", "STAFF", "run", "seed"]

SIGNING_SECRET = "demo-signing-secret"
QA_CHANNEL = "C0QATEAM"
LEARNING_CHANNEL = "C0LEARN"
TRAIL = {
    "directory.imported": "staff directory imported",
    "person.added": "person added to the directory",
    "caselist.imported": "Annex A case list imported",
    "allocation.drawn": "month's sample drawn",
    "allocation.confirmed": "allocation confirmed",
    "audit.allocated": "allocated",
    "audit.accepted": "accepted",
    "audit.declined": "passed back",
    "audit.accept_reminded": "auditor reminded",
    "audit.accept_overdue_reported": "QA team told: not accepted",
    "refused.allocation_accept": "click refused: not the auditor",
    "refused.allocation_decline": "click refused: not the auditor",
    "refused.allocate": "allocation refused: not the QA team",
    "audit.meeting_arranged": "meeting arranged",
    "audit.meeting_reminded": "attendees reminded of the meeting",
    "audit.self_assessment_reminded": "practitioner reminded: self-assessment",
    "audit.self_assessed": "self-assessment completed",
    "audit.family_feedback_recorded": "family feedback recorded",
    "audit.form_step_saved": "audit form step saved",
    "audit.submitted": "audit submitted for moderation",
    "audit.reallocated": "reallocated to another auditor",
    "moderation.assigned": "moderator asked to moderate",
    "moderation.unassigned": "no independent moderator: QA team told",
    "moderation.reminded": "moderator reminded",
    "moderation.late_listed": "QA team told: moderation late",
    "moderation.recorded": "moderated: outcome sent",
    "refused.moderation_open": "click refused: not the moderator",
    "refused.moderation_record": "moderation refused: not the moderator",
    "dispute.raised": "moderated grade disputed",
    "dispute.sent_to_head": "QA Head of Service asked to decide",
    "dispute.no_head": "no QA Head of Service: QA team told",
    "dispute.meeting_arranged": "dispute meeting arranged",
    "dispute.upheld": "dispute decided: grade upheld",
    "dispute.changed": "dispute decided: grade changed",
    "refused.dispute_open": "click refused: not practitioner or TM",
    "refused.dispute_raise": "dispute refused",
    "refused.dispute_uphold": "click refused: not a QA Head of Service",
    "refused.dispute_change": "click refused: not a QA Head of Service",
    "refused.dispute_meeting": "click refused: not a QA Head of Service",
    "escalation.started": "overdue action escalated: SM asked",
    "escalation.climbed": "escalation climbed a level",
    "escalation.resolved": "escalation resolved",
    "refused.escalation_resolve": "click refused: not at this level",
    "reminder.sent": "reminded in the daily digest",
    "reminder.snoozed": "reminder snoozed",
    "reminder.unreachable": "reminder not sent: nobody to reach",
    "refused.digest_snooze": "snooze refused",
    "supervision.stopped": "supervision reminders stopped",
    "highlight.posted": "learning highlight posted",
    "report.queued": "QA report posted to the QA channel",
}


def run(keep: bool = False) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="qabot-demo-"))
    with SlackStandIn() as standin:
        standin.add_channel(QA_CHANNEL, "qa-team")
        standin.invite_bot(QA_CHANNEL)  # as the README's "/invite @qabot" step does
        standin.add_channel(LEARNING_CHANNEL, "practice-learning")
        standin.invite_bot(LEARNING_CHANNEL)
        for name, email, slack_id, *_ in STAFF + MORE_STAFF:
            standin.add_user(slack_id or LOOKED_UP[email], email, name)
        settings = Settings(
            slack_bot_token=standin.bot_token,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=standin.api_url,
            database_url=f"sqlite:///{workdir / 'qabot.sqlite3'}",
            qa_channel=QA_CHANNEL,
            learning_channel=LEARNING_CHANNEL,
            case_url="https://casesystem.example/person/{case_id}",
        )
        rt = Runtime.build(settings)
        rt.database.migrate()
        server, base_url = background_server(rt)
        try:
            sender = SignedSender(f"{base_url}/slack/events", SIGNING_SECRET, standin, settle=rt.settle)
            _script(rt, settings, standin, sender, workdir)
        finally:
            server.close()
            rt.close()
    if keep:
        print(f"\nThe demo's files are kept in {workdir} (qabot.sqlite3, staff.csv, Annex_A_January_2027.xlsx)")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _script(rt: Runtime, settings: Settings, standin: SlackStandIn, slack: SignedSender, workdir: Path) -> None:
    print(
        "qabot demo: a month of the QA Framework — allocation, an audit, its moderation, a dispute, an overdue"
        " action escalated, a learning highlight and the report — played against a local Slack stand-in"
    )
    print(f"(database: a fresh SQLite file; Slack Web API: the stand-in at {standin.api_url})")
    names = {slack_id or LOOKED_UP[email]: name for name, email, slack_id, *_ in STAFF + MORE_STAFF}
    out = Transcript(standin, names, {QA_CHANNEL: "#qa-team", LEARNING_CHANNEL: "#practice-learning"})

    staff_csv = write_staff_csv(workdir / "staff.csv")
    with clock_at(datetime(2026, 12, 31, 16, 0, tzinfo=LONDON)):
        print(
            f"\n$ qabot import-org staff.csv      ({len(STAFF + MORE_STAFF)} people; one has no Slack id in the file)"
        )
        cli.cmd_import_org(settings, Namespace(file=str(staff_csv)))

    monday = datetime(2027, 1, 4, 9, 0, tzinfo=LONDON)
    out.step(monday, "The first working day of January (the 1st is a bank holiday): the clock reminds the QA team.")
    tick(rt, monday)
    out.slack()

    workbook = write_annex_a(workdir / "Annex_A_January_2027.xlsx")
    with clock_at(monday + timedelta(minutes=5)):
        print("\n$ qabot import-cases Annex_A_January_2027.xlsx --month 2027-01")
        print("  (the workbook has Gender, Ethnicity and Date of Birth columns: qabot never reads them)")
        cli.cmd_import_cases(settings, Namespace(file=str(workbook), month="2027-01"))

    with clock_at(monday + timedelta(minutes=7)):
        print("\n$ qabot allocate --month 2027-01 --seed 23      (draws the month's sample; a fixed seed repeats it)")
        cli.cmd_allocate(
            settings, Namespace(month="2027-01", seed=23, redraw=False, add=None, remove=None, confirm=False)
        )

    review_at = monday + timedelta(minutes=10)
    with clock_at(review_at):
        out.step(review_at, "Priya tries /qa allocate (only the QA team may).")
        slack.command("U0PRAC", "/qa", "allocate 2027-01")
        out.slack()
        out.step(review_at, "Quinn QA types /qa allocate in Slack: the same draft opens for review.")
        slack.command("U0QA", "/qa", "allocate 2027-01")
        out.slack()
        view = standin.last("views.open").response["view"]
        print("\n".join(review_lines(view)))

    confirm_at = monday + timedelta(minutes=15)
    with clock_at(confirm_at):
        out.step(confirm_at, "Quinn leaves the sample as drawn and presses Allocate.")
        keep = {
            b["block_id"]: {"keep": [o["value"] for o in b["element"]["options"]]}
            for b in view["blocks"]
            if b.get("block_id", "").startswith("keep_")
        }
        slack.view_submission("U0QA", view, keep)
        tick(rt, confirm_at)
        out.slack()
    for seconds in range(1, 4):
        moment = confirm_at + timedelta(seconds=seconds)
        if tick(rt, moment)["outbox"].sent:
            out.step(moment, "The clock delivers the rest, one message a second to each person (Slack's pace).")
            out.slack()

    with rt.database.unit_of_work() as db:
        audits = {a.auditor.slack_user_id: (a.qa_ref, a.id) for a in db.scalars(select(Audit).order_by(Audit.id))}
    (oliver_ref, oliver_audit), (amira_ref, amira_audit) = audits["U0AUD2"], audits["U0AUD"]

    def press(at: datetime, user: str, action: str, audit_id: int, what: str) -> None:
        """A click on the buttons of the allocation message `user` received for that audit."""
        request = next(c for c in standin.posted() if str(audit_id) in button_values(c.args.get("blocks")))
        with clock_at(at):
            out.step(at, what)
            slack.block_action(
                user,
                action,
                str(audit_id),
                message=standin.message(request.response["ts"]),
                channel_id=request.response["channel"],
            )
            rt.dispatcher.drain()
            out.slack()

    day = monday.replace(hour=11)
    press(
        day,
        "U0AUD",
        "allocation_accept",
        oliver_audit,
        f"Amira Auditor presses Accept on {oliver_ref}, which is Oliver's (a forwarded or forged click).",
    )
    press(
        day + timedelta(minutes=2),
        "U0AUD2",
        "allocation_accept",
        oliver_audit,
        f"Oliver Other presses Accept on {oliver_ref}.",
    )
    press(
        day + timedelta(minutes=2, seconds=1),
        "U0AUD2",
        "allocation_accept",
        oliver_audit,
        "Oliver's double-click: a second Accept arrives. Nothing changes; he is told it is already done.",
    )

    declining = day + timedelta(minutes=30)
    press(
        declining,
        "U0AUD",
        "allocation_decline",
        amira_audit,
        f'Amira Auditor presses "Can\'t take this one" on {amira_ref}: a form asks why.',
    )
    form = standin.last("views.open").response["view"]
    with clock_at(declining):
        slack.view_submission("U0AUD", form, {"reason": {"reason_input": "I supervised this social worker last year."}})
        rt.dispatcher.drain()
        print("   She gives a reason (kept on the trail, not posted to the channel).")
        out.slack()

    def clock(moment: datetime, what: str) -> None:
        """Run the clock at `moment`, then for the next few seconds, as `qabot clock` does, so that messages
        paced at one a second per person arrive under this step."""
        out.step(moment, what)
        sent = 0
        for seconds in range(5):
            sent += tick(rt, moment + timedelta(seconds=seconds))["outbox"].sent
        out.slack()
        if not sent:
            print("   (nothing new is sent)")

    meeting_day = datetime(2027, 1, 5, 10, 0, tzinfo=LONDON)
    press(
        meeting_day,
        "U0AUD2",
        "meeting_open",
        oliver_audit,
        f'Oliver presses "Record the meeting" on {oliver_ref}: the meeting form opens.',
    )
    with clock_at(meeting_day):
        form = standin.last("views.open").response["view"]
        slack.view_submission(
            "U0AUD2",
            form,
            {
                "when_day": {"day": "2027-01-08"},
                "when_time": {"time": "10:30"},
                "attending": {"roles": ["practitioner", "team_manager"]},
            },
        )
        print("   He saves Friday 8 January, 10:30, with Priya and Tom (no CRO ticked, on a child-protection case).")
        rt.dispatcher.drain()
        out.slack()

    clock(datetime(2027, 1, 6, 9, 0, tzinfo=LONDON), "The clock runs (qabot tick): two working days have passed.")
    clock(datetime(2027, 1, 6, 9, 0, tzinfo=LONDON), "The same tick runs again (a restart, a double-fired job).")
    clock(datetime(2027, 1, 7, 9, 0, tzinfo=LONDON), "The working day before the meeting.")
    _audit_steps(rt, standin, slack, out, press, clock, oliver_audit, oliver_ref)

    def click(at: datetime, user: str, action: str, value: int, what: str) -> None:
        """A click on the latest message that, as it stands now, has the button `action` for record `value`
        (a moderation, a dispute), whoever it was sent to: a forwarded message can be clicked by anyone."""
        ts, channel = next(
            (c.response["ts"], c.response["channel"])
            for c in reversed(standin.posted())
            if (action, str(value)) in _actions(standin.message(c.response["ts"]))
        )
        with clock_at(at):
            out.step(at, what)
            slack.block_action(user, action, str(value), message=standin.message(ts), channel_id=channel)
            rt.dispatcher.drain()
            out.slack()

    _moderation_and_dispute_steps(rt, standin, slack, out, click, oliver_audit, oliver_ref)
    _escalation_steps(rt, standin, slack, out, clock, click, oliver_ref)
    _learning_steps(rt, standin, slack, out)

    print("\nThe trail (the events table an inspector would read):")
    with rt.database.unit_of_work() as db:
        for event in db.scalars(select(Event).where(Event.kind != "person.added").order_by(Event.id)):
            audit = db.get(Audit, event.subject_id) if event.subject_type == "audits" else None
            who = names.get(event.actor_slack_id, "qabot")
            what = TRAIL.get(event.kind, event.kind)
            if event.kind == "reminder.sent" and event.detail.get("to"):
                # One event per person and item: say whom of what, or four reminders read as one sent four times.
                first, item = db.get(Person, event.detail["to"]).name.split()[0], str(event.detail.get("item"))
                what = f"reminded {first} in the digest ({item.replace('_', ' ')})"
            print(
                f"   {event.at.astimezone(LONDON):%a %d %b %H:%M}  {audit.qa_ref if audit else '':<15} {what:<40} {who}"
            )


def _actions(message: dict | None) -> set[tuple[str, str]]:
    blocks = (message or {}).get("blocks") or []
    return {(e.get("action_id"), e.get("value")) for b in blocks if b.get("type") == "actions" for e in b["elements"]}


def _deliver(rt: Runtime, out: Transcript, at: datetime) -> None:
    """The clock's next few seconds, so that messages paced at one a second to each person arrive."""
    for seconds in range(4):
        tick(rt, at + timedelta(seconds=seconds))
    out.slack()


def _audit_steps(
    rt: Runtime, standin: SlackStandIn, slack: SignedSender, out: Transcript, press, clock, audit_id: int, ref: str
) -> None:
    """Steps 2 to 4: the practitioner's self-assessment, the family's feedback, the graded audit and actions."""
    form = load_form("collaborative")
    prepared = datetime(2027, 1, 7, 14, 0, tzinfo=LONDON)
    press(prepared, "U0PRAC", "self_assessment_open", audit_id, f'Priya presses "Complete self-assessment" on {ref}.')
    answers = {}
    for domain in form.domains:
        answers[domain.id] = {"answer": "good"}
        answers[domain.rationale_id] = {"answer": "Regular visits; the plan changed when the risks did."}
    answers |= {
        "lived_experience": {"answer": "Worried about school, happier since the move to the new class."},
        "proud_of": {"answer": "The direct work with the child, using the three houses tool."},
        "do_differently": {"answer": "Bring the school into the plan earlier."},
    }
    with clock_at(prepared):
        slack.view_submission("U0PRAC", standin.last("views.open").response["view"], answers)
        rt.dispatcher.drain()
        print("   She grades each domain and reflects; Oliver is told it is ready to read (not what it says).")
        out.slack()

    clock(
        datetime(2027, 1, 8, 9, 0, tzinfo=LONDON),
        "Friday, four working days on: three allocations (one passed back on Monday) are still not accepted.",
    )

    feedback = datetime(2027, 1, 8, 11, 30, tzinfo=LONDON)
    press(
        feedback,
        "U0AUD2",
        "family_feedback_open",
        audit_id,
        'After the meeting, Oliver presses "Record family feedback".',
    )
    view = standin.last("views.open").response["view"]
    with clock_at(feedback):
        typed = {
            "how": {"choice": "mind_of_my_own"},
            "child_voice": {"text": "Likes the new class; wants more time with dad."},
            "family_view": {"text": "Mum says call her on 07700 900123 if anything changes."},
        }
        refused = slack.view_submission("U0AUD2", view, typed).json()
        print(f'   He types a phone number: the form refuses it on the field — "{refused["errors"]["family_view"]}"')
        typed["family_view"] = {"text": "Mum feels listened to; she wants the plan explained again."}
        slack.view_submission("U0AUD2", view, typed)
        rt.dispatcher.drain()
        print("   He removes it and saves. The feedback is stored, never posted to a channel.")
        out.slack()

    audit_at = datetime(2027, 1, 8, 12, 0, tzinfo=LONDON)
    press(
        audit_at, "U0AUD2", "audit_form_open", audit_id, 'Oliver presses "Complete the audit": the form, step by step.'
    )
    view = standin.last("views.open").response["view"]
    with clock_at(audit_at):
        for step in form.steps:
            values = {}
            for q in step.questions:
                if q.kind == "grade":
                    values[q.id] = "requires_improvement" if q.id in ("planning", form.overall.id) else "good"
                    values[q.rationale_id] = f"What the records and the meeting showed about {q.label.lower()}."
                elif q.kind == "yes_no":
                    values[q.id] = "no"
                elif q.kind == "choice":
                    values[q.id] = "partly"
                elif q.kind == "checkboxes":
                    values[q.id] = [q.options[0].value]
                else:
                    values[q.id] = "Seen in the direct work and the child's own words."
            answer = slack.view_submission("U0AUD2", view, {k: {"answer": v} for k, v in values.items()}).json()
            print(f'   step "{step.title}" saved')
            view = answer["view"] | {"id": view["id"], "hash": view.get("hash")}
        done = slack.view_submission(
            "U0AUD2",
            view,
            {
                "action_1": {"answer": "Update the child's plan with the school and share it with mum."},
                "owner_1": {"answer": "U0PRAC"},
                "due_1": {"answer": "2027-01-22"},
            },
        )
        assert done.status == 200
        print("   Overall Requires Improvement, with one SMART action for Priya due Friday 22 January: submitted.")
    for seconds in range(3):
        tick(rt, audit_at + timedelta(seconds=seconds))
    out.slack()


def _moderation_and_dispute_steps(
    rt: Runtime, standin: SlackStandIn, slack: SignedSender, out: Transcript, click, audit_id: int, ref: str
) -> None:
    """Step 6: Mo moderates (one domain changed, with his rationale); Priya disputes the overall grade; the QA Head
    of Service meets everyone and changes it."""
    form = load_form("collaborative")
    with rt.database.unit_of_work() as db:
        moderation_id = db.scalar(select(Moderation.id).where(Moderation.audit_id == audit_id))
    oversight = next(q for q in form.domains if q.id == "management_oversight")

    moderating = datetime(2027, 1, 12, 10, 0, tzinfo=LONDON)
    click(moderating, "U0MOD", "moderation_open", moderation_id, f'Mo Moderator presses "Moderate" on {ref}.')
    print("   The form shows Oliver's grade for each domain and overall, each to agree or change.")
    view = standin.last("views.open").response["view"]
    with clock_at(moderating + timedelta(minutes=20)):
        typed = {oversight.id: {"answer": "requires_improvement"}, "mode": {"answer": "reflective"}}
        refused = slack.view_submission("U0MOD", view, typed).json()
        print(
            f"   He changes {oversight.label} from Good to Requires Improvement and presses Record without saying"
            f' why: the form refuses it on the field — "{refused["errors"][oversight.rationale_id]}"'
        )
        typed[oversight.rationale_id] = {
            "answer": "Supervision records the visits but not the manager's direction when the risks changed."
        }
        assert slack.view_submission("U0MOD", view, typed).body == ""
        rt.dispatcher.drain()
        print(
            "   He adds his rationale, agrees every other grade (overall Requires Improvement stands) and records"
            " it as a reflective moderation."
        )
        print("   The outcome goes to Priya, Tom and Oliver by DM only; their earlier messages are updated in place.")
    _deliver(rt, out, moderating + timedelta(minutes=20))
    alert = next(c for c in reversed(standin.posted("U0PRAC")) if "moderated, overall" in c.args["text"])
    [changed] = [line for line in section_lines(alert.args["blocks"]) if "changed from" in line]
    print(f"   Priya's message lists every grade; the one Mo changed reads: {changed}")

    disputing = datetime(2027, 1, 15, 14, 0, tzinfo=LONDON)
    click(
        disputing,
        "U0PRAC",
        "dispute_open",
        moderation_id,
        f'Friday, three working days later: Priya presses "Dispute this grade" on {ref} (she has 10 working days).',
    )
    view = standin.last("views.open").response["view"]
    with clock_at(disputing + timedelta(minutes=10)):
        reason = (
            "The plan was changed with the school as soon as the risks changed, and the child is settled and"
            " safer in the new class: the impact on the child is good."
        )
        assert slack.view_submission("U0PRAC", view, {"reason": {"answer": reason}}).body == ""
        rt.dispatcher.drain()
        print(f'   She says why: "{reason}"')
        print("   The QA Head of Service is asked to decide; her reason goes to him only, never to a channel.")
    _deliver(rt, out, disputing + timedelta(minutes=10))

    with rt.database.unit_of_work() as db:
        dispute_id = db.scalar(select(Dispute.id).where(Dispute.audit_id == audit_id))
    click(
        disputing + timedelta(minutes=30),
        "U0TM",
        "dispute_change",
        dispute_id,
        'Tom Teamlead, shown the QA Head\'s message, presses its "Change the grade" (only a QA Head of Service may).',
    )

    arranging = datetime(2027, 1, 18, 10, 0, tzinfo=LONDON)
    click(
        arranging,
        "U0QAHEAD",
        "dispute_meeting",
        dispute_id,
        'Monday: Quentin Quality, QA Head of Service, presses "Arrange a meeting" before deciding.',
    )
    view = standin.last("views.open").response["view"]
    with clock_at(arranging + timedelta(minutes=5)):
        everyone = ["practitioner", "team_manager", "auditor", "moderator"]
        typed = {
            "when_day": {"day": "2027-01-20"},
            "when_time": {"time": "14:00"},
            "attending": {"roles": everyone},
        }
        assert slack.view_submission("U0QAHEAD", view, typed).body == ""
        rt.dispatcher.drain()
        print("   He saves Wednesday 20 January, 14:00, a four-way meeting with Priya, Tom, Oliver and Mo.")
    _deliver(rt, out, arranging + timedelta(minutes=5))

    deciding = datetime(2027, 1, 20, 15, 30, tzinfo=LONDON)
    click(
        deciding,
        "U0QAHEAD",
        "dispute_change",
        dispute_id,
        'After the meeting, Quentin presses "Change the grade".',
    )
    view = standin.last("views.open").response["view"]
    with clock_at(deciding + timedelta(minutes=5)):
        why = (
            "The core group minutes show the plan was reviewed when the risks changed, and the child's progress"
            " at school is evident. Oversight still needs strengthening, but the overall impact is good."
        )
        typed = {"grade": {"answer": "good"}, "rationale": {"answer": why}}
        assert slack.view_submission("U0QAHEAD", view, typed).body == ""
        rt.dispatcher.drain()
        print(f'   He changes the overall grade from Requires Improvement to Good (an upgrade): "{why}"')
        print("   Priya, Tom, Oliver and Mo are told by DM; his own message is updated in place, its buttons gone.")
    _deliver(rt, out, deciding + timedelta(minutes=5))


def _escalation_steps(rt: Runtime, standin: SlackStandIn, slack: SignedSender, out: Transcript, clock, click, ref: str):
    """Step 5 drifts: Priya's action, due Friday 22 January, is still open. Five working days on it goes to Sara
    (Service Manager); undecided after her three working days it climbs to Helen (Head of Service), then to Ada
    (Assistant Director), who resolves it."""
    clock(
        datetime(2027, 1, 29, 9, 0, tzinfo=LONDON),
        "Friday 29 January: Priya's action, due a week ago, is still open five working days on.",
    )
    clock(
        datetime(2027, 2, 4, 9, 0, tzinfo=LONDON),
        "Thursday 4 February: Sara's three working days passed with no decision; it climbs to Helen.",
    )
    clock(
        datetime(2027, 2, 10, 9, 0, tzinfo=LONDON),
        "Wednesday 10 February: nor did Helen decide in hers; it climbs to Ada, the Assistant Director.",
    )
    with rt.database.unit_of_work() as db:
        escalation_id = db.scalar(select(Escalation.id).where(Escalation.policy == "overdue_action"))
    deciding = datetime(2027, 2, 10, 11, 0, tzinfo=LONDON)
    click(deciding, "U0HOS", "escalation_resolve", escalation_id, "Helen, shown Ada's message, presses its Resolve.")
    click(deciding, "U0ADA", "escalation_resolve", escalation_id, f'Ada presses "Resolve" on {ref}\'s action.')
    with clock_at(deciding + timedelta(minutes=5)):
        note = "Spoke to the team manager: the updated plan went to the school and mum on Monday; he will sign it off."
        view = standin.last("views.open").response["view"]
        assert slack.view_submission("U0ADA", view, {"note": {"answer": note}}).body == ""
        rt.dispatcher.drain()
        print(f'   Her note: "{note}"')
        print("   Everyone involved is told; the buttons are gone from every message of this escalation.")
    _deliver(rt, out, deciding + timedelta(minutes=5))


def _learning_steps(rt: Runtime, standin: SlackStandIn, slack: SignedSender, out: Transcript) -> None:
    """What the QA team makes of it: Quinn shares a learning highlight (first refused for a phone number in it),
    then posts the report of the quarter so far — January's audits — with its CSV and chart, to the QA channel."""
    sharing = datetime(2027, 2, 10, 14, 0, tzinfo=LONDON)
    with clock_at(sharing):
        out.step(sharing, 'Quinn QA picks the shortcut "Post a learning highlight": its form opens.')
        slack.shortcut("U0QA", "qa_highlight")
        out.slack()
        form = standin.last("views.open").response["view"]
        theme = "Plans written with the family"
        learned = (
            "Where the plan was written with the family, in their words, actions were done on time and the school"
            " knew its part. Team managers: ask for the family's words in supervision."
        )
        refused = slack.view_submission(
            "U0QA", form, {"theme": {"answer": theme}, "learned": {"answer": learned + " Dad: 07700 900456."}}
        )
        print(f'   Her first try keeps a phone number in: the form answers "{refused.json()["errors"]["learned"]}"')
        answers = {"theme": {"answer": theme}, "learned": {"answer": learned}}
        assert slack.view_submission("U0QA", form, answers).body == ""
        rt.dispatcher.drain()
        out.slack()
    reporting = sharing + timedelta(minutes=30)
    with clock_at(reporting):
        out.step(reporting, "Quinn types /qa report 2027Q1: the quarter so far, January's month, for the QA team.")
        slack.command("U0QA", "/qa", "report 2027Q1")
        rt.dispatcher.drain()
        out.slack()
        report = standin.posted(QA_CHANNEL)[-1]
        for line in section_lines(report.args.get("blocks")):
            print(f"     {line}")
