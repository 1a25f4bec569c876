"""The pages' forms: they parse what a person typed into the values the services take.

Validation of meaning (name rules, ranges, state) is the services' job; a form checks only
that the input has the right shape, so the same rule never lives twice.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import Any

from django import forms

from kms import rules
from kms.crypto import KEY_TYPES
from kms.dataplane.ops.sign import SIGNING_FIELDS
from kms.durations import format_duration, parse_duration
from kms.exceptions import InvalidRequest
from kms.models import KEY_PERMISSIONS, Key
from kms.services.audit_log import OUTCOMES
from kms.services.keys import MAX_ROTATION_PERIOD, MIN_ROTATION_PERIOD
from kms.services.selectors import STATUSES

MAX_TEXT = 64 * 1024  # playground inputs: enough to try things, small enough for a page
SIGNING_TYPES = {name for name, kt in KEY_TYPES.items() if "sign" in kt.operations}


class WebForm(forms.Form):
    """Labels without Django's trailing colon: the pages lay labels out above their fields."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _type_choices(blank: str | None = None) -> list[tuple[str, str]]:
    choices = [(name, name) for name in KEY_TYPES]
    return [("", blank), *choices] if blank is not None else choices


class DurationField(forms.CharField):
    """'90d', '12h', '1w' -> timedelta; empty -> None (no automatic rotation)."""

    def clean(self, value: Any) -> timedelta | None:  # type: ignore[override]
        text = (super().clean(value) or "").strip()  # the text's own checks (length) first
        if not text:
            return None
        try:
            return parse_duration(text)
        except InvalidRequest as exc:
            raise forms.ValidationError(exc.message) from None

    def prepare_value(self, value: Any) -> Any:
        return format_duration(value) if isinstance(value, timedelta) else value


# --- keys ------------------------------------------------------------------------------


class KeyFilterForm(WebForm):
    q = forms.CharField(label="Name starts with", required=False, max_length=128)
    type = forms.ChoiceField(label="Type", required=False, choices=_type_choices("any type"))
    status = forms.ChoiceField(
        label="Status", required=False,
        choices=[("", "any status"), *((s, s) for s in sorted(STATUSES))],
    )  # fmt: skip
    after = forms.CharField(required=False, max_length=128, widget=forms.HiddenInput)


# What a type is for, in the words of the create page, from its operations (KeyType facts).
PURPOSES = (
    (frozenset({"encrypt", "sign"}), "both: encrypt and sign"),
    (frozenset({"encrypt"}), "encrypt and decrypt"),
    (frozenset({"sign"}), "sign and verify"),
    (frozenset({"hmac"}), "HMAC: authenticate with a shared secret"),
    (frozenset({"derive"}), "key agreement"),
    (frozenset({"decapsulate"}), "decapsulation: receive a post-quantum shared secret"),
)


def purpose(key_type: Any) -> str:
    """The first of PURPOSES whose operations the type all has: 'both: encrypt and sign', 'sign and verify'..."""
    for needs, words in PURPOSES:
        if needs <= key_type.operations:
            return words
    return ", ".join(sorted(key_type.operations))


