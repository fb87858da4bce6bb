"""What Discord has registered versus the definitions in code (`guildlog commands diff` and `sync`).

Discord answers with more than it was given (ids, versions, defaults such as `required: false`,
`nsfw: false`, null localizations); both sides are reduced to the fields a definition sets, with
Discord's defaults filled in, before they are compared. Pure: dicts in, a diff out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_COMMAND_DEFAULTS: dict[str, Any] = {
    "type": 1,
    "default_member_permissions": None,
    "nsfw": False,
    "contexts": None,
    "integration_types": None,
}
_OPTION_DEFAULTS: dict[str, Any] = {
    "required": False,
    "autocomplete": False,
    "choices": None,
    "min_value": None,
    "max_value": None,
    "min_length": None,
    "max_length": None,
    "channel_types": None,
}


def comparable(command: Mapping[str, Any]) -> dict[str, Any]:
    """A command object reduced to what a definition decides, defaults made explicit."""
    out: dict[str, Any] = {"name": command.get("name"), "description": command.get("description", "")}
    for key, default in _COMMAND_DEFAULTS.items():
        value = command.get(key, default)
        out[key] = default if value is None else value
    for key in ("contexts", "integration_types"):
        if isinstance(out[key], list):
            out[key] = sorted(out[key])
    if isinstance(out["default_member_permissions"], int):
        out["default_member_permissions"] = str(out["default_member_permissions"])
    out["options"] = [_option(o) for o in command.get("options") or []]
    for key in ("name_localizations", "description_localizations"):
        if command.get(key):
            out[key] = dict(command[key])
    return out


def _option(option: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": option.get("type"),
        "name": option.get("name"),
        "description": option.get("description", ""),
    }
    for key, default in _OPTION_DEFAULTS.items():
        value = option.get(key, default)
        out[key] = default if value in (None, []) else value
    if isinstance(out["channel_types"], list):
        out["channel_types"] = sorted(out["channel_types"])
    if option.get("options"):
        out["options"] = [_option(o) for o in option["options"]]
    return out


@dataclass
class CommandDiff:
    added: list[str] = field(default_factory=list)  # in the code, not registered
    removed: list[str] = field(default_factory=list)  # registered, not in the code (a sync deletes them)
    changed: dict[str, list[str]] = field(default_factory=dict)  # name → "where: registered → code"
    same: list[str] = field(default_factory=list)

    @property
    def in_sync(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff_commands(wanted: list[Mapping[str, Any]], registered: list[Mapping[str, Any]]) -> CommandDiff:
    """Compare by (type, name), as Discord identifies commands."""
    ours = {(c.get("type", 1), c.get("name")): comparable(c) for c in wanted}
    theirs = {(c.get("type", 1), c.get("name")): comparable(c) for c in registered}
    diff = CommandDiff()
    for key, command in ours.items():
        name = str(key[1])
        if key not in theirs:
            diff.added.append(name)
        elif theirs[key] != command:
            diff.changed[name] = list(_differences(theirs[key], command, ""))
        else:
            diff.same.append(name)
    diff.removed = [str(key[1]) for key in theirs if key not in ours]
    return diff


def _differences(registered: Any, code: Any, where: str) -> list[str]:
    if isinstance(registered, dict) and isinstance(code, dict):
        found: list[str] = []
        for key in sorted(set(registered) | set(code)):
            found.extend(_differences(registered.get(key), code.get(key), f"{where}.{key}" if where else key))
        return found
    if isinstance(registered, list) and isinstance(code, list) and _named(registered) and _named(code):
        found = []
        theirs = {o["name"]: o for o in registered}
        ours = {o["name"]: o for o in code}
        if list(theirs) != list(ours):
            found.append(f"{where or 'options'}: {list(theirs)} → {list(ours)}")
        for name in ours:
            if name in theirs:
                found.extend(_differences(theirs[name], ours[name], f"{where}[{name}]"))
        return found
    if registered != code:
        return [f"{where}: {_short(registered)} → {_short(code)}"]
    return []


def _named(items: list[Any]) -> bool:
    return all(isinstance(i, dict) and "name" in i for i in items)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
