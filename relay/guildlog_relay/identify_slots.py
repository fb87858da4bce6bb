"""IDENTIFY turns shared through the stack's table by every relay process of one bot (the hosted
relay's shard-group tasks): Discord allows one IDENTIFY per max_concurrency bucket
(`shard_id % max_concurrency`) every 5 seconds across all of a bot's connections, and each process's
own IdentifyGate only spaces its own.

A turn is taken with a conditional put on `RELAY#IDENTIFY#<bucket>` / `SLOT` (`next_at`, unix
seconds): it succeeds when the bucket's next turn has come, and moves it one interval on. A process
that finds the turn taken waits until `next_at` and tries again. If the table cannot be reached the
turn is taken anyway (logged): Discord then answers an IDENTIFY too many with op 9, and the shard
identifies again a few seconds later.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from guildlog.services.keys import IDENTIFY_SLOT_SK, relay_identify_pk

log = logging.getLogger(__name__)

_MIN_WAIT_S = 0.05


class TableIdentifySlots:
    """`wait_turn(bucket)` returns when this process may IDENTIFY a shard of `bucket` (an
    IdentifyGate's `shared`). `client` is a boto3 DynamoDB client, `clock` unix seconds."""

    def __init__(
        self,
        table_name: str,
        interval: float,
        *,
        holder: str = "",
        client: Any | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.table_name = table_name
        self.interval = interval
        self.holder = holder
        self.clock = clock
        self.sleep = sleep
        self._client = client
        self.waits = 0  # turns another process had taken first

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    async def wait_turn(self, bucket: int) -> None:
        if self.interval <= 0:
            return
        while True:
            now = self.clock()
            next_at = await asyncio.to_thread(self._take, bucket, now)
            if next_at is None:
                return
            self.waits += 1
            delay = max(next_at - now, _MIN_WAIT_S)
            log.info(
                "another relay process identified in this bucket; waiting for the next turn",
                extra={"bucket": bucket, "wait_s": round(delay, 2)},
            )
            await self.sleep(delay)

    def _take(self, bucket: int, now: float) -> float | None:
        """Take the bucket's turn: None when taken, else when the next turn comes."""
        key = {"PK": {"S": relay_identify_pk(bucket)}, "SK": {"S": IDENTIFY_SLOT_SK}}
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={**key, "next_at": {"N": f"{now + self.interval:.3f}"}, "by": {"S": self.holder or "-"}},
                ConditionExpression="attribute_not_exists(next_at) OR next_at <= :now",
                ExpressionAttributeValues={":now": {"N": f"{now:.3f}"}},
            )
            return None
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
            if code != "ConditionalCheckFailedException":
                log.warning(
                    "could not take the IDENTIFY turn from the table; identifying anyway", extra={"error": code}
                )
                return None
        try:
            item = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item") or {}
            return float(item["next_at"]["N"])
        except Exception:  # gone or unreadable meanwhile: try again shortly
            return now + _MIN_WAIT_S
