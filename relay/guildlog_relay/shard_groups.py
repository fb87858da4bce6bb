"""Shard groups: several interchangeable relay processes (the hosted relay's Fargate tasks) that split
a bot's shards between them, coordinated through the stack's table (`--shard-groups N` with
`--checkpoint-table`).

No process is told which part it runs. Each one claims a free *group* with a conditional write and
runs the shards of that group:

- The layout (`RELAY#GROUPS` / `LAYOUT`: shard count, group count, epoch) is recorded once, with a
  conditional put, by the first process; every process derives the same shards from it. Group `k`
  holds the shards with `shard_id % groups == k` (so each group has shards of every identify bucket,
  and a shard count that grows adds shards to every group evenly).
- A group's lease (`RELAY#GROUP#<k>` / `LEASE`: holder, the layout's epoch, expiry) is taken when it
  is free, released, expired or of an older layout, and only while the layout is still the one the
  process read (one transaction: a check of the layout item and the put of the lease).
- The holder renews it every `ttl / 4` seconds; a renewal is conditional on holding a lease that has
  not expired, so a lease that lapsed is never revived. A renewal refused (another holder, expired) or
  failing until half the ttl is left means the lease is lost: the process stops its shards and exits
  non-zero, and a replacement claims the group.
- On SIGTERM the process drains, saves its checkpoints, then releases the lease (conditional on
  still holding it): its successor claims the group at once and resumes each shard from its
  checkpoint in the table.
- A different layout (another group count, or an explicit shard count) replaces the recorded one
  only when no lease of it is live, in one transaction that checks every one of those leases: no
  shard is ever run by two processes of two layouts. While a live lease of the old layout exists,
  the process waits (a deploy stops the old tasks first; a task killed without releasing holds its
  lease until it expires). A process that only learned a different shard count from Discord adopts
  the recorded one while others run it, so a replaced task never re-shards its siblings.

Leases compare expiry times written by different processes: their clocks must agree to well within
the ttl (Fargate's are kept by the Amazon Time Sync Service).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guildlog.errors import ConfigurationError, RelayError
from guildlog.services.keys import LAYOUT_SK, LEASE_SK, RELAY_LAYOUT_PK, relay_group_pk
from guildlog_relay.backoff import Backoff

if TYPE_CHECKING:
    from guildlog_relay.live import LiveRelay, LiveSettings, RelayExit

log = logging.getLogger(__name__)

MAX_GROUPS = 16
DEFAULT_LEASE_TTL_S = 60.0


class LeaseLost(RelayError):
    """The process no longer holds its group: another holds it, or it expired before renewal."""


@dataclass(frozen=True)
class Layout:
    shard_count: int
    groups: int
    epoch: int

    def shards_of(self, group: int) -> tuple[int, ...]:
        """The shards of `group`: every shard id with `shard_id % groups == group`."""
        return tuple(range(group, self.shard_count, self.groups))


@dataclass(frozen=True)
class Lease:
    """A group this process holds, under `layout`, until `expires_at` (unix seconds) unless renewed."""

    group: int
    holder: str
    layout: Layout
    expires_at: float

    @property
    def shards(self) -> tuple[int, ...]:
        return self.layout.shards_of(self.group)


@dataclass(frozen=True)
class LeaseState:
    """A group's lease as the table holds it (what the doctor reports)."""

    group: int
    holder: str | None
    epoch: int | None
    renewed_at: float | None
    expires_at: float | None

    def live(self, layout: Layout, now: float) -> bool:
        """Held, not expired, and of this layout."""
        return bool(self.holder) and self.epoch == layout.epoch and (self.expires_at or 0.0) > now


def holder_id(environ: dict[str, str] | None = None) -> str:
    """Who holds a lease, as the doctor shows it: GUILDLOG_RELAY_HOLDER when set, else the ECS task's
    id on Fargate (from the task metadata endpoint, so the doctor's name matches the console's), else
    host and pid; a random suffix tells two runs of one process apart."""
    env = os.environ if environ is None else environ
    where = env.get("GUILDLOG_RELAY_HOLDER") or ecs_task_id(env) or f"{socket.gethostname()}:{os.getpid()}"
    return f"{where}#{uuid.uuid4().hex[:6]}"


def ecs_task_id(environ: Mapping[str, str], timeout: float = 2.0) -> str | None:
    """`ecs:<task id>` from ECS's task metadata endpoint (v4), or None outside ECS or when it does not
    answer: a name for the doctor, never worth failing a start over."""
    base = environ.get("ECS_CONTAINER_METADATA_URI_V4")
    if not base:
        return None
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(f"{base.rstrip('/')}/task", timeout=timeout) as answer:  # noqa: S310
            arn = str(json.load(answer).get("TaskARN") or "")
    except (OSError, ValueError) as exc:
        log.warning("ECS task metadata unreadable (%s): naming the lease holder by host and pid", exc)
        return None
    task = arn.rsplit("/", 1)[-1]
    return f"ecs:{task}" if task else None


