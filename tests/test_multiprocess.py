"""More than one process on one PostgreSQL: two `qabot serve` and two outbox dispatchers share the database and the
Slack stand-in while Slack's re-deliveries and people's double clicks land on different servers. Every notification
goes exactly once, none is lost, and each decision is taken once, by one winner; the loser is told who decided."""

import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from bot import outbox
from bot.calendar import clock_at, now
from bot.outbox import UNSENT, Dispatcher
from bot.sandbox.requests import SignedSender
from bot.workflow import allocation, disputes
from bot.workflow.directory import add_person
from messages import render
from store import Database
from store.models import Audit, Case, CaseListEntry, Dispute, Event, Moderation, OutboxMessage, Person
from tests.conftest import PG_URL, SIGNING_SECRET
from tests.test_processes import _env, _free_port, _wait_for

pytestmark = pytest.mark.skipif(
    not PG_URL,
    reason="needs PostgreSQL (QABOT_TEST_DATABASE_URL): processes claim outbox rows with FOR UPDATE SKIP LOCKED,"
    " and SQLite lets one process write at a time",
)

LONDON = ZoneInfo("Europe/London")
MONDAY_10 = datetime(2027, 1, 4, 10, 0, tzinfo=LONDON)


# --- two dispatchers, one table ----------------------------------------------------------------------------------


def _queue_notices(rt, people: int, each: int) -> list[str]:
    keys = []
    with clock_at(MONDAY_10), rt.database.unit_of_work() as db:
        for n in range(each):
            for p in range(people):
                keys.append(f"load:{p}:{n}")
                outbox.enqueue(db, keys[-1], f"U0LOAD{p:03d}", "notice", {"text": keys[-1]})
    return keys


def _dispatcher(rt) -> Dispatcher:
    """A dispatcher with its own engine, as in another process."""
    dispatcher = Dispatcher(Database(PG_URL), rt.client, rt.calendar)
    dispatcher.pace = timedelta(0)
    return dispatcher


def test_a_dispatcher_skips_rows_another_has_claimed_without_waiting(rt, standin):
    _queue_notices(rt, people=20, each=1)
    ids = {row.id for row in _rows(rt)}
    holder, other = Database(PG_URL), _dispatcher(rt)
    try:
        with holder.unit_of_work() as db, clock_at(MONDAY_10):
            # Another dispatcher's claim, caught between its SELECT … FOR UPDATE and its commit.
            locked = db.scalars(select(OutboxMessage).order_by(OutboxMessage.id).limit(5).with_for_update()).all()
            claimed: list[list[int]] = []
            claiming = threading.Thread(target=lambda: claimed.append(other._claim(200)))
            claiming.start()
            claiming.join(timeout=10)
            assert not claiming.is_alive(), "the claim waited for the other dispatcher's locks instead of skipping"
            assert sorted(claimed[0]) == sorted(ids - {row.id for row in locked})
        with clock_at(MONDAY_10):
            # Committed without sending (the holder changed nothing): the skipped rows are there for the next drain.
            assert sorted(other._claim(200)) == sorted(row.id for row in locked)
    finally:
        holder.engine.dispose()
        other.database.engine.dispose()


def test_two_dispatchers_draining_at_once_send_each_notification_once_and_in_order(rt, standin):
    keys = _queue_notices(rt, people=40, each=4)
    first, second = _dispatcher(rt), _dispatcher(rt)
    start = threading.Barrier(2)
    sent: dict[int, list[str]] = {0: [], 1: []}

    def drain(n: int, dispatcher: Dispatcher) -> None:
        start.wait()
        while True:
            # Small claims, so the two take turns on the same rows rather than one taking the lot.
            result = dispatcher.drain(limit=8)
            sent[n] += result.keys
            if not result.sent and not result.queued:
                return

    try:
        with clock_at(MONDAY_10), ThreadPoolExecutor(2) as pool:
            list(pool.map(drain, (0, 1), (first, second)))
    finally:
        first.database.engine.dispose()
        second.database.engine.dispose()
    assert not set(sent[0]) & set(sent[1])
    assert sorted(sent[0] + sent[1]) == sorted(keys)
    posted = standin.posted()
    assert len(posted) == len(keys) == len({c.response["ts"] for c in posted})
    # Per person in the order queued, whichever dispatcher sent each one (the stand-in records calls as they come).
    for person in range(40):
        texts = [c.args["text"] for c in posted if c.args["channel"] == f"U0LOAD{person:03d}"]
        assert texts == [f"load:{person}:{n}" for n in range(4)]


