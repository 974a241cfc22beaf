#!/usr/bin/env python3
"""Conformance check: `shoal` prints what `aws kinesis` (AWS CLI v2) prints.

    python3 tests/cli/compare_with_aws.py path/to/shoal path/to/shoald

Starts shoald on one temporary data directory and runs each command twice: through the real
AWS CLI v2 against shoald (`aws --endpoint-url ... kinesis <command>`) and through shoal
on a second directory. Compares exit status, stdout and stderr after masking the values
that legitimately differ between two directories (sequence numbers, timestamps, iterators,
paging tokens) and the program name in usage messages.

Exits 77 (CTest SKIP_RETURN_CODE) when no AWS CLI v2 is installed. Ends with
"N passed, N failed".
"""
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

AWS = None


def find_aws():
    for cand in (os.environ.get("SHOAL_AWS_CLI"), "/usr/bin/aws", shutil.which("aws")):
        if not cand or not os.path.exists(cand):
            continue
        try:
            v = subprocess.run([cand, "--version"], capture_output=True, timeout=60).stdout.decode()
        except (OSError, subprocess.TimeoutExpired):
            continue
        if v.startswith("aws-cli/2."):
            return cand
    return None


SEQ = re.compile(r"\b\d{40,}\b")
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?[+-]\d{2}:\d{2}")
TOKEN_KEYS = ("ShardIterator", "NextShardIterator", "NextToken")


def mask_token(v):
    # A CLI resume token wraps the service's token: mask inside it, keep its shape.
    try:
        inner = json.loads(base64.b64decode(v, validate=True))
        if isinstance(inner, dict):
            return "<RESUME " + json.dumps({k: ("<TOKEN>" if isinstance(x, str) else x) for k, x in inner.items()}) + ">"
    except Exception:  # noqa: BLE001 - not a resume token
        pass
    return "<TOKEN>"


def mask(text):
    text = re.sub(r'("(?:%s)": )"([^"]*)"' % "|".join(TOKEN_KEYS), lambda m: m.group(1) + '"' + mask_token(m.group(2)) + '"', text)
    text = SEQ.sub("<SEQ>", text)
    text = ISO.sub("<TS>", text)
    text = re.sub(r"\bMillisBehindLatest\": \d+", "MillisBehindLatest\": <MS>", text)
    # Text output: iterators and tokens are long base64 words on their own.
    text = re.sub(r"(?<![\w/+=])[A-Za-z0-9+/]{60,}={0,2}(?![\w/+=])", "<TOKEN>", text)
    # Usage banners name the program.
    text = re.sub(r"usage: aws .*?\n\n(?=aws: error|Unknown options)", "<USAGE>\n", text, flags=re.S)
    text = re.sub(r"usage: shoal .*?\n\n(?=shoal: error|Unknown options)", "<USAGE>\n", text, flags=re.S)
    text = text.replace("aws: error:", "<prog>: error:").replace("shoal: error:", "<prog>: error:")
    return text


class Side:
    def __init__(self, argv_prefix, env):
        self.prefix = argv_prefix
        self.env = env
        self.vars = {}

    def run(self, args):
        args = [self.vars.get(a, a) for a in args]
        p = subprocess.run(self.prefix + args, capture_output=True, env=self.env, timeout=120)
        return p.returncode, p.stdout.decode(), p.stderr.decode()


