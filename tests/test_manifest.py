"""The Slack app manifest an admin pastes matches what the code listens for and calls."""

import json
from pathlib import Path

import yaml

from bot.sandbox.spec import _SPEC

MANIFEST = yaml.safe_load((Path(__file__).parents[1] / "manifest.yml").read_text())


def test_every_request_url_is_the_one_endpoint():
    settings = MANIFEST["settings"]
    urls = [settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]]
    urls += [c["url"] for c in MANIFEST["features"]["slash_commands"]]
    assert all(url.endswith("/slack/events") for url in urls)


def test_the_app_answers_what_the_manifest_declares(slack, standin, world):
    for command in MANIFEST["features"]["slash_commands"]:
        assert slack.command("U0PRAC", command["command"], "help").status == 200
    assert MANIFEST["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    for shortcut in MANIFEST["features"]["shortcuts"]:
        assert slack.shortcut("U0PRAC", shortcut["callback_id"]).status == 200
    assert slack.shortcut("U0PRAC", "undeclared").status == 404
    assert slack.app_home_opened("U0PRAC").status == 200 and standin.home("U0PRAC") is not None
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    # Something the manifest does not declare is not handled.
    assert slack.command("U0PRAC", "/undeclared", "").status == 404


def test_the_scopes_cover_the_web_api_calls():
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    # chat.postMessage/update (chat:write), /qa (commands), users.lookupByEmail (users:read, users:read.email)
    assert {"chat:write", "commands", "users:read", "users:read.email"} <= scopes
    # No chat:write.public: the bot posts only in channels it was invited to (the README says so, the stand-in
    # refuses the others with not_in_channel as Slack does).
    assert "chat:write.public" not in scopes


def test_the_scopes_let_a_retry_look_before_it_posts_again():
    """An unsure post is looked up in its conversation (a DM, or the QA or learning channel, public or private) and
    an unsure upload in the channel's files: each scope is one Slack's spec names for that method."""
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    openapi = json.loads((_SPEC / "slack_web_openapi_v2_without_examples.json").read_text("utf-8"))

    def allowed(method):
        return {s for op in openapi["paths"][f"/{method}"].values() for s in op["security"][0]["slackAuth"]}

    needed = {
        "conversations.open": {"im:write"},
        "conversations.history": {"im:history", "channels:history", "groups:history"},
        "files.list": {"files:read"},
    }
    for method, wanted in needed.items():
        assert wanted <= allowed(method) and wanted <= scopes, method
