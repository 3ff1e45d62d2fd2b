"""The outbox: once per key, working hours, pacing, 429/5xx/timeouts, failures and `qabot outbox`."""

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from freezegun import freeze_time
from sqlalchemy import select

from bot import cli, outbox
from bot.outbox import Dispatcher
from bot.runtime import Runtime
from store.models import OutboxMessage

LONDON = ZoneInfo("Europe/London")
MONDAY_10 = datetime(2027, 1, 4, 10, 0, tzinfo=LONDON)
NOTICE = {"text": "Your audit QA-2027-01-001 is ready."}


def _queue(rt, key, to="U0AUD", template="notice", ctx=NOTICE, **kw) -> bool:
    with rt.database.unit_of_work() as db:
        return outbox.enqueue(db, key, to, template, ctx, **kw)


def _row(rt, key) -> OutboxMessage:
    with rt.database.unit_of_work() as db:
        return db.scalars(select(OutboxMessage).where(OutboxMessage.key == key)).one()


@freeze_time(MONDAY_10)
def test_a_key_is_sent_once(rt, standin):
    assert _queue(rt, "k1") is True
    assert _queue(rt, "k1") is False
    assert rt.dispatcher.drain().sent == 1
    assert rt.dispatcher.drain().sent == 0
    assert len(standin.posted()) == 1
    row = _row(rt, "k1")
    assert (row.status, row.channel, row.ts) == ("sent", "DU0AUD", standin.posted()[0].response["ts"])


def test_people_hear_in_working_hours_only_except_safeguarding(rt, standin):
    with freeze_time(datetime(2027, 1, 8, 19, 0, tzinfo=LONDON)):  # a Friday evening
        _queue(rt, "evening")
        _queue(rt, "alert", urgent=True)
        result = rt.dispatcher.drain()
        assert result.keys == ["alert"]
        assert _row(rt, "evening").available_at == datetime(2027, 1, 11, 9, 0, tzinfo=LONDON)
        # What `tick` and `allocate --confirm` print says why nothing more went, and when it will.
        assert str(result) == (
            "1 sent, 1 waiting, 0 failed. Messages to people go in working hours only: 1 waits until Monday 11 January"
            " 2027 at 09:00."
        )
    with freeze_time(datetime(2027, 1, 11, 8, 59, tzinfo=LONDON)):
        assert rt.dispatcher.drain().sent == 0
    with freeze_time(datetime(2027, 1, 11, 9, 0, tzinfo=LONDON)):
        _queue(rt, "rate-limited-earlier", not_before=datetime(2027, 1, 11, 9, 30, tzinfo=LONDON))
        result = rt.dispatcher.drain()
        assert result.keys == ["evening"]
        assert str(result) == "1 sent, 1 waiting, 0 failed"  # in working hours a wait has other reasons


def test_posts_to_one_channel_are_paced(rt, standin):
    rt.dispatcher.pace = timedelta(seconds=1)
    with freeze_time(MONDAY_10) as frozen:
        for n in range(3):
            _queue(rt, f"c{n}", to="C0QATEAM")
        _queue(rt, "other", to="U0TM")
        result = rt.dispatcher.drain()
        assert sorted(result.keys) == ["c0", "other"]
        assert result.deferred == 1  # c1 would be a second post within the second
        assert _row(rt, "c1").available_at == MONDAY_10 + timedelta(seconds=1)
        frozen.tick(1)
        assert rt.dispatcher.drain().keys == ["c1"]
        frozen.tick(1)
        assert rt.dispatcher.drain().keys == ["c2"]


