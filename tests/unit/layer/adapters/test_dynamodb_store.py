"""guildlog.adapters.dynamodb_store: retries and once-per-batch counters, against a small fake client."""

from __future__ import annotations

from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from guildlog.adapters.dynamodb_store import BATCH_WRITE_LIMIT, TRANSACTION_CHUNK, DynamoStore
from guildlog.adapters.retry import Backoff
from guildlog.errors import StorageError
from guildlog.services.hot_items import CounterUpdate

TABLE = "guildlog-test"
_plain = TypeDeserializer().deserialize


def client_error(code: str, operation: str, reasons: list[str] | None = None) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": "scripted"}}
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": reason} for reason in reasons]
    return ClientError(response, operation)  # type: ignore[arg-type]


def cancelled(*reasons: str) -> ClientError:
    return client_error("TransactionCanceledException", "TransactWriteItems", list(reasons))


class FakeDynamoClient:
    """Just enough of a boto3 DynamoDB client: a dict of items and a script of failures.

    `leave` says, call by call, how many requested items BatchWriteItem leaves unprocessed (the
    last ones of the request); `errors` lists what each call raises first (None: nothing).
    """

    def __init__(self, leave: list[int] | None = None, errors: list[Exception | None] | None = None) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.leave = list(leave or [])
        self.errors = list(errors or [])
        self.batch_requests: list[list[dict[str, Any]]] = []
        self.transactions: list[list[dict[str, Any]]] = []
        self.get_requests: list[list[dict[str, Any]]] = []

    def _scripted_error(self) -> None:
        if self.errors:
            error = self.errors.pop(0)
            if error is not None:
                raise error

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:  # noqa: N803
        assert list(RequestItems) == [TABLE]
        requests = RequestItems[TABLE]
        assert 1 <= len(requests) <= BATCH_WRITE_LIMIT
        keys = [(r["PutRequest"]["Item"]["PK"]["S"], r["PutRequest"]["Item"]["SK"]["S"]) for r in requests]
        assert len(set(keys)) == len(keys), "DynamoDB refuses duplicate keys in one BatchWriteItem"
        self.batch_requests.append(requests)
        self._scripted_error()
        left = min(self.leave.pop(0) if self.leave else 0, len(requests))
        done, unprocessed = requests[: len(requests) - left], requests[len(requests) - left :]
        for request in done:
            item = {k: _plain(v) for k, v in request["PutRequest"]["Item"].items()}
            self.items[(item["PK"], item["SK"])] = item
        return {"UnprocessedItems": {TABLE: unprocessed} if unprocessed else {}}

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.transactions.append(TransactItems)
        self._scripted_error()
        marker = TransactItems[0]["Put"]
        marker_key = (marker["Item"]["PK"]["S"], marker["Item"]["SK"]["S"])
        if marker_key in self.items:
            raise cancelled("ConditionalCheckFailed", *["None"] * (len(TransactItems) - 1))
        self.items[marker_key] = {k: _plain(v) for k, v in marker["Item"].items()}
        for action in TransactItems[1:]:
            update = action["Update"]
            key = (update["Key"]["PK"]["S"], update["Key"]["SK"]["S"])
            item = self.items.setdefault(key, {"PK": key[0], "SK": key[1]})
            names, values = update["ExpressionAttributeNames"], update["ExpressionAttributeValues"]
            adds = update["UpdateExpression"].removeprefix("ADD ").split(" SET ")[0]
            for clause in adds.split(", "):
                name, value = clause.split(" ")
                item[names[name]] = item.get(names[name], 0) + int(values[value]["N"])
            item["expires_at"] = int(values[":ttl"]["N"])
        return {}

    def batch_get_item(self, RequestItems: dict[str, dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        keys = RequestItems[TABLE]["Keys"]
        assert len(keys) <= 100
        self.get_requests.append(keys)
        self._scripted_error()
        left = min(self.leave.pop(0) if self.leave else 0, len(keys))
        answered, unprocessed = keys[: len(keys) - left], keys[len(keys) - left :]
        found = [
            self.items[(k["PK"]["S"], k["SK"]["S"])] for k in answered if (k["PK"]["S"], k["SK"]["S"]) in self.items
        ]
        typed = [{"PK": {"S": i["PK"]}, "SK": {"S": i["SK"]}} for i in found]
        answer: dict[str, Any] = {"Responses": {TABLE: typed}}
        if unprocessed:
            answer["UnprocessedKeys"] = {TABLE: {**RequestItems[TABLE], "Keys": unprocessed}}
        return answer


class Recorder:
    """Backoff's sleep: records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def make_store(client: FakeDynamoClient, attempts: int = 5) -> tuple[DynamoStore, Recorder]:
    sleep = Recorder()
    backoff = Backoff(attempts=attempts, base=0.05, cap=2.0, sleep=sleep, rand=lambda: 1.0)
    return DynamoStore(TABLE, client=client, backoff=backoff), sleep


def items(n: int, prefix: str = "I") -> list[dict[str, Any]]:
    return [{"PK": f"{prefix}#{i}", "SK": "V", "n": i, "text": f"item {i}"} for i in range(n)]


# --- put_items ------------------------------------------------------------------------------------


def test_put_items_writes_everything_when_items_come_back_unprocessed_twice() -> None:
    client = FakeDynamoClient(leave=[6, 3, 0])
    store, sleep = make_store(client)

    calls = store.put_items(items(10))

    assert calls == 3
    assert [len(r) for r in client.batch_requests] == [10, 6, 3]
    assert sorted(client.items) == sorted((f"I#{i}", "V") for i in range(10))
    assert client.items[("I#7", "V")]["text"] == "item 7"
    assert sleep.waits == [0.05, 0.1]  # the cap grows with each retry (rand pinned to 1)


def test_put_items_raises_storage_error_when_items_stay_unprocessed_past_the_attempts() -> None:
    client = FakeDynamoClient(leave=[2] * 10)
    store, sleep = make_store(client, attempts=4)

    with pytest.raises(StorageError) as caught:
        store.put_items(items(5))

    assert len(client.batch_requests) == 4
    assert caught.value.fields["unprocessed"] == 2
    assert len(sleep.waits) == 3  # no pointless wait after the last attempt


def test_put_items_sends_each_key_once_when_items_repeat_a_key() -> None:
    repeated = items(25) + [{"PK": "I#3", "SK": "V", "n": 3, "text": "newer"}]
    client = FakeDynamoClient()
    store, _ = make_store(client)

    calls = store.put_items(repeated)

    assert calls == 1
    assert len(client.batch_requests[0]) == 25
    assert client.items[("I#3", "V")]["text"] == "newer"  # the last one given wins


def test_put_items_chunks_by_twenty_five_when_given_sixty_items() -> None:
    client = FakeDynamoClient()
    store, sleep = make_store(client)

    calls = store.put_items(items(60))

    assert calls == 3
    assert [len(r) for r in client.batch_requests] == [25, 25, 10]
    assert len(client.items) == 60
    assert sleep.waits == []


def test_put_items_makes_no_call_when_there_are_no_items() -> None:
    client = FakeDynamoClient()
    store, _ = make_store(client)

    assert store.put_items([]) == 0
    assert client.batch_requests == []


def test_put_items_retries_when_dynamodb_throttles_the_call() -> None:
    client = FakeDynamoClient(errors=[client_error("ProvisionedThroughputExceededException", "BatchWriteItem"), None])
    store, sleep = make_store(client)

    store.put_items(items(3))

    assert len(client.batch_requests) == 2
    assert len(client.items) == 3
    assert sleep.waits == [0.05]


def test_put_items_raises_storage_error_at_once_when_dynamodb_rejects_the_request() -> None:
    client = FakeDynamoClient(errors=[client_error("ValidationException", "BatchWriteItem")])
    store, sleep = make_store(client)

    with pytest.raises(StorageError) as caught:
        store.put_items(items(3))

    assert len(client.batch_requests) == 1
    assert caught.value.fields["error"] == "ClientError"
    assert sleep.waits == []


# --- apply_counters -------------------------------------------------------------------------------


def counters(n: int = 2) -> list[CounterUpdate]:
    return [
        CounterUpdate(f"G#1#D#2026-03-07#{i}", "TOTAL", {"messages": 2, "k#message": 3}, 1_800_000_000 + i)
        for i in range(n)
    ]


def test_apply_counters_adds_with_a_conditional_marker_when_batch_is_new() -> None:
    client = FakeDynamoClient()
    store, _ = make_store(client)

    store.apply_counters("batch-1", counters())

    [actions] = client.transactions
    marker = actions[0]["Put"]
    assert marker["ConditionExpression"] == "attribute_not_exists(PK)"
    assert (marker["Item"]["PK"]["S"], marker["Item"]["SK"]["S"]) == ("B#batch-1", "CTR#0")
    assert int(marker["Item"]["expires_at"]["N"]) == 1_800_000_001  # as long as the counters it guards
    assert client.items[("G#1#D#2026-03-07#1", "TOTAL")]["expires_at"] == 1_800_000_001
    assert client.items[("G#1#D#2026-03-07#0", "TOTAL")]["messages"] == 2
    assert client.items[("G#1#D#2026-03-07#1", "TOTAL")]["k#message"] == 3


def test_apply_counters_adds_nothing_twice_when_marker_condition_fails() -> None:
    client = FakeDynamoClient()
    store, sleep = make_store(client)

    store.apply_counters("batch-1", counters())
    store.apply_counters("batch-1", counters())

    assert len(client.transactions) == 2
    assert client.items[("G#1#D#2026-03-07#0", "TOTAL")]["messages"] == 2
    assert sleep.waits == []


def test_apply_counters_adds_again_when_the_batch_is_another() -> None:
    client = FakeDynamoClient()
    store, _ = make_store(client)

    store.apply_counters("batch-1", counters())
    store.apply_counters("batch-2", counters())

    assert client.items[("G#1#D#2026-03-07#0", "TOTAL")]["messages"] == 4


@pytest.mark.parametrize("reason", ["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"])
def test_apply_counters_retries_when_transaction_is_cancelled_for_a_transient_reason(reason: str) -> None:
    client = FakeDynamoClient(errors=[cancelled("None", reason, "None"), None])
    store, sleep = make_store(client)

    store.apply_counters("batch-1", counters())

    assert len(client.transactions) == 2
    assert client.items[("G#1#D#2026-03-07#1", "TOTAL")]["messages"] == 2
    assert sleep.waits == [0.05]


def test_apply_counters_retries_when_dynamodb_reports_a_transaction_conflict() -> None:
    client = FakeDynamoClient(errors=[client_error("TransactionConflictException", "TransactWriteItems"), None])
    store, _ = make_store(client)

    store.apply_counters("batch-1", counters())

    assert len(client.transactions) == 2
    assert client.items[("G#1#D#2026-03-07#0", "TOTAL")]["messages"] == 2


def test_apply_counters_raises_storage_error_when_conflicts_outlast_the_attempts() -> None:
    client = FakeDynamoClient(errors=[cancelled("None", "TransactionConflict", "None")] * 10)
    store, sleep = make_store(client, attempts=3)

    with pytest.raises(StorageError):
        store.apply_counters("batch-1", counters())

    assert len(client.transactions) == 3
    assert len(sleep.waits) == 2
    assert ("B#batch-1", "CTR#0") not in client.items


def test_apply_counters_raises_storage_error_at_once_when_an_update_is_invalid() -> None:
    client = FakeDynamoClient(errors=[cancelled("None", "ValidationError", "None")])
    store, sleep = make_store(client)

    with pytest.raises(StorageError):
        store.apply_counters("batch-1", counters())

    assert len(client.transactions) == 1
    assert sleep.waits == []


def test_apply_counters_marks_each_chunk_when_updates_need_several_transactions() -> None:
    client = FakeDynamoClient()
    store, _ = make_store(client)
    updates = counters(TRANSACTION_CHUNK + 1)

    calls = store.apply_counters("batch-1", updates)

    assert calls == 2
    assert [len(t) for t in client.transactions] == [TRANSACTION_CHUNK + 1, 2]
    assert {("B#batch-1", "CTR#0"), ("B#batch-1", "CTR#1")} <= client.items.keys()


def test_apply_counters_finishes_only_the_missing_chunk_when_a_retry_follows_a_partial_failure() -> None:
    client = FakeDynamoClient(errors=[None, client_error("ValidationException", "TransactWriteItems")])
    store, _ = make_store(client)
    updates = counters(TRANSACTION_CHUNK + 1)
    with pytest.raises(StorageError):
        store.apply_counters("batch-1", updates)

    store.apply_counters("batch-1", updates)

    assert all(client.items[(u.pk, u.sk)]["messages"] == 2 for u in updates)


# --- reads ----------------------------------------------------------------------------------------


def test_existing_keys_asks_again_when_keys_come_back_unprocessed() -> None:
    client = FakeDynamoClient()
    store, _ = make_store(client)
    store.put_items(items(150))
    client.leave = [40, 0, 0]

    found = store.existing_keys([(f"I#{i}", "V") for i in range(150)] + [("I#missing", "V")])

    assert len(found) == 150
    assert [len(keys) for keys in client.get_requests] == [100, 40, 51]


# --- Backoff --------------------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", range(10))
@pytest.mark.parametrize("rand", [0.0, 0.5, 0.999999, 1.0])
def test_backoff_delay_stays_within_the_capped_exponential_when_jittered(attempt: int, rand: float) -> None:
    backoff = Backoff(base=0.05, cap=2.0, rand=lambda: rand, sleep=Recorder())
    ceiling = min(2.0, 0.05 * 2**attempt)

    delay = backoff.delay(attempt)

    assert 0.0 <= delay <= ceiling
    assert delay == pytest.approx(rand * ceiling)


def test_backoff_wait_sleeps_for_the_delay_when_called() -> None:
    sleep = Recorder()
    backoff = Backoff(base=0.05, cap=2.0, rand=lambda: 0.5, sleep=sleep)

    backoff.wait(3)

    assert sleep.waits == [pytest.approx(0.2)]
