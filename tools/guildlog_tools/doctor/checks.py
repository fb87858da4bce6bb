"""The doctor's checks. Each reads one thing and says ✓ or ✗ with the fix; a check that cannot apply
(no bot token, nothing of that kind in the stack, the local stack) says why it was skipped.

Checks never write: they read the stack's outputs and resources, post unsigned (or, locally,
dev-signed) requests that the functions must refuse or answer, and read Discord with the bot token.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from guildlog.errors import GuildlogError
from guildlog.handlers.ingest import INGEST_PATH
from guildlog_tools import discord_permissions as perms
from guildlog_tools.doctor.target import REQUIRED_OUTPUTS, Target

OK, FAIL, WARN, SKIP = "ok", "fail", "warn", "skip"
SYMBOLS = {OK: "✓", FAIL: "✗", WARN: "!", SKIP: "–"}
QUEUE_TYPE = "AWS::SQS::Queue"
ALARM_TYPES = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")
_ALARM_KINDS = ["MetricAlarm", "CompositeAlarm"]
_DLQ_NAME = re.compile(r"dlq|dead.?letter", re.IGNORECASE)
# The relay heartbeats every minute by default (--status-interval); ten quiet minutes means it is down.
HEARTBEAT_LATE = timedelta(minutes=10)
SHARD_LOOKBACK_DAYS = 7


@dataclass(frozen=True)
class Result:
    name: str
    status: str
    detail: str
    fix: str = ""

    def lines(self) -> list[str]:
        out = [f"{SYMBOLS[self.status]} {self.name}: {self.detail}"]
        if self.fix and self.status in (FAIL, WARN):
            out.append(f"    fix: {self.fix}")
        return out


Check = Callable[[Target], Iterator[Result]]


def run_checks(target: Target, checks: list[Check] | None = None) -> list[Result]:
    """Every check's results, in order; a check that raises is reported as failed, and the rest still run."""
    results: list[Result] = []
    for check in checks or CHECKS:
        name = (check.__doc__ or check.__name__).strip().splitlines()[0].rstrip(".")
        try:
            results.extend(check(target))
        except GuildlogError as exc:
            results.append(Result(name, FAIL, exc.message, "see the message; run the doctor again once it is fixed"))
        except Exception as exc:  # a botocore or network error: one check fails, the others still run
            results.append(Result(name, FAIL, _aws_error(exc), "check the credentials and the region"))
    return results


# -- the stack


def stack_outputs(target: Target) -> Iterator[Result]:
    """Stack outputs present."""
    missing = [name for name in REQUIRED_OUTPUTS if not target.outputs.get(name)]
    if missing or not target.healthy_status:
        where = "`guildlog dev` (restart it)" if target.kind == "local" else "`guildlog setup` or `sam deploy`"
        yield Result(
            "stack outputs",
            FAIL,
            f"{target.status}" + (f"; missing {', '.join(missing)}" if missing else ""),
            f"deploy the stack again with {where}; `aws cloudformation describe-stack-events` says what failed",
        )
        return
    yield Result("stack outputs", OK, f"{target.status}, {len(REQUIRED_OUTPUTS)} outputs the clients need")


def storage(target: Target) -> Iterator[Result]:
    """The table and the archive bucket exist."""
    table, bucket = target.outputs.get("TableName"), target.outputs.get("ArchiveBucketName")
    if not table or not bucket:
        yield Result("table and bucket", SKIP, "the stack names no table or bucket")
        return
    described = target.client("dynamodb").describe_table(TableName=table)["Table"]
    target.client("s3").head_bucket(Bucket=bucket)
    yield Result("table and bucket", OK, f"{table} ({described.get('TableStatus')}), s3://{bucket}")


# -- the webhooks


def interactions_endpoint(target: Target) -> Iterator[Result]:
    """The interactions endpoint refuses an unsigned request."""
    url = target.outputs.get("InteractionsUrl")
    if not url:
        yield Result("interactions endpoint", SKIP, "no InteractionsUrl output")
        return
    status, _ = post(url, b'{"type":1}', {})
    if status != 401:
        yield Result(
            "interactions endpoint",
            FAIL,
            f"an unsigned request got {_status(status)}, not 401 ({url})",
            "Discord refuses an endpoint that accepts unsigned requests: redeploy InteractionsFunction",
        )
        return
    detail = f"401 to an unsigned request ({url})"
    if target.discord_private_key:  # the local stack: sign a PING as Discord would
        from guildlog.adapters.signatures import Signer

        body = b'{"type":1,"id":"1","application_id":"1"}'
        status, answer = post(url, body, Signer(target.discord_private_key).headers(body))
        if status != 200 or not isinstance(answer, dict) or answer.get("type") != 1:
            yield Result(
                "interactions endpoint",
                FAIL,
                f"a signed PING got {_status(status)}, not PONG",
                "the function verifies with another key than the dev file's: restart `guildlog dev`",
            )
            return
        detail += ", PONG to a signed PING"
    yield Result("interactions endpoint", OK, detail)


