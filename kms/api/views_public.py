"""Control-plane reads that are not key management: a signing key's JWKS, random bytes."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from kms.api.base import ApiView
from kms.api.schema import BODY_ERRORS, ERRORS, envelope
from kms.exceptions import InvalidRequest
from kms.services.jwks import key_jwks
from kms.services.random_bytes import FORMATS, MAX_RANDOM_BYTES, random_bytes

JWK_OUT = inline_serializer("Jwk", {
    "kty": serializers.CharField(), "use": serializers.CharField(), "kid": serializers.CharField(),
    "alg": serializers.CharField(required=False), "crv": serializers.CharField(required=False),
    "x": serializers.CharField(required=False), "y": serializers.CharField(required=False),
    "n": serializers.CharField(required=False), "e": serializers.CharField(required=False),
})  # fmt: skip
JWKS_OUT = inline_serializer("Jwks", {"keys": serializers.ListField(child=JWK_OUT)})
RANDOM_IN = inline_serializer("RandomIn", {
    "bytes": serializers.IntegerField(min_value=1, max_value=MAX_RANDOM_BYTES),
    "format": serializers.ChoiceField(choices=list(FORMATS), required=False),
})  # fmt: skip
RANDOM_OUT = inline_serializer("RandomOut", {"random": serializers.CharField()})


class JwksView(ApiView):
    @extend_schema(operation_id="keys_jwks",
                   summary="The public keys of a signing key's working versions as a JWK set; kid is "
                           "`<key uid>:<version>`.",
                   responses={200: envelope(JWKS_OUT, "JwksResult"), **ERRORS})  # fmt: skip
    def get(self, request: Request, name: str) -> Response:
        return self.ok(key_jwks(actor=self.actor, name=name))


class RandomView(ApiView):
    @extend_schema(operation_id="random", summary="Random bytes from the server's CSPRNG (at most 1024).",
                   request=RANDOM_IN, responses={200: envelope(RANDOM_OUT, "RandomResult"), **BODY_ERRORS})  # fmt: skip
    def post(self, request: Request) -> Response:
        body = request.data
        if not isinstance(body, dict):
            raise InvalidRequest("expected a JSON object")
        unknown = sorted(set(body) - {"bytes", "format"})
        if unknown:
            raise InvalidRequest(f"{str(unknown[0])[:64]!r}: unknown field")
        if "bytes" not in body:
            raise InvalidRequest("bytes: this field is required")
        output = body.get("format", "base64")
        return self.ok({"random": random_bytes(actor=self.actor, count=body["bytes"], output=output)})
