"""The shell's own screens (home, directory, search, notifications, audit trail,
plugins, help, lock); each is opened by core.shell.app or a navigation entry."""
