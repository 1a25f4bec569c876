"""EgideClient: the Python client of the Egide API, one method per endpoint."""

from __future__ import annotations

from kms.client.access import AccessCalls
from kms.client.byok import ByokCalls
from kms.client.crypto import CryptoCalls
from kms.client.keys import KeyCalls
from kms.client.users import UserCalls


class EgideClient(KeyCalls, CryptoCalls, AccessCalls, UserCalls, ByokCalls):
    """A client of one Egide server: ``EgideClient("http://127.0.0.1:8200", token)``.

    Methods follow docs/api.md; binary values are bytes (the client does base64).
    Every method returns the answer or raises an EgideError subclass (see
    kms.client.errors): the one for the API's error code, ConnectionFailed,
    NotLoggedIn (no token; nothing sent), ServerError, or ApprovalPending (202: the
    action waits for approvers and is not done). One kept-alive connection; not
    thread-safe. ``client_name`` is sent as ``X-Egide-Client`` (the CLI sends "cli",
    recorded as the audit source).
    """
