"""The relay: forwards gateway events, batched and signed, to the ingest webhook without losing any.

Sources (a replay file now, the live gateway later) hand RelayEvents to the Pipeline, which
batches them (batcher.py), writes every batch to a disk spool before sending it (spool.py) and
POSTs it with retries (poster.py). async_pipeline.py runs the same pipeline under asyncio.
"""

from guildlog_relay.async_pipeline import AsyncPipeline
from guildlog_relay.batcher import Batch, Batcher
from guildlog_relay.events import RelayEvent, relay_event
from guildlog_relay.pipeline import Ack, DeliveryError, Pipeline, RelayStats
from guildlog_relay.poster import Poster, RetryPolicy
from guildlog_relay.replay import ReplayFormatError, ReplaySource, run_replay
from guildlog_relay.spool import Spool

__all__ = [
    "Ack",
    "AsyncPipeline",
    "Batch",
    "Batcher",
    "DeliveryError",
    "Pipeline",
    "Poster",
    "RelayEvent",
    "RelayStats",
    "ReplayFormatError",
    "ReplaySource",
    "RetryPolicy",
    "Spool",
    "relay_event",
    "run_replay",
]
