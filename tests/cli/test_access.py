"""Logging in, tokens, grants and approvals through the CLI, against a live server."""

from __future__ import annotations

import io
import sys

import pytest

from kms.models import Key
from kms.services.actor import Actor
from kms.services.tokens import token_create
from tests.conftest import make_user


@pytest.fixture
def logged_out(live_server, root, cli_env, run_cli, strict_state):
    cli_env.setenv("EGIDE_ADDR", live_server.url)
    return run_cli


def test_login_saves_a_private_token_that_later_commands_use(logged_out, cli_env, tmp_path):
    cli_env.setattr(sys, "stdin", io.StringIO("pw-root\n"))
    login = logged_out("login", "--username", "root", "--password-stdin", "--name", "laptop")
    assert login.code == 0, login.err
    assert login.out.startswith("logged in as root: token egd_")
    token_file = tmp_path / "egide-config" / "token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert token_file.read_text().startswith("egd_")

    listed = logged_out("token", "list")
    assert listed.code == 0
    header, row = listed.out.splitlines()
    assert header.split()[:3] == ["ID", "NAME", "PREFIX"] and row.split()[1] == "laptop"

    token_id = row.split()[0]
    assert logged_out("token", "revoke", token_id).out == f"revoked token {token_id}\n"
    after = logged_out("kms", "list")
    assert after.code == 1
    assert after.err.startswith("error: unauthenticated: ")
    assert after.err.endswith("(run `egide login` or set EGIDE_TOKEN)\n")


def test_a_wrong_password_is_one_line(logged_out, cli_env):
    cli_env.setattr(sys, "stdin", io.StringIO("wrong\n"))
    result = logged_out("login", "--username", "root", "--password-stdin")
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith("error: unauthenticated: ") and "egide login" not in result.err


def test_grants_are_listed_added_and_removed(egide, mallory):
    assert egide("kms", "create", "payments", "--type", "aes256").code == 0
    added = egide("kms", "grants", "add", "payments", "--user", "mallory", "--permissions", "encrypt")
    assert added.out == "granted encrypt on payments to user mallory\n"
    listed = egide("kms", "grants", "list", "payments").out.splitlines()
    assert listed[0].split() == ["WHO", "SCOPE", "PERMISSIONS"]
    assert ["user:mallory", "key", "encrypt"] in [line.split() for line in listed]
    removed = egide("kms", "grants", "remove", "payments", "--user", "mallory", "--permissions", "encrypt")
    assert removed.code == 0
    assert not any(
        "user:mallory" in line and "encrypt" in line
        for line in egide("kms", "grants", "list", "payments").out.splitlines()
    )
    # A removal that would change nothing is refused (issue 13).
    again = egide("kms", "grants", "remove", "payments", "--user", "mallory", "--permissions", "encrypt")
    assert again.code == 1 and again.err.startswith("error: grant_not_found: ")


def test_a_delete_waiting_for_approval_is_approved_by_someone_else(egide, cli_env, django_user_model, alice):
    # A key administrator (a superuser is break-glass: it would act alone, flagged).
    _, raw = token_create(actor=Actor.system(), user=alice)
    cli_env.setenv("EGIDE_TOKEN", raw)
    assert egide("kms", "create", "guarded", "--type", "aes256", "--approvals", "1").code == 0
    pending = egide("kms", "delete", "guarded")
    assert pending.code == 3 and pending.err == ""
    first, second = pending.out.splitlines()
    assert first.startswith("approval required: delete on key 'guarded' waits for 1 approval(s)")
    request_id = second.rsplit(" ", 1)[-1]
    assert second == f"approvers: egide kms approvals approve {request_id}"
    assert Key.objects.get(name="guarded").state == "active"

    listing = egide("kms", "approvals", "list", "--status", "pending")
    assert listing.code == 0, listing.err
    listed = listing.out.splitlines()
    assert listed[1].split()[:4] == [request_id, "guarded", "delete", "pending"]
    own = egide("kms", "approvals", "approve", request_id)
    assert own.code == 1 and own.err.startswith("error: permission_denied: ")

    carol = make_user(django_user_model, "carol", "kms-approver")
    _, raw = token_create(actor=Actor.system(), user=carol)
    cli_env.setenv("EGIDE_TOKEN", raw)
    approved = egide("kms", "approvals", "approve", request_id)
    assert approved.code == 0, approved.err
    assert "1 of 1 approvals, so it has run" in approved.out  # a sentence (issue 18)
    assert Key.objects.get(name="guarded").state == "deleted"


def test_a_user_without_permission_is_told_so(egide, cli_env, bob, alice):
    assert egide("kms", "create", "admin-only", "--type", "aes256").code == 0
    _, raw = token_create(actor=Actor.system(), user=alice)
    cli_env.setenv("EGIDE_TOKEN", raw)
    result = egide("kms", "encrypt", "admin-only", "data")
    assert result.code == 1 and result.err.startswith("error: permission_denied: ")
