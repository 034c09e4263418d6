"""Readers for the signals that come from outside Quetz. Each one treats its input as hostile:
a malformed file is logged once, skipped, and never raises into a request."""
