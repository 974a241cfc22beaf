#!/usr/bin/env python3
"""CTest smoke test of shoal-loadgen: a tiny run against a shoald it starts itself, every
record read back decoded and checked, then the shape of the JSON it wrote. No timing
thresholds: only that the run completed, the figures are well-formed, and every record
PutRecords acknowledged was read back by GetRecords (per shard).

    smoke_test.py SHOAL_LOADGEN SHOALD
"""
import json
import math
import os
import subprocess
import sys
import tempfile

PHASE_KEYS = ["clients", "calls", "records", "data_bytes", "request_bytes", "response_bytes", "seconds",
              "data_mb_per_s", "calls_per_s", "records_per_s", "call_p50_us", "call_p99_us", "call_p999_us",
              "client_cpu_s", "server_cpu_s"]


def is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def main(argv):
    loadgen, shoald = argv[1], argv[2]
    problems = []

    def check(cond, msg):
        if not cond:
            problems.append(msg)

    tmp = os.environ.get("SHOAL_TEST_TMPDIR") or tempfile.gettempdir()
    with tempfile.TemporaryDirectory(dir=tmp, prefix="loadgen-smoke-") as work:
        out = os.path.join(work, "loadgen.json")
        cmd = [loadgen, "--shoald", shoald, "--data-dir", work, "--json", out, "--repeat", "2",
               "--shards", "3", "--clients", "4", "--records-per-call", "50", "--record-bytes", "1000",
               "--put-seconds", "0", "--put-bytes", str(2 << 20), "--get-limit", "70",
               "--putrecord-seconds", "0.2", "--putrecord-clients", "4,1", "--verify-data"]
        print(" ".join(cmd), flush=True)
        rc = subprocess.run(cmd, timeout=240).returncode
        check(rc == 0, f"shoal-loadgen exited {rc}")
        if not os.path.exists(out):
            print("smoke_test: no JSON written", file=sys.stderr)
            return 1
        with open(out) as f:
            doc = json.load(f)
        left = [n for n in os.listdir(work) if not n.endswith(".json")]
        check(not left, f"shoal-loadgen left {left} in its data directory")

        # One shard, pages of 10,000 x 1 KiB: GetRecords answers of ~14 MB, above the 8 MB
        # many HTTP libraries allow by default.
        big = os.path.join(work, "big.json")
        cmd = [loadgen, "--shoald", shoald, "--data-dir", work, "--json", big, "--repeat", "1", "--shards", "1",
               "--clients", "2", "--put-seconds", "0", "--put-bytes", str(12 << 20), "--putrecord-seconds", "0",
               "--no-embedded", "--quiet"]
        print(" ".join(cmd), flush=True)
        rc = subprocess.run(cmd, timeout=240).returncode
        check(rc == 0, f"shoal-loadgen (big pages) exited {rc}")
        if os.path.exists(big):
            with open(big) as f:
                r = json.load(f)["runs"]
            g = r[0]["get_records"] if r else {}
            check(r and r[0]["read_back"]["complete"], "big pages: read-back incomplete")
            check(g.get("response_bytes", 0) > 8 * 1000 * 1000 * g.get("calls", 1) / 3,
                  f"big pages: {g.get('response_bytes')} response bytes in {g.get('calls')} calls, expected ~14 MB pages")
        else:
            problems.append("big pages: no JSON written")

    check(doc.get("schema") == "shoal-loadgen/1", "schema")
    check(doc.get("errors") == [], f"errors: {doc.get('errors')}")
    m = doc.get("machine", {})
    for k in ("cpu_model", "kernel", "fs_type", "online_cpus", "load_average_start", "load_average_end"):
        check(k in m, f"machine.{k} missing")
    runs = doc.get("runs", [])
    check(len(runs) == 2, f"{len(runs)} runs, expected 2")
    for r in runs:
        w = f"run {r.get('repetition')}"
        check(r.get("durability") == "always", f"{w}: durability {r.get('durability')!r}, expected shoald's default")
        check(r.get("shoald_ready_line", "").startswith("shoald listening on http://127.0.0.1:"), f"{w}: ready line")
        phases = [("put_records", r.get("put_records")), ("get_records", r.get("get_records"))]
        phases += [(f"put_record[{i}]", p) for i, p in enumerate(r.get("put_record", []))]
        check(len(r.get("put_record", [])) == 2, f"{w}: expected 2 PutRecord phases")
        for name, p in phases:
            if not isinstance(p, dict):
                problems.append(f"{w}: {name} missing")
                continue
            for k in PHASE_KEYS:
                check(k in p and is_num(p[k]) and p[k] >= 0, f"{w}: {name}.{k} = {p.get(k)!r}")
            check(p.get("calls", 0) > 0, f"{w}: {name} made no calls")
            check(p.get("call_p50_us", 0) <= p.get("call_p99_us", -1) <= p.get("call_p999_us", -1),
                  f"{w}: {name} percentiles out of order")
        put, get = r.get("put_records", {}), r.get("get_records", {})
        check(put.get("records") == put.get("data_bytes", 0) // 1000, f"{w}: put records vs bytes")
        check(put.get("data_bytes", 0) >= 2 << 20, f"{w}: PutRecords stopped before --put-bytes")
        rb = r.get("read_back", {})
        check(rb.get("complete") is True, f"{w}: read-back incomplete: {rb}")
        check(rb.get("records_put") == rb.get("records_read") == put.get("records") == get.get("records"),
              f"{w}: records put {rb.get('records_put')}, read {rb.get('records_read')}, "
              f"phases {put.get('records')} / {get.get('records')}")
        check(rb.get("put_per_shard") == rb.get("read_per_shard") and len(rb.get("put_per_shard", [])) == 3,
              f"{w}: per-shard counts {rb.get('put_per_shard')} vs {rb.get('read_per_shard')}")
        check(all(n > 0 for n in rb.get("put_per_shard", [])), f"{w}: a shard got no records")
        check(get.get("data_bytes") == put.get("data_bytes"), f"{w}: read {get.get('data_bytes')} bytes of "
              f"{put.get('data_bytes')}")
        # 70 records per GetRecords: at least ceil(n/70) calls per shard plus the final empty one.
        min_calls = sum(-(-n // 70) + 1 for n in rb.get("put_per_shard", []))
        check(get.get("calls", 0) >= min_calls, f"{w}: {get.get('calls')} GetRecords calls, expected >= {min_calls}")
        em = r.get("embedded")
        check(isinstance(em, dict) and em.get("records", 0) > 0 and is_num(em.get("data_mb_per_s")),
              f"{w}: embedded {em}")
        check(is_num(r.get("server_over_embedded")), f"{w}: server_over_embedded")
        check(is_num(r.get("get_over_put")), f"{w}: get_over_put")
    for p in problems:
        print(f"smoke_test: {p}", file=sys.stderr)
    print(f"smoke_test: {'FAILED' if problems else 'ok'} ({len(problems)} problem(s))")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
