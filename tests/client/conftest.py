"""A client of a live server (real HTTP on a free port), as the superuser `root`."""

from __future__ import annotations

import pytest

from kms.client import EgideClient
from kms.services.actor import Actor
from kms.services.tokens import token_create


@pytest.fixture
def client(live_server, root, settings):
    # The server's strict, synchronous modes come from tests/conftest.py (_data_plane_test_mode).
    _, raw = token_create(actor=Actor.system(), user=root, name="client-tests")
    with EgideClient(live_server.url, raw) as client:
        yield client