def gateway_endpoint(target: Target) -> Iterator[Result]:
    """The relay's endpoint refuses an unsigned batch."""
    url = target.outputs.get("GatewayEventsUrl")
    if not url:
        yield Result("relay endpoint", SKIP, "no GatewayEventsUrl output")
        return
    status, _ = post(url, b'{"v":1}', {})
    if status == 403 and target.kind == "stack":
        yield Result(
            "relay endpoint",
            FAIL,
            f"an unsigned batch got 403 from the function URL, before IngestFunction ran ({url})",
            "the URL's public invoke permissions (lambda:InvokeFunctionUrl and lambda:InvokeFunction for "
            "everyone) are missing: redeploy the stack with a current SAM CLI, which adds both",
        )
        return
    if status != 401:
        yield Result(
            "relay endpoint",
            FAIL,
            f"an unsigned batch got {_status(status)}, not 401 ({url})",
            "IngestFunction must verify every batch: redeploy the stack",
        )
        return
    yield Result("relay endpoint", OK, f"401 to an unsigned batch ({url})")


def relay_function_url(target: Target) -> Iterator[Result]:
    """The relay's endpoint is IngestFunction's public function URL."""
    if target.kind == "local":
        yield Result("relay function URL", SKIP, "the local stack serves /gateway/events on its own address")
        return
    function, url = target.outputs.get("IngestFunctionName"), target.outputs.get("GatewayEventsUrl")
    if not function or not url:
        yield Result("relay function URL", SKIP, "no IngestFunctionName or GatewayEventsUrl output")
        return
    redeploy = "redeploy the stack (`guildlog setup` or `sam deploy`): the template gives IngestFunction its URL"
    try:
        config = target.client("lambda").get_function_url_config(FunctionName=function)
    except Exception as exc:  # botocore's ResourceNotFoundException: the function has no URL
        if getattr(exc, "response", {}).get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        yield Result("relay function URL", FAIL, f"{function} has no function URL", redeploy)
        return
    if config.get("AuthType") != "NONE":
        yield Result(
            "relay function URL",
            FAIL,
            f"{function}'s URL takes AuthType {config.get('AuthType')}: the relay signs its batches, not AWS requests",
            redeploy,
        )
        return
    expected = str(config.get("FunctionUrl", "")).rstrip("/") + INGEST_PATH
    if url != expected:
        yield Result(
            "relay function URL", FAIL, f"GatewayEventsUrl is {url}, not the function URL's {expected}", redeploy
        )
        return
    yield Result("relay function URL", OK, f"{function}, AuthType NONE, {expected}")


# -- Discord


def application_endpoint(target: Target) -> Iterator[Result]:
    """The application's Interactions Endpoint URL is the stack's."""
    application = _application(target)
    if application is None:
        yield _no_discord("interactions endpoint URL", target)
        return
    wanted = target.outputs.get("InteractionsUrl", "")
    found = application.get("interactions_endpoint_url") or ""
    if found.rstrip("/") != wanted.rstrip("/"):
        yield Result(
            "interactions endpoint URL",
            FAIL,
            f"the application sends interactions to {found or 'nowhere (over the gateway)'}, not {wanted}",
            "`guildlog setup --stack NAME` sets it (or paste InteractionsUrl in the Developer Portal → General "
            "Information → Interactions Endpoint URL)",
        )
        return
    yield Result("interactions endpoint URL", OK, wanted)


def commands(target: Target) -> Iterator[Result]:
    """The registered commands equal the definitions."""
    application = _application(target)
    if application is None:
        yield _no_discord("slash commands", target)
        return
    from guildlog.services.commands.definitions import registration_payload
    from guildlog.services.commands.registration import diff_commands

    diff = diff_commands(registration_payload(), target.discord.get_commands(str(application["id"])))
    if not diff.in_sync:
        what = [f"to add: {', '.join(diff.added)}"] if diff.added else []
        what += [f"to remove: {', '.join(diff.removed)}"] if diff.removed else []
        what += [f"different: {', '.join(diff.changed)}"] if diff.changed else []
        yield Result("slash commands", FAIL, "; ".join(what), "`guildlog commands sync` (or `guildlog setup`)")
        return
    yield Result("slash commands", OK, ", ".join(f"/{name}" for name in diff.same) + " registered as defined")


