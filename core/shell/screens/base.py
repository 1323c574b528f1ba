"""The base screen every Backdesk screen (core's and plugins') builds on."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header

from core.i18n import _
from core.api.plugin_views import full_table_name
from core.shell.widgets.keybar import KeyBar
from core.shell.widgets.navlist import NavList

if TYPE_CHECKING:  # pragma: no cover
    from core.shell.app import BackdeskApp  # types only


class TablesChanged(Message):
    """Tables changed (here or in another operator's process).

    Bursts coalesce: a pending message is replaced by a newer one carrying
    the union of the names, so a busy office causes one repaint, not many.
    """

    def __init__(self, names: frozenset[str]) -> None:
        super().__init__()
        self.names = names

    def can_replace(self, message: Message) -> bool:
        # Textual asks the older message ``older.can_replace(newer)`` and,
        # on True, drops the older one: its names go to the one it keeps.
        if isinstance(message, TablesChanged):
            message.names = self.names | message.names
            return True
        return False


class Sidebar(NavList):
    """The navigation list on the left of every screen."""

    DEFAULT_CSS = """
    Sidebar {
        width: 20;
        height: 1fr;
        border: none;
        border-right: vkey $panel-lighten-2;
        background: $panel;
        padding: 0;
    }
    Sidebar.-hidden { display: none; }
    """


class BackdeskScreen(Screen):
    """A screen with the header, the navigation sidebar and the key bar.

    Subclasses implement :meth:`compose_content` and, to follow changes made
    by other operators, set :attr:`WATCH_TABLES` and implement
    :meth:`refresh_data`, which is called when one of those tables changed —
    at once when the screen is showing, or when it is shown again.
    """

    #: table names ("it.tickets"; a plugin's own also as "tickets") whose
    #: changes call refresh_data()
    WATCH_TABLES: ClassVar[frozenset[str]] = frozenset()
    #: the navigation entry this screen belongs to (set by the shell)
    nav_id: str | None = None
    nav_title: str | None = None
    #: the plugin whose entry opened the screen ("core" for core's; set by the shell)
    owner: str | None = None

    BINDINGS = [
        Binding("ctrl+b", "toggle_sidebar", _("Menu"), id="screen.toggle_sidebar", show=False),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._seen_seq = 0

    @property
    def bd_app(self) -> "BackdeskApp":
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="body"):
            yield self._make_sidebar()
            with Vertical(id="content"):
                yield from self.compose_content()
        yield KeyBar()

    def compose_content(self) -> ComposeResult:
        yield from ()

    def _make_sidebar(self) -> Sidebar:
        app = self.app
        entries = getattr(app, "nav_entries", [])
        bar = Sidebar([(entry.id, entry.title, entry.key) for entry in entries], id="sidebar")
        if self.nav_id is not None and bar.has_entry(self.nav_id):
            bar.highlighted = bar.get_option_index(self.nav_id)
        if getattr(app, "sidebar_hidden", False):
            bar.add_class("-hidden")
        return bar

    def on_mount(self) -> None:
        self._seen_seq = getattr(self.app, "change_seq", 0)

    def on_nav_list_selected(self, event: NavList.Selected) -> None:
        if isinstance(event.nav_list, Sidebar):
            event.stop()
            self.bd_app.open_nav(event.entry_id)

    def action_toggle_sidebar(self) -> None:
        app = self.bd_app
        app.sidebar_hidden = not app.sidebar_hidden
        self.query_one(Sidebar).set_class(app.sidebar_hidden, "-hidden")

    async def _dispatch_message(self, message) -> None:
        # A plugin screen's handler that raises must not stop this screen's
        # message loop for good: the shell takes the operator home instead.
        try:
            await super()._dispatch_message(message)
        except Exception as error:
            intercept = getattr(self.app, "intercept_plugin_error", None)
            if intercept is None or not intercept(error):
                raise

    # ---------------------------------------------------------------- changes
    def on_tables_changed(self, message: TablesChanged) -> None:
        self._maybe_refresh(message.names)

    def on_screen_resume(self) -> None:
        app = self.app
        seq = getattr(app, "change_seq", 0)
        if seq != self._seen_seq:
            names = app.changed_since(self._seen_seq)
            self._maybe_refresh(names)

    def _maybe_refresh(self, names) -> None:
        self._seen_seq = getattr(self.app, "change_seq", 0)
        if self.WATCH_TABLES and not (self._watched() & set(names)):
            return
        if self.WATCH_TABLES or self.watches_all:
            self.refresh_data(frozenset(names))

    def _watched(self) -> frozenset[str]:
        """WATCH_TABLES with the owner's short names made full."""
        owner = self.owner
        if owner is None or all("." in name for name in self.WATCH_TABLES):
            return self.WATCH_TABLES
        return frozenset(full_table_name(owner, name) for name in self.WATCH_TABLES)

    #: set True to be told about every change (the dashboard)
    watches_all: ClassVar[bool] = False

    def refresh_data(self, names: frozenset[str]) -> None:
        """Reload what the screen shows; ``names`` are the changed tables."""
