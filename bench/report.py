#!/usr/bin/env python3
"""report.py - the markdown block of bench/run.sh, for docs/benchmarks.md.

    python bench/report.py OUTDIR

Reads OUTDIR/results.jsonl (Egide rows, one JSON object per wrk run or CLI run),
OUTDIR/openbao-r<N>[-g<G>][-more]/table.md (the OpenBao scripts' own tables: per round, and
per group of rows when bench/run.sh ran PAIRED),
OUTDIR/crypto_limit_bulk.md and OUTDIR/meta.txt; prints the date, the machine, the
exact command and the tables. With several rounds, figures are medians over rounds; an
Egide / OpenBao ratio is the median of the rounds' own ratios (each round's two measurements of a
row taken close together), with their range.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sqlite3
import statistics
import sys
from collections import defaultdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

# OpenBao's audit device in this run (bench/run.sh's BAO_AUDIT): on, as Egide audits every call.
BAO_AUDIT_WORDS = "file audit on" if os.environ.get("BAO_AUDIT", "1") == "1" else "NO audit device"

# openbao_transit.sh prints no row id; its key-type column names the key.
BAO_KEY = {"ed25519": "ed25519", "ecdsa-p256": "p256", "ecdsa-p384": "p384",
           "rsa-2048": "rsa2048", "rsa-4096": "rsa4096", "mldsa-65": "mldsa65"}  # fmt: skip
SIMPLE_OPS = {("encrypt", "64 B"): "enc64", ("encrypt", "4 KiB"): "enc4k",
              ("decrypt", "64 B"): "dec64", ("decrypt", "4 KiB"): "dec4k"}  # fmt: skip
SCALE_GROUPS = (
    ("scale_list", "key list, one page (`GET /v1/kms/keys?limit=100`)"),
    ("scale_versions", "decrypt 64 B: oldest vs newest version of a many-version key"),
    ("scale_audit", "encrypt 64 B: audit table emptied vs holding many events"),
)


KNOBS = (
    "DUR", "LAT_DUR", "THREADS", "CONC", "BATCH_N", "ROUNDS", "WORKERS", "BLOCKING_THREADS", "INTERFACE",
    "KEYS_SMALL", "KEYS_LARGE", "VERSIONS", "AUDIT_EVENTS", "FILE_MIB", "FILE_REPEAT",
)  # fmt: skip


def bao_id(op: str, keytype: str, payload: str) -> str | None:
    if op == "batch encrypt":
        return "batchenc"
    if op == "hmac":
        return "hmac64"
    if op in ("sign", "verify"):
        key = BAO_KEY.get(keytype.split()[0])
        return f"{op}_{key}" if key else None
    return SIMPLE_OPS.get((op, payload))


def read_openbao(outdir: Path) -> dict[tuple[str, int], list[dict]]:
    rows: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for table in sorted(outdir.glob("openbao-r*/table.md")):
        found = re.match(r"openbao-r(\d+)", table.parent.name)
        round_ = int(found.group(1)) if found else 0
        for line in table.read_text().splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 12 or not cells[3].isdigit():
                continue
            rid = bao_id(cells[0], cells[1], cells[2])
            if rid is None or cells[4].startswith("ERROR"):
                continue
            req, _, err = cells[11].partition(" req, ")
            rows[(rid, int(cells[3]))].append({
                "rps": num(cells[4]), "items": num(cells[5]), "p50": num(cells[6]),
                "p99": num(cells[7]), "cpu_us": num(cells[10]),
                "errors": int(err.split()[0]) if err else 0, "round": round_,
            })  # fmt: skip
    return rows


def num(text: str) -> float:
    return float(text.replace(",", "").rstrip("%") or 0)


def med(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def fmt(value: float) -> str:
    return f"{value:,.0f}"


def spread(values: list[float]) -> str:
    """The median, and min-max when there are several rounds."""
    if len(values) < 2:
        return fmt(med(values))
    return f"{fmt(med(values))} ({fmt(min(values))}-{fmt(max(values))})"


def paired(egide: list[dict], bao: list[dict], value) -> tuple[float, str]:
    """A ratio of Egide's to OpenBao's figures for one row: the median of the rounds' own
    ratios (`value(egide run, openbao run)`), and their range when there are several; where no
    round has both (tables without a round in their directory's name), every Egide run against
    every OpenBao run."""
    by_round = {x["round"]: x for x in bao}
    ratios = sorted(value(r, by_round[r["round"]]) for r in egide if r.get("round") in by_round)
    if not ratios:
        ratios = sorted(value(r, x) for r in egide for x in bao)
    if not ratios:
        return 0.0, ""
    return med(ratios), (f" ({ratios[0]:.2f}-{ratios[-1]:.2f})" if len(ratios) > 1 else "")


def machine() -> str:
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return (f"{os.cpu_count()} cores (`nproc`), {model}, {mem_kib / 2**20:.1f} GiB RAM, "
            f"Linux {platform.release()}")  # fmt: skip


def versions(meta: dict[str, str]) -> str:
    parts = [f"Python {platform.python_version()}"]
    for dist in ("Django", "djangorestframework", "cryptography", "psycopg"):
        try:
            parts.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    parts.append(f"granian {meta.get('granian', '?')}")
    parts.append(f"SQLite {sqlite3.sqlite_version}")
    if meta.get("postgresql"):
        parts.append(f"PostgreSQL {meta['postgresql']}")
    if meta.get("openbao"):
        parts.append(f"OpenBao {meta['openbao']}")
    parts.append(f"wrk {meta.get('wrk', '?')}")
    return ", ".join(parts)


def request_table(server: str, egide: list[dict], bao: dict, with_bao: bool) -> list[str]:
    db = server.removeprefix("egide-")
    groups: dict[tuple[str, int], list[dict]] = defaultdict(list)
    order: list[tuple[str, int]] = []
    for r in egide:
        if r["kind"] == "rpc" and r["server"] == server:
            k = (r["id"], r["conc"])
            if k not in groups:
                order.append(k)
            groups[k].append(r)
    if not groups:
        return []
    out = [
        f"#### Requests: Egide on {'PostgreSQL' if db == 'postgres' else 'SQLite'}"
        + (f" vs OpenBao Transit ({BAO_AUDIT_WORDS})" if with_bao else ""),
        "",
    ]
    if with_bao:
        head = (
            "| operation | key type | payload | conc | Egide req/s | OpenBao req/s "
            "| Egide / OpenBao | items/s Egide / OpenBao | Egide p50 / p99 ms "
            "| OpenBao p50 / p99 ms | Egide CPU us/req (app + DB) | OpenBao CPU us/req "
            "| CPU/req OpenBao / Egide | errors |"
        )
    else:
        head = (
            "| operation | key type | payload | conc | Egide req/s | items/s "
            "| Egide p50 / p99 ms | Egide CPU us/req (app + DB) | errors |"
        )
    out += [head, "|" + "---|" * head.count(" | ") + "---|"]
    for k in order:
        runs = groups[k]
        first = runs[0]
        rps = [r["rps"] for r in runs]
        items = [r["rps"] * r["items"] for r in runs]
        app = med([1e6 * r["app_cpu_s"] / r["requests"] for r in runs if r["requests"]])
        dbc = med([1e6 * r["db_cpu_s"] / r["requests"] for r in runs if r["requests"]])
        cpu = f"{fmt(app)} + {fmt(dbc)}" if db == "postgres" else f"{fmt(app)} + (in-process)"
        latency = f"{med([r['p50_us'] for r in runs]) / 1000:.2f} / {med([r['p99_us'] for r in runs]) / 1000:.2f}"
        errors = error_text(runs)
        op = f"Transit: {first['op']}" if first["id"].startswith("transit_") else first["op"]
        line = f"| {op} | {first['keytype']} | {first['payload']} | {first['conc']} "
        # A Transit-dialect row (transit_<id>) is the same request as OpenBao's own row <id>.
        b = bao.get((k[0].removeprefix("transit_"), k[1]), [])
        if not with_bao:
            line += f"| {spread(rps)} | {spread(items)} | {latency} | {cpu} "
        elif not b:
            line += f"| {spread(rps)} | - | - | {spread(items)} / - | {latency} | - | {cpu} | - | - "
        else:
            brps = [x["rps"] for x in b]
            bcpu = med([x["cpu_us"] for x in b])
            errors_b = sum(x["errors"] for x in b)
            if errors_b:
                errors = f"{errors} (OpenBao {errors_b})"
            ratio, ratio_range = paired(runs, b, lambda e, o: e["rps"] / o["rps"] if o["rps"] else 0.0)
            cpu_ratio, cpu_range = paired(runs, b, lambda e, o: o["cpu_us"] / (cpu_per_request(e) or float("inf")))
            line += (
                f"| {spread(rps)} | {spread(brps)} | **{ratio:.2f}**{ratio_range} "
                f"| {spread(items)} / {spread([x['items'] for x in b])} | {latency} "
                f"| {med([x['p50'] for x in b]):.2f} / {med([x['p99'] for x in b]):.2f} "
                f"| {cpu} | {fmt(bcpu)} | **{cpu_ratio:.2f}**{cpu_range} "
            )
        out.append(line + f"| {errors} |")
    busy = [b for b in (other_load(r) for r in runs_of(egide, server)) if b is not None]
    if busy:
        note = (
            f"Other processes on the machine, as a share of its {os.cpu_count()} cores: "
            f"median {med(busy):.0%} (max {max(busy):.0%}) during these Egide rows"
        )
        if with_bao and leg_load(egide, "openbao"):
            note += f", {leg_load(egide, 'openbao')} on average during OpenBao's rows"
        out += ["", note + " (the higher, the noisier the figures)."]
    out.append("")
    return out


def other_load(row: dict) -> float | None:
    """Share of the machine's CPU that processes other than this row's server and wrk used."""
    if "machine_cpu_s" not in row or not row["wall_s"]:
        return None
    others = row["machine_cpu_s"] - row["app_cpu_s"] - row["db_cpu_s"] - row["wrk_cpu_s"]
    return max(others, 0.0) / (row["wall_s"] * (os.cpu_count() or 1))


def runs_of(results: list[dict], server: str) -> list[dict]:
    return [r for r in results if r["kind"] == "rpc" and r["server"] == server]


def leg_load(results: list[dict], server: str) -> str:
    """Share of the machine used by other processes during a whole leg (median over rounds)."""
    legs = [r for r in results if r["kind"] == "leg" and r["server"] == server and r["wall_s"]]
    shares = [max(r["machine_cpu_s"] - r["own_cpu_s"], 0.0) / (r["wall_s"] * (os.cpu_count() or 1)) for r in legs]
    return f"{med(shares):.0%}" if shares else ""


def error_text(runs: list[dict]) -> str:
    """Failed requests: non-2xx answers (wrk counts >= 400), timeouts (wrk: 2 s), socket errors."""
    total = sum(r["errors"] for r in runs)
    if not total:
        return "0"
    status = sum(r.get("err_status", 0) for r in runs)
    timeout = sum(r.get("err_timeout", 0) for r in runs)
    parts = [f"{status} non-2xx" if status else "", f"{timeout} timeouts" if timeout else "",
             f"{total - status - timeout} other" if total - status - timeout else ""]  # fmt: skip
    return f"**{total}** ({', '.join(p for p in parts if p)})"


def scale_table(results: list[dict]) -> list[str]:
    rows = [r for r in results if r["kind"] == "scale"]
    if not rows:
        return []
    out = ["#### Scale: the same request, small vs large tables", "",
           "| what | database | small | large | req/s small -> large | large / small | "
           "p50 ms small -> large | CPU us/req small -> large | errors |",
           "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for group, label in SCALE_GROUPS:
        for server in dict.fromkeys(r["server"] for r in rows):
            pair = {r["id"].rsplit("_", 1)[1]: r for r in rows
                    if r["server"] == server and r["id"].startswith(group + "_")}  # fmt: skip
            if set(pair) != {"small", "large"}:
                continue
            s, big = pair["small"], pair["large"]
            ratio = big["rps"] / s["rps"] if s["rps"] else 0
            out.append(
                f"| {label} | {server.removeprefix('egide-')} | {describe(s)} | {describe(big)} "
                f"| {fmt(s['rps'])} -> {fmt(big['rps'])} | **{ratio:.2f}** "
                f"| {s['p50_us'] / 1000:.2f} -> {big['p50_us'] / 1000:.2f} "
                f"| {fmt(cpu_per_request(s))} -> {fmt(cpu_per_request(big))} "
                f"| {error_text([s, big])} |"
            )
    out.append("")
    return out


def cpu_per_request(row: dict) -> float:
    """Server CPU (app + database backends) per request, in microseconds."""
    return 1e6 * (row["app_cpu_s"] + row["db_cpu_s"]) / row["requests"] if row["requests"] else 0


def describe(row: dict) -> str:
    if row["id"].startswith("scale_list"):
        return row["keytype"]  # "1000 keys"
    return row["op"].split(", ", 1)[1]


def crypto_limit(outdir: Path) -> tuple[dict[str, float], str]:
    """MB/s of raw AES-256-GCM bulk encryption and decryption (crypto_limit.py --only bulk)."""
    path = outdir / "crypto_limit_bulk.md"
    if not path.exists():
        return {}, ""
    rates: dict[str, float] = {}
    header = ""
    for line in path.read_text().splitlines():
        if line.startswith("# "):
            header = line[2:]
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and cells[0].startswith("AES-256-GCM") and cells[4]:
            mbs = num(cells[4].split()[0])
            rates[cells[0]] = mbs
    return rates, header


def file_table(results: list[dict], outdir: Path) -> list[str]:
    rows = [r for r in results if r["kind"] == "file"]
    if not rows:
        return []
    rates, header = crypto_limit(outdir)
    out = ["#### Files through the CLI vs raw AES-256-GCM", "",
           "| CLI command | size | runs | median s | MB/s | raw AES-GCM MB/s | CLI / raw "
           "| peak RSS |",
           "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for op in ("encrypt", "decrypt"):
        runs = [r for r in rows if r["op"] == op]
        if not runs:
            continue
        seconds = med([r["seconds"] for r in runs])
        size = runs[0]["bytes"]
        mbs = size / seconds / 1e6 if seconds else 0
        raw = next((v for k, v in rates.items() if f"{op}_into" in k), 0.0) or next(
            (v for k, v in rates.items() if f" {op} " in k), 0.0
        )
        ratio = f"**{mbs / raw:.0%}**" if raw else "-"
        rss = max(r["rss_kib"] for r in runs) / 1024
        src, dst = ("F", "F.enc") if op == "encrypt" else ("F.enc", "F.dec")
        cmd = f"`egide kms {op} KEY --input {src} --output {dst}`"
        out.append(f"| {cmd} | {size / 2**20:,.0f} MiB | {len(runs)} | {seconds:.2f} | {fmt(mbs)} "
                   f"| {fmt(raw) if raw else '-'} | {ratio} | {rss:,.0f} MiB |")  # fmt: skip
    out.append("")
    if header:
        out.append(f"Raw: `crypto_limit.py --only bulk` ({header}); `*_into` into a preallocated "
                   "buffer, single thread. The CLI's time includes its start, the data-key "
                   "request, reading and writing the files.")  # fmt: skip
        out.append("")
    return out


def main() -> int:
    outdir = Path(sys.argv[1])
    lines = (outdir / "meta.txt").read_text().splitlines()
    meta = dict(line.split("=", 1) for line in lines if "=" in line)
    failed = [line.split("=", 1)[1] for line in lines if line.startswith("failed=")]
    results = [json.loads(line) for line in (outdir / "results.jsonl").read_text().splitlines() if line]
    bao = read_openbao(outdir)
    with_bao = bool(bao)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    knobs = " ".join(f"{k}={meta[k]}" for k in KNOBS if k in meta)
    out = [
        f"### Run of {now}{' (smoke: not figures to quote)' if meta.get('smoke') == '1' else ''}",
        "",
        f"- Machine: {machine()}.",
        f"- Software: {versions(meta)}.",
        f"- Egide: commit {meta.get('git', '?')}; `scripts/serve --interface {meta.get('INTERFACE', 'wsgi')} "
        f"--workers {meta.get('WORKERS')} --threads {meta.get('BLOCKING_THREADS')}` (granian), "
        "DEBUG off, throw-away master key.",
        f"- Command: `{meta.get('command', 'bench/run.sh')}` with {knobs}"
        + (f" ONLY='{meta['ONLY']}'" if meta.get("ONLY", ".") != "." else "")
        + ".",
    ]
    if with_bao:
        out.append(
            "- OpenBao: `../shared/bench/openbao_transit.sh` and `bench/openbao_more.sh` (HMAC, ML-DSA-65) "
            f"with AUDIT={os.environ.get('BAO_AUDIT', '1')} ({BAO_AUDIT_WORDS}), same wrk script, payloads, "
            "threads, connections and durations."
        )
    rounds = int(meta.get("ROUNDS", "1"))
    if rounds > 1:
        paired_words = (", each round's two servers run a few rows at a time, back to back (PAIRED=1)."
                        if meta.get("PAIRED") == "1" else ".")  # fmt: skip
        out.append(f"- Request rows: median over {rounds} rounds (min-max in brackets); each ratio the "
                   f"median of the rounds' own ratios (their range in brackets){paired_words}")  # fmt: skip
    for leg in failed:
        out.append(f"- **FAILED: {leg}**: no figures from it (its server log is in {meta['outdir']}).")
    out.append("")
    for server in dict.fromkeys(r["server"] for r in results if r["kind"] == "rpc"):
        out += request_table(server, results, bao, with_bao)
    out += scale_table(results)
    out += file_table(results, outdir)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
