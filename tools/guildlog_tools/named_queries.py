"""`python -m guildlog_tools.named_queries [--check]`: write (or check) template.yaml's NamedQuery block.

The block between the BEGIN and END markers is made from `guildlog/queries/*.sql` alone, so the
SQL exists once; `--check` exits 1 when the template's block differs (a unit test does the same).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from guildlog.queries import NamedQuery, named_queries

BEGIN = "  # BEGIN named queries: written by `python -m guildlog_tools.named_queries` from guildlog/queries/*.sql"
END = "  # END named queries"


def logical_id(query: NamedQuery) -> str:
    return "".join(part.title() for part in query.name.split("_")) + "NamedQuery"


def template_block() -> str:
    """The NamedQuery resources, markers included, as template.yaml holds them."""
    lines = [BEGIN]
    for query in named_queries().values():
        lines += [
            f"  {logical_id(query)}:",
            "    Type: AWS::Athena::NamedQuery",
            "    Properties:",
            f"      Name: {query.name}",
            f"      Description: {_yaml_string(query.description)}",
            "      Database: !Ref ArchiveDatabase",
            "      WorkGroup: !Ref AthenaWorkGroup",
            "      QueryString: |",
            *(f"        {line}" if line else "" for line in query.sql.rstrip("\n").split("\n")),
        ]
    lines.append(END)
    return "\n".join(lines) + "\n"


def replace_block(template_text: str) -> str:
    """`template_text` with its block replaced (or added before Outputs when it has none)."""
    block = template_block()
    if BEGIN in template_text:
        start = template_text.index(BEGIN)
        end = template_text.index(END, start) + len(END) + 1
        return template_text[:start] + block + template_text[end:]
    anchor = "\nOutputs:\n"
    if anchor not in template_text:
        raise SystemExit("template.yaml has no Outputs section to put the named queries before")
    return template_text.replace(anchor, "\n" + block + anchor, 1)


def _yaml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main(argv: list[str] | None = None) -> int:
    from guildlog_tools.local.template import default_template_path

    parser = argparse.ArgumentParser(prog="python -m guildlog_tools.named_queries", description=__doc__)
    parser.add_argument("--template", type=Path, default=None, help="default: the checkout's template.yaml")
    parser.add_argument("--check", action="store_true", help="only report whether the block is up to date")
    args = parser.parse_args(argv)
    path = args.template or default_template_path()
    current = path.read_text(encoding="utf-8")
    wanted = replace_block(current)
    if args.check:
        if wanted != current:
            print(
                f"{path}: the named queries block is out of date; run python -m guildlog_tools.named_queries",
                file=sys.stderr,
            )
            return 1
        return 0
    if wanted != current:
        path.write_text(wanted, encoding="utf-8")
        print(f"{path}: named queries block written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
