"""Issue 16 over the API, through both doors (token and session): HMAC keys, ML-DSA, ML-KEM,
X25519/ECDH key agreement, random bytes and JWKS; single, batch and errors; interop with pyca
(an implementation Egide did not write) and with Python's hmac module."""

from __future__ import annotations

import base64
import hashlib
import hmac as std_hmac

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, mlkem, x25519
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from kms.models import AuditEvent
from kms.services.keys import key_rotate
from tests.api.helpers import b64, data, error, post, unb64

pytestmark = pytest.mark.django_db

NEW_USE = ("hmac", "decapsulate", "derive")


@pytest.fixture(autouse=True)
def _bob_may_use_the_new_operations(bob):
    """bob's all-keys group (tests/conftest.py) also holds the new operations' permissions."""
    from django.contrib.auth.models import Permission

    group = bob.groups.get(name="all-keys-users")
    group.permissions.add(*Permission.objects.filter(content_type__app_label="kms",
                                                     codename__in=[f"{p}_key" for p in NEW_USE]))  # fmt: skip


@pytest.fixture
def api_bob(bob_either_way):
    return bob_either_way


def raw_of(token: str) -> bytes:
    return base64.b64decode(token.rpartition(":")[2])


def pem_public(key) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def public_of(client, name: str, version: int | None = None) -> str:
    path = f"/v1/kms/keys/{name}/public" + (f"?version={version}" if version else "")
    return data(client.get(path))["public_key"]


# --- HMAC ---------------------------------------------------------------------------------------


def exported_hmac_key(name: str) -> bytes:
    from kms.keyring import load_version
    from kms.models import Key

    key = Key.objects.get(name=name)
    kv = key.versions.get(version=key.current_version)
    loaded = load_version(key_type=key.key_type, key_uid=key.uid.bytes, version=kv.version,
                          wrapped=kv.wrapped_material, master_key_id=kv.master_key_id)  # fmt: skip
    return base64.b64decode(loaded.export_material())


@pytest.mark.parametrize("algorithm", [None, "sha256", "sha384", "sha512"])
def test_hmac_matches_pythons_hmac_module_and_verifies(api_bob, create_key, algorithm):
    create_key("mac", "hmac")
    fields = {"algorithm": algorithm} if algorithm else {}
    made = data(post(api_bob, "/v1/kms/hmac/mac", {"data": b64(b"message"), **fields}))
    assert made["key_version"] == 1 and made["hmac"].startswith("egide:v1:")
    expected = std_hmac.digest(exported_hmac_key("mac"), b"message", algorithm or "sha256")
    assert raw_of(made["hmac"]) == expected
    check = {"data": b64(b"message"), "hmac": made["hmac"], **fields}
    assert data(post(api_bob, "/v1/kms/verify/mac", check)) == {"valid": True}
    assert data(post(api_bob, "/v1/kms/verify/mac", {**check, "data": b64(b"messagf")})) == {"valid": False}
    other = "sha512" if algorithm != "sha512" else "sha256"  # the wrong hash: a wrong-length tag, False
    assert data(post(api_bob, "/v1/kms/verify/mac", {**check, "algorithm": other})) == {"valid": False}


