"""The shell: the Textual app, its screens and the shared widgets (docs/architecture.md).

May import the plugin host, the services, the plugin API, storage and the ground;
never the command line."""
