"""Directory search benchmark: search-as-you-type over 5,000 people.

Prints a table (not a timed test). A directory of 5,000 people in 20
departments is imported (one transaction, through ``people.import_csv``);
then the same keystroke sequences are searched with

* ``people.find(text)`` — the service the Directory screen calls on every
  key: one cached lower-case text per person, every word must match;
* the naive baseline, in the same run: the storage query
  ``Contains`` over name, title, extension and email (``table.find``), plus
  the department names looked up per result — what a screen would do
  without the cache, and still only one substring, not every word.

Then the cost of the first search after a change (the cache is rebuilt),
and the Directory screen itself (headless, 80x24): key press until the table
shows the new rows.

    python bench/directory.py [--people N] [--rounds N] [--no-ui]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

FIRST = ["Anna", "Jan", "Emily", "Marcus", "Lena", "Tobias", "Priya", "Felix", "Sophie", "Uwe", "Katharina",
         "James", "Ayşe", "Thomas", "Julia", "Daniel", "Stefan", "Laura", "Charlotte", "Markus", "Hannah",
         "Ryan", "Martin", "Petra", "George", "Nina", "Kevin", "Sven", "Rachel", "Michael", "Jürgen", "Özlem"]
LAST = ["Becker", "Köhler", "Clarke", "Wright", "Schmitt", "Krause", "Nair", "Neumann", "Turner", "Schröder",
        "Wolf", "Mitchell", "Yilmaz", "Richter", "Hoffmann", "Evans", "Lange", "Zimmermann", "Baker", "Weber",
        "Koch", "O'Connor", "Schulz", "Meyer", "Harris", "Braun", "Hartmann", "Krüger", "Green", "Bauer",
        "Müller", "Fischer", "Wagner", "Schneider", "Smith", "Jones"]
TITLES = ["Sachbearbeiterin", "Sachbearbeiter", "Team Lead", "Engineer", "Buchhalter", "Assistant",
          "Referentin", "Werkstudent", "Manager", "Specialist"]
DEPTS = ["Geschäftsführung", "Empfang / Reception", "IT", "Buchhaltung / Accounting", "Personal / HR",
         "Vertrieb / Sales", "Einkauf / Purchasing", "Lager / Warehouse", "Marketing", "Legal",
         "Facility", "Support", "Entwicklung / R&D", "Qualität / QA", "Logistik", "Controlling",
         "Kundenservice", "Produktion", "Projektbüro", "Vorstand"]
#: what operators type, one key at a time
TYPED = ["müller", "anna b", "1234", "it sup", "o'connor", "schmidt", "jürgen w", "@example"]


def make_csv(n: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    out = io.StringIO()
    out.write("name,department,title,extension,email,status,start_date\n")
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        status = "left" if i % 50 == 0 else "on_leave" if i % 37 == 0 else "active"
        email = f"p{i}.{last.lower().replace(chr(39), '')}@example.com"
        out.write(f"\"{first} {last}\",\"{rng.choice(DEPTS)}\",{rng.choice(TITLES)},{1000 + i},{email},"
                  f"{status},20{rng.randint(10, 25)}-0{rng.randint(1, 9)}-01\n")
    return out.getvalue()


def prefixes() -> list[str]:
    return [word[:k] for word in TYPED for k in range(1, len(word) + 1)]


def naive_find(bd, text: str) -> list[dict]:
    """Without the cache: a storage query per key press, departments joined per hit."""
    from core.storage import Contains

    table = bd.table("core.people")
    depts = bd.table("core.departments")
    found = table.find({("name", "title", "extension", "email"): Contains(text)} if text.strip() else None,
                       order_by="name")
    for doc in found:
        dept = depts.get(doc["department_id"])
        doc["department"] = dept["name"] if dept else ""
    return found


def timed(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def write_config(base: str) -> tuple[str, str]:
    from core.services.access import current_account

    cfg = os.path.join(base, "config")
    os.makedirs(cfg)
    with open(os.path.join(cfg, "backdesk.yaml"), "w") as fh:
        fh.write("site: {name: Bench GmbH, locale: en_US}\n"
                 "roles: {admin: {title: Admin, permissions: ['*']}}\n"
                 f"operators: {{{current_account()}: {{name: Bench, roles: [admin]}}}}\n")
    with open(os.path.join(cfg, "plugins.yaml"), "w") as fh:
        fh.write("plugins: []\n")
    return cfg, os.path.join(base, "data")


async def ui_keystrokes(bd, words: list[str]) -> tuple[list[float], list[float]]:
    """The Directory screen, headless at 80x24: (key press to the table's last
    repainted line, the screen's own work per key: search + set_records).

    As in bench/table.py, the pilot's idle wait after each key is not counted.
    """
    from core.shell.app import make_app

    app = make_app(bd, poll_interval=0)
    paint: list[float] = []
    work: list[float] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")
        while app.current_mode != "directory":
            await pilot.pause(0.01)
        screen = app.screen
        search = screen.query_one("#directory-search")
        table = screen.query_one("#directory-table")
        last = [0.0]
        original = table.render_line

        def probed(y):
            strip = original(y)
            last[0] = time.perf_counter()
            return strip

        table.render_line = probed
        reload = screen.reload

        def timed_reload():
            start = time.perf_counter()
            reload()
            work.append(time.perf_counter() - start)

        screen.reload = timed_reload
        for word in words:
            search.value = ""
            await pilot.pause()
            for ch in word:
                start = time.perf_counter()
                await pilot.press(ch)
                await pilot.pause()
                assert last[0] > start, "the table did not repaint"
                paint.append(last[0] - start)
    return paint, work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5, help="times each keystroke sequence is searched")
    parser.add_argument("--no-ui", action="store_true", help="skip the headless screen measurement")
    args = parser.parse_args()

    from core.plugins.runtime import open_backdesk

    base = tempfile.mkdtemp(prefix="bench-directory-")
    try:
        cfg, data = write_config(base)
        bd = open_backdesk(cfg, data)
        people = bd.services.people
        for name in DEPTS:
            people.add_department(name)
        text = make_csv(args.people)
        t_import, result = timed(people.import_csv, io.StringIO(text))
        assert len(result["created"]) == args.people

        keys = prefixes()
        # warm both (the cache build is measured separately below)
        people.find("x")
        naive_find(bd, "x")
        fast: list[float] = []
        slow: list[float] = []
        checked = 0
        for _round in range(args.rounds):
            for q in keys:
                dt, hits = timed(people.find, q)
                fast.append(dt)
                dt, naive_hits = timed(naive_find, bd, q)
                slow.append(dt)
                if " " not in q and checked < len(keys):
                    # one word: the cache finds whatever the storage query finds (and
                    # more: department names and statuses are searched too)
                    assert {p["id"] for p in naive_hits} <= {p["id"] for p in hits}, q
                    checked += 1

        rebuild: list[float] = []
        ids = [p["id"] for p in people.find("")][:20]
        for pid in ids:
            people.update_person(pid, title=f"Renamed {pid}")
            dt, _ = timed(people.find, "müller")
            rebuild.append(dt)

        ui, ui_work = ([], []) if args.no_ui else asyncio.run(ui_keystrokes(bd, ["müller", "anna b", "1234"]))
        bd.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)

    ms = 1000
    print(f"Directory search, {args.people:,} people, {len(keys)} keystrokes x {args.rounds} rounds "
          f"(Python {sys.version.split()[0]})")
    print()
    print(f"| {'per key press':<44} | {'p50 ms':>8} | {'p95 ms':>8} | {'max ms':>8} |")
    print(f"|{'-' * 46}|{'-' * 10}|{'-' * 10}|{'-' * 10}|")
    rows = [("people.find (cached text per person)", fast),
            ("naive: table.find Contains + dept lookup", slow),
            ("first find after a change (cache rebuilt)", rebuild)]
    if ui:
        rows.append(("Directory screen: its work per key", ui_work))
        rows.append(("Directory screen: key to table repainted", ui))
    for label, samples in rows:
        print(f"| {label:<44} | {statistics.median(samples) * ms:8.2f} | {pct(samples, 95) * ms:8.2f} "
              f"| {max(samples) * ms:8.2f} |")
    print()
    print(f"naive / cached, p50: {statistics.median(slow) / statistics.median(fast):.1f}x; "
          f"p95: {pct(slow, 95) / pct(fast, 95):.1f}x")
    print(f"import of {args.people:,} people from CSV (validated, one transaction, audited): {t_import:.2f} s")


if __name__ == "__main__":
    main()
