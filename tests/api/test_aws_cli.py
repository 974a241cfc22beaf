#!/usr/bin/env python3
"""The real AWS CLI against shoald: the quick start of api/README.md and the minimum
acceptance scenario of kinesis-data-streams.md §6, plus the CLI's auto-pagination, waiters,
blob handling and error exit codes.

    python3 test_aws_cli.py PATH/TO/shoald

Runs every distinct CLI it finds: $SHOAL_AWS_CLI (colon-separated paths), else
/usr/bin/aws (Debian's awscli, v2) and the first `aws` on PATH (often a pip-installed v1).
Blob arguments differ between them: v2 takes base64 by default (raw text only with
--cli-binary-format raw-in-base64-out), v1 takes raw text and encodes it itself. Exit code
77 (CTest: skipped) when no CLI is installed.
"""
import base64
import datetime
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import shoald_harness as h


def find_clis():
    paths = os.environ.get("SHOAL_AWS_CLI", "")
    candidates = [p for p in paths.split(":") if p] if paths else ["/usr/bin/aws", shutil.which("aws")]
    found, seen = [], set()
    for c in candidates:
        if not c or not os.access(c, os.X_OK):
            continue
        p = subprocess.run([c, "--version"], capture_output=True, text=True, env=cli_env(), timeout=60)
        text = (p.stdout + p.stderr).strip()
        m = re.search(r"aws-cli/(\d+)\.(\d+)\.(\d+)", text)
        if p.returncode != 0 or not m or text in seen:
            continue
        seen.add(text)
        found.append((c, int(m.group(1)), text))
    return found


_TMP = tempfile.mkdtemp(prefix="shoal-aws-cli-")


