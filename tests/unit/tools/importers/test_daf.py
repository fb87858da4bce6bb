"""guildlog_tools.importers.daf: DAF's JSON and CSV logs, roll-over files and invite tracking."""

from __future__ import annotations

from guildlog_tools.importers import source_for
from guildlog_tools.importers.runner import run_import
from tests.unit.tools.importers.conftest import DAF_LOGS, MemoryStack, need_shared_fixtures, own

ROLLOVER = own("daf/History/2024/02/03")


def test_daf_reads_both_files_of_a_rollover_pair_when_log_passed_100_kb(stack: MemoryStack) -> None:
    files = sorted(ROLLOVER.iterdir())
    assert [p.name for p in files] == ["Test Guild.json", "Test Guild1.json"]
    assert files[0].stat().st_size > 100_000  # why DAF started the second file
    summary = run_import(source_for("daf"), ROLLOVER, stack.sink)
    indexes = {line["event"]["d"]["daf_index"] for line in stack.lines("raw")}
    assert (summary.files, len(indexes)) == (2, 249)  # 248 sends and the invite record


def test_daf_makes_one_row_per_target_channel_with_status_when_a_send_failed(stack: MemoryStack) -> None:
    run_import(source_for("daf"), ROLLOVER, stack.sink)
    failed = stack.lines("raw")
    by_id = {line["event_id"]: line["event"]["d"] for line in failed}
    assert by_id["import:daf:436900000000000:800000000000000021"]["status"] == "failed"
    assert by_id["import:daf:436900000000000:800000000000000020"]["status"] == "sent"
    row = stack.row("import:daf:436900000000000:800000000000000020")
    assert (row["event_type"], row["guild_id"], row["channel_id"], row["user_id"], row["occurred_at"]) == (
        "IMPORT_DAF_MESSAGE",
        "800000000000000001",
        "800000000000000020",
        "800000000000000200",
        "2024-02-03T10:00:00.000Z",
    )


def test_daf_makes_member_join_with_invite_code_when_log_tracks_invites(stack: MemoryStack) -> None:
    run_import(source_for("daf"), ROLLOVER, stack.sink)
    row = stack.row("import:member-join:800000000000000001:800000000000000103:2024-02-03T09:59:00.000Z")
    assert (row["category"], row["action"], row["user_name"]) == ("member", "join", "newbie")
    raw = [line for line in stack.lines("raw") if line["event_id"] == row["event_id"]]
    assert raw[0]["event"]["d"]["invite_code"] == "AbCd123"


def test_daf_imports_shared_json_and_csv_logs_when_read_in_place(stack: MemoryStack) -> None:
    need_shared_fixtures()
    summary = run_import(source_for("daf"), DAF_LOGS, stack.sink)
    assert (summary.files, summary.skipped_total, summary.quarantined) == (27, 0, 0)
    csv_row = stack.row("import:daf:436766310739971:1199770792695705732")
    assert (csv_row["guild_id"], csv_row["occurred_at"]) == ("863071397207212052", "2024-01-24T18:46:41.000Z")
    direct = [r for r in stack.rows() if r["event_id"].startswith("import:daf:436738500480777:")]
    assert [r["user_id"] for r in direct] == ["936739431073865789"]
