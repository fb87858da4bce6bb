"""Deploying the stack: `sam build` + `sam deploy`, or CloudFormation directly from a built template.

Both take the same parameter overrides and end with the stack's outputs. A deploy that changes
nothing is not an error (re-running `guildlog setup` is safe).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guildlog.errors import ConfigurationError

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
_FAILED = ("ROLLBACK", "FAILED")


@dataclass(frozen=True)
class Deployed:
    stack: str
    action: str  # "created", "updated" or "unchanged"
    outputs: dict[str, str]


def sam_commands(stack: str, region: str, parameters: Mapping[str, str]) -> list[list[str]]:
    """The two commands `sam` runs, parameters quoted for SAM's `Key=Value` list."""
    overrides = [f"{key}={value}" for key, value in parameters.items()]
    return [
        ["sam", "build"],
        [
            "sam", "deploy", "--stack-name", stack, "--region", region,
            "--capabilities", *CAPABILITIES, "--resolve-s3",
            "--no-confirm-changeset", "--no-fail-on-empty-changeset",
            "--parameter-overrides", *overrides,
        ],
    ]  # fmt: skip


def deploy_with_sam(
    stack: str,
    region: str,
    parameters: Mapping[str, str],
    cloudformation: Any,
    cwd: Path,
    run: Callable[..., Any] = subprocess.run,
) -> Deployed:
    """Build and deploy with the SAM CLI in `cwd` (the checkout), then read the outputs."""
    if shutil.which("sam") is None and run is subprocess.run:
        raise ConfigurationError(
            "the SAM CLI is not installed: install it (https://docs.aws.amazon.com/serverless-application-model/), "
            "or pass --template with a built template to deploy through CloudFormation directly"
        )
    existed = _status(cloudformation, stack) is not None
    for command in sam_commands(stack, region, parameters):
        done = run(command, cwd=cwd, check=False)
        if done.returncode != 0:
            raise ConfigurationError(f"`{' '.join(command[:2])}` failed (exit {done.returncode}); its output says why")
    return Deployed(stack, "updated" if existed else "created", outputs(cloudformation, stack))


def deploy_template(stack: str, template_body: str, parameters: Mapping[str, str], cloudformation: Any) -> Deployed:
    """Create the stack, or update it; wait until CloudFormation is done. ConfigurationError when it rolls back."""
    status = _status(cloudformation, stack)
    request = {
        "StackName": stack,
        "TemplateBody": template_body,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        "Capabilities": CAPABILITIES,
    }
    if status == "ROLLBACK_COMPLETE":  # a failed first create can only be deleted
        raise ConfigurationError(
            f"the stack {stack} failed to create earlier and must be deleted first: "
            f"aws cloudformation delete-stack --stack-name {stack}"
        )
    if status is None:
        cloudformation.create_stack(**request)
        cloudformation.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 5})
        action = "created"
    else:
        try:
            cloudformation.update_stack(**request)
        except Exception as exc:
            if "No updates are to be performed" not in str(exc):
                raise
            return Deployed(stack, "unchanged", outputs(cloudformation, stack))
        cloudformation.get_waiter("stack_update_complete").wait(StackName=stack, WaiterConfig={"Delay": 5})
        action = "updated"
    final = _status(cloudformation, stack) or ""
    if any(word in final for word in _FAILED):
        raise ConfigurationError(
            f"the stack {stack} ended {final}: `aws cloudformation describe-stack-events` says why"
        )
    return Deployed(stack, action, outputs(cloudformation, stack))


def outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    [found] = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o.get("OutputValue", "") for o in found.get("Outputs") or []}


def _status(cloudformation: Any, stack: str) -> str | None:
    try:
        [found] = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except Exception as exc:
        if "does not exist" in str(exc):
            return None
        raise
    return str(found["StackStatus"])
