"""guildlog.services.exports: requests, rows from the archive, the json, csv and dce files."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from guildlog.errors import ExportError
from guildlog.models.row import ROW_FIELDS
from guildlog.services.exports import (
    MAX_EXPORT_DAYS,
    Exporter,
    ExportFile,
    ExportRequest,
    build_file,
    collect_rows,
    export_key,
)
from tests.fakes import archive_data as data
from tests.fakes.archive_stores import MemoryArchive, MemoryExports

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
DAY19, DAY20 = date(2026, 11, 19), date(2026, 11, 20)


@pytest.fixture(scope="module")
def archive() -> MemoryArchive:
    store = MemoryArchive()
    data.ingest(store, data.export_envelopes())
    return store


def request(
    fmt: str = "dce", channel: str | None = data.GENERAL, first: date = DAY19, last: date = DAY20
) -> ExportRequest:
    return ExportRequest(guild_id=data.GUILD, channel_id=channel, first=first, last=last, output_format=fmt)


def dce(archive: MemoryArchive, **kwargs: Any) -> dict[str, Any]:
    req = request("dce", **kwargs)
    return json.loads(build_file(req, collect_rows(archive, req), NOW).body)


# --- requests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"guild_id": "1"}, "guild must be a snowflake", id="guild"),
        pytest.param({"channel_id": "general"}, "channel must be a snowflake", id="channel"),
        pytest.param({"output_format": "xml"}, "format must be one of", id="format"),
        pytest.param({"output_format": "dce", "channel_id": None}, "holds one channel", id="dce-without-channel"),
        pytest.param({"first": DAY20, "last": DAY19}, "ends before it starts", id="reversed"),
        pytest.param({"first": date(2026, 10, 1), "last": date(2026, 11, 20)}, f"at most {MAX_EXPORT_DAYS}", id="long"),
    ],
)
def test_export_request_refuses_the_export_when_it_is_invalid(changes: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {
        "guild_id": data.GUILD,
        "channel_id": data.GENERAL,
        "first": DAY19,
        "last": DAY20,
    } | changes

    with pytest.raises(ExportError, match=message):
        ExportRequest(**fields)


# --- rows -------------------------------------------------------------------------------------


def test_collect_rows_reads_only_the_asked_days_when_exporting_a_range(archive: MemoryArchive) -> None:
    archive.days_read.clear()

    collect_rows(archive, request("json"))

    assert archive.days_read == [DAY19, DAY20]


def test_collect_rows_keeps_one_channel_in_time_order_when_a_channel_is_named(archive: MemoryArchive) -> None:
    rows = collect_rows(archive, request("json")).rows

    assert {r["channel_id"] or r["target_id"] for r in rows} == {data.GENERAL}
    assert [r["occurred_at"] for r in rows] == sorted(r["occurred_at"] for r in rows)
    assert data.M3 not in {r.get("message_id") for r in rows}  # #random


def test_collect_rows_keeps_the_whole_guild_when_no_channel_is_named(archive: MemoryArchive) -> None:
    rows = collect_rows(archive, request("json", channel=None)).rows

    assert {r["guild_id"] for r in rows} == {data.GUILD}
    assert data.M3 in {r.get("message_id") for r in rows}
    assert data.M7 not in {r.get("message_id") for r in rows}  # the other guild


def test_collect_rows_keeps_each_event_once_when_a_batch_was_delivered_twice() -> None:
    store = MemoryArchive()
    envelope, raw = data.envelopes()[1]
    data.ingest(store, [(envelope, raw)])
    again = envelope.model_copy(update={"batch_id": "batch-0002-again"})
    data.ingest(store, [(again, raw)])

    rows = collect_rows(store, request("json", first=DAY19, last=DAY19)).rows

    assert len(rows) == len({r["event_id"] for r in rows}) == 2  # m1 and m2 in #general


def test_collect_rows_learns_the_guild_and_channel_names_when_the_archive_has_them(archive: MemoryArchive) -> None:
    collected = collect_rows(archive, request("json"))

    assert collected.guild_name == "Fixture Guild"
    assert collected.channels[data.GENERAL]["name"] == "general"
    assert collected.channels[data.CATEGORY]["name"] == "Chat"


# --- json and csv -----------------------------------------------------------------------------


def test_json_export_holds_the_rows_as_archived_when_built(archive: MemoryArchive) -> None:
    req = request("json")
    collected = collect_rows(archive, req)

    document = json.loads(build_file(req, collected, NOW).body)

    assert (document["guild_id"], document["channel_id"], document["from"], document["to"]) == (
        data.GUILD,
        data.GENERAL,
        "2026-11-19",
        "2026-11-20",
    )
    assert document["exported_at"] == "2026-11-22T08:00:00.000Z"
    assert [e["event_id"] for e in document["events"]] == [r["event_id"] for r in collected.rows]
    assert all(list(e) == list(ROW_FIELDS) for e in document["events"])


def test_csv_export_parses_back_to_the_exact_rows_when_read_with_python_csv(archive: MemoryArchive) -> None:
    req = request("csv")
    collected = collect_rows(archive, req)

    file = build_file(req, collected, NOW)
    header, *rows = list(csv.reader(io.StringIO(file.body.decode("utf-8-sig"), newline="")))

    assert tuple(header) == ROW_FIELDS
    content = ROW_FIELDS.index("content")
    assert [r[content] for r in rows] == [r["content"] or "" for r in collected.rows]
    assert file.content_type.startswith("text/csv") and file.name.endswith(".csv")


# --- dce --------------------------------------------------------------------------------------


def test_dce_export_names_the_guild_channel_and_range_when_the_archive_knows_them(archive: MemoryArchive) -> None:
    document = dce(archive)

    assert document["guild"]["name"] == "Fixture Guild"
    assert document["channel"] == {
        "id": data.GENERAL,
        "type": "GuildTextChat",
        "categoryId": data.CATEGORY,
        "category": "Chat",
        "name": "general",
        "topic": "say hi",
    }
    assert document["dateRange"] == {
        "after": "2026-11-19T00:00:00.000+00:00",
        "before": "2026-11-21T00:00:00.000+00:00",
    }
    assert document["exportedAt"] == "2026-11-22T08:00:00.000+00:00"
    assert document["messageCount"] == len(document["messages"])


def test_dce_export_lists_the_channels_messages_by_id_when_built(archive: MemoryArchive) -> None:
    messages = dce(archive)["messages"]

    # m1 (edited, deleted), m2, m8 (the reply), m4, m5 (bulk-deleted); not m0, written on the 18th.
    assert [m["id"] for m in messages] == [data.M1, data.M2, data.M8, data.M4, data.M5]
    assert [m["timestamp"] for m in messages] == sorted(m["timestamp"] for m in messages)


def test_dce_export_shows_the_latest_text_and_keeps_earlier_ones_when_a_message_was_edited(
    archive: MemoryArchive,
) -> None:
    [m1] = [m for m in dce(archive)["messages"] if m["id"] == data.M1]

    assert m1["content"] == "hello, world!"
    assert m1["timestamp"] == "2026-11-19T22:10:00.000+00:00"
    assert m1["timestampEdited"] == "2026-11-20T00:05:00.000+00:00"
    assert m1["guildlog"] == {
        "deletedAt": "2026-11-20T00:30:00.000+00:00",
        "previousVersions": [
            {"timestamp": "2026-11-19T22:10:00.000+00:00", "content": "hello"},
            {"timestamp": "2026-11-19T23:40:00.000+00:00", "content": "hello, world"},
        ],
    }


def test_dce_export_marks_a_message_deleted_when_it_went_in_a_bulk_delete(archive: MemoryArchive) -> None:
    [m5] = [m for m in dce(archive)["messages"] if m["id"] == data.M5]

    assert m5["content"] == "spam spam"
    assert m5["guildlog"] == {"deletedAt": "2026-11-20T01:05:00.000+00:00"}


def test_dce_export_counts_the_reactions_left_when_some_were_taken_back(archive: MemoryArchive) -> None:
    [m2] = [m for m in dce(archive)["messages"] if m["id"] == data.M2]

    [thumbs] = m2["reactions"]
    assert thumbs["emoji"] == {
        "id": "",
        "name": "👍",
        "code": "👍",
        "isAnimated": False,
        "imageUrl": "https://cdn.jsdelivr.net/gh/twitter/twemoji@latest/assets/svg/1f44d.svg",
    }
    assert thumbs["count"] == 2
    assert [u["id"] for u in thumbs["users"]] == [data.ALICE, data.CAROL]
    assert "guildlog" not in m2


def test_dce_export_writes_a_reply_with_its_reference_and_mentions_when_one_was_sent(archive: MemoryArchive) -> None:
    [m8] = [m for m in dce(archive)["messages"] if m["id"] == data.M8]

    assert m8["type"] == "Reply"
    assert m8["reference"] == {
        "type": "Default",
        "messageId": data.M2,
        "channelId": data.GENERAL,
        "guildId": data.GUILD,
    }
    assert [(u["id"], u["name"]) for u in m8["mentions"]] == [(data.BOB, "Bob")]
    assert m8["author"]["name"] == m8["author"]["nickname"] == "Carol"


def test_dce_export_writes_attachments_in_dce_fields_when_a_message_has_files(archive: MemoryArchive) -> None:
    req = ExportRequest(data.GUILD, DAY19, DAY19, "dce", data.RANDOM)

    [m3] = json.loads(build_file(req, collect_rows(archive, req), NOW).body)["messages"]

    assert m3["attachments"] == [
        {"id": "700000000000000500", "url": "https://cdn.example/cat.png", "fileName": "cat.png", "fileSizeBytes": 2048}
    ]
    assert m3["content"] == "line one\nline two"


def test_dce_export_falls_back_to_ids_when_the_archive_holds_no_names() -> None:
    store = MemoryArchive()
    data.ingest(store)

    document = dce(store)

    assert document["guild"]["name"] == data.GUILD
    assert document["channel"]["name"] == data.GENERAL
    assert document["channel"]["categoryId"] is None


# --- the exporter ---------------------------------------------------------------------------


def test_exporter_stores_the_file_under_exports_and_links_to_it_when_run(archive: MemoryArchive) -> None:
    exports = MemoryExports()
    exporter = Exporter(archive, exports, clock=lambda: NOW, link_seconds=900)

    result = exporter.export(request("dce"), export_id="1234")

    assert (
        result.key == f"exports/{data.GUILD}/1234/guildlog-{data.GUILD}-{data.GENERAL}-2026-11-19_2026-11-20.dce.json"
    )
    assert exports.files[result.key] is result.file
    assert result.url == f"https://signed.example/{result.key}?expires=900"
    assert result.expires_at == datetime(2026, 11, 22, 8, 15, tzinfo=UTC)
    assert (result.file.rows, result.file.messages) == (len(collect_rows(archive, request()).rows), 5)


@pytest.mark.parametrize("seconds", [30, 13 * 3600])
def test_exporter_refuses_the_link_lifetime_when_it_is_out_of_bounds(seconds: int) -> None:
    with pytest.raises(ExportError, match="a link lasts"):
        Exporter(MemoryArchive(), MemoryExports(), link_seconds=seconds)


def test_export_key_refuses_the_id_when_it_could_leave_the_prefix(archive: MemoryArchive) -> None:
    file = ExportFile("x.json", "application/json", b"{}", 0, 0)

    with pytest.raises(ExportError, match="export id"):
        export_key(request(), "../../raw", file)


def directory_naming(guild_name: str, channel_name: str, category: str | None = None) -> Any:
    from guildlog.models.envelope import EnvelopeEvent
    from guildlog.services.directory import Directory
    from guildlog.services.normalize import normalize
    from tests.fakes.memory_directory import MemoryDirectoryStore

    store = MemoryDirectoryStore()
    channels: list[dict[str, Any]] = [{"id": data.GENERAL, "name": channel_name, "type": 0}]
    if category is not None:
        channels = [{**channels[0], "parent_id": data.CATEGORY}, {"id": data.CATEGORY, "name": category, "type": 4}]
    d = {"id": data.GUILD, "name": guild_name, "channels": channels}
    row = normalize(EnvelopeEvent(t="GUILD_CREATE", received_at=NOW, d=d), event_id="gw:s:1", batch_id="b")
    resolution = Directory(store).resolve([(row, d)], {})
    store.put_items(resolution.new_snapshots)
    return store


def test_dce_export_takes_the_names_from_the_directory_when_the_exported_days_hold_none(
    archive: MemoryArchive,
) -> None:
    req = request("dce", first=DAY20, last=DAY20)
    bare = json.loads(build_file(req, collect_rows(archive, req), NOW).body)

    named = json.loads(build_file(req, collect_rows(archive, req, directory_naming("Named", "lobby")), NOW).body)

    assert (bare["guild"]["name"], bare["channel"]["name"]) == (data.GUILD, data.GENERAL)
    assert (named["guild"]["name"], named["channel"]["name"]) == ("Named", "lobby")


def test_dce_export_keeps_the_archives_names_when_the_directory_also_knows_the_channel(
    archive: MemoryArchive,
) -> None:
    req = request("dce")

    document = json.loads(build_file(req, collect_rows(archive, req, directory_naming("Named", "lobby")), NOW).body)

    assert (document["guild"]["name"], document["channel"]["name"]) == ("Fixture Guild", "general")


def test_dce_export_names_the_category_from_the_directory_when_the_directory_placed_the_channel_in_it(
    archive: MemoryArchive,
) -> None:
    req = request("dce", first=DAY20, last=DAY20)
    naming = directory_naming("Named", "lobby", category="Chat")

    document = json.loads(build_file(req, collect_rows(archive, req, naming), NOW).body)

    assert (document["channel"]["categoryId"], document["channel"]["category"]) == (data.CATEGORY, "Chat")


def test_export_file_gives_the_names_it_used_when_the_directory_named_the_server_and_channel(
    archive: MemoryArchive,
) -> None:
    req = request("json", first=DAY20, last=DAY20)

    bare = build_file(req, collect_rows(archive, req), NOW)
    named = build_file(req, collect_rows(archive, req, directory_naming("Named", "lobby")), NOW)

    assert (bare.guild_name, bare.channel_name) == (None, None)
    assert (named.guild_name, named.channel_name) == ("Named", "lobby")
