#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Small network tools for the podwall e2e tests (stdlib only).

Every mode is bounded in time; nothing here picks an address by itself: the
harness passes the (documentation-range or test-private) addresses to use.

  serve   --log F --iface IF --addrs A,B --tcp P,Q --echo P --udp P,Q [--seconds N]
          the "internet": a banner server ("hello PORT\\n") on each --tcp port, a
          TCP echo server on each --echo port and a UDP echo server on each --udp
          port, on every address; and a packet logger on IF that writes one line
          per incoming TCP SYN, UDP datagram and ICMP packet:
              pkt PROTO SRC DST DPORT
          so a test can prove that no packet reached the server at all.
  listen  --port P [--seconds N]                   banner server in a pod
  connect IP PORT [--timeout T] [--src IP]         TCP connect + read banner: exit 0/1
  udp     IP PORT [--timeout T] [--src IP]         one datagram, wait for the echo
  stream  IP PORT --out F --seconds N              echo stream, progress lines "T BYTES"
"""
import argparse
import os
import select
import selectors
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def family_of(ip):
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def log_line(fh, text):
    fh.write(text + "\n")
    fh.flush()


def parse_frame(frame):
    """Return (proto, src, dst, dport, is_syn) for an Ethernet frame, or None."""
    if len(frame) < 14:
        return None
    etype = struct.unpack("!H", frame[12:14])[0]
    off = 14
    if etype == 0x0800:
        if len(frame) < off + 20:
            return None
        ihl = (frame[off] & 0x0F) * 4
        proto = frame[off + 9]
        src = socket.inet_ntop(socket.AF_INET, frame[off + 12:off + 16])
        dst = socket.inet_ntop(socket.AF_INET, frame[off + 16:off + 20])
        l4 = off + ihl
    elif etype == 0x86DD:
        if len(frame) < off + 40:
            return None
        proto = frame[off + 6]
        src = socket.inet_ntop(socket.AF_INET6, frame[off + 8:off + 24])
        dst = socket.inet_ntop(socket.AF_INET6, frame[off + 24:off + 40])
        l4 = off + 40
    else:
        return None
    if proto == 6 and len(frame) >= l4 + 14:
        dport = struct.unpack("!H", frame[l4 + 2:l4 + 4])[0]
        flags = frame[l4 + 13]
        return ("tcp", src, dst, dport, bool(flags & 0x02) and not flags & 0x10)
    if proto == 17 and len(frame) >= l4 + 4:
        dport = struct.unpack("!H", frame[l4 + 2:l4 + 4])[0]
        return ("udp", src, dst, dport, False)
    if proto in (1, 58):
        return ("icmp", src, dst, 0, False)
    return ("ip%d" % proto, src, dst, 0, False)


def serve(args):
    out = open(args.log, "a")
    sel = selectors.DefaultSelector()
    addrs = [a for a in args.addrs.split(",") if a]
    ports = lambda s: [int(p) for p in s.split(",") if p]
    for addr in addrs:
        fam = family_of(addr)
        for kind, plist in (("tcp", ports(args.tcp)), ("echo", ports(args.echo))):
            for port in plist:
                s = socket.socket(fam, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((addr, port))
                s.listen(64)
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ, ("accept", kind, port))
        for port in ports(args.udp):
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.bind((addr, port))
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, ("udp", "udp", port))
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    raw.bind((args.iface, 0))
    raw.setblocking(False)
    sel.register(raw, selectors.EVENT_READ, ("raw", "", 0))
    log_line(out, "ready %d" % os.getpid())
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1.0):
            what, kind, port = key.data
            s = key.fileobj
            try:
                if what == "raw":
                    for _ in range(256):
                        try:
                            frame, addr = s.recvfrom(65535)
                        except BlockingIOError:
                            break
                        if addr[2] == PACKET_OUTGOING:
                            continue
                        p = parse_frame(frame)
                        if p and (p[0] != "tcp" or p[4]):
                            log_line(out, "pkt %s %s %s %d" % p[:4])
                elif what == "accept":
                    c, peer = s.accept()
                    local = c.getsockname()
                    log_line(out, "conn %s %s %s %d" % (kind, peer[0], local[0], local[1]))
                    if kind == "tcp":
                        c.setblocking(True)
                        c.settimeout(1.0)
                        try:
                            c.sendall(b"hello %d\n" % port)
                        except OSError:
                            pass
                        c.close()
                    else:
                        c.setblocking(False)
                        sel.register(c, selectors.EVENT_READ, ("echo-conn", "echo", port))
                elif what == "echo-conn":
                    try:
                        data = s.recv(65536)
                    except BlockingIOError:
                        continue
                    if not data:
                        sel.unregister(s)
                        s.close()
                        continue
                    s.setblocking(True)
                    s.settimeout(2.0)
                    s.sendall(data)
                    s.setblocking(False)
                elif what == "udp":
                    data, peer = s.recvfrom(65535)
                    local = s.getsockname()
                    log_line(out, "dgram udp %s %s %d %d" % (peer[0], local[0], local[1], len(data)))
                    s.sendto(data, peer)
            except OSError as e:
                if what == "echo-conn":
                    try:
                        sel.unregister(s)
                    except (KeyError, ValueError):
                        pass
                    s.close()
                else:
                    log_line(out, "error %s %s" % (what, e))
    return 0


def listen(args):
    fam = socket.AF_INET6
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", args.port))
    s.listen(16)
    print("ready", flush=True)
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        r, _, _ = select.select([s], [], [], 1.0)
        if not r:
            continue
        c, peer = s.accept()
        print("conn %s" % peer[0], flush=True)
        c.settimeout(1.0)
        try:
            c.sendall(b"hello %d\n" % args.port)
        except OSError:
            pass
        c.close()
    return 0


def make_sock(ip, kind, src):
    s = socket.socket(family_of(ip), kind)
    if src:
        s.bind((src, 0))
    return s


def connect(args):
    s = make_sock(args.ip, socket.SOCK_STREAM, args.src)
    s.settimeout(args.timeout)
    try:
        s.connect((args.ip, args.port))
        data = b""
        while not data.endswith(b"\n") and len(data) < 64:
            chunk = s.recv(64)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        print("connect %s:%d: %s" % (args.ip, args.port, e), file=sys.stderr)
        return 1
    finally:
        s.close()
    if not data.startswith(b"hello"):
        print("connect %s:%d: no banner (%r)" % (args.ip, args.port, data), file=sys.stderr)
        return 1
    return 0


def udp(args):
    s = make_sock(args.ip, socket.SOCK_DGRAM, args.src)
    s.settimeout(args.timeout)
    token = os.urandom(8).hex().encode()
    try:
        s.sendto(token, (args.ip, args.port))
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            data, _ = s.recvfrom(2048)
            if data == token:
                return 0
    except OSError as e:
        print("udp %s:%d: %s" % (args.ip, args.port, e), file=sys.stderr)
    return 1


def stream(args):
    out = open(args.out, "a")
    s = make_sock(args.ip, socket.SOCK_STREAM, None)
    s.settimeout(3.0)
    try:
        s.connect((args.ip, args.port))
    except OSError as e:
        log_line(out, "error connect %s" % e)
        return 1
    s.settimeout(1.0)
    chunk = b"x" * 1024
    total = 0
    start = time.monotonic()
    last = 0.0
    log_line(out, "start")
    while time.monotonic() - start < args.seconds:
        try:
            s.sendall(chunk)
            got = 0
            while got < len(chunk):
                data = s.recv(len(chunk) - got)
                if not data:
                    log_line(out, "error closed")
                    return 1
                got += len(data)
            total += got
        except socket.timeout:
            pass
        except OSError as e:
            log_line(out, "error %s" % e)
            return 1
        now = time.monotonic()
        if now - last >= 0.2:
            log_line(out, "%.2f %d" % (now - start, total))
            last = now
        time.sleep(0.002)
    log_line(out, "done %d" % total)
    s.close()
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("serve")
    p.add_argument("--log", required=True)
    p.add_argument("--iface", required=True)
    p.add_argument("--addrs", required=True)
    p.add_argument("--tcp", default="")
    p.add_argument("--echo", default="")
    p.add_argument("--udp", default="")
    p.add_argument("--seconds", type=float, default=3600)
    p = sub.add_parser("listen")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--seconds", type=float, default=3600)
    for name in ("connect", "udp"):
        p = sub.add_parser(name)
        p.add_argument("ip")
        p.add_argument("port", type=int)
        p.add_argument("--timeout", type=float, default=2.0)
        p.add_argument("--src")
    p = sub.add_parser("stream")
    p.add_argument("ip")
    p.add_argument("port", type=int)
    p.add_argument("--out", required=True)
    p.add_argument("--seconds", type=float, default=30)
    args = ap.parse_args()
    return {"serve": serve, "listen": listen, "connect": connect, "udp": udp,
            "stream": stream}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
