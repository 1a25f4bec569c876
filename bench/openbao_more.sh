#!/usr/bin/env bash
# openbao_more.sh - OpenBao's Transit rows that ../shared/bench/openbao_transit.sh does not run:
# HMAC-SHA-256 of 64 B (`hmac64`) and ML-DSA-65 sign/verify of 64 B (`sign_mldsa65`,
# `verify_mldsa65`), the rows of issue 16's key types that Transit has (it has no ML-KEM).
#
# The same method as openbao_transit.sh, which it follows line for line where they overlap:
# a throw-away `bao server -dev` on loopback with (AUDIT=1) a file audit device, one key
# per row, wrk with ../shared/bench/post.lua, the bao process's CPU per request from /proc,
# and the same markdown table on stdout, so bench/report.py joins its rows like the others.
# OpenBao is a measuring instrument only: nothing of it is in this repository.
#
#   BAO=~/.cache/openbao/bin/bao AUDIT=1 ADDR=127.0.0.1:8211 bench/openbao_more.sh
#   knobs: THREADS=2 CONC=16 DUR=10s ONLY=<regex> OUTDIR=<dir> SHARED_BENCH=<dir with post.lua>
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SHARED_BENCH="${SHARED_BENCH:-$HERE/../../shared/bench}"
BAO="${BAO:-$(command -v bao || echo bao)}"
AUDIT="${AUDIT:-0}"
ADDR="${ADDR:-127.0.0.1:8211}"
THREADS="${THREADS:-2}"; CONC="${CONC:-16}"; DUR="${DUR:-10s}"
ONLY="${ONLY:-.}"
OUTDIR="${OUTDIR:-$(mktemp -d -t openbao-more.XXXXXX)}"
TOKEN=root
URL="http://${ADDR}"
mkdir -p "$OUTDIR"
case "$ADDR" in 127.0.0.1:*) ;; *) echo "refusing non-loopback ADDR=$ADDR" >&2; exit 2 ;; esac
for t in wrk curl jq base64; do command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 2; }; done
if curl -s -o /dev/null "$URL/v1/sys/health"; then echo "something already listens on $ADDR" >&2; exit 2; fi

SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SERVER_PID" 2>/dev/null && kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -f "$OUTDIR/audit.log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

EXTRA=()
if [[ "$AUDIT" == 1 ]]; then
  printf 'audit "file" "bench" {\n  options {\n    file_path = "%s"\n  }\n}\n' "$OUTDIR/audit.log" >"$OUTDIR/audit.hcl"
  EXTRA=(-config="$OUTDIR/audit.hcl")