# (args, options). options: "rc_only" (compare exit codes only), "stderr_only",
# "save": name a value printed by --output text for later commands.
CASES = [
    (["create-stream", "--stream-name", "KStream", "--shard-count", "2"], {}),
    (["describe-stream", "--stream-name", "KStream"], {}),
    (["describe-stream-summary", "--stream-name", "KStream"], {}),
    (["put-record", "--stream-name", "KStream", "--partition-key", "456", "--data", "test"], {}),
    (["put-record", "--stream-name", "KStream", "--partition-key", "456", "--data", "test",
      "--cli-binary-format", "raw-in-base64-out"], {}),
    (["put-records", "--stream-name", "KStream", "--records", "Data=aGVsbG8=,PartitionKey=user-42",
      "Data=cGluZw==,PartitionKey=partitionKey1"], {}),
    (["put-records", "--stream-name", "KStream", "--records",
      '[{"Data": "AAEC", "PartitionKey": "k1"}, {"Data": "/w==", "PartitionKey": "k2", "ExplicitHashKey": "0"}]'], {}),
    (["list-shards", "--stream-name", "KStream"], {}),
    (["list-streams"], {}),
    (["get-shard-iterator", "--stream-name", "KStream", "--shard-id", "shardId-000000000000",
      "--shard-iterator-type", "TRIM_HORIZON", "--query", "ShardIterator", "--output", "text"], {"save": "$IT"}),
    (["get-records", "--shard-iterator", "$IT"], {}),
    (["get-records", "--shard-iterator", "$IT", "--output", "text"], {}),
    (["get-records", "--shard-iterator", "$IT", "--query", "Records[*].[PartitionKey, Data]"], {}),
    (["get-records", "--shard-iterator", "$IT", "--query", "Records[*].[PartitionKey, Data]", "--output", "text"], {}),
    (["get-records", "--shard-iterator", "$IT", "--query", "{n: Records[0].PartitionKey, d: Records[-1].Data}"], {}),
    (["get-records", "--shard-iterator", "$IT", "--query", "Records[].Data", "--output", "text"], {}),
    (["get-shard-iterator", "--stream-name", "KStream", "--shard-id", "shardId-000000000001",
      "--shard-iterator-type", "AT_TIMESTAMP", "--timestamp", "2023-11-14T22:13:24Z"], {}),
    (["add-tags-to-stream", "--stream-name", "KStream", "--tags", "k1=v1,k2=v2"], {}),
    (["add-tags-to-stream", "--stream-name", "KStream", "--tags", '{"k3": "v 3"}'], {}),
    (["list-tags-for-stream", "--stream-name", "KStream"], {}),
    (["list-tags-for-stream", "--stream-name", "KStream", "--output", "text"], {}),
    (["remove-tags-from-stream", "--stream-name", "KStream", "--tag-keys", "k1", "k3"], {}),
    (["list-tags-for-stream", "--stream-name", "KStream"], {}),
    (["increase-stream-retention-period", "--stream-name", "KStream", "--retention-period-hours", "48"], {}),
    (["decrease-stream-retention-period", "--stream-name", "KStream", "--retention-period-hours", "36"], {}),
    (["describe-limits"], {}),
    (["describe-limits", "--output", "text"], {}),
    (["split-shard", "--stream-name", "KStream", "--shard-to-split", "shardId-000000000000",
      "--new-starting-hash-key", "85070591730234615865843651857942052864"], {}),
    (["list-shards", "--stream-name", "KStream"], {}),
    (["list-shards", "--stream-name", "KStream", "--shard-filter", "Type=AT_LATEST"], {}),
    (["list-shards", "--stream-name", "KStream", "--output", "text"], {}),
    (["describe-stream", "--stream-name", "KStream", "--output", "text"], {}),
    (["merge-shards", "--stream-name", "KStream", "--shard-to-merge", "shardId-000000000002",
      "--adjacent-shard-to-merge", "shardId-000000000003"], {}),
    (["update-shard-count", "--stream-name", "KStream", "--target-shard-count", "3", "--scaling-type",
      "UNIFORM_SCALING"], {}),
    (["describe-stream", "--stream-name", "KStream", "--no-paginate"], {}),
    (["describe-stream", "--stream-name", "KStream", "--limit", "2"], {}),
    (["describe-stream", "--stream-name", "KStream", "--page-size", "2"], {}),
    (["describe-stream", "--stream-name", "KStream", "--max-items", "3"], {}),
    (["describe-stream", "--stream-name", "KStream", "--query", "StreamDescription.Shards[*].ShardId",
      "--output", "text"], {}),
    (["list-shards", "--stream-name", "KStream", "--max-results", "2"], {}),
    (["create-stream", "--stream-name", "Second", "--stream-mode-details", "StreamMode=ON_DEMAND"], {}),
    (["create-stream", "--cli-input-json", '{"StreamName": "Third", "ShardCount": 1}'], {}),
    (["list-streams", "--page-size", "1"], {}),
    (["list-streams", "--max-items", "2"], {}),
    (["list-streams", "--limit", "1"], {}),
    (["list-streams", "--output", "text"], {}),
    (["list-streams", "--page-size", "1", "--output", "text"], {}),
    (["list-streams", "--query", "StreamNames[0]"], {}),
    (["delete-stream", "--stream-name", "Second"], {}),
    # Errors.
    (["describe-stream", "--stream-name", "nope"], {}),
    (["get-shard-iterator", "--stream-name", "nope", "--shard-id", "0", "--shard-iterator-type", "LATEST"], {}),
    (["increase-stream-retention-period", "--stream-name", "KStream", "--retention-period-hours", "12"], {}),
    (["create-stream", "--stream-name", "bad name", "--shard-count", "1"], {}),
    (["create-stream", "--stream-name", "KStream", "--shard-count", "1"], {}),
    (["create-stream", "--stream-name", "x", "--shard-count", "0"], {}),
    (["create-stream", "--stream-name", "", "--shard-count", "1"], {}),
    (["create-stream", "--stream-name", "x", "--stream-mode-details", "StreamMode=ON_DEMAND,Foo=1"], {}),
    (["put-records", "--stream-name", "KStream", "--records", '[{"Data":"aGk=","PartitionKey":1}]'], {}),
    (["put-records", "--stream-name", "KStream", "--records", "Data=aGk="], {}),
    (["put-records", "--stream-name", "KStream", "--records", "Data"], {}),
    (["put-records", "--stream-name", "KStream", "--records", "Data=aGk=,PartitionKey=a,b"], {}),
    (["remove-tags-from-stream", "--stream-name", "KStream", "--tag-keys"], {}),
    (["add-tags-to-stream", "--stream-name", "KStream", "--tags", "a"], {}),
    (["add-tags-to-stream", "--stream-name", "KStream", "--tags", '{"a": 1}'], {}),
    (["get-records", "--shard-iterator", "AAAA"], {}),
    (["put-record", "--stream-name", "KStream", "--partition-key", "1"], {}),
    (["put-record", "--stream-name", "KStream", "--partition-key", "1", "--data"], {}),
    (["describe-stream", "--bogus"], {}),
    (["describe-stream", "--bogus", "x", "--stream-name", "a"], {}),
    (["describe-stream-summary", "--stream", "KStream"], {}),
    (["get-shard-iterator", "--stream-name", "KStream", "--shard-id", "shardId-000000000001",
      "--shard-iterator-type", "AT_TIMESTAMP", "--timestamp", "garbage"], {}),
    (["list-shards", "--stream-name", "KStream", "--no-paginate", "--page-size", "5"], {}),
    # AWS CLI 2.9 exits 255 for these two; shoal uses 252 as the AWS CLI documents for bad
    # parameter values, so only the text is compared.
    (["put-record", "--stream-name", "KStream", "--partition-key", "456", "--data", "hello"], {"stderr_only": True}),
    (["create-stream", "--stream-name", "x", "--shard-count", "abc"], {"stderr_only": True}),
    (["delete-stream", "--stream-name", "KStream"], {}),
    (["describe-stream-summary", "--stream-name", "KStream"], {}),
]


