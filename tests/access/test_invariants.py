"""Separation of duties as invariants (issue 13), checked after every step of random API
call sequences by random actors of every role (hypothesis RuleBasedStateMachine).

Actors: two key administrators (one in a group with a key user), two key users, two
approvers (one in a group with a key user), an auditor, an outsider and a superuser. They
issue grants and removals (to themselves, others, their groups), settings changes, version
and key lifecycle calls, approvals and rejections, exports, decryptions and key creations
with clashing names; the scheduler's destruction and purge pass runs in between.

After each step, for every account but the superuser (break-glass):
1. nobody raised their own power: the actor of the step, and the requester of a request the
   step executed, hold no permission they did not hold before on any key that existed;
2. material left only with a second person: an export succeeds only for a holder of
   `export` given through an approved request; `exportable` went on, and `export` appeared,
   only through an approval (whatever approvals_required);
3. no sensitive effect without quorum: on a key requiring approvals, a direct call changed
   no sensitive setting, state, version, or grant;
4. every success is true (the state is what was asked), every 202 changed nothing, and
   every call left its audit event (exactly one; an approval that executes, two);
5. no 5xx; live key names unique regardless of case; at most one pending request per
   (requester, key, action, parameters); the superuser's events are flagged.

Bounded in the normal suite (profile "egide"); longer with `make test-slow` (marker slow).
"""

from __future__ import annotations

import base64
import os
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from kms import access
from kms.models import (
    KEY_PERMISSIONS,
    ApprovalRequest,
    AuditEvent,
    Key,
    KeyGroupObjectPermission,
    KeyUserObjectPermission,
    KeyVersion,
)
from kms.services import crypto_ops, keys
from kms.services.actor import Actor
from kms.services.audit_log import DATA_PLANE
from tests.api.conftest import client_for

settings.register_profile(
    # Derandomized: the same sequences on every CI run (a new counterexample is found by the
    # random, longer run of `make test-slow`, never by chance in a run that must land).
    "egide", max_examples=int(os.environ.get("EGIDE_SOD_EXAMPLES", "6")), stateful_step_count=20,
    deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
)  # fmt: skip
settings.register_profile(
    "egide-slow", max_examples=150, stateful_step_count=50, deadline=None,
    suppress_health_check=list(HealthCheck),
)  # fmt: skip

ROLE_OF = {
    "ada": "kms-admin", "ben": "kms-admin", "uma": "kms-user", "ulf": "kms-user",
    "carl": "kms-approver", "cleo": "kms-approver", "aud": "kms-auditor", "out": None,
}  # fmt: skip
GROUPS = {"team": ("ada", "uma"), "ops": ("cleo", "ulf")}
ACTORS = [*ROLE_OF, "root"]
KEYS = ["k1", "k2", "k3"]
B64 = base64.b64encode(b"payload").decode()

actors = st.sampled_from(ACTORS)
key_names = st.sampled_from(KEYS)
whom = st.sampled_from([("user", n) for n in ACTORS] + [("group", g) for g in GROUPS])
perm_sets = st.lists(st.sampled_from(KEY_PERMISSIONS), min_size=1, max_size=3, unique=True)
SETTINGS = st.one_of(
    st.fixed_dictionaries({"exportable": st.booleans()}),
    st.fixed_dictionaries({"allow_deletion": st.booleans()}),
    st.fixed_dictionaries({"approvals_required": st.integers(0, 2)}),
    st.fixed_dictionaries({"min_decryption_version": st.integers(1, 3)}),
    st.fixed_dictionaries({"description": st.sampled_from(["a", "b"])}),
)
SENSITIVE_FIELDS = ("exportable", "allow_deletion", "min_decryption_version", "state")
# Sensitive only when loosened (kms.services.keys._is_sensitive_update): turning them on.
LOOSENED_ONLY = ("exportable", "allow_deletion")


def _fresh_users() -> dict[str, object]:
    return {u.username: u for u in get_user_model().objects.all()}


def test_the_snapshot_agrees_with_kms_access(db, django_user_model):
    """The invariants' own reading of the grant tables says what kms.access says."""
    machine = SeparationOfDuties()
    try:
        Key.objects.get(name="k2").keygroupobjectpermission_set.create(
            group=Group.objects.get(name="team"), permission=Permission.objects.get(codename="decrypt_key")
        )
        seen = snapshot()["perms"]
        for (username, key_pk), held in seen.items():
            user = get_user_model().objects.get(username=username)
            assert held == set(access.permissions_on(user, Key.objects.get(pk=key_pk))), (username, key_pk)
        assert seen[("uma", Key.objects.get(name="k2").pk)] == {"decrypt"}
        assert "root" not in {u for u, _ in seen}
    finally:
        machine.teardown()


