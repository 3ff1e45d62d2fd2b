"""qabot: a Slack app that runs a children's-services Quality Assurance Framework."""
