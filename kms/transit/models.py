"""Transit mounts: `sys/mounts/<path>` with `type: transit`.

The default mount `transit` is Egide's native key space and has no row. Every other
enabled mount is a row whose `namespace` (a fresh random id, never reused) is carried by
its keys (kms.models.Key.namespace). Disabling a mount archives it (`disabled_at`): its
keys keep their rows and their namespace, no longer answer and no longer hold names under
that path; enabling the path again makes a new row, a new, empty namespace.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TransitMount(models.Model):
    path = models.CharField(max_length=128)
    namespace = models.CharField(max_length=40, unique=True, editable=False)
    description = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "kms"
        default_permissions = ()
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(
                fields=["path"], condition=models.Q(disabled_at__isnull=True), name="transit_mount_path_enabled_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.path
