"""Backdesk core: the shell and the services every plugin shares."""

__version__ = "0.1.0"
