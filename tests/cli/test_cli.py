#!/usr/bin/env python3
"""End-to-end tests of the `shoal` CLI (tools/shoal_cli.cc) on a temporary data directory.

    python3 tests/cli/test_cli.py path/to/shoal

Every command runs as its own process, so shard iterators and paging tokens have to work
across invocations (they are signed with DIR/shoald.key). Covers the README quick start
(create-stream, describe-stream, put-record with both binary formats, get-shard-iterator,
get-records, delete-stream), the AWS CLI's output shape (4-space JSON, model member order,
ISO timestamps, nothing printed for empty results), its exit codes (254 service error, 252
usage or parameter error, 255 data directory in use) and its auto-pagination.

Prints one line per test and ends with "N passed, N failed"; exits 1 if any failed.
"""
import base64
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback

SHOAL = None
DATA = None
TESTS = []

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?[+-]\d{2}:\d{2}$")


def test(fn):
    TESTS.append(fn)
    return fn


class Result:
    def __init__(self, args, proc):
        self.args = args
        self.rc = proc.returncode
        self.out = proc.stdout.decode()
        self.err = proc.stderr.decode()

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return f"shoal {' '.join(self.args)} -> rc={self.rc}\nstdout:\n{self.out}\nstderr:\n{self.err}"


def shoal(*args, data_dir=None, expect=0, stdin=None):
    argv = [SHOAL, "--data-dir", data_dir or DATA, *args]
    proc = subprocess.run(argv, capture_output=True, timeout=120, input=stdin)
    r = Result(list(args), proc)
    if expect is not None:
        assert r.rc == expect, f"expected rc {expect}: {r!r}"
    return r


def raw(*argv, expect=None):
    proc = subprocess.run([SHOAL, *argv], capture_output=True, timeout=120)
    r = Result(list(argv), proc)
    if expect is not None:
        assert r.rc == expect, f"expected rc {expect}: {r!r}"
    return r


def eq(actual, expected, what=""):
    assert actual == expected, f"{what}: expected {expected!r}, got {actual!r}"


# --- the README quick start ------------------------------------------------------------


@test
def quickstart_create_and_describe():
    r = shoal("create-stream", "--stream-name", "KStream", "--shard-count", "2")
    eq(r.out, "", "create-stream prints nothing")
    eq(r.err, "", "create-stream stderr")
    r = shoal("describe-stream", "--stream-name", "KStream")
    # The AWS CLI's paginated describe-stream: Shards first, then the non-aggregated
    # members in the paginator's order (KeyId null), HasMoreShards and StreamModeDetails
    # dropped.
    assert r.out.startswith('{\n    "StreamDescription": {\n        "Shards": [\n            {\n'), r.out
    d = r.json()["StreamDescription"]
    eq(list(d), ["Shards", "StreamARN", "StreamName", "StreamStatus", "RetentionPeriodHours",
                 "EnhancedMonitoring", "EncryptionType", "KeyId", "StreamCreationTimestamp"], "members")
    eq(d["StreamName"], "KStream")
    eq(d["StreamStatus"], "ACTIVE")
    eq(d["StreamARN"], "arn:aws:kinesis:us-east-1:000000000000:stream/KStream")
    eq(d["KeyId"], None)
    eq(d["EnhancedMonitoring"], [{"ShardLevelMetrics": []}])
    assert ISO.match(d["StreamCreationTimestamp"]), d["StreamCreationTimestamp"]
    eq([s["ShardId"] for s in d["Shards"]], ["shardId-000000000000", "shardId-000000000001"])
    eq(list(d["Shards"][0]), ["ShardId", "HashKeyRange", "SequenceNumberRange"], "shard members")
    eq(d["Shards"][0]["HashKeyRange"],
       {"StartingHashKey": "0", "EndingHashKey": "170141183460469231731687303715884105727"})
    eq(d["Shards"][1]["HashKeyRange"]["EndingHashKey"], "340282366920938463463374607431768211455")
    eq(r.out, json.dumps(r.json(), indent=4, ensure_ascii=False) + "\n", "json.dumps(indent=4) layout")


