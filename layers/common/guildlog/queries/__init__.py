"""The named Athena queries: one `.sql` file each, in Athena's (Trino) dialect, stored once.

The same text becomes an `AWS::Athena::NamedQuery` in template.yaml (`python -m guildlog_tools.named_queries`
writes that block, a test checks it matches) and runs on DuckDB for `guildlog query --local`
(transpiled with sqlglot by `guildlog_tools.local.query_engine`).

Each file starts with a header:

    -- <name>: <what it answers, possibly over several comment lines>
    -- parameters: guild, from, to

The parameter list names the `?` placeholders in the order they appear (a name may repeat).
Placeholders keep every value out of the SQL text: Athena binds them as `ExecutionParameters`
(the console asks for them when the saved query is run), DuckDB as prepared-statement values.
Every query filters `concat(year, '-', month, '-', day) BETWEEN ? AND ?`, which prunes partitions
on both engines (a plain comparison of the partition columns' text, no function of a cast).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources

from guildlog.errors import QueryError

_HEADER = re.compile(r"^--\s*(?P<name>[a-z][a-z0-9_]*):\s*(?P<text>.*)$")
_PARAMETERS = re.compile(r"^--\s*parameters:\s*(?P<names>.*)$")
_SNOWFLAKE = re.compile(r"^[0-9]{15,21}$")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# A range longer than a year is almost certainly a typo, and Athena bills by bytes scanned.
MAX_RANGE_DAYS = 366
# How far back earlier versions of a message are looked for (deleted_messages, message_edits).
LOOKBACK_DAYS = 7
# Names a caller may give with --param; `day` is shorthand for from = to = day.
CALLER_PARAMETERS = ("guild", "user", "channel", "day", "from", "to", "lookback_from")
PLACEHOLDER_NAMES = frozenset({"guild", "user", "channel", "from", "to", "lookback_from"})


@dataclass(frozen=True)
class NamedQuery:
    """One stored query: its name, a one-paragraph description, the SQL text and its placeholders."""

    name: str
    description: str
    sql: str
    placeholders: tuple[str, ...]

    @property
    def required(self) -> frozenset[str]:
        """The parameters a caller must supply (`lookback_from` is derived from `from`)."""
        return frozenset(self.placeholders) - {"lookback_from"}


@dataclass(frozen=True)
class BoundQuery:
    """A query with validated values, one per placeholder, ready for either engine."""

    name: str
    sql: str
    values: tuple[str, ...]
    parameters: Mapping[str, str]

    def athena_parameters(self) -> list[str]:
        """The values as Athena's ExecutionParameters want them: SQL string literals."""
        return ["'" + value.replace("'", "''") + "'" for value in self.values]


def parse_named_query(text: str) -> NamedQuery:
    """A NamedQuery from a file's text; QueryError when the header is missing or inconsistent."""
    lines = text.splitlines()
    first = _HEADER.match(lines[0]) if lines else None
    if first is None:
        raise QueryError("a named query must start with `-- <name>: <description>`")
    description = [first["text"].strip()]
    placeholders: tuple[str, ...] | None = None
    for line in lines[1:]:
        found = _PARAMETERS.match(line)
        if found:
            placeholders = tuple(name.strip() for name in found["names"].split(",") if name.strip())
            break
        if not line.startswith("--"):
            break
        description.append(line.removeprefix("--").strip())
    if placeholders is None:
        raise QueryError("a named query must list its placeholders in `-- parameters: …`", query=first["name"])
    unknown = sorted(set(placeholders) - PLACEHOLDER_NAMES)
    if unknown:
        raise QueryError("unknown placeholder names", query=first["name"], unknown=unknown)
    if count_placeholders(text) != len(placeholders):
        raise QueryError(
            "the parameters line does not name every `?`",
            query=first["name"],
            listed=len(placeholders),
            found=count_placeholders(text),
        )
    summary = " ".join(description)
    return NamedQuery(first["name"], summary[:1].upper() + summary[1:], text, placeholders)


_NOT_PLACEHOLDERS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.DOTALL)


def count_placeholders(sql: str) -> int:
    """The `?` placeholders of a statement: those outside strings, quoted names and comments.

    Plain text scanning, so `guildlog query` on Athena needs no SQL parser installed.
    """
    return _NOT_PLACEHOLDERS.sub(" ", sql).count("?")


@functools.cache
def named_queries() -> dict[str, NamedQuery]:
    """Every stored query by name, in name order."""
    found: dict[str, NamedQuery] = {}
    for entry in sorted(resources.files(__package__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            query = parse_named_query(entry.read_text(encoding="utf-8"))
            if f"{query.name}.sql" != entry.name:
                raise QueryError("a named query's file must be called <name>.sql", file=entry.name, name=query.name)
            found[query.name] = query
    return found


def get_named_query(name: str) -> NamedQuery:
    queries = named_queries()
    if name not in queries:
        raise QueryError(f"no named query {name!r}; choose from {', '.join(queries)}", name=name)
    return queries[name]


def bind(query: NamedQuery, given: Mapping[str, str]) -> BoundQuery:
    """Validate `given` (guild, user, channel, day | from + to, lookback_from) for `query`.

    Raises QueryError naming the parameter when one is unknown, missing or malformed.
    """
    unknown = sorted(set(given) - set(CALLER_PARAMETERS))
    if unknown:
        raise QueryError(f"unknown parameter {unknown[0]!r}", query=query.name, allowed=list(CALLER_PARAMETERS))
    values = {name: str(value).strip() for name, value in given.items()}
    if "day" in values:
        if "from" in values or "to" in values:
            raise QueryError("give either day or from and to, not both", query=query.name)
        parse_day(values["day"], "day")  # a bad day is blamed on `day`, not on the `from` it becomes
        values["from"] = values["to"] = values.pop("day")
    missing = sorted(name for name in query.required if name not in values)
    if missing:
        shown = ["day (or from and to)" if name in ("from", "to") else name for name in missing]
        raise QueryError(f"missing parameter {shown[0]}", query=query.name, missing=sorted(set(shown)))
    for name in ("guild", "user", "channel"):
        if name in values and not _SNOWFLAKE.match(values[name]):
            raise QueryError(f"{name} must be a snowflake (15 to 21 digits)", query=query.name, parameter=name)
    if "from" in values:
        first, last = parse_day(values["from"], "from"), parse_day(values["to"], "to")
        if last < first:
            raise QueryError("to is before from", query=query.name)
        if (last - first).days >= MAX_RANGE_DAYS:
            raise QueryError(f"a range may span at most {MAX_RANGE_DAYS} days", query=query.name)
        lookback = values.get("lookback_from")
        earliest = parse_day(lookback, "lookback_from") if lookback else first - timedelta(days=LOOKBACK_DAYS)
        if earliest > first:
            raise QueryError("lookback_from is after from", query=query.name)
        values["lookback_from"] = earliest.isoformat()
    used = {name: values[name] for name in dict.fromkeys(query.placeholders)}
    return BoundQuery(query.name, query.sql, tuple(values[name] for name in query.placeholders), used)


def parse_day(text: str, name: str = "day") -> date:
    """A `YYYY-MM-DD` day; QueryError naming the parameter otherwise."""
    if not _DAY.match(text or ""):
        raise QueryError(f"{name} must be a day as YYYY-MM-DD", parameter=name)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise QueryError(f"{name} is not a calendar day: {text} (give YYYY-MM-DD)", parameter=name) from None