def test_hmac_batch_and_its_item_errors(api_bob, create_key):
    create_key("mac", "hmac")
    batch = [{"data": b64(b"a")}, {"data": "not base64!"}, {"data": b64(b"b"), "algorithm": "md5"},
             {"data": b64(b"c"), "algorithm": "sha384"}]  # fmt: skip
    out = data(post(api_bob, "/v1/kms/hmac/mac", {"batch": batch}))["batch"]
    assert out[0]["hmac"].startswith("egide:v1:") and out[3]["hmac"].startswith("egide:v1:")
    assert out[1]["error"]["code"] == "invalid_request" and out[2]["error"]["code"] == "invalid_request"
    checks = [{"data": b64(b"a"), "hmac": out[0]["hmac"]}, {"data": b64(b"c"), "hmac": out[3]["hmac"]},
              {"data": b64(b"c"), "hmac": out[3]["hmac"], "algorithm": "sha384"}, {"data": b64(b"a")},
              {"data": b64(b"a"), "hmac": "egide:v1:%%%"}]  # fmt: skip
    got = data(post(api_bob, "/v1/kms/verify/mac", {"batch": checks}))["batch"]
    assert got[0] == {"valid": True} and got[1] == {"valid": False} and got[2] == {"valid": True}
    assert got[3]["error"]["code"] == "invalid_request" and "hmac" in got[3]["error"]["message"]
    assert got[4]["error"]["code"] == "invalid_signature" and "hmac" in got[4]["error"]["message"]


def test_rfc_4231_case_2_through_an_imported_key_is_not_possible_but_the_module_agrees(api_bob, create_key):
    # RFC 4231 test case 2 ("Jefe") has a 4-byte key; Egide's HMAC keys are 256-bit and generated,
    # so the vector itself runs against the crypto core (tests/crypto). Here: Egide's answer is
    # HMAC-SHA-256 as RFC 2104 defines it, checked against a from-scratch construction.
    create_key("mac", "hmac")
    key = exported_hmac_key("mac")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key.ljust(64, b"\0")) + b"what do ya want for nothing?").digest()
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key.ljust(64, b"\0")) + inner).digest()
    made = data(post(api_bob, "/v1/kms/hmac/mac", {"data": b64(b"what do ya want for nothing?")}))
    assert raw_of(made["hmac"]) == outer


def test_hmac_and_verify_refuse_what_does_not_fit(api_bob, create_key):
    create_key("mac", "hmac")
    create_key("signer", "ed25519")
    error(post(api_bob, "/v1/kms/hmac/signer", {"data": b64(b"x")}), 400, "operation_not_allowed")
    signature = data(post(api_bob, "/v1/kms/sign/signer", {"data": b64(b"x")}))["signature"]
    made = data(post(api_bob, "/v1/kms/hmac/mac", {"data": b64(b"x")}))["hmac"]
    # a signing key checks a signature, an hmac key an hmac: the other field is refused, not ignored
    assert "hmac" in error(post(api_bob, "/v1/kms/verify/signer", {"data": b64(b"x"), "hmac": made}),
                           400, "invalid_request")  # fmt: skip
    assert "signature" in error(post(api_bob, "/v1/kms/verify/mac", {"data": b64(b"x"), "signature": signature}),
                                400, "invalid_request")  # fmt: skip
    error(post(api_bob, "/v1/kms/verify/mac", {"data": b64(b"x"), "hmac": made, "padding": "pss"}),
          400, "invalid_request")  # fmt: skip
    error(post(api_bob, "/v1/kms/sign/mac", {"data": b64(b"x")}), 400, "operation_not_allowed")
    error(post(api_bob, "/v1/kms/hmac/mac", {"data": b64(b"x"), "algorithm": "sha1"}), 400, "invalid_request")
    error(post(api_bob, "/v1/kms/verify/mac", {"data": b64(b"x"), "hmac": "e" * 300}), 400, "invalid_request")


def test_an_hmac_of_an_older_version_verifies_after_rotation(api_bob, create_key, system):
    create_key("mac", "hmac")
    old = data(post(api_bob, "/v1/kms/hmac/mac", {"data": b64(b"x")}))["hmac"]
    key_rotate(actor=system, name="mac")
    new = data(post(api_bob, "/v1/kms/hmac/mac", {"data": b64(b"x")}))
    assert new["key_version"] == 2 and raw_of(new["hmac"]) != raw_of(old)
    assert data(post(api_bob, "/v1/kms/verify/mac", {"data": b64(b"x"), "hmac": old})) == {"valid": True}


