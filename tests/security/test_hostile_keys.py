"""Hostile input against keys: list, create, info, update, delete, lifecycle, versions, public key, export.

What must hold for every case: tests/security/hostile/corpus.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.hostile.cases_keys import CASES
from tests.security.hostile.corpus import World, groups, run_group, runs

GROUPS = groups(CASES)


@pytest.mark.parametrize(("group", "door"), runs(GROUPS))
def test_hostile_input_is_refused_with_a_4xx_json_error_and_changes_nothing(
    group: str, door: str, world: World, root: Any, api_root: Any, anon: Any
) -> None:
    run_group(GROUPS[group], door, world, root, api_root, anon)