# --- two servers and two dispatchers under load ------------------------------------------------------------------

GROUPS = ("redelivered", "double_click", "declined", "meeting", "accept_or_pass")
PER_GROUP = 4
DISPUTES = 4
HEADS = [("Hana Head", "U0HEAD1"), ("Hugo Head", "U0HEAD2")]
REASON = "The plan was reviewed at the core group and the child's progress is evident."


def _month_after(d) -> str:
    return f"{d.year + d.month // 12}-{d.month % 12 + 1:02d}"


def _directory(rt, standin) -> None:
    """The tests' directory plus eight more auditors, two QA Heads of Service and a moderator."""
    with rt.database.unit_of_work() as db:
        extra = [(f"Auditor {c}", f"U0AUD{c}", ["auditor"]) for c in "ABCDEFGH"]
        extra += [(name, slack, ["qa_head_of_service"]) for name, slack in HEADS]
        extra += [("Mo Derator", "U0MOD", ["moderator"])]
        for name, slack, roles in extra:
            add_person(
                db,
                name=name,
                email=f"{slack.lower()}@council.example",
                slack_user_id=slack,
                roles=roles,
                team="Quality Assurance",
            )
            standin.add_user(slack, f"{slack.lower()}@council.example", name)


def _setup(rt, standin, world, month: str, dispute_month: str) -> tuple[dict[str, list[int]], list[int]]:
    """Twenty audits in five groups of four, allocated and their people told; and four moderated audits whose
    grade the practitioner disputes, so that both QA Heads are asked to decide."""
    _directory(rt, standin)
    with rt.database.unit_of_work() as db:
        priya = db.get(Person, world.people["priya"])
        auditors = list(
            db.scalars(select(Person).where(Person.slack_user_id.like("U0AUD%")).order_by(Person.slack_user_id))
        )
        mo = db.scalar(select(Person).where(Person.slack_user_id == "U0MOD"))
        audits = []
        for n in range(len(GROUPS) * PER_GROUP + DISPUTES):
            for_month = month if n < len(GROUPS) * PER_GROUP else dispute_month
            case = Case(case_ref=f"CS-3{n:05d}", category="CIN", team=priya.team, worker=priya, month=for_month)
            db.add(CaseListEntry(case=case, month=for_month, category="CIN", team=priya.team, worker=priya))
            db.flush()
            audits.append(
                allocation.allocate(db, rt.calendar, rt.settings, case, auditors[n % len(auditors)], for_month)
            )
        allocation.tell_people_on_the_case(db, audits, batch="load")
        groups = {g: [a.id for a in audits[i * PER_GROUP : (i + 1) * PER_GROUP]] for i, g in enumerate(GROUPS)}
        for audit in audits[len(GROUPS) * PER_GROUP :]:
            audit.status = "moderated"
            db.add(
                Moderation(
                    audit_id=audit.id,
                    moderator_id=mo.id,
                    mode="reflective",
                    status="done",
                    due_at=now() + timedelta(days=7),
                    grade="requires_improvement",
                    changes={},
                    decided_at=now(),
                )
            )
        for audit_id in groups["meeting"]:
            db.get(Audit, audit_id).status = "accepted"
    dispute_ids = []
    for audit in audits[len(GROUPS) * PER_GROUP :]:
        with rt.database.unit_of_work() as db:
            moderation_id = db.scalar(select(Moderation.id).where(Moderation.audit_id == audit.id))
            raised = disputes.raise_dispute(db, rt.calendar, rt.settings, moderation_id, "U0PRAC", REASON)
            assert raised.ok, raised
            dispute_ids.append(raised.detail["dispute_id"])
    return groups, dispute_ids


def _rows(rt) -> list[OutboxMessage]:
    with rt.database.unit_of_work() as db:
        return list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _unsent(rt) -> int:
    with rt.database.unit_of_work() as db:
        return db.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.in_(UNSENT)))


