"""The embedded local stack: moto's server plus template.yaml's HTTP API on loopback, in this process.

`LocalStack` starts moto (threaded, fresh state), creates the table, the archive bucket and the
queues from template.yaml's own resource definitions, keeps dev keys in dev.json, and serves every HttpApi
route and function URL of the template (on one loopback address) with the function's handler running
in-process under the environment the template gives it, resolved to local values. `guildlog dev`,
`guildlog demo` and the integration tests all use it:

    with LocalStack(dev_file=tmp / "dev.json") as stack:
        stack.gateway_events_url, stack.keys.relay_private_key, stack.client("s3")

Moto's state lives in memory: it is gone when the stack stops. Moto's backends are global to a
process, and the functions' environment is the process environment, so one stack runs per
process at a time.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from guildlog.errors import ConfigurationError
from guildlog_tools.local.apigw import ApiGatewayServer, Route, environment
from guildlog_tools.local.devfile import DevKeys, default_dev_file, load_or_create_keys, write_dev_file

if TYPE_CHECKING:
    from guildlog_tools.fakes.discord_rest import FakeDiscordRest
    from guildlog_tools.local.athena_api import LocalAthenaServer
    from guildlog_tools.local.lambda_api import LambdaInvokeServer
    from guildlog_tools.local.sqs_poller import SqsPoller

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
STACK_NAME = "guildlog-local"
BUCKET_TYPE = "AWS::S3::Bucket"
FUNCTION_TYPE = "AWS::Serverless::Function"
HTTP_API_TYPE = "AWS::Serverless::HttpApi"
SECRET_TYPE = "AWS::SecretsManager::Secret"  # noqa: S105 - a resource type, not a secret
TABLE_TYPE = "AWS::DynamoDB::Table"
QUEUE_TYPE = "AWS::SQS::Queue"
ATHENA_WORKGROUP_TYPE = "AWS::Athena::WorkGroup"
GLUE_DATABASE_TYPE = "AWS::Glue::Database"
# Moto accepts any credentials; these only keep boto3 from looking for real ones.
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# Variables that would point boto3 at a real account or profile; hidden while the stack runs.
_MASKED_AWS_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
# Template parameters the stack answers itself; other parameters take their Default.
LOCAL_BOT_TOKEN_SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:guildlog-local-bot-token-AbCdEf"
_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")

_ACTIVE = threading.Lock()


class LocalStack:
    """moto + the template's HTTP API on loopback. Use as a context manager, or `start()` / `stop()`.

    `port` and `aws_port` are 0 for free ports. `dev_file` is where the endpoints and dev keys are
    written (default: `default_dev_file()`); keys already in it are reused. What the functions
    print (Powertools' JSON log lines at `function_log_level`) goes to `function_log`, or nowhere.
    """

    def __init__(
        self,
        *,
        dev_file: Path | str | None = None,
        port: int = 0,
        aws_port: int = 0,
        host: str = "127.0.0.1",
        template_path: Path | None = None,
        function_log_level: str = "WARNING",
        function_log: TextIO | None = None,
        access_log: bool = False,
        parameters: Mapping[str, str] | None = None,
        function_environment: Mapping[str, str] | None = None,
        discord_api_base: str | None = None,
        discord_cdn_base: str | None = None,
    ) -> None:
        self.dev_file = Path(dev_file) if dev_file is not None else default_dev_file()
        self.host = host
        self.port = port
        self.aws_port = aws_port
        self.template_path = template_path
        self.function_log_level = function_log_level
        self.function_log = function_log
        self.access_log = access_log
        # Stack parameter overrides (like `sam deploy --parameter-overrides`), e.g. RetentionDays.
        self.parameters = dict(parameters or {})
        # Extra variables for every function, e.g. GUILDLOG_NOW (the demo pins the commands' clock).
        self.function_environment = dict(function_environment or {})
        # Every Discord REST call the functions make goes here instead of the built-in fake Discord
        # (explicit argument, else `discord_api_base` in dev.json, else the fake).
        self.discord_api_base = discord_api_base
        # Where attachment copies are downloaded from (default: the fake Discord's CDN; with
        # --discord-api-base and no CDN base, the template's default, Discord's own CDN).
        self.discord_cdn_base = checked_api_base(discord_cdn_base) if discord_cdn_base else None
        self._discord_api_base_from_file: str | None = None
        self.region = REGION
        self.keys: DevKeys | None = None
        self.keys_created = False
        self.table = ""
        self.bucket = ""
        # Queue logical id → URL, and the dead-letter queues by their stack output (`guildlog dlq --local`).
        self.queues: dict[str, str] = {}
        self.dead_letter_queues: dict[str, str] = {}
        self.aws_endpoint_url = ""
        self.api_url = ""
        self.routes: list[Route] = []
        # Async invokes (WorkerFunction) and Discord's side: see local/lambda_api.py and fakes/discord_rest.py.
        self.lambda_api: LambdaInvokeServer | None = None
        self.athena_api: LocalAthenaServer | None = None
        self.discord: FakeDiscordRest | None = None
        # Queue logical id → ARN; and the event source mappings that run functions from queues (SQS events).
        self.queue_arns: dict[str, str] = {}
        self.sqs_poller: SqsPoller | None = None
        self.bot_token_secret_arn = LOCAL_BOT_TOKEN_SECRET_ARN
        # The web viewer's OAuth2 client secret, and the template's generated secrets (logical id → ARN).
        self.client_secret_arn = ""
        self.generated_secrets: dict[str, str] = {}
        self._exit = ExitStack()
        self._clients: dict[str, Any] = {}

    # -- lifecycle

    def start(self) -> LocalStack:
        """Start moto and the HTTP API, create the resources, write dev.json. Raises ConfigurationError."""
        if not _ACTIVE.acquire(blocking=False):
            raise ConfigurationError("a local stack is already running in this process")
        self._exit.callback(_ACTIVE.release)
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def _start(self) -> None:
        from guildlog_tools.local.template import default_template_path, load_template

        template_path = self.template_path or default_template_path()
        template = load_template(template_path)
        self.keys, self.keys_created = load_or_create_keys(self.dev_file)
        self._discord_api_base_from_file = _dev_file_api_base(self.dev_file)
        if self.discord_api_base is None:
            self.discord_api_base = self._discord_api_base_from_file
        if self.discord_api_base is not None:
            self.discord_api_base = checked_api_base(self.discord_api_base)

        self.aws_endpoint_url = self._start_moto()
        self._exit.enter_context(environment(self._aws_environment()))
        self._exit.callback(_forget_cached_clients)
        _forget_cached_clients()

        self.table, self.bucket = self._create_resources(template)
        self.queues = self._create_queues(template)
        self._start_discord_and_lambda_api()
        self._start_athena_api()
        self._create_web_secrets(template)
        self.routes = self._routes(template, template_path.parent)
        for route in self.routes:
            route.handler()  # a broken handler file fails here, not on the first request
        assert self.lambda_api is not None
        targets = self._async_targets(template, template_path.parent)
        self.lambda_api.functions.update(targets)
        self._start_sqs_poller(template, targets)

        server = _bind(
            lambda: ApiGatewayServer(
                self.routes, self.host, self.port, access_log=self.access_log, function_log=self.function_log
            )
        )
        server.serve_in_thread()
        self._exit.callback(server.stop)
        self.api_url = server.url
        write_dev_file(self.dev_file, self.dev_info())

    def stop(self) -> None:
        """Stop the HTTP API and moto (its state is lost) and put the process environment back."""
        self._clients.clear()
        self._exit.close()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def drain(self, timeout: float = 60.0) -> bool:
        """Wait until every queue the stack's functions read is empty and no batch is running: then
        ArchiveFunction has written every accepted batch's archive objects and NotifyFunction has posted
        (True), or `timeout` seconds passed (False). A stack with no SQS events is always drained."""
        return self.sqs_poller.wait_idle(timeout) if self.sqs_poller is not None else True

    # -- what clients need

    @property
    def gateway_events_url(self) -> str:
        return f"{self.api_url}/gateway/events"

    @property
    def interactions_url(self) -> str:
        return f"{self.api_url}/interactions"

    @property
    def web_url(self) -> str:
        return f"{self.api_url}/app"

    def endpoints(self) -> list[tuple[str, str, str]]:
        """(route, URL, function logical id) of every served route; a function URL's route is marked so."""
        return [(route.label, f"{self.api_url}{route.path}", route.function_id) for route in self.routes]

    def dev_info(self) -> dict[str, Any]:
        """What dev.json holds: endpoints, resource names and the dev keys."""
        assert self.keys is not None, "start() first"
        return {
            "api_url": self.api_url,
            "gateway_events_url": self.gateway_events_url,
            "interactions_url": self.interactions_url,
            "web_url": self.web_url,
            "aws_endpoint_url": self.aws_endpoint_url,
            "region": self.region,
            "bucket": self.bucket,
            "table": self.table,
            "dead_letter_queues": dict(self.dead_letter_queues),
            "lambda_endpoint_url": self.lambda_api.url if self.lambda_api is not None else "",
            **self.keys.as_dict(),
            # Kept from the file: a setting of whoever wrote it, read again on the next start.
            **({"discord_api_base": self._discord_api_base_from_file} if self._discord_api_base_from_file else {}),
            "discord_rest_url": self.discord.api_base if self.discord is not None else self.discord_api_base,
            "pid": os.getpid(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }

    def client(self, service: str) -> Any:
        """A boto3 client for `service` on the stack's moto, cached per service."""
        if service not in self._clients:
            import boto3

            self._clients[service] = boto3.session.Session().client(
                service,
                endpoint_url=self.aws_endpoint_url,
                region_name=self.region,
                aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            )
        return self._clients[service]

    # -- internals

    def _start_moto(self) -> str:
        from guildlog_tools.local.moto_server import moto_server

        if self.aws_port:
            _require_free_port(self.host, self.aws_port)  # moto's thread would hang on a port in use
        return self._exit.enter_context(moto_server(self.host, self.aws_port))

    def _aws_environment(self) -> dict[str, str | None]:
        values: dict[str, str | None] = {
            "AWS_ENDPOINT_URL": self.aws_endpoint_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **DUMMY_CREDENTIALS,
        }
        values.update(dict.fromkeys(_MASKED_AWS_VARIABLES))
        return values

    def _create_resources(self, template: Mapping[str, Any]) -> tuple[str, str]:
        from guildlog_tools.local.template import (
            archive_bucket_id,
            resources_of_type,
            table_definition,
            ttl_attribute,
        )

        tables = resources_of_type(template, TABLE_TYPE)
        buckets = resources_of_type(template, BUCKET_TYPE)
        if len(tables) != 1:
            raise ConfigurationError("the local stack expects one table", tables=sorted(tables))
        # Only the archive is created: the access-log bucket receives S3's own deliveries, which moto has none of.
        [table_id], bucket_id = tables, archive_bucket_id(template)
        table, bucket = local_name(table_id), local_name(bucket_id)

        dynamodb = self.client("dynamodb")
        dynamodb.create_table(**{**table_definition(template, table_id), "TableName": table})
        attribute = ttl_attribute(template, table_id)
        if attribute:
            dynamodb.update_time_to_live(
                TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
            )

        s3 = self.client("s3")
        s3.create_bucket(Bucket=bucket)
        defaults = {
            name: self.parameters.get(name, parameter.get("Default"))
            for name, parameter in (template.get("Parameters") or {}).items()
            if isinstance(parameter, dict)
        }
        for operation, kwargs in bucket_configuration(buckets[bucket_id].get("Properties", {}), defaults):
            getattr(s3, operation)(Bucket=bucket, **kwargs)
        return table, bucket

    def _create_queues(self, template: Mapping[str, Any]) -> dict[str, str]:
        """Every SQS queue of the template, by logical id (URL); the dead-letter ones also by their stack output.

        FIFO queues get their `.fifo` name and attributes; dead-letter queues are made first, since a
        redrive policy names its target's ARN (moto then moves what keeps failing, as SQS does).
        """
        from guildlog_tools.local.template import dead_letter_queue_ids, resources_of_type

        sqs = self.client("sqs")
        declared = resources_of_type(template, QUEUE_TYPE)
        queues: dict[str, str] = {}
        for queue_id in sorted(declared, key=lambda q: "RedrivePolicy" in (declared[q].get("Properties") or {})):
            properties = declared[queue_id].get("Properties") or {}
            name = local_name(queue_id) + (".fifo" if properties.get("FifoQueue") else "")
            attributes = {
                key: str(properties[key]).lower() if isinstance(properties[key], bool) else str(properties[key])
                for key in (
                    "FifoQueue",
                    "ContentBasedDeduplication",
                    "DeduplicationScope",
                    "FifoThroughputLimit",
                    "VisibilityTimeout",
                    "MessageRetentionPeriod",
                )
                if isinstance(properties.get(key), (bool, int, str))
            }
            redrive = properties.get("RedrivePolicy")
            if isinstance(redrive, dict):
                target = redrive["deadLetterTargetArn"]["Fn::GetAtt"]
                target_id = target[0] if isinstance(target, list) else str(target).split(".")[0]
                attributes["RedrivePolicy"] = json.dumps(
                    {
                        "deadLetterTargetArn": self.queue_arns[target_id],
                        "maxReceiveCount": int(redrive["maxReceiveCount"]),
                    }
                )
            queues[queue_id] = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            self.queue_arns[queue_id] = f"arn:aws:sqs:{self.region}:{ACCOUNT_ID}:{name}"
        self.dead_letter_queues = {key: queues[queue_id] for key, queue_id in dead_letter_queue_ids(template).items()}
        return queues

    def _start_sqs_poller(self, template: Mapping[str, Any], targets: Mapping[str, Route]) -> None:
        """Every function's SQS events, polled in-process (local/sqs_poller.py)."""
        from guildlog_tools.local.sqs_poller import Mapping as SqsMapping
        from guildlog_tools.local.sqs_poller import SqsPoller
        from guildlog_tools.local.template import function_properties, resources_of_type

        mappings = []
        for function_id in resources_of_type(template, FUNCTION_TYPE):
            for event in (function_properties(template, function_id).get("Events") or {}).values():
                if not isinstance(event, dict) or event.get("Type") != "SQS":
                    continue
                properties = event.get("Properties") or {}
                queue = properties.get("Queue") or {}
                attribute = queue.get("Fn::GetAtt") if isinstance(queue, dict) else None
                queue_id = attribute[0] if isinstance(attribute, list) else str(attribute or "").split(".")[0]
                if queue_id not in self.queues:
                    raise ConfigurationError(f"{function_id} reads a queue the local stack did not create: {queue!r}")
                mappings.append(
                    SqsMapping(
                        self.queues[queue_id],
                        self.queue_arns[queue_id],
                        targets[function_id],
                        batch_size=int(properties.get("BatchSize", 10)),
                        report_failures="ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or []),
                    )
                )
        if not mappings:
            return
        self.sqs_poller = SqsPoller(
            lambda: self.client("sqs"), mappings, region=self.region, function_log=self.function_log
        )
        self.sqs_poller.start()
        self._exit.callback(self.sqs_poller.stop)

    def _start_discord_and_lambda_api(self) -> None:
        """The fake Discord REST API, the dev bot token secret, and Lambda's Invoke API on loopback."""
        from guildlog_tools.fakes.discord_rest import FakeDiscordRest

        self.bot_token_secret_arn = create_dev_bot_token(self.client("secretsmanager"))
        if self.discord_api_base is not None:
            self._start_lambda_api()
            return
        # Any bot token and any interaction token: the stack's are random dev values the fake cannot know.
        self.discord = FakeDiscordRest(
            self.host,
            bot_token=None,
            application_id=None,
            strict_interactions=False,
            log_stream=sys.stderr if self.access_log else None,
        )
        self.discord.serve_in_thread()
        self._exit.callback(self.discord.stop)
        self._start_lambda_api()

    def _start_lambda_api(self) -> None:
        from guildlog_tools.local.lambda_api import LambdaInvokeServer

        self.lambda_api = LambdaInvokeServer(host=self.host, function_log=self.function_log, sqs=self.client("sqs"))
        self.lambda_api.serve_in_thread()
        self._exit.callback(self.lambda_api.stop)

    def _start_athena_api(self) -> None:
        """Athena's query API on loopback, running the functions' statements on DuckDB (local/athena_api.py)."""
        from guildlog_tools.local.athena_api import LocalAthenaServer

        self.athena_api = LocalAthenaServer.on_bucket(self.aws_endpoint_url, self.bucket, self.region, self.host)
        self.athena_api.serve_in_thread()
        self._exit.callback(self.athena_api.stop)

    def _create_web_secrets(self, template: Mapping[str, Any]) -> None:
        """The OAuth2 client secret (shared with the fake Discord) and each generated secret of the template."""
        import secrets

        from guildlog_tools.local.template import resources_of_type

        secretsmanager = self.client("secretsmanager")
        assert self.keys is not None
        # With --discord-api-base, that server's OAuth endpoints get a random dev secret they must accept.
        client_secret = secrets.token_urlsafe(24)
        if self.discord is not None:
            self.discord.oauth.client_id = self.keys.application_id
            client_secret = self.discord.oauth.client_secret
        answer = secretsmanager.create_secret(Name="guildlog-local-oauth-client-secret", SecretString=client_secret)
        self.client_secret_arn = str(answer["ARN"])
        for logical_id in resources_of_type(template, SECRET_TYPE):
            created = secretsmanager.create_secret(Name=local_name(logical_id), SecretString=secrets.token_urlsafe(48))
            self.generated_secrets[logical_id] = str(created["ARN"])

    def _function_env(
        self, template: Mapping[str, Any], function_id: str, references: Mapping[str, Any]
    ) -> dict[str, str]:
        from guildlog_tools.local.template import function_environment

        declared_env = function_environment(template, function_id)
        env = {name: resolve(value, references, f"{function_id}.{name}") for name, value in declared_env.items()}
        env.update(
            {
                "AWS_ENDPOINT_URL": self.aws_endpoint_url,
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                **DUMMY_CREDENTIALS,
                # No CloudWatch or X-Ray locally; the handlers' decorators stay in place.
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": self.function_log_level,
            }
        )
        # The local poller runs ArchiveFunction as soon as its queue runs dry, not after a 5-minute window,
        # and holds nothing back: what is accepted is in the local archive once the stack has drained.
        for name in ("GUILDLOG_ARCHIVE_SETTLE_SECONDS", "GUILDLOG_ARCHIVE_HOLD_MINUTES"):
            if name in env:
                env[name] = "0"
        if self.lambda_api is not None:
            env["AWS_ENDPOINT_URL_LAMBDA"] = self.lambda_api.url  # async invokes run in this process
        if self.athena_api is not None:
            env["AWS_ENDPOINT_URL_ATHENA"] = self.athena_api.url  # archive look-ups run on DuckDB
        env.update(self.function_environment)
        return env

    def _async_targets(self, template: Mapping[str, Any], template_dir: Path) -> dict[str, Route]:
        """Every function, by its local name, for the Invoke API (the HTTP routes' environment and handler)."""
        from guildlog_tools.local.template import (
            _handler_location,
            function_properties,
            on_failure_queue_id,
            resources_of_type,
        )

        references = self._references(template)
        targets: dict[str, Route] = {}
        for function_id in resources_of_type(template, FUNCTION_TYPE):
            properties = function_properties(template, function_id)
            module_path, handler_name = _handler_location(function_id, properties)
            targets[function_id] = Route(
                method="INVOKE",
                path="(async)",
                function_id=function_id,
                handler_file=(template_dir / module_path).resolve(),
                handler_name=handler_name,
                environment=self._function_env(template, function_id, references),
                timeout_seconds=int(properties.get("Timeout", 3)),
                memory_mb=int(properties.get("MemorySize", 128)),
            )
            if self.lambda_api is not None:
                retries = (properties.get("EventInvokeConfig") or {}).get("MaximumRetryAttempts", 2)
                self.lambda_api.retries[function_id] = int(retries)
                queue_id = on_failure_queue_id(template, function_id)
                if queue_id in self.queues:
                    self.lambda_api.failure_queues[function_id] = self.queues[queue_id]
        return targets

    def _routes(self, template: Mapping[str, Any], template_dir: Path) -> list[Route]:
        from guildlog_tools.local.template import function_properties, function_url_routes, http_routes

        references = self._references(template)
        routes = []
        # Function URLs share the HTTP API's loopback address: the relay posts to {api_url}/gateway/events.
        for declared in [*http_routes(template), *function_url_routes(template)]:
            properties = function_properties(template, declared.function_id)
            env = self._function_env(template, declared.function_id, references)
            routes.append(
                Route(
                    method=declared.method,
                    path=declared.path,
                    function_id=declared.function_id,
                    handler_file=(template_dir / declared.module_path).resolve(),
                    handler_name=declared.handler_name,
                    environment=env,
                    timeout_seconds=int(properties.get("Timeout", 3)),
                    memory_mb=int(properties.get("MemorySize", 128)),
                    function_url=declared.function_url,
                )
            )
        if not routes:
            raise ConfigurationError("the template declares no HttpApi routes and no function URLs")
        return routes

    def _references(self, template: Mapping[str, Any]) -> dict[str, Any]:
        """What `Ref` and `Fn::GetAtt` mean locally, for resolving the functions' environment."""
        assert self.keys is not None
        parameters: dict[str, Any] = {
            "RelayPublicKey": self.keys.relay_public_key,
            "DiscordPublicKey": self.keys.discord_public_key,
            "DiscordApplicationId": self.keys.application_id,
            "BotTokenSecretArn": self.bot_token_secret_arn,
            # Discord is faked on loopback locally (or is the server named by --discord-api-base):
            # nothing the stack does may reach discord.com unless asked to.
            **({"DiscordApiBase": self.discord_api_base} if self.discord_api_base else {}),
            "DiscordClientSecretArn": self.client_secret_arn,
            # Discord is faked on loopback locally: nothing the stack does may reach discord.com.
            **({"DiscordApiBase": self.discord.api_base} if self.discord is not None else {}),
            # Attachment copies download from the fake's CDN (or from --discord-cdn-base).
            **({"DiscordCdnBase": self.discord.cdn_base} if self.discord is not None else {}),
            **({"DiscordCdnBase": self.discord_cdn_base} if self.discord_cdn_base else {}),
            **self.parameters,
        }
        references: dict[str, Any] = {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": STACK_NAME,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        for name, parameter in (template.get("Parameters") or {}).items():
            if name in parameters:
                references[name] = parameters[name]
            elif isinstance(parameter, dict) and "Default" in parameter:
                references[name] = parameter["Default"]
        for logical_id, resource in template["Resources"].items():
            kind = resource.get("Type") if isinstance(resource, dict) else None
            if kind == TABLE_TYPE:
                references[logical_id] = self.table
                references[f"{logical_id}.Arn"] = f"arn:aws:dynamodb:{self.region}:{ACCOUNT_ID}:table/{self.table}"
            elif kind == BUCKET_TYPE and local_name(logical_id) == self.bucket:
                references[logical_id] = self.bucket
                references[f"{logical_id}.Arn"] = f"arn:aws:s3:::{self.bucket}"
            elif kind == QUEUE_TYPE and logical_id in self.queues:
                arn = self.queue_arns[logical_id]
                references[logical_id] = self.queues[logical_id]
                references[f"{logical_id}.Arn"] = arn
                references[f"{logical_id}.QueueName"] = arn.rsplit(":", 1)[1]
            elif kind == FUNCTION_TYPE:
                # The function's name: what an async invoke of it is addressed to.
                references[logical_id] = logical_id
                references[f"{logical_id}.Arn"] = f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{logical_id}"
            elif kind == HTTP_API_TYPE:
                references[logical_id] = "local"
            elif kind in (ATHENA_WORKGROUP_TYPE, GLUE_DATABASE_TYPE):
                # Names only: the local Athena runs every statement on DuckDB's views of the bucket.
                references[logical_id] = local_name(logical_id)
            elif kind == SECRET_TYPE and logical_id in self.generated_secrets:
                references[logical_id] = self.generated_secrets[logical_id]
        return references


def checked_api_base(value: str) -> str:
    """A Discord REST base URL (http or https, with a host); ConfigurationError otherwise."""
    from urllib.parse import urlsplit

    parts = urlsplit(str(value).strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"the Discord API base must be an http(s) URL like http://127.0.0.1:8000/api/v10, not {value!r}",
            value=str(value),
        )
    return str(value).strip().rstrip("/")


def _dev_file_api_base(path: Path) -> str | None:
    """`discord_api_base` from an existing dev.json, if it names one."""
    from guildlog_tools.local.devfile import read_dev_file

    if not path.exists():
        return None
    value = read_dev_file(path).get("discord_api_base")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigurationError("`discord_api_base` in the dev file must be a URL string", path=str(path))
    return value


DEV_BOT_TOKEN_SECRET_NAME = "guildlog-local-bot-token"  # noqa: S105 - a name, not a secret


def create_dev_bot_token(secretsmanager: Any) -> str:
    """A random dev bot token in the local Secrets Manager (never a real token); returns the secret's ARN.

    The search cursors' key is derived from it, so it exists wherever the stack does.
    """
    import secrets

    value = "guildlog-dev-" + secrets.token_urlsafe(32)
    answer = secretsmanager.create_secret(Name=DEV_BOT_TOKEN_SECRET_NAME, SecretString=value)
    return str(answer["ARN"])


def local_name(logical_id: str) -> str:
    """A resource's local physical name, like CloudFormation's `<stack>-<logical id>` (lower case for S3)."""
    return f"{STACK_NAME}-{logical_id}".lower()


def resolve(value: Any, references: Mapping[str, Any], where: str) -> str:
    """A template value (literal, `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`) as the local string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, dict) and len(value) == 1:
        [(function, argument)] = value.items()
        if function == "Ref":
            return _lookup(str(argument), references, where)
        if function == "Fn::GetAtt":
            parts = argument if isinstance(argument, list) else str(argument).split(".", 1)
            return _lookup(".".join(str(p) for p in parts), references, where)
        if function == "Fn::Sub":
            text, extra = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
            scope = {**references, **{k: resolve(v, references, where) for k, v in extra.items()}}
            return _SUB_VARIABLE.sub(lambda m: _lookup(m.group(1), scope, where), text)
        if function == "Fn::Join":
            delimiter, items = argument
            return str(delimiter).join(resolve(item, references, where) for item in items)
    raise ConfigurationError(f"the local stack cannot resolve {where}: {value!r}", where=where)


def _lookup(name: str, references: Mapping[str, Any], where: str) -> str:
    if name not in references:
        raise ConfigurationError(f"the local stack has no value for {name} (in {where})", where=where, name=name)
    return resolve(references[name], references, where)


def bucket_configuration(
    properties: Mapping[str, Any], parameters: Mapping[str, Any] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """S3 API calls that give a local bucket the template's settings (CloudFormation → S3 API shapes).

    The bucket policy is left out on purpose: it denies plain HTTP, and the local endpoint is
    plain HTTP on loopback.
    """
    calls: list[tuple[str, dict[str, Any]]] = []
    if properties.get("PublicAccessBlockConfiguration"):
        calls.append(
            (
                "put_public_access_block",
                {"PublicAccessBlockConfiguration": properties["PublicAccessBlockConfiguration"]},
            )
        )
    if properties.get("OwnershipControls"):
        calls.append(("put_bucket_ownership_controls", {"OwnershipControls": properties["OwnershipControls"]}))
    encryption = (properties.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration")
    if encryption:
        rules = [{"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]} for rule in encryption]
        calls.append(("put_bucket_encryption", {"ServerSideEncryptionConfiguration": {"Rules": rules}}))
    versioning = (properties.get("VersioningConfiguration") or {}).get("Status")
    if versioning:
        calls.append(("put_bucket_versioning", {"VersioningConfiguration": {"Status": versioning}}))
    lifecycle = (properties.get("LifecycleConfiguration") or {}).get("Rules")
    if lifecycle:
        calls.append(
            (
                "put_bucket_lifecycle_configuration",
                {"LifecycleConfiguration": {"Rules": [_lifecycle_rule(r, parameters or {}) for r in lifecycle]}},
            )
        )
    return calls


def _lifecycle_rule(rule: Mapping[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {"Status": rule.get("Status", "Enabled"), "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "Id" in rule:
        converted["ID"] = rule["Id"]
    if rule.get("Transitions"):
        converted["Transitions"] = [
            {"Days": int(t["TransitionInDays"]), "StorageClass": t["StorageClass"]} for t in rule["Transitions"]
        ]
    if "ExpirationInDays" in rule:
        days = rule["ExpirationInDays"]
        # A `!Ref` to a parameter (ArchiveMaxRetentionDays) takes the stack's value, else its default.
        if isinstance(days, Mapping) and "Ref" in days:
            days = parameters[str(days["Ref"])]
        converted["Expiration"] = {"Days": int(days)}
    if "NoncurrentVersionExpiration" in rule:
        converted["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
        }
    if "AbortIncompleteMultipartUpload" in rule:
        converted["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        }
    return converted


def _forget_cached_clients() -> None:
    """Drop the handlers' cached composition roots, so they build clients for this stack's moto.

    They are lru_cached per container on purpose (a Lambda container keeps its clients); a new
    local stack is a new container, and a stopped one must not be reached through old clients.
    """
    for name, module in list(sys.modules.items()):
        if not name.startswith("guildlog.handlers") or module is None:
            continue
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)) and hasattr(value, "__wrapped__"):
                value.cache_clear()


def _require_free_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers bind: connections of a stack that just stopped (TIME_WAIT) do not hold the
        # port, only a listener does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise ConfigurationError(f"port {port} on {host} is in use", host=host, port=port) from None


def _bind(make: Callable[[], ApiGatewayServer]) -> ApiGatewayServer:
    try:
        return make()
    except OSError as exc:
        raise ConfigurationError(f"cannot listen on the HTTP API port: {exc.strerror or exc}") from None
