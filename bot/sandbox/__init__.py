"""A local stand-in for Slack: the Web API methods qabot calls, and signed requests to the app."""

from bot.sandbox.requests import Response, SignedSender
from bot.sandbox.server import Call, Responded, SlackStandIn

__all__ = ["Call", "Responded", "Response", "SignedSender", "SlackStandIn"]
