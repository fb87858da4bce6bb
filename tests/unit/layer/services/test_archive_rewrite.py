"""guildlog.services.archive_rewrite: content out of each dataset's line, facts kept."""

from __future__ import annotations

import csv

from guildlog.models.row import ROW_FIELDS, EventRow
from guildlog.services.archive_rewrite import strip_csv_line, strip_row
from guildlog.services.csv_render import render_csv

ROW = EventRow(
    event_id="gw:s:1",
    batch_id="b",
    source="gateway",
    event_type="MESSAGE_CREATE",
    category="message",
    action="create",
    occurred_at="2026-12-01T00:00:00.000Z",
    received_at="2026-12-01T00:00:00.000Z",
    guild_id="900000000000000001",
    channel_id="900000000000000002",
    user_id="900000000000000003",
    user_name="Some One",
    content='said "this",\nacross lines',
    attachments='[{"filename":"a.png"}]',
    details='{"nonce":"1"}',
)


def test_strip_row_empties_the_content_fields_when_a_row_is_cut_to_its_facts() -> None:
    stripped = strip_row(ROW.model_dump())

    assert (stripped["content"], stripped["user_name"], stripped["attachments"], stripped["details"]) == (
        None,
        None,
        None,
        "{}",
    )
    assert (stripped["user_id"], stripped["channel_id"], stripped["occurred_at"]) == (
        ROW.user_id,
        ROW.channel_id,
        ROW.occurred_at,
    )
    EventRow.model_validate(stripped)


def test_strip_csv_line_matches_the_rendered_stripped_row_when_a_csv_record_is_cut() -> None:
    record = render_csv([ROW]).split("\r\n")[1]

    expected = render_csv([EventRow.model_validate(strip_row(ROW.model_dump()))]).split("\r\n")[1]

    assert strip_csv_line(record) == expected
    assert len(next(csv.reader([strip_csv_line(record)]))) == len(ROW_FIELDS)
