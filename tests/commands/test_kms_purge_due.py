"""`manage.py kms_purge_due` (purge only), on the claim-based keys_purge_due."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from kms.models import Key
from kms.services import keys

pytestmark = pytest.mark.django_db


def test_it_purges_keys_past_their_window_and_only_those(clock, system, create_key):
    for name in ("old", "recent"):
        create_key(name)
    keys.key_delete(actor=system, name="old")
    clock.advance(timedelta(days=20))
    keys.key_delete(actor=system, name="recent")
    clock.advance(timedelta(days=11))

    out = StringIO()
    call_command("kms_purge_due", stdout=out)
    assert out.getvalue() == "purged 1 key(s): old\n"
    assert dict(Key.objects.values_list("name", "state")) == {"old": "purged", "recent": "deleted"}