def intents(target: Target) -> Iterator[Result]:
    """The privileged intents the relay needs are on."""
    application = _application(target)
    if application is None:
        yield _no_discord("privileged intents", target)
        return
    missing = perms.missing_intents(application.get("flags"))
    if missing:
        yield Result(
            "privileged intents",
            FAIL,
            f"off: {', '.join(missing)} (the relay would exit 78 after Discord's close code 4014)",
            f"{perms.INTENTS_WHERE}: enable {' and '.join(missing)}",
        )
        return
    yield Result("privileged intents", OK, ", ".join(perms.PRIVILEGED_INTENTS) + " on")


def guilds(target: Target) -> Iterator[Result]:
    """The bot is in each server with the permissions each feature needs."""
    application = _application(target)
    if application is None:
        yield _no_discord("servers", target)
        return
    bot_id = str((application.get("bot") or {}).get("id") or "")
    joined = {str(g.get("id")) for g in target.discord.get_current_user_guilds()}
    wanted = list(dict.fromkeys([*target.guilds, *sorted(joined)]))
    if not wanted:
        yield Result(
            "servers",
            FAIL,
            "the bot is in no server",
            f"invite it: {perms.invite_url(str(application['id']))}",
        )
        return
    for guild_id in wanted:
        yield from _guild(target, str(application["id"]), bot_id, guild_id, guild_id in joined)


def _guild(target: Target, application_id: str, bot_id: str, guild_id: str, joined: bool) -> Iterator[Result]:
    name = f"server {guild_id}"
    invite = perms.invite_url(application_id)
    if not joined:
        yield Result(name, FAIL, "the bot is not in this server", f"invite it: {invite}")
        return
    member = target.discord.get_guild_member(guild_id, bot_id)
    base = perms.base_permissions(guild_id, member, target.discord.get_guild_roles(guild_id))
    missing = perms.REQUIRED & ~base
    if missing:
        yield Result(
            name,
            FAIL,
            f"the bot lacks {', '.join(perms.names(missing))}",
            f"give the bot's role {', '.join(perms.names(missing))} in Server Settings → Roles, or re-invite: {invite}",
        )
    else:
        yield Result(name, OK, "in the server with " + ", ".join(perms.names(perms.REQUIRED)))
    if not base & perms.INVITES:
        yield Result(
            f"{name} invites",
            WARN,
            "without Manage Server the bot cannot read who invited whom (everything else is logged)",
            "optional: give the bot's role Manage Server",
        )
    channel_id = _log_channel(target, guild_id)
    if channel_id:
        channel = target.discord.get_channel(channel_id)
        bits = perms.channel_permissions(base, guild_id, bot_id, member, channel)
        can_post = bits & perms.VIEW_CHANNEL and (
            bits & perms.LOG_CHANNEL_MESSAGES == perms.LOG_CHANNEL_MESSAGES or bits & perms.LOG_CHANNEL_WEBHOOK
        )
        if not can_post:
            yield Result(
                f"{name} log channel {channel_id}",
                FAIL,
                "the bot cannot post there: it needs View Channel and Send Messages with Embed Links, "
                "or Manage Webhooks",
                "allow them for the bot in the channel's permissions (Edit Channel → Permissions)",
            )
        else:
            yield Result(f"{name} log channel {channel_id}", OK, "the bot can post there")


def _log_channel(target: Target, guild_id: str) -> str | None:
    table = target.outputs.get("TableName")
    if not table:
        return None
    from guildlog.adapters.hot_reader import HotReader

    config = HotReader(table, target.client("dynamodb")).get(f"G#{guild_id}", "CONFIG") or {}
    value = config.get("log_channel_id")
    return str(value) if value else None


# -- the relay, the queues, the alarms


