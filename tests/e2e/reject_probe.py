#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""What a pod's client sees of a denied destination (tests/e2e/reject.sh).
Run inside the pod's network namespace; every wait is bounded.

    reject_probe.py tcp IP PORT [--timeout S]
        connect(); prints "refused MS", "timeout MS", "error ERRNO MS" or
        "connected MS" (MS: milliseconds the connect took).
    reject_probe.py udp IP PORT [--timeout S]
        a connected UDP socket with IP(V6)_RECVERR sends one datagram; prints
        "icmp TYPE CODE ERRNO MS" for the ICMP error the kernel queued, or
        "timeout MS".
    reject_probe.py flood SRC IP PORT N [--wait S]
        N TCP SYNs from SRC (a raw socket, distinct source ports, sent as
        fast as they go), then S seconds of listening on the same raw socket;
        prints "sent N rst R secs T": R RSTs from IP:PORT to those ports,
        T seconds from the first SYN to the end of the listening.
"""

import argparse
import errno
import os
import select
import socket
import struct
import sys
import time

SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6 = 2, 3
IP_RECVERR, IPV6_RECVERR = 11, 25


def family_of(ip):
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def ms_since(t0):
    return int((time.monotonic() - t0) * 1000)


def tcp(a):
    s = socket.socket(family_of(a.ip), socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    t0 = time.monotonic()
    try:
        s.connect((a.ip, a.port))
        print("connected %d" % ms_since(t0))
    except ConnectionRefusedError:
        print("refused %d" % ms_since(t0))
    except socket.timeout:
        print("timeout %d" % ms_since(t0))
    except OSError as e:
        print("error %s %d" % (errno.errorcode.get(e.errno, e.errno), ms_since(t0)))
    finally:
        s.close()
    return 0


def udp(a):
    fam = family_of(a.ip)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if fam == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    else:
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
    s.connect((a.ip, a.port))
    t0 = time.monotonic()
    s.send(os.urandom(8))
    deadline = t0 + a.timeout
    while time.monotonic() < deadline:
        p = select.poll()
        p.register(s, select.POLLERR | select.POLLIN)
        if not p.poll(max(1, int((deadline - time.monotonic()) * 1000))):
            continue
        try:
            _, anc, _, _ = s.recvmsg(512, 512, socket.MSG_ERRQUEUE)
        except BlockingIOError:
            s.recv(2048)  # an answer, not an error: keep waiting
            continue
        for level, kind, data in anc:
            if len(data) >= 16:
                ee_errno, origin, typ, code = struct.unpack_from("=IBBB", data)
                if origin in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6):
                    print("icmp %d %d %s %d" % (typ, code, errno.errorcode.get(ee_errno, ee_errno),
                                                ms_since(t0)))
                    return 0
    print("timeout %d" % ms_since(t0))
    return 0


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def flood(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    src, dst = socket.inet_aton(a.src), socket.inet_aton(a.ip)
    ports = set()
    t0 = time.monotonic()
    for i in range(a.n):
        sport = 20000 + i
        ports.add(sport)
        hdr = struct.pack("!HHIIBBHHH", sport, a.port, 1000 + i, 0, 5 << 4, 0x02, 64240, 0, 0)
        pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(hdr))
        hdr = hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:]
        s.sendto(hdr, (a.ip, 0))
    rst = 0
    deadline = time.monotonic() + a.wait
    while time.monotonic() < deadline:
        r, _, _ = select.select([s], [], [], max(0.01, deadline - time.monotonic()))
        if not r:
            continue
        pkt, _ = s.recvfrom(2048)
        ihl = (pkt[0] & 0x0f) * 4
        if len(pkt) < ihl + 20 or pkt[12:16] != dst:
            continue
        sp, dp = struct.unpack_from("!HH", pkt, ihl)
        if sp == a.port and dp in ports and pkt[ihl + 13] & 0x04:
            rst += 1
    print("sent %d rst %d secs %.2f" % (a.n, rst, time.monotonic() - t0))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    for name in ("tcp", "udp"):
        p = sub.add_parser(name)
        p.add_argument("ip")
        p.add_argument("port", type=int)
        p.add_argument("--timeout", type=float, default=2.0)
    p = sub.add_parser("flood")
    p.add_argument("src")
    p.add_argument("ip")
    p.add_argument("port", type=int)
    p.add_argument("n", type=int)
    p.add_argument("--wait", type=float, default=1.0)
    a = ap.parse_args()
    if a.mode == "flood" and not 0 < a.n <= 10000:
        sys.exit("flood: N must be 1..10000")
    return {"tcp": tcp, "udp": udp, "flood": flood}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
