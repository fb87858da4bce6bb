"""The conformance suite reads real Discord payloads from ../shared/fixtures, in place and never copied.

When that folder is absent (a clone on its own), every test here is skipped with one clear reason,
shown in the summary; under CI (`CI` set), where ../shared is always laid beside the clone, its
absence fails the run instead.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.paths import FIXTURES_ROOT

MISSING_REASON = "../shared/fixtures not found: conformance suite skipped"


def fixtures_present() -> bool:
    return FIXTURES_ROOT.is_dir()


def skip_module_without_fixtures() -> None:
    """Skip the calling test module when the fixtures are absent; under CI, fail instead."""
    if fixtures_present():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{MISSING_REASON}, but CI must run it: lay ../shared beside the clone", pytrace=False)
    pytest.skip(MISSING_REASON, allow_module_level=True)


def load_json(relative: str | Path) -> Any:
    """A fixture file parsed as JSON; the path is relative to ../shared/fixtures."""
    return json.loads((FIXTURES_ROOT / relative).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def fixtures_root() -> Path:
    skip_module_without_fixtures()
    return FIXTURES_ROOT
