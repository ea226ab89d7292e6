"""The docs stay true to the code: the error-code table and the settings."""

from __future__ import annotations

import re
from pathlib import Path

from lms_progress.errors import ErrorCode
from lms_progress.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_error_code_is_in_the_api_table_with_its_status() -> None:
    api = (ROOT / "docs" / "api.md").read_text()
    rows = set(re.findall(r"^\| (\d{3}) \| (\d{4}) \|", api, flags=re.MULTILINE))
    documented = {(int(status), int(code)) for status, code in rows}
    in_code = {(error.http_status, error.code) for error in ErrorCode}
    assert in_code - documented == set(), "codes missing from docs/api.md"
    assert documented - in_code == set(), "docs/api.md lists codes the code does not have"


def test_codes_are_unique() -> None:
    codes = [error.code for error in ErrorCode]
    assert len(codes) == len(set(codes))


def test_every_setting_is_documented() -> None:
    docs = (ROOT / "README.md").read_text() + "".join(
        p.read_text() for p in (ROOT / "docs").glob("*.md")
    )
    for name in Settings.model_fields:
        variable = f"LMS_PROGRESS_{name.upper()}"
        assert variable in docs, f"{variable} is not documented"
