"""Files through the CLI against a live server: sizes, key types, tampering, signing."""

from __future__ import annotations

import io
import os
import sys

import pytest

from kms.crypto.filestream import TAG_SIZE, read_header

SEGMENT = 64  # a small segment size keeps "many segments" files small


@pytest.fixture
def files(egide, cli_env, tmp_path):
    """Keys for files, a 64-byte segment size, and helpers to encrypt and decrypt."""
    cli_env.setenv("EGIDE_FILE_SEGMENT_SIZE", str(SEGMENT))
    for name, key_type in (("files", "aes256"), ("rsa-files", "rsa2048")):
        assert egide("kms", "create", name, "--type", key_type).code == 0
    return tmp_path


def encrypt(egide, key, src, dest, *extra):
    return egide("kms", "encrypt", key, "--input", str(src), "--output", str(dest), *extra)


def decrypt(egide, key, src, dest, *extra):
    return egide("kms", "decrypt", key, "--input", str(src), "--output", str(dest), *extra)


SIZES = {
    "empty": 0,
    "1 byte": 1,
    "one segment minus 1": SEGMENT - 1,
    "exactly one segment": SEGMENT,
    "one segment plus 1": SEGMENT + 1,
    "many segments": 7 * SEGMENT + 5,
}


@pytest.mark.parametrize("key", ["files", "rsa-files"])
def test_files_of_every_size_round_trip(egide, files, key):
    for label, size in SIZES.items():
        data = os.urandom(size)
        (files / "in").write_bytes(data)
        encrypted = encrypt(egide, key, files / "in", files / "in.enc")
        assert (encrypted.code, encrypted.out, encrypted.err) == (0, "", ""), label
        decrypted = decrypt(egide, key, files / "in.enc", files / "out")
        assert (decrypted.code, decrypted.out, decrypted.err) == (0, "", ""), label
        assert (files / "out").read_bytes() == data, label
        with open(files / "in.enc", "rb") as enc:
            header = read_header(enc)
            body = len(enc.read())
        assert (header.key_name, header.key_version, header.segment_size) == (key, 1, SEGMENT)
        assert body - size == TAG_SIZE * body_segments(body), label
        assert size < 16 or data not in (files / "in.enc").read_bytes(), label


