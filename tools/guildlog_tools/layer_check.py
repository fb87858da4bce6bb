"""The Lambda layer as AWS builds it, and a check that everything shipped imports inside it.

`sam build` makes the layer from `layers/common/`: `pip install -r requirements.txt` into `python/`
beside a copy of the folder. In Lambda that layer sits on a Python that has the standard library
and boto3 (with botocore and their dependencies) and nothing else. This module builds the same
layer into a folder, then, in an isolated interpreter that sees only the standard library, boto3's
distributions and the layer, it:

- loads every `functions/*/app.py` by path, as Lambda does;
- imports every module of the `guildlog` package;
- resolves every module named by any `import` statement in the layer, including those inside
  functions (imported lazily), so a dev-only package can hide nowhere.

`python -m guildlog_tools.layer_check` (also `make layer-check`) prints the layer's size and the
result; the tests run the same check.
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from guildlog_tools.checkout import checkout_root

LAYER_DIR = Path("layers") / "common"
PACKAGE = "guildlog"
# What the Lambda Python runtime brings besides the standard library.
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")


@dataclass(frozen=True)
class LayerReport:
    size_bytes: int  # python/ as the layer zip would unpack it
    package_bytes: int  # the guildlog package alone
    functions: tuple[str, ...]
    modules: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def build_layer(root: Path, dest: Path, *, pip: tuple[str, ...] | None = None) -> Path:
    """`dest/python`: requirements.txt installed by pip, beside a copy of layers/common/ (as `sam build`)."""
    python_dir = dest / "python"
    python_dir.mkdir(parents=True, exist_ok=True)
    command = pip or (sys.executable, "-m", "pip")
    layer = root / LAYER_DIR
    subprocess.run(
        [*command, "install", "--quiet", "--disable-pip-version-check", "--no-warn-conflicts",
         "--target", str(python_dir), "-r", str(layer / "requirements.txt")],
        check=True,
    )  # fmt: skip
    for entry in layer.iterdir():
        target = python_dir / entry.name
        if entry.is_dir():
            shutil.copytree(entry, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(entry, target)
    return python_dir


def runtime_paths(dest: Path) -> Path:
    """A folder holding links to boto3 and its dependencies from this environment (Lambda's runtime set)."""
    runtime = dest / "runtime"
    runtime.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_DISTRIBUTIONS:
        dist = importlib.metadata.distribution(name)
        tops = (dist.read_text("top_level.txt") or "").split() or _top_levels(dist)
        base = Path(str(dist.locate_file("")))
        for top in tops:
            for candidate in (base / top, base / f"{top}.py"):
                if candidate.exists() and not (runtime / candidate.name).exists():
                    (runtime / candidate.name).symlink_to(candidate)
    return runtime


def _top_levels(dist: importlib.metadata.Distribution) -> list[str]:
    names = {Path(str(f)).parts[0] for f in dist.files or () if not str(f).startswith(("..", "/"))}
    return sorted(n.removesuffix(".py") for n in names if not n.endswith((".dist-info", ".data")) and n != "bin")


def imported_modules(package_dir: Path) -> set[str]:
    """Every absolute module named by an import statement anywhere in the package (lazy ones too)."""
    names: set[str] = set()
    for path in package_dir.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    return names


# Runs in the isolated interpreter: sys.path is set by the caller; prints one JSON object.
_PROBE = """
import importlib, importlib.util, json, pkgutil, sys, traceback
functions, names = json.loads(sys.argv[1]), json.loads(sys.argv[2])
problems, loaded = [], []
for name, path in functions.items():
    try:
        spec = importlib.util.spec_from_file_location(f"app_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        getattr(module, "lambda_handler")
        loaded.append(name)
    except BaseException as exc:
        problems.append(f"functions/{name}/app.py: {type(exc).__name__}: {exc}")
import guildlog
count = 0
for info in pkgutil.walk_packages(guildlog.__path__, "guildlog."):
    count += 1
    try:
        importlib.import_module(info.name)
    except BaseException as exc:
        problems.append(f"{info.name}: {type(exc).__name__}: {exc}")
for name in names:
    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError) as exc:
        found, exc_text = None, f"{type(exc).__name__}: {exc}"
    if found is None:
        problems.append(f"import {name}: not in the layer or the runtime")
print(json.dumps({"problems": problems, "functions": loaded, "modules": count}))
"""


def check_layer(python_dir: Path, runtime: Path, root: Path) -> tuple[list[str], list[str], int]:
    """(problems, functions loaded, guildlog modules imported) in an interpreter that sees only the
    standard library, the runtime's boto3 and the layer."""
    functions = {p.parent.name: str(p) for p in sorted((root / "functions").glob("*/app.py"))}
    names = sorted(imported_modules(python_dir / PACKAGE))
    bootstrap = f"import sys; sys.path[:0] = [{str(python_dir)!r}, {str(runtime)!r}]; " + "exec(sys.argv.pop(1))"
    answer = subprocess.run(
        [sys.executable, "-S", "-I", "-c", bootstrap, _PROBE, json.dumps(functions), json.dumps(names)],
        capture_output=True,
        text=True,
        cwd=python_dir,
        check=False,
    )
    if answer.returncode != 0:
        return [f"the probe interpreter failed: {answer.stderr.strip()[-2000:]}"], [], 0
    result = json.loads(answer.stdout)
    return result["problems"], result["functions"], result["modules"]


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def run(work: Path, root: Path | None = None) -> LayerReport:
    """Build the layer under `work` and check it."""
    root = root or checkout_root()
    python_dir = build_layer(root, work)
    runtime = runtime_paths(work)
    problems, functions, modules = check_layer(python_dir, runtime, root)
    return LayerReport(
        size_bytes=folder_size(python_dir),
        package_bytes=folder_size(python_dir / PACKAGE),
        functions=tuple(functions),
        modules=modules,
        problems=tuple(problems),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m guildlog_tools.layer_check",
        description="Build the Lambda layer as `sam build` does and import everything shipped inside it.",
    )
    parser.add_argument("--keep", type=Path, help="build into this folder and keep it (default: a temporary one)")
    args = parser.parse_args(argv)
    if args.keep:
        report = run(args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="guildlog-layer-") as work:
            report = run(Path(work))
    print(f"layer: {report.size_bytes / 1e6:.1f} MB unpacked ({report.package_bytes / 1e3:.0f} kB of it guildlog)")
    print(f"functions loaded: {', '.join(report.functions) or 'none'}; guildlog modules imported: {report.modules}")
    for problem in report.problems:
        print(f"  ✗ {problem}", file=sys.stderr)
    print("layer check: ok" if report.ok else f"layer check: {len(report.problems)} problem(s)")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
