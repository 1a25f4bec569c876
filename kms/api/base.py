"""What every API view shares: authentication, throttles, strict parsing, the data envelope."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import parsers, permissions, throttling
from rest_framework.exceptions import ParseError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils import json
from rest_framework.views import APIView

from kms.api.auth import BearerTokenAuthentication, SessionAuthentication, actor_for
from kms.dataplane.parse import MAX_BODY_BYTES, RAW_MAX_BYTES
from kms.exceptions import InvalidRequest, PayloadTooLarge
from kms.services.actor import Actor


def _check_length(request: Any, limit: int) -> None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise PayloadTooLarge(f"request body is {length} bytes; the limit is {limit}")


class LimitedJSONParser(parsers.BaseParser):
    """JSON, refused before reading when over the body limit (413).

    Not a JSONParser subclass on purpose: DRF hands those `request.body`, which Django
    refuses past DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB) with an HTML 400 before any limit of
    ours is checked. This one reads the stream itself, at most MAX_BODY_BYTES + 1 bytes.
    """

    media_type = "application/json"
    renderer_class = JSONRenderer

    def parse(self, stream, media_type=None, parser_context=None):  # noqa: ANN001, ANN201
        _check_length(parser_context["request"], MAX_BODY_BYTES)
        body = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"request body is over the limit of {MAX_BODY_BYTES} bytes")
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(body.decode(encoding), parse_constant=json.strict_constant)
        except ValueError as exc:  # UnicodeDecodeError included
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:  # "[[[[..." nested deeper than the interpreter's stack
            raise ParseError("JSON parse error - nested too deeply") from None


class RawBodyParser(parsers.BaseParser):
    """application/octet-stream: the body is the data (sign/verify of whole files)."""

    media_type = "application/octet-stream"

    def parse(self, stream, media_type=None, parser_context=None):  # noqa: ANN001, ANN201
        _check_length(parser_context["request"], RAW_MAX_BYTES)
        body = stream.read(RAW_MAX_BYTES + 1) if stream is not None else b""
        if len(body) > RAW_MAX_BYTES:
            raise PayloadTooLarge(f"request body is over the limit of {RAW_MAX_BYTES} bytes")
        return body


class ConfiguredRateThrottle(throttling.SimpleRateThrottle):
    """The rate is read from settings.EGIDE_THROTTLE_<SCOPE> when the throttle is made (per
    request): DRF's own THROTTLE_RATES is a copy taken at import, blind to later changes."""

    def get_rate(self) -> str | None:
        return throttle_rates()[self.scope]


class PerTokenThrottle(ConfiguredRateThrottle):
    """Requests per API token (or per session user)."""

    scope = "token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        token = getattr(request.auth, "pk", None)
        ident = f"t{token}" if token is not None else f"u{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class PerAddressThrottle(ConfiguredRateThrottle):
    scope = "address"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginThrottle(PerAddressThrottle):
    """Password attempts per address (token creation with username and password)."""

    scope = "login"


class ApiView(APIView):
    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [LimitedJSONParser]
    renderer_classes = [JSONRenderer]
    throttle_classes = [PerAddressThrottle, PerTokenThrottle]
    # The query parameters a view reads; any other is refused, never ignored. None: the
    # view checks them itself.
    query_params: frozenset[str] | None = frozenset()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication and throttles first
        if self.query_params is not None:
            unknown = sorted(set(request.query_params) - self.query_params)
            if unknown:
                raise InvalidRequest(f"unknown query parameter: {unknown[0]}")

    @property
    def actor(self) -> Actor:
        return actor_for(self.request)

    def body(self, serializer: type, data: Any = None) -> dict[str, Any]:
        s = serializer(data=self.request.data if data is None else data)
        s.is_valid(raise_exception=True)
        return dict(s.validated_data)

    def no_body(self) -> None:
        """A request that takes no parameters refuses any (never silently ignores them)."""
        if self.request.data:
            raise InvalidRequest("this request takes no body")

    @staticmethod
    def ok(data: Any, status: int = 200, **extra: Any) -> Response:
        return Response({"data": data, **extra}, status=status)


def throttle_rates() -> dict[str, str]:
    return {
        "token": settings.EGIDE_THROTTLE_TOKEN,
        "address": settings.EGIDE_THROTTLE_ADDRESS,
        "login": settings.EGIDE_THROTTLE_LOGIN,
    }
