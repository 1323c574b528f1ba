"""`backdesk hr leave …` and `backdesk time …` as a person types them."""

from __future__ import annotations

import pytest

from tests.plugins.hr.absence_site import Site, make_office


@pytest.fixture
def site(tmp_path):
    s = Site(tmp_path)
    make_office(s.open("eva"))
    yield s
    s.close()


def test_leave_and_time_on_the_command_line(site):
    r = site.cli("hr", "leave", "request", "2026-04-30", "2026-05-06", "--person", "Ben Brandt")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "Leave request #1: 4/30/2026 to 5/6/2026, 4 working days, waiting for approval"
    r = site.cli("hr", "leave", "approve", "1")
    assert r.returncode == 0 and r.stdout.startswith("Approved #1: Ben Brandt away 4/30/2026 to 5/6/2026")
    r = site.cli("hr", "leave", "balance", "--person", "Ben Brandt", "--year", "2026")
    assert r.returncode == 0, r.stderr
    # entitled, carried, taken, planned (as of today), asked, left
    name, year, entitled, carried, taken, planned, asked, left = r.stdout.splitlines()[1].rsplit(None, 7)
    assert (name, year, entitled, carried, int(taken) + int(planned), asked, left) == (
        "Ben Brandt", "2026", "30", "0", 4, "0", "26")
    r = site.cli("hr", "leave", "calendar", "--month", "2026-05")
    assert r.returncode == 0 and "Ben Brandt" in r.stdout
    ben = next(line for line in r.stdout.splitlines() if line.startswith("Ben Brandt"))
    assert ben[20:27] == "F··UUU "  # 1 May a holiday, the weekend, on leave 4–6 May, at work on the 7th
    r = site.cli("hr", "leave", "calendar", "--ics", "-", "--person", "Ben Brandt")
    assert r.returncode == 0 and "BEGIN:VEVENT" in r.stdout and "DTSTART;VALUE=DATE:20260430" in r.stdout
    assert "DTEND;VALUE=DATE:20260507" in r.stdout
    r = site.cli("time", "clock", "in", "--person", "Ina Intern", "--at", "2026-07-07 13:00")
    assert r.returncode == 0 and r.stdout.strip() == "Clocked in at 7/7/2026 1:00\u202fPM"  # the locale's way (en_US)
    assert site.cli("time", "clock", "out", "--person", "Ina Intern", "--at", "2026-07-07 22:00").returncode == 0
    assert site.cli("time", "clock", "in", "--person", "Ina Intern", "--at", "2026-07-08 07:00").returncode == 0
    assert site.cli("time", "clock", "out", "--person", "Ina Intern", "--at", "2026-07-08 11:00").returncode == 0
    r = site.cli("time", "report", "--month", "2026-07")
    assert r.returncode == 0
    assert "! 7/8/2026: 9:00 h of rest since 7/7/2026 10:00\u202fPM; 11 h are needed" in r.stdout


