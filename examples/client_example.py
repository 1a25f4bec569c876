"""A small program using Egide's Python client (docs/client.md); tests/client check it with mypy.

Run it after `make run` (the token is saved): `.venv/bin/python examples/client_example.py`.
"""

from __future__ import annotations

import io

from egide import ApprovalPending, Ciphertext, EgideClient, KeyExists


def main() -> None:
    with EgideClient.from_env() as client:
        try:
            client.create_key("example-key", "aes256")
        except KeyExists:
            pass
        sealed: Ciphertext = client.encrypt("example-key", b"card 4111", context=b"order-42")
        plain: bytes = client.decrypt("example-key", sealed, context=b"order-42")
        assert plain == b"card 4111"

        encrypted = io.BytesIO()
        count: int = client.encrypt_file("example-key", io.BytesIO(b"a whole file"), encrypted)
        encrypted.seek(0)
        restored = io.BytesIO()
        client.decrypt_file("example-key", encrypted, restored)
        assert restored.getvalue() == b"a whole file" and count == 12

        me = client.whoami()
        print(f"{me['username']} encrypted and decrypted with version {sealed.key_version}")
        try:
            client.delete("example-key")
        except ApprovalPending as pending:
            print(f"deletion waits for approvers: request {pending.request.get('id')}")


if __name__ == "__main__":
    main()