class ShardGroups:
    """The layout and the leases of one stack's relay processes. `client` is a boto3 DynamoDB client,
    `clock` the unix time in seconds (injected by the tests)."""

    def __init__(
        self,
        table_name: str,
        groups: int,
        holder: str,
        *,
        client: Any | None = None,
        clock: Callable[[], float] = time.time,
        ttl: float = DEFAULT_LEASE_TTL_S,
    ) -> None:
        if not 1 <= groups <= MAX_GROUPS:
            raise ConfigurationError(f"--shard-groups must be between 1 and {MAX_GROUPS}")
        if not ttl > 0:
            raise ValueError("ttl must be positive")
        self.table_name = table_name
        self.groups = groups
        self.holder = holder
        self.clock = clock
        self.ttl = ttl
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    # -- reading

    def layout(self) -> Layout | None:
        item = self._get(_layout_key())
        if item is None:
            return None
        try:
            return Layout(int(item["shard_count"]["N"]), int(item["groups"]["N"]), int(item["epoch"]["N"]))
        except (KeyError, ValueError) as exc:
            raise RelayError(f"the relay layout item in {self.table_name} is unreadable ({exc!r})") from None

    def lease_states(self, groups: int) -> list[LeaseState]:
        """The lease items of groups 0..groups-1 (absent ones as unheld)."""
        return [self._state(group, self._get(_lease_key(group))) for group in range(groups)]

    # -- claiming

    def try_claim(self, shard_count: int, *, explicit: bool = False) -> Lease | str:
        """One attempt to claim a free group: the lease, or why there is none to claim now.

        `shard_count` is what this process would run (Discord's recommendation, or `explicit` when
        the operator gave it). It is recorded if no layout is, and replaces a recorded layout that
        differs once no lease of that layout is live. While one is, a process with the same group
        count runs the recorded shard count (unless its own is explicit), and any other waits."""
        if shard_count < self.groups:
            shard_count = self.groups  # every group runs at least one shard
        layout = self.layout()
        wanted = (shard_count, self.groups)
        if layout is None:
            if not self._put_first_layout(Layout(shard_count, self.groups, 1)):
                return "another process recorded the layout at the same moment; reading it again"
            layout = self.layout()
            if layout is None:
                return "the layout just recorded cannot be read back yet"
        if (layout.shard_count, layout.groups) != wanted:
            live = [s for s in self.lease_states(layout.groups) if s.live(layout, self.clock())]
            adopt = layout.groups == self.groups and not explicit
            if live and adopt:
                log.info(
                    "running the recorded shard count, which other relay processes run",
                    extra={"recorded": layout.shard_count, "discord_recommends": shard_count},
                )
            elif live:
                holders = ", ".join(f"group {s.group} by {s.holder}" for s in live)
                return (
                    f"the recorded layout is {layout.groups} group(s) of {layout.shard_count} shard(s), still run "
                    f"({holders}); it is replaced by {self.groups} group(s) of {shard_count} once they stop"
                )
            else:
                replaced = self._replace_layout(layout, Layout(shard_count, self.groups, layout.epoch + 1))
                if replaced is None:
                    return "the layout changed while it was being replaced; reading it again"
                log.warning(
                    "relay layout replaced; each shard resumes from its checkpoint",
                    extra={"old": f"{layout.groups}x{layout.shard_count}", "new": f"{self.groups}x{shard_count}"},
                )
                layout = replaced
        if layout.groups != self.groups:
            return f"the recorded layout has {layout.groups} group(s), this process was started with {self.groups}"
        now = self.clock()
        states = self.lease_states(layout.groups)
        for state in states:
            if state.live(layout, now):
                continue
            lease = self._put_lease(layout, state.group, now)
            if lease is not None:
                return lease
        return f"all {layout.groups} group(s) are held: " + ", ".join(
            f"{s.group} by {s.holder}" for s in states if s.live(layout, now)
        )

    def renew(self, lease: Lease) -> Lease:
        """Extend `lease` by the ttl; LeaseLost when it is no longer this process's or has expired."""
        now = self.clock()
        expires = now + self.ttl
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=self._lease_item(lease.layout, lease.group, now, expires),
                ConditionExpression="holder = :me AND epoch = :epoch AND expires_at > :now",
                ExpressionAttributeValues={
                    ":me": {"S": self.holder},
                    ":epoch": {"N": str(lease.layout.epoch)},
                    ":now": {"N": _number(now)},
                },
            )
        except Exception as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                state = self._state(lease.group, self._get(_lease_key(lease.group)))
                who = (
                    f"held by {state.holder}"
                    if state.holder and state.holder != self.holder
                    else "expired before it was renewed"
                )
                raise LeaseLost(f"lost the lease of shard group {lease.group}: {who}") from None
            raise
        return Lease(lease.group, lease.holder, lease.layout, expires)

    def release(self, lease: Lease) -> bool:
        """Give the group up (after the drain): True, or False when it was no longer held by this process."""
        now = self.clock()
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    **_lease_key(lease.group),
                    "epoch": {"N": str(lease.layout.epoch)},
                    "released_at": {"N": _number(now)},
                    "released_by": {"S": self.holder},
                },
                ConditionExpression="holder = :me",
                ExpressionAttributeValues={":me": {"S": self.holder}},
            )
        except Exception as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # -- the writes

    def _put_first_layout(self, layout: Layout) -> bool:
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=self._layout_item(layout),
                ConditionExpression="attribute_not_exists(PK)",
            )
        except Exception as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _replace_layout(self, old: Layout, new: Layout) -> Layout | None:
        """Record `new` in place of `old` if no lease of `old` is live (checked in the same transaction)."""
        now = {"N": _number(self.clock())}
        checks = [
            {
                "ConditionCheck": {
                    "TableName": self.table_name,
                    "Key": _lease_key(group),
                    "ConditionExpression": "attribute_not_exists(holder) OR epoch <> :epoch OR expires_at <= :now",
                    "ExpressionAttributeValues": {":epoch": {"N": str(old.epoch)}, ":now": now},
                }
            }
            for group in range(old.groups)
        ]
        put = {
            "Put": {
                "TableName": self.table_name,
                "Item": self._layout_item(new),
                "ConditionExpression": "epoch = :epoch",
                "ExpressionAttributeValues": {":epoch": {"N": str(old.epoch)}},
            }
        }
        try:
            self.client.transact_write_items(TransactItems=[put, *checks])
        except Exception as exc:
            if _code(exc) in ("TransactionCanceledException", "TransactionConflictException"):
                return None
            raise
        return new

    def _put_lease(self, layout: Layout, group: int, now: float) -> Lease | None:
        expires = now + self.ttl
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": self.table_name,
                            "Key": _layout_key(),
                            "ConditionExpression": "epoch = :epoch",
                            "ExpressionAttributeValues": {":epoch": {"N": str(layout.epoch)}},
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": self._lease_item(layout, group, now, expires),
                            "ConditionExpression": "attribute_not_exists(holder) OR epoch <> :epoch "
                            "OR expires_at <= :now",
                            "ExpressionAttributeValues": {
                                ":epoch": {"N": str(layout.epoch)},
                                ":now": {"N": _number(now)},
                            },
                        }
                    },
                ]
            )
        except Exception as exc:
            if _code(exc) in ("TransactionCanceledException", "TransactionConflictException"):
                return None
            raise
        return Lease(group, self.holder, layout, expires)

    def _lease_item(self, layout: Layout, group: int, now: float, expires: float) -> dict[str, dict[str, str]]:
        return {
            **_lease_key(group),
            "holder": {"S": self.holder},
            "epoch": {"N": str(layout.epoch)},
            "shards": {"S": ",".join(str(s) for s in layout.shards_of(group))},
            "renewed_at": {"N": _number(now)},
            "expires_at": {"N": _number(expires)},
        }

    def _layout_item(self, layout: Layout) -> dict[str, dict[str, str]]:
        return {
            **_layout_key(),
            "shard_count": {"N": str(layout.shard_count)},
            "groups": {"N": str(layout.groups)},
            "epoch": {"N": str(layout.epoch)},
            "recorded_at": {"N": _number(self.clock())},
            "recorded_by": {"S": self.holder},
        }

    def _get(self, key: dict[str, dict[str, str]]) -> dict[str, Any] | None:
        try:
            answer = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True)
        except Exception as exc:
            if _code(exc) in ("ResourceNotFoundException", "AccessDeniedException", "ValidationException"):
                raise ConfigurationError(
                    f"cannot read the relay's shard groups in table {self.table_name}: {_code(exc)}"
                ) from None
            raise
        item: dict[str, Any] | None = answer.get("Item")
        return item

    @staticmethod
    def _state(group: int, item: dict[str, Any] | None) -> LeaseState:
        item = item or {}
        return LeaseState(
            group=group,
            holder=item["holder"]["S"] if "holder" in item else None,
            epoch=int(item["epoch"]["N"]) if "epoch" in item else None,
            renewed_at=float(item["renewed_at"]["N"]) if "renewed_at" in item else None,
            expires_at=float(item["expires_at"]["N"]) if "expires_at" in item else None,
        )


