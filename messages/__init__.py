"""Every word the bot says: Jinja2 templates rendered to Block Kit JSON, then validated."""

from messages.render import render, render_view
from messages.validate import BlockKitError

__all__ = ["BlockKitError", "render", "render_view"]