def test_hmac_needs_its_own_permission(client_of_mallory_with, create_key):
    create_key("mac", "hmac")
    client = client_of_mallory_with("mac", ["view", "verify"])
    error(post(client, "/v1/kms/hmac/mac", {"data": b64(b"x")}), 403, "permission_denied")
    client = client_of_mallory_with("mac", ["hmac"])
    assert data(post(client, "/v1/kms/hmac/mac", {"data": b64(b"x")}))["hmac"]


@pytest.fixture
def client_of_mallory_with(mallory):
    from guardian.shortcuts import assign_perm, remove_perm

    from kms.models import KEY_PERMISSIONS, Key
    from tests.api.conftest import client_for

    def make(name: str, permissions: list[str]):
        key = Key.objects.get(name=name)
        for p in KEY_PERMISSIONS:
            if p not in ("view", "delete"):
                remove_perm(f"{p}_key", mallory, key)
        for p in permissions:
            assign_perm(f"{p}_key", mallory, key)
        return client_for(mallory)

    return make


# --- ML-DSA ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", ["ml-dsa-44", "ml-dsa-65", "ml-dsa-87"])
def test_an_ml_dsa_signature_verifies_in_egide_and_with_pyca(api_bob, create_key, key_type):
    create_key("pq", key_type)
    signed = data(post(api_bob, "/v1/kms/sign/pq", {"data": b64(b"release 2.0")}))
    pem = public_of(api_bob, "pq")
    public = load_pem_public_key(pem.encode())
    assert isinstance(public, mldsa.MLDSA44PublicKey | mldsa.MLDSA65PublicKey | mldsa.MLDSA87PublicKey)
    public.verify(raw_of(signed["signature"]), b"release 2.0")  # pyca: raises if invalid
    check = {"data": b64(b"release 2.0"), "signature": signed["signature"]}
    assert data(post(api_bob, "/v1/kms/verify/pq", check)) == {"valid": True}
    assert data(post(api_bob, "/v1/kms/verify/pq", {**check, "data": b64(b"release 2.1")})) == {"valid": False}


def test_ml_dsa_context_binds_the_signature(api_bob, create_key):
    create_key("pq", "ml-dsa-65")
    ctx = b"egide-release"
    signed = data(post(api_bob, "/v1/kms/sign/pq", {"data": b64(b"m"), "context": b64(ctx)}))["signature"]
    public = load_pem_public_key(public_of(api_bob, "pq").encode())
    public.verify(raw_of(signed), b"m", ctx)  # pyca with the same context
    check = {"data": b64(b"m"), "signature": signed}
    assert data(post(api_bob, "/v1/kms/verify/pq", {**check, "context": b64(ctx)})) == {"valid": True}
    assert data(post(api_bob, "/v1/kms/verify/pq", check)) == {"valid": False}
    assert data(post(api_bob, "/v1/kms/verify/pq", {**check, "context": b64(b"other")})) == {"valid": False}
    error(post(api_bob, "/v1/kms/sign/pq", {"data": b64(b"m"), "context": b64(b"c" * 256)}), 400, "invalid_request")
    assert data(post(api_bob, "/v1/kms/sign/pq", {"data": b64(b"m"), "context": b64(b"c" * 255)}))["signature"]


def test_ml_dsa_refuses_prehashed_hashes_and_a_context_elsewhere(api_bob, create_key):
    create_key("pq", "ml-dsa-44")
    create_key("ed", "ed25519")
    assert "HashML-DSA" in error(post(api_bob, "/v1/kms/sign/pq", {"data": b64(b"m" * 32), "prehashed": True}),
                                 400, "invalid_request")  # fmt: skip
    error(post(api_bob, "/v1/kms/sign/pq", {"data": b64(b"m"), "algorithm": "sha256"}), 400, "invalid_request")
    error(post(api_bob, "/v1/kms/sign/ed", {"data": b64(b"m"), "context": b64(b"c")}), 400, "invalid_request")


