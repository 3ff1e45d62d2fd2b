"""The schema: created and upgraded by Alembic on SQLite and PostgreSQL, matching the models, and the trail
is append-only."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot import cli
from bot.calendar import now
from store import Database, NotMigrated
from store.models import Base, Event
from tests.conftest import PG_URL


def test_migrations_match_the_models(database_url):
    database = Database(database_url)
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_migrate_is_safe_to_run_twice(database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert cli.main(["migrate"]) == 0
    assert cli.main(["migrate"]) == 0
    assert "already up to date" in capsys.readouterr().out
    assert Database(database_url).revisions()[0] == Database(database_url).revisions()[1]


def test_fresh_sqlite_is_created_by_migrate(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/new.sqlite3")
    assert cli.main(["migrate"]) == 0
    assert "was empty" in capsys.readouterr().out


def test_commands_say_when_the_database_is_not_migrated(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/empty.sqlite3")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("QABOT_QA_CHANNEL", "C0QATEAM")
    assert cli.main(["tick"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"qabot: there is no database at {tmp_path}/empty.sqlite3: run `qabot migrate` (or check DATABASE_URL)"
    )
    assert not (tmp_path / "empty.sqlite3").exists()  # looking did not create one
    Database(f"sqlite:///{tmp_path}/empty.sqlite3").engine.connect().close()
    with pytest.raises(NotMigrated, match="has no qabot schema yet: run `qabot migrate`"):
        Database(f"sqlite:///{tmp_path}/empty.sqlite3").check_migrated()


def test_an_unreachable_database_is_one_line_with_the_reason_and_never_the_password(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://qabot:s3cret@127.0.0.1:1/qabot")
    assert cli.main(["migrate"]) == 2
    assert capsys.readouterr().err.strip() == (
        "qabot: cannot reach the database qabot on 127.0.0.1:1 (Connection refused): check DATABASE_URL"
    )
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/no/such/dir/qabot.sqlite3")
    assert cli.main(["migrate"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"qabot: cannot reach the SQLite database {tmp_path}/no/such/dir/qabot.sqlite3 (unable to open database file):"
        " check DATABASE_URL"
    )


@pytest.mark.skipif(not PG_URL, reason="needs the PostgreSQL server the suite runs against")
def test_a_database_that_is_not_there_says_so(monkeypatch, capsys):
    url = make_url(PG_URL).set(database="qabot_no_such_db", password="s3cret")
    monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
    assert cli.main(["migrate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"qabot: cannot reach the database qabot_no_such_db on {url.host}")
    assert err.endswith('(database "qabot_no_such_db" does not exist): check DATABASE_URL')
    assert "s3cret" not in err


def test_the_trail_is_append_only(database_url):
    database = Database(database_url)
    with database.unit_of_work() as db:
        db.add(Event(at=now(), kind="test.happened", detail={"n": 1}))
    with pytest.raises(ValueError, match="append-only"), database.unit_of_work() as db:
        db.query(Event).one().kind = "test.rewritten"
    with pytest.raises(ValueError, match="append-only"), database.unit_of_work() as db:
        db.delete(db.query(Event).one())
    # Also in the database itself, for anyone who bypasses the ORM.
    for statement in ("UPDATE events SET kind = 'x'", "DELETE FROM events"):
        with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
            conn.execute(text(statement))
    with database.unit_of_work() as db:
        assert db.query(Event).one().kind == "test.happened"


def test_naive_datetimes_are_refused(database_url):
    from datetime import datetime

    database = Database(database_url)
    with pytest.raises(Exception, match="naive datetime"), database.unit_of_work() as db:
        db.add(Event(at=datetime(2027, 1, 4, 9, 0), kind="x", detail={}))
        db.flush()


def test_an_upgrade_keeps_the_rows_a_live_database_has(tmp_path):
    from alembic import command

    from store.models import Audit

    database = Database(f"sqlite:///{tmp_path}/live.sqlite3")
    cfg = database.alembic_config()
    with database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    with database.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO cases (case_ref, category, restricted, practice_dates) VALUES ('X1', 'CP', 0, '{}')")
        )
        conn.execute(
            text(
                "INSERT INTO audits (qa_ref, case_id, month, kind, status, allocated_at, reminders_sent, grades) "
                "VALUES ('QA-2026-12-001', 1, '2026-12', 'collaborative', 'accepted', :at, 0, '{}')"
            ),
            {"at": now()},
        )
    database.migrate()
    with database.unit_of_work() as db:
        audit = db.query(Audit).one()
        assert (audit.meeting_attendees, audit.draft, audit.answers, audit.immediate_concern) == ([], {}, {}, False)


def test_the_upgrade_gives_each_month_its_list_and_each_audit_its_category(tmp_path):
    """Before 0009 a case was on the latest imported month's list only. Upgrading keeps that month's list, and
    gives back to a month already allocated the cases it selected, so what it held back is still offered."""
    from alembic import command

    from bot.workflow import allocation_run
    from store.models import Audit, CaseListEntry

    database = Database(f"sqlite:///{tmp_path}/live.sqlite3")
    cfg = database.alembic_config()
    with database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0008")
    with database.engine.begin() as conn:
        for ref, category in (("X1", "CP"), ("X2", "CIN")):
            conn.execute(
                text(
                    "INSERT INTO cases (case_ref, category, restricted, practice_dates, month, worker_name) "
                    "VALUES (:ref, :category, 0, '{\"cin_start\": \"2026-10-01\"}', '2027-02', 'Jo Bloggs')"
                ),
                {"ref": ref, "category": category},
            )
        conn.execute(
            text(
                "INSERT INTO audits (qa_ref, case_id, month, kind, status, allocated_at, reminders_sent, grades, "
                "meeting_attendees, draft, answers, immediate_concern, cycle) "
                "VALUES ('QA-2027-01-001', 1, '2027-01', 'collaborative', 'accepted', :at, 0, '{}', '[]', '{}', '{}', "
                "0, 0)"
            ),
            {"at": now()},
        )
        conn.execute(
            text(
                "INSERT INTO allocation_runs (month, status, seed, parameters, drawn, selected, created_at) "
                "VALUES ('2027-01', 'confirmed', 1, '{}', '[1, 2]', '[1, 2]', :at)"
            ),
            {"at": now()},
        )
    database.migrate()
    with database.unit_of_work() as db:
        assert db.query(Audit).one().category == "CP"
        entries = {(e.case_id, e.month): e for e in db.query(CaseListEntry)}
        assert set(entries) == {(1, "2027-01"), (1, "2027-02"), (2, "2027-01"), (2, "2027-02")}
        assert entries[(2, "2027-01")].category == "CIN"
        assert entries[(2, "2027-01")].practice_dates == {"cin_start": "2026-10-01"}
        assert entries[(2, "2027-01")].worker_name == "Jo Bloggs"
        assert allocation_run.held_back(db, "2027-01") == [2]


def test_the_bulk_writes_write_the_rows_the_one_at_a_time_writes_do(database_url):
    from datetime import UTC, datetime

    from sqlalchemy import select

    from bot import outbox
    from bot.calendar import clock_at
    from bot.workflow import trail
    from store import bulk
    from store.models import OutboxMessage, Person

    database = Database(database_url)
    moment = datetime(2027, 1, 4, 10, 0, tzinfo=UTC)
    ctx = {"on": moment.date(), "at": moment, "items": [{"id": 1, "what": "x"}]}
    columns = ("recipient", "template", "context", "urgent", "status", "available_at", "created_at", "attempts")
    with clock_at(moment), database.unit_of_work() as db:
        people = [Person(name=f"P{n}", email=f"p{n}@example.org") for n in range(2)]
        db.add_all(people)
        db.flush()
        outbox.enqueue(db, "one", "U1", "action_digest", ctx)
        outbox.enqueue_update(db, "one:update", "one", "action_digest", ctx)
        many = [
            outbox.message("one", "U2", "action_digest", ctx),  # queued before: left as it was
            outbox.message("many", "U1", "action_digest", ctx),
            outbox.message("many:update", "U1", "action_digest", ctx, updates_key="many"),
            outbox.message("many", "U3", "action_digest", ctx),  # twice in one batch: the first goes in
        ]
        outbox.enqueue_many(db, many)
        # Many more, as a sweep queues them (on PostgreSQL through a staging table), one of them queued before.
        outbox.enqueue_many(db, [outbox.message(f"bulk:{n:02}", "U4", "action_digest", ctx) for n in range(30)] + many)
        rows = {row.key: row for row in db.scalars(select(OutboxMessage))}
        assert sorted(rows) == [f"bulk:{n:02}" for n in range(30)] + ["many", "many:update", "one", "one:update"]
        assert rows["bulk:29"].recipient == "U4"
        assert [getattr(rows["bulk:29"], c) for c in columns[1:]] == [getattr(rows["many"], c) for c in columns[1:]]
        assert rows["one"].recipient == rows["many"].recipient == "U1"
        for one, other in (("one", "many"), ("one:update", "many:update")):
            assert [getattr(rows[one], c) for c in columns] == [getattr(rows[other], c) for c in columns]
        assert (rows["one:update"].updates_key, rows["many:update"].updates_key) == ("one", "many")
        assert outbox.decode(rows["many"].context) == ctx

        trail.record(db, "test.one", subject=people[0], n=1)
        trail.record(db, "test.one", actor=people[1], n=2)
        trail.record_many(db, [("test.many", people[0], {"n": 1})])
        trail.record_many(db, [("test.many", None, {"n": 2})], actor=people[1])
        events = db.scalars(select(Event).order_by(Event.id)).all()
        fields = ("at", "actor_id", "actor_slack_id", "subject_type", "subject_id", "detail")
        assert [[getattr(e, f) for f in fields] for e in events[:2]] == [
            [getattr(e, f) for f in fields] for e in events[2:]
        ]

        bulk.update_ids(db, Person, [p.id for p in people], active=False)
        db.expire_all()
        assert [p.active for p in db.scalars(select(Person))] == [False, False]
