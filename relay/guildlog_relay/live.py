"""The live relay: one gateway session per shard, each with a bounded queue into its own pipeline.

Per shard, in `<state-dir>/shard-<id>/`: the spool (`spool/`, `rejected/`) and `checkpoint.json`.
Three tasks per shard:

- the gateway session (shard.py) reads Discord and puts events on the shard's queue (dispatches
  already in their envelope JSON, see EventQueue);
- the forwarder takes everything queued, in order, and hands it to the pipeline, which seals
  batches to the spool (so memory stays bounded during a webhook outage) and posts them;
- the status task puts a GUILDLOG_HEARTBEAT on the queue every `status_interval` seconds.

The pipeline's sender calls back with the acknowledged batches (the checkpoint, written at most
every `checkpoint_interval`) and on every event it had to give up on (a gap record).
SIGTERM/SIGINT: stop reading (close with a resumable code), forward what was queued, send what the
deadline allows (the rest stays in the spool), save the checkpoints, exit 0.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from guildlog.services.timefmt import iso, utcnow
from guildlog_relay import status
from guildlog_relay.async_pipeline import AsyncPipeline
from guildlog_relay.backoff import Backoff
from guildlog_relay.checkpoint import Checkpoint, Checkpointer, CheckpointStore, CheckpointStoreLike, PendingGap
from guildlog_relay.discovery import GatewayInfo
from guildlog_relay.events import DispatchRun, RelayEvent, Shard
from guildlog_relay.health import HealthServer
from guildlog_relay.metrics import ShardStats, ShardView, registry
from guildlog_relay.pipeline import DeliveryError, Dropped, Pipeline
from guildlog_relay.protocol import DEFAULT_INTENTS, IDENTIFY_INTERVAL_S
from guildlog_relay.ratelimit import IdentifyGate, SendLimiter
from guildlog_relay.shard import Connector, ResumeState, ShardExit, ShardSession, Tuning

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1000
DEFAULT_STATUS_INTERVAL_S = 60.0
DEFAULT_DRAIN_TIMEOUT_S = 10.0
# How long acknowledgements gather before the checkpoint is written (once for all of them). The
# acknowledged batches stay on disk until then, so a crash costs a resend, never a resume from
# behind what the webhook holds; at full speed this saves one checkpoint write per batch.
DEFAULT_CHECKPOINT_INTERVAL_S = 0.25
# Of the drain deadline, the part given to closing the websockets before forwarding starts.
_CLOSE_SHARE = 0.3
# Events the forwarder acts on after handing them over.
_FORWARD_HOOKS = frozenset({"READY", status.GAP})


@dataclass(frozen=True)
class LiveSettings:
    """How the live relay runs. Shards default to all of `shard_count`, which defaults to Discord's."""

    state_dir: Path
    shard_ids: tuple[int, ...] | None = None
    shard_count: int | None = None
    intents: int = int(DEFAULT_INTENTS)
    queue_size: int = DEFAULT_QUEUE_SIZE
    status_interval: float = DEFAULT_STATUS_INTERVAL_S
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT_S
    checkpoint_interval: float = DEFAULT_CHECKPOINT_INTERVAL_S
    health_host: str = "127.0.0.1"
    health_port: int | None = None
    reconnect_base: float = 1.0
    reconnect_cap: float = 60.0
    identify_interval: float = IDENTIFY_INTERVAL_S
    tuning: Tuning = field(default_factory=Tuning)
    # Where checkpoints live: None for `<state_dir>/shard-<id>/checkpoint.json`, or the stack's table
    # (a hosted relay, whose disk does not outlive its task).
    checkpoint_table: str | None = None
    # Take IDENTIFY turns through checkpoint_table with the other processes of the bot (shard groups).
    shared_identify: bool = False


# Exit codes: 0 stopped on a signal; 1 an unexpected error (restarting may help); 78 (sysexits'
# EX_CONFIG) Discord or the webhook refused the configuration — token, intents, shards, signing key —
# and restarting cannot help until a person fixes it (the systemd unit does not restart on it).
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CONFIG = 78


