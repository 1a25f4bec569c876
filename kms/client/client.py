"""EgideClient: the Python client of the Egide API, one method per endpoint."""

from __future__ import annotations

from kms.cli import config  # where the CLI finds its server and token (pure, no Django)
from kms.client.access import AccessCalls
from kms.client.byok import ByokCalls
from kms.client.crypto import CryptoCalls
from kms.client.files import FileCalls
from kms.client.keys import KeyCalls
from kms.client.users import UserCalls


class EgideClient(FileCalls, KeyCalls, CryptoCalls, AccessCalls, UserCalls, ByokCalls):
    """A client of one Egide server: ``EgideClient("http://127.0.0.1:8200", token)``.

    Methods follow docs/api.md; binary values are bytes (the client does base64).
    Every method returns the answer or raises an EgideError subclass (see
    kms.client.errors): the one for the API's error code, ConnectionFailed,
    NotLoggedIn (no token; nothing sent), ServerError, or ApprovalPending (202: the
    action waits for approvers and is not done). One kept-alive connection; not
    thread-safe. ``client_name`` is sent as ``X-Egide-Client`` (the CLI sends "cli",
    recorded as the audit source).

    ``EgideClient.from_env()`` finds the server and the token as the ``egide`` CLI does.
    """

    @classmethod
    def from_env(cls, *, timeout: float = 30, client_name: str | None = None) -> EgideClient:
        """A client configured like the CLI: EGIDE_ADDR (default http://127.0.0.1:8200),
        EGIDE_TOKEN or else the token saved by ``egide login`` (or ``make run``), EGIDE_CACERT,
        and EGIDE_ALLOW_HTTP=1 to allow plain http to another machine."""
        return cls(
            config.server_addr(), config.saved_token(), timeout=timeout, client_name=client_name,
            ca_file=config.ca_file(), allow_http=config.allow_http(),
        )  # fmt: skip
