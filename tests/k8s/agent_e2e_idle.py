#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""An idle TCP connection for tests/k8s/agent_e2e.sh (stdlib only, bounded).

  agent_e2e_idle.py IP PORT TRIGGER [--seconds N]

Connects to a TCP echo server, checks one echo, prints "established", then
sleeps (sending nothing) until the file TRIGGER exists, sends one more byte and
prints "echoed" (exit 0) if it comes back within 2 s, else "blocked" (exit 1).
Exit 2 if the connection could not be made or TRIGGER never appeared.
"""
import os
import socket
import sys
import time


def main():
    ip, port, trigger = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--seconds" else 120
    fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
    try:
        s = socket.create_connection((ip, port), timeout=3)
        s.sendall(b"a")
        if s.recv(16) != b"a":
            raise OSError("no echo")
    except OSError as e:
        print("connect failed: %s" % e, flush=True)
        return 2
    print("established", flush=True)
    deadline = time.monotonic() + seconds
    while not os.path.exists(trigger):
        if time.monotonic() > deadline:
            print("trigger never came", flush=True)
            return 2
        time.sleep(0.1)
    s.settimeout(2)
    try:
        s.sendall(b"b")
        d = s.recv(16)
    except OSError as e:
        print("blocked (%s)" % e, flush=True)
        return 1
    if d == b"b":
        print("echoed", flush=True)
        return 0
    print("blocked (got %r)" % d, flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
