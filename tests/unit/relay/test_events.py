"""Events as the envelope carries them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from guildlog_relay.events import RelayEvent


def test_relay_event_splices_discords_bytes_into_the_same_json_when_raw_d_is_given() -> None:
    d = {"id": "1", "content": "caf\u00e9 \U0001f600", "nested": {"a": [1, 2.5, None, True]}}
    at = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    parsed = RelayEvent(t="MESSAGE_CREATE", d=d, received_at=at, seq=9, session_id='s"1', shard=(2, 4))
    raw = RelayEvent(
        t="MESSAGE_CREATE",
        d=None,
        raw_d=json.dumps(d).encode(),
        received_at=at,
        seq=9,
        session_id='s"1',
        shard=(2, 4),
    )

    assert json.loads(raw.to_json()) == json.loads(parsed.to_json())
    assert list(json.loads(raw.to_json())) == list(json.loads(parsed.to_json()))  # same keys, same order
    assert raw.to_json().endswith(b',"d":' + json.dumps(d).encode() + b"}")
