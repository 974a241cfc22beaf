#!/usr/bin/env python3
"""boto3 against shoald: every operation of the Kinesis API layer, the paginators, a
consumer that follows ChildShards across a split and a merge, the error types clients
catch (client.exceptions.X), state transitions with delays, throughput emulation, and
durability across kill -9.

    python3 test_boto3.py PATH/TO/shoald

Exit code 77 (CTest: skipped) when boto3 is not installed.
"""
import base64
import datetime
import os
import threading
import time
import unittest

import shoald_harness as h

try:
    import boto3  # noqa: F401
    import botocore
    from botocore.exceptions import ClientError
except ImportError:  # pragma: no cover
    print("boto3 is not installed; skipping")
    raise SystemExit(77)

MAX_HASH = 2**128 - 1
SHARD_LIMIT = 60


def shard_id(i):
    return "shardId-%012d" % i


def read_shard(client, stream, shard, iterator_type="TRIM_HORIZON", max_calls=200, **kw):
    """Reads a shard like a simple consumer: follows NextShardIterator until a closed shard
    ends (no NextShardIterator) or an open one is caught up. Returns (records, child_shards,
    ended)."""
    it = client.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType=iterator_type,
                                   **kw)["ShardIterator"]
    records, children = [], []
    for _ in range(max_calls):
        r = client.get_records(ShardIterator=it)
        records += r["Records"]
        if r.get("ChildShards"):
            children = r["ChildShards"]
        it = r.get("NextShardIterator")
        if it is None:
            return records, children, True
        if not r["Records"] and r.get("MillisBehindLatest", 0) == 0:
            return records, children, False
    raise AssertionError("shard %s: no end after %d GetRecords calls" % (shard, max_calls))


