"""Block Kit checks: slack_sdk's models, plus the Slack limits those models do not enforce.

Used by `messages.render` and by the local Slack stand-in (to answer `invalid_blocks` where real Slack
would), so this module must not depend on Jinja.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_BLOCKS = {"message": 50, "modal": 100, "home": 100}
MAX_OPTIONS = {"checkboxes": 10, "radio_buttons": 10}
MAX_MESSAGE_TEXT = 40_000
MAX_VIEW_LABEL = 24  # modal title, submit and close


class BlockKitError(ValueError):
    """A payload Slack would refuse; the message says which block and what is wrong."""


def check_message(payload: dict) -> None:
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BlockKitError("message: needs non-empty plain `text` (shown in notifications and to screen readers)")
    if len(text) > MAX_MESSAGE_TEXT:
        raise BlockKitError(f"message: text is {len(text)} characters, at most {MAX_MESSAGE_TEXT} allowed")
    check_blocks(payload.get("blocks"), "message")


def check_view(view: dict) -> None:
    surface = view.get("type")
    if surface not in ("modal", "home"):
        raise BlockKitError(f"view: type must be 'modal' or 'home', not {surface!r}")
    blocks = view.get("blocks")
    check_blocks(blocks, surface)
    if surface == "modal":
        for key in ("title", "submit", "close"):
            _check_view_label(view, key, required=key == "title")
        if view.get("submit") is None and any(block["type"] == "input" for block in blocks):
            raise BlockKitError("modal: has input blocks, so it needs a `submit` button")
    try:
        View(**view).validate_json()  # shallow: the blocks were checked in depth above
    except (SlackObjectFormationError, TypeError) as e:
        raise BlockKitError(f"{surface}: {e}") from e


def check_blocks(blocks: list, surface: str) -> None:
    if surface not in MAX_BLOCKS:
        raise ValueError(f"unknown surface {surface!r}")
    if not isinstance(blocks, list) or not blocks:
        raise BlockKitError(f"{surface}: `blocks` must be a non-empty list")
    if len(blocks) > MAX_BLOCKS[surface]:
        raise BlockKitError(f"{surface}: {len(blocks)} blocks, at most {MAX_BLOCKS[surface]} allowed")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            raise BlockKitError(f"{surface} block {index}: must be an object, not {type(block).__name__}")
        where = f"{surface} block {index} ({block.get('type')!r}, block_id {block.get('block_id')!r})"
        _check_model(block, where)
        if block["type"] == "input" and surface != "modal":
            raise BlockKitError(f"{where}: input blocks are only allowed in modals, not in a {surface}")
        if "block_id" in block:
            if block["block_id"] in block_ids:
                raise BlockKitError(f"{where}: duplicate block_id")
            block_ids.add(block["block_id"])
        action_ids: set[str] = set()
        for element in _elements(block):
            if "action_id" in element:
                if element["action_id"] in action_ids:
                    raise BlockKitError(f"{where}: duplicate action_id {element['action_id']!r}")
                action_ids.add(element["action_id"])
            limit, count = MAX_OPTIONS.get(element.get("type"), 0), len(element.get("options", []))
            if limit and count > limit:
                raise BlockKitError(f"{where}: {element['type']} has {count} options, at most {limit} allowed")


def _check_model(block: dict, where: str) -> None:
    try:
        parsed = Block.parse(block)
        if parsed is None or type(parsed) is Block:
            raise BlockKitError(f"{where}: unknown block type")
        # to_dict() runs validate_json() on the block and on every nested element; validate_json() alone
        # checks only the block's own fields (a 80-character button label would pass).
        kept = parsed.to_dict()
    except (SlackObjectFormationError, TypeError, KeyError, AttributeError) as e:
        raise BlockKitError(f"{where}: {e}") from e
    # Block.parse silently drops unknown fields and element types and turns an unknown text type into
    # mrkdwn; whatever did not survive the round trip is something Slack would reject.
    if problem := _lost(block, kept, "block"):
        raise BlockKitError(f"{where}: {problem}")


def _lost(sent: Any, kept: Any, path: str) -> str | None:
    """Describe the first part of `sent` that slack_sdk dropped or changed on its way to `kept`."""
    if isinstance(sent, dict) and isinstance(kept, dict):
        for key, value in sent.items():
            if key not in kept:
                return f"{path}.{key} is not allowed here"
            if problem := _lost(value, kept[key], f"{path}.{key}"):
                return problem
        return None
    if isinstance(sent, list) and isinstance(kept, list) and len(sent) == len(kept):
        for index, (item, kept_item) in enumerate(zip(sent, kept, strict=True)):
            if problem := _lost(item, kept_item, f"{path}[{index}]"):
                return problem
        return None
    return None if sent == kept else f"{path} {sent!r} is not valid here"


def _elements(block: dict) -> list[dict]:
    """The elements of a block that can carry an action_id or options."""
    found = [*block.get("elements", []), block.get("accessory"), block.get("element")]
    return [element for element in found if isinstance(element, dict)]


def _check_view_label(view: dict, key: str, *, required: bool) -> None:
    label = view.get(key)
    if label is None and not required:
        return
    if not (isinstance(label, dict) and label.get("type") == "plain_text" and isinstance(label.get("text"), str)):
        raise BlockKitError(f"modal: `{key}` must be a plain_text object")
    if not 0 < len(label["text"]) <= MAX_VIEW_LABEL:
        raise BlockKitError(f"modal: `{key}` must be 1–{MAX_VIEW_LABEL} characters, got {len(label['text'])}")
