from tests.transit.conftest import b64


def test_encrypt_decrypt_roundtrip_default_mount(vault, db):
    status, body = vault.write("transit/keys/app", {})
    assert status == 200, body
    status, body = vault.write("transit/encrypt/app", {"plaintext": b64("hello")})
    assert status == 200, body
    ct = body["data"]["ciphertext"]
    assert ct.startswith("vault:v1:")
    status, body = vault.write("transit/decrypt/app", {"ciphertext": ct})
    assert status == 200, body
    assert body["data"]["plaintext"] == b64("hello")
