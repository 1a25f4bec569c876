"""WSGI entry point (granian / gunicorn: egide_site.wsgi:application).

Data-plane requests with a bearer token take the fast lane (kms.dataplane.wsgi);
everything else is Django's.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "egide_site.settings")
django_application = get_wsgi_application()

from kms.dataplane.wsgi import FastLane  # noqa: E402 - needs the configured Django

application = FastLane(django_application)

# Everything loaded so far (Django, the URL conf, the apps: ~90,000 objects) lives as long as
# the worker: out of the collector's sight, a full collection no longer walks it (measured:
# one 48 ms pause per ~20,000 requests, bench/fastlane_cpu.py; docs/benchmarks.md, round five).
gc.freeze()