def relay_heartbeat(target: Target, now: datetime | None = None) -> Iterator[Result]:
    """The relay's last heartbeat per shard is recent."""
    table = target.outputs.get("TableName")
    if not table:
        yield Result("relay heartbeat", SKIP, "no TableName output")
        return
    from guildlog.adapters.hot_reader import HotReader
    from guildlog.services import keys
    from guildlog.services.timefmt import iso

    now = now or datetime.now(UTC)
    reader = HotReader(table, target.client("dynamodb"))
    first = (now - timedelta(days=SHARD_LOOKBACK_DAYS - 1)).date().isoformat()
    low, high = keys.relay_index_range(first)
    days = reader.query(keys.RELAY_INDEX_PK, sk_from=low, sk_to=high, newest_first=False, limit=1000).items
    shards = sorted(
        {s for item in days if (s := keys.shard_of_index_sk(str(item.get("SK", "")))) is not None}
        # A stack's older index items: one per day, `s#<shard>` attributes.
        | {int(k[2:]) for item in days for k in item if k.startswith("s#") and k[2:].isdigit()}
    )
    if not shards:
        status = SKIP if target.kind == "local" else FAIL
        yield Result(
            "relay heartbeat",
            status,
            f"no relay has reported in the last {SHARD_LOOKBACK_DAYS} days",
            "start the relay: `guildlog relay --endpoint <GatewayEventsUrl> --signing-key-file relay.key "
            "--token-secret-arn <secret>` (`guildlog setup` prints it)",
        )
        return
    for shard in shards:
        newest = reader.query(keys.relay_pk(shard), sk_from="C#", sk_to="C$", newest_first=True, limit=1).items
        when = str(newest[0].get("occurred_at")) if newest else ""
        try:
            at = datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            at = None
        if at is None or now - at > HEARTBEAT_LATE:
            yield Result(
                f"relay shard {shard}",
                FAIL,
                f"last heard {when or 'never'} (now {iso(now)})",
                "the relay is down or cannot reach the stack: check its host, its log and `/healthz`",
            )
        else:
            yield Result(f"relay shard {shard}", OK, f"last heard {when}")


def relay_service(target: Target, now: datetime | None = None) -> Iterator[Result]:
    """The relay the stack hosts is running, and every shard group is held."""
    name = target.outputs.get("RelayServiceName")
    if not name:
        yield Result("hosted relay", SKIP, "the stack does not host the relay (RelayHosting=none)")
        return
    cluster, _, service = name.partition("/")
    found = target.client("ecs").describe_services(cluster=cluster, services=[service]).get("services") or []
    if not found:
        yield Result("hosted relay", FAIL, f"no ECS service {name}", "deploy the stack again with RelayHosting=fargate")
        return
    running, desired = int(found[0].get("runningCount") or 0), int(found[0].get("desiredCount") or 0)
    if running < desired:
        yield Result(
            "hosted relay",
            FAIL,
            f"{running} of {desired} task(s) running ({name})",
            f"the service's events say why (`aws ecs describe-services --cluster {cluster} --services {service}`); "
            f"its log is /guildlog/{target.name}/relay",
        )
        return
    yield Result("hosted relay", OK, f"{running} task(s) running ({name})")
    yield from _relay_groups(target, (now or datetime.now(UTC)).timestamp())


def _relay_groups(target: Target, now: float) -> Iterator[Result]:
    """Each shard group's lease: held, by which task, renewed how long ago."""
    table = target.outputs.get("TableName")
    if not table:
        return
    from guildlog_relay.shard_groups import ShardGroups

    reader = ShardGroups(table, 1, "guildlog doctor", client=target.client("dynamodb"))
    layout = reader.layout()
    log_group = f"/guildlog/{target.name}/relay"
    if layout is None:
        yield Result(
            "relay shard groups",
            FAIL,
            "no relay task has recorded the shard layout in the table",
            f"the tasks cannot reach the table or have not started: their log is {log_group}",
        )
        return
    wanted = target.parameters.get("RelayShardGroups")
    if wanted and wanted.isdigit() and int(wanted) != layout.groups:
        yield Result(
            "relay shard groups",
            WARN,
            f"the table's layout has {layout.groups} group(s), the stack asks for {wanted}",
            "the new tasks take over once every task of the old layout has stopped (or its lease lapsed); "
            f"their log is {log_group}",
        )
    for state in reader.lease_states(layout.groups):
        name = f"relay shard group {state.group}"
        shards = ",".join(str(s) for s in layout.shards_of(state.group))
        renewed = f"renewed {now - state.renewed_at:.0f} s ago" if state.renewed_at is not None else "never renewed"
        if state.live(layout, now):
            yield Result(name, OK, f"held by {state.holder}, {renewed} (shards {shards})")
        elif not state.holder or state.epoch != layout.epoch:
            yield Result(
                name,
                FAIL,
                f"not held: shards {shards} are not running",
                f"the service should start a task to claim it; its events and {log_group} say why it does not",
            )
        else:
            yield Result(
                name,
                FAIL,
                f"stale: the lease of {state.holder} expired {now - (state.expires_at or 0):.0f} s ago ({renewed}); "
                f"shards {shards} are not running",
                f"that task stopped renewing (stopped, or cut off from the table); {log_group} says why",
            )


