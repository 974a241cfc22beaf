#!/usr/bin/env python3
"""Validates a shoal-bench results.json against the schema in results/README.md.

    validate_results.py RESULTS_JSON [--quiet]

Checks structure, units, statistics and that every ratio agrees with the figures it is
made of (within 1e-6 relative). It never checks how fast anything was: no timing
thresholds. Exit status 0 if valid, 1 otherwise (every problem is printed).
"""
import json
import math
import sys

SCHEMA = "shoal-bench/1"
SCENARIOS = ["device", "append", "read", "reshard", "trim", "limits", "recovery", "baseline", "server"]

# unit -> (dimension, factor to the dimension's base unit). Same table as
# bench/harness/results.cc; results.json carries a copy that must agree.
UNITS = {
    "B/s": ("bytes/s", 1), "MB/s": ("bytes/s", 1e6), "MiB/s": ("bytes/s", 1048576), "GB/s": ("bytes/s", 1e9),
    "records/s": ("records/s", 1), "calls/s": ("calls/s", 1), "fsyncs/s": ("fsyncs/s", 1),
    "ns": ("s", 1e-9), "us": ("s", 1e-6), "ms": ("s", 1e-3), "s": ("s", 1),
    "B": ("bytes", 1), "KiB": ("bytes", 1024), "MiB": ("bytes", 1048576), "GiB": ("bytes", 1073741824),
    "MB": ("bytes", 1e6),
    "records": ("records", 1), "calls": ("calls", 1), "segments": ("segments", 1), "files": ("files", 1),
    "shards": ("shards", 1), "count": ("count", 1), "x": ("ratio", 1),
}

KINESIS = {
    "kinesis_write_bytes_per_shard": (1048576, "B/s"),
    "kinesis_write_records_per_shard": (1000, "records/s"),
    "kinesis_read_bytes_per_shard": (2097152, "B/s"),
    "kinesis_read_calls_per_shard": (5, "calls/s"),
    "kinesis_poll_interval": (200, "ms"),
}

MACHINE_KEYS = ["cpu_model", "cores", "memory", "kernel", "mount_point", "fs_type", "mount_options",
                "mount_source", "block_device", "device_model", "hostname", "load_average_start",
                "load_average_end"]
RUN_KEYS = ["suite", "repeat", "scenarios", "data_dir", "out_dir", "started_at", "finished_at", "duration_s",
            "command_line", "budget"]

