#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The kernel tier inside one guest boot (started by /sbin/pw-init, see init).
# Kernel command line: pw.root (the repository, read-only), pw.build, pw.out
# (results, shared with the host), pw.cal (the host's calibration, ms),
# pw.suites (verifier,bpf,e2e,attack), pw.e2e (the e2e suites, default
# run,dns,ops,hooks; "SUITE:CASE+CASE" runs just those cases of SUITE),
# pw.cases (the cases of the suites named without cases, default all).
# Writes, per suite, NAME.log and one
# line of $out/summary: "NAME ok|FAIL PASSED FAILED SECONDS"; then $out/done.
# Lines starting with "## " are the progress the host shows.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
root= build= out= cal=0 suites=verifier,bpf,e2e e2e=run,dns,ops,hooks cases=
for a in $(cat /proc/cmdline); do
	case "$a" in
	pw.root=*) root=${a#pw.root=} ;;
	pw.build=*) build=${a#pw.build=} ;;
	pw.out=*) out=${a#pw.out=} ;;
	pw.cal=*) cal=${a#pw.cal=} ;;
	pw.suites=*) suites=${a#pw.suites=} ;;
	pw.e2e=*) e2e=${a#pw.e2e=} ;;
	pw.cases=*) cases=${a#pw.cases=} ;;
	esac
done
cd "$root" || exit 1
T0=$SECONDS
say() { echo "## $(uname -r) [$((SECONDS - T0))s] $*"; }
has() { [[ ",$suites," == *",$1,"* ]]; }

for m in veth bridge sch_ingress cls_bpf br_netfilter nf_conntrack; do
	modprobe "$m" 2>/dev/null || true
done
export CI=true
# dns.sh's resolve-then-connect race: 300 rounds here, not 1000 (each is a
# python3 round trip, ~10x slower under TCG); the host's run does the 1000.
export DNS_RACE_N=${DNS_RACE_N:-300}

# How much slower than a native machine (tests/e2e/slowdown.sh), measured once
# for every suite of this boot; the host's own figure (pw.cal) for the log.
slow=$(PW_SLOWDOWN= tests/e2e/slowdown.sh)
export PW_SLOWDOWN=$slow
echo "$slow" >"$out/slowdown"
say "up in $(cut -d' ' -f1 /proc/uptime) s; PW_SLOWDOWN=$slow (the host: x$cal)"

{
	uname -a
	nproc
	free -m
	bpftool version
} >"$out/info.txt" 2>&1
bpftool feature probe kernel >"$out/feature-probe.txt" 2>&1

# step NAME TIMEOUT CMD...: run, time, count, record
step() {
	local name=$1 to=$2 t0 rc p f res
	shift 2
	say "$name ..."
	t0=$SECONDS
	timeout -k 10 "$to" "$@" >"$out/$name.log" 2>&1
	rc=$?
	# cmocka ("[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s), listed below:")
	# or the shell suites ("N passed, M failed")
	p=$(awk '/^\[  PASSED  \] [0-9]+ test/ {s += $4} /^[0-9]+ passed, [0-9]+ failed/ {s += $1} END {print s + 0}' "$out/$name.log")
	f=$(awk '/^\[  FAILED  \] [0-9]+ test/ {s += $4} /^[0-9]+ passed, [0-9]+ failed/ {s += $3} END {print s + 0}' "$out/$name.log")
	res=ok
	[ $rc = 0 ] || res=FAIL
	[ $rc = 124 ] && echo "!!! $name: timed out after $to s" >>"$out/$name.log"
	echo "$name $res $p $f $((SECONDS - t0))" >>"$out/summary"
	say "$name: $res ($p passed, $f failed, rc $rc) in $((SECONDS - t0)) s"
	[ $res = ok ] || grep -E '^not ok|^#   FAIL:|^\[  FAILED  \] [^0-9]|timed out' "$out/$name.log" | head -n 10 | sed 's/^/## /'
}

: >"$out/summary"
if has verifier; then
	step verifier 900 "$build/kernels/verifier_stats" "$build/podwall.bpf.o"
	grep -E 'insns processed|^LOAD' "$out/verifier.log" | sed 's/^/## /'
fi
has bpf && step bpf 900 tools/run-tests.sh "$build" bpf
# run, dns: enforcement and the kernel's DNS path; ops: the operator surface
# (CLI, metrics, events, bpftool-readable maps) on this kernel's maps and
# bpftool; hooks: the k3s chain (bridge, portmap, bandwidth, podwall-cni) on
# the legacy tc attach path, the only one before 6.6 (no tcx).
if has e2e; then
	for item in ${e2e//,/ }; do
		# "SUITE" (its cases: pw.cases, default all) or "SUITE:CASE+CASE"
		t=${item%%:*} c=${cases//,/ }
		[ "$t" = "$item" ] || c=${item#*:} c=${c//+/ }
		# shellcheck disable=SC2086 # the cases, word by word
		# (a suite that is not there fails its step; a case it lacks, e2e_init)
		step "e2e-$t" 2400 bash "tests/e2e/$t.sh" "$build" $c
	done
fi
has attack && [ -f tests/attack/run.sh ] && step attack 1500 bash tests/attack/run.sh "$build"
say "done in $((SECONDS - T0)) s"
touch "$out/done"
sync
