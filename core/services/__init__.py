"""The services plugins share: access, people, audit, events, notifications,
search, printing, workdays, the kiosk's PIN logic, ... (docs/architecture.md).

May import the plugin API, storage and the ground; never the plugin host, the
shell or the command line."""
