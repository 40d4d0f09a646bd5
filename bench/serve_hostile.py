#!/usr/bin/env python3
"""Throughput of `clearclip serve` under a mix of good and bad clients (issue 20), on loopback only.

Starts `bin/clearclip serve` on a free port, then runs N client threads for a bounded time: the good ones
segment a 640x480 picture again and again; the bad ones take turns at the attacks of the issue (slow
uploads, slow headers, a 35-byte GIF claiming 10000x10000, settings of 5329 windows, a client that leaves
in the middle of a long segmentation, a chunked body over the upload limit, one class with 10,000
synonyms, a foreign Host). Bad clients connect from 127.0.0.2, so that the per-address connection
limit is theirs, not the good clients'. Prints the status codes per kind of client, p50/p99 of the good
requests, their throughput, and the server's RSS before and after; writes the same as JSON.

    python3 bench/serve_hostile.py -m model.gguf [--clients 16] [--bad 6] [--seconds 60] [--threads 2]

Standard library only. Every loop is bounded by --seconds; the server is stopped with SIGTERM at the end
and its exit status is reported.
"""

import argparse
import http.client
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def png(width, height):
    """A smooth RGB picture as PNG (no third-party imaging library needed)."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            rows += bytes(((x * 255) // width, (y * 255) // height, 128 if y < height // 3 else 40))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + chunk(b"IEND", b""))


GIF_BOMB = bytes([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x10, 0x27, 0x10, 0x27, 0x80, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF,
                  0x2C, 0, 0, 0, 0, 0x10, 0x27, 0x10, 0x27, 0, 2, 2, 0x44, 0x01, 0, 0x3B])


def form(fields, files):
    boundary = "----clearclipbench%d" % threading.get_ident()
    out = bytearray()
    for name, value in fields:
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (boundary, name, value)).encode()
    for name, filename, data in files:
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n" % (boundary, name, filename)).encode()
        out += data + b"\r\n"
    out += ("--%s--\r\n" % boundary).encode()
    return "multipart/form-data; boundary=" + boundary, bytes(out)


def rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        return None
    return None


def java_pid(launcher_pid):
    """The launcher execs java, so its pid is the JVM's; fall back to a child if it forked."""
    try:
        with open("/proc/%d/cmdline" % launcher_pid, "rb") as f:
            if b"java" in f.read():
                return launcher_pid
    except OSError:
        pass
    out = subprocess.run(["pgrep", "-P", str(launcher_pid)], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else launcher_pid


class Bench:
    def __init__(self, host, port, seconds):
        self.host, self.port = host, port
        self.deadline = time.monotonic() + seconds
        self.statuses = defaultdict(Counter)
        self.good_latencies = []
        self.lock = threading.Lock()
        self.scene = png(640, 480)
        self.long_picture = png(4000, 3000)

    def record(self, kind, status, latency=None):
        with self.lock:
            self.statuses[kind][str(status)] += 1
            if latency is not None and status == 200:
                self.good_latencies.append(latency)

    def connection(self, bad, timeout=120):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout,
                                          source_address=("127.0.0.2", 0) if bad else None)

    def post(self, kind, path, content_type, body, bad, headers=None, timeout=120):
        c = self.connection(bad, timeout)
        start = time.monotonic()
        try:
            h = {"Content-Type": content_type}
            h.update(headers or {})
            c.request("POST", path, body=body, headers=h)
            r = c.getresponse()
            r.read()
            self.record(kind, r.status, time.monotonic() - start)
        except (OSError, http.client.HTTPException) as e:
            self.record(kind, type(e).__name__)
        finally:
            c.close()

    def good(self):
        while time.monotonic() < self.deadline:
            ctype, body = form([("classes", "sky;grass;road")], [("image", "scene.png", self.scene)])
            self.post("good", "/v1/segment", ctype, body, False)

    def raw_socket(self):
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.settimeout(5)
        s.connect((self.host, self.port))
        return s

    def slow_upload(self):
        s = self.raw_socket()
        kind = "slow_upload"
        try:
            s.sendall(("POST /v1/segment HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                       "Content-Length: 100000\r\n\r\n" % (self.host, self.port)).encode())
            while time.monotonic() < self.deadline:
                if select.select([s], [], [], 0)[0]:
                    self.record(kind, self.answer_of(s))
                    return
                s.sendall(b"x")
                time.sleep(2)
            self.record(kind, "still_open")
        except OSError:
            self.record(kind, self.answer_of(s))
        finally:
            s.close()

    def answer_of(self, s):
        try:
            s.settimeout(2)
            data = s.recv(64)
            m = re.match(rb"HTTP/1\.1 (\d+)", data)
            return m.group(1).decode() if m else "closed"
        except OSError:
            return "closed"

    def slow_headers(self):
        s = self.raw_socket()
        try:
            s.sendall(b"GET /health HTTP/1.1\r\n")
            while time.monotonic() < self.deadline:
                s.sendall(b"X-a: b\r\n")
                time.sleep(5)
            self.record("slow_headers", "still_open")
        except OSError:
            self.record("slow_headers", "closed")
        finally:
            s.close()

    def leaver(self):
        s = self.raw_socket()
        ctype, body = form([("classes", "sky;grass"), ("short_side", "0")], [("image", "big.png", self.long_picture)])
        try:
            s.sendall(("POST /v1/segment HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                       % (self.host, self.port, ctype, len(body))).encode() + body)
            time.sleep(1.0)
            self.record("leaver", "left")
        except OSError as e:
            self.record("leaver", type(e).__name__)
        finally:
            s.close()

    def bad(self, index):
        attacks = [
            self.slow_upload,
            lambda: self.post("gif_bomb", "/v1/segment", *form([("classes", "sky")], [("image", "b.gif", GIF_BOMB)]),
                              True),
            lambda: self.post("windows", "/v1/segment",
                              *form([("classes", "sky"), ("short_side", "16384")], [("image", "s.png", self.scene)]),
                              True),
            self.leaver,
            lambda: self.post("chunked_over_limit", "/v1/embed", "application/json",
                              iter([b'{"text":["'] + [b"a" * 65536] * 400 + [b'"]}']), True),
            lambda: self.post("synonyms", "/v1/segment",
                              *form([("classes", "thing" + "".join(",n%d" % i for i in range(10000)))],
                                    [("image", "s.png", self.scene)]), True),
            lambda: self.post("foreign_host", "/v1/segment", *form([("classes", "sky")], [("image", "s.png", self.scene)]),
                              True, {"Host": "attacker.example"}),
            self.slow_headers,
        ]
        i = index
        while time.monotonic() < self.deadline:
            attacks[i % len(attacks)]()
            i += 1


def percentile(values, p):
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", required=True)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--bad", type=int, default=6, help="how many of the clients attack (default 6)")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--contexts", type=int, default=2)
    ap.add_argument("--launcher", default=os.path.join(ROOT, "bin", "clearclip"))
    ap.add_argument("--jvm-opts", default="", help="CLEARCLIP_JAVA_OPTS of the server, e.g. -Xmx768m")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "serve_hostile.json"))
    args = ap.parse_args()

    cmd = [args.launcher, "--threads", str(args.threads), "serve", "-m", args.model, "--port", "0",
           "--contexts", str(args.contexts), "--max-upload-mb", "20"]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    log_path = os.path.splitext(args.out)[0] + ".server.log"
    log_file = open(log_path, "w")
    env = dict(os.environ)
    if args.jvm_opts:
        env["CLEARCLIP_JAVA_OPTS"] = (env.get("CLEARCLIP_JAVA_OPTS", "") + " " + args.jvm_opts).strip()
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log_file, text=True, env=env)
    try:
        line = server.stdout.readline()
        m = re.match(r"listening on http://([^:]+):(\d+)", line)
        if not m:
            log_file.close()
            print("server did not start: %r %s" % (line, open(log_path).read()), file=sys.stderr)
            return 1
        host, port = m.group(1), int(m.group(2))
        pid = java_pid(server.pid)
        before = rss_mb(pid)
        bench = Bench(host, port, args.seconds)
        threads = [threading.Thread(target=bench.good) for _ in range(args.clients - args.bad)]
        threads += [threading.Thread(target=bench.bad, args=(i,)) for i in range(args.bad)]
        start = time.monotonic()
        for t in threads:
            t.start()
        peak = before or 0
        while any(t.is_alive() for t in threads):
            time.sleep(1)
            r = rss_mb(pid)
            peak = max(peak, r or 0)
        elapsed = time.monotonic() - start
        after = rss_mb(pid)
        health = http.client.HTTPConnection(host, port, timeout=10)
        health.request("GET", "/health")
        health_status = health.getresponse().status
        server.send_signal(signal.SIGTERM)
        exit_status = server.wait(timeout=120)
        log_file.close()
        with open(log_path) as f:
            log = f.read()
        reasons = {
            "timeout": log.count("stopped past --request-timeout"),
            "client_closed": log.count("the client closed the connection"),
            "shutting_down": log.count("stopped: the server is stopping"),
            "out_of_memory": log.count("out of memory"),
            "internal_error": log.count("internal error"),
        }
        good = bench.good_latencies
        report = {
            "clients": args.clients, "bad_clients": args.bad, "seconds": round(elapsed, 1),
            "threads": args.threads, "contexts": args.contexts, "jvm_opts": args.jvm_opts,
            "statuses": {k: dict(v) for k, v in sorted(bench.statuses.items())},
            "good_ok": len(good), "good_per_second": round(len(good) / elapsed, 2),
            "good_p50_ms": round(1000 * percentile(good, 50), 1) if good else None,
            "good_p99_ms": round(1000 * percentile(good, 99), 1) if good else None,
            "rss_mb_before": before, "rss_mb_after": after, "rss_mb_peak": peak,
            "health_after": health_status, "exit_status": exit_status, "server_log": reasons,
        }
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(report, f, indent=2)
        print(json.dumps(report, indent=2))
        return 0
    finally:
        if server.poll() is None:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
