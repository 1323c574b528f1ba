"""Every ``backdesk`` command, every option and argument, with hostile values.

Run by tests/shell/test_cli_sweep.py against a demo site (or by hand:
``python tests/shell/cli_sweep.py CONFIG_DIR DATA_DIR [COMMAND…]``, which
prints each failure; ``SWEEP_SHARD=i/n`` sweeps every n-th command from
the i-th). For each command the required parameters get a
plausible value; then one parameter at a time gets each hostile value of
its kind (a date outside any calendar, a negative or huge number, an
empty text, a path to a device, a 200 000-character text, escape
sequences, a broken CSV file, …). Every run must end the way the brief
says bad input ends: exit 0 (accepted) or 2 (refused) — 1 only where a
command documents it — with the refusal on one line, no "internal error",
no traceback, and no escape sequence on the terminal.

The runs happen in this one process (``core.cli.commands.run``, as the console
script does after its fast path), so the sweep takes minutes, not hours.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path

import click

#: commands left out: they serve, watch or prompt until stopped
SKIP = {("serve", "ssh"), ("serve", "web"), ("it", "checks", "watch"), ("it", "checks", "run"),
        ("docs", "mail", "watch"),
        ("kiosk", "pin-hash")}
#: flags a command's input files are also tried with (a bank statement, not a journal)
INPUT_FLAGS = {("accounting", "import"): ["--bank"]}
#: commands whose documented answer to "found a problem" is exit 1
EXIT_1_OK = {("check",), ("audit", "verify"), ("events", "retry"), ("docs", "check")}

DATE_NAMES = {"date", "start", "end", "since", "until", "before", "due", "due_by", "next_due", "warranty_end",
              "purchase_date", "planned", "when"}
PERIOD_NAMES = {"period"}
NUMBER_NAMES = {"amount", "salary", "rate", "seats", "quantity", "min_quantity", "minutes", "interval", "number",
                "retention_years", "days", "limit", "batch", "seed", "port", "probation_months", "event_id",
                "idle_timeout_seconds", "every"}
PATH_NAMES = {"dest", "output", "csv_out", "folder", "src"}
INPUT_FILE_NAMES = {"file", "path", "mapping"}

ESCAPES = "x\x1b]0;pwned\x07\x1b[2J\r\u202eY"
HUGE = "y" * 200_000

HOSTILE = {
    "date": ["", "9999-12-31", "0000-01-01", "2026-02-30", "0001-01-01T00:00", ESCAPES],
    "period": ["", "9999-12", "0000-01", "2026-13", "-1"],
    "number": ["", "-1", "0", "99999999999999999999999", "1e400", "nan", "0.005"],
    "path": ["", "/dev/full", ".", "no/such/folder/file.out", "n" * 5000],
    "text": ["", "-1", ESCAPES, HUGE],
}


def plausible(param: click.Parameter, files: dict[str, Path]) -> str:
    """A value for a required parameter that lets the command go on to the one under test."""
    name = param.name or ""
    if isinstance(param.type, click.Choice):
        return str(param.type.choices[0])
    if name in DATE_NAMES:
        return "2026-01-15"
    if name in PERIOD_NAMES:
        return "2026-01"
    if name.endswith("_id") or name in NUMBER_NAMES or name in ("call", "extension"):
        return "1"
    if name in INPUT_FILE_NAMES:
        return str(files["text"])
    if name in PATH_NAMES:
        return str(files["fresh"] / f"out-{time.monotonic_ns()}")
    if name == "table":
        return "core.people"
    if name == "postings":
        return "expenses:rent=1"
    if name in ("person", "for_person", "caller"):
        return "1"
    if name == "account":
        return "alice"
    if name == "target":
        return "127.0.0.1:9"
    if name == "to":
        return "hr@example.com"
    return "x"


def kind_of(param: click.Parameter) -> str | None:
    """Which hostile values a parameter gets; None: click itself checks it
    (flags, choices)."""
    if getattr(param, "is_flag", False) or isinstance(param.type, (click.Choice, click.types.BoolParamType)):
        return None
    name = param.name or ""
    if name in DATE_NAMES:
        return "date"
    if name in PERIOD_NAMES:
        return "period"
    if name in NUMBER_NAMES or name.endswith("_id") or isinstance(param.type, (click.types.IntParamType,
                                                                            click.types.FloatParamType)):
        return "number"
    if name in INPUT_FILE_NAMES:
        return "input"
    if name in PATH_NAMES:
        return "path"
    return "text"


def hostile_files(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {"text": folder / "plain.txt", "binary": folder / "binary.bin", "fresh": folder / "fresh",
             "journal": folder / "escapes.journal"}
    files["text"].write_text("name,email\nAda,ada@example.com\n", encoding="utf-8")
    files["binary"].write_bytes(bytes(range(256)) * 64)
    files["journal"].write_text(f"2026-01-05 {ESCAPES}\n    expenses:rent  10 EUR\n    assets:bank:checking\n",
                                encoding="utf-8")
    files["fresh"].mkdir(exist_ok=True)
    # each import's own header, so the broken row is what gets read: people,
    # the phone list, IT assets, a bank statement
    for name, header, row in [("people", "name,department", "Ada,IT"), ("phones", "name,extension", "Ada,101"),
                              ("assets", "tag,type", "A1,computer"),
                              ("bank", "date,amount,description", "2026-01-05,-1.00,Coffee")]:
        first, rest = row.split(",", 1)
        unterminated = folder / f"{name}-unterminated.csv"
        unterminated.write_text(f'{header}\n"{first},{rest}\n{row}\n', encoding="utf-8")
        huge = folder / f"{name}-huge-cell.csv"
        huge.write_text(f"{header}\n{'z' * 140_000},{rest}\n", encoding="utf-8")
        escapes = folder / f"{name}-escapes.csv"
        escapes.write_text(f"{header}\n{ESCAPES},{rest}\n", encoding="utf-8")
        files.update({unterminated.stem: unterminated, huge.stem: huge, escapes.stem: escapes})
    return files


def commands(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        here = path + (name,)
        if here in SKIP:
            continue
        if isinstance(command, click.Group):
            yield from commands(command, here)
        else:
            yield here, command


def argv_for(path, command, files, fuzz: click.Parameter | None = None, value: str | None = None) -> list[str]:
    """The command line: required parameters plausible, ``fuzz`` set to ``value``."""
    opts: list[str] = []
    args: list[str] = []
    for param in command.params:
        if param.name == "help":
            continue
        if param is fuzz:
            given = value
        elif param.required:
            given = plausible(param, files)
        else:
            continue
        if isinstance(param, click.Option):
            opts += [param.opts[0], given]
        else:
            args.append(given)
    # "--" ends the options: a hostile argument starting with "-" is an argument
    return [*path, *opts, "--", *args] if args else [*path, *opts]


def run_once(base: list[str], argv: list[str]) -> tuple[int, str, str]:
    from core.cli.commands import run

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            run(base + argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException as exc:  # noqa: BLE001 - the sweep reports what escaped
            code = -1
            err.write(f"ESCAPED {type(exc).__name__}: {exc}\n")
    return code, out.getvalue(), err.getvalue()


def problem(path, code: int, out: str, err: str) -> str | None:
    allowed = {0, 2} | ({1} if path in EXIT_1_OK else set())
    if code not in allowed:
        return f"exit {code}"
    if "internal error" in err or "Traceback" in err or "ESCAPED" in err:
        return "internal error"
    if code == 2 and len(err.strip().splitlines()) != 1:
        return f"{len(err.strip().splitlines())} lines of error"
    if "\x1b]" in out + err or "\x07" in out + err or "\u202e" in out + err:
        return "escape sequence on the terminal"
    return None


def sweep(config_dir: str, data_dir: str, work: Path, only: list[str] | None = None,
          shard: tuple[int, int] = (0, 1)) -> tuple[list[dict], int]:
    """The failures and how many runs were made; ``shard`` (i, n): only every
    n-th command from the i-th (the test runs n sweeps at once, each on its
    own copy of the site)."""
    from core.cli.commands import cli, register_plugin_commands

    base = ["--config-dir", str(config_dir), "--data-dir", str(data_dir)]
    register_plugin_commands(base)
    files = hostile_files(work)
    failures = []
    runs = 0
    os.chdir(work)
    for index, (path, command) in enumerate(commands(cli)):
        if only and " ".join(path) not in only:
            continue
        if index % shard[1] != shard[0]:
            continue
        for param in command.params:
            kind = kind_of(param)
            if param.name == "help" or kind is None:
                continue
            if kind == "input":
                values = [str(p) for k, p in files.items() if k not in ("text", "fresh")] + ["", ".", "/dev/full"]
            else:
                values = HOSTILE[kind]
            flags = [[]] + ([[f] for f in INPUT_FLAGS.get(path, [])] if kind == "input" else [])
            for value, extra in ((v, f) for v in values for f in flags):
                argv = argv_for(path, command, files, param, value)
                argv[len(path):len(path)] = extra
                if os.environ.get("SWEEP_VERBOSE"):
                    sys.__stderr__.write(f"{' '.join(path)} {param.name}={value[:20]!r}\n")
                    sys.__stderr__.flush()
                code, out, err = run_once(base, argv)
                runs += 1
                why = problem(path, code, out, err)
                if why:
                    failures.append({"command": " ".join([*path, *extra]), "param": param.name,
                                     "value": value[:40],
                                     "why": why, "stderr": err.strip()[-300:]})
    return failures, runs


if __name__ == "__main__":
    config_dir, data_dir, *only = sys.argv[1:]
    work = Path(os.environ.get("SWEEP_WORK") or Path(data_dir).parent / "sweep")
    i, _, n = (os.environ.get("SWEEP_SHARD") or "0/1").partition("/")
    found, runs = sweep(config_dir, data_dir, work, only or None, (int(i), int(n)))
    sys.__stderr__.write(f"{runs} runs\n")
    sys.__stdout__.write(json.dumps(found, indent=1, ensure_ascii=True) + "\n")