@test
def quickstart_put_get_records_across_processes():
    # --data is base64 by default: "test" decodes to b'\xb5\xeb\x2d' and is stored as such.
    p1 = shoal("put-record", "--stream-name", "KStream", "--partition-key", "456", "--data", "test").json()
    eq(list(p1), ["ShardId", "SequenceNumber"], "put-record members")
    # raw-in-base64-out: the text itself is the data.
    p2 = shoal("put-record", "--stream-name", "KStream", "--partition-key", "456", "--data", "test",
               "--cli-binary-format", "raw-in-base64-out").json()
    eq(p2["ShardId"], p1["ShardId"], "same partition key, same shard")
    assert int(p2["SequenceNumber"]) > int(p1["SequenceNumber"])

    it = shoal("get-shard-iterator", "--stream-name", "KStream", "--shard-id", p1["ShardId"],
               "--shard-iterator-type", "TRIM_HORIZON").json()
    eq(list(it), ["ShardIterator"])
    got = shoal("get-records", "--shard-iterator", it["ShardIterator"]).json()
    eq(list(got), ["Records", "NextShardIterator", "MillisBehindLatest"], "get-records members")
    recs = got["Records"]
    eq(len(recs), 2, "records")
    eq(list(recs[0]), ["SequenceNumber", "ApproximateArrivalTimestamp", "Data", "PartitionKey"], "record members")
    eq(recs[0]["Data"], "test")
    eq(base64.b64decode(recs[0]["Data"]), b"\xb5\xeb\x2d")
    eq(recs[1]["Data"], base64.b64encode(b"test").decode())
    eq([r["PartitionKey"] for r in recs], ["456", "456"])
    eq([r["SequenceNumber"] for r in recs], [p1["SequenceNumber"], p2["SequenceNumber"]])
    for r in recs:
        assert ISO.match(r["ApproximateArrivalTimestamp"]), r["ApproximateArrivalTimestamp"]

    # The next iterator also works in yet another process: nothing new yet.
    more = shoal("get-records", "--shard-iterator", got["NextShardIterator"]).json()
    eq(more["Records"], [])
    shoal("put-record", "--stream-name", "KStream", "--partition-key", "456", "--data", "aGVsbG8=")
    more = shoal("get-records", "--shard-iterator", got["NextShardIterator"]).json()
    eq([base64.b64decode(r["Data"]) for r in more["Records"]], [b"hello"])

    key = os.path.join(DATA, "shoald.key")
    eq(os.stat(key).st_mode & 0o777, 0o600, "shoald.key mode")
    text = open(key).read()
    assert re.fullmatch(r"[0-9a-f]{64}\n", text), repr(text)


@test
def query_and_text_output():
    it = shoal("get-shard-iterator", "--stream-name", "KStream", "--shard-id", "shardId-000000000000",
               "--shard-iterator-type", "TRIM_HORIZON", "--query", "ShardIterator", "--output", "text").out
    assert it.endswith("\n") and "\t" not in it and len(it) > 20, repr(it)
    data = shoal("get-records", "--shard-iterator", it.strip(), "--query", "Records[*].Data").json()
    assert "dGVzdA==" in data, data
    ids = shoal("list-shards", "--stream-name", "KStream", "--query", "Shards[*].ShardId", "--output", "text").out
    eq(ids, "shardId-000000000000\tshardId-000000000001\n")
    status = shoal("describe-stream-summary", "--stream-name", "KStream",
                   "--query", "StreamDescriptionSummary.OpenShardCount").out
    eq(status, "2\n")


