"""The clock edge: periodic jobs, each one call into a workflow sweep."""
