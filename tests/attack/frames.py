#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Hostile frames and helpers for podwall's attack and fault suites.

Run with Debian's /usr/bin/python3 (python3-scapy). Everything is bounded in
count and time, and every address comes from the command line: the harness
passes documentation-range or test-private addresses only.

  send KIND --dst IP [--src IP] [--dport N] [--alt IP] [--id N] [--count N]
      one attack frame (or a few) out of eth0 of the calling netns; KIND is one
      of KINDS below. The frames carry IP id / flow label --id so a capture can
      find them.
  capture --iface IF --out F [--seconds N] [--ignore IP,IP]
      log every IPv4/IPv6 frame arriving on IF, one line each:
      cap PROTO SRC DST SPORT DPORT FRAG IPID   (FRAG: - or f)
  dnsq SERVER NAME [--type A] [--sport N] [--id N] [--wait S]
      one DNS query from a fixed source port and id; print the answers' addresses
  forge --resolver IP --dst IP --dport N --id N --name NAME --addr IP [...]
      a forged DNS answer (source address and port 53 of the resolver)
  xdns --addr IP [--seconds N] [--log F] [--a IP --b IP --c IP]
      a DNS server whose answers are crafted per name (see XDNS_HELP)
  synflood --dst IP --count N [--sport-base N] [--dport-lo N --dport-hi N]
      N TCP SYNs with distinct (sport, dport), raw socket, prebuilt bytes
  dnsflood --server IP --count N --name NAME
      N DNS queries with distinct ids and source ports, raw socket
  mapfill PIN_PATH --kind learned|pend --count N --ep-id N [--delete]
      fill (or empty) a podwall map directly with entries that grant nothing
  idle IP PORT --out F --first S --then S
      TCP echo: one exchange, idle, further exchanges; log each result
