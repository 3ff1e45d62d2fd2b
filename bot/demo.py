"""`qabot demo`: a scripted slice of the workflow, played on a fresh SQLite file against the Slack stand-in,
through the real HTTP endpoint and the real clock functions. Prints who was told what and what changed."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.calendar import clock_at
from bot.config import Settings
from bot.runtime import Runtime
from bot.sandbox.requests import SignedSender
from bot.sandbox.server import SlackStandIn
from bot.server import background_server
from bot.workflow import allocation
from bot.workflow.directory import add_person
from scheduler.jobs import tick
from store import Database
from store.models import Audit, Case, Event, Person

LONDON = ZoneInfo("Europe/London")
SIGNING_SECRET = "demo-signing-secret"
QA_CHANNEL = "C0QATEAM"

# name, email, Slack user id, roles, team, line manager's email
STAFF = [
    ("Helen Head", "helen@council.example", "U0HOS", ["head_of_service"], "Service Leadership", None),
    ("Sara Service", "sara@council.example", "U0SM", ["service_manager"], "Service Leadership", "helen"),
    ("Tom Teamlead", "tom@council.example", "U0TM", ["team_manager"], "Family Support North", "sara"),
    (
        "Priya Practitioner",
        "priya@council.example",
        "U0PRAC",
        ["practitioner"],
        "Family Support North",
        "tom",
    ),
    ("Amira Auditor", "amira@council.example", "U0AUD", ["auditor"], "Quality Assurance", None),
    ("Oliver Other", "oliver@council.example", "U0AUD2", ["auditor"], "Quality Assurance", None),
    ("Quinn QA", "quinn@council.example", "U0QA", ["qa_team"], "Quality Assurance", None),
]
# case-system id, category; all allocated to Priya in Family Support North
CASES = [("CS-100234", "CP"), ("CS-100871", "CIN"), ("CS-100512", "CLA")]


def seed(database: Database, standin: SlackStandIn | None = None) -> dict[str, int]:
    """A small staff directory and case list. Returns person ids by first name (lower case)."""
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
            db.add(Case(case_ref=case_ref, category=category, team=priya.team, worker=priya, month="2027-01"))
    return ids


@dataclass
class Transcript:
    standin: SlackStandIn
    names: dict[str, str]
    seen: int = 0

    def say(self, text: str = "") -> None:
        print(text)

    def step(self, moment: datetime, text: str) -> None:
        local = moment.astimezone(LONDON)
        print(f"\n{local:%a %d %b %Y %H:%M:%S}  {text}")

    def slack(self) -> None:
        """Print what reached Slack since the last call."""
        for call in self.standin.calls[self.seen :]:
            if not call.ok:
                continue
            if call.method in ("chat.postMessage", "chat.update"):
                where = self._where(call.args.get("channel", ""))
                verb = "posted to" if call.method == "chat.postMessage" else "updated in place for"
                print(f"   → {verb} {where}: {_first_line(call.args.get('text', ''))}")
                buttons = _buttons(call.args.get("blocks"))
                if buttons:
                    print("     buttons: " + "  ".join(f"[{b}]" for b in buttons))
            elif call.method == "views.publish":
                print(f"   → App Home refreshed for {self._where(call.args.get('user_id', ''))}")
        for response in self.standin.responses[getattr(self, "_responses", 0) :]:
            print(f"   → only they see: {_first_line(response.body.get('text', ''))}")
        self._responses = len(self.standin.responses)
        self.seen = len(self.standin.calls)

    def _where(self, channel: str) -> str:
        if channel in self.names:
            return f"DM to {self.names[channel]}"
        if channel.startswith("D") and channel[1:] in self.names:
            return f"DM to {self.names[channel[1:]]}"
        return "#qa-team" if channel == QA_CHANNEL else channel


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 140 else line[:137] + "…"


def _buttons(blocks) -> list[str]:
    import json

    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return [e["text"]["text"] for b in blocks or [] if b.get("type") == "actions" for e in b["elements"]]


def run(keep: bool = False) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="qabot-demo-"))
    with SlackStandIn() as standin:
        standin.add_channel(QA_CHANNEL, "qa-team")
        settings = Settings(
            slack_bot_token=standin.bot_token,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=standin.api_url,
            database_url=f"sqlite:///{workdir / 'qabot.sqlite3'}",
            qa_channel=QA_CHANNEL,
            case_url="https://casesystem.example/person/{case_id}",
        )
        rt = Runtime.build(settings)
        rt.database.migrate()
        server, base_url = background_server(rt)
        slack = SignedSender(f"{base_url}/slack/events", SIGNING_SECRET, standin)
        try:
            _script(rt, standin, slack)
        finally:
            server.close()
            rt.close()
    if keep:
        print(f"\nThe demo database is kept at {workdir / 'qabot.sqlite3'}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


TRAIL = {
    "audit.allocated": "allocated",
    "audit.accepted": "accepted",
    "audit.declined": "passed back",
    "audit.accept_reminded": "auditor reminded",
    "audit.accept_overdue_reported": "QA team told: not accepted",
    "refused.allocation_accept": "click refused: not the auditor",
    "refused.allocation_decline": "click refused: not the auditor",
}


def _script(rt: Runtime, standin: SlackStandIn, slack: SignedSender) -> None:
    print("qabot demo: a slice of the QA Framework, played against a local Slack stand-in")
    print(f"(database: a fresh SQLite file; Slack Web API: the stand-in at {standin.api_url})")
    ids = seed(rt.database, standin)
    names = {slack_id: name for name, _, slack_id, *_ in STAFF}
    out = Transcript(standin, names)
    print(f"\nStaff directory: {len(STAFF)} people in 3 teams; case list for January 2027: {len(CASES)} cases.")

    monday = datetime(2027, 1, 4, 9, 0, tzinfo=LONDON)
    with clock_at(monday):
        out.step(monday, "Quinn QA, for the QA team, confirms this month's allocations.")
        with rt.database.unit_of_work() as db:
            quinn = db.get(Person, ids["quinn"])
            auditors = [db.get(Person, ids[name]) for name in ("amira", "oliver", "amira")]
            audits = [
                allocation.allocate(db, rt.calendar, rt.settings, case, auditor, "2027-01", by=quinn)
                for case, auditor in zip(db.scalars(select(Case).order_by(Case.id)), auditors, strict=True)
            ]
            audit_ids = [a.id for a in audits]
            print("   " + ";  ".join(f"{a.qa_ref} → {a.auditor.name}" for a in audits))
        tick(rt, monday)
        out.slack()
    for seconds in (1, 2):
        paced = monday + timedelta(seconds=seconds)
        out.step(paced, "The clock delivers the rest, one message a second to each person (Slack's pace).")
        tick(rt, paced)
        out.slack()

    def press(at: datetime, user: str, action: str, audit_id: int, what: str, *, nth: int = 0):
        """A click on the buttons of the nth allocation message `user` received."""
        request = standin.posted(user)[nth]
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

    first, _, third = audit_ids
    press(
        datetime(2027, 1, 4, 9, 12, tzinfo=LONDON),
        "U0AUD2",
        "allocation_accept",
        first,
        "Oliver Other presses Accept on Amira's allocation (a forwarded or forged click).",
    )
    press(
        datetime(2027, 1, 4, 9, 14, tzinfo=LONDON), "U0AUD", "allocation_accept", first, "Amira Auditor presses Accept."
    )
    press(
        datetime(2027, 1, 4, 9, 14, 1, tzinfo=LONDON),
        "U0AUD",
        "allocation_accept",
        first,
        "Amira's double-click: a second Accept arrives. Nothing changes; she is told it is already done.",
    )

    declining = datetime(2027, 1, 4, 11, 30, tzinfo=LONDON)
    press(
        declining,
        "U0AUD",
        "allocation_decline",
        third,
        'Amira presses "Can\'t take this one" on her second allocation: a form asks why.',
        nth=1,
    )
    form = standin.last("views.open").response["view"]
    with clock_at(declining):
        slack.view_submission("U0AUD", form, {"reason": {"reason_input": "I supervised this practitioner last year."}})
        rt.dispatcher.drain()
        print("   She gives a reason (kept on the trail, not posted to the channel).")
        out.slack()

    for moment, what in (
        (datetime(2027, 1, 6, 9, 0, tzinfo=LONDON), "The clock runs (qabot tick): two working days have passed."),
        (datetime(2027, 1, 6, 9, 0, tzinfo=LONDON), "The same tick runs again (a restart, a double-fired job)."),
        (datetime(2027, 1, 8, 9, 0, tzinfo=LONDON), "Four working days: Oliver has still not accepted."),
    ):
        out.step(moment, what)
        results = tick(rt, moment)
        out.slack()
        if not results["outbox"].sent:
            print("   (nothing new is sent)")

    print("\nThe trail (the events table an inspector would read):")
    with rt.database.unit_of_work() as db:
        for event in db.scalars(select(Event).order_by(Event.id)):
            audit = db.get(Audit, event.subject_id) if event.subject_type == "audits" else None
            who = names.get(event.actor_slack_id, "qabot")
            what = TRAIL.get(event.kind, event.kind)
            print(
                f"   {event.at.astimezone(LONDON):%a %d %b %H:%M}  {audit.qa_ref if audit else '':<15} {what:<32} {who}"
            )
