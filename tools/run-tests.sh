#!/usr/bin/env bash
# Run podwall's test tiers against a (sanitized) build directory.
#   tools/run-tests.sh BUILD [unit|bpf|fuzz|e2e|attack|fault|k8s|kernels ...]   (default: all)
# kernels (tests/kernels: Debian's 6.1 and 5.10 under qemu) runs the plain build
# $KERNELS_BUILD (default build), not BUILD: ASan is too slow under emulation.
# Tiers that need root or BPF fail loudly under CI=true instead of skipping.
set -uo pipefail

BUILD=${1:?usage: run-tests.sh BUILD [tier...]}
shift
TIERS=("$@")
[ ${#TIERS[@]} -eq 0 ] && TIERS=(unit bpf fuzz e2e attack fault k8s kernels)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=$(cd "$BUILD" && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
# How slow this machine is, measured once for every suite (tests/e2e/lib.sh: SLOW)
export PW_SLOWDOWN=${PW_SLOWDOWN:-$(tests/e2e/slowdown.sh)}
echo "run-tests: PW_SLOWDOWN=$PW_SLOWDOWN (tests/e2e/slowdown.sh)"

passed=0
failed=0
failures=()

suite() { # NAME CMD...
	local name=$1
	shift
	echo "=== $name"
	if "$@"; then
		passed=$((passed + 1))
		echo "=== $name: ok"
	else
		failed=$((failed + 1))
		failures+=("$name")
		echo "=== $name: FAILED"
	fi
}

need_root() { # TIER
	if [ "$(id -u)" -ne 0 ]; then
		if [ "${CI:-}" = "true" ]; then
			echo "ERROR: tier $1 needs root (BPF, tc, network namespaces) and CI=true" >&2
			failed=$((failed + 1))
			failures+=("$1 (not root)")
		else
			echo "SKIP: tier $1 needs root; run 'sudo make test' (fails under CI=true)" >&2
		fi
		return 1
	fi
	if ! mountpoint -q /sys/fs/bpf; then
		mount -t bpf bpf /sys/fs/bpf || {
			echo "ERROR: cannot mount bpffs at /sys/fs/bpf" >&2
			failed=$((failed + 1))
			failures+=("$1 (bpffs)")
			return 1
		}
	fi
	return 0
}

for tier in "${TIERS[@]}"; do
	case "$tier" in
	unit)
		for src in tests/unit/test_*.c; do
			t=$(basename "$src" .c)
			suite "unit/$t" "$BUILD/tests/$t"
		done
		;;
	bpf)
		if need_root bpf; then
			for src in tests/bpf/test_*.c; do
				t=$(basename "$src" .c)
				suite "bpf/$t" "$BUILD/tests/$t"
			done
		fi
		;;
	fuzz)
		for src in tests/fuzz/fuzz_*.c; do
			t=$(basename "$src" .c)
			# fuzz_bpf_* run the real BPF object: root, like the bpf tier
			case "$t" in fuzz_bpf_*) need_root "fuzz/$t" || continue ;; esac
			corpus_src="tests/fuzz/corpus/${t#fuzz_}"
			work=$(mktemp -d)
			[ -d "$corpus_src" ] && cp -r "$corpus_src"/. "$work"/
			suite "fuzz/$t (${FUZZ_SECONDS}s)" \
				"$BUILD/fuzz/$t" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 \
				-print_final_stats=1 -artifact_prefix="$work/" "$work"
			rm -rf "$work"
		done
		;;
	e2e)
		if need_root e2e; then
			for t in run dns ops hooks reject; do
				[ -f "tests/e2e/$t.sh" ] && suite "e2e/$t" bash "tests/e2e/$t.sh" "$BUILD"
			done
		fi
		;;
	attack | fault)
		if [ ! -f "tests/$tier/run.sh" ]; then
			echo "no tests/$tier/run.sh" >&2
		elif need_root "$tier"; then
			suite "$tier" bash "tests/$tier/run.sh" "$BUILD"
		fi
		;;
	k8s)
		suite "k8s/client" bash tests/k8s/run.sh "$BUILD"
		if need_root k8s-agent && [ -f tests/k8s/agent_e2e.sh ]; then
			suite "k8s/agent" bash tests/k8s/agent_e2e.sh "$BUILD"
		fi
		;;
	kernels)
		# root is checked by the tier itself (it also skips/fails without qemu)
		# (its short set: the kernel-dependent e2e cases; `make test-kernels`: all)
		suite "kernels" env PW_KERNELS_SET="${PW_KERNELS_SET:-short}" \
			tests/kernels/run.sh "${KERNELS_BUILD:-build}"
		;;
	*)
		echo "unknown tier $tier" >&2
		exit 2
		;;
	esac
done

echo
for f in "${failures[@]+"${failures[@]}"}"; do
	echo "FAILED: $f"
done
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
