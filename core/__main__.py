"""``python -m core`` runs the ``backdesk`` command."""

from core.cli import main

main()
