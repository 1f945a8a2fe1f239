#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Prints how many times slower than a native machine this one runs the test
# suites (an integer, 1..30): 1 on a quiet native machine, about 10 under qemu
# TCG. Calibration: five python3 starts with a little work (what the suites do
# most), best of three, against REF_MS, their time on a native 2-core VM.
# PW_SLOWDOWN, when set (the kernel tier's guest measures it once for all its
# suites), is printed as is. The suites scale the windows that wait for the
# machine by it (tests/e2e/lib.sh: SLOW).
REF_MS=200
if [ -n "${PW_SLOWDOWN:-}" ]; then
	echo "$PW_SLOWDOWN"
	exit 0
fi
best=999999
for i in 1 2 3; do
	t0=$(date +%s%N)
	for _ in 1 2 3 4 5; do python3 -c 'sum(range(20000))'; done
	t=$((($(date +%s%N) - t0) / 1000000))
	[ $t -lt $best ] && best=$t
done
f=$(((best + REF_MS - 1) / REF_MS))
[ $f -lt 1 ] && f=1
[ $f -gt 30 ] && f=30
echo "$f"