def test_429_reschedules_by_retry_after_and_keeps_order(rt, standin):
    with freeze_time(MONDAY_10) as frozen:
        _queue(rt, "first")
        _queue(rt, "second")
        standin.inject("chat.postMessage", status=429, retry_after=7)
        result = rt.dispatcher.drain()
        assert result.sent == 0
        row = _row(rt, "first")
        assert (row.status, row.attempts) == ("pending", 0)
        assert row.available_at == MONDAY_10 + timedelta(seconds=7)
        frozen.tick(6)
        assert rt.dispatcher.drain().sent == 0  # "second" waits behind "first": one person, in order
        frozen.tick(1)
        assert rt.dispatcher.drain().keys == ["first", "second"]  # in order, in one drain


def test_5xx_is_retried_with_backoff_for_a_while_then_marked_failed(rt, standin, caplog):
    dispatcher = Dispatcher(rt.database, rt.client, rt.calendar, retry_for=timedelta(minutes=1), min_attempts=3)
    with freeze_time(MONDAY_10) as frozen:
        _queue(rt, "k")
        standin.inject("chat.postMessage", status=500, times=4)
        dispatcher.drain()
        assert _row(rt, "k").available_at == MONDAY_10 + timedelta(seconds=15)
        frozen.tick(15)
        dispatcher.drain()
        assert _row(rt, "k").available_at == MONDAY_10 + timedelta(seconds=45)
        frozen.tick(30)
        dispatcher.drain()
        # Three tries, but for less than the minute it keeps trying: once more, a minute on.
        row = _row(rt, "k")
        assert (row.status, row.attempts, row.available_at) == ("pending", 3, MONDAY_10 + timedelta(seconds=105))
        frozen.tick(60)
        with caplog.at_level(logging.ERROR, logger="qabot.outbox"):
            dispatcher.drain()
        row = _row(rt, "k")
        assert (row.status, row.attempts) == ("failed", 4)
        assert "gave up after 4 attempts since 2027-01-04 10:00" in row.last_error
        assert "outbox k to U0AUD failed" in caplog.text
    assert standin.posted() == []
    # A 5xx may come after Slack posted: each retry first looked for the message in the DM's history.
    assert [c.method for c in standin.calls].count("conversations.history") == 3


def test_a_day_long_slack_outage_loses_nothing(rt, standin):
    """Every call fails for a working day: the row is retried, backing off to one try in 15 minutes, and goes once
    Slack is back."""
    with freeze_time(MONDAY_10 - timedelta(hours=1)) as frozen:
        _queue(rt, "k")
        standin.fail_randomly(1.0, seed=1, statuses=(500, 503))
        tries = 0
        for _ in range(8 * 12):  # the clock drains every few seconds; here every five minutes, for eight hours
            tries += rt.dispatcher.drain().deferred
            frozen.tick(300)
        row = _row(rt, "k")
        assert row.status == "pending" and row.attempts == tries and 32 <= tries <= 40
        standin.fail_randomly(0, seed=1)
        frozen.tick(900)
        assert rt.dispatcher.drain().keys == ["k"]
    assert len(standin.posted()) == 1


def test_a_timed_out_post_that_slack_carried_out_is_found_not_posted_again(settings, standin):
    rt = Runtime.build(settings, timeout=1)
    try:
        with freeze_time(MONDAY_10) as frozen:
            _queue(rt, "slow")
            standin.inject("chat.postMessage", delay=2.5)  # Slack posts it, the answer comes too late
            assert rt.dispatcher.drain().deferred == 1
            row = _row(rt, "slow")
            assert "Timeout" in row.last_error or "timed out" in row.last_error
            assert row.unsure_since == MONDAY_10
            [posted] = standin.posted()
            assert standin.message(posted.response["ts"])["metadata"] == {
                "event_type": "qabot_outbox",
                "event_payload": {"key": "slow"},
            }
            frozen.tick(15)
            assert rt.dispatcher.drain().keys == ["slow"]
        assert len(standin.posted()) == 1
        row = _row(rt, "slow")
        assert (row.channel, row.ts, row.unsure_since) == ("DU0AUD", posted.response["ts"], None)
        history = standin.last("conversations.history").args
        assert history["channel"] == "DU0AUD" and history["include_all_metadata"] in ("1", "true", True)
        assert float(history["oldest"]) == (MONDAY_10 - outbox.CLOCK_SKEW).timestamp()
    finally:
        rt.close()


