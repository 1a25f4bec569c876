"""People, sessions and tokens (issue 14): fixtures shared by its tests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache

from tests.api.conftest import anon, api_alice, api_bob, api_mallory, api_root  # noqa: F401
from tests.web.conftest import as_alice, as_root  # noqa: F401


@pytest.fixture(autouse=True)
def _fresh_limits(settings):
    cache.clear()  # the per-address password rate counts in the cache
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    yield
    cache.clear()
