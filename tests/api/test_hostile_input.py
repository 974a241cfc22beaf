#!/usr/bin/env python3
"""Hostile input to a real shoald (issue #6).

test_http_protocol.py covers the HTTP transport's own refusals (malformed HTTP, the body and
header caps, a trickling client, 2000 dropped connections). This suite aims at everything
behind and around it, systematically:

* stream names that are paths or collide on case-insensitive file systems (".", "..",
  "Orders"/"orders", 128 characters), and names that are not names at all;
* every string field of every operation with "/", "\\\\", "..", NUL, control characters,
  non-ASCII, non-UTF-8, empty, at and over the model's maximum length, and far over it;
* every integer and timestamp member at 0, -1, 2^31, 2^63, 2^64, 2^128, 1e400, fractions
  and wrong JSON types; hash keys and sequence numbers at and past their ranges;
* tampered, expired, re-signed and foreign shard iterators and paging tokens;
* thousands of idle connections, slow-loris headers and bodies, slow readers, endless
  headers, chunk lines and trailers, Content-Length and chunk sizes past 64 bits;
* a burst of concurrent maximum-size bodies (parser memory must not stay resident).

Each error must be the spec's (kinesis-data-streams.md: __type and HTTP status). After
every test, `Checker.check` insists that the server is alive, that every acknowledged record
is still readable byte for byte (and nothing else appeared in the streams the suite
writes), that nothing was created outside --data-dir (the data directory sits three levels
deep in a sandbox that is also shoald's working directory, and the sandbox tree is compared
before and after), that no symlink or stray path exists inside it, and that resident memory
and open descriptors came back down. Each class ends with a clean restart (exit 0) and the
same checks on the recovered data.

    python3 test_hostile_input.py PATH/TO/shoald [unittest args]

SHOAL_SANITIZE (set by CTest for sanitizer builds) skips the resident-memory bounds only:
ASan's quarantine holds freed memory on purpose; its leak checker runs at shoald's exit
instead, and a leak fails the stop's exit-code check.
"""
import base64
import decimal
import hashlib
import hmac
import http.client
import json
import math
import os
import re
import resource
import shutil
import socket
import struct
import tempfile
import threading
import time
import unittest

import shoald_harness as h
import test_http_protocol as proto

JSON = "application/x-amz-json-1.1"
ACCOUNT = "000000000000"
ARN_PREFIX = "arn:aws:kinesis:us-east-1:%s:stream/" % ACCOUNT
SANITIZED = bool(os.environ.get("SHOAL_SANITIZE"))
MARK = "shoal-hostile-%d" % os.getpid()  # a file by this name in /tmp would be an escape
EVENTUALLY_S = 30  # how long a condition that must come true (memory decay, closes) may take


def b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


