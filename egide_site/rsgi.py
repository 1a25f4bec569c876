"""RSGI entry point (granian --interface rsgi egide_site.rsgi:application; scripts/serve).

The data plane's cache hits are answered on granian's event loop; everything else goes to
the WSGI application (egide_site.wsgi) in a pool of EGIDE_THREADS threads
(kms.dataplane.rsgi).
"""

from egide_site.wsgi import application as wsgi_application
from kms.dataplane.rsgi import Lane

application = Lane(wsgi_application)
