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

# The spec's `egide kms info`: the key object, in this order.
INFO_FIELDS = ("name", "type", "current_version", "versions", "created_at", "updated_at")
VERSION_FIELDS = ("version", "created_at", "status")
TIMESTAMP_FIELDS = frozenset({"created_at", "updated_at"})


def table(rows: Iterable[dict[str, Any]], columns: Sequence[Column]) -> str:
    """Left-aligned columns under a header; the last column is not padded."""
    cells = [[column.title for column in columns]]
    cells += [[_cell(row.get(column.field)) for column in columns] for row in rows]
    widths = [
        max(column.min_width, max(len(line[i]) for line in cells) + column.gap)
        for i, column in enumerate(columns)
    ]
    widths[-1] = 0
    return "\n".join(
        "".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
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


def _versions(versions: list[dict[str, Any]]) -> str:
    if not versions:
        return "[]"
    items = []
    for version in versions:
        pairs = ", ".join(
            f"{json.dumps(f)}: {json.dumps(_spec_value(f, version.get(f)))}" for f in VERSION_FIELDS
        )
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