def main():
    global AWS
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    shoal, shoald = (os.path.abspath(a) for a in sys.argv[1:3])
    AWS = find_aws()
    if not AWS:
        print("SKIP: no AWS CLI v2 (Debian package awscli) installed")
        return 77
    root = tempfile.mkdtemp(prefix="shoal-cli-compare-")
    server = subprocess.Popen([shoald, "--data-dir", os.path.join(root, "server"), "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    passed = failed = 0
    try:
        line = server.stdout.readline().decode()
        m = re.search(r"http://[^ ]+", line)
        if not m:
            print(f"FAIL shoald did not start: {line!r}")
            return 1
        env = dict(os.environ, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1",
                   AWS_PAGER="", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        aws = Side([AWS, "--endpoint-url", m.group(0), "kinesis"], env)
        local = Side([shoal, "--data-dir", os.path.join(root, "local")], env)
        for args, opts in CASES:
            a = aws.run(args)
            b = local.run(args)
            if "save" in opts:
                aws.vars[opts["save"]] = a[1].strip()
                local.vars[opts["save"]] = b[1].strip()
            if opts.get("rc_only"):
                ok = a[0] == b[0]
            elif opts.get("stderr_only"):
                ok = mask(a[2]) == mask(b[2]) and a[1] == b[1]
            else:
                ok = a[0] == b[0] and mask(a[1]) == mask(b[1]) and mask(a[2]) == mask(b[2])
            name = " ".join(args)
            if ok:
                passed += 1
                print(f"PASS {name}")
            else:
                failed += 1
                print(f"FAIL {name}\n--- aws (rc {a[0]})\n{mask(a[1])}{mask(a[2])}--- shoal (rc {b[0]})\n"
                      f"{mask(b[1])}{mask(b[2])}---")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(root, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