def _died_holding(rt, key):
    """What a dispatcher killed during its send leaves: the row claimed, its try begun, no answer recorded."""
    with rt.database.unit_of_work() as db:
        row = db.scalars(select(OutboxMessage).where(OutboxMessage.key == key)).one()
        row.status, row.claimed_until, row.unsure_since = "sending", MONDAY_10 + timedelta(minutes=2), MONDAY_10


def test_a_post_left_by_a_dead_process_is_found_or_posted_once(rt, standin):
    with freeze_time(MONDAY_10):
        _queue(rt, "landed")
        _queue(rt, "lost", to="U0TM")
        # "landed" reached Slack (with its key, as the dispatcher posts) before the process died; "lost" did not.
        metadata = {"event_type": "qabot_outbox", "event_payload": {"key": "landed"}}
        landed = rt.client.chat_postMessage(channel="U0AUD", text="Your audit", metadata=metadata)["ts"]
        rt.client.chat_postMessage(channel="U0AUD", text="Another app's", metadata={**metadata, "event_type": "x"})
        _died_holding(rt, "landed")
        _died_holding(rt, "lost")
        assert rt.dispatcher.drain().sent == 0  # the claims have not expired
    with freeze_time(MONDAY_10 + timedelta(minutes=3)):
        assert sorted(rt.dispatcher.drain().keys) == ["landed", "lost"]
    assert _row(rt, "landed").ts == landed
    assert [c.args["channel"] for c in standin.posted()] == ["U0AUD", "U0AUD", "U0TM"]


def test_a_rate_limited_lookup_leaves_the_row_unsure(rt, standin):
    with freeze_time(MONDAY_10) as frozen:
        _queue(rt, "k")
        metadata = {"event_type": "qabot_outbox", "event_payload": {"key": "k"}}
        rt.client.chat_postMessage(channel="U0AUD", text="Your audit", metadata=metadata)
        _died_holding(rt, "k")
        frozen.tick(180)
        standin.inject("conversations.history", status=429, retry_after=5)
        assert rt.dispatcher.drain().deferred == 1
        assert _row(rt, "k").unsure_since == MONDAY_10
        frozen.tick(5)
        assert rt.dispatcher.drain().keys == ["k"]
    assert len(standin.posted()) == 1


def test_a_lookup_pages_through_a_busy_channel(rt, standin):
    with freeze_time(MONDAY_10) as frozen:
        _queue(rt, "k", to="C0QATEAM")
        metadata = {"event_type": "qabot_outbox", "event_payload": {"key": "k"}}
        rt.client.chat_postMessage(channel="C0QATEAM", text="The summary", metadata=metadata)
        for n in range(250):
            rt.client.chat_postMessage(channel="C0QATEAM", text=f"chatter {n}")
        _died_holding(rt, "k")
        frozen.tick(180)
        assert rt.dispatcher.drain().keys == ["k"]
    pages = [c.args for c in standin.calls if c.method == "conversations.history"]
    assert len(pages) == 2 and pages[1]["cursor"]
    assert len(standin.posted("C0QATEAM")) == 251


@freeze_time(MONDAY_10)
def test_what_slack_refuses_fails_at_once(rt, standin):
    _queue(rt, "nowhere", to="C0NOSUCH")
    assert rt.dispatcher.drain().failed == 1
    row = _row(rt, "nowhere")
    assert row.status == "failed" and "channel_not_found" in row.last_error
    # A channel the bot was never invited to (qabot has no chat:write.public): the error says what to do.
    standin.add_channel("C0LEARN", "learning")
    _queue(rt, "uninvited", to="C0LEARN")
    assert rt.dispatcher.drain().failed == 1
    assert _row(rt, "uninvited").last_error == (
        "Slack refused it: not_in_channel (invite the bot: /invite @qabot in that channel, then `qabot outbox --retry`)"
    )
    standin.invite_bot("C0LEARN")
    with rt.database.unit_of_work() as db:
        outbox.retry_failed(db, [_row(rt, "uninvited").id])
    assert rt.dispatcher.drain().keys == ["uninvited"]


