"""guildlog.adapters.dynamodb_store: batch writes and reads with their retries, against a small fake client."""

from __future__ import annotations

from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from guildlog.adapters.dynamodb_store import BATCH_WRITE_LIMIT, DynamoStore
from guildlog.adapters.retry import Backoff
from guildlog.errors import StorageError

TABLE = "guildlog-test"
_plain = TypeDeserializer().deserialize
_typed = TypeSerializer().serialize


def client_error(code: str, operation: str) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": "scripted"}}
    return ClientError(response, operation)  # type: ignore[arg-type]


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
        projection = RequestItems[TABLE].get("ProjectionExpression")
        wanted = projection.split(", ") if projection else None
        typed = [{k: _typed(v) for k, v in i.items() if wanted is None or k in wanted} for i in found]
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


# --- reads ----------------------------------------------------------------------------------------


def test_stored_batches_asks_again_when_keys_come_back_unprocessed() -> None:
    client = FakeDynamoClient()
    store, _ = make_store(client)
    store.put_items(items(150))
    client.leave = [40, 0, 0]

    found = store.stored_batches([(f"I#{i}", "V") for i in range(150)] + [("I#missing", "V")])

    assert len(found) == 150
    assert [len(keys) for keys in client.get_requests] == [100, 40, 51]


def test_stored_batches_names_the_batch_that_wrote_each_item_when_items_carry_one() -> None:
    client = FakeDynamoClient()
    store, _ = make_store(client)
    store.put_items([{"PK": "G#1", "SK": "E#a", "batch_id": "b1"}, {"PK": "G#1", "SK": "E#b", "batch_id": "b2"}])

    found = store.stored_batches([("G#1", "E#a"), ("G#1", "E#b"), ("G#1", "E#c")])

    assert found == {("G#1", "E#a"): "b1", ("G#1", "E#b"): "b2"}


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
