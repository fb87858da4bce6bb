"""guildlog.observability: Logger and Metrics always, the Tracer (and the X-Ray SDK) only when asked for."""

from __future__ import annotations

import subprocess
import sys

import pytest

from guildlog.observability import detailed_tracing
from tests.paths import REPO


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),
        ({"GUILDLOG_DETAILED_TRACING": "false"}, False),
        ({"GUILDLOG_DETAILED_TRACING": "true"}, True),
        ({"GUILDLOG_DETAILED_TRACING": " TRUE "}, True),
        ({"GUILDLOG_DETAILED_TRACING": "true", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
    ],
)
def test_detailed_tracing_follows_the_stack_parameter_when_powertools_does_not_disable_it(
    environ: dict[str, str], expected: bool
) -> None:
    assert detailed_tracing(environ) is expected


def _modules_after_loading_ingest(env: dict[str, str]) -> set[str]:
    code = (
        "import importlib.util as u, sys; s = u.spec_from_file_location('app', 'functions/ingest/app.py'); "
        "m = u.module_from_spec(s); s.loader.exec_module(m); print(' '.join(sorted(sys.modules)))"
    )
    base = {"POWERTOOLS_METRICS_DISABLED": "true", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=base | env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def test_ingest_function_leaves_the_xray_sdk_unimported_when_detailed_tracing_is_off() -> None:
    modules = _modules_after_loading_ingest({"GUILDLOG_DETAILED_TRACING": "false"})

    assert "aws_lambda_powertools.logging" in {m for m in modules if m.startswith("aws_lambda_powertools.logging")}
    assert not {m for m in modules if m.startswith(("aws_xray_sdk", "botocore.client"))}


def test_ingest_function_wraps_its_handler_in_the_tracer_when_detailed_tracing_is_on() -> None:
    modules = _modules_after_loading_ingest({"GUILDLOG_DETAILED_TRACING": "true"})

    assert "aws_xray_sdk.core" in modules
