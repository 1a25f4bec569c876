"""Data-plane endpoints: encrypt, decrypt, sign, verify, datakey, rewrap (single and batch)."""

from __future__ import annotations

import base64
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from kms.api import serializers as s
from kms.api.base import ApiView, LimitedJSONParser, RawBodyParser
from kms.api.schema import BODY_ERRORS, envelope, one_of, single_or_batch
from kms.exceptions import InvalidRequest
from kms.services import crypto_ops as ops

ENCRYPT_BATCH = s.batch_serializer(s.EncryptItemIn)
DECRYPT_BATCH = s.batch_serializer(s.DecryptItemIn)
SIGN_BATCH = s.batch_serializer(s.SignItemIn)
VERIFY_BATCH = s.batch_serializer(s.VerifyItemIn)
# Bodies are one item, or {"batch": [...]} of up to 1000 (answered item by item, in order).
ENCRYPT_IN = one_of("Encrypt", s.EncryptIn, ENCRYPT_BATCH)
DECRYPT_IN = one_of("Decrypt", s.DecryptItemIn, DECRYPT_BATCH)
SIGN_IN = one_of("Sign", s.SignIn, SIGN_BATCH)
VERIFY_IN = one_of("Verify", s.VerifyItemIn, VERIFY_BATCH)
RAW_BODY = {"application/octet-stream": OpenApiTypes.BINARY}  # the data itself, at most 16 MiB


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _item(result: Any, render) -> dict[str, Any]:  # noqa: ANN001
    if isinstance(result, ops.ItemError):
        return {"error": {"code": result.code, "message": result.message}}
    return render(result)


def _is_batch(request: Request) -> bool:
    return isinstance(request.data, dict) and "batch" in request.data


def _sign_params(item: dict[str, Any]) -> dict[str, Any]:
    return {"hash_name": item.get("algorithm"), "padding": item.get("padding"),
            "prehashed": item.get("prehashed", False)}  # fmt: skip


class EncryptView(ApiView):
    @extend_schema(operation_id="encrypt", request=ENCRYPT_IN,
                   responses={200: single_or_batch("Encrypted", s.CiphertextOut, s.CiphertextOut), **BODY_ERRORS})  # fmt: skip
    def post(self, request: Request, name: str) -> Response:
        if _is_batch(request):
            items = s.parse_batch(self.body(s.BatchIn)["batch"], s.EncryptItemIn)
            results = ops.encrypt_batch(actor=self.actor, name=name, items=items)
            return self.ok({"batch": [_item(r, _ciphertext) for r in results]})
        body = self.body(s.EncryptIn)
        result = ops.encrypt(actor=self.actor, name=name, plaintext=body["plaintext"],
                             context=body.get("context"), key_version=body.get("key_version"))  # fmt: skip
        return self.ok(_ciphertext(result))


def _ciphertext(result: ops.Ciphertext) -> dict[str, Any]:
    return {"ciphertext": result.ciphertext, "key_version": result.key_version}


class DecryptView(ApiView):
    @extend_schema(operation_id="decrypt", request=DECRYPT_IN,
                   responses={200: single_or_batch("Decrypted", s.PlaintextOut, s.PlaintextOut), **BODY_ERRORS})  # fmt: skip
    def post(self, request: Request, name: str) -> Response:
        if _is_batch(request):
            items = s.parse_batch(self.body(s.BatchIn)["batch"], s.DecryptItemIn)
            results = ops.decrypt_batch(actor=self.actor, name=name, items=items)
            return self.ok({"batch": [_item(r, lambda p: {"plaintext": _b64(p)}) for r in results]})
        body = self.body(s.DecryptItemIn)
        plaintext = ops.decrypt(actor=self.actor, name=name, ciphertext=body["ciphertext"],
                                context=body.get("context"))  # fmt: skip
        return self.ok({"plaintext": _b64(plaintext)})


RAW_PARAMS = [
    OpenApiParameter("algorithm", str, enum=list(s.HASH_NAMES), description="raw-body form only"),
    OpenApiParameter("padding", str, enum=list(s.PADDINGS), description="raw-body form only"),
]


class _RawCapable(ApiView):
    """Sign/verify also take the data as a raw octet-stream body, other fields in the query."""

    parser_classes = [LimitedJSONParser, RawBodyParser]
    raw_fields: set[str] = {"algorithm", "padding"}
    query_params = None  # raw_item() checks them: allowed only with a raw body

    def raw_item(self, request: Request) -> dict[str, Any] | None:
        if not isinstance(request.data, bytes):
            if request.query_params:
                raise InvalidRequest("query parameters apply only to a raw (octet-stream) body")
            return None
        unknown = set(request.query_params) - self.raw_fields
        if unknown:
            raise InvalidRequest(f"unknown query parameter: {sorted(unknown)[0]}")
        item: dict[str, Any] = {"data": request.data}
        for field in self.raw_fields:
            if field in request.query_params:
                item[field] = request.query_params[field]
        return item


