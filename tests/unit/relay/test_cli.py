"""`guildlog relay`: configuration and the errors a person reads. No network here."""

from __future__ import annotations

import json

import pytest

from guildlog.errors import ConfigurationError
from guildlog_relay import cli as relay_command
from guildlog_relay.cli import parse_shards, resolve_target
from guildlog_tools.cli import build_parser, main

ENV = (
    "GUILDLOG_ENDPOINT",
    "GUILDLOG_SIGNING_KEY_FILE",
    "GUILDLOG_SIGNING_KEY_SECRET_ARN",
    "GUILDLOG_CHECKPOINT_TABLE",
    "GUILDLOG_STATE_DIR",
    "GUILDLOG_DEV_FILE",
    "DISCORD_TOKEN",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def key_file(tmp_path, keypair):
    path = tmp_path / "relay.key"
    path.write_text(keypair.private_key + "\n")
    return path


@pytest.fixture
def dev_file(tmp_path, keypair):
    path = tmp_path / "elsewhere" / "dev.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"api_url": "http://127.0.0.1:3999/", "relay_private_key": keypair.private_key}))
    return path


def args(*argv: str):
    return build_parser().parse_args(["relay", "--replay", "r.jsonl", *argv])


def test_relay_command_exits_78_naming_every_token_source_when_live_and_no_token_is_given(capsys, monkeypatch):
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)

    assert main(["relay"]) == 78

    err = capsys.readouterr().err
    assert "no bot token" in err and "DISCORD_TOKEN" in err and "--token-file" in err and "--token-secret-arn" in err


def test_relay_command_uses_the_dev_stack_endpoint_and_key_when_no_endpoint_is_given(dev_file, keypair):
    endpoint, key, source = resolve_target(args(), {"GUILDLOG_DEV_FILE": str(dev_file)})

    assert endpoint == "http://127.0.0.1:3999/gateway/events"
    assert key == keypair.private_key and str(dev_file) in source


def test_relay_command_reads_dev_json_in_the_working_directory_when_no_override(tmp_path, dev_file):
    (tmp_path / ".guildlog").mkdir()
    dev_file.rename(tmp_path / ".guildlog" / "dev.json")

    endpoint, _, _ = resolve_target(args(), {})

    assert endpoint == "http://127.0.0.1:3999/gateway/events"


def test_relay_command_says_what_to_do_when_there_is_no_endpoint_and_no_dev_stack(tmp_path):
    with pytest.raises(ConfigurationError, match=r"no endpoint: pass --endpoint URL .* or start `guildlog dev`"):
        resolve_target(args(), {"GUILDLOG_DEV_FILE": str(tmp_path / "missing.json")})


def test_relay_command_prefers_the_flag_to_the_environment_when_both_are_set(key_file, tmp_path):
    other_key = tmp_path / "other.key"
    env = {"GUILDLOG_ENDPOINT": "https://env.example/gateway/events", "GUILDLOG_SIGNING_KEY_FILE": str(other_key)}

    endpoint, _, source = resolve_target(
        args("--endpoint", "https://flag.example/gateway/events", "--signing-key-file", str(key_file)), env
    )

    assert endpoint == "https://flag.example/gateway/events" and str(key_file) in source


def test_relay_command_uses_the_environment_when_no_flag_is_set(key_file, keypair):
    env = {"GUILDLOG_ENDPOINT": "https://env.example/gateway/events", "GUILDLOG_SIGNING_KEY_FILE": str(key_file)}

    endpoint, key, _ = resolve_target(args(), env)

    assert endpoint == "https://env.example/gateway/events" and key == keypair.private_key


def test_relay_command_requires_a_key_file_when_an_endpoint_is_given():
    with pytest.raises(ConfigurationError, match="--signing-key-file PATH .* is required with --endpoint"):
        resolve_target(args("--endpoint", "https://x.example/gateway/events"), {})


@pytest.mark.parametrize("content", ["not-a-key-but-secret-looking", "ab" * 31, "zz" * 32])
def test_relay_command_fails_without_echoing_the_file_when_the_key_file_is_bad(tmp_path, capsys, content):
    (tmp_path / "r.jsonl").write_text("")
    (tmp_path / "bad.key").write_text(content)

    code = main(["relay", "--replay", "r.jsonl", "--endpoint", "http://127.0.0.1:9/gateway/events",
                 "--signing-key-file", "bad.key"])  # fmt: skip

    err = capsys.readouterr().err
    assert code == 1
    assert "bad.key does not hold a 64-hex Ed25519 private key" in err and content not in err


def test_relay_command_says_so_when_the_key_file_is_missing(tmp_path, capsys):
    (tmp_path / "r.jsonl").write_text("")

    code = main(["relay", "--replay", "r.jsonl", "--endpoint", "http://127.0.0.1:9/gateway/events",
                 "--signing-key-file", "nope.key"])  # fmt: skip

    assert code == 1 and "nope.key: no such file" in capsys.readouterr().err


def test_relay_command_refuses_an_endpoint_when_it_is_not_http(key_file):
    with pytest.raises(ConfigurationError, match="not an http"):
        resolve_target(args("--endpoint", "file:///etc/passwd", "--signing-key-file", str(key_file)), {})


def test_relay_command_says_so_when_the_replay_file_is_missing(capsys):
    assert main(["relay", "--replay", "nothing.jsonl"]) == 1

    assert "--replay nothing.jsonl: no such file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flag",
    [["--batch-size", "0"], ["--batch-size", "10001"], ["--flush-ms", "-1"], ["--shard-groups", "0"],
     ["--shard-groups", "17"], ["--linger-ms", "-1"], ["--linger-ms", "999"]],
)  # fmt: skip
def test_relay_command_refuses_settings_when_out_of_range(tmp_path, capsys, flag):
    (tmp_path / "r.jsonl").write_text("")

    assert main(["relay", "--replay", "r.jsonl", *flag]) == 1

    assert flag[0] in capsys.readouterr().err


