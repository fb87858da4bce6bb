"""guildlog.adapters.notify_queue: ordered batches to the FIFO queue, failed entries sent again in order."""

from __future__ import annotations

from typing import Any

import pytest

from guildlog.adapters.notify_queue import NotifyQueue
from guildlog.errors import StorageError


class FakeSqs:
    def __init__(self, fail_first: set[int] | None = None, always_fail: bool = False) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.fail_first = fail_first or set()
        self.always_fail = always_fail

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's names
        self.calls.append(Entries)
        failing = [e for e in Entries if self.always_fail or int(e["Id"]) in self.fail_first]
        self.fail_first = set()
        return {"Failed": [{"Id": e["Id"], "Code": "InternalError", "SenderFault": False} for e in failing]}


def test_send_groups_by_guild_and_dedupes_by_event_when_messages_are_queued() -> None:
    sqs = FakeSqs()

    NotifyQueue("url", sqs).send([("g1", "gw:s:1", "a"), ("g1", "gw:s:2", "b")])

    [entries] = sqs.calls
    assert [e["MessageGroupId"] for e in entries] == ["g1", "g1"]
    assert entries[0]["MessageDeduplicationId"] != entries[1]["MessageDeduplicationId"]


def test_send_resends_the_failed_entry_and_all_after_it_when_sqs_fails_one() -> None:
    sqs = FakeSqs(fail_first={1})

    NotifyQueue("url", sqs).send([("g", f"e{n}", str(n)) for n in range(3)])

    assert [[e["MessageBody"] for e in call] for call in sqs.calls] == [["0", "1", "2"], ["1", "2"]]


def test_send_raises_storage_error_when_sqs_keeps_failing() -> None:
    with pytest.raises(StorageError, match="unsent"):
        NotifyQueue("url", FakeSqs(always_fail=True)).send([("g", "e", "x")])
