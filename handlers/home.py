"""App Home: published when a person opens the bot's Home tab."""

from slack_bolt import App

from bot.runtime import Runtime
from bot.workflow.home import home_for
from handlers.common import acked_first, act
from messages import render_view


def register(app: App, rt: Runtime) -> None:
    def opened(body, respond, client):
        event = body["event"]
        if event.get("tab") != "home":
            return
        user = event["user"]
        ctx = act(rt, body, lambda db: home_for(db, rt.calendar, user, rt.settings.framework))
        if ctx is not None:
            client.views_publish(user_id=user, view=render_view("home", ctx))

    acked_first(app.event("app_home_opened"), "app_home_opened", opened)
