"""WSGI entry point (granian / gunicorn: egide_site.wsgi:application).

Data-plane requests with a bearer token take the fast lane (kms.dataplane.wsgi);
everything else is Django's.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "egide_site.settings")
django_application = get_wsgi_application()

from kms.dataplane.wsgi import FastLane  # noqa: E402 - needs the configured Django

application = FastLane(django_application)