class KeyCreateForm(WebForm):
    name = forms.CharField(max_length=128, help_text="Letters, digits, '.', '_' or '-'; e.g. encryption-prod-payments")
    key_type = forms.ChoiceField(
        label="Type", initial="aes256", choices=[(name, f"{name} — {purpose(kt)}") for name, kt in KEY_TYPES.items()],
        help_text="What each type is for is listed below the form.",
    )  # fmt: skip
    description = forms.CharField(required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))
    exportable = forms.BooleanField(
        required=False, help_text="Once on, it can never be turned off; the material may leave."
    )
    allow_deletion = forms.BooleanField(label="Deletion allowed", required=False, initial=True)
    rotation_period = DurationField(
        required=False, max_length=12,
        help_text="e.g. 90d for symmetric keys, 365d for asymmetric; empty: rotate by hand only",
    )  # fmt: skip
    approvals_required = forms.IntegerField(
        min_value=0, max_value=10, initial=0,
        help_text="Approvers needed for sensitive actions (delete, disable, export, grants...)",
    )  # fmt: skip
    max_signatures_per_version = forms.IntegerField(
        required=False, min_value=1, label="Max signatures per version",
        help_text="Signing keys only: rotate after this many signatures",
    )  # fmt: skip

    # Every field is checked in one pass, each error shown beside its field (issue 18): the
    # service's own rules (kms.rules.check_name, its rotation bounds, the registry's signing
    # fact), so a person sees every mistake at once; key_create checks them all again.
    def clean_name(self) -> str:
        try:
            return rules.check_name(self.cleaned_data["name"])
        except InvalidRequest as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_rotation_period(self) -> timedelta | None:
        period = self.cleaned_data.get("rotation_period")
        if period is not None and not MIN_ROTATION_PERIOD <= period <= MAX_ROTATION_PERIOD:
            raise forms.ValidationError("A rotation period is from 1h to 3660d (e.g. 12h, 90d).")
        return period

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        key_type = data.get("key_type")
        if key_type and key_type not in SIGNING_TYPES and data.get("max_signatures_per_version") is not None:
            self.add_error("max_signatures_per_version", f"Only signing keys count signatures, not {key_type}.")
        return data

    @property
    def signing_types(self) -> str:
        """The types the signature cap applies to (the page hides it for the others)."""
        return " ".join(sorted(SIGNING_TYPES))

    @property
    def type_summaries(self) -> list[tuple[str, str, str]]:
        """(type, what it is for in words, its summary) of every served type, for the create page."""
        return [(name, purpose(kt), kt.summary) for name, kt in KEY_TYPES.items()]

    def options(self) -> dict[str, Any]:
        """The keyword arguments of key_create, beyond name and type."""
        data = self.cleaned_data
        options = {
            name: data[name]
            for name in (
                "description",
                "exportable",
                "allow_deletion",
                "approvals_required",
                "rotation_period",
            )
        }
        if data.get("max_signatures_per_version") is not None:
            options["max_signatures_per_version"] = data["max_signatures_per_version"]
        return options


class KeySettingsForm(WebForm):
    description = forms.CharField(required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))
    rotation_period = DurationField(required=False, max_length=12, help_text="e.g. 90d; empty: none")
    min_encryption_version = forms.IntegerField(min_value=0, help_text="0: only the current version encrypts and signs")
    min_decryption_version = forms.IntegerField(
        min_value=1, help_text="Older versions are retired: they no longer decrypt or verify"
    )
    approvals_required = forms.IntegerField(min_value=0, max_value=10)
    allow_deletion = forms.BooleanField(label="Deletion allowed", required=False)
    exportable = forms.BooleanField(required=False)
    max_signatures_per_version = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args: Any, key: Key, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {name: getattr(key, name) for name in self.base_fields})
        super().__init__(*args, **kwargs)
        self.key = key
        if key.exportable:  # cannot be turned off: shown, not editable
            self.fields["exportable"].disabled = True
        if key.key_type not in SIGNING_TYPES:
            del self.fields["max_signatures_per_version"]

    def changes(self) -> dict[str, Any]:
        """Only what differs from the key now: an unchanged value is not a change to approve."""
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name in self.fields and value != getattr(self.key, name)
        }


