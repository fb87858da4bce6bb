"""Import time of a Lambda entry point beside `import boto3`, each in fresh interpreters."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def function_snippet(path: str) -> str:
    """Python that loads a function's app.py by path, as Lambda does (functions/ is not a package)."""
    return (
        f"import importlib.util as u; s = u.spec_from_file_location('app', {path!r}); "
        "m = u.module_from_spec(s); s.loader.exec_module(m)"
    )


def import_times(
    snippets: dict[str, str], repeats: int = 7, envs: dict[str, dict[str, str]] | None = None
) -> dict[str, float]:
    """Median wall time of each snippet in a fresh interpreter, interleaved so all see the same machine.

    `envs` adds environment variables for the snippets it names."""
    samples: dict[str, list[float]] = {name: [] for name in snippets}
    base = {**os.environ, "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true"}
    for _ in range(repeats):
        for name, snippet in snippets.items():
            env = base | (envs or {}).get(name, {})
            code = f"import time; t = time.perf_counter(); {snippet}; print(time.perf_counter() - t)"
            out = subprocess.run(
                [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
            )
            samples[name].append(float(out.stdout.strip()))
    return {name: statistics.median(values) for name, values in samples.items()}