class SignView(_RawCapable):
    raw_fields = {"algorithm", "padding", "key_version"}

    @extend_schema(operation_id="sign", request={"application/json": SIGN_IN, **RAW_BODY},
                   parameters=[*RAW_PARAMS, OpenApiParameter("key_version", {"type": "integer", "minimum": 1},
                                                             description="raw-body form only")],
                   responses={200: single_or_batch("Signed", s.SignatureOut, s.SignatureOut), **BODY_ERRORS})  # fmt: skip
    def post(self, request: Request, name: str) -> Response:
        raw = self.raw_item(request)
        if raw is None and _is_batch(request):
            parsed = s.parse_batch(self.body(s.BatchIn)["batch"], s.SignItemIn)
            items = [i if isinstance(i, ops.ItemError) else {"data": i["data"], **_sign_params(i)} for i in parsed]
            results = ops.sign_batch(actor=self.actor, name=name, items=items)
            return self.ok({"batch": [_item(r, _signature) for r in results]})
        body = raw if raw is not None else self.body(s.SignIn)
        version = body.get("key_version")
        if isinstance(version, str):
            # isascii: str.isdigit() also takes "²" (which int() refuses) and "١".
            ok = version.isascii() and version.isdigit() and len(version) <= 10
            version = int(version) if ok else _bad("key_version must be a whole number")
        result = ops.sign(actor=self.actor, name=name, data=body["data"], key_version=version,
                          **_sign_params(body))  # fmt: skip
        return self.ok(_signature(result))


def _bad(message: str) -> Any:
    raise InvalidRequest(message)


def _signature(result: ops.Signature) -> dict[str, Any]:
    return {"signature": result.signature, "key_version": result.key_version}


class VerifyView(_RawCapable):
    raw_fields = {"algorithm", "padding", "signature"}

    @extend_schema(operation_id="verify", request={"application/json": VERIFY_IN, **RAW_BODY},
                   parameters=[*RAW_PARAMS, OpenApiParameter("signature", str, description="raw-body form only")],
                   responses={200: single_or_batch("Verified", s.VerifyOut, s.VerifyOut), **BODY_ERRORS})  # fmt: skip
    def post(self, request: Request, name: str) -> Response:
        raw = self.raw_item(request)
        if raw is None and _is_batch(request):
            parsed = s.parse_batch(self.body(s.BatchIn)["batch"], s.VerifyItemIn)
            items = [i if isinstance(i, ops.ItemError) else
                     {"data": i["data"], "signature": i["signature"], **_sign_params(i)} for i in parsed]  # fmt: skip
            results = ops.verify_batch(actor=self.actor, name=name, items=items)
            return self.ok({"batch": [_item(r, lambda v: {"valid": v}) for r in results]})
        body = raw if raw is not None else self.body(s.VerifyItemIn)
        if "signature" not in body:
            raise InvalidRequest("signature: this field is required")
        valid = ops.verify(actor=self.actor, name=name, data=body["data"], signature=body["signature"],
                           **_sign_params(body))  # fmt: skip
        return self.ok({"valid": valid})


class DataKeyView(ApiView):
    @extend_schema(operation_id="datakey", request=s.DataKeyIn,
                   responses={200: envelope(s.DataKeyOut, "DataKey"), **BODY_ERRORS})  # fmt: skip
    def post(self, request: Request, name: str) -> Response:
        body = self.body(s.DataKeyIn)
        dk = ops.datakey(actor=self.actor, name=name, context=body.get("context"),
                         include_plaintext=body.get("plaintext", True))  # fmt: skip
        plaintext = _b64(dk.plaintext) if dk.plaintext is not None else None
        return self.ok({"plaintext": plaintext, "ciphertext": dk.ciphertext, "key_version": dk.key_version})


class RewrapView(ApiView):
    @extend_schema(operation_id="rewrap", request=s.RewrapIn,
                   responses={200: envelope(s.CiphertextOut, "Rewrapped"), **BODY_ERRORS})  # fmt: skip
    def post(self, request: Request, name: str) -> Response:
        body = self.body(s.RewrapIn)
        result = ops.rewrap(actor=self.actor, name=name, ciphertext=body["ciphertext"], context=body.get("context"))
        return self.ok(_ciphertext(result))
