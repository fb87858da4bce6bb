"""guildlog.services.modlog.limits: text cut to Discord's limits says it was cut."""

from __future__ import annotations

from guildlog.services.modlog.limits import DESCRIPTION, FIELD_VALUE, MESSAGE_TOTAL, cut, embed_length, fit_embed


def test_cut_keeps_the_text_when_it_fits() -> None:
    assert cut("hello", 5) == "hello"


def test_cut_ends_with_how_much_was_left_out_when_the_text_is_too_long() -> None:
    text = "x" * 5000

    out = cut(text, 1024)

    assert len(out) == 1024
    kept = out.index("…")
    assert out.endswith(f"[cut: {5000 - kept} more characters]")


def test_fit_embed_cuts_each_part_when_description_and_fields_are_too_long() -> None:
    embed = {"title": "t", "description": "d" * 5000, "fields": [{"name": "f", "value": "v" * 2000}]}

    out = fit_embed(embed)

    assert len(out["description"]) <= DESCRIPTION and len(out["fields"][0]["value"]) <= FIELD_VALUE
    assert embed_length(out) <= MESSAGE_TOTAL
    assert "[cut:" in out["description"] and "[cut:" in out["fields"][0]["value"]


def test_fit_embed_keeps_the_whole_under_6000_when_the_parts_fit_alone() -> None:
    embed = {"description": "d" * 4096, "fields": [{"name": "f", "value": "v" * 1024} for _ in range(5)]}

    out = fit_embed(embed)

    assert embed_length(out) <= MESSAGE_TOTAL
    assert "[cut:" in out["description"]
