"""The Bolt app factory. Nothing here runs at import time and no Slack call is made while building."""

from slack_bolt import App

from bot.runtime import Runtime
from handlers import (
    allocation,
    allocation_run,
    audit_form,
    commands,
    family_feedback,
    home,
    meeting,
    safeguarding,
    self_assessment,
)


def build_app(rt: Runtime) -> App:
    app = App(
        client=rt.client,
        signing_secret=rt.settings.slack_signing_secret,
        # Listeners run inside the request so their database work is committed before Slack hears "ok".
        process_before_response=True,
        token_verification_enabled=False,
        logger=None,
    )
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
    ):
        feature.register(app, rt)
    return app
