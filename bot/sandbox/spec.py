"""Which Web API methods exist and what each one requires, read from Slack's own published specs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib.resources import files

_SPEC = files("bot.sandbox") / "spec"


@cache
def methods() -> Mapping[str, tuple[str, ...]]:
    """Every known method -> its required arguments (`token` excluded: it is checked as auth)."""
    openapi = json.loads((_SPEC / "slack_web_openapi_v2_without_examples.json").read_text("utf-8"))
    known: dict[str, tuple[str, ...]] = {}
    for path, operations in openapi["paths"].items():
        # Each path has a single verb in this spec, and the verb itself is not trusted (views.* say GET).
        params = [p for op in operations.values() for p in op.get("parameters", [])]
        required = (p["name"] for p in params if p.get("required") and p["name"] != "token")
        known[path.lstrip("/")] = tuple(required)
    # The 2020 spec predates methods qabot needs (Socket Mode, the external upload flow); the SDK's list
    # supplies their names, though not their arguments.
    sdk = json.loads((_SPEC / "python-slack-sdk-3.48.0-methods.json").read_text("utf-8"))
    for name in sdk["methods"]:
        known.setdefault(name, LATER_REQUIRED.get(name, ()))
    return known


# The required arguments of the later methods qabot calls, from their reference pages on docs.slack.dev.
LATER_REQUIRED = {
    "files.getUploadURLExternal": ("filename", "length"),
    "files.completeUploadExternal": ("files",),
}
