#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""DNS from inside a pod, for the fair-shares case of tests/e2e/dns.sh.

flood:   send --count A queries (EDNS0, 1232 bytes: answers of 32 addresses
         fit) for the names of --names in turn, evenly over --seconds, from
         one socket, reading whatever answers come; never waits for one.
lookups: --count sequential A lookups of --name, each from a fresh socket,
         each allowed --timeout seconds, then sent again up to --retries
         times (as a stub resolver does: glibc's attempts); an answer without
         --want, or none after the last try, is lost. Bounded by --seconds.

Prints one JSON object (counts, and for lookups latency figures in ms).
"""
import argparse
import json
import random
import select
import socket
import struct
import sys
import time


def query(qid, name):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack("!HH", 1, 1)
    return q + b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)  # OPT


def a_records(msg):
    """The A records' addresses of an answer (names skipped, not checked)."""
    def skip(off):
        for _ in range(128):
            n = msg[off]
            if n == 0:
                return off + 1
            if n & 0xC0 == 0xC0:
                return off + 2
            off += 1 + n
        raise ValueError("name too long")

    qd, an = struct.unpack("!HH", msg[4:8])
    off = 12
    for _ in range(qd):
        off = skip(off) + 4
    out = []
    for _ in range(an):
        off = skip(off)
        typ, _cls, _ttl, rdl = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        if typ == 1 and rdl == 4:
            out.append(socket.inet_ntoa(msg[off:off + 4]))
        off += rdl
    return out


def flood(a):
    # a hosts file ("ADDRESS NAME" lines) or one name a line, each name once
    names = list(dict.fromkeys(line.split()[-1] for line in open(a.names) if line.strip()))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    sent = answered = 0
    t0 = time.monotonic()
    end = t0 + a.seconds
    while sent < a.count and time.monotonic() < end + 1:
        due = t0 + a.seconds * sent / a.count
        now = time.monotonic()
        if now >= due:
            s.sendto(query(random.randrange(65536), names[sent % len(names)]), (a.server, 53))
            sent += 1
            continue
        r, _, _ = select.select([s], [], [], due - now)
        while r:
            try:
                s.recv(4096)
                answered += 1
            except BlockingIOError:
                break
    # the last answers
    dl = time.monotonic() + 1
    while time.monotonic() < dl:
        r, _, _ = select.select([s], [], [], dl - time.monotonic())
        if not r:
            break
        try:
            s.recv(4096)
            answered += 1
        except BlockingIOError:
            pass
    return {"sent": sent, "answered": answered, "seconds": round(time.monotonic() - t0, 2)}


def lookups(a):
    ok = lost = retried = 0
    lat = []
    first = []
    end = time.monotonic() + a.seconds
    for i in range(a.count):
        if time.monotonic() >= end:
            break
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(a.timeout)
        qid = random.randrange(65536)
        t = time.monotonic()
        got = None
        for attempt in range(a.retries + 1):
            try:
                s.sendto(query(qid, a.name), (a.server, 53))
                while True:
                    msg = s.recv(4096)
                    if len(msg) >= 12 and struct.unpack("!H", msg[:2])[0] == qid:
                        got = a_records(msg)
                        break
                break
            except socket.timeout as e:
                if attempt < a.retries:
                    retried += 1
                    continue
                if len(first) < 5:
                    first.append("%d: %s (after %d tries)" % (i, e, attempt + 1))
            except (OSError, ValueError, struct.error) as e:
                if len(first) < 5:
                    first.append("%d: %s" % (i, e))
                break
        s.close()
        if got is not None and a.want in got:
            ok += 1
            lat.append((time.monotonic() - t) * 1000)
        else:
            lost += 1
            if got is not None and len(first) < 5:
                first.append("%d: answered %s" % (i, got))
        time.sleep(a.interval)
    lat.sort()
    pct = (lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))], 2)) if lat else (lambda p: None)
    return {"sent": ok + lost, "ok": ok, "lost": lost, "retried": retried, "p50_ms": pct(0.5),
            "p99_ms": pct(0.99), "first_failures": first}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["flood", "lookups"])
    p.add_argument("--server", required=True)
    p.add_argument("--names")
    p.add_argument("--name")
    p.add_argument("--want")
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--timeout", type=float, default=2)
    p.add_argument("--retries", type=int, default=0)
    p.add_argument("--interval", type=float, default=0.05)
    a = p.parse_args()
    print(json.dumps(flood(a) if a.mode == "flood" else lookups(a)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
