"""Fakes for provider tests: a loopback HTTP server and a guard against real dialling."""
