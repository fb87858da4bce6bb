"""The doctor's hosted-relay check: skipped when the operator runs the relay, failed with the way to
find out why when the service runs fewer tasks than it wants."""

from __future__ import annotations

from typing import Any

from guildlog_tools.doctor.checks import FAIL, OK, SKIP, relay_service
from guildlog_tools.doctor.target import Target


class Ecs:
    def __init__(self, services: list[dict[str, Any]]) -> None:
        self.services = services
        self.asked: list[tuple[str, list[str]]] = []

    def describe_services(self, cluster: str, services: list[str]) -> dict[str, Any]:
        self.asked.append((cluster, services))
        return {"services": self.services}


def target(outputs: dict[str, str], ecs: Ecs) -> Target:
    return Target(
        kind="stack",
        name="guildlog",
        region="us-east-1",
        status="CREATE_COMPLETE",
        outputs=outputs,
        parameters={},
        resources=[],
        client=lambda service: ecs,
    )


HOSTED = {"RelayServiceName": "guildlog-relay/relay"}


def test_relay_service_check_is_skipped_when_the_stack_does_not_host_the_relay() -> None:
    [result] = relay_service(target({}, Ecs([])))

    assert result.status == SKIP


def test_relay_service_check_passes_when_its_task_runs() -> None:
    ecs = Ecs([{"runningCount": 1, "desiredCount": 1}])

    [result] = relay_service(target(HOSTED, ecs))

    assert result.status == OK and ecs.asked == [("guildlog-relay", ["relay"])]


def test_relay_service_check_fails_naming_where_to_look_when_no_task_runs() -> None:
    [result] = relay_service(target(HOSTED, Ecs([{"runningCount": 0, "desiredCount": 1}])))

    assert result.status == FAIL and "0 of 1" in result.detail
    assert "describe-services --cluster guildlog-relay --services relay" in result.fix and "/relay" in result.fix


def test_relay_service_check_fails_when_the_service_is_gone() -> None:
    [result] = relay_service(target(HOSTED, Ecs([])))

    assert result.status == FAIL and "no ECS service" in result.detail
