"""The Bolt app factory. Nothing here runs at import time and no Slack call is made while building."""

import json
import logging

from slack_bolt import App, BoltResponse

from bot.runtime import Runtime
from handlers import (
    actions,
    allocation,
    allocation_run,
    audit_form,
    commands,
    common,
    digests,
    disputes,
    escalation,
    family_feedback,
    good_practice,
    group_moderation,
    home,
    inadequate,
    learning,
    meeting,
    moderation,
    safeguarding,
    self_assessment,
    thematic,
)
from messages import render

log = logging.getLogger("qabot.app")


class _SameToken(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns it is unused because qabot gives it a client: the client holds
    that same token, so the warning only puzzles whoever reads the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


class _NoBody(logging.Filter):
    """Bolt logs a refused request's whole body, which can hold what someone typed (a rationale, feedback): the log
    keeps that a request was refused, not its text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("Invalid request signature detected"):
            record.msg, record.args = "Invalid request signature detected: the request was refused", ()
        return True


def build_app(rt: Runtime) -> App:
    verification_log = logging.getLogger("slack_bolt.RequestVerification")
    if not any(isinstance(f, _NoBody) for f in verification_log.filters):
        verification_log.addFilter(_NoBody())
    bolt_log = logging.getLogger("slack_bolt.App")
    if not any(isinstance(f, _SameToken) for f in bolt_log.filters):
        bolt_log.addFilter(_SameToken())
    app = App(
        client=rt.client,
        signing_secret=rt.settings.slack_signing_secret,
        # A listener's ack function answers inside the request (a form's field errors need that); work that can
        # wait runs after, as a lazy listener on rt.listeners (handlers.common.acked_first).
        process_before_response=True,
        listener_executor=rt.listeners,
        token_verification_enabled=False,
        logger=None,
    )
    app.use(common.SlackShaped())
    for feature in (
        allocation,
        allocation_run,
        commands,
        home,
        meeting,
        safeguarding,
        audit_form,
        family_feedback,
        self_assessment,
        moderation,
        group_moderation,
        disputes,
        inadequate,
        good_practice,
        escalation,
        digests,
        actions,
        learning,
        thematic,
    ):
        feature.register(app, rt)
    app.error(_answer_failure)
    return app


def _answer_failure(error: Exception, body: dict, logger) -> BoltResponse:
    """A request that failed (a forged or malformed payload, or a bug) changed nothing: its transaction was
    rolled back. Say so where the person is, instead of Slack's "trouble connecting"; the error is logged."""
    log.error("request failed: %s", error, exc_info=error)
    if body.get("type") == "view_submission":
        inputs = [b.get("block_id") for b in (body.get("view") or {}).get("blocks") or [] if b.get("type") == "input"]
        if inputs:
            words = render("refusal", {"reason": "form_unreadable"})["text"]
            return BoltResponse(
                status=200,
                body=json.dumps({"response_action": "errors", "errors": {inputs[0]: words}}),
                headers={"content-type": "application/json"},
            )
    return BoltResponse(status=200, body="")
