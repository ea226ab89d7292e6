"""The progress field rules (contract section 2), as pure functions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lms_progress.progress.rules import (
    canonical_marks,
    completed_in,
    completion_percentage,
    completion_status,
    format_date,
    local_date,
)


@given(total=st.integers(0, 10_000), data=st.data())
def test_percentage_is_a_floor_between_0_and_100(total: int, data: st.DataObject) -> None:
    done = data.draw(st.integers(0, total))
    p = completion_percentage(done, total)
    assert 0 <= p <= 100
    assert type(p) is int
    if total:
        # floor: p/100 <= done/total < (p+1)/100, checked in integers
        assert p * total <= 100 * done < (p + 1) * total
    assert (p == 100) == (total > 0 and done == total)


@given(st.integers(1, 10**18))
def test_one_short_of_everything_is_never_100(total: int) -> None:
    assert completion_percentage(total - 1, total) < 100


def test_percentage_examples() -> None:
    assert completion_percentage(1, 4) == 25
    assert completion_percentage(199, 200) == 99
    assert completion_percentage(2, 3) == 66
    assert completion_percentage(0, 0) == 0
    assert completion_percentage(5, 0) == 0
    # Exact where floats are not: 100 * 9007199254740993 // 9007199254740994 is 99.
    assert completion_percentage(2**53 + 1, 2**53 + 2) == 99


def test_status() -> None:
    assert completion_status(completed=False, started=False, completed_count=0) == "Yet to start"
    assert completion_status(completed=False, started=True, completed_count=0) == "In progress"
    assert completion_status(completed=False, started=False, completed_count=1) == "In progress"
    assert completion_status(completed=True, started=False, completed_count=0) == "Completed"


MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@given(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_date_format_is_dd_mmm_yyyy(day: date) -> None:
    text = format_date(day)
    dd, mmm, yyyy = text.split("-")
    assert len(dd) == 2 and int(dd) == day.day
    assert mmm == MONTHS[day.month - 1]
    assert len(yyyy) == 4 and int(yyyy) == day.year


def test_date_examples() -> None:
    assert format_date(date(2023, 8, 3)) == "03-Aug-2023"
    assert format_date(date(2024, 12, 31)) == "31-Dec-2024"


def test_month_names_stay_english_under_a_german_locale(tmp_path: object) -> None:
    if shutil.which("localedef") is None:
        pytest.skip("localedef is not installed: cannot build a German locale")
    locales = str(tmp_path)
    build = subprocess.run(
        ["localedef", "-i", "de_DE", "-f", "UTF-8", f"{locales}/de_DE.UTF-8"],
        capture_output=True,
    )
    if build.returncode not in (0, 1):  # 1: warnings only
        pytest.skip(f"could not build a German locale: {build.stderr.decode()[:200]}")
    script = (
        "import locale, datetime\n"
        "locale.setlocale(locale.LC_ALL, '')\n"
        "from lms_progress.progress.rules import format_date\n"
        "d = datetime.date(2023, 3, 3)\n"
        "print(d.strftime('%b'), format_date(d))\n"
    )
    env = {**os.environ, "LOCPATH": locales, "LC_ALL": "de_DE.UTF-8"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "Mär", "the locale is not German, so this test would prove nothing"
    assert out[1] == "03-Mar-2023"


def test_completed_in_counts_calendar_days_inclusively() -> None:
    d = date(2023, 8, 3)
    assert completed_in(d, None) == ""
    assert completed_in(d, d) == "1 days"
    assert completed_in(d, d + timedelta(days=1)) == "2 days"
    assert completed_in(d, date(2024, 8, 3)) == "367 days"  # 2024 is a leap year
    # A completion dated before the enrolment (imported history) counts as the enrolment day.
    assert completed_in(d, d - timedelta(days=3)) == "1 days"


def test_local_date_follows_the_zone() -> None:
    instant = 1_690_934_400  # 2023-08-02T00:00:00Z
    assert local_date(instant, ZoneInfo("UTC")) == date(2023, 8, 2)
    assert local_date(instant, ZoneInfo("America/New_York")) == date(2023, 8, 1)
    assert local_date(instant, ZoneInfo("Asia/Kolkata")) == date(2023, 8, 2)


def test_dst_days_count_as_one_day() -> None:
    london = ZoneInfo("Europe/London")
    # 26 Mar 2023 has 23 hours in London. Enrolled 25 Mar 23:30, completed 27 Mar 00:30 local:
    # 24 elapsed hours, but three calendar days.
    enrolled = 1_679_787_000  # 2023-03-25T23:30:00Z = 23:30 GMT
    completed = 1_679_873_400  # 2023-03-26T23:30:00Z = 27 Mar 00:30 BST
    assert completed - enrolled == 24 * 3600
    assert completed_in(local_date(enrolled, london), local_date(completed, london)) == "3 days"
    # 29 Oct 2023 has 25 hours: 00:30 to 23:45 the same local day is still "1 days".
    start = 1_698_535_800  # 2023-10-28T23:30:00Z = 29 Oct 00:30 BST
    end = start + 24 * 3600 + 15 * 60  # 29 Oct 23:45 GMT
    assert completed_in(local_date(start, london), local_date(end, london)) == "1 days"


@pytest.mark.parametrize(
    ("given", "expected"),
    [(95, "95"), ("100", "100"), ("87.50", "87.5"), (87.5, "87.5"), ("0", "0"), ("1e2", "100")],
)
def test_marks_are_canonical_decimal_strings(given: object, expected: str) -> None:
    assert canonical_marks(given) == expected


@pytest.mark.parametrize("bad", ["abc", "-1", "NaN", "Infinity", "", True, None])
def test_bad_marks_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        canonical_marks(bad)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # Beyond the decimal context's 28 digits: kept digit for digit, never rounded.
        ("123456789012345678901234567890", "123456789012345678901234567890"),
        ("123456789012345678901234567891", "123456789012345678901234567891"),
        (123456789012345678901234567891, "123456789012345678901234567891"),
        (Decimal("99.99999999999999999"), "99.99999999999999999"),
        ("0.987654321098765432109876543211", "0.987654321098765432109876543211"),
        ("1234567890123456789012345678.9000", "1234567890123456789012345678.9"),
        ("8.75e1", "87.5"),
        ("1.000E+2", "100"),
        ("0.000", "0"),
        ("007.50", "7.5"),
        (Decimal("-0.0"), "0"),
    ],
)
def test_marks_keep_every_digit(given: object, expected: str) -> None:
    assert canonical_marks(given) == expected


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("1e308", "too large"),
        (1e308, "too large"),
        pytest.param(10**5000, "too large", id="beyond str() of an int"),
        ("1" * 33, "too large"),
        ("1e-40", "too small"),
        ("1234567890123456789012345678901.5", "more digits than can be kept exactly"),
        (1.2345678901234567e-20, "more digits than can be kept exactly"),
        ("abc", "must be a number >= 0"),
        ("-1", "must be a number >= 0"),
    ],
)
def test_marks_refused_say_why(bad: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        canonical_marks(bad)


@given(st.decimals(min_value=0, max_value=Decimal("1e20"), allow_nan=False, places=8))
def test_marks_are_the_same_number(value: Decimal) -> None:
    assert Decimal(canonical_marks(value)) == value


@pytest.mark.parametrize(
    "text",
    # Decimal() reads each of these: "1_000" as 1000, the Arabic-Indic digit one as 1.
    ["1_000", " 5 ", "5 ", "\t5", "+5", "-0.0", ".5", "5.", "1e", "\u0661", "5\n", "0x10"],
)
def test_marks_as_text_are_plain_decimal_digits(text: str) -> None:
    with pytest.raises(ValueError, match="must be a number >= 0 in plain decimal digits"):
        canonical_marks(text)
