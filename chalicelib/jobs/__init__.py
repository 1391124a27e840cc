"""Scheduled jobs: each callable from a Chalice schedule, the CLI, the local scheduler and tests alike."""
