"""The conformance suite reads real Discord payloads from ../shared/fixtures, in place and never copied.

When that folder is absent (a clone on its own), every test here is skipped with one clear reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.paths import FIXTURES_ROOT

MISSING_REASON = "../shared/fixtures not found: conformance suite skipped"


def fixtures_present() -> bool:
    return FIXTURES_ROOT.is_dir()


def load_json(relative: str | Path) -> Any:
    """A fixture file parsed as JSON; the path is relative to ../shared/fixtures."""
    return json.loads((FIXTURES_ROOT / relative).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def fixtures_root() -> Path:
    if not fixtures_present():
        pytest.skip(MISSING_REASON)
    return FIXTURES_ROOT
