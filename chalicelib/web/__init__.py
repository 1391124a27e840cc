"""The public web page."""