@dataclass
class RelayExit:
    code: int  # EXIT_OK, EXIT_ERROR or EXIT_CONFIG
    message: str = ""
    spooled: int = 0  # batches left in the spools


@dataclass
class _Shard:
    shard: Shard
    dir: Path
    pipeline: AsyncPipeline
    checkpointer: Checkpointer
    queue: EventQueue
    session: ShardSession
    stats: ShardStats
    limiter: SendLimiter
    events: status.StatusEvents
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)


class EventQueue:
    """The bounded FIFO between a shard's gateway session (and status task) and its forwarder.

    asyncio.Queue's contract -- `put` waits while `maxsize` events are queued, `task_done` and
    `join` -- for a queue that carries every dispatch of the shard, so: the one consumer takes
    whatever is queued in one call (`get_all`), and dispatches come in as `put_dispatch`, which
    extends the DispatchRun at the end of the queue instead of adding an object per dispatch.
    Sizes count events (a run counts its dispatches).
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._items: list[RelayEvent | DispatchRun] = []
        self._size = 0  # events in _items
        self._getter: asyncio.Future[None] | None = None
        self._putters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._unfinished = 0
        self._finished = asyncio.Event()
        self._finished.set()

    def qsize(self) -> int:
        return self._size

    def empty(self) -> bool:
        return not self._size

    async def put(self, event: RelayEvent) -> None:
        """Append `event`, waiting first while the queue is full."""
        while self._size >= self.maxsize:
            await self.room()
        self._items.append(event)
        self._added()

    def put_dispatch(self, session_id: str, shard: Shard, data: bytes, t: str, seq: int, received_at: datetime) -> bool:
        """Queue a dispatch already in its envelope JSON (see DispatchEncoder): True, or False,
        queuing nothing, when the queue is full (wait with `room`, then put it again)."""
        if self._size >= self.maxsize:
            return False
        items = self._items
        run = items[-1] if items else None
        if type(run) is not DispatchRun or run.session_id != session_id or run.shard != shard:
            run = DispatchRun(session_id, shard)
            items.append(run)
        # run.add() and self._added(), inlined: this is once per dispatch.
        run.events.append(data)
        run.types.append(t)
        run.seqs.append(seq)
        run.received.append(received_at)
        self._size += 1
        if not self._unfinished:
            self._finished.clear()
        self._unfinished += 1
        getter = self._getter
        if getter is not None:
            self._getter = None
            if not getter.done():
                getter.set_result(None)
        return True

    async def room(self) -> None:
        """Return once the queue is not full."""
        while self._size >= self.maxsize:
            waiter = asyncio.get_running_loop().create_future()
            self._putters.append(waiter)
            try:
                await waiter
            except BaseException:
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    self._putters.remove(waiter)
                self._wake_putters()  # a wake-up this putter took is passed on
                raise

    def _added(self) -> None:
        self._size += 1
        if not self._unfinished:
            self._finished.clear()
        self._unfinished += 1
        getter = self._getter
        if getter is not None:
            self._getter = None
            if not getter.done():
                getter.set_result(None)

    async def get_all(self) -> tuple[list[RelayEvent | DispatchRun], int]:
        """Everything queued, oldest first, and how many events that is; waits while there is none.

        Once taken, a DispatchRun is the caller's: later dispatches go to a new run."""
        while not self._items:
            getter = self._getter = asyncio.get_running_loop().create_future()
            try:
                await getter
            finally:
                if self._getter is getter:
                    self._getter = None
        items, count = self._items, self._size
        self._items, self._size = [], 0
        self._wake_putters()
        return items, count

    def task_done(self, count: int = 1) -> None:
        """`count` events taken by `get_all` are handled."""
        if count > self._unfinished:
            raise ValueError("task_done() called more times than there were events")
        self._unfinished -= count
        if not self._unfinished:
            self._finished.set()

    async def join(self) -> None:
        """Wait until every event put has been taken and marked done."""
        await self._finished.wait()

    def _wake_putters(self) -> None:
        room = self.maxsize - self._size
        while room > 0 and self._putters:
            waiter = self._putters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                room -= 1