@pytest.mark.parametrize("args, message", [
    (("hr", "leave", "request", "2026-08-07", "2026-08-03", "--person", "Ina Intern"),
     "backdesk: end: the last day (8/3/2026) lies before the first (8/7/2026)"),
    (("hr", "leave", "request", "2026-08-03", "2026-08-07", "--person", "Nobody"),
     "backdesk: no person called 'Nobody'"),
    (("hr", "leave", "request", "2026-01-05", "2026-03-31", "--person", "Ina Intern"),
     "backdesk: end: 62 days asked, but Ina Intern has 30 days left in 2026"),
    (("time", "clock", "out", "--person", "Ina Intern"), "backdesk: person: Ina Intern is not clocked in"),
    (("time", "report", "--month", "July"), "backdesk: month: 'July' is not a month (like 12/2026)"),
    (("hr", "leave", "request", "8/32/2026", "8/7/2026", "--person", "Ina Intern"),
     "backdesk: START: '8/32/2026' is not a date (like 12/31/2026)"),
    (("hr", "leave", "request", "8/3/2026", "31.08.2026", "--person", "Ina Intern"),  # a German date in en_US
     "backdesk: END: '31.08.2026' is not a date (like 12/31/2026)"),
    (("time", "clock", "in", "--person", "Ina Intern", "--at", "7/7/2026"),
     "backdesk: --at: '7/7/2026' is not a date and time (like 12/31/2026 08:30)"),
    (("time", "clock", "in", "--person", "Ina Intern", "--at", "13/7/2026 08:00"),
     "backdesk: --at: '13/7/2026 08:00' is not a date and time (like 12/31/2026 08:30)"),
    (("time", "clock", "in", "--person", "Ina Intern", "--at", "7/7/2026 25:00"),
     "backdesk: --at: '7/7/2026 25:00' is not a date and time (like 12/31/2026 08:30)"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_stored(site, args, message):
    r = site.cli(*args)
    assert (r.returncode, r.stderr.strip()) == (2, message)
    assert "Traceback" not in r.stderr
    bd = site.open("eva")
    assert bd.table("hr.leave").count({}) == 0 and bd.table("hr.time").count({}) == 0


@pytest.mark.parametrize("locale, asked, listed, sick, month, bad", [
    ("de_DE", "#1: 30.04.2026 bis 06.05.2026,", ["#1", "30.04.26", "06.05.26"], ["#1", "04.05.26", "05.05.26"],
     "07.2026", "'13.2026' ist kein Monat (etwa 12.2026)"),
    ("en_GB", "#1: 30/04/2026 to 06/05/2026,", ["#1", "30/04/2026", "06/05/2026"], ["#1", "04/05/2026", "05/05/2026"],
     "07/2026", "'13.2026' is not a month (like 12/2026)"),
])
def test_the_command_lines_dates_and_months_are_the_locales(tmp_path, locale, asked, listed, sick, month, bad):
    """The leave and sick-note tables and messages write dates as the
    screens do (German 30.04.26, English 30/04/2026); a month is typed as on
    the screens ("07.2026", "07/2026") or ISO; a month that is none is one
    line, exit 2."""
    site = Site(tmp_path, locale=locale)
    make_office(site.open("eva"))
    try:
        r = site.cli("hr", "leave", "request", "2026-04-30", "2026-05-06", "--person", "Ben Brandt")
        assert r.returncode == 0 and asked in r.stdout, r.stdout + r.stderr
        r = site.cli("hr", "leave", "list")
        assert r.returncode == 0 and r.stdout.split()[:3] == listed, r.stdout
        r = site.cli("hr", "sick", "record", "Ina Intern", "2026-05-04", "2026-05-05")
        sep = "." if locale == "de_DE" else "/"
        assert r.returncode == 0 and r.stdout.split()[-3::2] == [f"04{sep}05{sep}2026", f"05{sep}05{sep}2026"], r.stdout
        r = site.cli("hr", "sick", "list")
        assert r.returncode == 0 and r.stdout.split()[:3] == sick, r.stdout
        assert "2026-0" not in site.cli("hr", "leave", "list").stdout + r.stdout
        for typed in (month, "2026-07"):
            r = site.cli("time", "report", "--month", typed)
            assert r.returncode == 0 and r.stdout.startswith(month), (typed, r.stdout, r.stderr)
        r = site.cli("hr", "leave", "calendar", "--month", month.replace("07", "05"))
        ben = next(line for line in r.stdout.splitlines() if line.startswith("Ben Brandt"))
        assert ben[20:27] == "F··??? "  # May: 1 May a holiday, the weekend, asked for 4–6 May
        r = site.cli("time", "report", "--month", "13.2026")
        assert (r.returncode, r.stderr.strip(), r.stdout) == (2, f"backdesk: month: {bad}", "")
    finally:
        site.close()


@pytest.mark.parametrize("locale, start, end, sick, clock_in, clock_out, shown", [
    ("de_DE", "30.04.2026", "6.5.26", ("04.05.2026", "05.05.26"), "07.07.2026 13:00", "7.7.26 22:00",
     ("07.07.2026 13:00", "07.07.2026 22:00")),
    ("en_GB", "30/04/2026", "6/5/26", ("04/05/2026", "05/05/26"), "07/07/2026 13:00", "7/7/26 22:00",
     ("07/07/2026 13:00", "07/07/2026 22:00")),
    ("en_US", "4/30/2026", "05/06/26", ("5/4/2026", "5/5/26"), "7/7/2026 1:00 PM", "7/7/26 10:00pm",
     ("7/7/2026 1:00\u202fPM", "7/7/2026 10:00\u202fPM")),
])
def test_the_command_lines_days_are_typed_as_the_screens_take_them(tmp_path, locale, start, end, sick,
                                                                     clock_in, clock_out, shown):
    """Leave's and sick notes' START END and the clock's --at take a day as
    the CLI prints it and the screens take it, the locale's way (a two-digit
    year too), or ISO; what is stored is the same day."""
    site = Site(tmp_path, locale=locale)
    make_office(site.open("eva"))
    try:
        r = site.cli("hr", "leave", "request", start, end, "--person", "Ben Brandt")
        assert r.returncode == 0, r.stderr
        r = site.cli("hr", "sick", "record", "Ina Intern", *sick)
        assert r.returncode == 0, r.stderr
        r = site.cli("time", "clock", "in", "--person", "Ina Intern", "--at", clock_in)
        assert r.returncode == 0 and r.stdout.strip().endswith(f" {shown[0]}"), r.stdout + r.stderr
        r = site.cli("time", "clock", "out", "--person", "Ina Intern", "--at", clock_out)
        assert r.returncode == 0 and r.stdout.strip().endswith(f" {shown[1]}"), r.stdout + r.stderr
        # what it printed is taken back as it is (the day and time the locale's way)
        r = site.cli("time", "clock", "in", "--person", "Ina Intern", "--at", shown[1])
        assert r.returncode == 0 and r.stdout.strip().endswith(f" {shown[1]}"), r.stdout + r.stderr
        r = site.cli("hr", "leave", "request", "2026-08-03", "2026-08-04", "--person", "Ina Intern")
        assert r.returncode == 0, r.stderr  # ISO in every locale
        bd = site.open("eva")
        assert sorted((row["start"], row["end"]) for row in bd.table("hr.leave").find({})) == [
            ("2026-04-30", "2026-05-06"), ("2026-08-03", "2026-08-04")]
        assert [(row["start"], row["end"]) for row in bd.table("hr.sick_notes").find({})] == [
            ("2026-05-04", "2026-05-05")]
    finally:
        site.close()
