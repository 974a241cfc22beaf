"""Starts and stops shoald for the API tests.

Every test script is run by CTest as `python3 SCRIPT PATH/TO/shoald [unittest args]`
(or with SHOALD=PATH in the environment). A `Shoald` runs the binary on an ephemeral port
(--port 0, port read from the ready line) with a fresh temporary data directory, keeps its
stderr in a file for failure messages, and stop() sends SIGTERM and insists on exit code 0
(a clean stop flushes and closes the engine).
"""
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

READY = re.compile(r"^shoald listening on http://(\S+):(\d+) \(data (.*), durability (\w+)\)$")

# Small segments: every open shard fallocates one, and the tests create dozens of shards.
DEFAULT_ARGS = ["--segment-bytes", str(1 << 20)]

SHOALD = os.environ.get("SHOALD", "")


def init_from_argv():
    """Takes the shoald path from argv[1] (CTest passes it) and leaves argv to unittest."""
    global SHOALD
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        SHOALD = os.path.abspath(sys.argv.pop(1))  # servers may run in another directory
    if not SHOALD or not os.access(SHOALD, os.X_OK):
        sys.stderr.write("usage: %s PATH/TO/shoald [unittest options] (or set SHOALD)\n" % sys.argv[0])
        sys.exit(2)
    return SHOALD


class Shoald:
    def __init__(self, args=(), data_dir=None, binary=None, default_args=True, cwd=None):
        self.binary = binary or SHOALD
        self.cwd = cwd  # the server's working directory (None: the test's)
        self.args = (DEFAULT_ARGS if default_args else []) + list(args)
        self.tmp = tempfile.mkdtemp(prefix="shoald-test-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.log_path = os.path.join(self.tmp, "shoald.stderr")
        self.proc = None
        self.port = None
        self.host = None
        self.durability = None
        self.startup_seconds = None
        self.starts = 0

    # --- lifecycle ---------------------------------------------------------------------
    def start(self, timeout=15):
        assert self.proc is None, "already running"
        cmd = [self.binary, "--data-dir", self.data_dir, "--port", "0"] + self.args
        log = open(self.log_path, "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                     cwd=self.cwd)
        log.close()
        self.starts += 1
        deadline = t0 + timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                self.proc.kill()
                self.proc.wait()
                self.proc.stdout.close()
                self.proc = None
                raise AssertionError("shoald did not print its ready line within %ss\n%s" % (timeout, self.log()))
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    rc = self.proc.wait()
                    self.proc.stdout.close()
                    self.proc = None
                    raise AssertionError("shoald exited with %s before it was ready\n%s" % (rc, self.log()))
                line += chunk
        self.startup_seconds = time.monotonic() - t0
        text = line.decode().strip()
        m = READY.match(text)
        if not m:
            self.proc.kill()
            self.proc.wait()
            self.proc.stdout.close()
            self.proc = None
            raise AssertionError("unexpected ready line %r\n%s" % (text, self.log()))
        self.host, self.port, self.durability = m.group(1), int(m.group(2)), m.group(4)
        return self

    def stop(self, timeout=30, expect_rc=0):
        """SIGTERM, wait, and check the exit code (0 = clean stop). Returns seconds taken."""
        if self.proc is None:
            return 0.0
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.proc.stdout.close()
            self.proc = None
            raise AssertionError("shoald did not stop within %ss of SIGTERM\n%s" % (timeout, self.log()))
        self.proc.stdout.close()
        self.proc = None
        if expect_rc is not None and rc != expect_rc:
            raise AssertionError("shoald exited with %s after SIGTERM, expected %s\n%s" % (rc, expect_rc, self.log()))
        return time.monotonic() - t0

    def kill9(self):
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc.stdout.close()
        self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc.stdout.close()
            self.proc = None
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        try:
            if self.proc is not None:
                self.stop(expect_rc=0 if exc_type is None else None)
        finally:
            self.cleanup()
        return False

    # --- helpers -----------------------------------------------------------------------
    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode(errors="replace")
        except OSError:
            text = ""
        return "--- shoald stderr (%s) ---\n%s" % (self.log_path, text[-8000:])


def run_tests():
    """unittest.main with verbose output; returns through sys.exit."""
    unittest.main(verbosity=2)


def boto3_client(endpoint, **config):
    """A Kinesis client for `endpoint` with dummy credentials and no retries (so a throttle
    or limit error surfaces on the first attempt instead of after backoff)."""
    import boto3
    from botocore.config import Config

    cfg = dict(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=60)
    cfg.update(config)
    return boto3.client(
        "kinesis",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(**cfg),
    )