"""
import argparse
import ctypes
import os
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def scapy():
    import logging
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    import scapy.all as s  # noqa: E402
    s.conf.verb = 0
    return s


def is6(ip):
    return ":" in ip


def iface_macs(iface):
    with open("/sys/class/net/%s/address" % iface) as f:
        src = f.read().strip()
    return src


def gw_mac(iface, gw):
    """The pinned neighbour entry for the gateway (the harness pins it)."""
    import subprocess
    out = subprocess.run(["ip", "neigh", "show", gw, "dev", iface], capture_output=True,
                         text=True, timeout=5).stdout.split()
    if "lladdr" in out:
        return out[out.index("lladdr") + 1]
    return "ff:ff:ff:ff:ff:ff"


# ------------------------------------------------------------------ send

KINDS = {}


def kind(name):
    def deco(fn):
        KINDS[name] = fn
        return fn
    return deco


def l3(s, a, src, dst, **kw):
    if is6(dst):
        return s.IPv6(src=src, dst=dst, fl=a.id & 0xfffff, **kw)
    return s.IP(src=src, dst=dst, id=a.id & 0xffff, **kw)


def syn(s, a, dport=None, sport=None):
    return s.TCP(sport=sport or a.sport, dport=dport or a.dport, flags="S", seq=1000)


@kind("tcp")  # a plain SYN (controls)
def k_tcp(s, a):
    return [l3(s, a, a.src, a.dst) / syn(s, a)]


@kind("udp")
def k_udp(s, a):
    return [l3(s, a, a.src, a.dst) / s.UDP(sport=a.sport, dport=a.dport) / (b"x" * 16)]


@kind("icmp")
def k_icmp(s, a):
    if is6(a.dst):
        return [l3(s, a, a.src, a.dst) / s.ICMPv6EchoRequest(id=a.id & 0xffff, seq=1)]
    return [l3(s, a, a.src, a.dst) / s.ICMP(type=8, id=a.id & 0xffff, seq=1) / b"ping"]


def tcp_bytes(s, a, dport, src, dst):
    """A SYN with 16 bytes of payload, checksummed over the pseudo-header, as raw bytes."""
    return bytes(s.IP(src=src, dst=dst) / s.TCP(sport=a.sport, dport=dport, flags="S", seq=1000) /
                 (b"p" * 16))[20:]


def frag4(s, a, proto, payload, pieces):
    """pieces: list of (offset_in_8_bytes, start, end, more) over payload."""
    out = []
    for off, b0, b1, mf in pieces:
        out.append(s.IP(src=a.src, dst=a.dst, id=a.id & 0xffff, proto=proto, frag=off,
                        flags="MF" if mf else 0) / s.Raw(payload[b0:b1]))
    return out


@kind("frag-first")  # first fragment only, TCP header complete, denied port
def k_frag_first(s, a):
    p = tcp_bytes(s, a, a.dport, a.src, a.dst)
    return frag4(s, a, 6, p, [(0, 0, 24, True)])


@kind("frag-later")  # a later fragment only
def k_frag_later(s, a):
    p = tcp_bytes(s, a, a.dport, a.src, a.dst)
    return frag4(s, a, 6, p, [(3, 24, 36, False)])


@kind("frag-whole")  # a complete datagram in two fragments (denied port)
def k_frag_whole(s, a):
    p = tcp_bytes(s, a, a.dport, a.src, a.dst)
    return frag4(s, a, 6, p, [(0, 0, 24, True), (3, 24, 36, False)])


@kind("frag-ooo")  # same, last fragment first
def k_frag_ooo(s, a):
    p = tcp_bytes(s, a, a.dport, a.src, a.dst)
    return frag4(s, a, 6, p, [(3, 24, 36, False), (0, 0, 24, True)])


@kind("frag-tiny")  # tiny first fragment: 8 bytes, TCP flags in the second
def k_frag_tiny(s, a):
    p = tcp_bytes(s, a, a.dport, a.src, a.dst)
    return frag4(s, a, 6, p, [(0, 0, 8, True), (1, 8, 36, False)])


@kind("frag-overlap")  # first says an allowed port (--alt-port), an overlap rewrites it
def k_frag_overlap(s, a):
    good = tcp_bytes(s, a, a.alt_port, a.src, a.dst)
    bad = tcp_bytes(s, a, a.dport, a.src, a.dst)
    return frag4(s, a, 6, good, [(0, 0, 16, True)]) + frag4(s, a, 6, bad, [(0, 0, 16, True)]) + \
        frag4(s, a, 6, bad, [(2, 16, 36, False)])


@kind("frag-udp")  # a UDP datagram to a denied port, in two fragments
def k_frag_udp(s, a):
    u = bytes(s.IP(src=a.src, dst=a.dst) / s.UDP(sport=a.sport, dport=a.dport) / (b"u" * 24))[20:]
    return frag4(s, a, 17, u, [(0, 0, 16, True), (2, 16, 32, False)])


def ipopt(s, a, opts):
    return [s.IP(src=a.src, dst=a.dst, id=a.id & 0xffff, options=opts) / syn(s, a)]


@kind("ipopt-lsrr")  # loose source route through the denied --alt address
def k_lsrr(s, a):
    return ipopt(s, a, [s.IPOption_LSRR(routers=[a.alt])])


@kind("ipopt-ssrr")
def k_ssrr(s, a):
    return ipopt(s, a, [s.IPOption_SSRR(routers=[a.alt])])


@kind("ipopt-rr")
def k_rr(s, a):
    return ipopt(s, a, [s.IPOption_RR(routers=["0.0.0.0"] * 3)])


@kind("ipopt-nop")
def k_nop(s, a):
    return ipopt(s, a, [s.IPOption_NOP()] * 4)


@kind("ipopt-ra")  # router alert
def k_ra(s, a):
    return ipopt(s, a, [s.IPOption_Router_Alert()])


def v6(s, a, *ext, final=None):
    pkt = s.IPv6(src=a.src, dst=a.dst, fl=a.id & 0xfffff)
    for e in ext:
        pkt = pkt / e
    return [pkt / (final if final is not None else syn(s, a))]


@kind("v6-hbh")
def k_v6_hbh(s, a):
    return v6(s, a, s.IPv6ExtHdrHopByHop(options=[s.PadN(optdata=b"\x00" * 4)]))


@kind("v6-dst")
def k_v6_dst(s, a):
    return v6(s, a, s.IPv6ExtHdrDestOpt(options=[s.PadN(optdata=b"\x00" * 4)]))


@kind("v6-chain")  # hop-by-hop, destination options x2, then TCP
def k_v6_chain(s, a):
    return v6(s, a, s.IPv6ExtHdrHopByHop(), s.IPv6ExtHdrDestOpt(), s.IPv6ExtHdrDestOpt())


@kind("v6-long")  # more extension headers than the parser walks
def k_v6_long(s, a):
    return v6(s, a, s.IPv6ExtHdrHopByHop(), *[s.IPv6ExtHdrDestOpt() for _ in range(6)])


@kind("v6-rh0")  # routing type 0 through the denied --alt address
def k_v6_rh0(s, a):
    return v6(s, a, s.IPv6ExtHdrRouting(type=0, addresses=[a.alt], segleft=1))


@kind("v6-rh2")
def k_v6_rh2(s, a):
    return v6(s, a, s.IPv6ExtHdrRouting(type=2, addresses=[a.alt], segleft=1))


@kind("v6-rh4")  # segment routing header
def k_v6_rh4(s, a):
    return v6(s, a, s.IPv6ExtHdrSegmentRouting(addresses=[a.alt, a.dst], segleft=1, lastentry=1))


@kind("v6-frag")  # a fragment header carrying the first fragment
def k_v6_frag(s, a):
    return v6(s, a, s.IPv6ExtHdrFragment(offset=0, m=1, id=a.id))


@kind("v6-frag-atomic")  # an atomic fragment (offset 0, no more)
def k_v6_frag_atomic(s, a):
    return v6(s, a, s.IPv6ExtHdrFragment(offset=0, m=0, id=a.id))


@kind("v6-frag-later")
def k_v6_frag_later(s, a):
    return v6(s, a, s.IPv6ExtHdrFragment(offset=3, m=0, id=a.id, nh=6), final=s.Raw(b"z" * 16))


@kind("v6-unknown")  # an unknown next header (253, experimental) wrapping TCP
def k_v6_unknown(s, a):
    pkt = s.IPv6(src=a.src, dst=a.dst, fl=a.id & 0xfffff, nh=253)
    return [pkt / s.Raw(bytes([6, 0]) + b"\x00" * 6 + bytes(syn(s, a)))]


@kind("v6-dst-unknown")  # destination options whose next header is unknown
def k_v6_dst_unknown(s, a):
    return v6(s, a, s.IPv6ExtHdrDestOpt(nh=253), final=s.Raw(bytes([6, 0]) + b"\x00" * 6 +
                                                             bytes(syn(s, a))))


@kind("v6-truncated")  # a hop-by-hop header whose length runs past the packet
def k_v6_trunc(s, a):
    pkt = s.IPv6(src=a.src, dst=a.dst, fl=a.id & 0xfffff, nh=0, plen=8)
    return [pkt / s.Raw(bytes([6, 30]) + b"\x01\x04\x00\x00\x00\x00")]


@kind("v6-mapped")  # IPv6 to ::ffff:a.b.c.d
def k_v6_mapped(s, a):
    return v6(s, a)


@kind("vlan")  # 802.1Q
def k_vlan(s, a):
    return [("vlan", s.Dot1Q(vlan=a.vlan) / l3(s, a, a.src, a.dst) / syn(s, a))]


@kind("vlan0")  # priority tag (VLAN 0)
def k_vlan0(s, a):
    return [("vlan", s.Dot1Q(vlan=0, prio=5) / l3(s, a, a.src, a.dst) / syn(s, a))]


@kind("qinq")  # 802.1ad outer, 802.1Q inner
def k_qinq(s, a):
    return [("vlan", s.Dot1AD(vlan=a.vlan) / s.Dot1Q(vlan=a.vlan + 1) /
             l3(s, a, a.src, a.dst) / syn(s, a))]


def inner_syn(s, a):
    """The packet a decapsulating node would forward: to --alt:--alt-port, id --id."""
    return s.IP(src=a.inner_src, dst=a.alt, id=a.id & 0xffff) / s.TCP(sport=a.sport, dport=a.alt_port,
                                                                     flags="S", seq=1000)


@kind("vxlan")  # UDP to the node's VXLAN port, an Ethernet frame inside
def k_vxlan(s, a):
    from scapy.layers.vxlan import VXLAN
    inner = s.Ether(src="02:00:00:00:13:02", dst=a.inner_mac) / inner_syn(s, a)
    return [l3(s, a, a.src, a.dst) / s.UDP(sport=a.sport, dport=a.dport) / VXLAN(flags=0x08, vni=a.vni) / inner]


@kind("ipip")  # IP protocol 4 to the node, an IPv4 packet inside
def k_ipip(s, a):
    return [l3(s, a, a.src, a.dst, proto=4) / inner_syn(s, a)]


@kind("gre")  # IP protocol 47 to the node, an IPv4 packet inside
def k_gre(s, a):
    return [l3(s, a, a.src, a.dst) / s.GRE(proto=0x0800) / inner_syn(s, a)]


def own_v4():
    return default_src("192.0.2.1")


def own_v6():
    return default_src("2001:db8:100::1")


@kind("arp-poison")  # "--alt is at my MAC", as a request to --dst (the victim updates its cache)
def k_arp_poison(s, a):
    return [("l2", s.ARP(op=1, hwsrc=a.own_mac, psrc=a.alt, hwdst="00:00:00:00:00:00", pdst=a.dst))]


@kind("arp-garp")  # gratuitous ARP reply claiming --alt
def k_arp_garp(s, a):
    return [("l2", s.ARP(op=2, hwsrc=a.own_mac, psrc=a.alt, hwdst="ff:ff:ff:ff:ff:ff", pdst=a.alt))]


@kind("arp-sha")  # my address, someone else's MAC (--fake-mac)
def k_arp_sha(s, a):
    return [("l2", s.ARP(op=2, hwsrc=a.fake_mac, psrc=own_v4(), hwdst="ff:ff:ff:ff:ff:ff", pdst=a.dst))]


@kind("arp-pad")  # a correct ARP request with 64 bytes after it
def k_arp_pad(s, a):
    return [("l2", s.ARP(op=1, hwsrc=a.own_mac, psrc=own_v4(), pdst=a.dst) / (b"c" * 64))]


@kind("na-poison")  # "--alt is at my MAC", an override advertisement to --dst
def k_na_poison(s, a):
    return [s.IPv6(src=own_v6(), dst=a.dst, hlim=255) / s.ICMPv6ND_NA(tgt=a.alt, R=0, S=1, O=1) /
            s.ICMPv6NDOptDstLLAddr(lladdr=a.own_mac)]


@kind("ns-spoof")  # a solicitation from --alt (the victim learns --alt at my MAC)
def k_ns_spoof(s, a):
    return [s.IPv6(src=a.alt, dst=a.dst, hlim=255) / s.ICMPv6ND_NS(tgt=a.dst) /
            s.ICMPv6NDOptSrcLLAddr(lladdr=a.own_mac)]


@kind("na-lladdr")  # my own address, someone else's MAC in the option
def k_na_lladdr(s, a):
    return [s.IPv6(src=own_v6(), dst=a.dst, hlim=255) / s.ICMPv6ND_NA(tgt=own_v6(), R=0, S=0, O=1) /
            s.ICMPv6NDOptDstLLAddr(lladdr=a.fake_mac)]


@kind("ns-pad")  # a correct solicitation with 128 bytes after its option
def k_ns_pad(s, a):
    return [s.IPv6(src=own_v6(), dst=a.dst, hlim=255) / s.ICMPv6ND_NS(tgt=a.dst) /
            s.ICMPv6NDOptSrcLLAddr(lladdr=a.own_mac) / s.Raw(b"c" * 128)]


def do_send(a):
    s = scapy()
    iface = "eth0"
    a.own_mac = iface_macs(iface)
    src_mac = a.src_mac or a.own_mac
    if not a.src:
        a.src = default_src(a.dst)
    gw = "fd00:42::1" if is6(a.dst) else "10.42.0.1"
    dmac = a.dst_mac or gw_mac(iface, gw)
    frames = []
    for f in KINDS[a.kind](s, a):
        if isinstance(f, tuple):
            frames.append(s.Ether(src=src_mac, dst=dmac) / f[1])
        else:
            frames.append(s.Ether(src=src_mac, dst=dmac,
                                  type=0x86DD if f.haslayer(s.IPv6) else 0x0800) / f)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((iface, 0))
    n = 0
    for _ in range(max(1, min(a.count, 100))):
        for f in frames:
            sock.send(bytes(f))
            n += 1
        time.sleep(0.01)
    sock.close()
    print("sent %d frame(s) %s" % (n, a.kind))
    return 0


def default_src(dst):
    fam = socket.AF_INET6 if is6(dst) else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        s.connect((dst, 9))
        return s.getsockname()[0]
    finally:
        s.close()


# ------------------------------------------------------------------ capture

def parse_ip(frame):
    if len(frame) < 14:
        return None
    off = 14
    etype = struct.unpack("!H", frame[12:14])[0]
    while etype in (0x8100, 0x88A8) and len(frame) >= off + 4:
        etype = struct.unpack("!H", frame[off + 2:off + 4])[0]
        off += 4
    sport = dport = 0
    frag = "-"
    if etype == 0x0800 and len(frame) >= off + 20:
        ihl = (frame[off] & 0x0F) * 4
        proto = frame[off + 9]
        ipid = struct.unpack("!H", frame[off + 4:off + 6])[0]
        fo = struct.unpack("!H", frame[off + 6:off + 8])[0]
        if fo & 0x3FFF:
            frag = "f"
        src = socket.inet_ntop(socket.AF_INET, frame[off + 12:off + 16])
        dst = socket.inet_ntop(socket.AF_INET, frame[off + 16:off + 20])
        l4 = off + ihl
        if ihl > 20:
            frag += "o"
    elif etype == 0x86DD and len(frame) >= off + 40:
        proto = frame[off + 6]
        ipid = struct.unpack("!I", frame[off:off + 4])[0] & 0xFFFFF
        src = socket.inet_ntop(socket.AF_INET6, frame[off + 8:off + 24])
        dst = socket.inet_ntop(socket.AF_INET6, frame[off + 24:off + 40])
        l4 = off + 40
        for _ in range(8):
            if proto in (0, 43, 60) and len(frame) >= l4 + 2:
                proto, l4 = frame[l4], l4 + (frame[l4 + 1] + 1) * 8
                frag += "x" if frag != "-" else ""
            elif proto == 44 and len(frame) >= l4 + 8:
                frag = "f"
                proto, l4 = frame[l4], l4 + 8
            else:
                break
    else:
        return None
    if proto in (6, 17) and len(frame) >= l4 + 4 and "f" not in frag:
        sport, dport = struct.unpack("!HH", frame[l4:l4 + 4])
    return proto, src, dst, sport, dport, frag, ipid


def do_capture(a):
    ignore = set(x for x in (a.ignore or "").split(",") if x)
    out = open(a.out, "a", buffering=1)
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    raw.bind((a.iface, 0))
    out.write("ready %d\n" % os.getpid())
    deadline = time.monotonic() + a.seconds
    while time.monotonic() < deadline:
        r, _, _ = select.select([raw], [], [], 1.0)
        if not r:
            continue
        for _ in range(512):
            try:
                frame, addr = raw.recvfrom(65535, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            if addr[2] == PACKET_OUTGOING:
                continue
            p = parse_ip(frame)
            if not p or p[2] in ignore:
                continue
            out.write("cap %d %s %s %d %d %s %d\n" % p)
    return 0


# ------------------------------------------------------------------ DNS

def dns_addrs(s, msg):
    out = []
    for i in range(msg.ancount or 0):
        rr = msg.an[i]
        if rr.type in (1, 28):
            out.append(str(rr.rdata))
    return out


def do_dnsq(a):
    s = scapy()
    fam = socket.AF_INET6 if is6(a.server) else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_DGRAM)
    sock.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", a.sport))
    q = s.DNS(id=a.id, rd=1, qd=s.DNSQR(qname=a.name, qtype=a.type))
    sock.sendto(bytes(q), (a.server, 53))
    deadline = time.monotonic() + a.wait
    got = 0
    while time.monotonic() < deadline:
        r, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        data, peer = sock.recvfrom(4096)
        try:
            m = s.DNS(data)
        except Exception:
            continue
        got += 1
        print("answer from %s id %d: %s" % (peer[0], m.id, " ".join(dns_addrs(s, m)) or "-"))
        if not a.all:
            break
    return 0 if got else 1


def do_forge(a):
    s = scapy()
    src_mac = iface_macs("eth0")
    gw = "fd00:42::1" if is6(a.dst) else "10.42.0.1"
    dmac = a.dst_mac or gw_mac("eth0", gw)
    qtype = "AAAA" if a.type == "AAAA" else "A"
    ans = None
    for ip in a.addr:
        rr = s.DNSRR(rrname=a.name, type=qtype, ttl=600, rdata=ip)
        ans = rr if ans is None else ans / rr
    d = s.DNS(id=a.id, qr=1, aa=1, rd=1, ra=1, qd=s.DNSQR(qname=a.name, qtype=qtype), an=ans)
    ip = (s.IPv6(src=a.resolver, dst=a.dst) if is6(a.dst) else
          s.IP(src=a.resolver, dst=a.dst))
    f = s.Ether(src=src_mac, dst=dmac) / ip / s.UDP(sport=a.sport, dport=a.dport) / d
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind(("eth0", 0))
    for _ in range(max(1, min(a.count, 50))):
        sock.send(bytes(f))
        time.sleep(0.005)
    sock.close()
    print("forged %d answer(s) %s -> %s:%d id %d" % (a.count, a.resolver, a.dst, a.dport, a.id))
    return 0


XDNS_HELP = """names answered (A unless said):
  slow.wild.example.test   --c after 1.5 s (room for a forged answer to race it)
  addl.example.test        answer: --a; authority and additional sections: allowed.example.test
                           and addl.example.test A --b
  stray.example.test       answer: --a, plus denied.example.test A --b and a CNAME of
                           another name to stray.example.test, owners off the chain
  cnx.example.test         CNAME allowed.example.test, allowed.example.test A --b
  chain.example.test       CNAME x.wild.example.test, which is A --c (learned: allowed name)
  mix.example.test         A 127.0.0.1, 169.254.169.254, 224.0.0.1, 0.0.0.0, 255.255.255.255, --a
  mapped.example.test      AAAA ::ffff:--b, ::--b, ::1, fe80::1, ff02::1
  long.example.test        --c with TTL 600
  anything else            NXDOMAIN"""


def do_xdns(a):
    s = scapy()
    fam = socket.AF_INET6 if is6(a.addr) else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_DGRAM)
    sock.bind((a.addr, 53))
    log = open(a.log, "a", buffering=1) if a.log else None
    pending = []  # (due, bytes, peer)
    if log:
        log.write("ready\n")
    deadline = time.monotonic() + a.seconds

    def A(name, ip, ttl=30):
        return s.DNSRR(rrname=name, type="A", ttl=ttl, rdata=ip)

    def AAAA(name, ip):
        return s.DNSRR(rrname=name, type="AAAA", ttl=30, rdata=ip)

    def CNAME(name, target):
        return s.DNSRR(rrname=name, type="CNAME", ttl=30, rdata=target)

    def chain(*rrs):
        out = None
        for r in rrs:
            out = r if out is None else out / r
        return out

    while time.monotonic() < deadline:
        now = time.monotonic()
        timeout = 0.2
        if pending:
            timeout = max(0.0, min(timeout, min(p[0] for p in pending) - now))
        r, _, _ = select.select([sock], [], [], timeout)
        now = time.monotonic()
        for p in [p for p in pending if p[0] <= now]:
            sock.sendto(p[1], p[2])
            pending.remove(p)
        if not r:
            continue
        data, peer = sock.recvfrom(4096)
        try:
            q = s.DNS(data)
            qn = q.qd.qname.decode().rstrip(".").lower()
            qt = q.qd.qtype
        except Exception:
            continue
        if log:
            log.write("query %s %s %d from %s\n" % (qn, qt, q.id, peer[0]))
        kw = dict(id=q.id, qr=1, aa=1, rd=q.rd, ra=1, qd=q.qd)
        delay = 0.0
        an = ns = ar = None
        if qn == "slow.wild.example.test":
            an, delay = A(qn, a.c), 1.5
        elif qn == "addl.example.test":
            an = A(qn, a.a)
            ns = chain(A("allowed.example.test", a.b), A(qn, a.b))
            ar = chain(A("allowed.example.test", a.b), A(qn, a.b))
        elif qn == "stray.example.test":
            an = chain(A(qn, a.a), A("denied.example.test", a.b),
                       CNAME("other.example.test", qn), A("other.example.test", a.b))
        elif qn == "cnx.example.test":
            an = chain(CNAME(qn, "allowed.example.test"), A("allowed.example.test", a.b))
        elif qn == "chain.example.test":
            an = chain(CNAME(qn, "x.wild.example.test"), A("x.wild.example.test", a.c))
        elif qn == "mix.example.test" and qt == 1:
            an = chain(*[A(qn, ip) for ip in ("127.0.0.1", "169.254.169.254", "224.0.0.1",
                                              "0.0.0.0", "255.255.255.255", a.a)])
        elif qn == "mapped.example.test" and qt == 28:
            an = chain(*[AAAA(qn, ip) for ip in ("::ffff:" + a.b, "::" + a.b, "::1",
                                                 "fe80::1", "ff02::1")])
        elif qn == "long.example.test":
            an = A(qn, a.c, ttl=600)
        if an is None:
            resp = s.DNS(rcode=3, **kw)
        else:
            resp = s.DNS(an=an, ns=ns, ar=ar, **kw)
        pending.append((now + delay, bytes(resp), peer))
    return 0


# ------------------------------------------------------------------ floods

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def eth_ip_header(src, dst, proto, l4len, smac, dmac):
    eth = bytes.fromhex(dmac.replace(":", "")) + bytes.fromhex(smac.replace(":", "")) + \
        b"\x08\x00"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + l4len, 0x1234, 0, 64, proto, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return eth + ip


def do_synflood(a):
    """count SYNs (or --tcp-flags segments), each a distinct (sport, dport); bounded by --count
    and --seconds."""
    smac = iface_macs("eth0")
    dmac = gw_mac("eth0", "10.42.0.1")
    src = default_src(a.dst)
    hdr = eth_ip_header(src, a.dst, 6, 20, smac, dmac)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind(("eth0", 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    span = a.dport_hi - a.dport_lo + 1
    deadline = time.monotonic() + a.seconds
    sent = 0
    for i in range(a.count):
        sport = a.sport_base + i // span
        dport = a.dport_lo + i % span
        tcp = struct.pack("!HHIIBBHHH", sport & 0xFFFF, dport, 1, 0, 0x50, a.tcp_flags, 1024, 0, 0)
        while True:
            try:
                sock.send(hdr + tcp)
                break
            except BlockingIOError:
                time.sleep(0.001)
            except OSError as e:
                if e.errno == 105:  # ENOBUFS: the qdisc is busy, retry
                    time.sleep(0.001)
                    continue
                raise
        sent += 1
        if (i & 1023) == 0 and time.monotonic() > deadline:
            break
    print("sent %d %s" % (sent, "SYNs" if a.tcp_flags == 0x02 else "segments"))
    return 0 if sent == a.count else 1


def do_dnsflood(a):
    smac = iface_macs("eth0")
    dmac = gw_mac("eth0", "10.42.0.1")
    src = default_src(a.server)
    qname = b"".join(bytes([len(x)]) + x.encode() for x in a.name.split(".")) + b"\0"
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind(("eth0", 0))
    deadline = time.monotonic() + a.seconds
    sent = 0
    for i in range(a.count):
        dns = struct.pack("!HHHHHH", i & 0xFFFF, 0x0100, 1, 0, 0, 0) + qname + b"\x00\x01\x00\x01"
        udp = struct.pack("!HHHH", 20000 + (i >> 16) * 7 + (i % 7), 53, 8 + len(dns), 0) + dns
        try:
            sock.send(eth_ip_header(src, a.server, 17, len(udp), smac, dmac) + udp)
            sent += 1
        except OSError:
            time.sleep(0.001)
        if (i & 1023) == 0 and time.monotonic() > deadline:
            break
    print("sent %d queries" % sent)
    return 0


# ------------------------------------------------------------------ maps

class BpfAttrObj(ctypes.Structure):
    _fields_ = [("pathname", ctypes.c_uint64), ("bpf_fd", ctypes.c_uint32),
                ("file_flags", ctypes.c_uint32), ("pad", ctypes.c_uint64 * 14)]


class BpfAttrBatch(ctypes.Structure):
    _fields_ = [("in_batch", ctypes.c_uint64), ("out_batch", ctypes.c_uint64),
                ("keys", ctypes.c_uint64), ("values", ctypes.c_uint64),
                ("count", ctypes.c_uint32), ("map_fd", ctypes.c_uint32),
                ("elem_flags", ctypes.c_uint64), ("flags", ctypes.c_uint64),
                ("pad", ctypes.c_uint64 * 9)]


NR_BPF = {"x86_64": 321, "aarch64": 280}[os.uname().machine]
BPF_OBJ_GET = 7
BPF_MAP_UPDATE_BATCH = 26
BPF_MAP_DELETE_BATCH = 27
libc = ctypes.CDLL(None, use_errno=True)


def bpf(cmd, attr):
    r = libc.syscall(NR_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def do_mapfill(a):
    path = ctypes.create_string_buffer(a.path.encode())
    fd = bpf(BPF_OBJ_GET, BpfAttrObj(pathname=ctypes.addressof(path)))
    keys = bytearray()
    vals = bytearray()
    mono = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    for i in range(a.count):
        # addresses in 198.18.0.0/15 (benchmarking range): never contacted
        addr = struct.pack("!I", (198 << 24 | 18 << 16) + i) + b"\0" * 12
        if a.kind == "learned":
            keys += struct.pack("<IB3x", a.ep_id, 4) + addr
            vals += struct.pack("<QII", mono + 3600 * 10**9, 0, 0)
        else:  # pend: ep, family, pad, port, id, pad2, resolver
            keys += struct.pack("<IBxHH2x", a.ep_id, 4, (i >> 16) + 1, i & 0xFFFF) + addr
            vals += struct.pack("<Q", mono)
    ksz = 24 if a.kind == "learned" else 28
    kbuf = (ctypes.c_char * len(keys)).from_buffer(keys)
    vbuf = (ctypes.c_char * len(vals)).from_buffer(vals)
    done = 0
    chunk = 65536
    err = None
    while done < a.count:
        n = min(chunk, a.count - done)
        attr = BpfAttrBatch(keys=ctypes.addressof(kbuf) + done * ksz,
                            values=ctypes.addressof(vbuf) + done * (16 if a.kind == "learned" else 8),
                            count=n, map_fd=fd)
        try:
            bpf(BPF_MAP_DELETE_BATCH if a.delete else BPF_MAP_UPDATE_BATCH, attr)
        except OSError as e:
            err = e
            if not a.delete:
                done += attr.count
                break
            # a key that is not there (never written, or gone): skip it
            done += attr.count + 1
            continue
        done += attr.count
    os.close(fd)
    print("%s %d entries%s" % ("deleted" if a.delete else "written", done,
                               " (stopped: %s)" % err if err else ""))
    return 0


# ------------------------------------------------------------------ idle client

def do_idle(a):
    out = open(a.out, "a", buffering=1)
    s = socket.socket(socket.AF_INET6 if is6(a.ip) else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3.0)

    def exchange(tag):
        try:
            s.sendall(b"ping-%s\n" % tag.encode())
            got = b""
            while not got.endswith(b"\n"):
                c = s.recv(64)
                if not c:
                    raise OSError("closed")
                got += c
            out.write("ok %s\n" % tag)
            return True
        except OSError as e:
            out.write("fail %s %s\n" % (tag, e))
            return False

    try:
        s.connect((a.ip, a.port))
    except OSError as e:
        out.write("fail connect %s\n" % e)
        return 1
    exchange("first")
    out.write("idle\n")
    # wait for a go-file (or the timeout) before the exchanges after the idle time
    deadline = time.monotonic() + a.first
    while time.monotonic() < deadline and not os.path.exists(a.out + ".go"):
        time.sleep(0.1)
    ok = exchange("after-idle")
    for i in range(a.then):
        ok = exchange("more-%d" % i) and ok
        time.sleep(0.2)
    out.write("done\n")
    s.close()
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("send")
    p.add_argument("kind", choices=sorted(KINDS))
    p.add_argument("--dst", required=True)
    p.add_argument("--src")
    p.add_argument("--alt", default="192.0.2.20")
    p.add_argument("--dport", type=int, default=8080)
    p.add_argument("--alt-port", type=int, default=443)
    p.add_argument("--sport", type=int, default=40001)
    p.add_argument("--id", type=int, default=4242)
    p.add_argument("--vlan", type=int, default=5)
    p.add_argument("--count", type=int, default=3)
    p.add_argument("--dst-mac")
    p.add_argument("--inner-mac", default="ff:ff:ff:ff:ff:ff")
    p.add_argument("--src-mac")
    p.add_argument("--fake-mac", default="02:00:00:00:13:13")
    p.add_argument("--inner-src", default="172.31.0.2")
    p.add_argument("--vni", type=int, default=1)
    p = sub.add_parser("capture")
    p.add_argument("--iface", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seconds", type=float, default=1200)
    p.add_argument("--ignore")
    p = sub.add_parser("dnsq")
    p.add_argument("server")
    p.add_argument("name")
    p.add_argument("--type", default="A")
    p.add_argument("--sport", type=int, default=0)
    p.add_argument("--id", type=int, default=0x4242)
    p.add_argument("--wait", type=float, default=3.0)
    p.add_argument("--all", action="store_true", help="print every answer until --wait")
    p = sub.add_parser("forge")
    p.add_argument("--resolver", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--dport", type=int, required=True)
    p.add_argument("--sport", type=int, default=53)
    p.add_argument("--id", type=int, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--addr", action="append", required=True)
    p.add_argument("--type", default="A")
    p.add_argument("--count", type=int, default=3)
    p.add_argument("--dst-mac")
    p = sub.add_parser("xdns", epilog=XDNS_HELP, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--addr", required=True)
    p.add_argument("--seconds", type=float, default=1200)
    p.add_argument("--log")
    p.add_argument("--a", default="192.0.2.10")
    p.add_argument("--b", default="192.0.2.20")
    p.add_argument("--c", default="203.0.113.10")
    p = sub.add_parser("synflood")
    p.add_argument("--dst", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--sport-base", type=int, default=1024)
    p.add_argument("--dport-lo", type=int, default=1)
    p.add_argument("--dport-hi", type=int, default=65535)
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--tcp-flags", type=lambda v: int(v, 0), default=0x02,
                   help="TCP flags of every segment (0x02 SYN; 0x10 ACK: mid-stream)")
    p = sub.add_parser("dnsflood")
    p.add_argument("--server", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--seconds", type=float, default=30)
    p = sub.add_parser("mapfill")
    p.add_argument("path")
    p.add_argument("--kind", choices=("learned", "pend"), required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--ep-id", type=int, required=True)
    p.add_argument("--delete", action="store_true")
    p = sub.add_parser("idle")
    p.add_argument("ip")
    p.add_argument("port", type=int)
    p.add_argument("--out", required=True)
    p.add_argument("--first", type=float, default=30)
    p.add_argument("--then", type=int, default=3)
    a = ap.parse_args()
    return {"send": do_send, "capture": do_capture, "dnsq": do_dnsq, "forge": do_forge,
            "xdns": do_xdns, "synflood": do_synflood, "dnsflood": do_dnsflood,
            "mapfill": do_mapfill, "idle": do_idle}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
