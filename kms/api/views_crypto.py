"""The data-plane endpoints in /v1/schema, derived from the operations' declarations.

The endpoints themselves are served by the one pipeline (kms.dataplane: the WSGI fast
lane, or its Django view); drf-spectacular documents only DRF views, so each operation
gets a documentation-only view here whose request and response shapes are built from
its `Operation` (kms/dataplane/ops): fields, batch, raw body, results. Nothing here runs.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from kms.api.base import ApiView
from kms.api.schema import BODY_ERRORS, envelope, one_of, single_or_batch
from kms.api.serializers import Base64Field, Strict, StrictBooleanField
from kms.dataplane import parse
from kms.dataplane.core import Field, Operation
from kms.dataplane.ops import OPERATIONS
from kms.rules import MAX_WHOLE_NUMBER

_OUT = {"string": serializers.CharField, "integer": serializers.IntegerField,
        "boolean": serializers.BooleanField, "byte": Base64Field}  # fmt: skip


def _field(spec: Field) -> serializers.Field:
    common: dict[str, Any] = {"required": spec.required, "help_text": spec.doc or None}
    if spec.nullable:
        common["allow_null"] = True
    if spec.kind == "b64":
        return Base64Field(**common)
    if spec.kind == "bool":
        return StrictBooleanField(**common)
    if spec.kind == "int":
        return serializers.IntegerField(min_value=1, max_value=MAX_WHOLE_NUMBER, **common)
    if spec.choices:
        return serializers.ChoiceField(choices=list(spec.choices), **common)
    return serializers.CharField(max_length=spec.max_length, trim_whitespace=False, **common)


def _shape(name: str, fields: dict[str, Field]) -> type[Strict]:
    return type(name, (Strict,), {field: _field(spec) for field, spec in fields.items()})


def _result(name: str, fields: dict[str, str]) -> type[serializers.Serializer]:
    built: dict[str, serializers.Field] = {}
    for field, kind in fields.items():
        nullable = kind.endswith("?")
        built[field] = _OUT[kind.rstrip("?")](allow_null=nullable) if nullable else _OUT[kind]()
    return type(name, (serializers.Serializer,), built)


def _doc_view(op: Operation) -> type[ApiView]:
    title = "".join(part.capitalize() for part in op.name.split("-"))  # derive-shared-secret → DeriveSharedSecret
    item = _shape(f"{title}ItemIn", op.item_fields)
    single = _shape(f"{title}In", {**op.item_fields, **op.single_fields}) if op.single_fields else item
    result = _result(f"{title}Out", op.result_fields)
    if op.batchable:
        batch = type(f"{title}BatchIn", (Strict,), {"batch": serializers.ListField(
            child=item(), min_length=1, max_length=parse.MAX_BATCH_ITEMS)})  # fmt: skip
        request: Any = one_of(title, single, batch)
        response: Any = single_or_batch(f"{title}ed" if not title.endswith("e") else f"{title}d", result, result)
    else:
        request, response = single, envelope(result, f"{title}Result")
    parameters: list[OpenApiParameter] = []
    if op.raw is not None:
        request = {"application/json": request, "application/octet-stream": OpenApiTypes.BINARY}
        for field in op.raw.query_fields:
            spec = {**op.item_fields, **op.single_fields}[field]
            kind: Any = {"type": "integer", "minimum": 1} if spec.kind == "int" else str
            parameters.append(OpenApiParameter(field, kind, enum=list(spec.choices) or None,
                                               description=f"raw-body form only: {spec.doc}"))  # fmt: skip

    @extend_schema(operation_id=op.name, summary=op.summary, request=request, parameters=parameters,
                   responses={200: response, **BODY_ERRORS})  # fmt: skip
    def post(self: Any, request: Any, name: str) -> Any:
        raise AssertionError("documentation only: served by kms.dataplane")

    return type(f"{title}View", (ApiView,), {"post": post, "__doc__": op.summary})


DOC_VIEWS: dict[str, type[ApiView]] = {name: _doc_view(op) for name, op in OPERATIONS.items()}
