"""RecordTable against Textual's DataTable, measured in the same run.

    python bench/table.py            # 1k, 10k and 100k rows (about 20 s)
    python bench/table.py --quick    # without DataTable at 100k (about 8 s)

Each app runs headless (``App.run_test(size=(100, 30))``). First paint is
the time from creating the app to the end of the first ``pilot.pause()``
after which the table has drawn its last visible line (checked through
``render_line``). The rows (plain dicts, 6 columns) are built before the
clock starts; DataTable gets them as tuples, also built beforehand.
Medians of 3 runs, one run for DataTable at 100k (it takes ~11 s).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import textual  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.strip import Strip  # noqa: E402
from textual.widgets import DataTable  # noqa: E402

from core.shell.widgets import Column, RecordTable  # noqa: E402

SIZE = (100, 30)
CITIES = ["Berlin", "Hamburg", "Lyon", "Oslo", "Porto", "Kraków", "Graz"]
FIRST = ["Anna", "Ben", "Chloé", "Dmitri", "Elif", "Femi", "Grete", "Hugo"]
LAST = ["Müller", "Schmidt", "Okafor", "Nakamura", "García", "Novak"]


def make_rows(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i + 1,
            "name": f"{FIRST[i % 8]} {LAST[(i // 8) % 6]}",
            "city": CITIES[(i * 3 + i // 10) % 7],
            "department": ["sales", "support", "finance"][i % 3],
            "salary": f"{2000 + (i * 137) % 5000}.{(i * 7) % 100:02d}",
            "start": f"20{10 + i % 16:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}",
        }
        for i in range(count)
    ]


COLUMNS = [
    Column("id", "#", width=7, align="right"),
    Column("name", "Name"),
    Column("city", "City"),
    Column("department", "Department"),
    Column("salary", "Salary", align="right"),
    Column("start", "Start", width=10),
]


class PaintProbe:
    """Notes which lines a table has drawn, and when it last drew one."""

    def __init__(self) -> None:
        self.last_y = -1
        self.last_time = 0.0

    def saw(self, y: int) -> None:
        self.last_y = max(self.last_y, y)
        self.last_time = time.perf_counter()


class ProbedRecordTable(RecordTable):
    probe = PaintProbe()

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        self.probe.saw(y)
        return strip


class ProbedDataTable(DataTable):
    probe = PaintProbe()

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        self.probe.saw(y)
        return strip


class RecordTableApp(App[None]):
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        yield ProbedRecordTable(COLUMNS, self.rows)

    def on_mount(self) -> None:
        self.query_one(RecordTable).focus()


class DataTableApp(App[None]):
    def __init__(self, tuples: list[tuple]) -> None:
        super().__init__()
        self.tuples = tuples

    def compose(self) -> ComposeResult:
        yield ProbedDataTable(cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*(column.title for column in COLUMNS))
        table.add_rows(self.tuples)
        table.focus()


async def first_paint(make_app: Callable[[], App], probe: PaintProbe) -> float:
    probe.last_y = -1
    started = time.perf_counter()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for _ in range(1000):
            if probe.last_y >= SIZE[1] - 2:
                break
            await pilot.pause()
        elapsed = time.perf_counter() - started
        assert probe.last_y >= SIZE[1] - 2, "the table never painted"
    return elapsed


async def key_times(
    make_app: Callable[[], App], probe: PaintProbe, keys: list[str], setup: list[str] = ()
) -> list[float]:
    """Seconds from sending each key to the table's last repainted line.

    The pilot then waits for the app to be idle; that wait (tens of ms of
    polling) is not counted.
    """
    app = make_app()
    times = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for key in setup:
            await pilot.press(key)
            await pilot.pause()
        for key in keys:
            started = time.perf_counter()
            await pilot.press(key)
            await pilot.pause()
            assert probe.last_time > started, f"{key!r} did not repaint the table"
            times.append(probe.last_time - started)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def direct(callable_: Callable[[], Any], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        callable_()
        times.append(time.perf_counter() - started)
    return median(times)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def main(quick: bool) -> None:
    print(
        f"Python {platform.python_version()}, textual {textual.__version__}, "
        f"{platform.machine()}, headless {SIZE[0]}x{SIZE[1]}"
    )
    sizes = [1_000, 10_000, 100_000]
    data = {n: make_rows(n) for n in sizes}
    tuples = {n: [tuple(row.values()) for row in data[n]] for n in sizes}

    print()
    print(f"{'rows':>8}  {'RecordTable':>12}  {'DataTable':>10}  {'ratio':>7}")
    results = {}
    for n in sizes:
        ours = median(
            [await first_paint(lambda: RecordTableApp(data[n]), ProbedRecordTable.probe) for _ in range(3)]
        )
        if quick and n == 100_000:
            theirs = None
        else:
            runs = 1 if n == 100_000 else 3
            theirs = median(
                [await first_paint(lambda: DataTableApp(tuples[n]), ProbedDataTable.probe) for _ in range(runs)]
            )
        results[n] = (ours, theirs)
        ratio = f"{theirs / ours:6.1f}x" if theirs else "      -"
        theirs_text = f"{theirs:9.2f}s" if theirs else "  skipped"
        print(f"{n:>8,}  {ours:>11.3f}s  {theirs_text:>10}  {ratio}")

    rows = data[100_000]
    print()
    print("Key press to repainted table, 100k rows (median):")
    ours_app = lambda: RecordTableApp(rows)  # noqa: E731
    probe = ProbedRecordTable.probe
    downs = await key_times(ours_app, probe, ["down"] * 20)
    print(f"  cursor down                         {ms(median(downs))}")
    pages = await key_times(ours_app, probe, ["pagedown"] * 10)
    print(f"  page down                           {ms(median(pages))}")
    sort = await key_times(ours_app, probe, ["s", "S"], setup=["right"])
    print(f"  sort by name (s, S)                 {ms(median(sort))}")
    typed = await key_times(ours_app, probe, ["o", "s", "l", "o"], setup=["slash"])
    print(f"  filter: first character after /    {ms(typed[0])}")
    print(f"  filter: next characters             {ms(median(typed[1:]))}")
    backspace = await key_times(ours_app, probe, ["backspace"], setup=["slash", "o", "s"])
    print(f"  filter: backspace (widens)          {ms(backspace[0])}")
    dt_downs = await key_times(lambda: DataTableApp(tuples[10_000]), ProbedDataTable.probe, ["down"] * 20)
    print(f"  DataTable cursor down (10k rows)    {ms(median(dt_downs))}")

    print()
    print("On 100k rows, the operation alone, median of 5:")

    def fresh() -> RecordTable:
        return RecordTable(COLUMNS, rows)

    def cold_filter() -> None:
        fresh().filter_text = "oslo"

    table = fresh()
    table.filter_text = "o"

    def warm_filter() -> None:
        table.filter_text = ""
        table.filter_text = "oslo"

    print(f"  filter, search cache cold (built)   {ms(direct(cold_filter))}")
    print(f"  filter, search cache warm           {ms(direct(warm_filter))}")
    sorter = fresh()
    print(f"  sort by name                        {ms(direct(lambda: sorter.sort_by('name')))}")
    print(f"  sort by salary (numeric strings)    {ms(direct(lambda: sorter.sort_by('salary', True)))}")
    print(f"  set_records (same rows)             {ms(direct(lambda: sorter.set_records(rows)))}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip DataTable at 100k rows")
    asyncio.run(main(parser.parse_args().quick))
