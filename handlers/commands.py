"""The /qa slash command: `/qa allocate [YYYY-MM]`, `/qa group [YYYY-MM]`, `/qa report [YYYYQn]`, `/qa highlight`,
`/qa topten [YYYY-MM]`, `/qa theme`, and help for anything else."""

from slack_bolt import App

from bot.runtime import Runtime
from handlers import group_moderation, learning, reports, thematic
from handlers.allocation_run import open_review
from handlers.common import acked_first
from messages import render


def register(app: App, rt: Runtime) -> None:
    def qa(body, respond, client):
        words = (body.get("text") or "").split()
        if words[:1] == ["allocate"]:
            return open_review(rt, body, respond, client, words[1] if len(words) > 1 else "")
        if words[:1] == ["group"]:
            return group_moderation.open_form(rt, body, respond, client, words[1] if len(words) > 1 else "")
        if words[:1] == ["report"]:
            return reports.ask(rt, body, respond, " ".join(words[1:]))
        if words[:1] == ["highlight"]:
            return learning.open_highlight(rt, body, respond, client, body["user_id"])
        if words[:1] == ["topten"]:
            return learning.open_top_ten(rt, body, respond, client, words[1] if len(words) > 1 else "")
        if words[:1] == ["theme"]:
            return thematic.open_form(rt, body, respond, client)
        payload = render("help", {})
        respond(text=payload["text"], blocks=payload["blocks"], response_type="ephemeral")

    acked_first(app.command("/qa"), "/qa", qa)
