"""Sample events for `sam local invoke -e`: one folder per function under events/.

`python -m guildlog_tools.sample_events write` (re)writes the committed samples. The two webhook
samples are payload format 2.0 events (the ingest one as IngestFunction's function URL delivers it,
the interactions one as the HTTP API does) whose signature headers are placeholders,
since a signature is valid for 300 seconds only; `python -m guildlog_tools.sample_events sign FILE
--key-file KEY` prints FILE signed now with that Ed25519 private key (the relay's key for
events/ingest, the fake Discord application's for events/interactions), ready for `sam local
invoke IngestFunction -e -`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from guildlog.errors import ConfigurationError
from guildlog_tools.checkout import checkout_root
from guildlog_tools.local.apigw import build_event

PLACEHOLDER_SIGNATURE = "0" * 128
PLACEHOLDER_TIMESTAMP = "0"
# 2026-11-20T00:00:00Z: the samples' clock (the demo session's midnight).
SAMPLE_EPOCH = 1_795_132_800
GUILD, CHANNEL, USER, MESSAGE = (
    "1200000000000000001",
    "1200000000000000002",
    "1200000000000000003",
    ("1234567890123456789"),
)


def _webhook_event(path: str, body: dict[str, Any], *, function_url: bool = False) -> dict[str, Any]:
    raw = json.dumps(body, separators=(",", ":")).encode()
    domain = "lambda-url.us-east-1.on.aws" if function_url else "execute-api.us-east-1.amazonaws.com"
    host = f"abcdef1234.{domain}"
    headers = [
        ("content-type", "application/json"),
        ("host", host),
        ("x-signature-ed25519", PLACEHOLDER_SIGNATURE),
        ("x-signature-timestamp", PLACEHOLDER_TIMESTAMP),
    ]
    event = build_event(
        method="POST",
        target=path,
        headers=headers,
        body=raw,
        source_ip="203.0.113.10",
        route_key="$default" if function_url else f"POST {path}",
        now=SAMPLE_EPOCH,
    )
    event["requestContext"]["requestId"] = "sample-request"
    return event


def samples() -> dict[str, dict[str, Any]]:
    """events/<path> → the sample event."""
    message = {
        "id": MESSAGE,
        "channel_id": CHANNEL,
        "guild_id": GUILD,
        "author": {"id": USER, "username": "sample-member", "discriminator": "0", "global_name": "Sample Member"},
        "content": "hello from a sample batch",
        "timestamp": "2026-11-20T00:00:00.000000+00:00",
        "edited_timestamp": None,
        "attachments": [],
        "embeds": [],
        "mentions": [],
        "type": 0,
    }
    batch = {
        "v": 1,
        "batch_id": "sample-batch-0001",
        "relay": {"shard": [0, 1], "session_id": "sample-session"},
        "events": [
            {
                "seq": 1,
                "t": "MESSAGE_CREATE",
                "received_at": "2026-11-20T00:00:00.125Z",
                "source": "gateway",
                "d": message,
            },
            {
                "seq": 2,
                "t": "MESSAGE_DELETE",
                "received_at": "2026-11-20T00:00:05.500Z",
                "source": "gateway",
                "d": {"id": MESSAGE, "channel_id": CHANNEL, "guild_id": GUILD},
            },
        ],
    }
    return {
        "ingest/gateway-batch.json": _webhook_event("/gateway/events", batch, function_url=True),
        "interactions/ping.json": _webhook_event("/interactions", {"type": 1, "id": "1", "application_id": "1"}),
        "worker/command-logged.json": {
            "v": 1,
            "interaction": {
                "id": "1300000000000000001",
                "application_id": "1300000000000000002",
                "type": 2,
                "guild_id": GUILD,
                "channel_id": CHANNEL,
                "member": {"user": {"id": USER, "username": "sample-member"}, "permissions": "32"},
                "data": {
                    "id": "1300000000000000003",
                    "name": "logs",
                    "type": 1,
                    "options": [{"name": "status", "type": 1}],
                },
                "locale": "en-US",
                "version": 1,
            },
            "followup": False,
            "received_at": "2026-11-20T00:00:10Z",
        },
        "compact/scheduled.json": {
            "version": "0",
            "id": "00000000-0000-0000-0000-000000000000",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": "2026-11-21T03:15:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": {},
        },
    }


def write(root: Path) -> list[Path]:
    written = []
    for relative, event in samples().items():
        path = root / "events" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def sign(event: dict[str, Any], private_key_hex: str, timestamp: int | None = None) -> dict[str, Any]:
    """The event with its signature headers made now (or at `timestamp`) over its body."""
    from guildlog.adapters.signatures import Signer, raw_body

    body = raw_body(event.get("body"), bool(event.get("isBase64Encoded")))
    signed = json.loads(json.dumps(event))
    signed["headers"].update(
        {k.lower(): v for k, v in Signer(private_key_hex).headers(body, timestamp=timestamp).items()}
    )
    return signed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m guildlog_tools.sample_events", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("write", help="rewrite the samples under events/")
    signing = sub.add_parser("sign", help="print a webhook sample signed now")
    signing.add_argument("file", type=Path)
    signing.add_argument("--key-file", type=Path, required=True, help="hex Ed25519 private key (guildlog keygen)")
    args = parser.parse_args(argv)
    try:
        if args.command == "write":
            for path in write(checkout_root()):
                print(path)
            return 0
        event = json.loads(args.file.read_text(encoding="utf-8"))
        key = args.key_file.read_text(encoding="utf-8").strip()
        print(json.dumps(sign(event, key), indent=2, ensure_ascii=False))
    except (OSError, ValueError, ConfigurationError) as exc:
        print(f"sample_events: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
