"""What the reliability tests drive: production-like Egide servers on PostgreSQL, over HTTP.

No Django here (client processes import this module): a site is a PostgreSQL database
with its production environment; a server is granian serving egide_site.wsgi with that
environment, in its own process group; a client is http.client with request ids of our
own. Every wait is bounded in time, every loop in time and count.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GRANIAN = BIN / "granian"
HOST = "127.0.0.1"
# Variables of the test runner's own environment that must not reach a production server.
_RUNNER_ONLY = ("DATABASE_URL", "SECRET_KEY", "SECRET_KEY_FILE", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS")


# ------------------------------------------------------------------- PostgreSQL ----
@dataclass(frozen=True)
class Postgres:
    """The PostgreSQL server the tests create their own databases on (never stopped)."""

    user: str
    password: str
    port: int

    @classmethod
    def from_url(cls, url: str) -> Postgres:
        parts = urlsplit(url.replace("postgresql://", "postgres://", 1))
        if parts.hostname not in ("127.0.0.1", "localhost"):
            raise RuntimeError(f"refusing PostgreSQL at {parts.hostname}: only 127.0.0.1")
        return cls(parts.username or "postgres", parts.password or "", parts.port or 5432)

    def url(self, database: str) -> str:
        auth = self.user + (f":{self.password}" if self.password else "")
        return f"postgres://{auth}@{HOST}:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(host=HOST, port=self.port, user=self.user, password=self.password or None,
                               dbname=database, autocommit=True, connect_timeout=5)  # fmt: skip

    def admin(self, *statements: str) -> None:
        """Run statements on the `postgres` database (never on the one under test)."""
        with self.connect() as conn:
            for statement in statements:
                conn.execute(statement)


def plain_identifier(name: str) -> str:
    if not name.replace("_", "").isalnum() or not name[0].isalpha() or name.lower() != name:
        raise ValueError(f"not a plain identifier: {name!r}")
    return name


# ------------------------------------------------------------------------- site ----
@dataclass
class Site:
    """One Egide installation: a database and the production environment of its nodes."""

    pg: Postgres
    database: str
    env: dict[str, str]
    token: str
    workdir: Path
    logs: list[Path] = field(default_factory=list)

    def manage(self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 120,
               check: bool = True) -> subprocess.CompletedProcess[str]:  # fmt: skip
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env={**self.env, **(extra_env or {})},
                              capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip
        if check and done.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def sql(self, query: str, params: Iterable[Any] = ()) -> list[tuple]:
        with self.pg.connect(self.database) as conn:
            cursor = conn.execute(query, tuple(params))
            return cursor.fetchall() if cursor.description is not None else []


def production_env(pg: Postgres, database: str, workdir: Path, master_key: str, secret_key: str) -> dict[str, str]:
    """The environment of bench/run.sh's server: DEBUG off, every secret given, TLS in front."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("EGIDE_", "DJANGO_")) and name not in _RUNNER_ONLY}  # fmt: skip
    env.update(
        SECRET_KEY=secret_key, ALLOWED_HOSTS=HOST, EGIDE_HTTPS="0", EGIDE_MASTER_KEY=master_key,
        DATABASE_URL=pg.url(database), EGIDE_VAR_DIR=str(workdir / "var"),
        EGIDE_CONFIG_DIR=str(workdir / "cli"), EGIDE_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
    )  # fmt: skip
    return env


def new_secrets() -> tuple[str, str]:
    """A throw-away master key (32 random bytes, base64) and SECRET_KEY, for this run only."""
    return base64.b64encode(os.urandom(32)).decode(), base64.b64encode(os.urandom(48)).decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# ----------------------------------------------------------------------- server ----
