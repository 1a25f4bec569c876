"""kms_rewrap_master cannot stall: a row that cannot be opened is skipped and reported (issue 15)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from kms.crypto import MasterKey
from kms.keyring import forget_cache, keyring
from kms.models import KeyVersion
from kms.services import audit
from kms.services.master import rewrap_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def new_master(settings):
    old = settings.EGIDE_MASTER_KEY

    def switch() -> str:
        settings.EGIDE_MASTER_KEY, settings.EGIDE_MASTER_KEYS_OLD = MasterKey.generate_base64(), [old]
        keyring.cache_clear()
        forget_cache()
        audit._key_cache.clear()  # noqa: SLF001
        return keyring().current.id

    yield switch
    keyring.cache_clear()
    forget_cache()
    audit._key_cache.clear()  # noqa: SLF001


def test_a_corrupt_row_is_skipped_the_others_move_and_the_command_fails(create_key, new_master, capsys):
    for name in ("a", "b", "c"):
        create_key(name, "aes256")
    broken = KeyVersion.objects.get(key__name="b")
    broken.wrapped_material = bytes(broken.wrapped_material)[:-1] + b"\0"
    broken.save(update_fields=["wrapped_material"])
    current = new_master()
    result = rewrap_all(batch_size=1)
    assert result.versions == 2 and [f.row for f in result.failed] == ["b v1"]
    assert set(KeyVersion.objects.filter(master_key_id=current).values_list("key__name", flat=True)) == {"a", "c"}
    with pytest.raises(CommandError, match="1 row"):  # a rerun still reports it, and moves nothing else
        call_command("kms_rewrap_master", "--batch-size", "1")
    assert "skipped b v1" in capsys.readouterr().err


@pytest.mark.parametrize("size", ["0", "-1", "x"])
def test_the_batch_size_is_at_least_one(size):
    with pytest.raises(CommandError):
        call_command("kms_rewrap_master", "--batch-size", size)
    with pytest.raises(ValueError):
        rewrap_all(batch_size=0)