def _message(rt, standin, key: str) -> dict:
    with rt.database.unit_of_work() as db:
        return standin.message(db.scalar(select(OutboxMessage.ts).where(OutboxMessage.key == key)))


def _views(standin, callback_id: str, audit_id: int) -> list[dict]:
    """The forms opened with this callback for this audit."""
    return [
        c.response["view"]
        for c in list(standin.calls)
        if c.method == "views.open"
        and c.ok
        and (c.response["view"]["callback_id"], c.response["view"]["private_metadata"]) == (callback_id, str(audit_id))
    ]


def _is_open(standin, callback_id: str, audit_id: int) -> bool:
    return bool(_views(standin, callback_id, audit_id))


def _opened(standin, callback_id: str, audit_id: int) -> dict:
    [view] = _views(standin, callback_id, audit_id)
    return view


def _together(*requests):
    """Send requests at the same moment, each from its own thread: a race the database has to settle."""
    start = threading.Barrier(len(requests))

    def send(request):
        start.wait()
        return request()

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "tests.shifted", *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen) -> tuple[str, str]:
    process.terminate()
    try:
        return process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()


def test_two_servers_and_two_dispatchers_deliver_every_notification_once(rt, settings, standin, world):
    # Every process lives at 10:00 on the next working day (see tests/shifted.py): on the real clock, a run at night or
    # at a weekend would hold messages to people until working hours.
    real = datetime.now(UTC)
    anchor = rt.calendar.at(rt.calendar.add_working_days(rt.calendar.local(real).date(), 1), time(10, 0))
    offset = str((anchor - real).total_seconds())
    processes: list[subprocess.Popen] = []
    outputs: list[tuple[str, str]] = []
    with freeze_time(anchor, tick=True):
        local = rt.calendar.local(anchor)
        groups, dispute_ids = _setup(rt, standin, world, _month_after(local), f"{local:%Y-%m}")
        setup_keys = {row.key for row in _rows(rt)}
        ports = [_free_port(), _free_port()]
        try:
            processes += [_start([offset, "serve"], _env(settings, PORT=str(port))) for port in ports]
            processes += [_start([offset, "dispatch"], _env(settings)) for _ in range(2)]
            servers = [SignedSender(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET, standin) for port in ports]

            def up(sender: SignedSender) -> bool:
                try:
                    return sender.url_verification().status == 200
                except OSError:
                    return False

            assert _wait_for(lambda: all(up(s) for s in servers), 30), "qabot serve did not come up"
            # People click on the messages they were sent: the dispatchers deliver the allocations first.
            assert _wait_for(lambda: _unsent(rt) == 0, 30), "the allocations were not delivered"
            answered = _load(rt, standin, servers, groups, dispute_ids)
            # Stopped as a deployment stops them (SIGTERM), the servers first finish the work they acknowledged.
            outputs = [_finish(p) for p in processes[:2]]
            assert _wait_for(lambda: _unsent(rt) == 0, 30), [(r.key, r.status) for r in _rows(rt) if r.status in UNSENT]
        finally:
            outputs = outputs + [_finish(p) for p in processes[len(outputs) :]]
    for _, err in outputs:
        assert "Traceback" not in err, err
    by_dispatcher = [set(out.split()) for out, _ in outputs[2:]]
    assert not by_dispatcher[0] & by_dispatcher[1]
    _assert_delivered_once(rt, standin)
    _assert_decided_once(rt, standin, groups, dispute_ids, answered)
    _assert_nothing_lost(rt, groups, setup_keys)


