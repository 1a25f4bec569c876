"""Traffic for the reliability tests: HTTP clients with request ids of our own, load
patterns, and the check that every answered request left exactly one audit event.

No Django here: client processes (multiprocessing, spawn) import this module.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.client import HTTPConnection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.slow.servers import Site

HOST = "127.0.0.1"  # the only address the tests use


# ------------------------------------------------------------------------- HTTP ----
@dataclass
class Answer:
    method: str
    path: str
    request_id: str
    sent: float
    received: float
    status: int | None  # None: no answer at all (connection refused, reset, timeout)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    error: str = ""

    @property
    def code(self) -> str:
        """The JSON error code, or "" for a success or a body that is not our error shape."""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return str(self.body["error"].get("code", ""))
        return ""

    @property
    def data(self) -> Any:
        return self.body.get("data") if isinstance(self.body, dict) else None

    @property
    def raw(self) -> str:
        return json.dumps(self.body) if not isinstance(self.body, str) else self.body


def request_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


class Http:
    """One HTTP/1.1 connection (kept alive, or a new one per request), every answer recorded.

    A request that fails in transit is never retried: it may or may not have been done.
    """

    def __init__(
        self,
        port: int,
        token: str,
        *,
        timeout: float = 10.0,
        keep_alive: bool = True,
        prefix: str = "rel",
    ) -> None:
        self.port, self.token, self.timeout, self.keep_alive, self.prefix = (
            port,
            token,
            timeout,
            keep_alive,
            prefix,
        )
        self._conn: HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        token: str | None = None,
        rid: str | None = None,
    ) -> Answer:
        rid = rid or request_id(self.prefix)
        headers = {
            "Authorization": f"Bearer {token or self.token}",
            "X-Request-Id": rid,
            "Host": HOST,
        }
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        if not self.keep_alive:
            headers["Connection"] = "close"
        sent = time.monotonic()
        try:
            if self._conn is None:
                self._conn = HTTPConnection(HOST, self.port, timeout=self.timeout)
            self._conn.request(method, path, body=body, headers=headers)
            response = self._conn.getresponse()
            raw = response.read()
            answer = Answer(
                method,
                path,
                rid,
                sent,
                time.monotonic(),
                response.status,
                headers={k.lower(): v for k, v in response.getheaders()},
            )
            try:
                answer.body = json.loads(raw) if raw else None
            except ValueError:
                answer.body = raw.decode(errors="replace")[:500]
            if not self.keep_alive or response.will_close:
                self.close()
            return answer
        except Exception as exc:  # noqa: BLE001 - OSError, HTTPException (RemoteDisconnected...)
            self.close()
            return Answer(
                method,
                path,
                rid,
                sent,
                time.monotonic(),
                None,
                error=f"{type(exc).__name__}: {exc}",
            )

    # The operations of the tests, as the API contract spells them.
    def encrypt(self, key: str, plaintext: bytes = b"reliability", **kw: Any) -> Answer:
        return self.request(
            "POST",
            f"/v1/kms/encrypt/{key}",
            {"plaintext": base64.b64encode(plaintext).decode()},
            **kw,
        )

    def decrypt(self, key: str, ciphertext: str, **kw: Any) -> Answer:
        return self.request("POST", f"/v1/kms/decrypt/{key}", {"ciphertext": ciphertext}, **kw)

    def create(self, key: str, key_type: str = "aes256", **kw: Any) -> Answer:
        return self.request("POST", f"/v1/kms/keys/{key}", {"type": key_type}, **kw)

    def info(self, key: str, **kw: Any) -> Answer:
        return self.request("GET", f"/v1/kms/keys/{key}", **kw)

    def rotate(self, key: str, **kw: Any) -> Answer:
        return self.request("POST", f"/v1/kms/keys/{key}/rotate", {}, **kw)

    def state(self, key: str, action: str, **kw: Any) -> Answer:
        """disable, enable, restore (POST) or delete (DELETE)."""
        if action == "delete":
            return self.request("DELETE", f"/v1/kms/keys/{key}", **kw)
        return self.request("POST", f"/v1/kms/keys/{key}/{action}", {}, **kw)

    def revoke(self, token_id: int, **kw: Any) -> Answer:
        return self.request("DELETE", f"/v1/auth/tokens/{token_id}", **kw)


# The audit action each client operation must leave (kms_auditevent.action).
ACTION_OF = {
    "encrypt": "encrypt",
    "decrypt": "decrypt",
    "rotate": "rotate",
    "disable": "disable",
    "enable": "enable",
    "delete": "delete",
    "restore": "restore",
    "info": "info",
    "create": "create",
    "revoke": "token_revoke",
}


def op_of(answer: Answer) -> str:
    """The client operation of a request, from its method and path (the API contract's)."""
    parts = answer.path.split("?")[0].split("/")  # ['', 'v1', 'kms', <what>, <name>, <action>?]
    if parts[2] == "auth":
        return "revoke"
    if parts[3] != "keys":
        return parts[3]  # encrypt, decrypt...
    if len(parts) > 5:
        return parts[5]  # rotate, disable, enable, restore
    return {"DELETE": "delete", "GET": "info", "POST": "create"}[answer.method]


@dataclass(frozen=True)
class Record:
    """One request of a load run, as the client saw it (picklable, for client processes)."""

    rid: str
    op: str
    key: str
    status: int | None
    code: str
    sent: float
    received: float
    version: int | None = None
    ciphertext_in_body: bool = False


def record(op: str, key: str, answer: Answer) -> Record:
    data = answer.data if isinstance(answer.data, dict) else {}
    version = data.get("new_version", data.get("key_version"))
    return Record(
        answer.request_id,
        op,
        key,
        answer.status,
        answer.code,
        answer.sent,
        answer.received,
        version if isinstance(version, int) else None,
        "ciphertext" in answer.raw,
    )


def mixed_client(
    port: int,
    token: str,
    keys: list[str],
    weights: dict[str, int],
    seconds: float,
    max_requests: int,
    seed: int,
    prefix: str,
    stop: Callable[[], bool] = lambda: False,
) -> list[Record]:
    """One client thread: random operations on random keys until the time or count is up."""
    rnd = random.Random(seed)  # noqa: S311 - a load pattern, reproducible, not a secret
    http = Http(port, token, prefix=prefix)
    ops, cum = list(weights), list(weights.values())
    ciphertexts: dict[str, str] = {}
    out: list[Record] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(out) < max_requests and not stop():
        op, key = rnd.choices(ops, cum)[0], rnd.choice(keys)
        if op == "decrypt" and key not in ciphertexts:
            op = "encrypt"
        if op == "encrypt":
            answer = http.encrypt(key, rnd.randbytes(64))
            if answer.status == 200:
                ciphertexts[key] = answer.data["ciphertext"]
        elif op == "decrypt":
            answer = http.decrypt(key, ciphertexts[key])
        elif op == "rotate":
            answer = http.rotate(key)
        else:
            answer = http.state(key, op)
        out.append(record(op, key, answer))
        if answer.status is None:
            time.sleep(0.02)  # the server is down: do not spin
    http.close()
    return out


def client_process(args: dict[str, Any]) -> list[Record]:
    """A client process: `threads` mixed clients at once (multiprocessing target)."""
    results: list[list[Record]] = [[] for _ in range(args["threads"])]

    def run(i: int) -> None:
        results[i] = mixed_client(
            args["port"],
            args["token"],
            args["keys"],
            args["weights"],
            args["seconds"],
            args["max_requests"],
            args["seed"] * 100 + i,
            f"{args['prefix']}{i}",
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(args["threads"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(args["seconds"] + 60)
    return [r for chunk in results for r in chunk]


# ------------------------------------------------------------------------ audit ----
def events_by_request_id(site: Site, rids: Iterable[str]) -> dict[str, list[tuple[str, str, str]]]:
    """request id -> [(action, outcome, error_code)] of the audit table (after shipping)."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    rids = list(rids)
    for start in range(0, len(rids), 5000):
        rows = site.sql(
            "SELECT request_id, action, outcome, error_code FROM kms_auditevent WHERE request_id = ANY(%s)",
            [rids[start : start + 5000]],
        )
        for rid, action, outcome, code in rows:
            found.setdefault(rid, []).append((action, outcome, code))
    return found


@dataclass
class AuditCheck:
    answered: int = 0
    missing: list[str] = field(default_factory=list)  # answered, no event
    duplicated: list[str] = field(default_factory=list)  # more than one event
    wrong: list[str] = field(default_factory=list)  # action or outcome differ from the answer
    unanswered_recorded: int = 0  # no answer (killed mid-request), yet the event exists (done)
    unanswered: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicated or self.wrong)

    def summary(self) -> str:
        return (
            f"answered={self.answered} missing={len(self.missing)} {self.missing[:5]} "
            f"duplicated={len(self.duplicated)} {self.duplicated[:5]} "
            f"wrong={len(self.wrong)} {self.wrong[:5]}"
        )


def check_audit(site: Site, records: list[Record], *, answered: Callable[[Record], bool] | None = None) -> AuditCheck:
    """Every answered request (by default 2xx and 4xx) has exactly one event of its action,
    success for a 2xx and denied/error for a 4xx; no request has more than one event."""
    answered = answered or (lambda r: r.status is not None and r.status < 500)
    events = events_by_request_id(site, [r.rid for r in records])
    check = AuditCheck()
    for r in records:
        found = events.get(r.rid, [])
        if len(found) > 1:
            check.duplicated.append(r.rid)
        if r.status is None:
            check.unanswered += 1
            check.unanswered_recorded += bool(found)
            continue
        if not answered(r):
            continue
        check.answered += 1
        if not found:
            check.missing.append(f"{r.op}:{r.status}:{r.rid}")
            continue
        action, outcome, _code = found[0]
        expected = "success" if 200 <= r.status < 300 else ("denied", "error")
        if action != ACTION_OF[r.op] or (outcome != expected if isinstance(expected, str) else outcome not in expected):
            check.wrong.append(f"{r.op}:{r.status}->{action}/{outcome}:{r.rid}")
    return check


# ------------------------------------------------------------------------ stats ----
def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def status_counts(records: Iterable[Record]) -> dict[str, int]:
    counts = Counter(f"{r.op} {r.status if r.status is not None else 'no answer'} {r.code}".rstrip() for r in records)
    return dict(sorted(counts.items()))


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