def test_ml_dsa_87_signatures_fit_the_limits_in_a_full_batch(api_bob, create_key):
    create_key("pq", "ml-dsa-87")
    items = [{"data": b64(b"item %d" % i)} for i in range(40)]
    signed = data(post(api_bob, "/v1/kms/sign/pq", {"batch": items}))["batch"]
    assert all(len(raw_of(s["signature"])) == 4627 for s in signed)
    checks = [{"data": i["data"], "signature": s["signature"]} for i, s in zip(items, signed, strict=True)]
    assert data(post(api_bob, "/v1/kms/verify/pq", {"batch": checks}))["batch"] == [{"valid": True}] * 40


def test_ml_dsa_rotation_counts_and_verifies_old_versions(api_bob, create_key, system):
    from kms.models import Key

    create_key("pq", "ml-dsa-65")
    old = data(post(api_bob, "/v1/kms/sign/pq", {"data": b64(b"m")}))["signature"]
    key_rotate(actor=system, name="pq")
    assert data(post(api_bob, "/v1/kms/sign/pq", {"data": b64(b"m")}))["key_version"] == 2
    assert data(post(api_bob, "/v1/kms/verify/pq", {"data": b64(b"m"), "signature": old})) == {"valid": True}
    key = Key.objects.get(name="pq")
    assert key.versions.get(version=1).sign_count == 1 and key.versions.get(version=1).verify_count == 1
    assert key.versions.get(version=2).sign_count == 1


# --- ML-KEM ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key_type", "cls"), [("ml-kem-768", mlkem.MLKEM768PublicKey),
                                               ("ml-kem-1024", mlkem.MLKEM1024PublicKey)])  # fmt: skip
def test_pyca_encapsulates_egide_decapsulates_the_same_secret(api_bob, create_key, key_type, cls):
    create_key("kem", key_type)
    public = load_pem_public_key(public_of(api_bob, "kem").encode())
    assert isinstance(public, cls)
    secret, ciphertext = public.encapsulate()
    got = data(post(api_bob, "/v1/kms/decapsulate/kem", {"ciphertext": b64(ciphertext)}))
    assert got == {"shared_secret": b64(secret), "key_version": 1}


def test_decapsulate_batch_versions_and_errors(api_bob, create_key, system):
    create_key("kem", "ml-kem-768")
    s1, c1 = load_pem_public_key(public_of(api_bob, "kem").encode()).encapsulate()
    key_rotate(actor=system, name="kem")
    s2, c2 = load_pem_public_key(public_of(api_bob, "kem").encode()).encapsulate()
    # the default is the current version; an older one is named
    assert unb64(data(post(api_bob, "/v1/kms/decapsulate/kem", {"ciphertext": b64(c2)}))["shared_secret"]) == s2
    older = data(post(api_bob, "/v1/kms/decapsulate/kem", {"ciphertext": b64(c1), "key_version": 1}))
    assert unb64(older["shared_secret"]) == s1 and older["key_version"] == 1
    # implicit rejection: another version's ciphertext gives a secret, not the right one, no error
    wrong = data(post(api_bob, "/v1/kms/decapsulate/kem", {"ciphertext": b64(c1)}))
    assert unb64(wrong["shared_secret"]) != s1
    batch = [{"ciphertext": b64(c2)}, {"ciphertext": b64(c2[:-1])}, {"ciphertext": "**"}]
    out = data(post(api_bob, "/v1/kms/decapsulate/kem", {"batch": batch}))["batch"]
    assert unb64(out[0]["shared_secret"]) == s2
    assert out[1]["error"]["code"] == "invalid_ciphertext" and out[2]["error"]["code"] == "invalid_request"
    error(post(api_bob, "/v1/kms/decapsulate/kem", {"ciphertext": b64(c2), "key_version": 3}), 400,
          "invalid_request")  # fmt: skip
    create_key("aes", "aes256")
    error(post(api_bob, "/v1/kms/decapsulate/aes", {"ciphertext": b64(c2)}), 400, "operation_not_allowed")
    error(post(api_bob, "/v1/kms/encrypt/kem", {"plaintext": b64(b"x")}), 400, "operation_not_allowed")


