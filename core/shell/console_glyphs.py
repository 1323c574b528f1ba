"""Drawing on the Linux console (TERM=linux, a common kiosk).

The console's font (Debian's Lat15/Uni2 fonts, 256–512 glyphs) has Latin-1,
the light and double box-drawing lines, full and half blocks, shades and
arrows, but not the rounded corners, eighth blocks and symbols Textual and
Backdesk draw with (⭘ ▕ ╭ ▁ ⚠ ⏎ 🔎): those show as diamonds. On TERM=linux
the shell writes through :class:`ConsoleDriver`, which swaps each of them
for a glyph the font has, of the same width, so the layout does not move.

    driver_class = console_driver(os.environ.get("TERM"))   # None elsewhere
"""

from __future__ import annotations

from textual.drivers.linux_driver import LinuxDriver

__all__ = ["CONSOLE_GLYPHS", "ConsoleDriver", "console_driver", "console_safe"]

_SWAPS = {
    # rounded corners → square ones
    "╭": "┌", "╮": "┐", "╰": "└", "╯": "┘",
    # heavy lines → light ones (the fonts have light and double only)
    "━": "─", "┃": "│", "┏": "┌", "┓": "┐", "┗": "└", "┛": "┘", "┣": "├", "┫": "┤", "┳": "┬", "┻": "┴",
    "╋": "┼", "╸": "─", "╺": "─", "╹": "│", "╻": "│", "┅": "─", "┉": "─", "╍": "─",
    # eighth blocks (tall/wide borders, scroll bars, sparklines) → lines, half and full blocks
    "▔": "▀", "▁": "_", "▂": "▄", "▃": "▄", "▅": "▄", "▆": "█", "▇": "█",
    "▏": "│", "▕": "│", "▎": "▌", "▍": "▌", "▋": "▌", "▊": "█", "▉": "█",
    "▗": "▄", "▖": "▄", "▝": "▀", "▘": "▀", "▚": "▒", "▞": "▒", "▙": "█", "▛": "█", "▜": "█", "▟": "█",
    # symbols
    "⭘": "o", "⚠": "!", "⏎": "»", "✓": "v", "✔": "v", "✗": "x", "✘": "x", "●": "*", "○": "o",
    "◆": "*", "◇": "o", "▶": "►", "◀": "◄", "▸": "►", "◂": "◄", "▴": "▲", "▾": "▼",
    "⋯": "…", "⁝": ":", "❯": ">", "❮": "<", "⬆": "↑", "⬇": "↓", "⮕": "→",
    # spaces the fonts lack (CLDR puts a narrow no-break space before AM/PM: "9:05\u202fAM")
    "\u202f": " ", "\u2009": " ", "\u200a": " ",
    # two cells wide → two cells
    "🔎": "? ", "🔍": "? ", "📎": "@ ", "📄": "# ", "📞": "T ", "⏸": "|", "📂": "+ ", "📁": "+ ",
}

#: str.translate table: glyph → what the console's font can draw
CONSOLE_GLYPHS = str.maketrans(_SWAPS)


def console_safe(text: str) -> str:
    """``text`` with every glyph the console's font lacks swapped."""
    return text.translate(CONSOLE_GLYPHS)


class ConsoleDriver(LinuxDriver):
    """Textual's Linux driver writing what the Linux console can draw."""

    def write(self, data: str) -> None:
        super().write(data.translate(CONSOLE_GLYPHS))


def console_driver(term: str | None) -> type[LinuxDriver] | None:
    """The driver for ``term`` (``$TERM``): :class:`ConsoleDriver` on the Linux
    console, ``None`` (Textual's choice) elsewhere."""
    return ConsoleDriver if term == "linux" else None