class SeparationOfDuties(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        _clear_data_plane_caches()
        User = get_user_model()  # noqa: N806
        for name, role in ROLE_OF.items():
            user = User.objects.create_user(username=name, password="pw-" + name)
            if role:
                user.groups.add(Group.objects.get(name=role))
        User.objects.create_superuser(username="root", password="pw-root")
        for group, members in GROUPS.items():
            Group.objects.create(name=group).user_set.add(*User.objects.filter(username__in=members))
        users = _fresh_users()
        self.clients = {name: client_for(user) for name, user in users.items()}
        keys.key_create(actor=Actor(user=users["ada"], source="api"), name="k1", key_type="aes256")
        keys.key_create(actor=Actor(user=users["ben"], source="api"), name="k2", key_type="aes256",
                        approvals_required=1)  # fmt: skip
        system = Actor.system()
        self.ciphertexts = {n: crypto_ops.encrypt(actor=system, name=n, plaintext=b"p").ciphertext
                            for n in ("k1", "k2")}  # fmt: skip
        self.before = snapshot()
        self.last: dict = {}

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)
        _clear_data_plane_caches()

    # --- the calls ---------------------------------------------------------------------

    def call(self, actor: str, method: str, path: str, body=None, kind: str = "", **facts) -> None:
        self.before = snapshot()
        events_before = AuditEvent.objects.count()
        response = getattr(self.clients[actor], method)(path, body, format="json")
        assert response.status_code < 500, (method, path, response.status_code, response.content[:300])
        self.last = {"actor": actor, "kind": kind, "status": response.status_code, "path": path,
                     "body": body, "events": AuditEvent.objects.count() - events_before,
                     "json": _json(response), **facts}  # fmt: skip
        self.after = snapshot()

    @rule(actor=actors, key=key_names, whom=whom, perms=perm_sets, remove=st.booleans())
    def grant(self, actor, key, whom, perms, remove):
        body = {whom[0]: whom[1], "permissions": perms}
        self.call(actor, "delete" if remove else "post", f"/v1/kms/keys/{key}/grants", body,
                  kind="grant_remove" if remove else "grant_add", key=key, whom=whom, perms=perms)  # fmt: skip

    @rule(actor=actors, key=key_names, changes=SETTINGS)
    def update(self, actor, key, changes):
        self.call(actor, "patch", f"/v1/kms/keys/{key}", changes, kind="update", key=key, changes=changes)

    @rule(actor=actors, key=key_names)
    def rotate(self, actor, key):
        self.call(actor, "post", f"/v1/kms/keys/{key}/rotate", {}, kind="rotate", key=key)

    @rule(actor=actors, key=key_names, version=st.integers(1, 3),
          action=st.sampled_from(["disable", "enable", "destroy", "restore"]))  # fmt: skip
    def version(self, actor, key, version, action):
        self.call(actor, "post", f"/v1/kms/keys/{key}/versions/{version}/{action}", {},
                  kind=f"{action}_version", key=key)  # fmt: skip

    @rule(actor=actors, key=key_names, action=st.sampled_from(["disable", "enable", "restore", "delete"]))
    def lifecycle(self, actor, key, action):
        if action == "delete":
            self.call(actor, "delete", f"/v1/kms/keys/{key}", None, kind="delete", key=key)
        else:
            self.call(actor, "post", f"/v1/kms/keys/{key}/{action}", {}, kind=action, key=key)

    @rule(actor=actors, decision=st.sampled_from(["approve", "approve", "reject", "cancel"]), pick=st.integers(0, 5))
    def decide(self, actor, decision, pick):
        open_ = list(ApprovalRequest.objects.filter(status="pending").order_by("pk").values_list("pk", flat=True))
        request_id = open_[pick % len(open_)] if open_ else 999
        self.call(actor, "post", f"/v1/kms/approvals/{request_id}/{decision}", {}, kind=decision,
                  request_id=request_id)  # fmt: skip

    @rule(actor=actors, key=key_names)
    def export(self, actor, key):
        self.call(actor, "post", f"/v1/kms/keys/{key}/export", {}, kind="export", key=key)

    @rule(actor=actors, key=st.sampled_from(["k1", "k2"]))
    def decrypt(self, actor, key):
        self.call(actor, "post", f"/v1/kms/decrypt/{key}", {"ciphertext": self.ciphertexts[key]},
                  kind="decrypt", key=key)  # fmt: skip

    @rule(actor=actors, name=st.sampled_from(["k3", "K1", "k2", "K3"]), exportable=st.booleans())
    def create(self, actor, name, exportable):
        self.call(actor, "post", f"/v1/kms/keys/{name}", {"type": "aes256", "exportable": exportable},
                  kind="create", key=name)  # fmt: skip

    @rule(days=st.sampled_from([0, 400]))
    def scheduler(self, days):
        self.before = snapshot()
        later = timezone.now() + timedelta(days=days)
        keys.versions_destroy_due(actor=Actor.system(), now=later)
        keys.keys_purge_due(actor=Actor.system(), now=later)
        self.last = {"actor": None, "kind": "scheduler"}
        self.after = snapshot()

    # --- the invariants ------------------------------------------------------------------

    @invariant()
    def nobody_raises_their_own_power(self):
        if not self.last or self.last["actor"] in (None, "root"):
            return
        after = self.after
        gainers = set()
        for (user, key_pk), perms in after["perms"].items():
            if key_pk in self.before["keys"] and perms - self.before["perms"].get((user, key_pk), set()):
                gainers.add(user)
        assert self.last["actor"] not in gainers, (self.last, gainers)
        for requester in executed_requesters(self.before, after):
            assert requester not in gainers, (self.last, requester, gainers)

    @invariant()
    def material_leaves_only_with_a_second_person(self):
        if not self.last or self.last["actor"] in (None, "root"):
            return
        after = self.after
        executed = bool(executed_requesters(self.before, after))
        for key_pk, fields in after["keys"].items():
            old = self.before["keys"].get(key_pk)
            if old is not None and fields["exportable"] and not old["exportable"]:
                assert executed and self.last["kind"] == "approve", ("exportable on without approval", self.last)
        for (user, key_pk), perms in after["perms"].items():
            if key_pk in self.before["keys"] and "export" in perms - self.before["perms"].get((user, key_pk), set()):
                assert executed and self.last["actor"] != user, ("export appeared", self.last, user)
        if self.last["kind"] == "export" and self.last["status"] == 200:
            user, key = self.last["actor"], Key.objects.get(name=self.last["key"], state__in=["active"])
            granted = AuditEvent.objects.filter(action="grant_add", outcome="success", key_uid=str(key.uid))
            approved = [e for e in granted if "export" in e.details.get("permissions", [])
                        and e.details.get("approval", {}).get("approvers")
                        and e.details["approval"]["requester"] != user
                        and user not in e.details["approval"]["approvers"]]  # fmt: skip
            assert approved, ("export without an approved export grant", self.last)

    @invariant()
    def no_sensitive_effect_without_quorum(self):
        if not self.last or self.last["actor"] in (None, "root") or self.last["kind"] in ("approve", "create"):
            return
        after = self.after
        for key_pk, old in self.before["keys"].items():
            if old["approvals_required"] == 0 or key_pk not in after["keys"]:
                continue
            new = after["keys"][key_pk]
            for field in SENSITIVE_FIELDS:
                if field in LOOSENED_ONLY and new[field] is False:
                    continue  # turning exportable or allow_deletion off only restricts: no quorum
                assert new[field] == old[field], (field, self.last)
            assert new["approvals_required"] >= old["approvals_required"], self.last
            assert new["versions"][: len(old["versions"])] == old["versions"], self.last  # rotation adds
            assert after["grants"].get(key_pk) == self.before["grants"].get(key_pk), self.last

    @invariant()
    def every_answer_is_true_and_audited(self):
        if not self.last or self.last["kind"] == "scheduler":
            return
        last, after = self.last, self.after
        expected_events = (1, 2) if last["kind"] == "approve" else (1,)
        assert last["events"] in expected_events, last
        if last["status"] == 202:  # waiting: nothing changed on any key
            assert after["keys"] == self.before["keys"] and after["grants"] == self.before["grants"], last
        if last["status"] == 200 and last["kind"] in ("grant_add", "grant_remove"):
            key = Key.objects.exclude(state="purged").get(name=last["key"])
            kind, who = last["whom"]
            held = per_key_grants(key, kind, who)
            if last["kind"] == "grant_add":
                assert set(last["perms"]) <= held, last
            else:
                assert not set(last["perms"]) & held, last
                if kind == "user":
                    user = get_user_model().objects.get(username=who)
                    assert not any(access.can(user, key, p) for p in last["perms"]) or user.is_superuser, last
        if last["status"] == 200 and last["kind"] == "update":
            key = Key.objects.exclude(state="purged").get(name=last["key"])
            for field, value in last["changes"].items():
                assert getattr(key, field) == value, last

    @invariant()
    def the_rest_holds(self):
        names = [n.lower() for n in Key.objects.exclude(state="purged").values_list("name", flat=True)]
        assert len(names) == len(set(names))
        pending = list(ApprovalRequest.objects.filter(status="pending").values_list("requester", "key", "fingerprint"))
        assert len(pending) == len(set(pending))
        # Control-plane events of the superuser are flagged. The data plane (kms/dataplane, its
        # own audit path) does not flag them yet: left to that module's owner (issue 12).
        by_root = AuditEvent.objects.filter(actor_name="root").exclude(action__in=DATA_PLANE)
        assert all(e.details.get("superuser") for e in by_root), [e.action for e in by_root]