fi
"$BAO" server -dev -dev-root-token-id="$TOKEN" -dev-listen-address="$ADDR" "${EXTRA[@]}" >"$OUTDIR/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/sys/health" || true)
  [[ "$code" == 200 ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$OUTDIR/server.log" >&2; exit 1; }
  sleep 0.2
done
[[ "$code" == 200 ]] || { echo "server did not become ready" >&2; exit 1; }

api() {  # api METHOD PATH [JSON|@file] -> body; fails on non-2xx
  local method=$1 path=$2 data=${3:-} out code
  local args=(-sS -X "$method" -H "X-Vault-Token: $TOKEN" -w '\n%{http_code}')
  [[ -n "$data" ]] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
  out=$(curl "${args[@]}" "$URL/v1/$path"); code=${out##*$'\n'}; out=${out%$'\n'*}
  [[ "$code" == 2* ]] || { echo "API $method $path -> HTTP $code: $out" >&2; return 1; }
  printf '%s' "$out"
}

api POST sys/mounts/transit '{"type":"transit"}' >/dev/null
B=$OUTDIR/bodies; mkdir -p "$B"
PT64=$(head -c 64 /dev/urandom | base64 -w0)
api POST transit/keys/hmac '{"type":"aes256-gcm96"}' >/dev/null  # Transit HMACs with any key's own HMAC key
jq -nc --arg i "$PT64" '{input:$i, algorithm:"sha2-256"}' >"$B/hmac64.json"
mac=$(api POST transit/hmac/hmac "@$B/hmac64.json" | jq -r .data.hmac)
[[ $(api POST transit/verify/hmac "$(jq -nc --arg i "$PT64" --arg m "$mac" '{input:$i, hmac:$m}')" \
     | jq -r .data.valid) == true ]] || { echo "hmac: not valid" >&2; exit 1; }
api POST transit/keys/mldsa65 '{"type":"mldsa-65"}' >/dev/null
jq -nc --arg i "$PT64" '{input:$i}' >"$B/sign_mldsa65.json"
sig=$(api POST transit/sign/mldsa65 "@$B/sign_mldsa65.json" | jq -r .data.signature)
jq -nc --arg i "$PT64" --arg s "$sig" '{input:$i, signature:$s}' >"$B/verify_mldsa65.json"
[[ $(api POST transit/verify/mldsa65 "@$B/verify_mldsa65.json" | jq -r .data.valid) == true ]] \
  || { echo "verify mldsa65: not valid" >&2; exit 1; }

CLK_TCK=$(getconf CLK_TCK)
server_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
bench() {  # bench ID OP KEYTYPE PAYLOAD PATH BODYFILE: one table row, as openbao_transit.sh's
  local id=$1 op=$2 kt=$3 payload=$4 path=$5 body=$6
  [[ "$id" =~ $ONLY ]] || return 0
  local raw="$OUTDIR/wrk_${id}_c${CONC}.txt" s0 w0 s1 w1 line wl
  s0=$(server_ticks); w0=$(date +%s%N)
  BODY_FILE="$body" VAULT_TOKEN="$TOKEN" /usr/bin/time -a -o "$raw.time" -f 'WRKCPU user=%U sys=%S' \
    wrk -t"$THREADS" -c"$CONC" -d"$DUR" --latency -s "$SHARED_BENCH/post.lua" "$URL/v1/$path" >"$raw" 2>&1 || true
  s1=$(server_ticks); w1=$(date +%s%N)
  cat "$raw.time" >>"$raw"; rm -f "$raw.time"
  line=$(grep '^RESULT ' "$raw" || true)
  [[ -n "$line" ]] || { printf '| %s | %s | %s | %s | ERROR (see %s) | | | | | | |\n' "$op" "$kt" "$payload" "$CONC" "$raw"; return 0; }
  local -A r=(); local kv
  for kv in ${line#RESULT }; do r[${kv%%=*}]=${kv#*=}; done
  wl=$(grep '^WRKCPU ' "$raw" || echo 'WRKCPU user=0 sys=0')
  local wu=${wl#*user=}; wu=${wu%% *}; local ws=${wl#*sys=}
  local errs=$(( r[err_connect] + r[err_read] + r[err_write] + r[err_status] + r[err_timeout] ))
  awk -v op="$op" -v kt="$kt" -v pl="$payload" -v c="$CONC" -v rps="${r[rps]}" \
      -v p50="${r[p50_us]}" -v p99="${r[p99_us]}" -v req="${r[requests]}" -v errs="$errs" \
      -v dt=$(( s1 - s0 )) -v hz="$CLK_TCK" -v wall=$(( w1 - w0 )) -v wu="$wu" -v ws="$ws" 'BEGIN{
        wall /= 1e9; scpu = dt / hz;
        printf "| %s | %s | %s | %s | %.0f | %.0f | %.2f | %.2f | %.0f%% | %.0f%% | %.0f | %d req, %d err |\n",
          op, kt, pl, c, rps, rps, p50 / 1000, p99 / 1000,
          100 * scpu / wall, 100 * (wu + ws) / wall, (req > 0 ? 1e6 * scpu / req : 0), req, errs }'
}
echo "| operation | key type | payload | conc | req/s | items/s | p50 ms | p99 ms | server CPU | wrk CPU | server CPU us/req | requests, errors |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
bench sign_mldsa65 sign mldsa-65 "64 B" transit/sign/mldsa65 "$B/sign_mldsa65.json"
bench verify_mldsa65 verify mldsa-65 "64 B" transit/verify/mldsa65 "$B/verify_mldsa65.json"
bench hmac64 hmac hmac "64 B" transit/hmac/hmac "$B/hmac64.json"
