"""services/object_rewrite.py: line edits that keep line endings, in-place rewrites on a versioned bucket."""

from __future__ import annotations

import gzip

from guildlog.services import object_rewrite as ar
from tests.fakes.versioned_objects import MemoryVersions


def drop_secret(line: str) -> str | None:
    return None if "secret" in line else line


def redact_secret(line: str) -> str:
    return line.replace("secret", "[erased]")


def test_edit_lines_keeps_crlf_when_a_csv_record_is_changed() -> None:
    text, counts = ar.edit_lines('"h"\r\n"a secret"\r\n"b"\r\n', redact_secret)

    assert text == '"h"\r\n"a [erased]"\r\n"b"\r\n'
    assert (counts.lines, counts.changed, counts.dropped) == (3, 1, 0)


def test_edit_lines_splits_only_at_newlines_when_json_holds_a_line_separator() -> None:
    text = '{"c":"one\u2028two secret"}\n{"c":"kept"}\n'

    edited, counts = ar.edit_lines(text, drop_secret)

    assert edited == '{"c":"kept"}\n' and counts.dropped == 1 and counts.lines == 2


def test_rewrite_object_writes_nothing_when_no_line_changes() -> None:
    store = MemoryVersions()
    store.put("events/a.jsonl.gz", gzip.compress(b"plain\n"))
    [current] = store.versions("events/")

    outcome = ar.rewrite_object(store, current, lambda t: ar.edit_lines(t, drop_secret))

    assert outcome.state == "unchanged" and store.writes == 0 and store.deleted_versions == []


def test_rewrite_object_replaces_the_version_read_when_a_line_is_dropped() -> None:
    store = MemoryVersions()
    store.put("events/a.jsonl.gz", gzip.compress(b"keep\nsecret\n"))
    [current] = store.versions("events/")

    outcome = ar.rewrite_object(store, current, lambda t: ar.edit_lines(t, drop_secret))

    assert outcome.state == "rewritten"
    assert [v.latest for v in store.versions("events/")] == [True]
    assert gzip.decompress(store.current("events/a.jsonl.gz") or b"") == b"keep\n"


def test_rewrite_object_deletes_every_version_when_no_line_is_left() -> None:
    store = MemoryVersions()
    store.put("events/a.jsonl.gz", gzip.compress(b"secret\n"))
    [current] = store.versions("events/")

    outcome = ar.rewrite_object(store, current, lambda t: ar.edit_lines(t, drop_secret))

    assert outcome.state == "deleted" and store.versions("events/") == []


def test_purge_old_versions_deletes_only_the_old_versions_that_hold_what_is_removed() -> None:
    store = MemoryVersions()
    store.put("raw/a.jsonl", b"secret\n")
    store.put("raw/a.jsonl", b"clean\n")
    store.put("raw/b.jsonl", b"old but clean\n")
    store.put("raw/b.jsonl", b"clean\n")

    deleted, read = ar.purge_old_versions(store, store.versions("raw/"), lambda text: "secret" in text)

    assert deleted == 1 and read == len(b"secret\n") + len(b"old but clean\n")
    assert [k for k, _ in store.deleted_versions] == ["raw/a.jsonl"]