@test
def put_records_shorthand_and_json():
    r = shoal("put-records", "--stream-name", "KStream", "--records",
              "Data=aGVsbG8=,PartitionKey=user-42", "Data=cGluZw==,PartitionKey=partitionKey1").json()
    eq(list(r), ["FailedRecordCount", "Records"])
    eq(r["FailedRecordCount"], 0)
    eq(len(r["Records"]), 2)
    eq(list(r["Records"][0]), ["SequenceNumber", "ShardId"], "result entry members (model order)")
    records = json.dumps([{"Data": "AAEC", "PartitionKey": "k1"},
                          {"Data": "/w==", "PartitionKey": "k2", "ExplicitHashKey": "0"}])
    r = shoal("put-records", "--stream-name", "KStream", "--records", records).json()
    eq(r["Records"][1]["ShardId"], "shardId-000000000000", "ExplicitHashKey 0 routes to shard 0")
    path = os.path.join(DATA, "..", "records.json")
    with open(path, "w") as f:
        f.write(records)
    shoal("put-records", "--stream-name", "KStream", "--records", "file://" + path)
    blob = os.path.join(DATA, "..", "blob.bin")
    with open(blob, "wb") as f:
        f.write(b"\x00\xffraw")
    r = shoal("put-record", "--stream-name", "KStream", "--partition-key", "bin", "--explicit-hash-key", "0",
              "--data", "fileb://" + blob).json()
    it = shoal("get-shard-iterator", "--stream-name", "KStream", "--shard-id", r["ShardId"],
               "--shard-iterator-type", "AT_SEQUENCE_NUMBER", "--starting-sequence-number", r["SequenceNumber"],
               "--query", "ShardIterator", "--output", "text").out.strip()
    got = shoal("get-records", "--shard-iterator", it, "--limit", "1").json()
    eq(base64.b64decode(got["Records"][0]["Data"]), b"\x00\xffraw", "fileb:// bytes")


@test
def cli_input_json_and_timestamps():
    shoal("create-stream", "--cli-input-json", '{"StreamName": "FromJson", "ShardCount": 1}')
    summary = shoal("describe-stream-summary", "--stream-name", "FromJson").json()["StreamDescriptionSummary"]
    eq(list(summary), ["StreamName", "StreamARN", "StreamStatus", "StreamModeDetails", "RetentionPeriodHours",
                       "StreamCreationTimestamp", "EnhancedMonitoring", "EncryptionType", "OpenShardCount",
                       "ConsumerCount"], "summary members")
    eq(summary["OpenShardCount"], 1)
    shoal("put-record", "--stream-name", "FromJson", "--partition-key", "a", "--data", "AAAA")
    for ts in ("2001-01-01T00:00:00Z", "978307200", "2001-01-01 01:00:00+01:00"):
        it = shoal("get-shard-iterator", "--stream-name", "FromJson", "--shard-id", "shardId-000000000000",
                   "--shard-iterator-type", "AT_TIMESTAMP", "--timestamp", ts).json()["ShardIterator"]
        eq(len(shoal("get-records", "--shard-iterator", it).json()["Records"]), 1, f"AT_TIMESTAMP {ts}")
    r = shoal("get-shard-iterator", "--stream-name", "FromJson", "--shard-id", "shardId-000000000000",
              "--shard-iterator-type", "AT_TIMESTAMP", "--timestamp", "garbage", expect=252)
    assert "Invalid type for parameter Timestamp, value: garbage" in r.err, r.err