def _clear_data_plane_caches() -> None:
    from kms.dataplane import throttle
    from kms.dataplane.state import CACHE

    CACHE.clear()
    throttle.reset()


def _json(response):
    try:
        return response.json()
    except Exception:  # noqa: BLE001 - 204 and the like
        return None


def per_key_grants(key: Key, kind: str, who: str) -> set[str]:
    if kind == "user":
        rows = KeyUserObjectPermission.objects.filter(content_object=key, user__username=who)
    else:
        rows = KeyGroupObjectPermission.objects.filter(content_object=key, group__name=who)
    return {c.removesuffix("_key") for c in rows.values_list("permission__codename", flat=True)}


def snapshot() -> dict:
    """Permissions of every non-superuser on every live key (computed here from the grant
    tables, independently of kms.access), key settings, versions, grants, requests."""
    User = get_user_model()  # noqa: N806
    users = {u.pk: u.username for u in User.objects.filter(is_superuser=False, is_active=True)}
    live = list(Key.objects.exclude(state="purged"))
    memberships: dict[int, set[int]] = {}
    for user_id, group_id in User.groups.through.objects.values_list("user_id", "group_id"):
        memberships.setdefault(user_id, set()).add(group_id)

    def short(codename: str) -> str | None:
        name = codename.removesuffix("_key")
        return name if codename.endswith("_key") and name in KEY_PERMISSIONS else None

    user_global: dict[int, set] = {}
    for user_id, codename in User.user_permissions.through.objects.values_list("user_id", "permission__codename"):
        user_global.setdefault(user_id, set()).add(short(codename))
    group_global: dict[int, set] = {}
    for group_id, codename in Group.permissions.through.objects.values_list("group_id", "permission__codename"):
        group_global.setdefault(group_id, set()).add(short(codename))
    user_key: dict[tuple[int, int], set] = {}
    for user_id, key_id, codename in KeyUserObjectPermission.objects.values_list(
            "user_id", "content_object_id", "permission__codename"):  # fmt: skip
        user_key.setdefault((user_id, key_id), set()).add(short(codename))
    group_key: dict[tuple[int, int], set] = {}
    for group_id, key_id, codename in KeyGroupObjectPermission.objects.values_list(
            "group_id", "content_object_id", "permission__codename"):  # fmt: skip
        group_key.setdefault((group_id, key_id), set()).add(short(codename))
    perms = {}
    for user_id, username in users.items():
        groups = memberships.get(user_id, set())
        everywhere = set(user_global.get(user_id, set())).union(*(group_global.get(g, set()) for g in groups))
        for k in live:
            here = set(user_key.get((user_id, k.pk), set())).union(*(group_key.get((g, k.pk), set()) for g in groups))
            perms[(username, k.pk)] = (everywhere | here) - {None}
    versions: dict[int, list] = {}
    for row in KeyVersion.objects.order_by("version").values_list(
            "key_id", "version", "disabled_at", "destroy_after", "destroyed_at"):  # fmt: skip
        versions.setdefault(row[0], []).append(row[1:])
    keys_ = {
        k.pk: {
            "exportable": k.exportable, "allow_deletion": k.allow_deletion, "state": k.state,
            "min_decryption_version": k.min_decryption_version, "approvals_required": k.approvals_required,
            "versions": versions.get(k.pk, []),
        }
        for k in live
    }  # fmt: skip
    grants: dict[int, set] = {k.pk: set() for k in live}
    for (user_id, key_id), names in user_key.items():
        if key_id in grants:
            grants[key_id] |= {("u", user_id, n) for n in names}
    for (group_id, key_id), names in group_key.items():
        if key_id in grants:
            grants[key_id] |= {("g", group_id, n) for n in names}
    requests = list(ApprovalRequest.objects.values_list("pk", "status", "requester__username"))
    return {
        "perms": perms, "keys": keys_, "grants": grants,
        "requests": {pk: status for pk, status, _ in requests},
        "requesters": {pk: who for pk, _, who in requests},
    }  # fmt: skip


def executed_requesters(before: dict, after: dict) -> set[str]:
    return {
        after["requesters"][pk]
        for pk, status in after["requests"].items()
        if status == "executed" and before["requests"].get(pk) != "executed"
    }


@pytest.mark.django_db
def test_separation_of_duties_holds_over_random_call_sequences():
    run_state_machine_as_test(SeparationOfDuties, settings=settings.get_profile("egide"))


@pytest.mark.slow
@pytest.mark.django_db
def test_separation_of_duties_holds_over_long_random_call_sequences():
    run_state_machine_as_test(SeparationOfDuties, settings=settings.get_profile("egide-slow"))
