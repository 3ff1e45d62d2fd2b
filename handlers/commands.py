"""The /qa slash command."""

from slack_bolt import App

from bot.runtime import Runtime
from messages import render


def register(app: App, rt: Runtime) -> None:
    @app.command("/qa")
    def qa(ack, command, respond):
        ack()
        words = (command.get("text") or "").split()
        payload = render("help", {"asked": " ".join(words)})
        respond(text=payload["text"], blocks=payload["blocks"], response_type="ephemeral")