@test
def tags_retention_resharding():
    eq(shoal("add-tags-to-stream", "--stream-name", "KStream", "--tags", "k1=v1,k2=v2").out, "")
    shoal("add-tags-to-stream", "--stream-name", "KStream", "--tags", '{"k3": "v3"}')
    tags = shoal("list-tags-for-stream", "--stream-name", "KStream").json()
    eq(tags, {"Tags": [{"Key": "k1", "Value": "v1"}, {"Key": "k2", "Value": "v2"}, {"Key": "k3", "Value": "v3"}],
              "HasMoreTags": False})
    shoal("remove-tags-from-stream", "--stream-name", "KStream", "--tag-keys", "k1", "k3")
    eq(shoal("list-tags-for-stream", "--stream-name", "KStream").json()["Tags"], [{"Key": "k2", "Value": "v2"}])

    shoal("increase-stream-retention-period", "--stream-name", "KStream", "--retention-period-hours", "48")
    shoal("decrease-stream-retention-period", "--stream-name", "KStream", "--retention-period-hours", "36")
    eq(shoal("describe-stream-summary", "--stream-name", "KStream",
             "--query", "StreamDescriptionSummary.RetentionPeriodHours").out, "36\n")
    r = shoal("increase-stream-retention-period", "--stream-name", "KStream", "--retention-period-hours", "12",
              expect=254)
    eq(r.err, "\nAn error occurred (InvalidArgumentException) when calling the IncreaseStreamRetentionPeriod "
              "operation: Minimum allowed retention period is 24 hours. Requested retention period (12 hours) "
              "is too short.\n")

    shoal("split-shard", "--stream-name", "KStream", "--shard-to-split", "shardId-000000000000",
          "--new-starting-hash-key", "85070591730234615865843651857942052864")
    shards = shoal("list-shards", "--stream-name", "KStream").json()["Shards"]
    eq(len(shards), 4)
    assert "EndingSequenceNumber" in shards[0]["SequenceNumberRange"]
    eq(shards[2]["ParentShardId"], "shardId-000000000000")
    eq(list(shards[2]), ["ShardId", "ParentShardId", "HashKeyRange", "SequenceNumberRange"])
    open_ids = shoal("list-shards", "--stream-name", "KStream", "--shard-filter", "Type=AT_LATEST",
                     "--query", "Shards[*].ShardId").json()
    eq(open_ids, ["shardId-000000000001", "shardId-000000000002", "shardId-000000000003"])
    shoal("merge-shards", "--stream-name", "KStream", "--shard-to-merge", "shardId-000000000002",
          "--adjacent-shard-to-merge", "shardId-000000000003")
    r = shoal("update-shard-count", "--stream-name", "KStream", "--target-shard-count", "4",
              "--scaling-type", "UNIFORM_SCALING").json()
    eq(list(r), ["StreamName", "CurrentShardCount", "TargetShardCount", "StreamARN"])
    eq((r["CurrentShardCount"], r["TargetShardCount"]), (2, 4))
    limits = shoal("describe-limits").json()
    eq(list(limits), ["ShardLimit", "OpenShardCount", "OnDemandStreamCount", "OnDemandStreamCountLimit"])


@test
def on_demand_stream():
    shoal("create-stream", "--stream-name", "OnDemand", "--stream-mode-details", "StreamMode=ON_DEMAND")
    mode = shoal("describe-stream-summary", "--stream-name", "OnDemand",
                 "--query", "StreamDescriptionSummary.StreamModeDetails.StreamMode", "--output", "text").out
    eq(mode, "ON_DEMAND\n")
    eq(shoal("describe-limits", "--query", "OnDemandStreamCount").out, "1\n")


# --- pagination -------------------------------------------------------------------------


@test
def pagination_many_shards():
    # describe-stream returns at most 100 shards a call, list-shards 1000; --page-size sets
    # the paginator's Limit / MaxResults to get more pages out of the same stream.
    n = 120
    shoal("create-stream", "--stream-name", "Paged", "--shard-count", str(n))
    want = [f"shardId-{i:012d}" for i in range(n)]
    r = shoal("describe-stream", "--stream-name", "Paged", "--debug")
    d = r.json()["StreamDescription"]
    eq([s["ShardId"] for s in d["Shards"]], want, "describe-stream merged pages")
    eq(r.err.count("DescribeStream request"), 2, "two DescribeStream calls")
    eq(list(d)[:2], ["Shards", "StreamARN"])
    assert "HasMoreShards" not in d
    r = shoal("describe-stream", "--stream-name", "Paged", "--page-size", "50", "--debug")
    eq([s["ShardId"] for s in r.json()["StreamDescription"]["Shards"]], want, "describe-stream, pages of 50")
    eq(r.err.count("DescribeStream request"), 3, "three DescribeStream calls")
    # One call only.
    d = shoal("describe-stream", "--stream-name", "Paged", "--no-paginate").json()["StreamDescription"]
    eq((len(d["Shards"]), d["HasMoreShards"]), (100, True))
    eq(list(d)[:6], ["StreamName", "StreamARN", "StreamStatus", "StreamModeDetails", "Shards", "HasMoreShards"])
    # --limit is describe-stream's own paging parameter: one call, HasMoreShards shown.
    d = shoal("describe-stream", "--stream-name", "Paged", "--limit", "7").json()["StreamDescription"]
    eq((len(d["Shards"]), d["HasMoreShards"]), (7, True))

    # list-shards in pages of 50 (the follow-up pages carry the token alone).
    r = shoal("list-shards", "--stream-name", "Paged", "--page-size", "50", "--debug")
    eq([s["ShardId"] for s in r.json()["Shards"]], want, "list-shards merged pages")
    eq(r.err.count("ListShards request"), 3, "three ListShards calls")
    assert "NextToken" not in r.json()
    # --max-items stops early and prints a resume token; --starting-token resumes.
    first = shoal("list-shards", "--stream-name", "Paged", "--page-size", "50", "--max-items", "70").json()
    eq([s["ShardId"] for s in first["Shards"]], want[:70])
    token = json.loads(base64.b64decode(first["NextToken"]))
    eq(list(token), ["NextToken", "boto_truncate_amount"])
    eq(token["boto_truncate_amount"], 20)
    rest = shoal("list-shards", "--stream-name", "Paged", "--page-size", "50",
                 "--starting-token", first["NextToken"]).json()
    eq([s["ShardId"] for s in rest["Shards"]], want[70:], "resumed")
    # --max-results is list-shards' own paging parameter: one page and the service's token.
    one = shoal("list-shards", "--stream-name", "Paged", "--max-results", "4").json()
    eq(len(one["Shards"]), 4)
    assert one["NextToken"]
    nxt = shoal("list-shards", "--next-token", one["NextToken"], "--max-results", "5").json()
    eq([s["ShardId"] for s in nxt["Shards"]], want[4:9], "--next-token")
    r = shoal("list-shards", "--stream-name", "Paged", "--no-paginate", "--page-size", "5", expect=252)
    eq(r.err, "\nCannot specify --no-paginate along with pagination arguments: --page-size\n")
    shoal("delete-stream", "--stream-name", "Paged")


