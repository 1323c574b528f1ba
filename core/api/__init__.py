"""The plugin API: the hook specifications plugins implement and the context
they get (docs/architecture.md, docs/hooks.md).

May import storage and the ground only."""
