"""The plugin host: one running Backdesk (runtime), the plugins loaded onto it
(host), core's own services wired onto it (services) and the entry-point scan
(entrypoints); docs/architecture.md.

May import the services, the plugin API, storage and the ground; never the shell
or the command line."""