# --- key agreement -------------------------------------------------------------------------------------


def _peer(key_type: str):
    if key_type == "x25519":
        return x25519.X25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1() if key_type == "ecdh-p256" else ec.SECP384R1())


def _exchange(private, public) -> bytes:
    if isinstance(private, x25519.X25519PrivateKey):
        return private.exchange(public)
    return private.exchange(ec.ECDH(), public)


@pytest.mark.parametrize("key_type", ["x25519", "ecdh-p256", "ecdh-p384"])
def test_both_sides_agree_on_the_secret(api_bob, create_key, key_type):
    create_key("agree", key_type)
    peer = _peer(key_type)
    got = data(post(api_bob, "/v1/kms/derive-shared-secret/agree", {"public_key": pem_public(peer.public_key())}))
    egide_public = load_pem_public_key(public_of(api_bob, "agree").encode())
    assert unb64(got["shared_secret"]) == _exchange(peer, egide_public) and got["key_version"] == 1


@pytest.mark.parametrize(("key_type", "bad"), [
    ("x25519", lambda: pem_public(ec.generate_private_key(ec.SECP256R1()).public_key())),
    ("ecdh-p256", lambda: pem_public(ec.generate_private_key(ec.SECP384R1()).public_key())),
    ("ecdh-p384", lambda: pem_public(x25519.X25519PrivateKey.generate().public_key())),
    ("ecdh-p256", lambda: pem_public(ed25519.Ed25519PrivateKey.generate().public_key())),
    ("x25519", lambda: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
    ("x25519", lambda: "not a key"),
    ("x25519", lambda: pem_public(x25519.X25519PublicKey.from_public_bytes(bytes(32)))),  # low order
])  # fmt: skip
def test_invalid_or_wrong_curve_peers_are_a_clear_400(api_bob, create_key, key_type, bad):
    create_key("agree", key_type)
    message = error(post(api_bob, "/v1/kms/derive-shared-secret/agree", {"public_key": bad()}), 400,
                    "invalid_request")  # fmt: skip
    assert "peer public key" in message


def test_derive_batch_and_limits(api_bob, create_key):
    create_key("agree", "x25519")
    peers = [x25519.X25519PrivateKey.generate() for _ in range(3)]
    batch = [{"public_key": pem_public(p.public_key())} for p in peers] + [{"public_key": "x" * 5000}]
    out = data(post(api_bob, "/v1/kms/derive-shared-secret/agree", {"batch": batch}))["batch"]
    mine = load_pem_public_key(public_of(api_bob, "agree").encode())
    assert [unb64(o["shared_secret"]) for o in out[:3]] == [p.exchange(mine) for p in peers]
    assert out[3]["error"]["code"] == "invalid_request"
    create_key("signer", "ecdsa-p256")
    error(post(api_bob, "/v1/kms/derive-shared-secret/signer", {"public_key": batch[0]["public_key"]}), 400,
          "operation_not_allowed")  # fmt: skip


def test_new_operations_are_audited_under_their_names(api_bob, create_key):
    create_key("agree", "x25519")
    post(api_bob, "/v1/kms/derive-shared-secret/agree", {"public_key": "nope"})
    peer = x25519.X25519PrivateKey.generate()
    post(api_bob, "/v1/kms/derive-shared-secret/agree", {"public_key": pem_public(peer.public_key())})
    events = list(AuditEvent.objects.filter(action="derive-shared-secret").order_by("id"))
    assert [e.outcome for e in events] == ["error", "success"]
    assert all(e.key_name == "agree" for e in events)


def test_a_key_user_without_the_permission_sees_nothing(create_key, mallory):
    from tests.api.conftest import client_for

    create_key("kem", "ml-kem-768")
    error(post(client_for(mallory), "/v1/kms/decapsulate/kem", {"ciphertext": b64(b"x" * 1088)}), 404,
          "key_not_found")  # fmt: skip


# --- random and JWKS ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "length"), [({"bytes": 32}, 32), ({"bytes": 1024, "format": "hex"}, 1024),
                                              ({"bytes": 1, "format": "base64"}, 1)])  # fmt: skip
