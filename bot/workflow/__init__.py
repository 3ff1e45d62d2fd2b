"""The rules of the QA Framework. Speaks only through the outbox; never imports a Slack library."""
