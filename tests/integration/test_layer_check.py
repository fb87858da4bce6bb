"""guildlog_tools.layer_check: the layer as `sam build` makes it, checked in an interpreter that has only
the standard library, Lambda's boto3 and the layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from guildlog_tools.layer_check import run

pytestmark = pytest.mark.integration


def test_layer_check_loads_every_function_and_module_when_the_layer_is_built_from_requirements(
    tmp_path: Path,
) -> None:
    report = run(tmp_path)

    assert report.problems == ()
    assert set(report.functions) == {
        "archive",
        "attachment_copy",
        "compact",
        "forget",
        "gap_repair",
        "ingest",
        "interactions",
        "notify",
        "web",
        "worker",
    }
    assert report.modules > 40


def test_layer_check_names_a_lazy_dev_only_import_when_the_layer_code_has_one(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    (root / "layers/common/guildlog").mkdir(parents=True)
    (root / "layers/common/requirements.txt").write_text("")
    (root / "layers/common/guildlog/__init__.py").write_text("")
    (root / "layers/common/guildlog/tool.py").write_text("def later():\n    import duckdb\n    return duckdb\n")
    (root / "functions/thing").mkdir(parents=True)
    (root / "functions/thing/app.py").write_text("import guildlog.tool\n\ndef lambda_handler(e, c):\n    return {}\n")

    report = run(tmp_path / "build", root)

    assert report.functions == ("thing",)
    assert report.problems == ("import duckdb: not in the layer or the runtime",)


def test_layer_check_names_the_function_when_its_app_imports_a_package_the_layer_lacks(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    (root / "layers/common/guildlog").mkdir(parents=True)
    (root / "layers/common/requirements.txt").write_text("")
    (root / "layers/common/guildlog/__init__.py").write_text("")
    (root / "functions/thing").mkdir(parents=True)
    (root / "functions/thing/app.py").write_text("import moto\n\ndef lambda_handler(e, c):\n    return {}\n")

    report = run(tmp_path / "build", root)

    assert report.functions == ()
    assert len(report.problems) == 1 and report.problems[0].startswith("functions/thing/app.py: ModuleNotFoundError")