class ConfirmNameForm(WebForm):
    """Type the key's name to confirm: a deletion names the key it deletes."""

    confirm_name = forms.CharField(label="Type the key's name to confirm", max_length=128)

    def __init__(self, *args: Any, key_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_name = key_name

    def clean_confirm_name(self) -> str:
        value = self.cleaned_data["confirm_name"]
        if value != self.key_name:
            raise forms.ValidationError(f"Type '{self.key_name}' exactly to confirm.")
        return value


class GrantForm(WebForm):
    principal = forms.ChoiceField(label="Grant to", choices=[("user", "a user"), ("group", "a group")], initial="user")
    who = forms.CharField(label="User or group name", max_length=150)
    permissions = forms.MultipleChoiceField(
        choices=[(p, p) for p in KEY_PERMISSIONS], widget=forms.CheckboxSelectMultiple
    )

    def target(self) -> dict[str, str]:
        return {self.cleaned_data["principal"]: self.cleaned_data["who"]}


# --- playground ---------------------------------------------------------------------------


class PlaygroundForm(WebForm):
    """One of encrypt, decrypt, sign, verify, with the key chosen among those the user may use."""

    key = forms.ChoiceField(label="Key")
    text = forms.CharField(
        label="Data", required=False, max_length=MAX_TEXT, strip=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip
    is_base64 = forms.BooleanField(label="Data is base64", required=False)
    token = forms.CharField(
        label="Ciphertext or signature", required=False, max_length=4 * MAX_TEXT, strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
    )  # fmt: skip
    context = forms.CharField(required=False, max_length=1024, help_text="Optional (aes256): must match on decrypt")
    algorithm = forms.ChoiceField(
        label="Hash", required=False,
        choices=[("", "default"), *((h, h) for h in SIGNING_FIELDS["algorithm"].choices)],
    )  # fmt: skip
    padding = forms.ChoiceField(
        label="RSA padding", required=False,
        choices=[("", "default (PSS)"), *((p, p) for p in SIGNING_FIELDS["padding"].choices)],
    )  # fmt: skip

    def __init__(self, *args: Any, key_names: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["key"].choices = [(n, n) for n in key_names]

    def data_bytes(self) -> bytes:
        text = self.cleaned_data.get("text", "")
        if not self.cleaned_data.get("is_base64"):
            return text.encode()
        try:
            return base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise forms.ValidationError({"text": "This is not valid base64."}) from None

    def context_bytes(self) -> bytes | None:
        return self.cleaned_data.get("context", "").encode() or None


# --- tokens, audit ------------------------------------------------------------------------


class TokenCreateForm(WebForm):
    name = forms.CharField(required=False, max_length=100, help_text="What it is for, e.g. ci-deploy")
    expires_in_days = forms.IntegerField(
        label="Expires in (days)", required=False, min_value=1, max_value=3650,
        help_text="Empty: the default lifetime",
    )  # fmt: skip
    scope_keys = forms.CharField(
        label="Only these keys", required=False, max_length=2000,
        help_text="Key names, separated by commas; empty: every key you may use",
    )  # fmt: skip
    scope_operations = forms.MultipleChoiceField(
        label="Only these operations", required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(p, p) for p in KEY_PERMISSIONS], help_text="None ticked: everything you may do",
    )  # fmt: skip
    password = forms.CharField(
        label="Your password", strip=False, max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Asked again: a token acts as you",
    )  # fmt: skip

    def expires_in(self) -> timedelta | None:
        days = self.cleaned_data.get("expires_in_days")
        return timedelta(days=days) if days else None

    def scope(self) -> dict[str, list[str]]:
        keys = [k.strip() for k in self.cleaned_data.get("scope_keys", "").split(",") if k.strip()]
        operations = self.cleaned_data.get("scope_operations", [])
        return {"scope_keys": keys, "scope_operations": operations}


class AuditFilterForm(WebForm):
    key = forms.CharField(required=False, max_length=128)
    actor = forms.CharField(required=False, max_length=150, help_text="A username, or 'system'")
    action = forms.CharField(required=False, max_length=32)
    outcome = forms.ChoiceField(required=False, choices=[("", "any outcome"), *((o, o) for o in OUTCOMES)])
    since = forms.DateTimeField(
        required=False, label="Since (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )  # fmt: skip
    until = forms.DateTimeField(
        required=False, label="Until (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )  # fmt: skip
    reads = forms.BooleanField(
        required=False, label="Show reads",
        help_text="Page views and look-ups (info, list, grants_list, audit_search…); hidden unless checked",
    )  # fmt: skip
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