@test
def pagination_list_streams():
    names = shoal("list-streams", "--page-size", "1", "--query", "StreamNames").json()
    eq(names, sorted(names))
    assert {"KStream", "FromJson", "OnDemand"} <= set(names), names
    full = shoal("list-streams", "--page-size", "2").json()
    eq(list(full), ["StreamNames", "StreamSummaries"], "merged list-streams members")
    eq([s["StreamName"] for s in full["StreamSummaries"]], names)
    one = shoal("list-streams", "--limit", "1").json()
    eq(list(one), ["StreamNames", "HasMoreStreams", "NextToken", "StreamSummaries"], "one page")
    eq(one["HasMoreStreams"], True)


# --- errors -------------------------------------------------------------------------------


@test
def service_errors_exit_254():
    r = shoal("describe-stream", "--stream-name", "nope", expect=254)
    eq(r.out, "")
    eq(r.err, "\nAn error occurred (ResourceNotFoundException) when calling the DescribeStream operation: "
              "Stream nope under account 000000000000 not found.\n")
    r = shoal("create-stream", "--stream-name", "KStream", "--shard-count", "1", expect=254)
    assert r.err.startswith("\nAn error occurred (ResourceInUseException) when calling the CreateStream operation: "), r.err
    r = shoal("create-stream", "--stream-name", "bad name", "--shard-count", "1", expect=254)
    assert "(ValidationException)" in r.err and "[a-zA-Z0-9_.-]+" in r.err, r.err
    r = shoal("get-records", "--shard-iterator", "AAAA", expect=254)
    assert "(InvalidArgumentException) when calling the GetRecords operation" in r.err, r.err
    r = shoal("describe-stream", "--stream-name", "nope", "--region", "eu-west-1", "--account-id", "123456789012",
              expect=254)
    assert "Stream nope under account 123456789012 not found." in r.err, r.err


