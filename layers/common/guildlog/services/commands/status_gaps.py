"""`/logs status`'s gap section: the relay's gaps of the last week, open and repaired (services/gap_repair.py).

Per shard seen, one Query of its repair records (`RELAY#<shard>`, SK `R#<since>#…`, newest first). A
shard carries many servers: the messages a repair recovered are shown for this server only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from guildlog.services import keys
from guildlog.services.commands.context import Item, Ports, when
from guildlog.services.timefmt import iso

GAP_LOOKBACK_DAYS = 7
LATEST_SHOWN = 3
_QUERY_LIMIT = 200
NOT_RECOVERED_NOTE = (
    "A repair recovers the messages created in a gap; edits, deletions, reactions and member changes in it are lost."
)


def gap_lines(ports: Ports, shards: list[int], guild_id: str, now: datetime) -> list[str]:
    """The section's lines: counts of open and repaired gaps, then the latest few with their windows."""
    records: list[tuple[int, Item]] = []
    low = keys.repair_sk_at(iso(now - timedelta(days=GAP_LOOKBACK_DAYS)))
    for shard in shards:
        page = ports.reader.query(keys.relay_pk(shard), sk_from=low, sk_to=keys.REPAIR_LAST, limit=_QUERY_LIMIT)
        records.extend((shard, item) for item in page.items if item.get("kind") == "gap_repair")
    if not records:
        return []
    open_count = sum(1 for _, item in records if item.get("state") == "open")
    lines = [f"**Gaps** (last {GAP_LOOKBACK_DAYS} days): {open_count} open, {len(records) - open_count} repaired"]
    records.sort(key=lambda pair: str(pair[1].get("since")), reverse=True)
    for shard, item in records[:LATEST_SHOWN]:
        lines.append(_line(shard, item, guild_id))
    lines.append(NOT_RECOVERED_NOTE)
    return lines


def _line(shard: int, item: Item, guild_id: str) -> str:
    window = f"{when(item.get('since'), 'f')} → {when(item.get('until'), 'T')}"
    state = str(item.get("state") or "open")
    head = f"· shard {shard} {window}"
    if state == "open":
        return f"{head}: ⚠️ open (repair pending or retrying)"
    recovered = item.get("recovered_by_guild") or {}
    here = int(recovered.get(guild_id, 0)) if isinstance(recovered, dict) else 0
    return f"{head}: {state}, {here} message{'s' if here != 1 else ''} recovered here"
