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
CASES = [("CS-100234", "CP"), ("CS-100871", "CIN")]


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
        print(f"\n{moment.astimezone(LONDON):%a %d %b %Y %H:%M}  {text}")

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


def _script(rt: Runtime, standin: SlackStandIn, slack: SignedSender) -> None:
    print("qabot demo: a slice of the QA Framework, played against a local Slack stand-in")
    print(f"(database: a fresh SQLite file; Slack Web API: the stand-in at {standin.api_url})")
    ids = seed(rt.database, standin)
    names = {slack_id: name for name, _, slack_id, *_ in STAFF}
    out = Transcript(standin, names)
    print(
        f"\nStaff directory: {len(STAFF)} people in 3 teams; case list for January 2027: {len(CASES)} cases."
    )

    monday = datetime(2027, 1, 4, 9, 0, tzinfo=LONDON)
    with clock_at(monday):
        out.step(monday, "The QA team allocates this month's audits (Quinn QA, for the QA team).")
        with rt.database.unit_of_work() as db:
            amira, oliver = db.get(Person, ids["amira"]), db.get(Person, ids["oliver"])
            cases = db.scalars(select(Case).order_by(Case.id)).all()
            first = allocation.allocate(db, rt.calendar, rt.settings, cases[0], amira, "2027-01")
            second = allocation.allocate(db, rt.calendar, rt.settings, cases[1], oliver, "2027-01")
            refs = (first.qa_ref, second.qa_ref)
            first_id = first.id
        print(f"   {refs[0]} → Amira Auditor;  {refs[1]} → Oliver Other")
        tick(rt, monday)
        out.slack()
    paced = monday + timedelta(seconds=1)
    out.step(paced, "One second later the clock delivers the rest (at most one message a second per person).")
    tick(rt, paced)
    out.slack()

    request = standin.posted("U0AUD")[0]
    message = standin.message(request.response["ts"])

    later = datetime(2027, 1, 4, 9, 12, tzinfo=LONDON)
    with clock_at(later):
        out.step(later, "Oliver Other presses Accept on Amira's allocation (a forwarded or forged click).")
        slack.block_action(
            "U0AUD2",
            "allocation_accept",
            str(first_id),
            message=message,
            channel_id=request.response["channel"],
        )
        out.slack()

    accepted = datetime(2027, 1, 4, 9, 14, tzinfo=LONDON)
    with clock_at(accepted):
        out.step(accepted, "Amira Auditor presses Accept.")
        slack.block_action(
            "U0AUD",
            "allocation_accept",
            str(first_id),
            message=message,
            channel_id=request.response["channel"],
        )
        rt.dispatcher.drain()
        out.slack()
        out.step(accepted, "Amira double-clicked: the second click arrives too.")
        response = slack.block_action(
            "U0AUD",
            "allocation_accept",
            str(first_id),
            message=message,
            channel_id=request.response["channel"],
        )
        rt.dispatcher.drain()
        print(f"   (HTTP {response.status}; the allocation is decided once)")
        out.slack()

    for moment, what in (
        (
            datetime(2027, 1, 6, 9, 0, tzinfo=LONDON),
            "The clock runs (qabot tick): two working days have passed.",
        ),
        (
            datetime(2027, 1, 6, 9, 0, tzinfo=LONDON),
            "The same tick runs again (a restart, a double-fired job).",
        ),
        (datetime(2027, 1, 8, 9, 0, tzinfo=LONDON), "Four working days: Oliver has still not accepted."),
    ):
        out.step(moment, what)
        results = tick(rt, moment)
        out.slack()
        if not results["outbox"].sent:
            print("   (nothing new sent)")

    print("\nWhat the trail shows (the events table an inspector would read):")
    with rt.database.unit_of_work() as db:
        for event in db.scalars(select(Event).order_by(Event.id)):
            audit = db.get(Audit, event.subject_id) if event.subject_type == "audits" else None
            who = names.get(event.actor_slack_id, "qabot")
            print(
                f"   {event.at.astimezone(LONDON):%d %b %H:%M}  {event.kind:<34} {audit.qa_ref if audit else ''}"
                f"  by {who}"
            )