def shard_dir(state_dir: Path, shard_id: int) -> Path:
    return Path(state_dir) / f"shard-{shard_id}"


class LiveRelay:
    """Runs the shards of one process. `make_pipeline(shard_dir)` builds each shard's Pipeline
    (spool in that directory); `connector` opens websockets (tests pass an in-memory gateway)."""

    def __init__(
        self,
        settings: LiveSettings,
        *,
        token: str,
        gateway: GatewayInfo,
        make_pipeline: Callable[[Path], Pipeline],
        connector: Connector | None = None,
        wall_clock: Callable[[], datetime] = utcnow,
        first_pause_s: float = 1.0,
    ) -> None:
        self.settings = settings
        self._token = token
        self.gateway = gateway
        self.make_pipeline = make_pipeline
        self.connector = connector
        self.wall_clock = wall_clock
        self.first_pause_s = first_pause_s
        self.shard_count = settings.shard_count or gateway.shards
        ids = settings.shard_ids if settings.shard_ids is not None else tuple(range(self.shard_count))
        bad = [i for i in ids if not 0 <= i < self.shard_count]
        if bad or not ids:
            from guildlog.errors import ConfigurationError

            raise ConfigurationError(f"--shards must name shards between 0 and {self.shard_count - 1}")
        self.shard_ids = ids
        self.shards: list[_Shard] = []
        self.health_server: HealthServer | None = None
        self._stop = asyncio.Event()
        self._exit: RelayExit | None = None

    def __repr__(self) -> str:  # never the token
        return f"LiveRelay(shards={list(self.shard_ids)}, shard_count={self.shard_count})"

    # -- control -------------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Begin the drain (what SIGTERM and SIGINT do)."""
        self._stop.set()

    def stop_with_error(self, message: str) -> None:
        """Begin the drain, then exit with EXIT_ERROR and `message` (a process that must be replaced)."""
        self._fail(message, EXIT_ERROR)

    @property
    def stopping(self) -> bool:
        """Whether the drain has begun (asked for, or after a fatal error)."""
        return self._stop.is_set()

    def _fail(self, message: str, code: int = EXIT_ERROR) -> None:
        if self._exit is None:
            self._exit = RelayExit(code, message)
        self._stop.set()

    def health(self) -> tuple[bool, dict[str, Any]]:
        shards = {
            str(s.shard[0]): {"connected": s.stats.connected, "seq": s.stats.seq, "spool": len(s.pipeline.core.spool)}
            for s in self.shards
        }
        ready = bool(self.shards) and all(s.stats.connected for s in self.shards) and not self._stop.is_set()
        return ready, {"shards": shards}

    def shard_views(self) -> list[ShardView]:
        """What a scrape of /metrics reads, one view per shard."""
        return [
            ShardView(
                shard_id=s.shard[0],
                stats=s.stats,
                pipeline=s.pipeline.core.stats,
                spool_batches=len(s.pipeline.core.spool),
                queue_depth=s.queue.qsize(),
                checkpoint_seq=s.checkpointer.state.seq,
                limiter_waits=s.limiter.waits,
                held_events=len(s.pipeline.core.batcher),
            )
            for s in self.shards
        ]

    # -- running -------------------------------------------------------------------------------

    async def run(self, *, handle_signals: bool = True) -> RelayExit:
        """Run until stopped or a fatal error; returns how it ended (after the drain)."""
        if handle_signals:
            self._install_signals()
        shared = None
        if self.settings.shared_identify and self.settings.checkpoint_table:
            from guildlog_relay.identify_slots import TableIdentifySlots

            shared = TableIdentifySlots(self.settings.checkpoint_table, self.settings.identify_interval).wait_turn
        gate = IdentifyGate(
            self.gateway.max_concurrency,
            interval=self.settings.identify_interval,
            remaining=self.gateway.remaining,
            reset_after=self.gateway.reset_after_s,
            shared=shared,
        )
        for shard_id in self.shard_ids:
            self.shards.append(await self._build((shard_id, self.shard_count), gate))
        if self.settings.health_port is not None:
            self.health_server = HealthServer(
                self.settings.health_host,
                self.settings.health_port,
                health=self.health,
                registry=registry(self.shard_views),
            )
            await self.health_server.start()
        log.info(
            "relay started",
            extra={
                "shards": ",".join(str(i) for i in self.shard_ids),
                "shard_count": self.shard_count,
                "intents": self.settings.intents,
                "health_port": self.health_server.port if self.health_server else None,
            },
        )
        sessions: dict[asyncio.Task[ShardExit], _Shard] = {}
        for s in self.shards:
            s.pipeline.start()
            s.tasks.append(asyncio.create_task(self._forward(s), name=f"forward-{s.shard[0]}"))
            s.tasks.append(asyncio.create_task(self._status(s), name=f"status-{s.shard[0]}"))
            sessions[asyncio.create_task(s.session.run(), name=f"gateway-{s.shard[0]}")] = s
        stopper = asyncio.create_task(self._stop.wait())
        pending: set[asyncio.Task[Any]] = {stopper, *sessions}
        while not self._stop.is_set():
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task in sessions:
                    self._session_ended(sessions[task], task)
        stopper.cancel()
        return await self._drain(sessions)

    def _session_ended(self, s: _Shard, task: asyncio.Task[ShardExit]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error("gateway session crashed", extra={"shard": s.shard[0], "error": repr(error)[:200]})
            self._fail(f"shard {s.shard[0]}: the gateway session stopped unexpectedly: {error!r}"[:400])
            return
        result = task.result()
        if result.fatal:
            self._fail(
                f"shard {s.shard[0]}: Discord closed the connection with {result.code}: {result.message}",
                EXIT_CONFIG,
            )

    def _checkpoint_store(self, folder: Path, shard_id: int) -> CheckpointStoreLike:
        if self.settings.checkpoint_table:
            from guildlog_relay.table_checkpoint import TableCheckpointStore

            return TableCheckpointStore(self.settings.checkpoint_table, shard_id)
        return CheckpointStore(folder)

    async def _build(self, shard: Shard, gate: IdentifyGate) -> _Shard:
        folder = shard_dir(self.settings.state_dir, shard[0])
        pipeline = await asyncio.to_thread(self.make_pipeline, folder)
        store = self._checkpoint_store(folder, shard[0])
        saved = await asyncio.to_thread(store.load)
        resume, initial, earlier_gap = resume_state(shard, saved, pipeline, iso(self.wall_clock()))
        checkpointer = Checkpointer(store, shard, initial, clock=self.wall_clock)
        if initial is not saved:
            await checkpointer.save()
        stats = ShardStats()
        limiter = SendLimiter()
        queue = EventQueue(self.settings.queue_size)
        events = status.StatusEvents(shard)
        session = ShardSession(
            shard,
            token=self._token,
            intents=self.settings.intents,
            gateway=self.gateway.url,
            connector=self.connector or _default_connector(),
            emit=queue.put,
            dispatches=queue,
            on_lost=checkpointer.session_lost,
            on_contact=checkpointer.contact,
            limiter=limiter,
            identify_gate=gate,
            backoff=Backoff(self.settings.reconnect_base, self.settings.reconnect_cap),
            resume=resume,
            tuning=self.settings.tuning,
            stats=stats,
            wall_clock=self.wall_clock,
        )
        s = _Shard(
            shard=shard,
            dir=folder,
            pipeline=AsyncPipeline(
                pipeline, first_pause_s=self.first_pause_s, ack_interval=self.settings.checkpoint_interval
            ),
            checkpointer=checkpointer,
            queue=queue,
            session=session,
            stats=stats,
            limiter=limiter,
            events=events,
        )
        s.pipeline.on_ack = checkpointer.on_ack
        s.pipeline.on_dropped = lambda dropped: self._dropped(s, dropped)
        if earlier_gap is not None:
            stats.gaps[earlier_gap.reason] += 1
            await queue.put(events.gap(earlier_gap, self.wall_clock()))
        if resume.session_id:
            log.info(
                "saved session found; will resume",
                extra={"shard": shard[0], "session_id": resume.session_id, "seq": resume.seq},
            )
        return s

    async def _forward(self, s: _Shard) -> None:
        """Queue → pipeline, in order, whatever the queue holds at a time. READY moves the
        checkpoint to the new session; a gap event is flushed to disk before the checkpoint lets
        go of it. Both happen after the events before them were handed over."""
        queue = s.queue
        while True:
            chunk, count = await queue.get_all()
            try:
                start = 0
                for i, item in enumerate(chunk):
                    if type(item) is RelayEvent and item.t in _FORWARD_HOOKS:
                        await s.pipeline.submit_many(chunk[start : i + 1])
                        start = i + 1
                        await self._after(s, item)
                await s.pipeline.submit_many(chunk[start:] if start else chunk)
            except DeliveryError as exc:
                self._fail(exc.message, EXIT_CONFIG)
                return
            finally:
                queue.task_done(count)

    async def _after(self, s: _Shard, event: RelayEvent) -> None:
        if event.source == "gateway" and event.t == "READY" and event.session_id:
            url = event.d.get("resume_gateway_url") if isinstance(event.d, dict) else None
            await s.checkpointer.on_ready(event.session_id, url if isinstance(url, str) else None)
        elif event.source == "relay" and event.t == status.GAP:
            gap = s.checkpointer.state.gap
            if gap is not None and s.events.gap_id(gap) == event.id:
                await s.pipeline.flush()
                await s.checkpointer.gap_recorded(gap)

    async def _status(self, s: _Shard) -> None:
        interval = self.settings.status_interval
        if interval <= 0:
            return
        while True:
            await asyncio.sleep(interval)
            facts = {
                "session_id": s.stats.session_id if s.stats.connected else s.session.session_id,
                "seq": s.stats.seq,
                "connected": s.stats.connected,
                "latency_ms": round(s.stats.heartbeat_latency_s * 1000, 1)
                if s.stats.heartbeat_latency_s is not None
                else None,
                "checkpoint_seq": s.checkpointer.state.seq,
                "spool": len(s.pipeline.core.spool),
            }
            await s.queue.put(s.events.heartbeat(self.wall_clock(), facts))

    async def _dropped(self, s: _Shard, dropped: Dropped) -> None:
        s.stats.gaps[dropped.reason] += 1
        log.error(
            "events kept in rejected/ and recorded as a gap",
            extra={"shard": s.shard[0], "batch_id": dropped.batch_id, "reason": dropped.reason},
        )
        await s.queue.put(s.events.dropped(dropped, self.wall_clock()))

    async def _drain(self, sessions: dict[asyncio.Task[ShardExit], _Shard]) -> RelayExit:
        deadline = time.monotonic() + self.settings.drain_timeout
        log.info(
            "stopping: closing gateway connections, then draining", extra={"deadline_s": self.settings.drain_timeout}
        )
        for s in self.shards:
            s.session.stop()
        running = [t for t in sessions if not t.done()]
        if running:
            _, late = await asyncio.wait(running, timeout=max(0.1, self.settings.drain_timeout * _CLOSE_SHARE))
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        for s in self.shards:
            for task in s.tasks[1:]:  # the status task: no new heartbeats
                task.cancel()
        forwarders = [s.tasks[0] for s in self.shards if s.tasks]
        joins = [asyncio.create_task(s.queue.join()) for s in self.shards if s.tasks and not s.tasks[0].done()]
        if joins:
            await asyncio.wait(joins, timeout=max(0.1, deadline - time.monotonic()))
        for task in [*joins, *forwarders]:
            task.cancel()
        await asyncio.gather(*forwarders, *[t for s in self.shards for t in s.tasks[1:]], return_exceptions=True)

        async def close(s: _Shard) -> int:
            try:
                return await s.pipeline.close(timeout=max(0.0, deadline - time.monotonic()))
            except DeliveryError as exc:
                self._fail(exc.message, EXIT_CONFIG)
                return len(s.pipeline.core.spool)

        left = await asyncio.gather(*(close(s) for s in self.shards))
        for s in self.shards:
            with contextlib.suppress(OSError):
                await s.checkpointer.save()
        if self.health_server is not None:
            await self.health_server.stop()
        result = self._exit or RelayExit(EXIT_OK)
        result.spooled = sum(left)
        log.info("stopped", extra={"spooled_batches": result.spooled, "code": result.code})
        return result

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)