def test_random_bytes_for_any_authenticated_user(mallory, body, length):
    from tests.api.conftest import client_for

    got = data(post(client_for(mallory), "/v1/kms/random", body))["random"]
    raw = bytes.fromhex(got) if body.get("format") == "hex" else unb64(got)
    assert len(raw) == length
    assert AuditEvent.objects.filter(action="random", actor_name="mallory", outcome="success").count() == 1


@pytest.mark.parametrize("body", [{"bytes": 0}, {"bytes": 1025}, {"bytes": "8"}, {"bytes": True}, {},
                                  {"bytes": 8, "format": "raw"}, {"bytes": 8, "extra": 1}, [8]])  # fmt: skip
def test_random_refuses_bad_requests(api_bob, body):
    error(post(api_bob, "/v1/kms/random", body), 400, "invalid_request")


def test_random_needs_authentication(anon):
    error(post(anon, "/v1/kms/random", {"bytes": 8}), 401, "unauthenticated")


@pytest.mark.parametrize("key_type", ["ed25519", "ecdsa-p256", "ecdsa-p384", "rsa2048"])
def test_jwks_lists_the_working_versions(api_bob, create_key, system, key_type):
    key = create_key("signer", key_type)
    key_rotate(actor=system, name="signer")
    jwks = data(api_bob.get("/v1/kms/keys/signer/jwks"))
    assert [k["kid"] for k in jwks["keys"]] == [f"{key.uid}:2", f"{key.uid}:1"]
    assert all(k["use"] == "sig" for k in jwks["keys"])


def test_jwks_matches_the_public_key_and_leaves_out_disabled_versions(api_bob, create_key, system):
    from kms.crypto.jwk import b64url
    from kms.services.keys import version_disable

    key = create_key("signer", "ed25519")
    key_rotate(actor=system, name="signer")
    version_disable(actor=system, name="signer", version=1)
    jwks = data(api_bob.get("/v1/kms/keys/signer/jwks"))
    assert len(jwks["keys"]) == 1 and jwks["keys"][0]["kid"] == f"{key.uid}:2"
    public = load_pem_public_key(public_of(api_bob, "signer").encode())
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert jwks["keys"][0] == {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "alg": "EdDSA", "use": "sig",
                               "kid": f"{key.uid}:2"}  # fmt: skip


def test_jwks_refuses_keys_without_a_jwk_form(api_bob, create_key, mallory):
    from tests.api.conftest import client_for

    create_key("pq", "ml-dsa-65")
    create_key("aes", "aes256")
    error(api_bob.get("/v1/kms/keys/pq/jwks"), 400, "operation_not_allowed")
    error(api_bob.get("/v1/kms/keys/aes/jwks"), 400, "operation_not_allowed")
    error(client_for(mallory).get("/v1/kms/keys/pq/jwks"), 404, "key_not_found")


@pytest.mark.parametrize("key_type", ["hmac", "ml-dsa-44", "ml-dsa-65", "ml-dsa-87", "ml-kem-768", "ml-kem-1024",
                                      "x25519", "ecdh-p256", "ecdh-p384"])  # fmt: skip
def test_every_new_type_is_created_over_the_api(api_alice, key_type):
    created = data(post(api_alice, f"/v1/kms/keys/k-{key_type}", {"type": key_type}), 201)
    assert created["type"] == key_type and created["current_version"] == 1