# --- the server, its sandbox and the checks after every test -------------------------------
class Sandbox:
    """shoald's working directory, holding the data directory three levels down and a
    bystander file, so that a path escaping --data-dir by up to three '..' lands in it."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="shoald-hostile-")
        self.data = os.path.join(self.root, "outer", "inner", "data")
        os.makedirs(self.data)
        with open(os.path.join(self.root, "outer", "bystander"), "w") as f:
            f.write("must stay alone\n")
        self.before = self.snapshot()

    def snapshot(self):
        out = set()
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel = os.path.relpath(dirpath, self.root)
            if os.path.join(self.root, rel) == self.data:
                dirnames[:] = []
                continue
            for n in dirnames + filenames:
                out.add(os.path.normpath(os.path.join(rel, n)))
        return out

    def data_problems(self):
        """Symlinks, or paths that resolve outside the data directory."""
        bad = []
        real = os.path.realpath(self.data)
        for dirpath, dirnames, filenames in os.walk(self.data):
            for n in dirnames + filenames:
                p = os.path.join(dirpath, n)
                if os.path.islink(p) or not os.path.realpath(p).startswith(real + os.sep):
                    bad.append(p)
        return bad

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


def proc_status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


class Client:
    """Kinesis JSON calls over one keep-alive connection (re-opened when the server closes)."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def raw(self, op, body, timeout=60):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                self.conn.request("POST", "/", body=body, headers={
                    "Content-Type": JSON, "X-Amz-Target": "Kinesis_20131202." + op})
                r = self.conn.getresponse()
                data = r.read()
                if (r.getheader("Connection") or "").lower() == "close":
                    self.close()
                return r.status, r.getheader("x-amzn-ErrorType"), data
            except (http.client.HTTPException, ConnectionError, BrokenPipeError):
                self.close()
                if attempt:
                    raise

    def call(self, op, payload, timeout=60):
        """(status, __type or None, parsed body or None)."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        status, header_type, data = self.raw(op, body, timeout)
        doc = json.loads(data) if data and data[:1] == b"{" else None
        etype = doc.get("__type") if isinstance(doc, dict) else None
        if etype is not None:
            assert header_type == etype, (op, header_type, etype)
        return status, etype, doc

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Checker:
    """Owns one shoald in a sandbox and the ledger of every record it acknowledged."""

    def __init__(self, args=(), rss_slack_mb=128):
        self.sandbox = Sandbox()
        self.server = h.Shoald(["--shard-limit", "64"] + list(args), data_dir=self.sandbox.data,
                               cwd=self.sandbox.root)
        self.server.start()
        self.client = Client(self.server.port)
        self.ledger = {}  # stream -> {sequence number: (shard id, partition key, data bytes)}
        self.rss_slack_kb = rss_slack_mb << 10
        self.baseline_rss_kb = None
        self.baseline_fds = None

    @property
    def port(self):
        return self.server.port

    def call(self, op, payload, **kw):
        return self.client.call(op, payload, **kw)

    def ok(self, op, payload):
        status, etype, doc = self.call(op, payload)
        assert status == 200, (op, payload if len(str(payload)) < 300 else "...", status, etype, doc)
        return doc

    def create(self, name, shards=1, ledgered=True):
        self.ok("CreateStream", {"StreamName": name, "ShardCount": shards})
        if ledgered:
            self.ledger.setdefault(name, {})

    def record_put(self, stream, put, pk, data):
        self.ledger.setdefault(stream, {})[put["SequenceNumber"]] = (put["ShardId"], pk, data)

    def put(self, stream, pk, data, **extra):
        payload = {"StreamName": stream, "PartitionKey": pk, "Data": b64(data)}
        payload.update(extra)
        put = self.ok("PutRecord", payload)
        self.record_put(stream, put, pk, data)
        return put

    def pid(self):
        return self.server.proc.pid

    def rss_kb(self):
        return proc_status(self.pid(), "VmRSS")

    def fds(self):
        """Open sockets (files come and go with streams and segments)."""
        d = "/proc/%d/fd" % self.pid()
        n = 0
        for fd in os.listdir(d):
            try:
                n += os.readlink(os.path.join(d, fd)).startswith("socket:")
            except OSError:
                pass  # closed while we looked
        return n

    def set_baseline(self):
        self.client.close()
        self.baseline_rss_kb = self.rss_kb()
        self.baseline_fds = self.fds()

    def read_stream(self, stream):
        """Every record of every shard, from the trim horizon to the end."""
        out = {}
        shards, token = [], None
        while True:
            doc = self.ok("ListShards", {"NextToken": token} if token else {"StreamName": stream})
            shards += [s["ShardId"] for s in doc["Shards"]]
            token = doc.get("NextToken")
            if not token:
                break
        for shard in shards:
            it = self.ok("GetShardIterator", {"StreamName": stream, "ShardId": shard,
                                              "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
            while it:
                doc = self.ok("GetRecords", {"ShardIterator": it, "Limit": 10000})
                for r in doc["Records"]:
                    assert r["SequenceNumber"] not in out, ("sequence number read twice", r)
                    out[r["SequenceNumber"]] = (shard, r["PartitionKey"], base64.b64decode(r["Data"]))
                it = doc.get("NextShardIterator")
                if not doc["Records"] and doc["MillisBehindLatest"] == 0:
                    break
        return out

    def wait_for(self, what, cond):
        deadline = time.monotonic() + EVENTUALLY_S
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError("%s did not happen within %d s" % (what, EVENTUALLY_S))
            time.sleep(0.2)

    def check(self, tc):
        """The invariants every hostile batch must leave intact."""
        tc.assertTrue(self.server.running(), "shoald died\n" + self.server.log())
        for stream, want in self.ledger.items():
            got = self.read_stream(stream)
            missing = {k: v for k, v in want.items() if got.get(k) != v}
            extra = sorted(set(got) - set(want))
            tc.assertEqual(missing, {}, "acknowledged records of %s lost or changed" % stream)
            tc.assertEqual(extra, [], "records in %s that were never acknowledged" % stream)
        tc.assertEqual(self.sandbox.snapshot(), self.sandbox.before, "files created outside --data-dir")
        tc.assertEqual(self.sandbox.data_problems(), [])
        for p in ["/tmp/" + MARK, "/tmp/" + MARK + "-abs", "/" + MARK]:
            tc.assertFalse(os.path.exists(p), p)
        self.client.close()
        if self.baseline_fds is not None:
            self.wait_for("shoald closing its connections (sockets back to %d + 8)" % self.baseline_fds,
                          lambda: self.fds() <= self.baseline_fds + 8)
        if self.baseline_rss_kb is not None and not SANITIZED:
            bound = self.baseline_rss_kb + self.rss_slack_kb
            self.wait_for("RSS back under %d KiB (baseline %d)" % (bound, self.baseline_rss_kb),
                          lambda: self.rss_kb() <= bound)

    def finish(self, tc):
        """Checks, a clean restart (exit 0), and the same checks on the recovered data."""
        try:
            self.check(tc)
            self.server.restart()
            self.client = Client(self.server.port)
            self.baseline_rss_kb = self.baseline_fds = None
            self.check(tc)
            self.client.close()
            self.server.stop()
        finally:
            self.client.close()
            self.server.cleanup()
            self.sandbox.cleanup()


class HostileCase(unittest.TestCase):
    """One shoald per class; the checks run after every test and at the end of the class."""

    server_args = ()
    rss_slack_mb = 128
    c = None

    @classmethod
    def setUpClass(cls):
        cls.c = Checker(cls.server_args, cls.rss_slack_mb)
        try:
            cls.prepare()
            cls.c.set_baseline()
        except BaseException:
            cls.c.server.cleanup()
            cls.c.sandbox.cleanup()
            raise

    @classmethod
    def prepare(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        cls.c.finish(unittest.TestCase())

    def tearDown(self):
        self.c.check(self)

    def expect(self, op, payload, want, what=""):
        """want: 200, or the __type of a 400 (or InternalFailure's 500, never expected)."""
        status, etype, doc = self.c.call(op, payload)
        where = "%s %s: %s" % (op, what, json.dumps(doc)[:300] if doc is not None else status)
        if want == 200:
            self.assertEqual(status, 200, where)
        else:
            self.assertEqual((status, etype), (400, want), where)
        return doc


# --- 1. stream names -----------------------------------------------------------------------
TRICKY_VALID_NAMES = [
    ".", "..", "...", ".hidden", ".Git", "-", "_", "-rf", "LOCK", "CATALOG", "streams", "shoald.key",
    "Orders", "orders", "ORDERS", "oRdErS", "x" * 128, "X" * 128, "xX" * 64, "Xx" * 64, ".." + "A" * 126,
]
INVALID_NAMES = [
    "", "/", "a/b", "\\", "a\\b", "../x", "..\\x", "../../../../tmp/" + MARK, "/tmp/" + MARK + "-abs",
    "\x00", "x\x00y", "x" * 129, "x" * 100000, "é", "名前", " a", "a ", "a\tb", "a\nb", "%2e%2e", "a:b", "a*",
]


class StreamNamesTest(HostileCase):
    def test_tricky_valid_names_are_distinct_streams(self):
        for name in TRICKY_VALID_NAMES:
            self.c.create(name)
            self.c.put(name, "pk", ("only in %r" % name).encode())
        listed = []
        token = None
        while True:
            doc = self.c.ok("ListStreams", {"NextToken": token} if token else {})
            listed += doc["StreamNames"]
            token = doc.get("NextToken")
            if not doc["HasMoreStreams"]:
                break
        self.assertEqual(listed, sorted(self.c.ledger, key=lambda s: s.encode()))
        for name in TRICKY_VALID_NAMES:
            doc = self.c.ok("DescribeStreamSummary", {"StreamName": name})
            self.assertEqual(doc["StreamDescriptionSummary"]["StreamName"], name)
            self.assertEqual(doc["StreamDescriptionSummary"]["StreamARN"], ARN_PREFIX + name)
            self.c.ok("DescribeStreamSummary", {"StreamARN": ARN_PREFIX + name})
        # One directory per stream, all directly under data/streams.
        streams = os.listdir(os.path.join(self.c.sandbox.data, "streams"))
        self.assertEqual(len(streams), len(self.c.ledger), streams)
        self.assertEqual(len({s.lower() for s in streams}), len(streams), "directories differ only in case")
        self.assertFalse([s for s in streams if s in (".", "..") or s.startswith(".")], streams)
        # Deleting one name of a case family or of the dot family leaves the others whole.
        for name in [".", "orders"]:
            self.c.ok("DeleteStream", {"StreamName": name})
            del self.c.ledger[name]
            self.expect("DescribeStreamSummary", {"StreamName": name}, "ResourceNotFoundException", name)
        for name in ["..", "...", "Orders", "ORDERS", "oRdErS"]:
            self.c.ok("DescribeStreamSummary", {"StreamName": name})
        # A deleted name can be created again, empty.
        self.c.create(".")
        self.assertEqual(self.c.read_stream("."), {})

    def test_a_name_collision_is_refused(self):
        self.c.create("twin")
        self.expect("CreateStream", {"StreamName": "twin", "ShardCount": 1}, "ResourceInUseException")
        self.expect("CreateStream", {"StreamName": "twin", "ShardCount": 2}, "ResourceInUseException")

    def test_invalid_names_are_refused_everywhere(self):
        before = set(os.listdir(os.path.join(self.c.sandbox.data, "streams")))
        for name in INVALID_NAMES:
            self.expect("CreateStream", {"StreamName": name, "ShardCount": 1}, "ValidationException", repr(name[:40]))
            for op, extra in [("DescribeStream", {}), ("DescribeStreamSummary", {}), ("DeleteStream", {}),
                              ("PutRecord", {"PartitionKey": "k", "Data": ""}),
                              ("GetShardIterator", {"ShardId": "0", "ShardIteratorType": "LATEST"}),
                              ("ListShards", {}), ("AddTagsToStream", {"Tags": {"k": "v"}})]:
                payload = dict(extra, StreamName=name)
                self.expect(op, payload, "ValidationException", repr(name[:40]))
        # Not UTF-8 at all: the body does not parse.
        for raw in [b"\xff", b"\xc0\xae\xc0\xae", b"\xed\xa0\x80", b"a\x80"]:
            body = b'{"StreamName":"' + raw + b'","ShardCount":1}'
            self.expect("CreateStream", body, "SerializationException", repr(raw))
        self.assertEqual(set(os.listdir(os.path.join(self.c.sandbox.data, "streams"))), before)


# --- 2. every string field of every operation ----------------------------------------------
NAME_RE = re.compile(r"[a-zA-Z0-9_.-]+\Z")
# arn:aws.*:kinesis:.*:\d{12}:stream/\S+ as Java reads it: '.' stops at line terminators,
# \d and \S are ASCII classes.
ARN_RE = re.compile("arn:aws[^\n\r\u0085\u2028\u2029]*:kinesis:[^\n\r\u0085\u2028\u2029]*:[0-9]{12}:stream/"
                    "[^ \t\n\x0b\f\r]+\\Z")
TAG_CHARS = set("_./=+-%@")

HOSTILE = [
    "/", "\\", ".", "..", "../../../../tmp/" + MARK, "..\\..\\x", "/tmp/" + MARK + "-abs", "C:\\x",
    "\x00", "a\x00b", "\x01\x1f\x7f", " ", "\t", "\n", "", "é", "名前", "\u2028", "\U0001F600",
    "a" * 129, "a" * 70000, "%00", "${jndi:x}", "'\"", "<x/>",
]


class Kind:
    """How a field validates a string: a predicate, and the error when it fails."""

    def __init__(self, name, valid, error="ValidationException", max_len=None):
        self.name, self.valid, self.error, self.max_len = name, valid, error, max_len


def text(lo, hi):
    return Kind("text(%d,%d)" % (lo, hi), lambda v: lo <= len(v) <= hi, max_len=hi)


def tag_text(lo, hi):
    return Kind("tag(%d,%d)" % (lo, hi),
                lambda v: lo <= len(v) <= hi and all(ord(c) >= 0x80 or c.isalnum() or c.isspace() or c in TAG_CHARS
                                                      for c in v),
                "InvalidArgumentException", max_len=hi)


def strict_b64(v):
    try:
        return base64.b64encode(base64.b64decode(v, validate=True)).decode() == v
    except Exception:
        return False


NAME = Kind("name", lambda v: bool(NAME_RE.match(v)) and len(v) <= 128, max_len=128)
ARN = Kind("arn", lambda v: bool(ARN_RE.match(v)) and len(v) <= 2048, max_len=2048)
DEC39 = Kind("hashkey", lambda v: bool(re.fullmatch(r"0|[1-9][0-9]{0,38}", v)))
DEC129 = Kind("seqno", lambda v: bool(re.fullmatch(r"0|[1-9][0-9]{0,128}", v)))
BLOB = Kind("blob", strict_b64, "SerializationException")
ANY = Kind("ignored", lambda v: True)


def enum(*values):
    return Kind("enum", lambda v: v in values)


V = "victim"
PUT = "PUT"  # on success: an acknowledged record to remember


def field_table(it):
    """(operation, base payload, field path, kind, outcome when the value is valid)."""
    seq0 = "0"
    return [
        ("CreateStream", {"ShardCount": 1}, "StreamName", NAME, "CREATED"),
        ("CreateStream", {"StreamName": "@", "ShardCount": 1, "StreamModeDetails": {"StreamMode": "x"}},
         "StreamModeDetails.StreamMode", enum("PROVISIONED", "ON_DEMAND"), None),
        ("CreateStream", {"StreamName": "@", "ShardCount": 1, "Tags": {"@": "v"}}, "Tags.@key",
         tag_text(1, 128), "CREATED"),
        ("CreateStream", {"StreamName": "@", "ShardCount": 1, "Tags": {"k": "@"}}, "Tags.k", tag_text(0, 256),
         "CREATED"),
        ("DeleteStream", {"StreamName": V}, "StreamName", NAME, "ResourceNotFoundException"),
        ("DeleteStream", {}, "StreamARN", ARN, "ResourceNotFoundException"),
        ("DeleteStream", {"StreamName": "no-such-stream"}, "StreamId", ANY, "ResourceNotFoundException"),
        ("DescribeStream", {"StreamName": V}, "StreamName", NAME, "ResourceNotFoundException"),
        ("DescribeStream", {}, "StreamARN", ARN, "ResourceNotFoundException"),
        ("DescribeStream", {"StreamName": V}, "StreamId", ANY, 200),
        ("DescribeStream", {"StreamName": V}, "ExclusiveStartShardId", NAME, 200),
        ("DescribeStreamSummary", {"StreamName": V}, "StreamName", NAME, "ResourceNotFoundException"),
        ("DescribeStreamSummary", {}, "StreamARN", ARN, "ResourceNotFoundException"),
        ("ListTagsForStream", {"StreamName": V}, "ExclusiveStartTagKey", text(1, 128), 200),
        ("AddTagsToStream", {"StreamName": V, "Tags": {"k": "v"}}, "StreamName", NAME, "ResourceNotFoundException"),
        ("AddTagsToStream", {"Tags": {"k": "v"}}, "StreamARN", ARN, "ResourceNotFoundException"),
        ("AddTagsToStream", {"StreamName": V, "Tags": {"@": "v"}}, "Tags.@key", tag_text(1, 128), "TAGGED"),
        ("AddTagsToStream", {"StreamName": V, "Tags": {"k": "@"}}, "Tags.k", tag_text(0, 256), "TAGGED"),
        ("RemoveTagsFromStream", {"StreamName": V, "TagKeys": ["@"]}, "TagKeys.0", text(1, 128), 200),
        ("IncreaseStreamRetentionPeriod", {"StreamName": V, "RetentionPeriodHours": 24}, "StreamName", NAME,
         "ResourceNotFoundException"),
        ("DecreaseStreamRetentionPeriod", {"RetentionPeriodHours": 24}, "StreamARN", ARN,
         "ResourceNotFoundException"),
        ("ListStreams", {}, "ExclusiveStartStreamName", NAME, 200),
        ("ListStreams", {}, "NextToken", text(1, 1048576), "InvalidArgumentException"),
        ("ListShards", {"StreamName": V}, "StreamName", NAME, "ResourceNotFoundException"),
        ("ListShards", {}, "StreamARN", ARN, "ResourceNotFoundException"),
        ("ListShards", {}, "NextToken", text(1, 1048576), "InvalidArgumentException"),
        ("ListShards", {"StreamName": V}, "ExclusiveStartShardId", NAME, 200),
        ("ListShards", {"StreamName": V, "ShardFilter": {"Type": "@"}}, "ShardFilter.Type",
         enum("AFTER_SHARD_ID", "AT_TRIM_HORIZON", "FROM_TRIM_HORIZON", "AT_LATEST", "AT_TIMESTAMP",
              "FROM_TIMESTAMP"), None),
        ("ListShards", {"StreamName": V, "ShardFilter": {"Type": "AFTER_SHARD_ID"}}, "ShardFilter.ShardId", NAME,
         200),
        ("PutRecord", {"PartitionKey": "k", "Data": ""}, "StreamName", NAME, "ResourceNotFoundException"),
        ("PutRecord", {"PartitionKey": "k", "Data": ""}, "StreamARN", ARN, "ResourceNotFoundException"),
        ("PutRecord", {"StreamName": V, "Data": "AAAA"}, "PartitionKey", text(1, 256), PUT),
        ("PutRecord", {"StreamName": V, "PartitionKey": "k"}, "Data", BLOB, PUT),
        ("PutRecord", {"StreamName": V, "PartitionKey": "k", "Data": ""}, "ExplicitHashKey", DEC39, None),
        ("PutRecord", {"StreamName": V, "PartitionKey": "k", "Data": ""}, "SequenceNumberForOrdering", DEC129,
         None),
        ("PutRecords", {"Records": [{"PartitionKey": "k", "Data": ""}]}, "StreamName", NAME,
         "ResourceNotFoundException"),
        ("PutRecords", {"Records": [{"PartitionKey": "k", "Data": ""}]}, "StreamARN", ARN,
         "ResourceNotFoundException"),
        ("PutRecords", {"StreamName": V, "Records": [{"Data": "AAAA"}]}, "Records.0.PartitionKey", text(1, 256),
         PUT),
        ("PutRecords", {"StreamName": V, "Records": [{"PartitionKey": "k"}]}, "Records.0.Data", BLOB, PUT),
        ("PutRecords", {"StreamName": V, "Records": [{"PartitionKey": "k", "Data": ""}]},
         "Records.0.ExplicitHashKey", DEC39, None),
        ("GetShardIterator", {"ShardId": "0", "ShardIteratorType": "LATEST"}, "StreamName", NAME,
         "ResourceNotFoundException"),
        ("GetShardIterator", {"ShardId": "0", "ShardIteratorType": "LATEST"}, "StreamARN", ARN,
         "ResourceNotFoundException"),
        ("GetShardIterator", {"StreamName": V, "ShardIteratorType": "LATEST"}, "ShardId", NAME,
         "ResourceNotFoundException"),
        ("GetShardIterator", {"StreamName": V, "ShardId": "0"}, "ShardIteratorType",
         enum("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"), None),
        ("GetShardIterator", {"StreamName": V, "ShardId": "0", "ShardIteratorType": "AT_SEQUENCE_NUMBER"},
         "StartingSequenceNumber", DEC129, None),
        ("GetRecords", {}, "ShardIterator", text(1, 512), "InvalidArgumentException"),
        ("GetRecords", {"ShardIterator": it}, "StreamARN", ARN, "InvalidArgumentException"),
        ("SplitShard", {"ShardToSplit": "0", "NewStartingHashKey": "1000"}, "StreamName", NAME,
         "ResourceNotFoundException"),
        ("SplitShard", {"StreamName": V, "NewStartingHashKey": "1000"}, "ShardToSplit", NAME,
         "ResourceNotFoundException"),
        ("SplitShard", {"StreamName": V, "ShardToSplit": "0"}, "NewStartingHashKey", DEC39, None),
        ("MergeShards", {"ShardToMerge": "0", "AdjacentShardToMerge": "1"}, "StreamARN", ARN,
         "ResourceNotFoundException"),
        ("MergeShards", {"StreamName": V, "AdjacentShardToMerge": "1"}, "ShardToMerge", NAME,
         "ResourceNotFoundException"),
        ("MergeShards", {"StreamName": V, "ShardToMerge": "0"}, "AdjacentShardToMerge", NAME,
         "ResourceNotFoundException"),
        ("UpdateShardCount", {"TargetShardCount": 2, "ScalingType": "UNIFORM_SCALING"}, "StreamName", NAME,
         "ResourceNotFoundException"),
        ("UpdateShardCount", {"StreamName": V, "TargetShardCount": 2}, "ScalingType", enum("UNIFORM_SCALING"),
         None),
    ]


def with_value(base, path, value):
    """A copy of `base` with `value` at `path` ("A.B", "Records.0.X", "Tags.@key" = the key)."""
    doc = json.loads(json.dumps(base))
    parts = path.split(".")
    node = doc
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
    last = parts[-1]
    if last == "@key":
        node.clear()
        node[value] = "v"
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


class StringFieldsTest(HostileCase):
    @classmethod
    def prepare(cls):
        cls.c.create(V, shards=2)
        for i in range(4):
            cls.c.put(V, "seed-%d" % i, b"seed %d" % i)
        cls.iterator = cls.c.ok("GetShardIterator", {"StreamName": V, "ShardId": "0",
                                                     "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
        cls.created = 0

    def values_for(self, kind):
        vals = list(HOSTILE)
        if kind.max_len:
            vals += ["k" * kind.max_len, "k" * (kind.max_len + 1)]
        if kind is ARN:  # also hostile stream parts inside a well-formed ARN
            vals += [ARN_PREFIX + v for v in HOSTILE] + [ARN_PREFIX + "s" * (2048 - len(ARN_PREFIX)),
                                                         ARN_PREFIX + "s" * (2049 - len(ARN_PREFIX))]
        return vals

    def attempt(self, op, base, path, kind, on_valid, value):
        payload = with_value(base, path, value)
        if "StreamName" in payload and payload["StreamName"] == "@":
            self.__class__.created += 1
            payload["StreamName"] = "made-%d" % self.created
        valid = kind.valid(value)
        want = on_valid if valid else kind.error
        if want in (PUT, "CREATED", "TAGGED"):
            want_code = 200
        else:
            want_code = want
        self.assertIsNotNone(want_code, "%s %s: %r was expected to be invalid" % (op, path, value[:40]))
        doc = self.expect(op, payload, want_code, "%s=%r (%s)" % (path, value[:60], kind.name))
        if want == PUT:
            if op == "PutRecord":
                self.c.record_put(V, doc, payload["PartitionKey"], base64.b64decode(payload["Data"]))
            else:
                self.assertEqual(doc["FailedRecordCount"], 0, doc)
                rec = payload["Records"][0]
                self.c.record_put(V, doc["Records"][0], rec["PartitionKey"], base64.b64decode(rec["Data"]))
        elif want == "CREATED":
            self.c.ok("DeleteStream", {"StreamName": payload["StreamName"]})
        elif want == "TAGGED":
            key = next(iter(payload["Tags"]))
            tags = self.c.ok("ListTagsForStream", {"StreamName": V})["Tags"]
            self.assertIn({"Key": key, "Value": payload["Tags"][key]}, tags)
            self.c.ok("RemoveTagsFromStream", {"StreamName": V, "TagKeys": [key]})

    def test_every_string_field(self):
        n = 0
        for op, base, path, kind, on_valid in field_table(self.iterator):
            for value in self.values_for(kind):
                self.attempt(op, base, path, kind, on_valid, value)
                n += 1
        self.assertGreater(n, 1000)

    def test_every_string_field_not_utf8(self):
        # Raw bytes that are not UTF-8, and an unpaired surrogate escape: the body is not
        # text the parser accepts, so step 6 answers before any field is looked at.
        for op, base, path, kind, on_valid in field_table(self.iterator):
            payload = with_value(base, path, "@@HOSTILE@@")
            if payload.get("StreamName") == "@":
                payload["StreamName"] = "never-made"
            body = json.dumps(payload).encode()
            for raw in [b"\xff\xfe", b"a\xc0\xafb", b"\\ud800", b"x\\udc00y"]:
                self.expect(op, body.replace(b"@@HOSTILE@@", raw), "SerializationException",
                            "%s=%r" % (path, raw))

    def test_wrong_json_types_in_string_fields(self):
        for op, base, path, kind, on_valid in field_table(self.iterator):
            if path.endswith("@key"):
                continue
            for value, want in [(1, "SerializationException"), (1e400, "SerializationException"),
                                (True, "SerializationException"), ([], "SerializationException"),
                                ({}, "SerializationException")]:
                payload = with_value(base, path, value if not (isinstance(value, float) and math.isinf(value))
                                     else "@@INF@@")
                if payload.get("StreamName") == "@":
                    payload["StreamName"] = "never-made"
                body = json.dumps(payload).encode().replace(b'"@@INF@@"', b"1e400")
                self.expect(op, body, want, "%s=%r" % (path, value))


# --- 3. numbers ----------------------------------------------------------------------------
NUMBERS = ["0", "-0", "-1", "1.5", "0.999", "-0.5", "100.0", "1E2", "1e-400", "2147483647", "2147483648",
           "-2147483649", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
           "18446744073709551616", "340282366920938463463374607431768211456", "1e400", "-1e400",
           "1" + "0" * 400]
INT_MAX = 2147483647


def as_integer(text_value):
    """What the Java front end makes of a number for an Integer member (spec §1.4)."""
    return max(-INT_MAX, min(INT_MAX, math.floor(decimal.Decimal(text_value))))


class NumbersTest(HostileCase):
    @classmethod
    def prepare(cls):
        cls.c.create(V, shards=2)
        cls.c.put(V, "n", b"number test")
        cls.c.create("resize", shards=1)
        cls.c.create("retention", shards=1)
        cls.iterator = cls.c.ok("GetShardIterator", {"StreamName": V, "ShardId": "0",
                                                     "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
        cls.made = 0

    def call_with(self, op, base, path, literal):
        payload = with_value(base, path, "@@N@@")
        return json.dumps(payload).encode().replace(b'"@@N@@"', literal.encode())

    def integer_fields(self):
        def create_outcome(v):
            return "LimitExceededException" if v > 60 else "CREATED"
        return [
            ("ListStreams", {}, "Limit", 1, 10000, lambda v: 200),
            ("DescribeStream", {"StreamName": V}, "Limit", 1, 10000, lambda v: 200),
            ("ListShards", {"StreamName": V}, "MaxResults", 1, 10000, lambda v: 200),
            ("ListTagsForStream", {"StreamName": V}, "Limit", 1, 50, lambda v: 200),
            ("GetRecords", {"ShardIterator": self.iterator}, "Limit", 1, 10000, lambda v: 200),
            ("CreateStream", {"StreamName": "@"}, "ShardCount", 1, 100000, create_outcome),
            ("CreateStream", {"StreamName": "@", "ShardCount": 1}, "MaxRecordSizeInKiB", 1024, 10240,
             lambda v: "CREATED"),
            ("CreateStream", {"StreamName": "@", "ShardCount": 1}, "WarmThroughputMiBps", 0, INT_MAX,
             lambda v: "CREATED"),
            # 1 open shard: 1 is a no-op, 3 and more are over double (2 never comes up here).
            ("UpdateShardCount", {"StreamName": "resize", "ScalingType": "UNIFORM_SCALING"}, "TargetShardCount",
             1, INT_MAX, lambda v: 200 if v == 1 else "LimitExceededException"),
            ("IncreaseStreamRetentionPeriod", {"StreamName": "retention"}, "RetentionPeriodHours", -INT_MAX,
             INT_MAX, lambda v: 200 if 24 <= v <= 8760 else "InvalidArgumentException"),
            ("DecreaseStreamRetentionPeriod", {"StreamName": "retention"}, "RetentionPeriodHours", -INT_MAX,
             INT_MAX, lambda v: "RETENTION_DOWN" if 24 <= v <= 8760 else "InvalidArgumentException"),
        ]

    def test_integer_members(self):
        for op, base, path, lo, hi, on_valid in self.integer_fields():
            for literal in NUMBERS:
                v = as_integer(literal)
                want = on_valid(v) if lo <= v <= hi else "ValidationException"
                if want == "RETENTION_DOWN":  # current is 24 or what Increase left
                    cur = self.c.ok("DescribeStreamSummary", {"StreamName": "retention"})[
                        "StreamDescriptionSummary"]["RetentionPeriodHours"]
                    want = 200 if v <= cur else "InvalidArgumentException"
                b = dict(base)
                if b.get("StreamName") == "@":
                    self.__class__.made += 1
                    b["StreamName"] = "num-%d" % self.made
                doc = self.expect(op, self.call_with(op, b, path, literal), 200 if want == "CREATED" else want,
                                  "%s=%s" % (path, literal))
                if want == "CREATED":
                    self.c.ok("DeleteStream", {"StreamName": b["StreamName"]})
                if want == "ValidationException":
                    shown = "'%d'" % v
                    self.assertIn("Value %s at '%s%s'" % (shown, path[0].lower(), path[1:]), doc["message"])
            for literal, want in [('"1"', "SerializationException"), ("true", "SerializationException"),
                                  ("[1]", "SerializationException"), ('{"a":1}', "SerializationException")]:
                b = dict(base)
                if b.get("StreamName") == "@":
                    b["StreamName"] = "never-made"
                self.expect(op, self.call_with(op, b, path, literal), want, "%s=%s" % (path, literal))

    def test_timestamp_members(self):
        now_s = time.time()
        for literal in NUMBERS + ["1700000000.123", str(int(now_s) + 3600)]:
            d = decimal.Decimal(literal)
            future = d > decimal.Decimal(now_s + 60)  # a minute's margin for the two clocks
            doc = self.expect("GetShardIterator", self.call_with(
                "GetShardIterator", {"StreamName": V, "ShardId": "0", "ShardIteratorType": "AT_TIMESTAMP"},
                "Timestamp", literal), "InvalidArgumentException" if future else 200, literal)
            if future:
                self.assertIn("cannot be greater than the currentTimestampInMillis", doc["message"])
            else:  # every record is at or after a past timestamp
                recs = self.c.ok("GetRecords", {"ShardIterator": doc["ShardIterator"]})["Records"]
                self.assertEqual(len(recs), sum(1 for (s, _, _) in self.c.ledger[V].values()
                                                if s == "shardId-000000000000"))
            self.expect("ListShards", self.call_with("ListShards", {"StreamName": V}, "StreamCreationTimestamp",
                                                     literal), 200, literal)
            for ftype in ["AT_TIMESTAMP", "FROM_TIMESTAMP"]:
                self.expect("ListShards", self.call_with(
                    "ListShards", {"StreamName": V, "ShardFilter": {"Type": ftype}}, "ShardFilter.Timestamp",
                    literal), 200, literal)
        for literal in ['"1700000000"', "true", "[]", "{}"]:
            self.expect("GetShardIterator", self.call_with(
                "GetShardIterator", {"StreamName": V, "ShardId": "0", "ShardIteratorType": "AT_TIMESTAMP"},
                "Timestamp", literal), "SerializationException", literal)

    def test_boolean_member(self):
        for literal in NUMBERS[:4] + ['"true"', '"yes"', "[]", "{}"]:
            self.expect("DeleteStream", self.call_with("DeleteStream", {"StreamName": "no-such"},
                                                       "EnforceConsumerDeletion", literal),
                        "SerializationException", literal)


# --- 4. hash keys and sequence numbers ------------------------------------------------------
MAX_HASH = (1 << 128) - 1


class HashAndSequenceTest(HostileCase):
    @classmethod
    def prepare(cls):
        cls.c.create(V, shards=2)
        cls.c.create("other", shards=1, ledgered=False)
        cls.seq0 = cls.c.put(V, "s0", b"first", ExplicitHashKey="0")["SequenceNumber"]
        cls.seq1 = cls.c.put(V, "s1", b"second", ExplicitHashKey=str(MAX_HASH))["SequenceNumber"]
        cls.other_seq = cls.c.ok("PutRecord", {"StreamName": "other", "PartitionKey": "o",
                                               "Data": ""})["SequenceNumber"]

    def test_explicit_hash_keys(self):
        half = 1 << 127
        for key, shard in [("0", 0), (str(half - 1), 0), (str(half), 1), (str(MAX_HASH), 1)]:
            put = self.c.put(V, "ehk", key.encode(), ExplicitHashKey=key)
            self.assertEqual(put["ShardId"], "shardId-%012d" % shard, key)
        for key in [str(MAX_HASH + 1), "9" * 39]:
            doc = self.expect("PutRecord", {"StreamName": V, "PartitionKey": "k", "Data": "", "ExplicitHashKey": key},
                              "InvalidArgumentException", key)
            self.assertEqual(doc["message"], "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: "
                             "[0, 2^128-1]. Specified value was %s" % key)
            # PutRecords: one bad entry fails the whole request; nothing of it is written
            # (the ledger check after this test would see a partial write).
            self.expect("PutRecords", {"StreamName": V, "Records": [
                {"PartitionKey": "a", "Data": b64("not written")},
                {"PartitionKey": "b", "Data": "", "ExplicitHashKey": key}]}, "InvalidArgumentException", key)
        for key in ["1" + "0" * 39, "-1", "01", "+1", "1e5", "0x10", " 1", "1 ", "١"]:
            self.expect("PutRecord", {"StreamName": V, "PartitionKey": "k", "Data": "", "ExplicitHashKey": key},
                        "ValidationException", key)

    def test_new_starting_hash_keys(self):
        for key in ["0", "1", str((1 << 127) - 1), str(MAX_HASH), str(MAX_HASH + 1), "9" * 39]:
            self.expect("SplitShard", {"StreamName": V, "ShardToSplit": "0", "NewStartingHashKey": key},
                        "InvalidArgumentException", key)
        for key in ["1" + "0" * 39, "-1", "01", ""]:
            self.expect("SplitShard", {"StreamName": V, "ShardToSplit": "0", "NewStartingHashKey": key},
                        "ValidationException", key)
        for shard in ["shardId-000000000002", "shardId-2147483647", "shardId-2147483648",
                      "shardId-99999999999999999999999", "shardId-", "-"]:
            self.expect("SplitShard", {"StreamName": V, "ShardToSplit": shard, "NewStartingHashKey": "5"},
                        "ResourceNotFoundException", shard)
        self.assertEqual(len(self.c.ok("ListShards", {"StreamName": V})["Shards"]), 2)

    def test_starting_sequence_numbers(self):
        def iterator(seq, kind="AT_SEQUENCE_NUMBER", shard="0"):
            return {"StreamName": V, "ShardId": shard, "ShardIteratorType": kind, "StartingSequenceNumber": seq}
        doc = self.expect("GetShardIterator", iterator(self.seq0), 200)
        recs = self.c.ok("GetRecords", {"ShardIterator": doc["ShardIterator"]})["Records"]
        self.assertEqual(recs[0]["SequenceNumber"], self.seq0)
        start = self.c.ok("ListShards", {"StreamName": V})["Shards"][0]["SequenceNumberRange"]["StartingSequenceNumber"]
        self.expect("GetShardIterator", iterator(start), 200)
        self.expect("GetShardIterator", iterator(start, "AFTER_SEQUENCE_NUMBER"), 200)
        # (Another stream's number is not in the list: its shard 0 may share victim's
        # creation second, and sequence numbers cannot tell such shards apart.)
        for seq in ["0", "1", str(1 << 128), str(1 << 185), str(3 * 16 ** 46), "9" * 56, "9" * 129, self.seq1]:
            self.expect("GetShardIterator", iterator(seq), "InvalidArgumentException", seq[:20])
            self.expect("GetShardIterator", iterator(seq, "AFTER_SEQUENCE_NUMBER"), "InvalidArgumentException",
                        seq[:20])
        doc = self.expect("GetShardIterator", iterator(self.seq1), "InvalidArgumentException")
        self.assertEqual(doc["message"], "Invalid StartingSequenceNumber. It encodes shardId-000000000001, while "
                         "it was used in a call to a shard with shardId-000000000000")
        for seq in ["9" * 130, "-1", "01", "1.5", "1e5", ""]:
            self.expect("GetShardIterator", iterator(seq), "ValidationException", seq[:20])
        self.expect("GetShardIterator", iterator(self.seq0, "TRIM_HORIZON"), "InvalidArgumentException")

    def test_sequence_number_for_ordering(self):
        self.c.put(V, "ord", b"ordered", SequenceNumberForOrdering=self.seq0)
        self.c.put(V, "ord", b"ordered", SequenceNumberForOrdering=self.other_seq)  # another stream's: no effect
        for seq in ["0", "1", str(1 << 128), "9" * 129]:
            doc = self.expect("PutRecord", {"StreamName": V, "PartitionKey": "k", "Data": "",
                                            "SequenceNumberForOrdering": seq}, "InvalidArgumentException", seq[:20])
            self.assertIn("ExclusiveMinimumSequenceNumber %s used in PutRecord on stream %s under account %s is "
                          "invalid." % (seq, V, ACCOUNT), doc["message"])
        for seq in ["9" * 130, "-1", "01", ""]:
            self.expect("PutRecord", {"StreamName": V, "PartitionKey": "k", "Data": "",
                                      "SequenceNumberForOrdering": seq}, "ValidationException", seq[:20])


# --- 5. iterators and paging tokens ---------------------------------------------------------
class Tokens:
    """api/tokens.h's layout, signed with DIR/shoald.key: version(1) kind(1) issued_ms(i64)
    then the payload, then HMAC-SHA256 truncated to 16 bytes, all base64."""

    def __init__(self, key):
        self.key = key

    def seal(self, body):
        return b64(body + hmac.new(self.key, body, hashlib.sha256).digest()[:16])

    def open(self, token):
        raw = base64.b64decode(token)
        body, mac = raw[:-16], raw[-16:]
        assert hmac.compare_digest(mac, hmac.new(self.key, body, hashlib.sha256).digest()[:16]), "MAC mismatch"
        return body

    def iterator(self, stream, uid, shard, offset, issued_ms):
        s = stream.encode()
        return self.seal(struct.pack("<BBqQIQH", 1, 1, issued_ms, uid, shard, offset, len(s)) + s)

    def parse_iterator(self, token):
        body = self.open(token)
        v, kind, issued, uid, shard, offset, n = struct.unpack_from("<BBqQIQH", body)
        assert (v, kind) == (1, 1) and len(body) == struct.calcsize("<BBqQIQH") + n, body
        return dict(stream=body[-n:].decode() if n else "", uid=uid, shard=shard, offset=offset, issued_ms=issued)

    def page(self, stream, uid, last, filt, filt_ms, max_results, issued_ms):
        s = stream.encode()
        return self.seal(struct.pack("<BBqQIIqIH", 1, 2, issued_ms, uid, last, filt, filt_ms, max_results, len(s)) + s)


class IteratorsTest(HostileCase):
    @classmethod
    def prepare(cls):
        cls.c.create(V, shards=2)
        for i in range(3):
            cls.c.put(V, "k%d" % i, b"iterator record %d" % i, ExplicitHashKey="0")
        with open(os.path.join(cls.c.sandbox.data, "shoald.key"), "rb") as f:
            cls.tokens = Tokens(f.read().strip())
        cls.genuine = cls.c.ok("GetShardIterator", {"StreamName": V, "ShardId": "0",
                                                    "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
        cls.fields = cls.tokens.parse_iterator(cls.genuine)

    def now_ms(self):
        return int(time.time() * 1000)

    def forged(self, **over):
        f = dict(self.fields, issued_ms=self.now_ms())
        f.update(over)
        return self.tokens.iterator(f["stream"], f["uid"], f["shard"], f["offset"], f["issued_ms"])

    def get(self, it, want, what=""):
        return self.expect("GetRecords", {"ShardIterator": it}, want, what)

    def test_the_forger_matches_the_server(self):
        # Guards the rest of this class: a forged copy of a genuine iterator reads the same.
        self.assertEqual(self.fields["stream"], V)
        self.assertEqual(self.tokens.iterator(**{k: self.fields[k] for k in
                                                 ("stream", "uid", "shard", "offset", "issued_ms")}), self.genuine)
        a = self.get(self.genuine, 200)
        b = self.get(self.forged(), 200)
        self.assertEqual(a["Records"], b["Records"])
        self.assertEqual(len(a["Records"]), 3)

    def test_tampered_iterators(self):
        raw = base64.b64decode(self.genuine)
        for i in range(len(raw)):
            for bit in (0x01, 0x80):
                t = bytearray(raw)
                t[i] ^= bit
                doc = self.get(b64(bytes(t)), "InvalidArgumentException", "byte %d" % i)
                self.assertEqual(doc["message"], "Invalid ShardIterator.")
        for cut in range(1, len(self.genuine)):
            if cut < len(self.genuine):
                self.get(self.genuine[:cut], "InvalidArgumentException", "cut %d" % cut)
        variants = [self.genuine + "A", self.genuine + "====", "A" + self.genuine, self.genuine.lower(),
                    self.genuine.replace("+", "-").replace("/", "_") + ("" if "+" in self.genuine or "/" in self.genuine
                                                                       else "x"),
                    self.genuine[:10] + "\n" + self.genuine[10:], self.genuine[:10] + " " + self.genuine[10:],
                    self.genuine.rstrip("=") or "x", b64(raw[:-16]), b64(raw + b"\x00"), "=", "====",
                    "AAAA" * 128, self.c.ok("ListShards", {"StreamName": V, "MaxResults": 1})["NextToken"]]
        for v in variants:
            if v != self.genuine:
                self.get(v, "InvalidArgumentException", repr(v[:30]))
        self.get("A" * 513, "ValidationException")
        # An iterator where a paging token belongs.
        self.expect("ListShards", {"NextToken": self.genuine}, "InvalidArgumentException")
        self.expect("ListStreams", {"NextToken": self.genuine}, "InvalidArgumentException")

    def test_expired_and_future_iterators(self):
        doc = self.get(self.forged(issued_ms=self.now_ms() - 360000), "ExpiredIteratorException")
        self.assertRegex(doc["message"], r"^Iterator expired\. The iterator was created at time "
                                         r"\w{3} \w{3} \d\d \d\d:\d\d:\d\d UTC \d{4} while right now it is "
                                         r"\w{3} \w{3} \d\d \d\d:\d\d:\d\d UTC \d{4} which is further in the future "
                                         r"than the tolerated delay of 300000 milliseconds\.$")
        self.get(self.forged(issued_ms=self.now_ms() - 240000), 200)
        for issued in [1, 1000, -1, 0, -(1 << 63), (1 << 63) - 1, self.now_ms() + 3600000]:
            want = "ExpiredIteratorException" if 0 < issued < self.now_ms() else "InvalidArgumentException"
            self.get(self.forged(issued_ms=issued), want, str(issued))

    def test_signed_iterators_with_hostile_contents(self):
        rnf = "ResourceNotFoundException"
        for over in [dict(shard=2), dict(shard=(1 << 32) - 1), dict(shard=1 << 31), dict(uid=self.fields["uid"] ^ 1),
                     dict(uid=0), dict(stream="../" + V), dict(stream=V + "/.."), dict(stream="."),
                     dict(stream=""), dict(stream=V.upper()), dict(stream="a\x00b"), dict(stream="x" * 128)]:
            self.get(self.forged(**over), rnf, repr(over)[:60])
        for offset in [3, 4, 1 << 32, (1 << 63) - 1, (1 << 64) - 1]:
            doc = self.get(self.forged(offset=offset), 200, str(offset))
            self.assertEqual(doc["Records"], [])
            self.assertEqual(self.tokens.parse_iterator(doc["NextShardIterator"])["offset"], offset)
        doc = self.get(self.forged(offset=2), 200)
        self.assertEqual([base64.b64decode(r["Data"]) for r in doc["Records"]], [b"iterator record 2"])
        self.get(self.forged(stream="x" * 400), "ValidationException")  # longer than 512 characters

    def test_iterator_of_a_recreated_stream(self):
        self.c.create("phoenix", shards=1, ledgered=False)
        it = self.c.ok("GetShardIterator", {"StreamName": "phoenix", "ShardId": "0",
                                            "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
        self.c.ok("DeleteStream", {"StreamName": "phoenix"})
        self.get(it, "ResourceNotFoundException")
        self.c.create("phoenix", shards=1, ledgered=False)
        doc = self.get(it, "ResourceNotFoundException")
        self.assertEqual(doc["message"], "Shard shardId-000000000000 in stream phoenix under account %s does not "
                         "exist" % ACCOUNT)
        self.c.ok("DeleteStream", {"StreamName": "phoenix"})

    def test_paging_tokens(self):
        uid = self.fields["uid"]
        page = self.tokens.page
        self.expect("ListShards", {"NextToken": page(V, uid, 0, 0, 0, 1, self.now_ms() - 360000)},
                    "ExpiredNextTokenException")
        self.expect("ListStreams", {"NextToken": page("a", 0, 0, 0xffffffff, 0, 0, self.now_ms() - 360000)},
                    "ExpiredNextTokenException")
        for filt in [7, 99, 0xfffffffe]:
            self.expect("ListShards", {"NextToken": page(V, uid, 0, filt, 0, 1, self.now_ms())},
                        "InvalidArgumentException", str(filt))
        doc = self.expect("ListShards", {"NextToken": page(V, uid, 0xffffffff, 0, 0, 0xffffffff, self.now_ms())}, 200)
        self.assertEqual(doc["Shards"], [])
        self.expect("ListShards", {"NextToken": page("../" + V, uid, 0, 0, 0, 1, self.now_ms())},
                    "ResourceNotFoundException")
        doc = self.expect("ListStreams", {"NextToken": page("\x00", 0, 0, 0xffffffff, 0, 0, self.now_ms())}, 200)
        self.assertIn(V, doc["StreamNames"])
        good = self.c.ok("ListShards", {"StreamName": V, "MaxResults": 1})["NextToken"]
        raw = bytearray(base64.b64decode(good))
        raw[5] ^= 1
        self.expect("ListShards", {"NextToken": b64(bytes(raw))}, "InvalidArgumentException")
        self.expect("ListShards", {"NextToken": "x" * 1048577}, "ValidationException")


# --- 6. connections -------------------------------------------------------------------------
IDLE_MS = 2000
REQUEST_MS = 3000
CAP = 1 << 20


def raise_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class ConnectionsTest(HostileCase):
    server_args = ("--idle-timeout-ms", str(IDLE_MS), "--request-timeout-ms", str(REQUEST_MS),
                   "--max-body-bytes", str(CAP))

    @classmethod
    def prepare(cls):
        cls.c.create(V, shards=1)
        cls.c.put(V, "conn", b"before the flood")

    def served_meanwhile(self, tag):
        c = Client(self.c.port)
        try:
            for i in range(10):
                status, etype, doc = c.call("PutRecord", {"StreamName": V, "PartitionKey": tag, "Data": b64(tag)})
                self.assertEqual(status, 200, (tag, etype, doc))
                self.c.record_put(V, doc, tag, tag.encode())
        finally:
            c.close()

    def test_thousands_of_idle_connections(self):
        limit = raise_fd_limit(4200)
        n = min(3000, limit - 300)
        self.assertGreaterEqual(n, 1000, "file descriptor limit too low for this test")
        held = []
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", self.c.port), timeout=10)
            if i % 3 == 1:
                s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # headers begun, never finished
            held.append(s)
        self.served_meanwhile("beside-%d-idle" % n)
        # The server times every one of them out by itself (idle, or the request timeout for
        # the begun requests) ...
        deadline = time.monotonic() + (IDLE_MS + REQUEST_MS) / 1000 + EVENTUALLY_S
        for s in held:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                self.assertEqual(s.recv(100), b"", "a held connection got data")
            except ConnectionResetError:
                pass
            except socket.timeout:
                self.fail("shoald never closed an idle connection")
        for s in held:
            s.close()
        # ... and then serves as before; tearDown checks descriptors and memory came back.
        self.served_meanwhile("after-idle")

    def test_connections_closed_by_clients_release_everything(self):
        raise_fd_limit(4200)
        for round_ in range(2):
            held = [socket.create_connection(("127.0.0.1", self.c.port), timeout=10) for _ in range(1000)]
            self.served_meanwhile("round-%d" % round_)
            for i, s in enumerate(held):
                if i % 2:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
            self.c.wait_for("descriptors back", lambda: self.c.fds() <= self.c.baseline_fds + 8)

    def test_slow_loris_headers_and_bodies(self):
        body = json.dumps({"StreamName": V, "PartitionKey": "slow", "Data": b64("never acknowledged")}).encode()
        full = proto.request_bytes("PutRecord", body)
        head_len = full.index(b"\r\n\r\n") + 4
        slow = []
        for i in range(300):
            s = socket.create_connection(("127.0.0.1", self.c.port), timeout=10)
            s.sendall(full[:head_len - 10] if i % 2 else full[:head_len + 5])  # in the headers / in the body
            slow.append([s, head_len - 10 if i % 2 else head_len + 5, False])
        t0 = time.monotonic()
        closed = 0
        while closed < len(slow) and time.monotonic() - t0 < REQUEST_MS / 1000 + EVENTUALLY_S:
            for entry in slow:
                s, pos, done = entry
                if done:
                    continue
                try:
                    s.settimeout(10)
                    if pos < len(full) - 1:  # never the last byte: the request must not complete
                        s.sendall(full[pos:pos + 1])
                        entry[1] = pos + 1
                except (BrokenPipeError, ConnectionResetError):
                    entry[2] = True
                    closed += 1
            self.served_meanwhile("beside-slow-%d" % closed)
            for entry in slow:
                if not entry[2]:
                    entry[0].settimeout(0.001)
                    try:
                        if entry[0].recv(100) == b"":
                            entry[2] = True
                            closed += 1
                    except ConnectionResetError:
                        entry[2] = True
                        closed += 1
                    except (socket.timeout, BlockingIOError):
                        pass
            time.sleep(0.3)
        self.assertEqual(closed, len(slow), "trickling connections never cut off")
        for entry in slow:
            entry[0].close()

    def test_slow_readers(self):
        # Responses far larger than the socket buffers (tcp_wmem tops out at 4 MiB) to
        # clients that do not read: the writes cannot finish, so each is cut off at the
        # request timeout, and its response freed.
        self.c.create("bulk", shards=1)
        for i in range(12):  # 700 KiB each: under the 1 MiB body cap once in base64
            self.c.put("bulk", "big%d" % i, bytes([65 + i]) * (700 << 10))
        it = self.c.ok("GetShardIterator", {"StreamName": "bulk", "ShardId": "0",
                                            "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
        req = proto.request_bytes("GetRecords", json.dumps({"ShardIterator": it}).encode())
        full = len(self.c.client.raw("GetRecords", json.dumps({"ShardIterator": it}).encode())[2])
        self.assertGreater(full, 8 << 20)
        readers = []
        for i in range(10):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", self.c.port))
            s.sendall(req)
            readers.append(s)
        self.served_meanwhile("beside-slow-readers")
        # Read nothing until shoald has closed all ten (its socket count is back down): the
        # responses cannot have been written by then, the buffers hold a third of one.
        self.c.wait_for("shoald closing the non-draining connections",
                        lambda: self.c.fds() <= self.c.baseline_fds + 8)
        for s in readers:
            s.settimeout(EVENTUALLY_S)
            got = b""
            try:
                while True:
                    chunk = s.recv(1 << 20)
                    if not chunk:
                        break
                    got += chunk
            except ConnectionResetError:
                pass
            except socket.timeout:
                self.fail("shoald kept a non-draining connection open")
            s.close()
            self.assertTrue(got.startswith(b"HTTP/1.1 200 "), got[:100])
            body = got.split(b"\r\n\r\n", 1)[1]
            self.assertLess(len(body), full, "the whole response was delivered to a reader that did not read")

    def endless(self, prefix, piece, want_status):
        c = proto.RawConn(self.c.port, timeout=REQUEST_MS / 1000 + EVENTUALLY_S)
        c.send(prefix)
        stop = threading.Event()

        def pump():
            try:
                while not stop.is_set():
                    c.sock.sendall(piece)
            except OSError:
                pass

        t = threading.Thread(target=pump, daemon=True)
        t.start()
        try:
            try:
                r = c.read_response()
            except (EOFError, ConnectionResetError) as e:
                self.fail("no %d response to %r...: %r\n%s" % (want_status, prefix[-40:], e, self.c.server.log()))
            self.assertEqual(r.status, want_status, (prefix[-40:], r))
            self.assertTrue(r.header("x-amzn-requestid"), r)
            self.assertTrue(c.at_eof(REQUEST_MS / 1000 + EVENTUALLY_S), "not closed after %d" % want_status)
        finally:
            stop.set()
            c.close()
            t.join(10)

    def test_endless_bodies_headers_and_framing(self):
        chunked_head = proto.request_bytes("ListStreams", b"", extra=["Transfer-Encoding: chunked"])
        cases = [
            # An endless chunked body is cut off at the body cap (spec §1.3 step 1).
            (chunked_head, b"10000\r\n" + b" " * 0x10000 + b"\r\n", 413),
            # An endless Content-Length body, the cap announced: 413 before the body.
            (proto.request_bytes("ListStreams", b"", extra=["Content-Length: %d" % (CAP * 100)]), b" " * 65536, 413),
            # One endless chunk-size line, chunk extensions, trailers, a header.
            (chunked_head + b"2;", b"a" * 65536, 400),
            (chunked_head + b"2;", b"name=value;" * 5000, 400),
            (chunked_head + b"2\r\n{}\r\n0\r\nX-Trailer: ", b"t" * 65536, 400),
            (chunked_head + b"2\r\n{}\r\n0\r\n", b"X-T: v\r\n" * 8000, 400),
            (chunked_head.replace(b"\r\n\r\n", b"\r\nX-Endless: "), b"h" * 65536, 431),
            (chunked_head.replace(b"\r\n\r\n", b"\r\n"), b"X-Many: header\r\n" * 4000, 431),
            (b"POST /" + b"p" * 1000, b"p" * 65536, 431),
        ]
        for prefix, piece, want in cases:
            self.endless(prefix, piece, want)
        self.served_meanwhile("after-endless")

    def test_lengths_past_sixty_four_bits(self):
        head = b"POST / HTTP/1.1\r\nX-Amz-Target: Kinesis_20131202.ListStreams\r\nContent-Type: " + JSON.encode()
        chunked = proto.request_bytes("ListStreams", b"", extra=["Transfer-Encoding: chunked"])
        cases = [(head + b"\r\nContent-Length: %s\r\n\r\n{}" % cl, want) for cl, want in [
            (b"18446744073709551616", 400), (b"99999999999999999999999999", 400), (b"-1", 400),
            (b"1e3", 400), (b"0x10", 400), (b"18446744073709551615", 413), (b"9223372036854775808", 413),
            (b"2147483648", 413), (b"4294967296", 413)]]
        cases += [(chunked + size + b"\r\n{}\r\n0\r\n\r\n", want) for size, want in [
            (b"ffffffffffffffffffff", 400), (b"10000000000000000", 400), (b"-1", 400), (b"0x2", 400),
            (b"8000000000000000", 413), (b"ffffffffffffffff", 413), (b"100000000", 413)]]
        for data, want in cases:
            c = proto.RawConn(self.c.port)
            c.send(data)
            r = c.read_response()
            self.assertEqual(r.status, want, (data[-60:], r))
            self.assertTrue(c.at_eof(), data[-60:])
            c.close()


# --- 7. memory under a burst of maximum-size bodies ----------------------------------------
class BigBodiesTest(HostileCase):
    # Default 16 MiB cap. Documents of small tokens make simdjson size its buffers at ~14
    # bytes per body byte; the service's parser pool must not keep a burst's worth.
    rss_slack_mb = 400

    @classmethod
    def prepare(cls):
        cls.c.create(V, shards=1)
        cls.c.put(V, "big", b"before the big bodies")

    def test_concurrent_big_bodies_do_not_stay_resident(self):
        body = b'{"Ignored":[' + b"0," * (4 << 20) + b'0]}'  # 8 MiB, 4 Mi tokens
        errors = []

        def one():
            c = Client(self.c.port)
            try:
                status, etype, doc = c.call("ListStreams", body, timeout=300)
                if status != 200:
                    errors.append((status, etype))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
            finally:
                c.close()

        for round_ in range(2):
            threads = [threading.Thread(target=one) for _ in range(12)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(600)
            self.assertEqual(errors, [])
            self.c.check(self)  # memory back under baseline + 400 MB, data intact


if __name__ == "__main__":
    h.init_from_argv()
    h.run_tests()