def body_segments(body: int) -> int:
    return max(1, -(-body // (SEGMENT + TAG_SIZE)))


def test_an_aes_file_key_is_bound_to_the_file_context(egide, files):
    (files / "in").write_bytes(b"bound")
    assert encrypt(egide, "files", files / "in", files / "in.enc", "--context", "tenant-1").code == 0
    wrong = decrypt(egide, "files", files / "in.enc", files / "out", "--context", "tenant-2")
    assert wrong.code == 1 and wrong.err.startswith("error: invalid_ciphertext: ")
    assert "--context" in wrong.err and not (files / "out").exists()
    with open(files / "in.enc", "rb") as enc:
        wrapped = read_header(enc).wrapped_key
    # The data key in the header is not a plain ciphertext of the key: no context, no plaintext.
    assert egide("kms", "decrypt", "files", wrapped).code == 1
    right = decrypt(egide, "files", files / "in.enc", files / "out", "--context", "tenant-1")
    assert right.code == 0 and (files / "out").read_bytes() == b"bound"


def test_an_rsa_file_refuses_a_context(egide, files):
    (files / "in").write_bytes(b"x")
    result = encrypt(egide, "rsa-files", files / "in", files / "in.enc", "--context", "c")
    assert result.code == 1
    assert result.err == "error: invalid_request: --context applies only to aes256 keys, not rsa2048\n"


def tamper(path, offset_from_end: int) -> None:
    data = bytearray(path.read_bytes())
    data[-offset_from_end] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_tampered_file_leaves_no_output_and_names_the_segment(egide, files):
    (files / "in").write_bytes(os.urandom(5 * SEGMENT))
    encrypt(egide, "files", files / "in", files / "in.enc")
    (files / "out").write_bytes(b"previous contents")
    tamper(files / "in.enc", 2 * (SEGMENT + TAG_SIZE) + 3)  # in segment 2 of 0..4
    result = decrypt(egide, "files", files / "in.enc", files / "out")
    assert result.code == 1 and result.out == ""
    assert result.err == (
        "error: invalid_ciphertext: file was modified or is corrupt (segment 2 failed authentication)\n"
    )
    assert (files / "out").read_bytes() == b"previous contents"
    assert sorted(p.name for p in files.iterdir()) == ["in", "in.enc", "out"]


def test_a_truncated_file_is_detected(egide, files):
    (files / "in").write_bytes(os.urandom(3 * SEGMENT + 1))
    encrypt(egide, "files", files / "in", files / "in.enc")
    data = (files / "in.enc").read_bytes()
    (files / "cut.enc").write_bytes(data[: -(1 + TAG_SIZE)])
    result = decrypt(egide, "files", files / "cut.enc", files / "out")
    assert (result.code, result.err) == (1, "error: invalid_ciphertext: file is truncated\n")
    assert not (files / "out").exists()


def test_a_file_of_another_key_or_no_egide_file_is_refused(egide, files):
    (files / "in").write_bytes(b"x" * 10)
    encrypt(egide, "files", files / "in", files / "in.enc")
    other = decrypt(egide, "rsa-files", files / "in.enc", files / "out")
    assert other.err == ("error: invalid_ciphertext: this file was encrypted with key 'files', not 'rsa-files'\n")
    plain = decrypt(egide, "files", files / "in", files / "out")
    assert plain.err == "error: invalid_ciphertext: not an Egide encrypted file\n"


def test_a_file_encrypted_before_a_rotation_still_decrypts(egide, files):
    (files / "in").write_bytes(b"old data")
    encrypt(egide, "files", files / "in", files / "v1.enc")
    assert egide("kms", "rotate", "files").code == 0
    encrypt(egide, "files", files / "in", files / "v2.enc")
    for name in ("v1.enc", "v2.enc"):
        assert decrypt(egide, "files", files / name, files / "out").code == 0
        assert (files / "out").read_bytes() == b"old data"
    with open(files / "v2.enc", "rb") as enc:
        assert read_header(enc).key_version == 2


def test_a_disabled_key_decrypts_no_file(egide, files):
    (files / "in").write_bytes(b"x")
    encrypt(egide, "files", files / "in", files / "in.enc")
    assert egide("kms", "disable", "files").out == "disabled files\n"
    result = decrypt(egide, "files", files / "in.enc", files / "out")
    assert result.code == 1 and result.err.startswith("error: key_disabled: ")


def test_a_ciphertext_written_to_a_file_decrypts_with_input(egide, files):
    assert egide("kms", "encrypt", "files", "short text", "--output", str(files / "ct")).code == 0
    assert (files / "ct").read_text().startswith("egide:v1:")
    result = decrypt(egide, "files", files / "ct", files / "out")
    assert result.code == 0 and (files / "out").read_bytes() == b"short text"


def test_a_missing_input_file_is_one_line(egide, files):
    result = encrypt(egide, "files", files / "absent", files / "out")
    assert result.code == 1
    assert result.err == f"error: io_error: cannot read {files / 'absent'}: No such file or directory\n"


def test_keys_that_cannot_encrypt_say_so(egide, files):
    assert egide("kms", "create", "ed", "--type", "ed25519").code == 0
    (files / "in").write_bytes(b"x")
    result = encrypt(egide, "ed", files / "in", files / "in.enc")
    assert result.code == 1 and result.err.startswith("error: operation_not_allowed: ")
    assert not (files / "in.enc").exists()


# --- signing files ----------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", ["rsa2048", "ecdsa-p256", "ecdsa-p384", "ed25519"])
def test_a_signed_file_verifies_and_matches_the_data_signature(egide, tmp_path, key_type):
    assert egide("kms", "create", "signer", "--type", key_type).code == 0
    doc = tmp_path / "document.pdf"
    doc.write_bytes(b"%PDF " + os.urandom(3000))
    signed = egide("kms", "sign", "signer", "--input", str(doc), "--output", str(tmp_path / "sig"))
    assert signed.code == 0, signed.err
    signature = (tmp_path / "sig").read_text().strip()
    assert egide("kms", "verify", "signer", "--input", str(doc), signature).out == "valid\n"
    doc.write_bytes(doc.read_bytes() + b"!")
    assert egide("kms", "verify", "signer", "--input", str(doc), signature).code == 1


def test_rsa_files_take_another_hash(egide, tmp_path):
    assert egide("kms", "create", "signer", "--type", "rsa2048").code == 0
    doc = tmp_path / "doc"
    doc.write_bytes(b"contents")
    sig = egide("kms", "sign", "signer", "--input", str(doc), "--algorithm", "sha512").out.strip()
    ok = egide("kms", "verify", "signer", "--input", str(doc), sig, "--algorithm", "sha512")
    assert ok.out == "valid\n"
    assert egide("kms", "verify", "signer", "contents", sig, "--algorithm", "sha512").code == 0
    assert egide("kms", "verify", "signer", "--input", str(doc), sig).out == "invalid\n"


def test_ed25519_refuses_files_over_16_mib_before_sending(egide, tmp_path):
    assert egide("kms", "create", "ed", "--type", "ed25519").code == 0
    big = tmp_path / "big.iso"
    with open(big, "wb") as out:
        out.truncate(16 * 1024 * 1024 + 1)  # sparse
    result = egide("kms", "sign", "ed", "--input", str(big))
    assert result.code == 1 and result.out == ""
    assert result.err.startswith("error: payload_too_large: big.iso is 16777217 bytes: Ed25519")
    assert "use an RSA or ECDSA key" in result.err


def test_signing_with_an_aes_key_says_it_cannot(egide, tmp_path):
    assert egide("kms", "create", "aes", "--type", "aes256").code == 0
    (tmp_path / "doc").write_bytes(b"x")
    for argv in (["x"], ["--input", str(tmp_path / "doc")]):
        result = egide("kms", "sign", "aes", *argv)
        assert result.code == 1
        assert result.err == "error: operation_not_allowed: key type 'aes256' cannot sign\n"


def test_a_tampered_file_decrypted_to_stdout_stops_at_the_bad_segment(egide, files):
    (files / "in").write_bytes(b"A" * (3 * SEGMENT) + b"tail")
    encrypt(egide, "files", files / "in", files / "in.enc")
    tamper(files / "in.enc", 3)  # in the last segment
    result = egide("kms", "decrypt", "files", "--input", str(files / "in.enc"), "--output", "-")
    assert result.code == 1
    assert result.out == "A" * (3 * SEGMENT)  # the verified segments, then the error
    assert result.err == (
        "error: invalid_ciphertext: file was modified or is corrupt (segment 3 failed authentication)\n"
    )


def test_ed25519_signs_what_comes_on_stdin(egide, tmp_path, monkeypatch):
    assert egide("kms", "create", "ed", "--type", "ed25519").code == 0
    (tmp_path / "doc").write_bytes(b"piped document")
    stdin = io.TextIOWrapper(io.BytesIO(b"piped document"))
    monkeypatch.setattr(sys, "stdin", stdin)
    signature = egide("kms", "sign", "ed", "--input", "-").out.strip()
    assert egide("kms", "verify", "ed", "--input", str(tmp_path / "doc"), signature).out == "valid\n"
