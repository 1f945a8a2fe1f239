#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Resolve, then connect at once: the podwall "no first-packet race" check.

Runs inside an enforced pod. For each "ADDRESS NAME" line of --hosts (the same
file the resolver serves), in order: send our own UDP DNS query for NAME (A if
ADDRESS is IPv4, AAAA if IPv6) to --server from a fresh socket, and the moment
the answer arrives connect over TCP to the address it carries and read the
server's banner. Nothing is retried: a lost answer, a wrong answer, or a
connection that does not complete within --connect-timeout (below the kernel's
1 s initial SYN retransmission timeout, so a dropped first SYN is a failure,
not a slow success) all count as failures.

Bounded: at most --count iterations and --seconds in all. Prints one JSON
object: counts, failure kinds, the first failures, and latency figures.
"""
import argparse
import json
import os
import socket
import struct
import sys
import time


def build_query(qid, name, qtype):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack("!HH", qtype, 1)


def skip_name(msg, off):
    for _ in range(128):
        if off >= len(msg):
            raise ValueError("truncated name")
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n
    raise ValueError("name too long")


def parse_answer(msg, qid, qtype):
    if len(msg) < 12:
        raise ValueError("short message")
    rid, flags, qd, an, _, _ = struct.unpack("!HHHHHH", msg[:12])
    if rid != qid:
        raise ValueError("id mismatch")
    if flags & 0x000F:
        raise ValueError("rcode %d" % (flags & 0xF))
    off = 12
    for _ in range(qd):
        off = skip_name(msg, off) + 4
    addrs = []
    for _ in range(an):
        off = skip_name(msg, off)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        rdata = msg[off:off + rdlen]
        off += rdlen
        if rtype == qtype == 1 and rdlen == 4:
            addrs.append(socket.inet_ntop(socket.AF_INET, rdata))
        elif rtype == qtype == 28 and rdlen == 16:
            addrs.append(socket.inet_ntop(socket.AF_INET6, rdata))
    return addrs


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(len(v) * p / 100.0))] * 1000.0, 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--hosts", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=150)
    ap.add_argument("--dns-timeout", type=float, default=2.0)
    ap.add_argument("--connect-timeout", type=float, default=0.9)
    args = ap.parse_args()

    entries = []
    with open(args.hosts) as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2 and not parts[0].startswith("#"):
                entries.append((parts[0], parts[1]))
    entries = entries[:args.count]

    fam_dns = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    kinds = {}
    first = []
    dns_t, conn_t = [], []
    done = 0
    start = time.monotonic()
    deadline = start + args.seconds

    def failed(kind, i, name, detail):
        kinds[kind] = kinds.get(kind, 0) + 1
        if len(first) < 10:
            first.append({"i": i, "name": name, "kind": kind, "detail": detail})

    for i, (want, name) in enumerate(entries):
        if time.monotonic() > deadline:
            break
        done += 1
        qtype = 28 if ":" in want else 1
        qid = struct.unpack("!H", os.urandom(2))[0]
        u = socket.socket(fam_dns, socket.SOCK_DGRAM)
        try:
            u.settimeout(args.dns_timeout)
            t0 = time.monotonic()
            u.sendto(build_query(qid, name, qtype), (args.server, 53))
            try:
                while True:
                    msg, _ = u.recvfrom(4096)
                    if len(msg) >= 2 and struct.unpack("!H", msg[:2])[0] == qid:
                        break
            except socket.timeout:
                failed("dns_timeout", i, name, "no answer in %.1fs" % args.dns_timeout)
                continue
            t1 = time.monotonic()
            dns_t.append(t1 - t0)
        finally:
            u.close()
        try:
            addrs = parse_answer(msg, qid, qtype)
        except (ValueError, struct.error) as e:
            failed("dns_bad_answer", i, name, str(e))
            continue
        if want not in addrs:
            failed("dns_wrong_answer", i, name, "got %s, want %s" % (addrs, want))
            continue
        # Connect at once: no sleep, no other work between answer and SYN.
        s = socket.socket(socket.AF_INET6 if ":" in want else socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.settimeout(args.connect_timeout)
            t2 = time.monotonic()
            s.connect((want, args.port))
            t3 = time.monotonic()
            data = b""
            while not data.endswith(b"\n") and len(data) < 64:
                chunk = s.recv(64)
                if not chunk:
                    break
                data += chunk
            if not data.startswith(b"hello"):
                failed("no_banner", i, name, repr(data))
                continue
            conn_t.append(t3 - t2)
        except OSError as e:
            failed("connect", i, name, "%s: %s after %.3fs" % (want, e, time.monotonic() - t2))
            continue
        finally:
            s.close()

    elapsed = time.monotonic() - start
    out = {
        "count": len(entries),
        "done": done,
        "failures": sum(kinds.values()) + (len(entries) - done),
        "not_run": len(entries) - done,
        "kinds": kinds,
        "first_failures": first,
        "elapsed_s": round(elapsed, 3),
        "dns_ms_p50": pct(dns_t, 50),
        "dns_ms_p99": pct(dns_t, 99),
        "dns_ms_max": pct(dns_t, 100),
        "connect_ms_p50": pct(conn_t, 50),
        "connect_ms_p99": pct(conn_t, 99),
        "connect_ms_max": pct(conn_t, 100),
    }
    print(json.dumps(out, sort_keys=True))
    return 0 if out["failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