def cli_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.path.join(_TMP, "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(_TMP, "no-credentials"),
        "AWS_PAGER": "",
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    return env


def b64(data):
    return base64.b64encode(data).decode()


class CliCase(unittest.TestCase):
    cli = None  # (path, major version, version text)

    @classmethod
    def setUpClass(cls):
        cls.server = h.Shoald().start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            cls.server.cleanup()

    def tearDown(self):
        self.assertTrue(self.server.running(), "shoald died\n" + self.server.log())

    def aws(self, *args, ok=True):
        cmd = [self.cli[0], "--endpoint-url", self.server.endpoint, "--output", "json", "kinesis"] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, env=cli_env(), timeout=180)
        if not ok:
            return p
        self.assertEqual(p.returncode, 0, "%s\nstdout: %s\nstderr: %s" % (" ".join(cmd), p.stdout, p.stderr))
        return json.loads(p.stdout) if p.stdout.strip() else {}

    def timed(self, *args):
        t0 = time.monotonic()
        self.aws(*args)
        return time.monotonic() - t0

    def blob(self, data):
        """A --data / Data= argument carrying `data` bytes, as this CLI version expects it."""
        return b64(data) if self.cli[1] >= 2 else data.decode()

    # -------------------------------------------------------------------------------------
    def test_acceptance_scenario(self):
        """kinesis-data-streams.md §6, command by command (and the README quick start)."""
        self.aws("create-stream", "--stream-name", "orders", "--shard-count", "2")
        waited = self.timed("wait", "stream-exists", "--stream-name", "orders")
        # The waiter polls every 10 s: returning at the first poll costs what one CLI call costs.
        one_call = self.timed("describe-stream-summary", "--stream-name", "orders")
        self.assertLess(waited, one_call + 7, "the waiter did not return at its first poll")
        s = self.aws("describe-stream-summary", "--stream-name", "orders")["StreamDescriptionSummary"]
        self.assertEqual(s["OpenShardCount"], 2)
        self.assertEqual(s["StreamStatus"], "ACTIVE")
        order = b'{"id":1002,"amount":7.25}'
        p = self.aws("put-record", "--stream-name", "orders", "--partition-key", "order-1002", "--data", self.blob(order))
        self.assertEqual(p["ShardId"], "shardId-000000000000")
        r = self.aws("put-records", "--stream-name", "orders", "--records",
                     "Data=%s,PartitionKey=user-42" % self.blob(b"hello"),
                     "Data=%s,PartitionKey=partitionKey1" % self.blob(b"ping"))
        self.assertEqual(r["FailedRecordCount"], 0)
        self.assertEqual(len(r["Records"]), 2)
        shards = self.aws("list-shards", "--stream-name", "orders")["Shards"]
        self.assertEqual([x["ShardId"] for x in shards], ["shardId-000000000000", "shardId-000000000001"])
        # IT=$(aws kinesis get-shard-iterator ... --query ShardIterator --output text)
        cmd = [self.cli[0], "--endpoint-url", self.server.endpoint, "kinesis", "get-shard-iterator",
               "--stream-name", "orders", "--shard-id", "shardId-000000000000", "--shard-iterator-type",
               "TRIM_HORIZON", "--query", "ShardIterator", "--output", "text"]
        p = subprocess.run(cmd, capture_output=True, text=True, env=cli_env(), timeout=180)
        self.assertEqual(p.returncode, 0, p.stderr)
        it = p.stdout.strip()
        self.assertTrue(it and "\n" not in it and len(it) <= 512, it)
        g = self.aws("get-records", "--shard-iterator", it)
        self.assertEqual([x["PartitionKey"] for x in g["Records"]], ["order-1002", "user-42"])
        self.assertEqual([base64.b64decode(x["Data"]) for x in g["Records"]], [order, b"hello"])
        self.assertIn("NextShardIterator", g)
        self.aws("split-shard", "--stream-name", "orders", "--shard-to-split", "shardId-000000000000",
                 "--new-starting-hash-key", "85070591730234615865843651857942052864")
        shards = self.aws("list-shards", "--stream-name", "orders")["Shards"]
        self.assertEqual(len(shards), 4)
        self.assertIn("EndingSequenceNumber", shards[0]["SequenceNumberRange"])
        self.assertEqual([x.get("ParentShardId") for x in shards[2:]], ["shardId-000000000000"] * 2)
        self.aws("increase-stream-retention-period", "--stream-name", "orders", "--retention-period-hours", "48")
        s = self.aws("describe-stream-summary", "--stream-name", "orders")["StreamDescriptionSummary"]
        self.assertEqual(s["RetentionPeriodHours"], 48)
        self.aws("delete-stream", "--stream-name", "orders")
        waited = self.timed("wait", "stream-not-exists", "--stream-name", "orders")
        one_call = self.timed("list-streams")
        self.assertLess(waited, one_call + 7, "the waiter did not return at its first poll")
        self.assertNotIn("orders", self.aws("list-streams")["StreamNames"])

    def test_consumer_reads_through_split(self):
        self.aws("create-stream", "--stream-name", "cli-split", "--shard-count", "1")
        self.aws("wait", "stream-exists", "--stream-name", "cli-split")
        self.aws("put-record", "--stream-name", "cli-split", "--partition-key", "a", "--data", self.blob(b"one"))
        self.aws("split-shard", "--stream-name", "cli-split", "--shard-to-split", "shardId-000000000000",
                 "--new-starting-hash-key", str(2**127))
        it = self.aws("get-shard-iterator", "--stream-name", "cli-split", "--shard-id", "shardId-000000000000",
                      "--shard-iterator-type", "TRIM_HORIZON")["ShardIterator"]
        records, children = [], []
        for _ in range(20):
            g = self.aws("get-records", "--shard-iterator", it)
            records += g["Records"]
            children = g.get("ChildShards") or children
            it = g.get("NextShardIterator")
            if not it:
                break
        self.assertIsNone(it, "closed shard never ended")
        self.assertEqual(len(records), 1)
        self.assertEqual(sorted(c["ShardId"] for c in children), ["shardId-000000000001", "shardId-000000000002"])
        self.aws("delete-stream", "--stream-name", "cli-split")

    def test_auto_pagination(self):
        names = ["page-%d" % i for i in range(5)]
        for n in names:
            self.aws("create-stream", "--stream-name", n, "--shard-count", "1")
        out = self.aws("list-streams", "--page-size", "2")
        self.assertEqual([n for n in out["StreamNames"] if n.startswith("page-")], names)
        out = self.aws("list-streams", "--max-items", "3")
        self.assertEqual(len(out["StreamNames"]), 3)
        self.assertIn("NextToken", out)  # the CLI's resume token
        self.aws("create-stream", "--stream-name", "page-shards", "--shard-count", "5")
        d = self.aws("describe-stream", "--stream-name", "page-shards", "--page-size", "2")
        self.assertEqual([s["ShardId"] for s in d["StreamDescription"]["Shards"]],
                         ["shardId-%012d" % i for i in range(5)])
        for n in names + ["page-shards"]:
            self.aws("delete-stream", "--stream-name", n)

    def test_raw_blob_and_timestamps(self):
        self.aws("create-stream", "--stream-name", "raw", "--shard-count", "1")
        before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=2)
        if self.cli[1] >= 2:
            self.aws("put-record", "--stream-name", "raw", "--partition-key", "k", "--data", "plain text",
                     "--cli-binary-format", "raw-in-base64-out")
        else:
            self.aws("put-record", "--stream-name", "raw", "--partition-key", "k", "--data", "plain text")
        it = self.aws("get-shard-iterator", "--stream-name", "raw", "--shard-id", "shardId-000000000000",
                      "--shard-iterator-type", "AT_TIMESTAMP",
                      "--timestamp", before.strftime("%Y-%m-%dT%H:%M:%SZ"))["ShardIterator"]
        g = self.aws("get-records", "--shard-iterator", it)
        self.assertEqual([base64.b64decode(x["Data"]) for x in g["Records"]], [b"plain text"])
        ts = g["Records"][0]["ApproximateArrivalTimestamp"]
        self.assertTrue(isinstance(ts, (int, float)) or re.match(r"\d{4}-\d\d-\d\dT", str(ts)), ts)
        self.aws("delete-stream", "--stream-name", "raw")

    def test_errors_exit_nonzero_with_the_error_type(self):
        p = self.aws("describe-stream", "--stream-name", "missing", ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("ResourceNotFoundException", p.stderr)
        self.aws("create-stream", "--stream-name", "dup", "--shard-count", "1")
        p = self.aws("create-stream", "--stream-name", "dup", "--shard-count", "1", ok=False)
        self.assertIn("ResourceInUseException", p.stderr)
        p = self.aws("increase-stream-retention-period", "--stream-name", "dup", "--retention-period-hours", "10",
                     ok=False)
        self.assertIn("InvalidArgumentException", p.stderr)
        p = self.aws("get-records", "--shard-iterator", "bm90LWFuLWl0ZXJhdG9y", ok=False)
        self.assertIn("InvalidArgumentException", p.stderr)
        p = self.aws("list-streams", "--limit", "10001", ok=False)
        self.assertIn("ValidationException", p.stderr)
        self.aws("delete-stream", "--stream-name", "dup")


def load_tests(loader, standard_tests, pattern):
    suite = unittest.TestSuite()
    for cli in CLIS:
        name = "AwsCli_v%d_%s" % (cli[1], re.sub(r"\W", "_", cli[0]).strip("_"))
        case = type(name, (CliCase,), {"cli": cli})
        suite.addTests(loader.loadTestsFromTestCase(case))
    return suite


CLIS = []

if __name__ == "__main__":
    h.init_from_argv()
    CLIS = find_clis()
    if not CLIS:
        print("no AWS CLI found; skipping")
        raise SystemExit(77)
    for c in CLIS:
        print("using %s: %s" % (c[0], c[2]))
    try:
        h.run_tests()
    finally:
        shutil.rmtree(_TMP, ignore_errors=True)