@test
def usage_errors_exit_252():
    r = shoal("describe-stream", "--bogus", expect=252)
    assert r.err.endswith("\nUnknown options: --bogus\n\n"), r.err
    assert "usage: shoal" in r.err
    r = shoal("put-record", "--stream-name", "KStream", "--partition-key", "1", expect=252)
    assert r.err.endswith("\nshoal: error: the following arguments are required: --data\n\n"), r.err
    r = shoal("put-record", "--stream-name", "KStream", "--partition-key", "1", "--data", expect=252)
    assert "argument --data: expected one argument" in r.err, r.err
    r = shoal("create-stream", "--stream-name", "x", "--shard-count", "abc", expect=252)
    assert "invalid literal for int() with base 10: 'abc'" in r.err, r.err
    r = shoal("create-stream", "--stream-name", "x", "--shard-count", "0", expect=252)
    eq(r.err, "\nParameter validation failed:\nInvalid value for parameter ShardCount, value: 0, valid min value: 1\n")
    r = shoal("put-record", "--stream-name", "KStream", "--partition-key", "1", "--data", "hello", expect=252)
    eq(r.err, '\nInvalid base64: "hello"\n')
    r = shoal("put-records", "--stream-name", "KStream", "--records", "Data=aGk=", expect=252)
    eq(r.err, '\nParameter validation failed:\nMissing required parameter in Records[0]: "PartitionKey"\n')
    r = shoal("put-records", "--stream-name", "KStream", "--records", "Data", expect=252)
    eq(r.err, "\nError parsing parameter '--records': Expected: '=', received: 'EOF' for input:\nData\n    ^\n")
    r = shoal("describe-streams", expect=252)
    assert "Invalid choice: 'describe-streams'" in r.err, r.err
    r = shoal("describe-stream-summary", "--stream", "KStream", expect=252)
    assert "ambiguous option: --stream could match --stream-name, --stream-arn" in r.err, r.err
    r = raw("list-streams", expect=252)
    assert "the following arguments are required: --data-dir" in r.err, r.err
    r = shoal("list-streams", "--durability", "sometimes", expect=252)
    assert "--durability" in r.err, r.err
    r = shoal("list-streams", "--endpoint-url", "http://127.0.0.1:4567", expect=252)
    assert "aws --endpoint-url http://127.0.0.1:4567 kinesis" in r.err, r.err
    # Abbreviations and --flag=value work as in argparse.
    eq(shoal("describe-stream-summary", "--stream-n=KStream", "--query", "StreamDescriptionSummary.StreamName",
             "--output", "text").out, "KStream\n")


@test
def help_and_version():
    r = raw("help", expect=0)
    assert "raw-in-base64-out" in r.out and "put-records" in r.out and "--durability" in r.out, r.out
    r = raw("--help", expect=0)
    assert "usage: shoal --data-dir DIR" in r.out
    r = raw("put-record", "help", expect=0)
    assert "--partition-key (string), required" in r.out, r.out
    r = raw("list-shards", "--help", expect=0)
    assert "--max-items" in r.out, r.out
    r = raw("--version", expect=0)
    assert r.out.startswith("shoal "), r.out


@test
def data_dir_in_use_exit_255():
    with open(os.path.join(DATA, "LOCK"), "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        r = shoal("list-streams", expect=255)
        assert "in use by another process" in r.err, r.err
        assert "aws --endpoint-url" in r.err and "stop shoald" in r.err, r.err
    shoal("list-streams")


@test
def concurrent_commands_take_turns():
    # Each command holds the directory's lock while it runs; the others wait for it.
    procs = [subprocess.Popen([SHOAL, "--data-dir", DATA, "put-record", "--stream-name", "KStream",
                               "--partition-key", f"p{i}", "--data", "AAAA"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(6)]
    for p in procs:
        out, err = p.communicate(timeout=60)
        eq(p.returncode, 0, f"parallel put-record: {err.decode()}")
        assert json.loads(out)["SequenceNumber"]


@test
def quickstart_delete_stream():
    eq(shoal("delete-stream", "--stream-name", "KStream").out, "")
    r = shoal("describe-stream", "--stream-name", "KStream", expect=254)
    assert "(ResourceNotFoundException)" in r.err, r.err
    assert "KStream" not in shoal("list-streams", "--query", "StreamNames").json()


def main():
    global SHOAL, DATA
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    SHOAL = os.path.abspath(sys.argv[1])
    root = tempfile.mkdtemp(prefix="shoal-cli-test-")
    DATA = os.path.join(root, "data")
    passed = failed = 0
    try:
        for t in TESTS:
            try:
                t()
                passed += 1
                print(f"PASS {t.__name__}", flush=True)
            except Exception:  # noqa: BLE001 - report every failure and go on
                failed += 1
                print(f"FAIL {t.__name__}\n{traceback.format_exc()}", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
