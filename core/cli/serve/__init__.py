"""Serving Backdesk to operators who are not at this machine's console.

- :mod:`core.cli.serve.ssh` — ``backdesk serve ssh``: an SSH server (asyncssh)
  that gives each connection its own Backdesk process in its own PTY;
- :mod:`core.cli.serve.web` — ``backdesk serve web``: the app in a browser
  through textual-serve;
- :mod:`core.cli.serve.session` — how a server tells the child process which
  operator it authenticated, so that no local user can claim to be one.

Heavy imports (asyncssh, textual-serve) happen inside these modules only.
See docs/serving.md.
"""

#: set by a server in its child's environment: the number of the pipe the
#: operator's signed account comes through (core.cli.serve.session); here so that
#: ``backdesk`` can look for it without importing the session module
ENV_SESSION_FD = "BACKDESK_SESSION_FD"
