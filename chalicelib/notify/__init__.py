"""Notifications: double-opt-in subscriptions, signed link tokens, e-mail rendering and sending, SLA alerts.

Modules are imported by their users (``from chalicelib.notify.alerts import run_alerts``) so that a route
which only confirms a token never imports boto3 or the renderer.
"""