class KinesisCase(unittest.TestCase):
    server_args = []
    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = h.Shoald(cls.server_args).start()
        cls.client = h.boto3_client(cls.server.endpoint)
        # For server-side checks of constraints botocore would otherwise refuse to send.
        cls.raw_client = h.boto3_client(cls.server.endpoint, parameter_validation=False)
        cls.ex = cls.client.exceptions

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            cls.server.cleanup()

    def tearDown(self):
        self.assertTrue(self.server.running(), "shoald died\n" + self.server.log())

    def create(self, name, shards=1, **kw):
        if shards is not None:
            kw["ShardCount"] = shards
        self.client.create_stream(StreamName=name, **kw)
        self.client.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})

    def delete(self, name):
        self.client.delete_stream(StreamName=name)
        self.client.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})

    def wait_active(self, name, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
            if s["StreamStatus"] == "ACTIVE":
                return s
            time.sleep(0.1)
        self.fail("stream %s not ACTIVE after %ss" % (name, timeout))

    def assertRaisesType(self, exc_name, fn, *args, **kw):
        """Calls fn and checks it raised client.exceptions.<exc_name> (the modeled class
        when botocore has one, else a ClientError with that code)."""
        cls = getattr(self.ex, exc_name, None)
        try:
            fn(*args, **kw)
        except ClientError as e:
            code = e.response["Error"]["Code"]
            self.assertEqual(code, exc_name, "expected %s, got %s: %s" % (exc_name, code, e))
            if cls is not None:
                self.assertIsInstance(e, cls)
            return e
        self.fail("expected %s from %s(%s)" % (exc_name, getattr(fn, "__name__", fn), kw))

    def has_member(self, op, member):
        return member in self.client.meta.service_model.operation_model(op).input_shape.members


class StreamLifecycleTest(KinesisCase):
    server_args = ["--shard-limit", str(SHARD_LIMIT)]

    def test_create_describe_delete(self):
        self.create("life", 3)
        d = self.client.describe_stream(StreamName="life")["StreamDescription"]
        self.assertEqual(d["StreamName"], "life")
        self.assertEqual(d["StreamARN"], "arn:aws:kinesis:us-east-1:000000000000:stream/life")
        self.assertEqual(d["StreamStatus"], "ACTIVE")
        self.assertEqual(d["RetentionPeriodHours"], 24)
        self.assertFalse(d["HasMoreShards"])
        self.assertIsInstance(d["StreamCreationTimestamp"], datetime.datetime)
        self.assertIn("EnhancedMonitoring", d)
        self.assertEqual(d.get("EncryptionType", "NONE"), "NONE")
        shards = d["Shards"]
        self.assertEqual([s["ShardId"] for s in shards], [shard_id(i) for i in range(3)])
        # The hash ranges tile [0, 2^128-1].
        nxt = 0
        for s in shards:
            self.assertEqual(int(s["HashKeyRange"]["StartingHashKey"]), nxt)
            nxt = int(s["HashKeyRange"]["EndingHashKey"]) + 1
            self.assertNotIn("EndingSequenceNumber", s["SequenceNumberRange"])
        self.assertEqual(nxt, 2**128)

        s = self.client.describe_stream_summary(StreamName="life")["StreamDescriptionSummary"]
        self.assertEqual(s["OpenShardCount"], 3)
        self.assertEqual(s["StreamStatus"], "ACTIVE")
        self.assertEqual(s["StreamModeDetails"]["StreamMode"], "PROVISIONED")
        self.assertEqual(s.get("ConsumerCount", 0), 0)

        self.assertRaisesType("ResourceInUseException", self.client.create_stream, StreamName="life", ShardCount=1)
        self.delete("life")
        self.assertRaisesType("ResourceNotFoundException", self.client.describe_stream, StreamName="life")
        self.assertRaisesType("ResourceNotFoundException", self.client.describe_stream_summary, StreamName="life")
        self.assertRaisesType("ResourceNotFoundException", self.client.delete_stream, StreamName="life")

    def test_create_errors(self):
        self.assertRaisesType("ValidationException", self.client.create_stream, StreamName="bad name!", ShardCount=1)
        self.assertRaisesType("ValidationException", self.client.create_stream, StreamName="n" * 129, ShardCount=1)
        self.assertRaisesType("ValidationException", self.client.create_stream, StreamName="big", ShardCount=100001)
        self.assertRaisesType("ValidationException", self.raw_client.create_stream, StreamName="zero", ShardCount=0)
        self.assertRaisesType("ValidationException", self.raw_client.create_stream, StreamName="", ShardCount=1)
        self.assertRaisesType("InvalidArgumentException", self.client.create_stream, StreamName="od", ShardCount=2,
                              StreamModeDetails={"StreamMode": "ON_DEMAND"})
        self.assertRaisesType("LimitExceededException", self.client.create_stream, StreamName="toomany",
                              ShardCount=SHARD_LIMIT + 1)
        # Nothing of the failed creates exists.
        names = self.client.list_streams()["StreamNames"]
        for n in ["bad name!", "big", "zero", "od", "toomany"]:
            self.assertNotIn(n, names)

    def test_on_demand(self):
        self.create("ondemand", None, StreamModeDetails={"StreamMode": "ON_DEMAND"})
        s = self.client.describe_stream_summary(StreamName="ondemand")["StreamDescriptionSummary"]
        self.assertEqual(s["StreamModeDetails"]["StreamMode"], "ON_DEMAND")
        self.assertGreaterEqual(s["OpenShardCount"], 1)
        for fn, kw in [(self.client.split_shard, dict(ShardToSplit=shard_id(0), NewStartingHashKey=str(2**100))),
                       (self.client.merge_shards, dict(ShardToMerge=shard_id(0), AdjacentShardToMerge=shard_id(1))),
                       (self.client.update_shard_count, dict(TargetShardCount=8, ScalingType="UNIFORM_SCALING"))]:
            self.assertRaisesType("ValidationException", fn, StreamName="ondemand", **kw)
        self.delete("ondemand")

    def test_describe_stream_paging(self):
        self.create("paged", 5)
        r = self.client.describe_stream(StreamName="paged", Limit=2)["StreamDescription"]
        self.assertEqual([s["ShardId"] for s in r["Shards"]], [shard_id(0), shard_id(1)])
        self.assertTrue(r["HasMoreShards"])
        r = self.client.describe_stream(StreamName="paged", ExclusiveStartShardId=shard_id(3))["StreamDescription"]
        self.assertEqual([s["ShardId"] for s in r["Shards"]], [shard_id(4)])
        self.assertFalse(r["HasMoreShards"])
        pages = list(self.client.get_paginator("describe_stream").paginate(
            StreamName="paged", PaginationConfig={"PageSize": 2}))
        self.assertEqual(len(pages), 3)
        ids = [s["ShardId"] for p in pages for s in p["StreamDescription"]["Shards"]]
        self.assertEqual(ids, [shard_id(i) for i in range(5)])
        self.assertRaisesType("ValidationException", self.client.describe_stream, StreamName="paged", Limit=10001)
        self.delete("paged")

    def test_list_streams_paginator(self):
        names = ["ls-%s" % c for c in "edcba"]
        for n in names:
            self.create(n, 1)
        all_names = self.client.list_streams()["StreamNames"]
        self.assertEqual(all_names, sorted(all_names))
        self.assertTrue(set(names) <= set(all_names))
        r = self.client.list_streams(Limit=2)
        self.assertEqual(len(r["StreamNames"]), 2)
        self.assertTrue(r["HasMoreStreams"])
        r = self.client.list_streams(ExclusiveStartStreamName="ls-c")
        self.assertEqual([n for n in r["StreamNames"] if n.startswith("ls-")], ["ls-d", "ls-e"])
        pages = list(self.client.get_paginator("list_streams").paginate(PaginationConfig={"PageSize": 2}))
        self.assertGreaterEqual(len(pages), 3)
        paged = [n for p in pages for n in p["StreamNames"]]
        self.assertEqual(paged, all_names)
        if "StreamSummaries" in r:
            self.assertEqual([s["StreamName"] for s in r["StreamSummaries"]], r["StreamNames"])
        self.assertRaisesType("ValidationException", self.client.list_streams, Limit=10001)
        if self.has_member("ListStreams", "NextToken"):
            try:
                self.client.list_streams(NextToken="bm90IGEgdG9rZW4=")
                self.fail("garbage NextToken accepted")
            except ClientError as e:
                self.assertIn(e.response["Error"]["Code"], ("InvalidArgumentException", "ExpiredNextTokenException"))
        for n in names:
            self.delete(n)

    def test_describe_limits(self):
        self.create("lim-a", 2)
        self.create("lim-b", 3)
        r = self.client.describe_limits()
        self.assertEqual(r["ShardLimit"], SHARD_LIMIT)
        open_shards = 0
        for n in self.client.list_streams()["StreamNames"]:
            open_shards += self.client.describe_stream_summary(StreamName=n)["StreamDescriptionSummary"]["OpenShardCount"]
        self.assertEqual(r["OpenShardCount"], open_shards)
        self.assertIn("OnDemandStreamCount", r)
        self.assertIn("OnDemandStreamCountLimit", r)
        self.delete("lim-a")
        self.delete("lim-b")

    def test_retention(self):
        self.create("ret", 1)
        self.client.increase_stream_retention_period(StreamName="ret", RetentionPeriodHours=48)
        self.assertEqual(self.client.describe_stream_summary(StreamName="ret")["StreamDescriptionSummary"]
                         ["RetentionPeriodHours"], 48)
        self.assertRaisesType("InvalidArgumentException", self.client.increase_stream_retention_period,
                              StreamName="ret", RetentionPeriodHours=30)  # shorter than current
        self.assertRaisesType("InvalidArgumentException", self.client.decrease_stream_retention_period,
                              StreamName="ret", RetentionPeriodHours=100)  # longer than current
        self.assertRaisesType("InvalidArgumentException", self.client.decrease_stream_retention_period,
                              StreamName="ret", RetentionPeriodHours=10)  # below 24
        self.assertRaisesType("InvalidArgumentException", self.client.increase_stream_retention_period,
                              StreamName="ret", RetentionPeriodHours=8761)  # above 8760
        self.client.decrease_stream_retention_period(StreamName="ret", RetentionPeriodHours=24)
        self.assertEqual(self.client.describe_stream(StreamName="ret")["StreamDescription"]["RetentionPeriodHours"], 24)
        self.assertRaisesType("ResourceNotFoundException", self.client.increase_stream_retention_period,
                              StreamName="nope", RetentionPeriodHours=48)
        self.delete("ret")

    def test_tags(self):
        self.create("tagged", 1)
        self.client.add_tags_to_stream(StreamName="tagged", Tags={"b": "2", "a": "1"})
        r = self.client.list_tags_for_stream(StreamName="tagged")
        self.assertEqual(r["Tags"], [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
        self.assertFalse(r["HasMoreTags"])
        self.client.add_tags_to_stream(StreamName="tagged", Tags={"a": "one", "c": "", "d": "4", "e": "5"})
        r = self.client.list_tags_for_stream(StreamName="tagged", Limit=2)
        self.assertEqual(r["Tags"], [{"Key": "a", "Value": "one"}, {"Key": "b", "Value": "2"}])
        self.assertTrue(r["HasMoreTags"])
        r = self.client.list_tags_for_stream(StreamName="tagged", ExclusiveStartTagKey="c")
        self.assertEqual([t["Key"] for t in r["Tags"]], ["d", "e"])
        self.client.remove_tags_from_stream(StreamName="tagged", TagKeys=["a", "nonexistent"])
        r = self.client.list_tags_for_stream(StreamName="tagged")
        self.assertEqual([t["Key"] for t in r["Tags"]], ["b", "c", "d", "e"])
        # Errors.
        self.assertRaisesType("InvalidArgumentException", self.client.add_tags_to_stream, StreamName="tagged",
                              Tags={"bad#key": "v"})
        for batch in range(4):  # 4 + 4*10 = 44 keys
            self.client.add_tags_to_stream(StreamName="tagged", Tags={"k%d-%d" % (batch, i): "v" for i in range(10)})
        self.client.add_tags_to_stream(StreamName="tagged", Tags={"x%d" % i: "v" for i in range(6)})  # 50
        self.assertRaisesType("InvalidArgumentException", self.client.add_tags_to_stream, StreamName="tagged",
                              Tags={"one-too-many": "v"})
        self.assertEqual(len(self.client.list_tags_for_stream(StreamName="tagged")["Tags"]), 50)
        self.assertRaisesType("ValidationException", self.client.list_tags_for_stream, StreamName="tagged", Limit=51)
        self.assertRaisesType("ValidationException", self.client.remove_tags_from_stream, StreamName="tagged",
                              TagKeys=["k%d" % i for i in range(51)])
        # A 129-character key breaks the model's TagKey constraint (max 128). The spec (§3.15)
        # lists the length next to the InvalidArgumentException character rule, while the
        # model order (§1.3 step 10) makes it a ValidationException: accept either.
        for tags in ({"k" * 129: "v"}, {"k": "v" * 257}):
            try:
                self.client.add_tags_to_stream(StreamName="tagged", Tags=tags)
                self.fail("oversized tag accepted")
            except ClientError as e:
                self.assertIn(e.response["Error"]["Code"], ("ValidationException", "InvalidArgumentException"))
        for fn, kw in [(self.client.add_tags_to_stream, {"Tags": {"a": "b"}}),
                       (self.client.remove_tags_from_stream, {"TagKeys": ["a"]}),
                       (self.client.list_tags_for_stream, {})]:
            self.assertRaisesType("ResourceNotFoundException", fn, StreamName="nope", **kw)
        self.delete("tagged")

    def test_stream_arn_addressing(self):
        if not self.has_member("DescribeStreamSummary", "StreamARN"):
            self.skipTest("this botocore's model has no StreamARN members")
        self.create("byarn", 1)
        arn = "arn:aws:kinesis:us-east-1:000000000000:stream/byarn"
        s = self.client.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]
        self.assertEqual(s["StreamName"], "byarn")
        put = self.client.put_record(StreamARN=arn, PartitionKey="p", Data=b"x")
        self.assertEqual(put["ShardId"], shard_id(0))
        self.assertRaisesType("ResourceNotFoundException", self.client.describe_stream_summary,
                              StreamARN="arn:aws:kinesis:us-east-1:000000000000:stream/nope")
        self.assertRaisesType("InvalidArgumentException", self.client.describe_stream_summary,
                              StreamARN=arn, StreamName="other")
        self.delete("byarn")


class ShardsAndDataTest(KinesisCase):
    server_args = ["--shard-limit", str(SHARD_LIMIT)]

    def test_put_and_get_records(self):
        c = self.client
        self.create("data", 2)
        p = c.put_record(StreamName="data", PartitionKey="order-1002", Data=b'{"id":1002,"amount":7.25}')
        self.assertEqual(p["ShardId"], shard_id(0))  # spec §3.7 example
        self.assertTrue(p["SequenceNumber"].isdigit())
        r = c.put_records(StreamName="data", Records=[
            {"Data": b"hello", "PartitionKey": "user-42"},
            {"Data": b"ping", "PartitionKey": "partitionKey1"},
            {"Data": bytes(range(256)), "PartitionKey": "binary", "ExplicitHashKey": "0"},
            {"Data": b"", "PartitionKey": "empty", "ExplicitHashKey": str(MAX_HASH)},
        ])
        self.assertEqual(r["FailedRecordCount"], 0)
        self.assertEqual([x["ShardId"] for x in r["Records"]], [shard_id(0), shard_id(1), shard_id(0), shard_id(1)])
        seqs = [p["SequenceNumber"]] + [x["SequenceNumber"] for x in r["Records"]]
        self.assertLess(int(seqs[0]), int(seqs[1]))
        self.assertLess(int(seqs[1]), int(seqs[3]))  # same shard, request order
        p2 = c.put_record(StreamName="data", PartitionKey="order-1002", Data=b"later",
                          SequenceNumberForOrdering=p["SequenceNumber"])
        self.assertGreater(int(p2["SequenceNumber"]), int(p["SequenceNumber"]))

        # TRIM_HORIZON: everything in shard 0, in order.
        recs, _, ended = read_shard(c, "data", shard_id(0))
        self.assertFalse(ended)
        self.assertEqual([x["PartitionKey"] for x in recs], ["order-1002", "user-42", "binary", "order-1002"])
        self.assertEqual(recs[0]["Data"], b'{"id":1002,"amount":7.25}')
        self.assertEqual(recs[2]["Data"], bytes(range(256)))
        self.assertIsInstance(recs[0]["ApproximateArrivalTimestamp"], datetime.datetime)
        self.assertEqual([x["SequenceNumber"] for x in recs], sorted((x["SequenceNumber"] for x in recs), key=int))
        recs1, _, _ = read_shard(c, "data", shard_id(1))
        self.assertEqual([x["Data"] for x in recs1], [b"ping", b""])

        # Limit and NextShardIterator.
        it = c.get_shard_iterator(StreamName="data", ShardId=shard_id(0), ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        g = c.get_records(ShardIterator=it, Limit=1)
        self.assertEqual(len(g["Records"]), 1)
        self.assertGreater(g["MillisBehindLatest"], -1)
        g = c.get_records(ShardIterator=g["NextShardIterator"], Limit=2)
        self.assertEqual([x["PartitionKey"] for x in g["Records"]], ["user-42", "binary"])
        # An iterator can be reused.
        self.assertEqual(len(c.get_records(ShardIterator=it, Limit=1)["Records"]), 1)

        # AT_SEQUENCE_NUMBER / AFTER_SEQUENCE_NUMBER.
        at, _, _ = read_shard(c, "data", shard_id(0), "AT_SEQUENCE_NUMBER", StartingSequenceNumber=recs[1]["SequenceNumber"])
        self.assertEqual([x["PartitionKey"] for x in at], ["user-42", "binary", "order-1002"])
        after, _, _ = read_shard(c, "data", shard_id(0), "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=recs[1]["SequenceNumber"])
        self.assertEqual([x["PartitionKey"] for x in after], ["binary", "order-1002"])

        # AT_TIMESTAMP: before the first record → all; now → nothing yet.
        first_ts = recs[0]["ApproximateArrivalTimestamp"]
        ts, _, _ = read_shard(c, "data", shard_id(0), "AT_TIMESTAMP", Timestamp=first_ts - datetime.timedelta(seconds=5))
        self.assertEqual(len(ts), 4)
        time.sleep(1.1)  # botocore sends whole seconds: make "now" land after the last record's second
        ts, _, _ = read_shard(c, "data", shard_id(0), "AT_TIMESTAMP", Timestamp=datetime.datetime.now(datetime.timezone.utc))
        self.assertEqual(ts, [])

        # LATEST sees only what comes after it.
        it = c.get_shard_iterator(StreamName="data", ShardId=shard_id(0), ShardIteratorType="LATEST")["ShardIterator"]
        g = c.get_records(ShardIterator=it)
        self.assertEqual(g["Records"], [])
        c.put_record(StreamName="data", PartitionKey="user-42", Data=b"new")
        g = c.get_records(ShardIterator=g["NextShardIterator"])
        self.assertEqual([x["Data"] for x in g["Records"]], [b"new"])

        # Lenient shard ids (spec §1.10).
        for sid in ["shardId-0", "0", "shard-000000000000"]:
            recs_l, _, _ = read_shard(c, "data", sid)
            self.assertEqual(len(recs_l), 5, sid)
        self.delete("data")

    def test_data_plane_errors(self):
        c = self.client
        self.create("derr", 2)
        RNF, IAE, VE = "ResourceNotFoundException", "InvalidArgumentException", "ValidationException"
        # PutRecord
        self.assertRaisesType(RNF, c.put_record, StreamName="nope", PartitionKey="k", Data=b"x")
        self.assertRaisesType(IAE, c.put_record, StreamName="derr", PartitionKey="k", Data=b"x",
                              ExplicitHashKey=str(2**128))
        self.assertRaisesType(VE, c.put_record, StreamName="derr", PartitionKey="k", Data=b"x", ExplicitHashKey="12a")
        self.assertRaisesType(VE, c.put_record, StreamName="derr", PartitionKey="k" * 257, Data=b"x")
        self.assertRaisesType(VE, self.raw_client.put_record, StreamName="derr", PartitionKey="", Data=b"x")
        self.assertRaisesType(IAE, c.put_record, StreamName="derr", PartitionKey="k", Data=b"x" * (1 << 20))  # + key > 1 MiB
        c.put_record(StreamName="derr", PartitionKey="k", Data=b"x" * ((1 << 20) - 1))  # exactly 1 MiB with the key
        # PutRecords
        self.assertRaisesType(RNF, c.put_records, StreamName="nope", Records=[{"PartitionKey": "k", "Data": b"x"}])
        self.assertRaisesType(VE, c.put_records, StreamName="derr",
                              Records=[{"PartitionKey": "k", "Data": b"x"}] * 501)
        self.assertRaisesType(VE, self.raw_client.put_records, StreamName="derr", Records=[])
        self.assertRaisesType(IAE, c.put_records, StreamName="derr", Records=[
            {"PartitionKey": "k", "Data": b"ok"}, {"PartitionKey": "k", "Data": b"x", "ExplicitHashKey": str(2**128)}])
        self.assertRaisesType(IAE, c.put_records, StreamName="derr",
                              Records=[{"PartitionKey": "k%d" % i, "Data": b"x" * 1000000} for i in range(6)])  # > 5 MiB
        # Whole-request failures stored nothing.
        recs = read_shard(c, "derr", shard_id(0))[0] + read_shard(c, "derr", shard_id(1))[0]
        self.assertEqual(len(recs), 1)
        # GetShardIterator
        gsi = c.get_shard_iterator
        self.assertRaisesType(RNF, gsi, StreamName="nope", ShardId=shard_id(0), ShardIteratorType="LATEST")
        self.assertRaisesType(RNF, gsi, StreamName="derr", ShardId=shard_id(9), ShardIteratorType="LATEST")
        self.assertRaisesType(RNF, gsi, StreamName="derr", ShardId="shardId-abc", ShardIteratorType="LATEST")
        self.assertRaisesType(IAE, gsi, StreamName="derr", ShardId=shard_id(0), ShardIteratorType="AT_SEQUENCE_NUMBER")
        self.assertRaisesType(IAE, gsi, StreamName="derr", ShardId=shard_id(0), ShardIteratorType="TRIM_HORIZON",
                              StartingSequenceNumber=recs[0]["SequenceNumber"])
        self.assertRaisesType(IAE, gsi, StreamName="derr", ShardId=shard_id(0), ShardIteratorType="AT_TIMESTAMP")
        self.assertRaisesType(IAE, gsi, StreamName="derr", ShardId=shard_id(0), ShardIteratorType="AT_TIMESTAMP",
                              Timestamp=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))
        self.assertRaisesType(IAE, gsi, StreamName="derr", ShardId=shard_id(0), ShardIteratorType="AT_SEQUENCE_NUMBER",
                              StartingSequenceNumber="12345")
        # A sequence number of shard X used on shard Y.
        put = c.put_record(StreamName="derr", PartitionKey="k", Data=b"y", ExplicitHashKey="0")
        self.assertRaisesType(IAE, gsi, StreamName="derr", ShardId=shard_id(1), ShardIteratorType="AT_SEQUENCE_NUMBER",
                              StartingSequenceNumber=put["SequenceNumber"])
        self.assertRaisesType(VE, gsi, StreamName="derr", ShardId=shard_id(0), ShardIteratorType="SOMETIMES")
        self.assertRaisesType(VE, gsi, StreamName="derr", ShardId=shard_id(0), ShardIteratorType="AT_SEQUENCE_NUMBER",
                              StartingSequenceNumber="0123")
        # GetRecords
        self.assertRaisesType(IAE, c.get_records, ShardIterator="AAAAAAAAAAAAAAAA")
        it = gsi(StreamName="derr", ShardId=shard_id(0), ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        tampered = it[:-6] + ("A" if it[-6] != "A" else "B") + it[-5:]
        self.assertRaisesType(IAE, c.get_records, ShardIterator=tampered)
        self.assertRaisesType(VE, c.get_records, ShardIterator=it, Limit=10001)
        self.assertRaisesType(VE, self.raw_client.get_records, ShardIterator=it, Limit=0)
        self.assertGreaterEqual(len(c.get_records(ShardIterator=it, Limit=10000)["Records"]), 1)
        # An iterator of a deleted (then re-created) stream.
        self.delete("derr")
        self.assertRaisesType(RNF, c.get_records, ShardIterator=it)
        self.create("derr", 2)
        self.assertRaisesType(RNF, c.get_records, ShardIterator=it)
        self.delete("derr")

    def test_list_shards(self):
        c = self.client
        self.create("ls", 2)
        r = c.list_shards(StreamName="ls")
        self.assertEqual([s["ShardId"] for s in r["Shards"]], [shard_id(0), shard_id(1)])
        self.assertNotIn("NextToken", r)
        self.assertEqual(self.list_shards_paged("ls", 1), [shard_id(0), shard_id(1)])
        c.split_shard(StreamName="ls", ShardToSplit=shard_id(0), NewStartingHashKey=str(2**126))
        self.wait_active("ls")
        ids = lambda resp: [s["ShardId"] for s in resp["Shards"]]  # noqa: E731
        self.assertEqual(ids(c.list_shards(StreamName="ls")), [shard_id(i) for i in range(4)])
        self.assertEqual(ids(c.list_shards(StreamName="ls", ShardFilter={"Type": "AT_LATEST"})),
                         [shard_id(1), shard_id(2), shard_id(3)])
        self.assertEqual(ids(c.list_shards(StreamName="ls", ShardFilter={"Type": "FROM_TRIM_HORIZON"})),
                         [shard_id(i) for i in range(4)])
        self.assertEqual(ids(c.list_shards(StreamName="ls", ShardFilter={"Type": "AT_TRIM_HORIZON"})),
                         [shard_id(0), shard_id(1)])
        self.assertEqual(ids(c.list_shards(StreamName="ls", ShardFilter={"Type": "AFTER_SHARD_ID", "ShardId": shard_id(1)})),
                         [shard_id(2), shard_id(3)])
        self.assertEqual(ids(c.list_shards(StreamName="ls", ExclusiveStartShardId=shard_id(2))), [shard_id(3)])
        self.assertEqual(self.list_shards_paged("ls", 1, ShardFilter={"Type": "AT_LATEST"}),
                         [shard_id(1), shard_id(2), shard_id(3)])
        self.assertEqual(self.list_shards_paged("ls", 3), [shard_id(i) for i in range(4)])
        # botocore's list_shards paginator re-sends StreamName with NextToken, which AWS
        # refuses (boto/botocore#2009); it works only while everything fits one page.
        pages = list(c.get_paginator("list_shards").paginate(StreamName="ls"))
        self.assertEqual(len(pages), 1)
        self.assertEqual(len(pages[0]["Shards"]), 4)
        closed = c.list_shards(StreamName="ls")["Shards"][0]
        self.assertIn("EndingSequenceNumber", closed["SequenceNumberRange"])
        # Errors.
        r = c.list_shards(StreamName="ls", MaxResults=1)
        token = r["NextToken"]
        self.assertRaisesType("InvalidArgumentException", c.list_shards, StreamName="ls", NextToken=token)
        self.assertRaisesType("InvalidArgumentException", c.list_shards)
        self.assertRaisesType("InvalidArgumentException", c.list_shards, NextToken=token, ExclusiveStartShardId=shard_id(0))
        self.assertRaisesType("InvalidArgumentException", c.list_shards, StreamName="ls", ShardFilter={"Type": "AFTER_SHARD_ID"})
        self.assertRaisesType("InvalidArgumentException", c.list_shards, StreamName="ls", ShardFilter={"Type": "AT_TIMESTAMP"})
        self.assertRaisesType("ResourceNotFoundException", c.list_shards, StreamName="nope")
        self.assertRaisesType("ValidationException", c.list_shards, StreamName="ls", MaxResults=10001)
        self.assertRaisesType("ValidationException", c.list_shards, StreamName="ls", ShardFilter={"Type": "SIDEWAYS"})
        self.delete("ls")

    def list_shards_paged(self, stream, page, **kw):
        """ListShards the way AWS documents it: StreamName first, then NextToken alone."""
        r = self.client.list_shards(StreamName=stream, MaxResults=page, **kw)
        ids = [s["ShardId"] for s in r["Shards"]]
        calls = 1
        while "NextToken" in r:
            self.assertLessEqual(len(r["Shards"]), page)
            r = self.client.list_shards(NextToken=r["NextToken"], MaxResults=page)
            ids += [s["ShardId"] for s in r["Shards"]]
            calls += 1
            self.assertLess(calls, 100, "ListShards paging does not end")
        return ids

    def test_consumer_follows_child_shards(self):
        c = self.client
        self.create("lineage", 1)
        sent = []
        for i in range(10):
            sent.append(("k%d" % i, b"before-%d" % i))
            c.put_record(StreamName="lineage", PartitionKey="k%d" % i, Data=b"before-%d" % i)
        c.split_shard(StreamName="lineage", ShardToSplit=shard_id(0), NewStartingHashKey=str(2**127))
        self.wait_active("lineage")
        for i in range(10):
            sent.append(("k%d" % i, b"after-%d" % i))
            c.put_record(StreamName="lineage", PartitionKey="k%d" % i, Data=b"after-%d" % i)

        # A consumer that starts at the open shards' roots and follows ChildShards.
        parent, children, ended = read_shard(c, "lineage", shard_id(0))
        self.assertTrue(ended, "closed parent never ended (NextShardIterator kept coming)")
        self.assertEqual(len(parent), 10)
        self.assertEqual(sorted(ch["ShardId"] for ch in children), [shard_id(1), shard_id(2)])
        for ch in children:
            self.assertEqual(ch["ParentShards"], [shard_id(0)])
        ranges = {ch["ShardId"]: (int(ch["HashKeyRange"]["StartingHashKey"]), int(ch["HashKeyRange"]["EndingHashKey"]))
                  for ch in children}
        self.assertEqual(ranges, {shard_id(1): (0, 2**127 - 1), shard_id(2): (2**127, MAX_HASH)})
        got = [(r["PartitionKey"], r["Data"]) for r in parent]
        max_parent_seq = max(int(r["SequenceNumber"]) for r in parent)
        for ch in sorted(children, key=lambda x: x["ShardId"]):
            recs, grand, ended = read_shard(c, "lineage", ch["ShardId"])
            self.assertFalse(ended)
            self.assertEqual(grand, [])
            for r in recs:
                self.assertGreater(int(r["SequenceNumber"]), max_parent_seq)
            got += [(r["PartitionKey"], r["Data"]) for r in recs]
        self.assertEqual(sorted(got), sorted(sent))
        for k in ("k%d" % i for i in range(10)):  # per key: before, then after
            self.assertEqual([d for kk, d in got if kk == k][0][:6], b"before")

        # LATEST on the closed parent: no records, no NextShardIterator, the children.
        it = c.get_shard_iterator(StreamName="lineage", ShardId=shard_id(0), ShardIteratorType="LATEST")["ShardIterator"]
        recs, children2, ended = read_shard(c, "lineage", shard_id(0), "LATEST")
        self.assertTrue(ended)
        self.assertEqual(recs, [])
        self.assertEqual(len(children2), 2)
        del it

        # Merge the two children back: either parent's end lists the merged child with both parents.
        c.merge_shards(StreamName="lineage", ShardToMerge=shard_id(1), AdjacentShardToMerge=shard_id(2))
        self.wait_active("lineage")
        for sid in (shard_id(1), shard_id(2)):
            _, ch, ended = read_shard(c, "lineage", sid)
            self.assertTrue(ended)
            self.assertEqual([x["ShardId"] for x in ch], [shard_id(3)])
            self.assertEqual(ch[0]["ParentShards"], [shard_id(1), shard_id(2)])
            self.assertEqual((int(ch[0]["HashKeyRange"]["StartingHashKey"]), int(ch[0]["HashKeyRange"]["EndingHashKey"])),
                             (0, MAX_HASH))
        shards = {s["ShardId"]: s for s in c.list_shards(StreamName="lineage")["Shards"]}
        self.assertEqual(shards[shard_id(3)].get("ParentShardId"), shard_id(1))
        self.assertEqual(shards[shard_id(3)].get("AdjacentParentShardId"), shard_id(2))
        self.delete("lineage")

    def test_resharding_errors(self):
        c = self.client
        RNF, IAE, VE = "ResourceNotFoundException", "InvalidArgumentException", "ValidationException"
        self.create("rs", 4)
        s0 = c.list_shards(StreamName="rs")["Shards"][0]
        start, end = int(s0["HashKeyRange"]["StartingHashKey"]), int(s0["HashKeyRange"]["EndingHashKey"])
        # SplitShard
        self.assertRaisesType(RNF, c.split_shard, StreamName="nope", ShardToSplit=shard_id(0), NewStartingHashKey="100")
        self.assertRaisesType(RNF, c.split_shard, StreamName="rs", ShardToSplit=shard_id(7), NewStartingHashKey="100")
        self.assertRaisesType(IAE, c.split_shard, StreamName="rs", ShardToSplit=shard_id(0), NewStartingHashKey=str(start + 1))
        self.assertRaisesType(IAE, c.split_shard, StreamName="rs", ShardToSplit=shard_id(0), NewStartingHashKey=str(end))
        self.assertRaisesType(IAE, c.split_shard, StreamName="rs", ShardToSplit=shard_id(0), NewStartingHashKey="9" * 39)
        self.assertRaisesType(VE, c.split_shard, StreamName="rs", ShardToSplit=shard_id(0), NewStartingHashKey="abc")
        # MergeShards
        self.assertRaisesType(RNF, c.merge_shards, StreamName="nope", ShardToMerge=shard_id(0), AdjacentShardToMerge=shard_id(1))
        self.assertRaisesType(RNF, c.merge_shards, StreamName="rs", ShardToMerge=shard_id(0), AdjacentShardToMerge=shard_id(9))
        self.assertRaisesType(IAE, c.merge_shards, StreamName="rs", ShardToMerge=shard_id(0), AdjacentShardToMerge=shard_id(2))
        self.assertRaisesType(IAE, c.merge_shards, StreamName="rs", ShardToMerge=shard_id(1), AdjacentShardToMerge=shard_id(1))
        # Reversed order of an adjacent pair is fine (spec: SHOULD accept both orders).
        c.merge_shards(StreamName="rs", ShardToMerge=shard_id(1), AdjacentShardToMerge=shard_id(0))
        self.wait_active("rs")
        # Closed shards cannot be split or merged again.
        self.assertRaisesType(IAE, c.split_shard, StreamName="rs", ShardToSplit=shard_id(0), NewStartingHashKey=str(2**100))
        self.assertRaisesType(IAE, c.merge_shards, StreamName="rs", ShardToMerge=shard_id(1), AdjacentShardToMerge=shard_id(2))
        # UpdateShardCount: 3 open shards now (4 = 0+1, 2, 3).
        self.assertRaisesType(RNF, c.update_shard_count, StreamName="nope", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
        self.assertRaisesType(VE, c.update_shard_count, StreamName="rs", TargetShardCount=2, ScalingType="LINEAR")
        self.assertRaisesType(VE, self.raw_client.update_shard_count, StreamName="rs", TargetShardCount=0,
                              ScalingType="UNIFORM_SCALING")
        self.assertRaisesType("LimitExceededException", c.update_shard_count, StreamName="rs", TargetShardCount=7,
                              ScalingType="UNIFORM_SCALING")  # more than double
        self.assertRaisesType("LimitExceededException", c.update_shard_count, StreamName="rs", TargetShardCount=1,
                              ScalingType="UNIFORM_SCALING")  # less than half
        self.delete("rs")

    def test_merge_first_and_last_shard_is_not_adjacent(self):
        # The first shard starts at 0 and the last ends at 2^128-1: "last.end + 1 == first.start"
        # only holds modulo 2^128, and merging them would leave the middle shard overlapping
        # the child.
        c = self.client
        self.create("wrap", 3)
        self.assertRaisesType("InvalidArgumentException", c.merge_shards, StreamName="wrap", ShardToMerge=shard_id(0),
                              AdjacentShardToMerge=shard_id(2))
        self.assertRaisesType("InvalidArgumentException", c.merge_shards, StreamName="wrap", ShardToMerge=shard_id(2),
                              AdjacentShardToMerge=shard_id(0))
        self.delete("wrap")

    def test_update_shard_count(self):
        c = self.client
        self.create("usc", 2)
        r = c.update_shard_count(StreamName="usc", TargetShardCount=4, ScalingType="UNIFORM_SCALING")
        self.assertEqual((r["StreamName"], r["CurrentShardCount"], r["TargetShardCount"]), ("usc", 2, 4))
        self.wait_active("usc")
        open_shards = c.list_shards(StreamName="usc", ShardFilter={"Type": "AT_LATEST"})["Shards"]
        self.assertEqual(len(open_shards), 4)
        bounds = [(int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"])) for s in open_shards]
        bounds.sort()
        self.assertEqual(bounds[0][0], 0)
        self.assertEqual(bounds[-1][1], MAX_HASH)
        for a, b in zip(bounds, bounds[1:]):
            self.assertEqual(a[1] + 1, b[0])
        r = c.update_shard_count(StreamName="usc", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
        self.assertEqual(r["CurrentShardCount"], 4)
        self.wait_active("usc")
        self.assertEqual(self.client.describe_stream_summary(StreamName="usc")["StreamDescriptionSummary"]["OpenShardCount"], 2)
        self.assertRaisesType("LimitExceededException", c.update_shard_count, StreamName="usc", TargetShardCount=SHARD_LIMIT,
                              ScalingType="UNIFORM_SCALING")
        self.delete("usc")

    def test_shard_limit_on_split(self):
        c = self.client
        used = c.describe_limits()["OpenShardCount"]
        self.create("fill", SHARD_LIMIT - used)
        self.assertRaisesType("LimitExceededException", c.split_shard, StreamName="fill", ShardToSplit=shard_id(0),
                              NewStartingHashKey="1000")
        self.assertRaisesType("LimitExceededException", c.create_stream, StreamName="one-more", ShardCount=1)
        self.delete("fill")


class StateTransitionTest(KinesisCase):
    server_args = ["--create-delay-ms", "1500", "--update-delay-ms", "1500", "--delete-delay-ms", "1500"]

    def test_creating_updating_deleting(self):
        c = self.client
        c.create_stream(StreamName="slow", ShardCount=2)
        d = c.describe_stream(StreamName="slow")["StreamDescription"]
        self.assertEqual(d["StreamStatus"], "CREATING")
        self.assertEqual(d["Shards"], [])
        self.assertIn("slow", c.list_streams()["StreamNames"])
        self.assertRaisesType("ResourceNotFoundException", c.put_record, StreamName="slow", PartitionKey="k", Data=b"x")
        self.assertRaisesType("ResourceInUseException", c.split_shard, StreamName="slow", ShardToSplit=shard_id(0),
                              NewStartingHashKey=str(2**100))
        self.assertRaisesType("ResourceInUseException", c.create_stream, StreamName="slow", ShardCount=1)
        t0 = time.monotonic()
        c.get_waiter("stream_exists").wait(StreamName="slow", WaiterConfig={"Delay": 1, "MaxAttempts": 20})
        self.assertLess(time.monotonic() - t0, 10)

        c.split_shard(StreamName="slow", ShardToSplit=shard_id(0), NewStartingHashKey=str(2**126))
        self.assertEqual(c.describe_stream_summary(StreamName="slow")["StreamDescriptionSummary"]["StreamStatus"], "UPDATING")
        self.assertRaisesType("ResourceInUseException", c.split_shard, StreamName="slow", ShardToSplit=shard_id(1),
                              NewStartingHashKey=str(2**127 + 5))
        self.assertRaisesType("ResourceInUseException", c.merge_shards, StreamName="slow", ShardToMerge=shard_id(0),
                              AdjacentShardToMerge=shard_id(1))
        self.assertRaisesType("ResourceInUseException", c.update_shard_count, StreamName="slow", TargetShardCount=3,
                              ScalingType="UNIFORM_SCALING")
        # Writes keep working while UPDATING.
        c.put_record(StreamName="slow", PartitionKey="k", Data=b"during-update")
        self.wait_active("slow")
        self.assertEqual(len(c.list_shards(StreamName="slow")["Shards"]), 4)

        c.delete_stream(StreamName="slow")
        self.assertEqual(c.describe_stream_summary(StreamName="slow")["StreamDescriptionSummary"]["StreamStatus"], "DELETING")
        self.assertRaisesType("ResourceNotFoundException", c.put_record, StreamName="slow", PartitionKey="k", Data=b"x")
        self.assertRaisesType("ResourceInUseException", c.create_stream, StreamName="slow", ShardCount=1)
        c.get_waiter("stream_not_exists").wait(StreamName="slow", WaiterConfig={"Delay": 1, "MaxAttempts": 20})


class ThroughputLimitTest(KinesisCase):
    server_args = ["--kinesis-limits"]

    def test_write_and_read_throttling(self):
        c = self.client
        self.create("hot", 1)
        failed = 0
        codes = set()
        responses = []
        outcomes = self.burst(4, lambda cl: responses.append(
            cl.put_records(StreamName="hot", Records=[{"PartitionKey": "k", "Data": b"x"}] * 500)))
        self.assertEqual(outcomes, ["ok"] * 4)  # PutRecords fails per entry, never as a whole
        for r in responses:  # 2000 records at once > 1000 records/s
            failed += r["FailedRecordCount"]
            self.assertEqual(r["FailedRecordCount"], sum(1 for x in r["Records"] if "ErrorCode" in x))
            for x in r["Records"]:
                if "ErrorCode" in x:
                    codes.add(x["ErrorCode"])
                    self.assertIn("Rate exceeded for shard", x["ErrorMessage"])
        self.assertGreater(failed, 0, "2000 records/s to one shard were all accepted")
        self.assertEqual(codes, {"ProvisionedThroughputExceededException"})
        time.sleep(1.1)
        # Bursts of calls at once (in parallel, so a slow client cannot pace itself under
        # the limit): 6 x 900 KB > 1 MiB/s of writes, 12 GetRecords > 5 reads/s.
        big = b"x" * 900000
        outcomes = self.burst(6, lambda cl: cl.put_record(StreamName="hot", PartitionKey="k", Data=big))
        self.assertIn("ProvisionedThroughputExceededException", outcomes, outcomes)
        self.assertEqual(set(outcomes) - {"ok", "ProvisionedThroughputExceededException"}, set(), outcomes)
        it = c.get_shard_iterator(StreamName="hot", ShardId=shard_id(0), ShardIteratorType="LATEST")["ShardIterator"]
        outcomes = self.burst(12, lambda cl: cl.get_records(ShardIterator=it))
        self.assertIn("ProvisionedThroughputExceededException", outcomes, outcomes)
        self.assertEqual(set(outcomes) - {"ok", "ProvisionedThroughputExceededException"}, set(), outcomes)
        self.delete("hot")

    def burst(self, n, call):
        """Runs call(client) on n clients at the same instant; returns "ok" or the error code
        of each."""
        clients = [h.boto3_client(self.server.endpoint) for _ in range(n)]
        barrier = threading.Barrier(n)
        outcomes = []

        def run(cl):
            barrier.wait()
            try:
                call(cl)
                outcomes.append("ok")
            except ClientError as e:
                outcomes.append(e.response["Error"]["Code"])

        threads = [threading.Thread(target=run, args=(cl,)) for cl in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        return outcomes


class DurabilityTest(unittest.TestCase):
    def test_kill9_after_acknowledged_puts(self):
        s = h.Shoald(["--durability", "always"]).start()
        try:
            c = h.boto3_client(s.endpoint)
            c.create_stream(StreamName="durable", ShardCount=2)
            c.get_waiter("stream_exists").wait(StreamName="durable", WaiterConfig={"Delay": 1, "MaxAttempts": 20})
            acked = {}  # seq -> (key, data)
            lock = threading.Lock()
            stop = threading.Event()

            def producer(n):
                pc = h.boto3_client(s.endpoint)
                i = 0
                while not stop.is_set():
                    key, data = "p%d-%d" % (n, i), os.urandom(100) + b"%d" % i
                    try:
                        if i % 2:
                            r = pc.put_record(StreamName="durable", PartitionKey=key, Data=data)
                            got = [(r["SequenceNumber"], key, data)]
                        else:
                            r = pc.put_records(StreamName="durable", Records=[
                                {"PartitionKey": key + "-%d" % j, "Data": data + b"-%d" % j} for j in range(5)])
                            got = [(x["SequenceNumber"], key + "-%d" % j, data + b"-%d" % j)
                                   for j, x in enumerate(r["Records"]) if "SequenceNumber" in x]
                    except Exception:  # the kill: the call was not acknowledged
                        return
                    with lock:
                        for seq, k, d in got:
                            acked[seq] = (k, d)
                    i += 1

            threads = [threading.Thread(target=producer, args=(n,)) for n in range(4)]
            for t in threads:
                t.start()
            time.sleep(2.0)
            it_before = c.get_shard_iterator(StreamName="durable", ShardId=shard_id(0),
                                             ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            s.kill9()  # mid-flight
            stop.set()
            for t in threads:
                t.join(30)
            with lock:
                snapshot = dict(acked)
            self.assertGreater(len(snapshot), 50)
            s.start()
            c = h.boto3_client(s.endpoint)
            found = {}
            shard0 = []
            for i in range(2):
                recs, _, _ = read_shard(c, "durable", shard_id(i), max_calls=1000)
                for r in recs:
                    found[r["SequenceNumber"]] = (r["PartitionKey"], r["Data"])
                if i == 0:
                    shard0 = [int(r["SequenceNumber"]) for r in recs]
            missing = [seq for seq in snapshot if seq not in found]
            self.assertEqual(missing, [], "%d of %d acknowledged records lost by kill -9" % (len(missing), len(snapshot)))
            for seq, kd in snapshot.items():
                self.assertEqual(found[seq], kd)
            # The iterator issued before the crash still works (the key file persisted).
            g = c.get_records(ShardIterator=it_before, Limit=5)
            self.assertGreater(len(g["Records"]), 0)
            # New writes get larger sequence numbers than anything before the crash.
            p = c.put_record(StreamName="durable", PartitionKey="after", Data=b"after", ExplicitHashKey="0")
            self.assertEqual(p["ShardId"], shard_id(0))
            self.assertGreater(int(p["SequenceNumber"]), max(shard0))
            s.stop()
            # A clean restart is fast and everything is still there.
            s.start()
            self.assertLess(s.startup_seconds, 1.0)
            c = h.boto3_client(s.endpoint)
            n = sum(len(read_shard(c, "durable", shard_id(i), max_calls=1000)[0]) for i in range(2))
            self.assertEqual(n, len(found) + 1)
            s.stop()
        finally:
            s.cleanup()


if __name__ == "__main__":
    h.init_from_argv()
    print("boto3 %s / botocore %s" % (boto3.__version__, botocore.__version__))
    h.run_tests()
