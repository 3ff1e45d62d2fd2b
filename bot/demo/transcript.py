"""What the demo prints: each moment, then what reached Slack, in words a QA team would use."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.sandbox.server import SlackStandIn

LONDON = ZoneInfo("Europe/London")


@dataclass
class Transcript:
    standin: SlackStandIn
    names: dict[str, str]  # Slack user id -> name
    channels: dict[str, str]  # channel id -> #name
    seen_calls: int = 0
    seen_responses: int = 0

    def step(self, moment: datetime, text: str) -> None:
        print(f"\n{moment.astimezone(LONDON):%a %d %b %Y %H:%M:%S}  {text}")

    def slack(self) -> None:
        """Print what reached Slack since the last call."""
        calls = self.standin.calls
        for call in calls[self.seen_calls :]:
            if not call.ok:
                continue
            if call.method in ("chat.postMessage", "chat.update"):
                verb = "posted to" if call.method == "chat.postMessage" else "updated in place for"
                print(
                    f"   → {verb} {self._where(call.args.get('channel', ''))}: {_first_line(call.args.get('text', ''))}"
                )
                if call.args.get("text", "").startswith("Your reminders for"):  # a digest: what it lists
                    for line in _digest_items(call.args.get("blocks")):
                        print(f"     · {line}")
                buttons = _buttons(call.args.get("blocks"))
                if buttons:
                    print("     buttons: " + "  ".join(f"[{b}]" for b in buttons))
            elif call.method == "files.completeUploadExternal":
                files = call.args["files"]
                names = ", ".join(f["title"] for f in (json.loads(files) if isinstance(files, str) else files))
                print(f"   → attached in {self._where(call.args.get('channel_id', ''))}: {names}")
            elif call.method == "views.open":
                print(f"   → a form opens: {call.args['view']['title']['text']}")
        responses = self.standin.responses
        for response in responses[self.seen_responses :]:
            print(f"   → only they see: {_first_line(response.body.get('text', ''))}")
        self.seen_calls, self.seen_responses = len(calls), len(responses)

    def _where(self, channel: str) -> str:
        user = channel[1:] if channel.startswith("D") else channel
        if user in self.names:
            return f"DM to {self.names[user]}"
        return self.channels.get(channel, channel)


def _first_line(text: str) -> str:
    """The message's first line, whole, as Slack shows it (*bold* in bold, &amp; as &)."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return html.unescape(line.replace("*", ""))


def section_lines(blocks) -> list[str]:
    """The lines of a message's text sections, as words (no *bold* marks)."""
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    texts = [b["text"]["text"] for b in blocks or [] if b.get("type") == "section" and b.get("text")]
    return [html.unescape(line.replace("*", "")).removeprefix("• ") for text in texts for line in text.splitlines()]


def _digest_items(blocks) -> list[str]:
    """A digest's items, each by its first line (the heading left out)."""
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    sections = [b for b in blocks or [] if b.get("type") == "section" and b.get("text")][1:]
    return [_first_line(b["text"]["text"]) for b in sections]


def _buttons(blocks) -> list[str]:
    return [button["text"]["text"] for button in _button_elements(blocks)]


def button_values(blocks) -> list[str]:
    return [button.get("value") for button in _button_elements(blocks)]


def _button_elements(blocks) -> list[dict]:
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return [e for b in blocks or [] if b.get("type") == "actions" for e in b["elements"]]


def review_lines(view: dict) -> list[str]:
    """The allocation review form as text: each case, who practises and who would audit."""
    lines = []
    for block in view["blocks"]:
        if block["type"] == "section" and block.get("block_id", "").startswith("team_"):
            lines.append("     " + block["text"]["text"].replace("*", ""))
        elif block.get("block_id", "").startswith("keep_"):
            if block["block_id"].startswith("keep_held_"):
                lines.append(f"     {block['label']['text']} (ticked: offered again once sorted)")
            for option in block["element"]["options"]:
                lines.append(
                    f"       [x] {option['text']['text'].replace('*', '')}  —  {option['description']['text']}"
                )
    return lines