def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def start_time(pid: int) -> str | None:
    """The process's start time (field 22 of its stat): a pid with another is another process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


class Server:
    """granian --interface wsgi ... egide_site.wsgi:application, in its own process group."""

    def __init__(self, site: Site, *, workers: int = 2, port: int | None = None, name: str = "egide",
                 spool_dir: Path | None = None, env: dict[str, str] | None = None) -> None:  # fmt: skip
        self.site, self.workers, self.name = site, workers, name
        self.port = port or free_port()
        self.spool_dir = spool_dir or site.workdir / f"spool-{name}"
        self.env = {**site.env, "EGIDE_AUDIT_SPOOL_DIR": str(self.spool_dir), **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = site.workdir / f"{name}-{self.port}.log"
        self.starts = 0

    def start(self, timeout: float = 40.0) -> Server:
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError(f"{self.name} already runs")
        self.starts += 1
        self.site.logs.append(self.log)
        log = open(self.log, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            self.proc = subprocess.Popen(
                [str(GRANIAN), "--interface", "wsgi", "--host", HOST, "--port", str(self.port),
                 "--workers", str(self.workers), "--blocking-threads", "1", "--no-ws",
                 "egide_site.wsgi:application"],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        finally:
            log.close()
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited while starting:\n{self.log_tail()}")
            last = Http(self.port, self.site.token, timeout=5).request("GET", "/v1/kms/keys?limit=1")
            if last.status == 200 and len(self.worker_pids()) >= self.workers:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready in {timeout:.0f} s (last: {last}):\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def worker_pids(self) -> list[int]:
        """The worker processes: the master's children that are Python interpreters."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        return children(self.proc.pid)

    def kill_worker(self) -> int:
        pids = self.worker_pids()
        if not pids:
            raise RuntimeError(f"{self.name} has no worker to kill")
        victim = pids[0]
        os.kill(victim, signal.SIGKILL)
        return victim

    def kill(self) -> None:
        """SIGKILL to the whole server at once (its own process group: only what we started)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, then SIGKILL to the process group of what is left after `grace` seconds."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # workers left behind, if any
        except ProcessLookupError:
            pass
        if self.proc.poll() is None:
            self.proc.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def http(self, token: str | None = None, timeout: float = 10.0, keep_alive: bool = True) -> Http:
        return Http(self.port, token or self.site.token, timeout=timeout, keep_alive=keep_alive)


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

    def __init__(self, port: int, token: str, *, timeout: float = 10.0, keep_alive: bool = True,
                 prefix: str = "rel") -> None:  # fmt: skip
        self.port, self.token, self.timeout, self.keep_alive, self.prefix = port, token, timeout, keep_alive, prefix
        self._conn: HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, payload: Any = None, *, token: str | None = None,
                rid: str | None = None) -> Answer:  # fmt: skip
        rid = rid or request_id(self.prefix)
        headers = {"Authorization": f"Bearer {token or self.token}", "X-Request-Id": rid, "Host": HOST}
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
            answer = Answer(method, path, rid, sent, time.monotonic(), response.status,
                            headers={k.lower(): v for k, v in response.getheaders()})  # fmt: skip
            try:
                answer.body = json.loads(raw) if raw else None
            except ValueError:
                answer.body = raw.decode(errors="replace")[:500]
            if not self.keep_alive or response.will_close:
                self.close()
            return answer
        except Exception as exc:  # noqa: BLE001 - OSError, HTTPException (RemoteDisconnected...)
            self.close()
            return Answer(method, path, rid, sent, time.monotonic(), None, error=f"{type(exc).__name__}: {exc}")

    # The operations of the tests, as the API contract spells them.
    def encrypt(self, key: str, plaintext: bytes = b"reliability", **kw: Any) -> Answer:
        return self.request("POST", f"/v1/kms/encrypt/{key}", {"plaintext": base64.b64encode(plaintext).decode()}, **kw)

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
ACTION_OF = {"encrypt": "encrypt", "decrypt": "decrypt", "rotate": "rotate", "disable": "disable",
             "enable": "enable", "delete": "delete", "restore": "restore", "info": "info"}  # fmt: skip


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
    return Record(answer.request_id, op, key, answer.status, answer.code, answer.sent, answer.received,
                  version if isinstance(version, int) else None, "ciphertext" in answer.raw)  # fmt: skip


def mixed_client(port: int, token: str, keys: list[str], weights: dict[str, int], seconds: float,
                 max_requests: int, seed: int, prefix: str, stop: Callable[[], bool] = lambda: False) -> list[Record]:  # fmt: skip
    """One client thread: random operations on random keys until the time or count is up."""
    rnd = random.Random(seed)
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
        results[i] = mixed_client(args["port"], args["token"], args["keys"], args["weights"], args["seconds"],
                                  args["max_requests"], args["seed"] * 100 + i, f"{args['prefix']}{i}")  # fmt: skip

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
        rows = site.sql("SELECT request_id, action, outcome, error_code FROM kms_auditevent "
                        "WHERE request_id = ANY(%s)", [rids[start:start + 5000]])  # fmt: skip
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
        return (f"answered={self.answered} missing={len(self.missing)} {self.missing[:5]} "
                f"duplicated={len(self.duplicated)} {self.duplicated[:5]} wrong={len(self.wrong)} {self.wrong[:5]}")


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


def verify_chain(site: Site) -> tuple[str, float]:
    """`manage.py kms_audit_verify` (must exit 0); its line and how long it took."""
    started = time.monotonic()
    done = site.manage("kms_audit_verify", check=False)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, f"audit chain does not verify:\n{done.stdout}\n{done.stderr}"
    return done.stdout.strip(), elapsed


def ship(site: Site, spool_dir: Path) -> int:
    """`manage.py kms_audit_ship` for one node's spool directory; the number of events shipped."""
    done = site.manage("kms_audit_ship", extra_env={"EGIDE_AUDIT_SPOOL_DIR": str(spool_dir)})
    words = done.stdout.split()
    return int(words[1]) if len(words) > 1 and words[1].isdigit() else -1


def versions_of(site: Site, key: str) -> tuple[list[int], int]:
    """A key's version numbers (in order, duplicates kept) and its current_version."""
    rows = site.sql("SELECT v.version FROM kms_keyversion v JOIN kms_key k ON k.id = v.key_id "
                    "WHERE k.name = %s ORDER BY v.version", [key])  # fmt: skip
    current = site.sql("SELECT current_version FROM kms_key WHERE name = %s", [key])[0][0]
    return [row[0] for row in rows], current


# ------------------------------------------------------------------------ stats ----
def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def status_counts(records: Iterable[Record]) -> dict[str, int]:
    counts = Counter(f"{r.op} {r.status if r.status is not None else 'no answer'}{' ' + r.code if r.code else ''}"
                     for r in records)  # fmt: skip
    return dict(sorted(counts.items()))


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
