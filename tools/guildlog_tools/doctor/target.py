"""What `guildlog doctor` looks at: a deployed stack through CloudFormation, or the running local stack.

A `Target` names the endpoints and resources the checks read (from the stack's outputs and its
resource list, so queues and alarms added to the template later are found by type), gives boto3
clients for its account, and a Discord REST client when a bot token is available.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from guildlog.errors import ConfigurationError

# The outputs every client of the stack needs (the README's list); a stack without them is broken.
REQUIRED_OUTPUTS = ("GatewayEventsUrl", "InteractionsUrl", "TableName", "ArchiveBucketName")
_DONE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE")


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    physical_id: str


@dataclass
class Target:
    """`kind` is "stack" or "local"; `client(service)` a boto3 client for the target's account."""

    kind: str
    name: str
    region: str
    status: str
    outputs: dict[str, str]
    parameters: dict[str, str]
    resources: list[Resource]
    client: Callable[[str], Any]
    discord: Any = None  # guildlog.adapters.discord_rest.DiscordRest, or None without a token
    guilds: list[str] = field(default_factory=list)
    discord_private_key: str | None = None  # the local stack's: it can sign a PING as Discord would
    cache: dict[str, Any] = field(default_factory=dict)  # what several checks read once (the application)

    @property
    def healthy_status(self) -> bool:
        return self.status in _DONE

    def of_type(self, resource_type: str) -> list[Resource]:
        return [r for r in self.resources if r.type == resource_type]


def stack_target(name: str, client: Callable[[str], Any], region: str) -> Target:
    """The stack `name`: its status, outputs, parameters and every resource it created."""
    cloudformation = client("cloudformation")
    try:
        [stack] = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except Exception as exc:  # botocore's ClientError: the stack does not exist, or no access
        code = getattr(exc, "response", {}).get("Error", {}).get("Message") or type(exc).__name__
        raise ConfigurationError(f"cannot read the stack {name!r} in {region}: {code}") from None
    resources: list[Resource] = []
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name):
        resources += [
            Resource(r["LogicalResourceId"], r["ResourceType"], r.get("PhysicalResourceId") or "")
            for r in page["StackResourceSummaries"]
        ]
    return Target(
        kind="stack",
        name=name,
        region=region,
        status=stack["StackStatus"],
        outputs={o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs") or []},
        parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters") or []},
        resources=resources,
        client=client,
    )


def local_target(dev: dict[str, Any], client: Callable[[str], Any]) -> Target:
    """The local stack described by its dev file (`guildlog dev` writes it while it runs)."""
    outputs = {
        "GatewayEventsUrl": str(dev.get("gateway_events_url") or ""),
        "InteractionsUrl": str(dev.get("interactions_url") or ""),
        "TableName": str(dev.get("table") or ""),
        "ArchiveBucketName": str(dev.get("bucket") or ""),
    }
    return Target(
        kind="local",
        name="the local stack",
        region=str(dev.get("region") or "us-east-1"),
        status="CREATE_COMPLETE" if all(outputs.values()) else "INCOMPLETE",
        outputs={k: v for k, v in outputs.items() if v},
        parameters={"DiscordApplicationId": str(dev.get("application_id") or "")},
        resources=[],
        client=client,
        discord_private_key=str(dev.get("discord_private_key") or "") or None,
    )
