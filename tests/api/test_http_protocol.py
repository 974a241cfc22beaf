#!/usr/bin/env python3
"""HTTP transport tests for shoald with raw sockets and http.client: the pre-dispatch
errors of spec §1.3, the response headers of §1.6-§1.8, keep-alive, pipelining, chunked
bodies, Expect: 100-continue, body and header limits, malformed HTTP, slow, half-closed
and abandoned connections, the connection cap and graceful stop.

    python3 test_http_protocol.py PATH/TO/shoald
"""
import base64
import email.utils
import http.client
import json
import os
import resource
import socket
import struct
import threading
import time
import unittest

import shoald_harness as h

CAP = 1 << 20  # --max-body-bytes for the shared server
IDLE_MS = 1500
REQUEST_MS = 3000
JSON = "application/x-amz-json-1.1"
PREFIX = "Kinesis_20131202."


class Response:
    def __init__(self, status, reason, headers, body, raw_headers):
        self.status, self.reason, self.headers, self.body, self.raw_headers = status, reason, headers, body, raw_headers

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %s %r %r>" % (self.status, self.reason, self.headers, self.body[:200])


class RawConn:
    """A socket that writes bytes verbatim and parses HTTP/1.1 responses itself."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by server")
        self.buf += chunk

    def read_response(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        version, status, *reason = lines[0].split(" ", 2)
        assert version.startswith("HTTP/1."), lines[0]
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
        status = int(status)
        length = 0 if 100 <= status < 200 else int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return Response(status, reason[0] if reason else "", headers, body, lines[1:])

    def at_eof(self, timeout=5.0):
        """True if the server closes the connection (FIN or RST) within `timeout`."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def request_bytes(op, body, content_type=JSON, method="POST", path="/", extra=(), version="HTTP/1.1",
                  target=None):
    if isinstance(body, str):
        body = body.encode()
    lines = ["%s %s %s" % (method, path, version), "Host: 127.0.0.1"]
    if target is None and op is not None:
        target = PREFIX + op
    if target is not None:
        lines.append("X-Amz-Target: " + target)
    if content_type is not None:
        lines.append("Content-Type: " + content_type)
    lines += list(extra)
    if not any(x.lower().startswith(("content-length", "transfer-encoding")) for x in extra):
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(parts, trailer=b""):
    out = b""
    for p in parts:
        out += b"%x\r\n%s\r\n" % (len(p), p)
    return out + b"0\r\n" + trailer + b"\r\n"


def b64(s):
    return base64.b64encode(s if isinstance(s, bytes) else s.encode()).decode()


