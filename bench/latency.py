"""Benchmark 1: acknowledgement latency over HTTP of a button press and a modal submission, against a bare Bolt app
answering the same requests."""

from __future__ import annotations

import logging
import time

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import func, select

from bench.figures import Row, Scale, ms, percentile
from bench.seed import Seeded
from bot.runtime import Runtime
from bot.sandbox.requests import SignedSender
from bot.sandbox.server import SlackStandIn
from bot.server import BackgroundServer, background_server
from bot.workflow import actions
from messages import render_view
from store.models import Action

NOTE = "Plan reviewed with the family and the chronology updated."


def bare_app(rt: Runtime):
    """A Bolt app that only acks, built as qabot's is (same client, same signing secret, listeners run before the
    response), as a WSGI application that qabot's BackgroundServer serves as it serves qabot (waitress, 4 threads)."""
    app = App(
        client=rt.client,
        signing_secret=rt.settings.slack_signing_secret,
        process_before_response=True,
        token_verification_enabled=False,
        logger=logging.getLogger("bench.bare"),
    )

    @app.action("action_sign_off")
    def clicked(ack):
        ack()

    @app.view("action_done_form")
    def submitted(ack):
        ack()

    slack = SlackRequestHandler(app, path="/slack/events")

    def application(environ, start_response):
        if environ.get("PATH_INFO") == "/slack/events":
            return slack(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]

    return application


def _latency_rows(name: str, app: list[float], bare: list[float]) -> Row:
    p50, p99 = percentile(app, 50), percentile(app, 99)
    b50, b99 = percentile(bare, 50), percentile(bare, 99)
    return Row(
        f"ack latency, {name} (p50 / p99)",
        f"{ms(p50)} / {ms(p99)}",
        f"{ms(b50)} / {ms(b99)}",
        p99 / b99,
        "p99 <= 3x",
        p99 / b99 <= 3,
        {"p50_ratio": p50 / b50, "requests": len(app), "qabot_seconds": app, "bare_seconds": bare},
    )


def bench_ack(rt: Runtime, standin: SlackStandIn, seeded: Seeded, scale: Scale) -> list[Row]:
    wanted = scale.warmup + scale.requests
    if len(seeded.actionable) < wanted:
        raise ValueError(f"{len(seeded.actionable)} actions to press on, {wanted} needed")
    chosen = seeded.actionable[:wanted]
    with rt.database.unit_of_work() as db:
        first, owner, _ = chosen[0]
        view = render_view("action_done_form", actions.done_form(db, first, owner).detail)
    server, base_url = background_server(rt)
    bare = BackgroundServer(bare_app(rt), ident="bare")
    ours = SignedSender(f"{base_url}/slack/events", rt.settings.slack_signing_secret, standin)
    theirs = SignedSender(f"{bare.base_url}/slack/events", rt.settings.slack_signing_secret, standin)
    try:

        def submit(sender: SignedSender, action_id: int, owner: str):
            return sender.view_submission(owner, view, {"note": {"answer": NOTE}}, private_metadata=str(action_id))

        def press(sender: SignedSender, action_id: int, manager: str):
            return sender.block_action(manager, "action_sign_off", str(action_id))

        rows = []
        for name, send, who, state in (
            ("modal submission (Mark done)", submit, 1, "done"),
            ("button press (Sign off)", press, 2, "signed_off"),
        ):
            app_times, bare_times = [], []
            for n, row in enumerate(chosen):
                action_id, person = row[0], row[who]
                # Interleaved, and in turn first, so both see the same moment of a busy machine.
                order = ((ours, app_times), (theirs, bare_times))
                for sender, times in order if n % 2 == 0 else reversed(order):
                    started = time.perf_counter()
                    answer = send(sender, action_id, person)
                    spent = time.perf_counter() - started
                    if answer.status != 200 or answer.body.strip():
                        raise AssertionError(f"{name}: answered {answer.status} {answer.body[:200]!r}")
                    if n >= scale.warmup:
                        times.append(spent)
            if not rt.settle(timeout=120):
                raise AssertionError(f"{name}: the work after the acknowledgements did not finish")
            with rt.database.unit_of_work() as db:
                moved = db.scalar(
                    select(func.count())
                    .select_from(Action)
                    .where(Action.id.in_([r[0] for r in chosen]), Action.status == state)
                )
            if moved != len(chosen):
                raise AssertionError(f"{name}: {moved} of {len(chosen)} actions are {state}: the work was not done")
            rows.append(_latency_rows(name, app_times, bare_times))
        return rows
    finally:
        bare.close()
        server.close()