def _held_gap(gap: PendingGap, shard: Shard, pipeline: Pipeline) -> PendingGap:
    """A gap found in the checkpoint at start, its first missing seq checked against the disk.

    The gap says everything up to `last_seq` is held, which was true in memory when the session
    was lost; a crash before the gap was reported can have taken the last of those events with it.
    What is really held is what the webhook acknowledged or the spool has.
    """
    if gap.acked_seq is None:
        return gap  # nothing known to check against: keep what it says
    held, since = gap.acked_seq, gap.acked_at
    newest = pipeline.spool.newest_of_session(gap.session_id, shard)
    if newest is not None and newest.last_seq is not None and newest.last_seq > held:
        held, since = newest.last_seq, newest.last_received_at
    if held >= gap.last_seq:
        return gap
    log.warning(
        "events of a lost session did not reach the disk before a crash; the gap starts earlier",
        extra={"session_id": gap.session_id, "claimed": gap.last_seq, "held": held},
    )
    return replace(gap, last_seq=held, since=since or gap.since)


def _default_connector() -> Connector:
    from guildlog_relay.websocket import connect

    return connect


def resume_state(
    shard: Shard, saved: Checkpoint | None, pipeline: Pipeline, now: str
) -> tuple[ResumeState, Checkpoint | None, PendingGap | None]:
    """Where a shard starts from its saved checkpoint and its spool: the resume state, the checkpoint
    to keep, and a gap to report at once (if any). `now` (ISO) dates a gap with no better time."""
    if saved is None:
        return ResumeState(), None, None
    if saved.gap is not None:
        checked = _held_gap(saved.gap, saved.shard, pipeline)
        if checked != saved.gap:
            saved = replace(saved, gap=checked)
    held_seq, since = saved.seq, saved.received_at or saved.last_contact
    if saved.session_id:
        newest = pipeline.spool.newest_of_session(saved.session_id, saved.shard)
        if newest is not None and newest.last_seq is not None and newest.last_seq > held_seq:
            # Already on disk, waiting for the webhook: Discord need not send it again.
            held_seq, since = newest.last_seq, newest.last_received_at or since
    if saved.shard != shard:
        # The saved session belongs to another sharding of the bot: it cannot be resumed here.
        earlier = saved.gap
        gap = None
        if saved.session_id:
            gap = PendingGap(
                session_id=saved.session_id,
                last_seq=held_seq,
                since=since or now,
                reason=status.SHARD_COUNT_CHANGED,
                detail=f"saved for shard {list(saved.shard)}, running as {list(shard)}",
            )
        if gap is None:
            gap, earlier = earlier, None
        return ResumeState(pending_gap=gap), Checkpoint(shard=shard, gap=gap), earlier
    return (
        ResumeState(
            session_id=saved.session_id,
            resume_url=saved.resume_url,
            seq=held_seq,
            since=since,
            pending_gap=saved.gap,
        ),
        saved,
        None,
    )
