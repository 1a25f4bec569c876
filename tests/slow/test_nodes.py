"""Issue 9, several nodes: a change made through one node, seen by the other — how soon.

Two granian servers (2 workers each, separate audit spools) share one PostgreSQL
database. Through node A a key is disabled (then enabled), rotated, deleted (then
restored) and a token revoked; node B is polled every 5 ms, each poll on a new
connection (so both of its workers answer), from the moment A answered, until it has
given the new answer 8 times in a row. The delay is A's answer → the first of those
answers; a stale answer is a poll sent after A's answer that still showed the old state.

- default (EGIDE_STATE_WINDOW_MS=250, NOTIFY push): the delay stays within the
  documented bound of 1 s (docs/dataplane.md);
- strict (EGIDE_STATE_WINDOW_MS=0): no stale answer at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from tests.slow.servers import Server, ship, verify_chain
from tests.slow.traffic import Answer, Http, check_audit, ms, op_of, percentile, record

pytestmark = pytest.mark.slow

TRIALS = 20
POLL_S = 0.005
SETTLE = 8  # fresh answers in a row that end a watch
WATCH_LIMIT_S = 3.0
BOUND_S = 1.0  # the documented bound of the default mode
KEY = "node-key"
MODES = {"default": "250", "strict": "0"}


@dataclass
class Kind:
    delays: list[float] = field(default_factory=list)
    stale: int = 0
    polls: int = 0


@dataclass
class Watch:
    delay: float | None  # None: never settled on the new answer within the limit
    stale: int
    polls: int
    unexpected: list[str]


def watch(
    probe: Callable[[], Answer],
    fresh: Callable[[Answer], bool],
    old: Callable[[Answer], bool],
    t0: float,
    records: list,
) -> Watch:
    """Poll B every 5 ms from t0 until SETTLE fresh answers in a row (bounded in time)."""
    stale, polls, in_a_row, first_of_run, unexpected = 0, 0, 0, None, []
    next_at = time.monotonic()
    while time.monotonic() - t0 < WATCH_LIMIT_S:
        answer = probe()
        records.append(answer)
        polls += 1
        if fresh(answer):
            in_a_row += 1
            first_of_run = first_of_run if first_of_run is not None else answer.received
            if in_a_row >= SETTLE:
                return Watch(first_of_run - t0, stale, polls, unexpected)
        else:
            in_a_row, first_of_run = 0, None
            if old(answer):
                stale += 1
            else:
                unexpected.append(f"{answer.status} {answer.code} {answer.error}".strip())
        next_at += POLL_S
        time.sleep(max(0.0, next_at - time.monotonic()))
    return Watch(None, stale, polls, unexpected)


def make_tokens(site, n: int) -> list[tuple[int, str]]:
    code = (
        "from django.contrib.auth import get_user_model\n"
        "from kms.services.actor import Actor\n"
        "from kms.services.tokens import token_create\n"
        "user = get_user_model().objects.get(username='admin')\n"
        f"for i in range({n}):\n"
        "    token, raw = token_create(actor=Actor.system(), user=user, name=f'node-trial-{i}')\n"
        "    print('TOKEN', token.pk, raw)\n"
    )
    out = site.manage("shell", "-c", code).stdout.splitlines()
    tokens = [(int(line.split()[1]), line.split()[2]) for line in out if line.startswith("TOKEN ")]
    assert len(tokens) == n, out
    return tokens


@pytest.mark.parametrize("mode", list(MODES))
def test_a_change_through_one_node_is_seen_by_the_other(site, servers, figures, mode):
    env = {"EGIDE_STATE_WINDOW_MS": MODES[mode]}
    a: Server = servers(name="node-a", workers=2, env=env)
    b: Server = servers(name="node-b", workers=2, env=env)
    tokens = make_tokens(site, TRIALS)
    via_a = a.http()
    assert via_a.create(KEY).status == 201
    probe_b = Http(b.port, site.token, keep_alive=False, prefix=f"poll-{mode}")
    changes: list[Answer] = []
    polls: list[Answer] = []
    kinds = {name: Kind() for name in ("disable", "enable", "rotate", "delete", "restore", "revoke")}
    problems: list[str] = []

    def change_and_watch(name: str, change: Callable[[], Answer], fresh, old, probe=None) -> None:
        answer = change()
        changes.append(answer)
        if answer.status is None or answer.status >= 300:
            problems.append(f"{name} through A: {answer.status} {answer.code}")
            return
        seen = watch(
            probe or (lambda: probe_b.encrypt(KEY)),
            lambda p: fresh(p, answer),
            old,
            answer.received,
            polls,
        )
        kind = kinds[name]
        kind.stale, kind.polls = kind.stale + seen.stale, kind.polls + seen.polls
        if seen.delay is None or seen.unexpected:
            problems.append(f"{name}: delay {seen.delay}, unexpected answers {seen.unexpected[:3]}")
        else:
            kind.delays.append(seen.delay)

    ok = lambda p: p.status == 200  # noqa: E731
    refused = lambda p: p.status == 409  # noqa: E731 - disabled or deleted
    deadline = time.monotonic() + 45
    for trial in range(TRIALS):
        if time.monotonic() > deadline or problems:
            break
        for _ in range(2 * SETTLE):  # warm both of B's workers on the current state
            polls.append(probe_b.encrypt(KEY))
        change_and_watch("disable", lambda: via_a.state(KEY, "disable"), lambda p, _: refused(p), ok)
        change_and_watch("enable", lambda: via_a.state(KEY, "enable"), lambda p, _: ok(p), refused)
        change_and_watch(
            "rotate",
            lambda: via_a.rotate(KEY),
            lambda p, c: ok(p) and p.data["key_version"] == c.data["new_version"],
            lambda p: ok(p),
        )
        change_and_watch("delete", lambda: via_a.state(KEY, "delete"), lambda p, _: refused(p), ok)
        change_and_watch("restore", lambda: via_a.state(KEY, "restore"), lambda p, _: ok(p), refused)
        token_id, raw = tokens[trial]
        with_token = Http(b.port, raw, keep_alive=False, prefix=f"tok-{mode}")
        for _ in range(2 * SETTLE):
            polls.append(with_token.encrypt(KEY))  # B has the token cached in both workers
        change_and_watch(
            "revoke",
            lambda token_id=token_id: via_a.revoke(token_id),
            lambda p, _: p.status == 401,
            ok,
            probe=lambda with_token=with_token: with_token.encrypt(KEY),
        )

    a.stop()
    b.stop()
    for server in (a, b):
        ship(site, server.spool_dir)
    # Every answered request on either node has its one event (a revoked token's 401 is no
    # one's operation: it has none, on either path).
    records = [record(op_of(x), KEY, x) for x in changes + polls if x.status != 401]
    audit = check_audit(site, records)
    verified, _ = verify_chain(site)

    assert not problems, problems
    stale_total = sum(k.stale for k in kinds.values())
    worst = max(max(k.delays) for k in kinds.values())
    figures.update(
        {
            "mode": f"{mode} (EGIDE_STATE_WINDOW_MS={MODES[mode]})",
            "setup": f"2 granian nodes x 2 workers, one database; {TRIALS} trials per change; "
            f"B polled every {POLL_S * 1000:g} ms on new connections until {SETTLE} new answers "
            "in a row",
            "delay_ms_median_max": {
                name: [ms(percentile(k.delays, 0.5)), ms(max(k.delays))] for name, k in kinds.items()
            },
            "stale_answers": {name: f"{k.stale} of {k.polls} polls" for name, k in kinds.items()},
            "worst_delay_ms": ms(worst),
            "audit": f"{audit.answered} answered requests on both nodes, one event each: {audit.ok}",
            "chain": verified.split(";")[0],
        }
    )
    assert audit.ok, audit.summary()
    assert all(len(k.delays) == TRIALS for k in kinds.values()), {n: len(k.delays) for n, k in kinds.items()}
    if mode == "strict":
        assert stale_total == 0, f"strict mode answered {stale_total} stale answers"
    else:
        assert worst <= BOUND_S, f"a change took {worst:.3f} s to reach the other node (bound {BOUND_S} s)"