@freeze_time(MONDAY_10)
def test_an_update_replaces_the_message_it_names(rt, standin):
    _queue(rt, "ask")
    with rt.database.unit_of_work() as db:
        assert outbox.enqueue_update(db, "ask:done", "ask", "notice", {"text": "Done, thank you."})
    assert rt.dispatcher.drain().keys == ["ask", "ask:done"]
    ts = _row(rt, "ask").ts
    assert standin.last("chat.update").args["ts"] == ts
    assert standin.message(ts)["text"] == "Done, thank you."


@freeze_time(MONDAY_10)
def test_an_update_waits_for_its_original(rt, standin):
    _queue(rt, "ask")
    with rt.database.unit_of_work() as db:
        outbox.enqueue_update(db, "ask:done", "ask", "notice", {"text": "Done, thank you."})
    standin.inject("chat.postMessage", status=429, retry_after=30)
    assert rt.dispatcher.drain().sent == 0
    assert _row(rt, "ask:done").status == "pending"
    assert not [c for c in standin.calls if c.method == "chat.update"]


def test_a_claim_left_by_a_dead_process_is_taken_over(rt, standin):
    with freeze_time(MONDAY_10):
        _queue(rt, "orphan")
        with rt.database.unit_of_work() as db:
            row = db.scalars(select(OutboxMessage)).one()
            row.status, row.claimed_until = "sending", MONDAY_10 + timedelta(minutes=2)
        assert rt.dispatcher.drain().sent == 0
    with freeze_time(MONDAY_10 + timedelta(minutes=3)):
        assert rt.dispatcher.drain().keys == ["orphan"]


def test_qabot_outbox_lists_and_retries_failed_rows(rt, standin, settings, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    with freeze_time(MONDAY_10):
        _queue(rt, "broken", to="C0NOSUCH")
        rt.dispatcher.drain()
    assert cli.main(["outbox"]) == 0
    out = capsys.readouterr().out
    assert "broken" in out and "channel_not_found" in out and "1 failed message(s)" in out
    assert cli.main(["outbox", "--retry", "999"]) == 2
    assert "no failed message with id 999" in capsys.readouterr().err
    assert cli.main(["outbox", "--retry"]) == 0
    assert "1 failed message(s) queued again" in capsys.readouterr().out
    assert _row(rt, "broken").status == "pending"


def test_the_courier_delivers_without_waiting_for_the_clock(settings, standin):
    rt = Runtime.build(replace(settings))
    rt.start_courier()
    try:
        with freeze_time(MONDAY_10, tick=True):
            _queue(rt, "now")
            rt.after_commit()
            deadline = datetime.now().timestamp() + 5
            while not standin.posted() and datetime.now().timestamp() < deadline:
                pass
        assert len(standin.posted()) == 1
    finally:
        rt.close()


def test_an_update_after_hours_goes_at_once(rt, standin):
    with freeze_time(MONDAY_10):
        _queue(rt, "ask")
        rt.dispatcher.drain()
    with freeze_time(datetime(2027, 1, 4, 20, 0, tzinfo=LONDON)):
        _queue(rt, "tomorrow")
        with rt.database.unit_of_work() as db:
            outbox.enqueue_update(db, "ask:done", "ask", "notice", {"text": "Accepted at 20:00."})
        assert rt.dispatcher.drain().keys == ["ask:done"]
        assert _row(rt, "tomorrow").available_at == datetime(2027, 1, 5, 9, 0, tzinfo=LONDON)