def _load(rt, standin, servers, groups, dispute_ids) -> dict[str, list[list]]:
    """The requests Slack sends, spread over both servers, each duplicate racing its twin on the other server.
    Returns both answers of every pair, by group."""
    with rt.database.unit_of_work() as db:
        asked = {
            a.id: (f"allocation:{a.id}:request:{a.auditor_id}", a.auditor.slack_user_id)
            for a in db.scalars(select(Audit))
        }
        heads = {p.slack_user_id: p.id for p in db.scalars(select(Person).where(Person.slack_user_id.like("U0HEAD%")))}

    def click(server, user, action, value, **kw):
        return lambda: server.block_action(user, action, str(value), **kw)

    # Forms are opened first (a trigger_id lasts 3 seconds): "Can't take this one" and "Record the meeting".
    openings = []
    for n, audit_id in enumerate(groups["declined"] + groups["accept_or_pass"]):
        key, auditor = asked[audit_id]
        openings.append(
            click(servers[n % 2], auditor, "allocation_decline", audit_id, message=_message(rt, standin, key))
        )
    for n, audit_id in enumerate(groups["meeting"]):
        openings.append(click(servers[n % 2], asked[audit_id][1], "meeting_open", audit_id))
    assert {r.status for r in _together(*openings)} == {200}
    # A click is answered before its form is opened: the forms are on screen a moment later.
    forms = [("allocation_decline", a) for a in groups["declined"] + groups["accept_or_pass"]]
    forms += [("meeting_form", a) for a in groups["meeting"]]
    assert _wait_for(lambda: all(_is_open(standin, *form) for form in forms), 30), "the forms were not opened"

    races: dict[str, list[list]] = {g: [] for g in (*GROUPS, "dispute", "home")}
    for n, audit_id in enumerate(groups["redelivered"]):
        key, auditor = asked[audit_id]
        # One click delivered to both servers: the same action_ts, so the same request.
        same = {"message": _message(rt, standin, key), "action_ts": f"1767517200.{n:06d}"}
        races["redelivered"].append([click(s, auditor, "allocation_accept", audit_id, **same) for s in servers])
    for audit_id in groups["double_click"]:
        key, auditor = asked[audit_id]
        message = _message(rt, standin, key)
        races["double_click"].append(
            [click(s, auditor, "allocation_accept", audit_id, message=message) for s in servers]
        )
    reason = {"reason": {"reason_input": "I supervised this worker last year."}}
    day = rt.calendar.add_working_days(rt.calendar.local(now()).date(), 2).isoformat()
    meeting = {
        "when_day": {"day": day},
        "when_time": {"time": "10:30"},
        "attending": {"roles": ["practitioner", "team_manager"]},
    }
    for group, callback, values in (("declined", "allocation_decline", reason), ("meeting", "meeting_form", meeting)):
        for audit_id in groups[group]:
            # The same submission (view id and hash) delivered to both servers.
            view, auditor = _opened(standin, callback, audit_id), asked[audit_id][1]
            races[group].append([lambda s=s, a=auditor, v=view, x=values: s.view_submission(a, v, x) for s in servers])
    for audit_id in groups["accept_or_pass"]:
        # The auditor's Accept on one server and their "Can't take this one" form on the other: one decides.
        key, auditor = asked[audit_id]
        view, message = _opened(standin, "allocation_decline", audit_id), _message(rt, standin, key)
        races["accept_or_pass"].append(
            [
                click(servers[0], auditor, "allocation_accept", audit_id, message=message),
                lambda a=auditor, v=view: servers[1].view_submission(a, v, reason),
            ]
        )
    for dispute_id in dispute_ids:
        # Both QA Heads of Service uphold it at once, each on another server.
        races["dispute"].append(
            [
                click(
                    s,
                    head,
                    "dispute_uphold",
                    dispute_id,
                    message=_message(rt, standin, f"dispute:{dispute_id}:head:{heads[head]}"),
                )
                for s, (_, head) in zip(servers, HEADS, strict=True)
            ]
        )
    for n, user in enumerate(("U0AUD", "U0AUD2", "U0PRAC", "U0TM", "U0SM", "U0HEAD1")):
        # Slack retries an event it thinks timed out (X-Slack-Retry-Num: 1); the retry lands on the other server.
        event = f"Ev0LOAD{n:04d}"
        races["home"].append(
            [
                lambda u=user, e=event: servers[0].app_home_opened(u, event_id=e),
                lambda u=user, e=event: servers[1].app_home_opened(u, event_id=e, retry_num=1),
            ]
        )
    everything = [(group, pair) for group, pairs in races.items() for pair in pairs]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda item: _together(*item[1]), everything))
    answered: dict[str, list[list]] = {g: [] for g in races}
    for (group, _), pair in zip(everything, answers, strict=True):
        assert [r.status for r in pair] == [200, 200], (group, [r.body for r in pair])
        answered[group].append(pair)
    return answered


