"""Serving Backdesk to operators who are not at this machine's console.

- :mod:`core.serve.ssh` — ``backdesk serve ssh``: an SSH server (asyncssh)
  that gives each connection its own Backdesk process in its own PTY;
- :mod:`core.serve.web` — ``backdesk serve web``: the app in a browser
  through textual-serve;
- :mod:`core.serve.session` — how a server tells the child process which
  operator it authenticated, so that no local user can claim to be one.

Heavy imports (asyncssh, textual-serve) happen inside these modules only.
See docs/serving.md.
"""
