"""guildlog.queries: the stored Athena SQL, its headers, parameter binding and partition pruning."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from guildlog.errors import QueryError
from guildlog.queries import (
    LOOKBACK_DAYS,
    MAX_RANGE_DAYS,
    bind,
    count_placeholders,
    get_named_query,
    named_queries,
    parse_named_query,
)
from guildlog.services.audit_log import MEMBER_MODERATION_ACTIONS
from guildlog_tools.local.query_engine import transpile

GUILD = "700000000000000001"
USER = "700000000000000100"
REQUIRED_QUERIES = {
    "activity_by_hour",
    "top_members",
    "top_channels",
    "member_history",
    "deleted_messages",
    "message_edits",
    "joins_and_leaves",
    "moderation_by_moderator",
    "commands_used",
}
ALL = sorted(named_queries())
PARTITION_COLUMNS = ["year", "month", "day"]


def selects_over_events(sql: str) -> list[exp.Select]:
    tree = sqlglot.parse_one(sql, read="athena")
    return [
        select
        for select in tree.find_all(exp.Select)
        if isinstance(select.args.get("from_"), exp.From)
        and isinstance(select.args["from_"].this, exp.Table)
        and select.args["from_"].this.name == "events"
    ]


def is_partition_range(node: exp.Expression) -> bool:
    """`concat(year, '-', month, '-', day) BETWEEN ? AND ?` (or with literal bounds)."""
    if not isinstance(node, exp.Between) or not isinstance(node.this, exp.Concat):
        return False
    parts = node.this.expressions
    columns = [p.name for p in parts if isinstance(p, exp.Column)]
    separators = [p.this for p in parts if isinstance(p, exp.Literal)]
    return columns == PARTITION_COLUMNS and separators == ["-", "-"] and len(parts) == 5


def test_named_queries_cover_the_issue_list_when_loaded() -> None:
    assert set(named_queries()) >= REQUIRED_QUERIES


@pytest.mark.parametrize("name", ALL)
def test_named_query_prunes_partitions_when_it_reads_events(name: str) -> None:
    selects = selects_over_events(get_named_query(name).sql)

    assert selects, "the query reads no events"
    for select in selects:
        where = select.args.get("where")
        assert where is not None and any(is_partition_range(n) for n in where.find_all(exp.Between)), select.sql()


@pytest.mark.parametrize("name", ALL)
def test_named_query_filters_one_guild_when_it_reads_events(name: str) -> None:
    for select in selects_over_events(get_named_query(name).sql):
        conditions = [
            eq
            for eq in select.args["where"].find_all(exp.EQ)
            if isinstance(eq.this, exp.Column)
            and eq.this.name == "guild_id"
            and isinstance(eq.expression, exp.Placeholder)
        ]
        assert len(conditions) == 1, select.sql()


@pytest.mark.parametrize("name", ALL)
def test_named_query_names_every_placeholder_when_loaded(name: str) -> None:
    query = get_named_query(name)

    assert len(query.placeholders) == count_placeholders(query.sql)
    assert {"guild", "to"} <= set(query.placeholders)
    assert query.description and query.description[0].isupper()


@pytest.mark.parametrize("name", ALL)
def test_named_query_transpiles_to_duckdb_when_run_locally(name: str) -> None:
    duckdb_sql = transpile(get_named_query(name).sql)

    assert duckdb_sql.count("?") == len(get_named_query(name).placeholders)
    # DuckDB prunes hive partitions on this plain text comparison (not on a cast or a function of it).
    assert "year || '-' || month || '-' || day BETWEEN ? AND ?" in duckdb_sql


def test_moderation_query_counts_the_member_moderation_actions_when_listing_actions() -> None:
    tree = sqlglot.parse_one(get_named_query("moderation_by_moderator").sql, read="athena")
    [listed] = [node for node in tree.find_all(exp.In) if node.this.name == "action"]

    assert {literal.this for literal in listed.expressions} == set(MEMBER_MODERATION_ACTIONS)


def test_parse_named_query_refuses_the_text_when_the_header_is_missing() -> None:
    with pytest.raises(QueryError, match="must start with"):
        parse_named_query("SELECT 1")


def test_parse_named_query_refuses_the_text_when_a_placeholder_is_not_named() -> None:
    text = "-- q: one\n-- parameters: guild\nSELECT 1 FROM events WHERE guild_id = ? AND day = ?\n"

    with pytest.raises(QueryError, match="does not name every"):
        parse_named_query(text)


def test_parse_named_query_refuses_the_text_when_a_placeholder_name_is_unknown() -> None:
    text = "-- q: one\n-- parameters: tenant\nSELECT 1 FROM events WHERE guild_id = ?\n"

    with pytest.raises(QueryError, match="unknown placeholder"):
        parse_named_query(text)


def test_parse_named_query_ignores_question_marks_when_they_are_inside_strings() -> None:
    query = parse_named_query("-- q: one\n-- parameters: guild\nSELECT '?' FROM events WHERE guild_id = ?\n")

    assert query.placeholders == ("guild",)


def test_bind_expands_day_into_from_and_to_when_a_single_day_is_given() -> None:
    bound = bind(get_named_query("top_members"), {"guild": GUILD, "day": "2026-11-20"})

    assert bound.values == (GUILD, "2026-11-20", "2026-11-20")
    assert bound.athena_parameters() == [f"'{GUILD}'", "'2026-11-20'", "'2026-11-20'"]


def test_bind_derives_the_lookback_when_a_query_looks_for_earlier_versions() -> None:
    bound = bind(get_named_query("message_edits"), {"guild": GUILD, "from": "2026-11-19", "to": "2026-11-20"})

    assert bound.parameters["lookback_from"] == "2026-11-12"
    assert LOOKBACK_DAYS == 7
    assert bound.values == (GUILD, "2026-11-12", "2026-11-20", "2026-11-19", "2026-11-20")


def test_bind_keeps_an_explicit_lookback_when_one_is_given() -> None:
    given = {"guild": GUILD, "day": "2026-11-20", "lookback_from": "2026-11-01"}

    assert bind(get_named_query("deleted_messages"), given).parameters["lookback_from"] == "2026-11-01"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        pytest.param({"day": "2026-11-20"}, "missing parameter guild", id="no-guild"),
        pytest.param({"guild": GUILD}, "missing parameter day", id="no-day"),
        pytest.param({"guild": "12", "day": "2026-11-20"}, "snowflake", id="short-guild"),
        pytest.param({"guild": f"{GUILD}' OR '1'='1", "day": "2026-11-20"}, "snowflake", id="injection"),
        pytest.param({"guild": GUILD, "day": "20-11-2026"}, "YYYY-MM-DD", id="day-format"),
        pytest.param({"guild": GUILD, "day": "2026-02-30"}, "not a calendar day", id="no-such-day"),
        pytest.param({"guild": GUILD, "from": "2026-11-20", "to": "2026-11-19"}, "before from", id="reversed"),
        pytest.param({"guild": GUILD, "from": "2025-01-01", "to": "2026-11-19"}, "at most", id="too-long"),
        pytest.param({"guild": GUILD, "day": "2026-11-20", "from": "2026-11-19"}, "either day", id="day-and-from"),
        pytest.param({"guild": GUILD, "day": "2026-11-20", "tenant": "x"}, "unknown parameter", id="unknown"),
    ],
)
def test_bind_refuses_the_parameters_when_they_are_invalid(given: dict[str, str], message: str) -> None:
    with pytest.raises(QueryError, match=message):
        bind(get_named_query("top_members"), given)


def test_bind_requires_the_member_when_the_query_is_a_member_history() -> None:
    with pytest.raises(QueryError, match="missing parameter user"):
        bind(get_named_query("member_history"), {"guild": GUILD, "day": "2026-11-20"})

    bound = bind(get_named_query("member_history"), {"guild": GUILD, "user": USER, "day": "2026-11-20"})
    assert bound.values[:2] == (GUILD, USER)


def test_bind_accepts_a_year_long_range_when_it_is_the_longest_allowed() -> None:
    bound = bind(get_named_query("top_members"), {"guild": GUILD, "from": "2025-11-20", "to": "2026-11-20"})

    assert MAX_RANGE_DAYS == 366
    assert bound.values[1:] == ("2025-11-20", "2026-11-20")


def test_get_named_query_lists_the_choices_when_the_name_is_unknown() -> None:
    with pytest.raises(QueryError, match="top_members"):
        get_named_query("top_memberz")


@pytest.mark.parametrize("name", ALL)
def test_count_placeholders_agrees_with_the_sql_parser_when_counting_a_named_query(name: str) -> None:
    sql = get_named_query(name).sql

    assert count_placeholders(sql) == sum(1 for _ in sqlglot.parse_one(sql, read="athena").find_all(exp.Placeholder))


def test_count_placeholders_skips_strings_names_and_comments_when_they_hold_question_marks() -> None:
    sql = "SELECT '?', 'it''s ?', \"col?\" -- why?\nFROM events /* ? */ WHERE guild_id = ? AND day = ?"

    assert count_placeholders(sql) == 2
