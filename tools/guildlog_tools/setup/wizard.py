"""The setup steps, in order. Each prints what it did (`✓`), or why it stopped and how to fix it (`✗`),
followed by what the earlier steps left in place, so nothing half-made goes unmentioned.

Re-running is safe: the relay key file is reused, the secret is written only when the token changed,
the stack is updated (or left alone) rather than created again, the endpoint URL and the commands
are sent only when they differ from what Discord has.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from guildlog.errors import ConfigurationError, DiscordApiError, GuildlogError, SetupError
from guildlog_tools import discord_permissions as perms
from guildlog_tools.setup.deploy import Deployed, deploy_template, deploy_with_sam

DEFAULT_SECRET_NAME = "guildlog/bot-token"  # noqa: S105 - the secret's name
DEFAULT_RELAY_KEY_SECRET_NAME = "guildlog/relay-key"  # noqa: S105 - the secret's name


@dataclass
class Options:
    stack: str
    region: str
    token: str
    relay_key_file: Path
    secret_name: str = DEFAULT_SECRET_NAME
    application_id: str | None = None  # checked against Discord's answer when given
    public_key: str | None = None
    template: Path | None = None  # a built template: CloudFormation directly; None: `sam build` + `sam deploy`
    skip_deploy: bool = False
    guild: str | None = None  # register the commands in one server (they show at once) instead of globally
    parameters: dict[str, str] = field(default_factory=dict)  # more stack parameters (RetentionDays=…)
    checkout: Path = Path()
    # The stack runs the relay on Fargate from this image (RelayHosting=fargate); None: the operator runs it.
    relay_image: str | None = None
    relay_key_secret_name: str = DEFAULT_RELAY_KEY_SECRET_NAME


@dataclass
class Report:
    """What the run did, step by step; `done` is what exists now, for the message after a failure."""

    steps: list[tuple[str, str]] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    seconds: float = 0.0
    application_id: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    invite_url: str = ""
    relay_command: str = ""


class Wizard:
    """Runs the steps against Discord (`discord`: a DiscordRest with the bot token) and AWS (`client(service)`)."""

    def __init__(
        self,
        options: Options,
        discord: Any,
        client: Callable[[str], Any],
        out: TextIO,
        *,
        sam_runner: Callable[..., Any] | None = None,
    ) -> None:
        self.options = options
        self.discord = discord
        self.client = client
        self.out = out
        self.sam_runner = sam_runner
        self.report = Report()

    def run(self) -> Report:
        started = time.monotonic()
        try:
            application = self.application()
            relay_public_key = self.relay_key()
            secret_arn = self.secret()
            relay_key_arn = self.relay_key_secret() if self.options.relay_image else None
            deployed = self.deploy(application, relay_public_key, secret_arn, relay_key_arn)
            self.endpoint(deployed.outputs)
            self.commands(str(application["id"]))
            self.intents(application)
            self.invite(str(application["id"]))
            self.relay(deployed.outputs, secret_arn)
        except SetupError as exc:
            self._say("✗", exc.step, exc.why)
            print(f"    fix: {exc.fix}", file=self.out)
            if self.report.done:
                print("already in place (kept; re-run `guildlog setup` once fixed):", file=self.out)
                for line in self.report.done:
                    print(f"    {line}", file=self.out)
            raise
        finally:
            self.report.seconds = time.monotonic() - started
        return self.report

    # -- the steps

    def application(self) -> dict[str, Any]:
        step = "Discord application"
        try:
            application: dict[str, Any] = self.discord.get_application()
        except DiscordApiError as exc:
            fix = (
                "check the bot token (Developer Portal → Bot → Reset Token)"
                if exc.fields.get("status") == 401
                else ("check the network and Discord's status, then run setup again")
            )
            raise SetupError(step, f"Discord did not accept the bot token: {exc.message}", fix) from None
        found_id, found_key = str(application.get("id") or ""), str(application.get("verify_key") or "")
        for name, given, found in (
            ("application id", self.options.application_id, found_id),
            ("public key", self.options.public_key, found_key),
        ):
            if given and given.lower() != found.lower():
                raise SetupError(
                    step,
                    f"the {name} given ({given}) is not the token's application's ({found})",
                    f"leave --{name.replace(' ', '-')} out (setup reads it from Discord), or use that application's "
                    "token",
                )
        self.report.application_id = found_id
        self._ok(step, f"{application.get('name', '?')} ({found_id}), public key read from Discord")
        return application

    def relay_key(self) -> str:
        from guildlog.adapters.signatures import Signer, generate_keypair

        step, path = "relay key", self.options.relay_key_file
        if path.exists():
            try:
                signer = Signer(path.read_text(encoding="utf-8"))
            except (OSError, GuildlogError) as exc:
                raise SetupError(
                    step,
                    f"{path} exists but holds no relay key ({getattr(exc, 'message', exc)})",
                    "move it away to make a new key, or give --relay-key-file",
                ) from None
            self._ok(step, f"kept {path}")
            return signer.public_key
        pair = generate_keypair()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(pair.private_key + "\n")
        self.report.done.append(f"the relay's private key in {path} (mode 600)")
        self._ok(step, f"made {path} (mode 600); public key {pair.public_key}")
        return pair.public_key

    def secret(self) -> str:
        return self._secret("bot token secret", self.options.secret_name, self.options.token, "token")

    def relay_key_secret(self) -> str:
        """The relay's private key, for the relay the stack hosts: from the key file into a secret."""
        key = self.options.relay_key_file.read_text(encoding="utf-8").strip()
        return self._secret("relay key secret", self.options.relay_key_secret_name, key, "relay key")

    def _secret(self, step: str, name: str, value: str, what: str) -> str:
        secrets = self.client("secretsmanager")
        try:
            try:
                arn = str(secrets.describe_secret(SecretId=name)["ARN"])
            except secrets.exceptions.ResourceNotFoundException:
                arn = str(secrets.create_secret(Name=name, SecretString=value)["ARN"])
                self.report.done.append(f"the secret {arn}")
                self._ok(step, f"created {arn}")
                return arn
            current = secrets.get_secret_value(SecretId=arn).get("SecretString")
            if current == value:
                self._ok(step, f"unchanged {arn}")
            else:
                secrets.put_secret_value(SecretId=arn, SecretString=value)
                self._ok(step, f"stored the new {what} in {arn}")
        except Exception as exc:  # botocore's errors name the secret and the refusal, never the value
            raise SetupError(step, _aws_error(exc), "check the AWS credentials' access to Secrets Manager") from None
        self.report.done.append(f"the secret {arn}")
        return arn

    def deploy(
        self,
        application: Mapping[str, Any],
        relay_public_key: str,
        secret_arn: str,
        relay_key_arn: str | None = None,
    ) -> Deployed:
        from guildlog_tools.setup.deploy import outputs

        step, options = "stack", self.options
        cloudformation = self.client("cloudformation")
        parameters = {
            "DiscordApplicationId": str(application["id"]),
            "DiscordPublicKey": str(application["verify_key"]),
            "RelayPublicKey": relay_public_key,
            "BotTokenSecretArn": secret_arn,
            **options.parameters,
        }
        if options.relay_image and relay_key_arn:
            parameters |= {
                "RelayHosting": "fargate",
                "RelayImageUri": options.relay_image,
                "RelaySigningKeySecretArn": relay_key_arn,
            }
        try:
            if options.skip_deploy:
                deployed = Deployed(options.stack, "unchanged", outputs(cloudformation, options.stack))
                what = "not deployed (--skip-deploy); its outputs read"
            elif options.template is not None:
                body = options.template.read_text(encoding="utf-8")
                deployed = deploy_template(options.stack, body, parameters, cloudformation)
                what = f"{deployed.action} with CloudFormation from {options.template}"
            else:
                kwargs = {"run": self.sam_runner} if self.sam_runner else {}
                deployed = deploy_with_sam(
                    options.stack, options.region, parameters, cloudformation, options.checkout, **kwargs
                )
                what = f"{deployed.action} with sam deploy"
        except OSError as exc:
            raise SetupError(step, f"cannot read the template: {exc.strerror or exc}", "check --template") from None
        except ConfigurationError as exc:
            raise SetupError(step, exc.message, "fix what it names, then run setup again") from None
        except Exception as exc:  # botocore: refused parameters, no access, a waiter that saw a failure
            raise SetupError(
                step,
                _aws_error(exc),
                f"`aws cloudformation describe-stack-events --stack-name {options.stack}` says which resource failed",
            ) from None
        missing = [k for k in ("InteractionsUrl", "GatewayEventsUrl") if not deployed.outputs.get(k)]
        if missing:
            raise SetupError(step, f"the stack has no {', '.join(missing)} output", "deploy this checkout's template")
        self.report.outputs = deployed.outputs
        self.report.done.append(f"the stack {options.stack} ({options.region})")
        self._ok(step, f"{options.stack} {what}")
        return deployed

    def endpoint(self, outputs: Mapping[str, str]) -> None:
        step, url = "interactions endpoint", outputs["InteractionsUrl"]
        current = (self.discord.get_application().get("interactions_endpoint_url") or "").rstrip("/")
        if current == url.rstrip("/"):
            self._ok(step, f"unchanged {url}")
            return
        try:
            self.discord.patch_application({"interactions_endpoint_url": url})
        except DiscordApiError as exc:
            raise SetupError(
                step,
                f"Discord refused {url}: it sends a signed PING there and did not get PONG back ({exc.message})",
                "the stack must verify with this application's public key (re-run setup without --skip-deploy, so it "
                "deploys the key Discord gave) and the URL must be reachable from the internet; the application "
                f"still sends interactions to {current or 'the gateway'}",
            ) from None
        self.report.done.append(f"the application's interactions endpoint URL {url}")
        self._ok(step, f"set to {url} (Discord checked it with a signed PING)")

    def commands(self, application_id: str) -> None:
        from guildlog.services.commands.definitions import registration_payload
        from guildlog.services.commands.registration import diff_commands

        step, guild = "slash commands", self.options.guild
        wanted = registration_payload()
        try:
            diff = diff_commands(wanted, self.discord.get_commands(application_id, guild))
            where = f"in server {guild}" if guild else "globally (may take a while to reach every client)"
            if diff.in_sync:
                self._ok(step, f"unchanged, {len(wanted)} registered {where}")
                return
            self.discord.put_commands(application_id, wanted, guild)
        except DiscordApiError as exc:
            raise SetupError(step, exc.message, "run `guildlog commands sync` once Discord answers") from None
        self.report.done.append(f"the slash commands {where}")
        self._ok(step, f"registered {', '.join('/' + c['name'] for c in wanted)} {where}")

    def intents(self, application: Mapping[str, Any]) -> None:
        missing = perms.missing_intents(self.discord.get_application().get("flags", application.get("flags")))
        if missing:
            self._say("!", "privileged intents", f"off: {', '.join(missing)}")
            print(f"    enable them in the {perms.INTENTS_WHERE}; until then the relay exits 78", file=self.out)
            return
        self._ok("privileged intents", ", ".join(perms.PRIVILEGED_INTENTS) + " on")

    def invite(self, application_id: str) -> None:
        self.report.invite_url = perms.invite_url(application_id)
        self._ok("invite", f"add the bot to a server with exactly {', '.join(perms.names(perms.REQUIRED))}:")
        print(f"    {self.report.invite_url}", file=self.out)

    def relay(self, outputs: Mapping[str, str], secret_arn: str) -> None:
        if self.options.relay_image:
            service = outputs.get("RelayServiceName") or "(no RelayServiceName output: is the stack this checkout's?)"
            self._ok("relay", f"the stack runs it on Fargate: ECS service {service}, from {self.options.relay_image}")
            print(f"    its logs: /guildlog/{self.options.stack}/relay in CloudWatch Logs", file=self.out)
            self._doctor_hint()
            return
        command = (
            f"guildlog relay --endpoint {outputs['GatewayEventsUrl']} "
            f"--signing-key-file {self.options.relay_key_file} --token-secret-arn {secret_arn}"
        )
        self.report.relay_command = command
        self._ok("relay", "run it on an always-on host (deploy/ has a systemd unit and a container):")
        print(f"    {command}", file=self.out)
        self._doctor_hint()

    def _doctor_hint(self) -> None:
        print(f"    then `guildlog doctor --stack {self.options.stack}` checks everything end to end", file=self.out)

    # -- output

    def _ok(self, step: str, what: str) -> None:
        self._say("✓", step, what)

    def _say(self, symbol: str, step: str, what: str) -> None:
        self.report.steps.append((symbol, step))
        print(f"{symbol} {step}: {what}", file=self.out, flush=True)


def _aws_error(exc: Exception) -> str:
    error = getattr(exc, "response", {}).get("Error", {})
    if error:
        return f"{error.get('Code')}: {error.get('Message', '')}"[:400]
    return f"{type(exc).__name__}: {exc}"[:400]