def _assert_delivered_once(rt, standin) -> None:
    """Each outbox row went to Slack exactly once, as its own words; Slack got nothing that is not a row."""
    rows = _rows(rt)
    assert {r.status for r in rows} == {"sent"}
    calls = [c for c in standin.calls if c.method in ("chat.postMessage", "chat.update")]
    assert all(c.ok for c in calls), [c.error for c in calls if not c.ok]
    posts = Counter(c.response["ts"] for c in calls if c.method == "chat.postMessage")
    new = [r for r in rows if r.updates_key is None]
    assert len(new) == sum(posts.values()) and all(posts[r.ts] == 1 for r in new)
    texts = {c.response["ts"]: c.args["text"] for c in calls if c.method == "chat.postMessage"}
    for row in new:
        assert texts[row.ts] == render(row.template, outbox.decode(row.context))["text"], row.key
    updates = Counter((c.args["ts"], c.args["text"]) for c in calls if c.method == "chat.update")
    by_key = {r.key: r for r in rows}
    expected = Counter(
        (by_key[r.updates_key].ts, render(r.template, outbox.decode(r.context))["text"])
        for r in rows
        if r.updates_key is not None
    )
    assert updates == expected


def _told_in_dm(standin, qa_ref: str) -> list[str]:
    return [c.args["text"] for c in standin.calls if c.method == "chat.postEphemeral" and qa_ref in c.args["text"]]


def _refusals(standin, response) -> list[str]:
    url_id = response.sent["response_url"].rsplit("/", 1)[-1]
    return [r.body["text"] for r in standin.responses if r.url_id == url_id]


def _assert_decided_once(rt, standin, groups, dispute_ids, answered) -> None:
    with rt.database.unit_of_work() as db:
        events = list(db.scalars(select(Event).order_by(Event.id)))
        # What happened to each audit (a refused click is on the trail too, when it came after the decision).
        kinds = {
            a.id: [
                e.kind
                for e in events
                if (e.subject_type, e.subject_id) == ("audits", a.id) and not e.kind.startswith("refused.")
            ]
            for a in db.scalars(select(Audit))
        }
        status = {a.id: a.status for a in db.scalars(select(Audit))}
        qa_refs = {a.id: a.qa_ref for a in db.scalars(select(Audit))}
        decided = {d.id: (d.status, db.get(Person, d.decided_by_id).name) for d in db.scalars(select(Dispute))}
    # Nothing on the trail twice (a refusal aside, which is one per refused click).
    repeated = Counter(
        (e.kind, e.subject_type, e.subject_id, e.actor_id) for e in events if not e.kind.startswith("refused.")
    )
    assert [k for k, n in repeated.items() if n > 1] == []
    for audit_id in groups["redelivered"] + groups["double_click"]:
        assert (status[audit_id], kinds[audit_id]) == ("accepted", ["audit.allocated", "audit.accepted"])
    for audit_id in groups["declined"]:
        assert (status[audit_id], kinds[audit_id]) == (
            "allocated",
            ["audit.allocated", "audit.declined", "audit.reallocated"],
        )
    for audit_id in groups["meeting"]:
        assert (status[audit_id], kinds[audit_id]) == ("in_progress", ["audit.allocated", "audit.meeting_arranged"])
    # A re-delivery is acted on once and answered with nothing; of a double click, the loser hears it was decided.
    for pair in answered["redelivered"]:
        assert [_refusals(standin, r) for r in pair] == [[], []]
    for pair in answered["declined"] + answered["meeting"]:
        assert [r.body for r in pair] == ["", ""]  # the form closes on both: the duplicate is acknowledged
    for audit_id, (accept, passed) in zip(groups["accept_or_pass"], answered["accept_or_pass"], strict=True):
        if status[audit_id] == "accepted":
            assert kinds[audit_id] == ["audit.allocated", "audit.accepted"]
            # Told on the form when the accept was in before its checks ran; else the form had closed: in the DM.
            told = [passed.json()["errors"]["reason"]] if passed.body else _told_in_dm(standin, qa_refs[audit_id])
            assert len(told) == 1 and "has already been accepted" in told[0]
        else:
            assert kinds[audit_id] == ["audit.allocated", "audit.declined", "audit.reallocated"]
            [refusal] = _refusals(standin, accept)
            assert passed.body == "" and "Only the auditor allocated to" in refusal
    for pair in answered["double_click"]:
        told = sorted((_refusals(standin, r) for r in pair), key=len)
        assert told[0] == [] and len(told[1]) == 1 and "has already been accepted" in told[1][0]
    for dispute_id, pair in zip(dispute_ids, answered["dispute"], strict=True):
        status_, winner = decided[dispute_id]
        assert status_ == "upheld"
        told = sorted((_refusals(standin, r) for r in pair), key=len)
        assert told[0] == [] and len(told[1]) == 1
        assert f"was already decided by {winner}" in told[1][0]
    # Each App Home event, delivered twice, drew the Home tab once.
    publishes = Counter(c.args["user_id"] for c in standin.calls if c.method == "views.publish")
    assert publishes == Counter({u: 1 for u in ("U0AUD", "U0AUD2", "U0PRAC", "U0TM", "U0SM", "U0HEAD1")})