def test_relay_command_reports_a_broken_dev_stack_file_when_it_is_not_json(tmp_path):
    broken = tmp_path / "dev.json"
    broken.write_text("{")

    with pytest.raises(ConfigurationError, match="is not JSON; restart `guildlog dev`"):
        resolve_target(args(), {"GUILDLOG_DEV_FILE": str(broken)})


@pytest.mark.parametrize(
    ("text", "ids"), [("0-3", (0, 1, 2, 3)), ("5", (5,)), ("4,0,2", (0, 2, 4)), ("0-1, 6-7", (0, 1, 6, 7))]
)
def test_parse_shards_reads_ranges_and_lists_when_given_either(text, ids):
    assert parse_shards(text) == ids


@pytest.mark.parametrize("text", ["3-1", "a", "-2", ",", "1-b"])
def test_parse_shards_refuses_it_when_the_text_is_not_shard_ids(text):
    with pytest.raises(ConfigurationError, match="--shards"):
        parse_shards(text)


def test_relay_command_requires_a_shard_count_when_shards_are_given(capsys, monkeypatch, key_file):
    monkeypatch.setenv("DISCORD_TOKEN", "a-token-value")

    code = main(["relay", "--shards", "0-1", "--endpoint", "http://127.0.0.1:9/gateway/events",
                 "--signing-key-file", str(key_file)])  # fmt: skip

    err = capsys.readouterr().err
    assert code == 78 and "--shards needs --shard-count" in err and "a-token-value" not in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--shard-groups", "2"], "--shard-groups needs --checkpoint-table"),
        (["--shard-groups", "2", "--checkpoint-table", "t", "--shards", "0", "--shard-count", "2"],
         "--shards or --shard-groups"),
    ],
)  # fmt: skip
def test_relay_command_refuses_shard_groups_when_there_is_no_table_or_shards_are_given_too(
    capsys, monkeypatch, key_file, extra, message
):
    monkeypatch.setenv("DISCORD_TOKEN", "a-token-value")

    code = main(["relay", *extra, "--endpoint", "http://127.0.0.1:9/gateway/events",
                 "--signing-key-file", str(key_file)])  # fmt: skip

    err = capsys.readouterr().err
    assert code == 78 and message in err and "a-token-value" not in err


def test_relay_command_takes_settings_from_guildlog_variables_when_flags_are_left_out(monkeypatch, key_file):
    seen = {}
    monkeypatch.setenv("GUILDLOG_BATCH_SIZE", "77")
    monkeypatch.setenv("GUILDLOG_SHARDS", "2-3")
    monkeypatch.setenv("GUILDLOG_SHARD_COUNT", "4")
    monkeypatch.setenv("GUILDLOG_HEALTH_PORT", "9109")
    monkeypatch.setenv("GUILDLOG_DRAIN_TIMEOUT", "3.5")
    monkeypatch.setenv("GUILDLOG_SHARD_GROUPS", "3")
    monkeypatch.setattr(relay_command, "run_live", lambda a: seen.update(vars(a)) or 0)

    assert (
        main(["relay", "--batch-size", "9", "--endpoint", "http://127.0.0.1:9/x", "--signing-key-file", str(key_file)])
        == 0
    )

    assert seen["batch_size"] == 9  # the flag wins
    assert (seen["shards"], seen["shard_count"], seen["health_port"], seen["drain_timeout"]) == ("2-3", 4, 9109, 3.5)
    assert seen["status_interval"] == 60.0 and seen["queue_size"] == 1000 and seen["shard_groups"] == 3


def test_relay_command_names_the_variable_when_its_value_is_not_a_number(monkeypatch, capsys):
    monkeypatch.setenv("GUILDLOG_QUEUE_SIZE", "lots")

    assert main(["relay"]) == 1

    assert "GUILDLOG_QUEUE_SIZE='lots' is not valid" in capsys.readouterr().err


def test_relay_module_exits_2_naming_the_file_when_the_replay_file_is_missing(capsys):
    from guildlog_relay.__main__ import main as relay_main

    code = relay_main(["--replay", "missing.jsonl"])

    assert code == 2
    assert "--replay missing.jsonl: no such file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        ([], {}, (1000, 60_000)),
        (["--linger-ms", "0"], {}, (1000, 1000)),
        ([], {"GUILDLOG_LINGER_MS": "0"}, (1000, 1000)),
        ([], {"GUILDLOG_LINGER_MS": "5000"}, (1000, 5000)),
        (["--linger-ms", "2000"], {"GUILDLOG_LINGER_MS": "5000"}, (1000, 2000)),
        (["--flush-ms", "600000"], {}, (600_000, 600_000)),
    ],
)
def test_relay_command_builds_the_batcher_with_the_linger_from_flag_env_or_default(monkeypatch, argv, env, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    given = args(*argv)
    relay_command._fill_defaults(given)
    relay_command._check_numbers(given)

    batcher = relay_command._batcher(given)

    assert (round(batcher.max_age * 1000), round(batcher.linger * 1000)) == expected


def test_relay_command_says_the_linger_must_reach_the_flush_when_it_is_shorter(tmp_path, capsys, monkeypatch):
    (tmp_path / "r.jsonl").write_text("")
    monkeypatch.setenv("GUILDLOG_LINGER_MS", "500")

    assert main(["relay", "--replay", "r.jsonl"]) == 1

    assert "--linger-ms 500: must be 0 (no holding) or at least --flush-ms (1000)" in capsys.readouterr().err
