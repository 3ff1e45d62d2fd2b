"""The Slack edge: one module per feature; parse, authorise, call bot.workflow, answer."""