def _assert_nothing_lost(rt, groups, setup_keys) -> None:
    """The outbox holds exactly what one process taking each request once would have queued."""
    with rt.database.unit_of_work() as db:
        people = {p.slack_user_id: p.id for p in db.scalars(select(Person))}
        events = list(db.scalars(select(Event).where(~Event.kind.startswith("refused."))))
        heads = [people[slack] for _, slack in HEADS]
        disputes_ = {d.id: d for d in db.scalars(select(Dispute))}
        audits = {a.id: a for a in db.scalars(select(Audit))}
    told = [(people["U0PRAC"], "practitioner"), (people["U0TM"], "team_manager"), (people["U0SM"], "service_manager")]
    expected = set(setup_keys)
    for event in events:
        audit_id = event.subject_id
        if event.kind == "audit.accepted":
            expected.add(f"allocation:{audit_id}:request:{event.actor_id}:accepted")
        elif event.kind == "audit.declined":
            expected |= {
                f"allocation:{audit_id}:request:{event.actor_id}:declined",
                f"allocation:{audit_id}:declined:{event.actor_id}:qa",
            }
        elif event.kind == "audit.reallocated":
            new = event.detail["auditor_id"]
            expected.add(f"allocation:{audit_id}:request:{new}")
            expected |= {f"allocation:told:reallocated-{audit_id}-{new}:{p}:{role}" for p, role in told}
        elif event.kind == "audit.meeting_arranged":
            stamp = datetime.fromisoformat(event.detail["at"]).isoformat()
            expected |= {f"meeting:{audit_id}:{stamp}:{who}" for who in (people["U0PRAC"], people["U0TM"], "recorded")}
        elif event.kind == "dispute.upheld":
            dispute = disputes_[event.detail["dispute_id"]]
            audit = audits[dispute.audit_id]
            on_audit = (audit.practitioner_id, audit.team_manager_id, audit.auditor_id, people["U0MOD"])
            expected |= {f"dispute:{dispute.id}:upheld:{p}" for p in on_audit}
            expected |= {f"dispute:{dispute.id}:head:{h}:upheld" for h in heads}
    # One process taking each request once queues, per audit: accepted, 1 (its request updated); declined, 6 (the
    # request updated, the QA team told, the new auditor asked, the three people on the case told); a meeting, 3 (the
    # practitioner, the team manager, the auditor's confirmation); a dispute decided, 6 (four people on the audit,
    # both QA Heads' messages updated). Setup queued a request per audit, three "allocated" notes and 2 asks a dispute.
    each = {"redelivered": 1, "double_click": 1, "declined": 6, "meeting": 3}
    raced = [audits[a].status for a in groups["accept_or_pass"]]
    assert len(setup_keys) == len(audits) + 3 + len(HEADS) * DISPUTES
    assert len(expected) == (
        len(setup_keys)
        + sum(n * len(groups[g]) for g, n in each.items())
        + sum(1 if status == "accepted" else 6 for status in raced)
        + 6 * DISPUTES
    )
    assert {r.key for r in _rows(rt)} == expected
