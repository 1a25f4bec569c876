"""The spec's outputs, byte for byte: the key table and the info JSON."""

from __future__ import annotations

import json

from kms.cli.output import KEY_COLUMNS, key_info_spec, table, utc_z

SPEC_LIST = """\
NAME                TYPE      VERSION  STATUS
my-encryption-key   aes256    1        active
my-signing-key      rsa4096   2        active
my-ed25519-key      ed25519   1        active"""

SPEC_INFO = """\
{
  "name": "my-encryption-key",
  "type": "aes256",
  "current_version": 2,
  "versions": [
    { "version": 1, "created_at": "2025-01-01T00:00:00Z", "status": "decrypt-only" },
    { "version": 2, "created_at": "2025-02-01T00:00:00Z", "status": "active" }
  ],
  "created_at": "2025-01-01T00:00:00Z",
  "updated_at": "2025-02-01T00:00:00Z",
  "status": "active",
  "purge_after": null
}"""


def summary(name, key_type, version, status="active"):
    return {"name": name, "type": key_type, "current_version": version, "status": status,
            "created_at": "2025-01-01T00:00:00Z", "rotation_overdue": False}  # fmt: skip


def test_the_key_table_is_the_specs():
    rows = [
        summary("my-encryption-key", "aes256", 1),
        summary("my-signing-key", "rsa4096", 2),
        summary("my-ed25519-key", "ed25519", 1),
    ]
    assert table(rows, KEY_COLUMNS) == SPEC_LIST


def test_long_names_and_types_widen_their_columns():
    rows = [summary("a-very-long-key-name-for-payments", "ecdsa-p384", 12345, "disabled")]
    lines = table(rows, KEY_COLUMNS).splitlines()
    assert lines[1] == "a-very-long-key-name-for-payments   ecdsa-p384   12345    disabled"
    assert lines[0].index("TYPE") == lines[1].index("ecdsa-p384")
    assert lines[0].index("STATUS") == lines[1].index("disabled")


def test_an_empty_list_is_the_header_alone():
    assert table([], KEY_COLUMNS) == "NAME                TYPE      VERSION  STATUS"


def test_info_is_the_specs_json():
    info = {
        "name": "my-encryption-key",
        "type": "aes256",
        "current_version": 2,
        "versions": [
            {"version": 1, "created_at": "2025-01-01T00:00:00Z", "status": "decrypt-only",
             "encrypt_count": 3, "decrypt_count": 0, "sign_count": 0, "verify_count": 0},
            {"version": 2, "created_at": "2025-02-01T00:00:00.123456+00:00", "status": "active",
             "encrypt_count": 0, "decrypt_count": 0, "sign_count": 0, "verify_count": 0},
        ],
        "status": "active",
        "updated_at": "2025-02-01T01:00:00+01:00",
        "created_at": "2025-01-01T00:00:00Z",
        "description": "",
    }  # fmt: skip
    text = key_info_spec(info)
    assert text == SPEC_INFO
    assert json.loads(text)["versions"][1]["status"] == "active"


def test_timestamps_are_utc_with_a_z_and_whole_seconds():
    assert utc_z("2025-02-01T00:00:00.999Z") == "2025-02-01T00:00:00Z"
    assert utc_z("2025-02-01T02:00:00+02:00") == "2025-02-01T00:00:00Z"
    assert utc_z(None) is None and utc_z("not a time") == "not a time"
