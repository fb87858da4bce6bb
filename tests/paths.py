"""Paths the tests read: the checkout, its events/ and template.yaml, and ../shared beside it."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "template.yaml"
DEMO_SESSION = REPO / "events" / "gateway" / "demo-session.jsonl"
FIXTURES_ROOT = REPO.parent / "shared" / "fixtures"
