"""Backdesk's built-in plugins, one package each."""
