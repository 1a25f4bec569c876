from django.apps import AppConfig
from django.db.models.signals import post_migrate


class KmsConfig(AppConfig):
    name = "kms"
    verbose_name = "Egide KMS"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kms.roles import on_post_migrate

        # After auth's own handler has created the permissions (it is registered first).
        post_migrate.connect(on_post_migrate, dispatch_uid="kms-roles")

        from kms.dataplane import generation

        generation.connect()

        from kms import db_adapters

        db_adapters.connect()  # PostgreSQL timestamps parsed in C

        from kms.services import authn, users

        authn.connect()  # every login, failed login and logout in the audit trail
        users.connect()  # a password change or deactivation by any path revokes tokens