def dead_letter_queues(target: Target) -> Iterator[Result]:
    """The dead-letter queues are empty."""
    queues = target.of_type(QUEUE_TYPE)
    if not queues:
        yield Result("dead-letter queues", SKIP, f"{_where(target)} has no SQS queues")
        return
    sqs = target.client("sqs")
    found = 0
    for queue in queues:
        url = queue.physical_id
        sources = sqs.list_dead_letter_source_queues(QueueUrl=url).get("queueUrls") or []
        if not (sources or _DLQ_NAME.search(queue.logical_id)):
            continue
        found += 1
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        waiting = sum(int(v) for v in attributes.values())
        if waiting:
            yield Result(
                f"dead-letter queue {queue.logical_id}",
                FAIL,
                f"{waiting} message(s) waiting ({url})",
                "read them (`aws sqs receive-message --queue-url …`), fix the cause, then redrive or delete them",
            )
        else:
            yield Result(f"dead-letter queue {queue.logical_id}", OK, "empty")
    if not found:
        yield Result("dead-letter queues", SKIP, f"{_where(target)} has no dead-letter queue")


def alarms(target: Target) -> Iterator[Result]:
    """The stack's alarms are OK."""
    if target.kind == "local":
        yield Result("alarms", SKIP, "the local stack has no CloudWatch alarms")
        return
    cloudwatch = target.client("cloudwatch")
    names = [r.physical_id for t in ALARM_TYPES for r in target.of_type(t) if r.physical_id]
    states: dict[str, tuple[str, str]] = {}

    def keep(answer: dict[str, Any]) -> None:
        for alarm in [*answer.get("MetricAlarms", []), *answer.get("CompositeAlarms", [])]:
            states[alarm["AlarmName"]] = (alarm.get("StateValue", ""), alarm.get("StateReason", ""))

    for start in range(0, len(names), 100):
        keep(cloudwatch.describe_alarms(AlarmNames=names[start : start + 100], AlarmTypes=_ALARM_KINDS))
    # CloudFormation names an alarm without AlarmName "<stack>-<logical id>-<suffix>": found by prefix too.
    for page in cloudwatch.get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=f"{target.name}-", AlarmTypes=_ALARM_KINDS
    ):
        keep(page)
    if not states and not names:
        yield Result("alarms", SKIP, f"{_where(target)} has no CloudWatch alarms")
        return
    firing = {n: s for n, s in states.items() if s[0] == "ALARM"}
    for name, (_, reason) in sorted(firing.items()):
        fix = "see the alarm in CloudWatch and its function's logs"
        yield Result(f"alarm {name}", FAIL, reason[:200] or "in ALARM", fix)
    lost = [n for n in names if n not in states]
    if lost:
        yield Result("alarms", FAIL, f"not found in CloudWatch: {', '.join(lost)}", "redeploy the stack")
    if not firing and not lost:
        quiet = sum(1 for s in states.values() if s[0] == "INSUFFICIENT_DATA")
        yield Result("alarms", OK, f"{len(states)} not in ALARM" + (f" ({quiet} without data yet)" if quiet else ""))


CHECKS: list[Check] = [
    stack_outputs,
    storage,
    interactions_endpoint,
    relay_function_url,
    gateway_endpoint,
    application_endpoint,
    commands,
    intents,
    guilds,
    relay_heartbeat,
    relay_service,
    dead_letter_queues,
    alarms,
]


# -- helpers


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 10.0) -> tuple[int, Any]:
    """POST `body`; (status, parsed JSON or None). Status 0: unreachable."""
    if not url.startswith(("https://", "http://")):
        return 0, None
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, data=body, headers={"Content-Type": "application/json", **headers}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return answer.status, _json(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _json(exc.read())
    except (urllib.error.URLError, OSError):
        return 0, None


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _status(status: int) -> str:
    return "no answer (unreachable)" if status == 0 else str(status)


def _application(target: Target) -> dict[str, Any] | None:
    if target.discord is None:
        return None
    if "application" not in target.cache:
        target.cache["application"] = target.discord.get_application()
    found: dict[str, Any] = target.cache["application"]
    return found


def _no_discord(name: str, target: Target) -> Result:
    why = (
        "the local stack has no Discord application (give --api-base and a token to check a Discord)"
        if target.kind == "local"
        else "no bot token: give --token-file, set DISCORD_TOKEN, or let the doctor read the stack's secret"
    )
    return Result(name, SKIP, why)


def _where(target: Target) -> str:
    return "the local stack" if target.kind == "local" else f"stack {target.name}"


def _aws_error(exc: Exception) -> str:
    error = getattr(exc, "response", {}).get("Error", {})
    if error:
        return f"{error.get('Code')}: {error.get('Message', '')}"[:300]
    return f"{type(exc).__name__}: {exc}"[:300]