class ProtocolTest(unittest.TestCase):
    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = h.Shoald(["--max-body-bytes", str(CAP), "--idle-timeout-ms", str(IDLE_MS),
                               "--request-timeout-ms", str(REQUEST_MS)]).start()
        cls.port = cls.server.port
        r = cls.call("CreateStream", {"StreamName": "proto", "ShardCount": 2})
        assert r.status == 200, r

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            cls.server.cleanup()

    def setUp(self):
        self.assertTrue(self.server.running(), self.server.log())

    def tearDown(self):
        # Whatever the test did to it, the server must still be alive and serving.
        self.assertTrue(self.server.running(), "shoald died\n" + self.server.log())

    # --- helpers ---
    @classmethod
    def call(cls, op, payload, **kw):
        c = RawConn(cls.port)
        try:
            c.send(request_bytes(op, json.dumps(payload), **kw))
            return c.read_response()
        finally:
            c.close()

    def raw(self, data):
        c = RawConn(self.port)
        try:
            c.send(data)
            return c.read_response()
        finally:
            c.close()

    def assert_common_headers(self, r):
        self.assertTrue(r.header("x-amzn-requestid"), r)
        self.assertIsNotNone(email.utils.parsedate_to_datetime(r.header("date")), r)
        self.assertEqual(int(r.header("content-length")), len(r.body), r)

    def assert_json_error(self, r, status, error_type):
        self.assertEqual(r.status, status, r)
        self.assert_common_headers(r)
        self.assertEqual(r.header("content-type"), JSON, r)
        self.assertEqual(r.json()["__type"], error_type, r)
        self.assertEqual(r.header("x-amzn-errortype", "").split(":")[0], error_type, r)

    def put_and_read_back(self, data):
        """PutRecord (acknowledged) and find it again with GetRecords from TRIM_HORIZON."""
        r = self.call("PutRecord", {"StreamName": "proto", "PartitionKey": data, "Data": b64(data)})
        self.assertEqual(r.status, 200, r)
        put = r.json()
        r = self.call("GetShardIterator", {"StreamName": "proto", "ShardId": put["ShardId"],
                                           "ShardIteratorType": "AT_SEQUENCE_NUMBER",
                                           "StartingSequenceNumber": put["SequenceNumber"]})
        self.assertEqual(r.status, 200, r)
        r = self.call("GetRecords", {"ShardIterator": r.json()["ShardIterator"], "Limit": 1})
        self.assertEqual(r.status, 200, r)
        recs = r.json()["Records"]
        self.assertEqual(len(recs), 1, r)
        self.assertEqual(recs[0]["SequenceNumber"], put["SequenceNumber"])
        self.assertEqual(base64.b64decode(recs[0]["Data"]).decode(), data)

    # --- §1.6 success ---
    def test_success_headers(self):
        r = self.call("ListStreams", {})
        self.assertEqual(r.status, 200, r)
        self.assert_common_headers(r)
        self.assertTrue(r.header("x-amz-id-2"), r)
        self.assertEqual(r.header("content-type"), JSON)
        self.assertIsNone(r.header("x-amzn-errortype"))
        self.assertIn("proto", r.json()["StreamNames"])

    def test_content_type_parameters_ignored(self):
        r = self.call("ListStreams", {}, content_type=JSON + "; charset=utf-8")
        self.assertEqual(r.status, 200, r)

    def test_any_path_accepted(self):
        for path in ["/", "/some/where", "/?Action=x", "*"]:
            r = self.call("ListStreams", {}, path=path)
            self.assertEqual(r.status, 200, (path, r))

    def test_empty_body_response_for_no_output_operation(self):
        r = self.call("AddTagsToStream", {"StreamName": "proto", "Tags": {"k": "v"}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(int(r.header("content-length")), len(r.body))

    # --- §1.3 pre-dispatch errors ---
    def test_malformed_json(self):
        for body in ['{"StreamName": ', "{not json}", "\xff\xfe", "[]", "null", "true", "42", '"s"']:
            c = RawConn(self.port)
            c.send(request_bytes("ListStreams", body.encode("latin-1")))
            r = c.read_response()
            c.close()
            self.assert_json_error(r, 400, "SerializationException")

    def test_empty_body(self):
        r = self.raw(request_bytes("ListStreams", b""))
        self.assert_json_error(r, 400, "SerializationException")
        r = self.raw(request_bytes("NoSuchOperation", b""))
        self.assert_json_error(r, 400, "UnknownOperationException")

    def test_unknown_operation(self):
        self.assert_json_error(self.call("NoSuchOperation", {}), 400, "UnknownOperationException")
        self.assert_json_error(self.call(None, {}, target="Kinesis_20131202.listStreams"), 400,
                               "UnknownOperationException")
        self.assert_json_error(self.call(None, {}, target="Foo_20131202.ListStreams"), 400,
                               "UnknownOperationException")
        self.assert_json_error(self.call(None, {}), 400, "UnknownOperationException")  # no target

    def test_wrong_content_type(self):
        r = self.call("ListStreams", {}, content_type="text/plain")
        self.assertEqual(r.status, 404, r)
        self.assert_common_headers(r)
        self.assertEqual(r.body, b"<UnknownOperationException/>\n")
        self.assertNotEqual(r.header("content-type"), JSON)
        # No content type at all is unsupported too.
        r = self.call("ListStreams", {}, content_type=None)
        self.assertEqual(r.status, 404, r)
        # A target that does not split into service and operation: 403 AccessDenied (XML).
        r = self.call(None, {}, content_type="text/plain", target="garbage")
        self.assertEqual(r.status, 403, r)
        self.assertIn(b"<AccessDeniedException>", r.body)
        self.assert_common_headers(r)

    def test_get_and_other_methods(self):
        for method in ["GET", "PUT", "DELETE", "PATCH"]:
            r = self.raw(request_bytes("ListStreams", b"{}", method=method))
            self.assertEqual(r.status, 403, (method, r))
            self.assert_common_headers(r)
            self.assertIn(b"AccessDeniedException", r.body)
            self.assertIn(b"Unable to determine service/operation name to be authorized", r.body)
        # A bare GET as a browser sends it.
        r = self.raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(r.status, 403, r)

    def test_head_has_no_body(self):
        c = RawConn(self.port)
        c.send(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
        c.sock.settimeout(5)
        time.sleep(0.3)
        data = c.sock.recv(65536)
        self.assertTrue(data.startswith(b"HTTP/1.1 403"), data)
        head, _, rest = data.partition(b"\r\n\r\n")
        self.assertEqual(rest, b"", "HEAD response carried a body")
        # The connection is still usable.
        c.send(request_bytes("ListStreams", b"{}"))
        self.assertEqual(c.read_response().status, 200)
        c.close()

    def test_cors(self):
        r = self.raw(request_bytes(None, b"", method="OPTIONS", content_type=None, extra=[
            "Origin: http://example.com", "Access-Control-Request-Headers: x-amz-target,content-type",
            "Access-Control-Request-Method: POST"]))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("access-control-allow-origin"), "*")
        self.assertEqual(r.header("access-control-allow-headers"), "x-amz-target,content-type")
        self.assertEqual(r.header("access-control-allow-methods"), "POST")
        self.assertEqual(r.header("access-control-max-age"), "172800")
        self.assertTrue(r.header("x-amzn-requestid"))
        r = self.call("ListStreams", {}, extra=["Origin: http://example.com"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("access-control-allow-origin"), "*")
        self.assertIn("x-amzn-RequestId", r.header("access-control-expose-headers", ""))

    # --- body limit (§1.3 step 1) ---
    def test_body_at_cap_accepted(self):
        body = b"{}" + b" " * (CAP - 2)
        r = self.raw(request_bytes("ListStreams", body))
        self.assertEqual(r.status, 200, r)

    def test_oversize_content_length(self):
        c = RawConn(self.port)
        c.send(request_bytes("ListStreams", b"", extra=["Content-Length: %d" % (CAP + 1)]))
        r = c.read_response()
        self.assertEqual(r.status, 413, r)
        self.assertEqual(r.body, b"")
        self.assert_common_headers(r)
        self.assertTrue(c.at_eof(), "connection not closed after 413")
        c.close()

    def test_oversize_body_while_sending(self):
        c = RawConn(self.port)
        body = b"{" + b" " * (CAP + 100000) + b"}"

        def send_all():
            try:
                c.send(request_bytes("ListStreams", body))
            except OSError:
                pass  # the server closed on us: expected

        t = threading.Thread(target=send_all)
        t.start()
        r = c.read_response()
        t.join(10)
        self.assertEqual(r.status, 413, r)
        self.assertEqual(r.body, b"")
        self.assertTrue(c.at_eof(), "connection not closed after 413")
        c.close()

    def test_oversize_chunked_body(self):
        c = RawConn(self.port)
        piece = b" " * 65536
        head = request_bytes("ListStreams", b"", extra=["Transfer-Encoding: chunked"])

        def send_all():
            try:
                c.send(head + chunked([b"{"] + [piece] * (CAP // len(piece) + 2) + [b"}"]))
            except OSError:
                pass

        t = threading.Thread(target=send_all)
        t.start()
        r = c.read_response()
        t.join(10)
        self.assertEqual(r.status, 413, r)
        self.assertTrue(c.at_eof(), "connection not closed after 413")
        c.close()

    def test_oversize_with_expect_gets_413_not_100(self):
        c = RawConn(self.port)
        c.send(request_bytes("ListStreams", b"", extra=["Content-Length: %d" % (CAP * 4), "Expect: 100-continue"]))
        r = c.read_response()
        self.assertEqual(r.status, 413, r)
        self.assertTrue(c.at_eof())
        c.close()

    # --- framing ---
    def test_chunked_request_body(self):
        body = json.dumps({"StreamName": "proto", "PartitionKey": "chunky", "Data": b64("chunked hello")}).encode()
        parts = [body[:5], body[5:17], body[17:]]
        c = RawConn(self.port)
        c.send(request_bytes("PutRecord", b"", extra=["Transfer-Encoding: chunked"]) + chunked(parts))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertIn("SequenceNumber", r.json())
        # With a trailer and chunk extensions, on the same connection.
        body = json.dumps({"StreamName": "proto"}).encode()
        c.send(request_bytes("DescribeStreamSummary", b"", extra=["Transfer-Encoding: chunked"]) +
               b"%x;ext=1\r\n%s\r\n0\r\nX-Trailer: t\r\n\r\n" % (len(body), body))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["StreamDescriptionSummary"]["StreamName"], "proto")
        c.close()

    def test_expect_100_continue(self):
        body = json.dumps({"StreamName": "proto"}).encode()
        c = RawConn(self.port)
        head = request_bytes("DescribeStreamSummary", body, extra=["Expect: 100-continue"])
        head = head[: len(head) - len(body)]
        c.send(head)
        interim = c.read_response()  # must arrive before we send the body
        self.assertEqual(interim.status, 100, interim)
        c.send(body)
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["StreamDescriptionSummary"]["OpenShardCount"], 2)
        # Keep-alive still works after a 100-continue exchange.
        c.send(request_bytes("ListStreams", b"{}"))
        self.assertEqual(c.read_response().status, 200)
        c.close()

    def test_keep_alive_many_requests(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.connect()
        sock = conn.sock
        hdrs = {"Content-Type": JSON}
        for i in range(300):
            if i % 3 == 0:
                op, body = "PutRecord", {"StreamName": "proto", "PartitionKey": "k%d" % i, "Data": b64("v%d" % i)}
            elif i % 3 == 1:
                op, body = "ListStreams", {}
            else:
                op, body = "DescribeStreamSummary", {"StreamName": "proto"}
            hdrs["X-Amz-Target"] = PREFIX + op
            conn.request("POST", "/", body=json.dumps(body), headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            self.assertEqual(r.status, 200, (i, data))
            self.assertNotEqual((r.getheader("Connection") or "").lower(), "close")
            self.assertIs(conn.sock, sock, "connection was re-opened at request %d" % i)
        conn.close()

    def test_pipelined_requests(self):
        c = RawConn(self.port)
        c.send(request_bytes("ListStreams", b"{}") + request_bytes("DescribeStreamSummary", b'{"StreamName":"proto"}') +
               request_bytes("NoSuchOp", b"{}"))
        self.assertIn("StreamNames", c.read_response().json())
        self.assertIn("StreamDescriptionSummary", c.read_response().json())
        self.assertEqual(c.read_response().status, 400)
        c.close()

    def test_http10_and_connection_close(self):
        c = RawConn(self.port)
        c.send(request_bytes("ListStreams", b"{}", version="HTTP/1.0"))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertTrue(c.at_eof(), "HTTP/1.0 without keep-alive must close")
        c.close()
        c = RawConn(self.port)
        c.send(request_bytes("ListStreams", b"{}", version="HTTP/1.0", extra=["Connection: keep-alive"]))
        self.assertEqual(c.read_response().status, 200)
        c.send(request_bytes("ListStreams", b"{}", version="HTTP/1.0", extra=["Connection: keep-alive"]))
        self.assertEqual(c.read_response().status, 200)
        c.close()
        c = RawConn(self.port)
        c.send(request_bytes("ListStreams", b"{}", extra=["Connection: close"]))
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("connection", "").lower(), "close")
        self.assertTrue(c.at_eof())
        c.close()

    # --- hostile input ---
    def test_malformed_http_gets_400_and_close(self):
        cases = [
            b"GARBAGE\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost x\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
            b"POST / HTTP/9.9\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
            b"POST / HTTP/1.1\r\nX-Amz-Target: " + PREFIX.encode() + b"ListStreams\r\nBad\x01Header: v\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64) + b"\r\n\r\n",  # a TLS hello
        ]
        for data in cases:
            c = RawConn(self.port)
            c.send(data)
            r = c.read_response()
            self.assertEqual(r.status, 400, (data[:40], r))
            self.assertTrue(r.header("x-amzn-requestid"))
            self.assertTrue(c.at_eof(), "not closed after 400 for %r" % data[:40])
            c.close()
        self.put_and_read_back("after-malformed")

    def test_random_garbage_never_crashes(self):
        import random
        rnd = random.Random(1234)
        templates = [request_bytes("ListStreams", b"{}"), request_bytes("PutRecord", b'{"StreamName":"proto"}'),
                     request_bytes("ListStreams", b"", extra=["Transfer-Encoding: chunked"]) + chunked([b"{}"])]
        for i in range(300):
            data = bytearray(rnd.choice(templates))
            for _ in range(rnd.randint(1, 8)):
                pos = rnd.randrange(len(data))
                op = rnd.randrange(3)
                if op == 0:
                    data[pos] = rnd.randrange(256)
                elif op == 1:
                    del data[pos]
                else:
                    data[pos:pos] = bytes([rnd.randrange(256)]) * rnd.randint(1, 20)
            c = RawConn(self.port, timeout=REQUEST_MS / 1000 + 3)
            try:
                c.send(bytes(data))
                c.sock.shutdown(socket.SHUT_WR)
                while c.sock.recv(65536):
                    pass
            except OSError:
                pass
            c.close()
        self.put_and_read_back("after-garbage")

    def test_header_too_large(self):
        c = RawConn(self.port)
        c.send(request_bytes("ListStreams", b"{}", extra=["X-Big: " + "a" * (40 << 10)]))
        r = c.read_response()
        self.assertEqual(r.status, 431, r)
        self.assertTrue(c.at_eof())
        c.close()
        c = RawConn(self.port)
        c.send(request_bytes("ListStreams", b"{}", extra=["X-H%d: %s" % (i, "v" * 100) for i in range(500)]))
        self.assertEqual(c.read_response().status, 431)
        c.close()

    # --- slow, idle, half-closed, abandoned ---
    def test_half_closed_after_request(self):
        c = RawConn(self.port)
        c.send(request_bytes("ListStreams", b"{}"))
        c.sock.shutdown(socket.SHUT_WR)
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertTrue(c.at_eof())
        c.close()

    def test_half_closed_mid_request(self):
        for data in [b"POST / HTTP/1.1\r\nContent-Ty", request_bytes("ListStreams", b"{}")[:-1]]:
            c = RawConn(self.port)
            c.send(data)
            c.sock.shutdown(socket.SHUT_WR)
            self.assertTrue(c.at_eof(), "server kept a half-closed, incomplete request open")
            c.close()
        self.put_and_read_back("after-half-close")

    def test_idle_connection_closed(self):
        c = RawConn(self.port)
        t0 = time.monotonic()
        self.assertTrue(c.at_eof(IDLE_MS / 1000 + 3), "idle connection was not closed")
        self.assertGreater(time.monotonic() - t0, IDLE_MS / 1000 * 0.8)
        c.close()
        # Idle after a completed request too.
        c = RawConn(self.port)
        c.send(request_bytes("ListStreams", b"{}"))
        self.assertEqual(c.read_response().status, 200)
        self.assertTrue(c.at_eof(IDLE_MS / 1000 + 3))
        c.close()

    def test_slow_client_timed_out(self):
        c = RawConn(self.port)
        data = request_bytes("ListStreams", b"{}")
        t0 = time.monotonic()
        closed = False
        for i in range(len(data)):  # one byte every 0.25 s: ~20 s for the whole request
            try:
                c.send(data[i:i + 1])
            except OSError:
                closed = True
                break
            if c.at_eof(0.25):
                closed = True
                break
        elapsed = time.monotonic() - t0
        self.assertTrue(closed, "trickling client was never cut off")
        self.assertLess(elapsed, (IDLE_MS + REQUEST_MS) / 1000 + 3)
        c.close()

    def test_slow_connections_do_not_block_others(self):
        slow = []
        for i in range(200):
            c = RawConn(self.port)
            c.send(b"POST / HTTP/1.1\r\nX-Amz-Target: ")  # and then nothing
            slow.append(c)
        t0 = time.monotonic()
        for i in range(30):
            r = self.call("ListStreams", {})
            self.assertEqual(r.status, 200)
        self.assertLess(time.monotonic() - t0, 10)
        self.put_and_read_back("beside-slow-clients")
        for c in slow:
            c.close()

    def test_2000_connections_opened_and_dropped(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 2300
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
        n = min(2000, resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 100)
        self.assertGreaterEqual(n, 900, "file descriptor limit too low for this test")
        conns = []
        full = request_bytes("PutRecord", json.dumps({"StreamName": "proto", "PartitionKey": "drop",
                                                      "Data": b64("dropped")}).encode())
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            kind = i % 4
            try:
                if kind == 1:
                    s.sendall(full[: len(full) // 2])  # half a request
                elif kind == 2:
                    s.sendall(full)  # a whole request whose response nobody reads
                elif kind == 3:
                    s.sendall(b"\x00garbage\r\n\r\n")
            except OSError:
                pass
            conns.append(s)
        for i, s in enumerate(conns):
            if i % 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
            s.close()
        self.assertTrue(self.server.running(), self.server.log())
        self.put_and_read_back("after-2000-dropped")
        for i in range(50):
            self.assertEqual(self.call("ListStreams", {}).status, 200)


class ServerLifecycleTest(unittest.TestCase):
    def test_connection_cap(self):
        with h.Shoald(["--max-connections", "20"]) as s:
            held = [RawConn(s.port) for _ in range(20)]
            for c in held[:3]:  # make sure they are accepted and counted
                c.send(request_bytes("ListStreams", b"{}"))
                self.assertEqual(c.read_response().status, 200)
            time.sleep(0.3)
            over = [RawConn(s.port) for _ in range(5)]
            for c in over:
                self.assertTrue(c.at_eof(3), "connection over the cap was not closed")
                c.close()
            for c in held:
                c.close()
            time.sleep(0.3)
            c = RawConn(s.port)
            c.send(request_bytes("ListStreams", b"{}"))
            self.assertEqual(c.read_response().status, 200)
            c.close()

    def test_graceful_stop_finishes_in_flight_request(self):
        s = h.Shoald().start()
        try:
            idle = RawConn(s.port)  # an idle keep-alive connection must not delay the stop
            idle.send(request_bytes("ListStreams", b"{}"))
            self.assertEqual(idle.read_response().status, 200)
            body = json.dumps({"StreamName": "gs", "ShardCount": 1}).encode()
            busy = RawConn(s.port)
            head = request_bytes("CreateStream", body)
            busy.send(head[: len(head) - 5])  # headers and most of the body
            time.sleep(0.3)
            t0 = time.monotonic()
            s.proc.send_signal(15)
            time.sleep(0.5)
            self.assertTrue(idle.at_eof(3), "idle connection not closed by the stop")
            busy.send(head[len(head) - 5:])  # the request completes during the stop
            r = busy.read_response()
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header("connection", "").lower(), "close")
            self.assertTrue(busy.at_eof(3))
            idle.close()
            busy.close()
            rc = s.proc.wait(15)
            self.assertEqual(rc, 0, s.log())
            self.assertLess(time.monotonic() - t0, 10)
            s.proc.stdout.close()
            s.proc = None
            self.assertIn("stopped on SIGTERM", s.log())
            # The stream created by the in-flight request is there after a restart.
            s.start()
            self.assertEqual(ProtocolTest_call(s.port, "DescribeStreamSummary", {"StreamName": "gs"}).status, 200)
            s.stop()
        finally:
            s.cleanup()

    def test_startup_errors(self):
        with h.Shoald() as s:
            # Same data directory while it is locked by a running server: exit 1, clear message.
            other = h.Shoald(data_dir=s.data_dir)
            with self.assertRaises(AssertionError) as cm:
                other.start()
            self.assertIn("exited with 1", str(cm.exception))
            other.cleanup()
        # Port in use.
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        s = h.Shoald()
        s.args = [a for a in s.args] + ["--port", str(port)]
        import subprocess
        p = subprocess.run([s.binary, "--data-dir", s.data_dir] + s.args, capture_output=True, timeout=20)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn(b"bind", p.stderr)
        blocker.close()
        s.cleanup()
        # Usage error.
        p = subprocess.run([h.SHOALD, "--durability", "sometimes"], capture_output=True, timeout=20)
        self.assertEqual(p.returncode, 2, p)

    def test_key_file_and_fast_restart(self):
        with h.Shoald() as s:
            key = os.path.join(s.data_dir, "shoald.key")
            st = os.stat(key)
            self.assertEqual(st.st_mode & 0o777, 0o600)
            with open(key) as f:
                first = f.read()
            s.restart()
            with open(key) as f:
                second = f.read()
            self.assertEqual(second, first, "the iterator key changed across a restart")
            self.assertLess(s.startup_seconds, 1.0, "restart on an existing data dir took %.2fs" % s.startup_seconds)


def ProtocolTest_call(port, op, payload):
    c = RawConn(port)
    try:
        c.send(request_bytes(op, json.dumps(payload)))
        return c.read_response()
    finally:
        c.close()


if __name__ == "__main__":
    h.init_from_argv()
    h.run_tests()
