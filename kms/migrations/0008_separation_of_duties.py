"""Separation of duties (issue 13).

Schema:
- key names unique regardless of case among live keys (replaces the case-sensitive rule);
  refused with the list of clashing names if an install already holds such keys;
- `KeyVersion.destroy_after`: a version's destruction waits out a recovery window;
- `ApprovalRequest.fingerprint`: one pending request per (requester, key, action and
  parameters), enforced by a partial unique constraint.

Data: the `kms-user` role no longer holds encrypt/decrypt/sign/verify on every key. On an
install where it did, its members keep what they could do on the keys that exist now, as
explicit per-key grants to the group `kms-user` (each key's type decides which of the
four), visible and removable key by key; keys created from now on need a grant. The
migration prints and logs what it changed.
"""

import logging

from django.db import migrations, models
from django.db.models.functions import Lower

log = logging.getLogger("kms.migrations")

USE = ("encrypt", "decrypt", "sign", "verify")


def refuse_case_clashes(apps, schema_editor):
    Key = apps.get_model("kms", "Key")
    seen: dict[str, list[str]] = {}
    for name in Key.objects.exclude(state="purged").values_list("name", flat=True):
        seen.setdefault(name.lower(), []).append(name)
    clashes = [names for names in seen.values() if len(names) > 1]
    if clashes:
        listed = "; ".join(", ".join(sorted(names)) for names in clashes)
        raise RuntimeError(
            "key names must be unique regardless of case, and these live keys clash: "
            f"{listed}. Delete and purge (or let expire) all but one of each, then migrate again."
        )


def fill_fingerprints(apps, schema_editor):
    from kms.models import approval_fingerprint

    ApprovalRequest = apps.get_model("kms", "ApprovalRequest")
    kept: set[tuple] = set()
    for request in ApprovalRequest.objects.order_by("created_at", "pk"):
        request.fingerprint = approval_fingerprint(request.action, request.parameters)
        fields = ["fingerprint"]
        same = (request.requester_id, request.key_id, request.fingerprint)
        if request.status == "pending":
            if same in kept:  # a duplicate of an earlier pending request (the flood)
                request.status = "cancelled"
                request.result = {"outcome": "cancelled", "reason": "duplicate of an earlier request"}
                fields += ["status", "result"]
            kept.add(same)
        request.save(update_fields=fields)


def _operations(key_type: str) -> set[str]:
    try:
        from kms.crypto import get_key_type

        return set(get_key_type(key_type).operations)
    except Exception:  # noqa: BLE001 - an unknown type keeps all four, as before
        return set(USE)


def kms_user_to_per_key(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Key = apps.get_model("kms", "Key")
    GroupGrant = apps.get_model("kms", "KeyGroupObjectPermission")
    group = Group.objects.filter(name="kms-user").first()
    if group is None:
        return
    held = list(group.permissions.filter(content_type__app_label="kms", codename__in=[f"{p}_key" for p in USE]))
    if not held:
        return
    keys = list(Key.objects.exclude(state="purged"))
    created = 0
    for key in keys:
        wanted = _operations(key.key_type)
        for permission in held:
            if permission.codename.removesuffix("_key") not in wanted:
                continue
            _, new = GroupGrant.objects.get_or_create(group=group, permission=permission, content_object=key)
            created += new
    group.permissions.remove(*held)
    names = ", ".join(sorted(p.codename.removesuffix("_key") for p in held))
    summary = (
        f"kms-user: removed the global {names} (key use now comes only from per-key grants); "
        f"to keep what its members could do, added {created} per-key grant(s) to group kms-user "
        f"on {len(keys)} existing key(s). Review them on each key's page and remove those not needed."
    )
    log.warning(summary)
    print(f"\n  {summary}")


class Migration(migrations.Migration):
    dependencies = [
        ("kms", "0007_token_scope"),
    ]

    operations = [
        migrations.RunPython(refuse_case_clashes, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="key", name="key_name_unique_live"),
        migrations.AddConstraint(
            model_name="key",
            constraint=models.UniqueConstraint(
                Lower("name"), condition=models.Q(("state", "purged"), _negated=True),
                name="key_name_ci_unique_live",
            ),
        ),
        migrations.AddField(
            model_name="keyversion",
            name="destroy_after",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="approvalrequest",
            name="fingerprint",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.RunPython(fill_fingerprints, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="approvalrequest",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "pending")), fields=("requester", "key", "fingerprint"),
                name="one_pending_request_per_action",
            ),
        ),
        migrations.RunPython(kms_user_to_per_key, migrations.RunPython.noop),
    ]
