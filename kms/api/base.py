"""What every API view shares: authentication, throttles, strict parsing, the data envelope."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import parsers, permissions, throttling
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kms.api.auth import BearerTokenAuthentication, SessionAuthentication, actor_for
from kms.api.serializers import MAX_BODY_BYTES, RAW_MAX_BYTES
from kms.exceptions import PayloadTooLarge
from kms.services.actor import Actor


def _check_length(request: Any, limit: int) -> None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise PayloadTooLarge(f"request body is {length} bytes; the limit is {limit}")


class LimitedJSONParser(parsers.JSONParser):
    """JSON, refused before parsing when over the body limit (413)."""

    def parse(self, stream, media_type=None, parser_context=None):  # noqa: ANN001, ANN201
        _check_length(parser_context["request"], MAX_BODY_BYTES)
        return super().parse(stream, media_type, parser_context)


class RawBodyParser(parsers.BaseParser):
    """application/octet-stream: the body is the data (sign/verify of whole files)."""

    media_type = "application/octet-stream"

    def parse(self, stream, media_type=None, parser_context=None):  # noqa: ANN001, ANN201
        _check_length(parser_context["request"], RAW_MAX_BYTES)
        body = stream.read(RAW_MAX_BYTES + 1) if stream is not None else b""
        if len(body) > RAW_MAX_BYTES:
            raise PayloadTooLarge(f"request body is over the limit of {RAW_MAX_BYTES} bytes")
        return body


class PerTokenThrottle(throttling.SimpleRateThrottle):
    """Requests per API token (or per session user)."""

    scope = "token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        token = getattr(request.auth, "pk", None)
        ident = f"t{token}" if token is not None else f"u{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class PerAddressThrottle(throttling.SimpleRateThrottle):
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

    @property
    def actor(self) -> Actor:
        return actor_for(self.request)

    def body(self, serializer: type, data: Any = None) -> dict[str, Any]:
        s = serializer(data=self.request.data if data is None else data)
        s.is_valid(raise_exception=True)
        return dict(s.validated_data)

    @staticmethod
    def ok(data: Any, status: int = 200, **extra: Any) -> Response:
        return Response({"data": data, **extra}, status=status)


def throttle_rates() -> dict[str, str]:
    return {
        "token": settings.EGIDE_THROTTLE_TOKEN,
        "address": settings.EGIDE_THROTTLE_ADDRESS,
        "login": settings.EGIDE_THROTTLE_LOGIN,
    }
