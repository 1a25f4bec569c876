"""Creating a key costs a handful of queries, not ~55 (issue 19): counted, never timed.

One INSERT per row (the key, its version, the creator's grants in one statement), one
state-generation bump for the lot, the audit row. The grants and the bump are still all
there: the data plane sees the new key and its creator's permissions at once.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kms import access
from kms.dataplane.state import CACHE
from kms.models import KeyUserObjectPermission, StateGeneration
from kms.services.keys import key_create
from tests.conftest import as_actor

pytestmark = pytest.mark.django_db
MAX_QUERIES = 15  # measured 13 for a user (PostgreSQL and SQLite), 11 for the system; was 55 / 14


@pytest.mark.parametrize("key_type", ["aes256", "ed25519"])
def test_a_user_creates_a_key_in_a_handful_of_queries(alice, key_type):
    key_create(actor=as_actor(alice), name="warm-up", key_type=key_type)  # first-use caches
    before = StateGeneration.objects.get(pk=1).n
    with CaptureQueriesContext(connection) as queries:
        key = key_create(actor=as_actor(alice), name="counted", key_type=key_type)
    statements = [q["sql"] for q in queries.captured_queries]
    assert len(statements) <= MAX_QUERIES, "\n".join(statements)
    # ...and nothing is lost: the grants, one bump (not one per row), the version.
    granted = KeyUserObjectPermission.objects.filter(user=alice, content_object=key)
    assert sorted(g.permission.codename for g in granted) == sorted(map(access.codename, access.CREATOR_PERMISSIONS))
    assert StateGeneration.objects.get(pk=1).n == before + 1
    assert key.versions.count() == 1


def test_the_system_creates_a_key_in_a_handful_of_queries(system):
    key_create(actor=system, name="warm-up", key_type="aes256")
    with CaptureQueriesContext(connection) as queries:
        key_create(actor=system, name="counted", key_type="aes256")
    assert len(queries) <= MAX_QUERIES - 2, "\n".join(q["sql"] for q in queries.captured_queries)


def test_a_refused_creation_bumps_nothing(alice):
    from kms.exceptions import KeyExists

    key_create(actor=as_actor(alice), name="taken", key_type="aes256")
    CACHE.clear()
    before = StateGeneration.objects.get(pk=1).n
    with pytest.raises(KeyExists):
        key_create(actor=as_actor(alice), name="TAKEN", key_type="aes256")
    assert StateGeneration.objects.get(pk=1).n == before
