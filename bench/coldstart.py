"""Cold start: each function module's import time beside `import boto3`, with and without detailed tracing.

Fresh interpreters, interleaved, median of 9. "Detailed tracing" is the stack's DetailedTracing
parameter: the function then imports Powertools' Tracer and with it the X-Ray SDK and botocore.
"""

from __future__ import annotations

from bench.imports import function_snippet, import_times

FUNCTIONS = ("ingest", "interactions", "worker", "compact")
_TRACING_ON = {"GUILDLOG_DETAILED_TRACING": "true", "POWERTOOLS_TRACE_DISABLED": "false"}


def report() -> None:
    print("== coldstart ==")
    snippets = {"import boto3": "import boto3"}
    envs: dict[str, dict[str, str]] = {}
    for name in FUNCTIONS:
        snippets[name] = function_snippet(f"functions/{name}/app.py")
        snippets[f"{name} +tracing"] = function_snippet(f"functions/{name}/app.py")
        envs[f"{name} +tracing"] = _TRACING_ON
    times = import_times(snippets, repeats=9, envs=envs)
    boto3 = times["import boto3"]
    print(f"{'module (functions/<name>/app.py)':<34} {'import':>9} {'× boto3':>8} {'with detailed tracing':>22}")
    print(f"{'import boto3':<34} {boto3 * 1000:>7.1f}ms {1.0:>7.2f}×")
    for name in FUNCTIONS:
        plain, traced = times[name], times[f"{name} +tracing"]
        print(
            f"{name:<34} {plain * 1000:>7.1f}ms {plain / boto3:>7.2f}× {traced * 1000:>12.1f}ms {traced / boto3:>6.2f}×"
        )
    print("target: ingest ≤ 1.00× import boto3 with the stack's defaults (DetailedTracing=false)")