# Metrics (and ratios) a successful point must carry, by id prefix: what report.md and the
# plots read. Units are checked too.
REQUIRED = {
    "device/direct_write/": {"throughput": "MB/s"},
    "device/write_fdatasync/": {"throughput": "MB/s", "write_fdatasync_p50": "us", "write_fdatasync_p99": "us"},
    "device/read/": {"throughput": "MB/s"},
    "device/memcpy": {"throughput": "MB/s"},
    "append/": {"throughput": "MB/s", "per_shard_throughput": "MB/s", "records_per_s": "records/s",
                "ack_p50": "us", "ack_p99": "us", "ack_p999": "us"},
    "read/catch_up/": {"throughput": "MB/s"},
    "read/tail/": {"put_to_get_p50": "us", "put_to_get_p99": "us"},
    "reshard/split/": {"latency": "us", "bytes_copied": "B", "parent_segments_rewritten": "files"},
    "reshard/merge/": {"latency": "us", "bytes_copied": "B", "parent_segments_rewritten": "files"},
    "reshard/under_load": {"put_p99_steady": "us", "put_p99_resharding": "us"},
    "reshard/update_shard_count/": {"scale_up_latency": "us", "scale_down_latency": "us", "bytes_copied": "B"},
    "trim/pass/": {"trim_pass_p50": "us", "trim_pass_p99": "us", "files_gone_p50": "us", "files_gone_p99": "us",
                   "segments_per_pass": "segments"},
    "trim/under_load": {"put_p99_without_trim": "us", "put_p99_with_trim": "us"},
    "limits/write/": {"accepted_bytes_per_s": "B/s", "accepted_records_per_s": "records/s",
                      "throttled_records": "records"},
    "limits/read/": {"admitted_bytes_per_s": "B/s", "admitted_calls_per_s": "calls/s", "throttled_calls": "calls"},
    "recovery/": {"open_latency": "ms"},
    "baseline/": {"throughput": "MB/s"},
    "server/put_records/": {"throughput": "MB/s", "records_per_s": "records/s", "calls_per_s": "calls/s",
                            "call_p50": "us", "call_p99": "us", "records_acknowledged": "records",
                            "records_read_back": "records", "client_cpu": "s", "server_cpu": "s"},
    "server/embedded/": {"throughput": "MB/s", "call_p50": "us", "call_p99": "us"},
    "server/get_records/": {"throughput": "MB/s", "calls_per_s": "calls/s", "call_p50": "us", "call_p99": "us",
                            "client_cpu": "s", "server_cpu": "s"},
    "server/put_record/": {"calls_per_s": "calls/s", "call_p50": "us", "call_p99": "us"},
}
REQUIRED_RATIOS = {
    "append/": ["x_kinesis_write_bytes_per_shard", "x_kinesis_write_records_per_shard",
                "fraction_of_device_ceiling"],
    "read/catch_up/": ["x_kinesis_read_bytes_per_shard", "fraction_of_memcpy"],
    "limits/write/": ["x_kinesis_write_bytes_per_shard", "x_kinesis_write_records_per_shard"],
    "limits/read/": ["x_kinesis_read_bytes_per_shard", "x_kinesis_read_calls_per_shard"],
    "trim/under_load": ["put_p99_with_over_without_trim"],
    "reshard/under_load": ["put_p99_resharding_over_steady"],
    "server/put_records/": ["x_embedded"],
    "server/get_records/": ["x_put_records"],
}


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def close(a, b, rel=1e-6):
    return a == b or abs(a - b) <= rel * max(abs(a), abs(b))


def is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


