"""How results are shown: the spec's key table and info JSON, other tables, timestamps."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Column:
    title: str
    field: str
    min_width: int = 0  # the column is at least this wide (the spec's widths)
    gap: int = 2  # spaces after the longest cell


# The spec's `egide kms list`: NAME at least 20 wide (its longest name + 3), TYPE 10, VERSION 9.
KEY_COLUMNS = (
    Column("NAME", "name", 20, 3),
    Column("TYPE", "type", 10, 3),
    Column("VERSION", "current_version", 9, 2),
    Column("STATUS", "status"),
)

# The spec's `egide kms info`: the key object, in this order; then the key's state
# (active, disabled, deleted) and, for a deleted key, when it is purged (null otherwise).
INFO_FIELDS = ("name", "type", "current_version", "versions", "created_at", "updated_at", "status", "purge_after")
VERSION_FIELDS = ("version", "created_at", "status")
TIMESTAMP_FIELDS = frozenset({"created_at", "updated_at", "purge_after", "next_rotation_at", "deleted_at"})


def table(rows: Iterable[dict[str, Any]], columns: Sequence[Column]) -> str:
    """Left-aligned columns under a header; the last column is not padded."""
    cells = [[column.title for column in columns]]
    cells += [[_cell(row.get(column.field)) for column in columns] for row in rows]
    widths = [
        max(column.min_width, max(len(line[i]) for line in cells) + column.gap) for i, column in enumerate(columns)
    ]
    widths[-1] = 0
    return "\n".join(
        "".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip() for line in cells
    )


def key_info_spec(info: dict[str, Any]) -> str:
    """The key as the spec prints it: its fields in order, indented 2, one line per version.

    Timestamps are UTC with a Z and no fraction of a second. The result is valid JSON.
    """
    lines = []
    for name in INFO_FIELDS:
        value = info.get(name)
        if name == "versions":
            lines.append(f'  "versions": {_versions(value or [])}')
        else:
            lines.append(f"  {json.dumps(name)}: {json.dumps(_spec_value(name, value))}")
    return "{\n" + ",\n".join(lines) + "\n}"


def key_state(info: dict[str, Any]) -> str:
    """The key's state in words: ``active``, ``disabled``, ``deleted (purged after ... UTC)``."""
    status = str(info.get("status") or "-")
    if status == "deleted" and info.get("purge_after"):
        return f"deleted (purged after {utc_words(info['purge_after'])}; `egide kms restore` until then)"
    return status


def key_info_table(info: dict[str, Any]) -> str:
    """The key for people: its facts one per line, then a table of its versions (times in UTC)."""
    facts = [
        ("Name", info.get("name")),
        ("Type", info.get("type")),
        ("State", key_state(info)),
        ("Current version", info.get("current_version")),
        ("Created", utc_words(info.get("created_at"))),
        ("Updated", utc_words(info.get("updated_at"))),
    ]
    if info.get("status") == "active" and info.get("next_rotation_at"):
        facts.append(("Next rotation", utc_words(info["next_rotation_at"])))
    if info.get("description"):
        facts.append(("Description", info["description"]))
    if info.get("origin") == "imported":  # issue 15: brought in, not generated here
        kind = "imported, verify-only" if info.get("verify_only") else "imported"
        facts.append(("Origin", f"{kind} by {info.get('imported_by') or '-'} on {utc_words(info.get('imported_at'))}"))
    width = max(len(label) for label, _ in facts) + 2
    lines = [f"{label + ':':<{width}}{_cell(value)}" for label, value in facts]
    rows = [{**v, "created_at": utc_words(v.get("created_at"))} for v in info.get("versions") or []]
    columns = (Column("VERSION", "version", 9), Column("CREATED", "created_at", 25), Column("STATUS", "status"))
    return "\n".join(lines) + "\n\n" + table(rows, columns)


def utc_words(value: Any) -> Any:
    """``2025-01-01 00:00:00 UTC`` for any ISO 8601 time; other values unchanged."""
    text = utc_z(value)
    return f"{text[:10]} {text[11:19]} UTC" if isinstance(text, str) and text.endswith("Z") else text


def _versions(versions: list[dict[str, Any]]) -> str:
    if not versions:
        return "[]"
    items = []
    for version in versions:
        pairs = ", ".join(f"{json.dumps(f)}: {json.dumps(_spec_value(f, version.get(f)))}" for f in VERSION_FIELDS)
        items.append(f"    {{ {pairs} }}")
    return "[\n" + ",\n".join(items) + "\n  ]"


def _spec_value(field: str, value: Any) -> Any:
    return utc_z(value) if field in TIMESTAMP_FIELDS else value


def utc_z(value: Any) -> Any:
    """``2025-01-01T00:00:00Z`` for any ISO 8601 time; other values unchanged."""
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    return str(value)