async def claim_group(
    groups: ShardGroups,
    shard_count: int,
    *,
    explicit: bool = False,
    backoff: Backoff | None = None,
    stopped: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], Any] = asyncio.sleep,
) -> Lease | None:
    """Claim a group, waiting with backoff (and saying why) while there is none to claim; None when
    `stopped()` became true first."""
    backoff = backoff or Backoff(1.0, 30.0)
    while not stopped():
        outcome = await asyncio.to_thread(groups.try_claim, shard_count, explicit=explicit)
        if isinstance(outcome, Lease):
            log.info(
                "claimed a shard group",
                extra={
                    "group": outcome.group,
                    "groups": outcome.layout.groups,
                    "shards": ",".join(str(s) for s in outcome.shards),
                    "shard_count": outcome.layout.shard_count,
                    "holder": outcome.holder,
                },
            )
            return outcome
        delay = backoff.next()
        log.warning("no shard group to claim; waiting", extra={"reason": outcome, "retry_in_s": round(delay, 1)})
        await sleep(delay)
    return None


async def keep_lease(
    groups: ShardGroups,
    lease: Lease,
    on_lost: Callable[[str], None],
    *,
    sleep: Callable[[float], Any] = asyncio.sleep,
) -> Lease:
    """Renew `lease` every ttl/4 until cancelled. A refused renewal, or failures until half the ttl
    is left, call `on_lost(message)` and return. Returns (or is cancelled with) the newest lease."""
    interval = groups.ttl / 4
    while True:
        await sleep(interval)
        try:
            lease = await asyncio.to_thread(groups.renew, lease)
        except LeaseLost as exc:
            on_lost(exc.message)
            return lease
        except Exception as exc:  # throttling or the network: retried while the lease is safely ahead
            left = lease.expires_at - groups.clock()
            log.warning("could not renew the shard group's lease", extra={"error": _code(exc), "left_s": round(left)})
            if left <= groups.ttl / 2:
                on_lost(
                    f"could not renew the lease of shard group {lease.group} ({_code(exc)}); stopping before it lapses"
                )
                return lease