class Checker:
    def __init__(self, doc):
        self.doc = doc
        self.problems = []
        self.points = {}

    def bad(self, where, msg):
        self.problems.append(f"{where}: {msg}")

    def need(self, obj, key, where, kind=None):
        if not isinstance(obj, dict) or key not in obj:
            self.bad(where, f"missing '{key}'")
            return None
        v = obj[key]
        if kind is not None and not isinstance(v, kind):
            self.bad(where, f"'{key}' should be {kind}, is {type(v).__name__}")
            return None
        return v

    def figure(self, point, path, where):
        """(value, unit) of a ratio operand, or None."""
        if path.startswith("metrics."):
            m = point.get("metrics", {}).get(path[len("metrics."):])
            return (m["value"], m["unit"]) if m else None
        if path.startswith("references."):
            r = self.doc.get("references", {}).get(path[len("references."):])
            return (r["value"], r["unit"]) if r else None
        if path.startswith("points."):
            at = path.rfind(".metrics.")
            if at < 0:
                return None
            p = self.points.get(path[len("points."):at])
            m = p.get("metrics", {}).get(path[at + len(".metrics."):]) if p else None
            return (m["value"], m["unit"]) if m else None
        self.bad(where, f"unknown path form '{path}'")
        return None

    def check_metric(self, name, m, where, reps):
        w = f"{where} metric {name}"
        if not isinstance(m, dict):
            return self.bad(w, "not an object")
        for k in ("value", "unit", "median", "min", "max", "n", "samples"):
            if k not in m:
                self.bad(w, f"missing '{k}'")
                return
        if m["unit"] not in UNITS:
            self.bad(w, f"unknown unit '{m['unit']}'")
        samples = m["samples"]
        if not isinstance(samples, list) or not samples or not all(is_num(x) for x in samples):
            return self.bad(w, "samples must be a non-empty list of finite numbers")
        if m["n"] != len(samples):
            self.bad(w, f"n={m['n']} but {len(samples)} samples")
        if reps is not None and len(samples) > reps:
            self.bad(w, f"{len(samples)} samples for {reps} repetitions")
        for k in ("value", "median", "min", "max"):
            if not is_num(m[k]):
                return self.bad(w, f"'{k}' is not a finite number")
        if m["value"] != m["median"]:
            self.bad(w, "value must equal median")
        if not close(m["median"], median(samples), 1e-9):
            self.bad(w, f"median {m['median']} is not the median of the samples ({median(samples)})")
        if not close(m["min"], min(samples), 1e-12) or not close(m["max"], max(samples), 1e-12):
            self.bad(w, "min/max disagree with the samples")
        if not (m["min"] <= m["median"] <= m["max"]):
            self.bad(w, "min <= median <= max violated")

    def check_ratio(self, name, r, point, where):
        w = f"{where} ratio {name}"
        for k in ("value", "unit", "numerator", "denominator", "per"):
            if k not in r:
                self.bad(w, f"missing '{k}'")
                return
        if r["unit"] != "x":
            self.bad(w, "unit must be 'x'")
        num = self.figure(point, r["numerator"], w)
        den = self.figure(point, r["denominator"], w)
        if num is None or den is None:
            return self.bad(w, f"cannot resolve {r['numerator']} / {r['denominator']}")
        (nv, nu), (dv, du) = num, den
        if nu not in UNITS or du not in UNITS:
            return self.bad(w, f"unknown unit in {nu} / {du}")
        if UNITS[nu][0] != UNITS[du][0]:
            return self.bad(w, f"dimensions differ: {nu} vs {du}")
        if not is_num(r["per"]) or r["per"] == 0 or dv == 0:
            return self.bad(w, "zero divisor")
        expect = nv * UNITS[nu][1] / r["per"] / (dv * UNITS[du][1])
        if not is_num(r["value"]) or not close(r["value"], expect):
            self.bad(w, f"value {r['value']} != {expect} computed from {r['numerator']} and {r['denominator']}")

    def run(self):
        d = self.doc
        if d.get("schema") != SCHEMA:
            self.bad("schema", f"expected '{SCHEMA}', got {d.get('schema')!r}")
        run = self.need(d, "run", "top", dict) or {}
        for k in RUN_KEYS:
            self.need(run, k, "run")
        if run.get("suite") not in ("quick", "default", "full"):
            self.bad("run.suite", f"unknown suite {run.get('suite')!r}")
        reps = run.get("repeat")
        if not isinstance(reps, int) or reps < 1:
            self.bad("run.repeat", "must be an integer >= 1")
            reps = None
        scenarios = run.get("scenarios") or []
        for s in scenarios:
            if s not in SCENARIOS:
                self.bad("run.scenarios", f"unknown scenario {s!r}")
        git = self.need(d, "git", "top", dict) or {}
        if not isinstance(git.get("commit"), str) or not git.get("commit"):
            self.bad("git.commit", "missing")
        machine = self.need(d, "machine", "top", dict) or {}
        for k in MACHINE_KEYS:
            self.need(machine, k, "machine")
        for k in ("load_average_start", "load_average_end"):
            la = machine.get(k)
            if not (isinstance(la, list) and len(la) == 3 and all(is_num(x) for x in la)):
                self.bad(f"machine.{k}", "must be 3 numbers (1, 5, 15 minutes)")
        units = self.need(d, "units", "top", dict) or {}
        for u, (dim, f) in UNITS.items():
            got = units.get(u)
            if not got or got.get("dimension") != dim or not close(got.get("factor", 0), f, 1e-12):
                self.bad(f"units.{u}", f"expected dimension {dim}, factor {f}")
        for u in units:
            if u not in UNITS:
                self.bad(f"units.{u}", "unit unknown to the validator (update both tables)")
        errors = self.need(d, "errors", "top", list) or []
        for i, e in enumerate(errors):
            for k in ("scenario", "point", "message"):
                self.need(e, k, f"errors[{i}]")
        results = self.need(d, "results", "top", list) or []
        for i, p in enumerate(results):
            pid = p.get("id") if isinstance(p, dict) else None
            if not isinstance(pid, str) or not pid:
                self.bad(f"results[{i}]", "missing id")
                continue
            if pid in self.points:
                self.bad(f"results[{i}]", f"duplicate id {pid}")
            self.points[pid] = p
        refs = self.need(d, "references", "top", dict) or {}
        for name, (value, unit) in KINESIS.items():
            r = refs.get(name)
            if not r or r.get("value") != value or r.get("unit") != unit:
                self.bad(f"references.{name}", f"must be {value} {unit}")
        for name, r in refs.items():
            w = f"references.{name}"
            for k in ("value", "unit", "source", "description"):
                self.need(r, k, w)
            if r.get("unit") not in UNITS:
                self.bad(w, f"unknown unit {r.get('unit')!r}")
            src = r.get("source", "")
            if isinstance(src, str) and src.startswith("points."):
                fig = self.figure({}, src, w)
                if fig is None:
                    self.bad(w, f"source {src} does not resolve")
                elif fig[0] != r.get("value") or fig[1] != r.get("unit"):
                    self.bad(w, f"value {r.get('value')} {r.get('unit')} != {src} ({fig[0]} {fig[1]})")
        device_errors = any(e.get("scenario") == "device" for e in errors if isinstance(e, dict))
        for name in ("device_ceiling", "memcpy"):
            if name not in refs and not device_errors:
                self.bad(f"references.{name}", "missing (and no device error explains why)")
        seen = set()
        for pid, p in self.points.items():
            w = f"point {pid}"
            for k in ("scenario", "title", "params", "repetitions", "metrics", "ratios", "notes"):
                self.need(p, k, w)
            sc = p.get("scenario")
            seen.add(sc)
            if sc not in SCENARIOS:
                self.bad(w, f"unknown scenario {sc!r}")
            elif not pid.startswith(sc + "/"):
                self.bad(w, f"id must start with '{sc}/'")
            elif sc not in scenarios and sc != "device":
                self.bad(w, f"scenario {sc} was not selected in run.scenarios")
            if ".metrics." in pid:
                self.bad(w, "id must not contain '.metrics.'")
            prep = p.get("repetitions")
            if not isinstance(prep, int) or (reps is not None and prep not in (0, reps)):
                self.bad(w, f"repetitions {prep!r} != run.repeat {reps}")
            metrics = p.get("metrics") or {}
            for name, m in metrics.items():
                self.check_metric(name, m, w, reps)
            for name, r in (p.get("ratios") or {}).items():
                self.check_ratio(name, r, p, w)
            if "error" in p:
                if not any(isinstance(e, dict) and e.get("point") in (pid, "") or
                           (isinstance(e, dict) and str(e.get("point", "")).endswith("*"))
                           for e in errors):
                    self.bad(w, "has an error that is not listed in errors[]")
                continue
            if not metrics:
                self.bad(w, "no metrics and no error")
            for prefix, req in REQUIRED.items():
                if pid.startswith(prefix):
                    for name, unit in req.items():
                        m = metrics.get(name)
                        if m is None:
                            self.bad(w, f"required metric {name} missing")
                        elif m.get("unit") != unit:
                            self.bad(w, f"metric {name} must be in {unit}, is {m.get('unit')}")
            if pid.startswith("server/put_records/"):
                # Behaviour, not speed: every record PutRecords acknowledged was read back.
                ack = metrics.get("records_acknowledged", {}).get("samples")
                back = metrics.get("records_read_back", {}).get("samples")
                if ack is not None and ack != back:
                    self.bad(w, f"records read back {back} != acknowledged {ack}")
            for prefix, req in REQUIRED_RATIOS.items():
                if pid.startswith(prefix):
                    for name in req:
                        if name not in (p.get("ratios") or {}):
                            self.bad(w, f"required ratio {name} missing")
        for s in scenarios:
            if s not in seen:
                self.bad("results", f"selected scenario {s} has no point")
        return self.problems


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(argv[1]) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f"validate_results: cannot read {argv[1]}: {e}", file=sys.stderr)
        return 1
    problems = Checker(doc).run()
    for p in problems:
        print(f"validate_results: {p}", file=sys.stderr)
    n = len(doc.get("results", [])) if isinstance(doc, dict) else 0
    if problems:
        print(f"validate_results: {argv[1]}: {len(problems)} problem(s) in {n} points", file=sys.stderr)
        return 1
    if "--quiet" not in argv:
        nerr = len(doc.get("errors", []))
        print(f"validate_results: {argv[1]}: valid ({n} points, {nerr} recorded error(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
