"""Egide's Python client, under an unambiguous name: ``from egide import EgideClient``.

The same objects as ``kms.client`` (the server's own package), re-exported for programs
that use Egide: a bare ``kms`` says nothing about whose KMS it is. See docs/client.md.
"""

from kms.client import *  # noqa: F403 - the client's public names, listed in kms.client.__all__
from kms.client import __all__ as __all__