async def run_in_group(
    groups: ShardGroups,
    settings: LiveSettings,
    recommended_shards: int,
    make_relay: Callable[[LiveSettings], LiveRelay],
    *,
    handle_signals: bool = True,
) -> RelayExit:
    """Claim a group (waiting while none is free), run its shards with `make_relay`, keep the lease
    while they run, and release it after the drain. A lost lease stops the shards: EXIT_ERROR.
    SIGTERM/SIGINT while waiting for a group end the wait (EXIT_OK)."""
    import dataclasses
    import signal

    from guildlog_relay.live import RelayExit

    stop = asyncio.Event()
    if handle_signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)

    async def wait(delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)

    explicit = settings.shard_count is not None
    lease = await claim_group(
        groups, settings.shard_count or recommended_shards, explicit=explicit, stopped=stop.is_set, sleep=wait
    )
    if lease is None:
        return RelayExit(0, "stopped while waiting for a shard group")
    relay = make_relay(
        dataclasses.replace(
            settings, shard_ids=lease.shards, shard_count=lease.layout.shard_count, shared_identify=True
        )
    )
    lost: list[str] = []

    def on_lost(message: str) -> None:
        lost.append(message)
        log.error("stopping: the shard group's lease is lost", extra={"group": lease.group, "reason": message})
        relay.stop_with_error(message)

    keeper = asyncio.create_task(keep_lease(groups, lease, on_lost), name=f"lease-{lease.group}")
    try:
        result = await relay.run(handle_signals=handle_signals)
    finally:
        keeper.cancel()
        await asyncio.gather(keeper, return_exceptions=True)
    if not lost:
        try:
            released = await asyncio.to_thread(groups.release, lease)
        except Exception as exc:  # the lease then expires by itself within the ttl
            log.warning("could not release the shard group", extra={"group": lease.group, "error": _code(exc)})
        else:
            log.info("released the shard group", extra={"group": lease.group, "released": released})
    return result


def _layout_key() -> dict[str, dict[str, str]]:
    return {"PK": {"S": RELAY_LAYOUT_PK}, "SK": {"S": LAYOUT_SK}}


def _lease_key(group: int) -> dict[str, dict[str, str]]:
    return {"PK": {"S": relay_group_pk(group)}, "SK": {"S": LEASE_SK}}


def _number(value: float) -> str:
    return f"{value:.3f}"


def _code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
