# Issue 17: Transit mounts (kms.transit.models) and the key namespace they give their keys.

import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('kms', '0010_pq_hmac_key_types_and_permissions'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='TransitMount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('path', models.CharField(max_length=128)),
                ('namespace', models.CharField(editable=False, max_length=40, unique=True)),
                ('description', models.TextField(blank=True, default='')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('disabled_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'ordering': ['path'],
                'default_permissions': (),
            },
        ),
        migrations.RemoveConstraint(
            model_name='key',
            name='key_name_ci_unique_live',
        ),
        migrations.AddField(
            model_name='key',
            name='namespace',
            field=models.CharField(blank=True, default='', editable=False, max_length=40),
        ),
        migrations.AddIndex(
            model_name='key',
            index=models.Index(fields=['namespace', 'name'], name='key_namespace_name'),
        ),
        migrations.AddConstraint(
            model_name='key',
            constraint=models.UniqueConstraint(models.F('namespace'), django.db.models.functions.text.Lower('name'), condition=models.Q(('state', 'purged'), _negated=True), name='key_namespace_name_ci_unique_live'),
        ),
        migrations.AddField(
            model_name='transitmount',
            name='created_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name='transitmount',
            constraint=models.UniqueConstraint(condition=models.Q(('disabled_at__isnull', True)), fields=('path',), name='transit_mount_path_enabled_unique'),
        ),
    ]
