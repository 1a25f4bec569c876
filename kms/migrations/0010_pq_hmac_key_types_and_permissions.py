"""Issue 16: the HMAC, ML-DSA, ML-KEM and key-agreement types are served, and their operations
have their own per-key permissions (hmac, decapsulate, derive), granted per key like encrypt.

Nothing is granted by this migration: no role holds use of keys globally (migration 0008).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('kms', '0009_keyversion_destroyed_at_index'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='key',
            options={'default_permissions': ('add', 'view', 'delete'), 'ordering': ['name'], 'permissions': [('encrypt_key', 'Can encrypt with or on the key'), ('decrypt_key', 'Can decrypt with or on the key'), ('sign_key', 'Can sign with or on the key'), ('verify_key', 'Can verify with or on the key'), ('hmac_key', 'Can hmac with or on the key'), ('decapsulate_key', 'Can decapsulate with or on the key'), ('derive_key', 'Can derive with or on the key'), ('rotate_key', 'Can rotate with or on the key'), ('manage_key', 'Can manage with or on the key'), ('export_key', 'Can export with or on the key'), ('grant_key', 'Can grant with or on the key'), ('approve_key', 'Can approve with or on the key')]},
        ),
        migrations.AlterField(
            model_name='key',
            name='key_type',
            field=models.CharField(choices=[('aes256', 'aes256'), ('rsa2048', 'rsa2048'), ('rsa4096', 'rsa4096'), ('ecdsa-p256', 'ecdsa-p256'), ('ecdsa-p384', 'ecdsa-p384'), ('ed25519', 'ed25519'), ('hmac', 'hmac'), ('ml-dsa-44', 'ml-dsa-44'), ('ml-dsa-65', 'ml-dsa-65'), ('ml-dsa-87', 'ml-dsa-87'), ('ml-kem-768', 'ml-kem-768'), ('ml-kem-1024', 'ml-kem-1024'), ('x25519', 'x25519'), ('ecdh-p256', 'ecdh-p256'), ('ecdh-p384', 'ecdh-p384')], max_length=16),
        ),
    ]
