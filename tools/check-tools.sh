#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# CI check (run by .ci/run after tools/install-deps.sh): every external command
# the scripts (tests/, tools/, .ci/) call is on PATH and comes from a package
# tools/install-deps.sh installs, or from Debian's base system (Essential or
# priority required/important: coreutils, grep, util-linux, ...). So a fresh
# machine that ran install-deps.sh never stops at "missing tool: X".
#
# The commands: the list below (add a command when a script starts calling it),
# plus every command the scripts themselves check for (with command -v, also
# in the lists of "for c in ...; do" loops that check with it), found by a scan.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

CMDS=(
	# build
	make gcc clang llc bpftool clang-format pkg-config
	# network namespaces, TC, filters
	ip tc nsenter bridge iptables iptables-restore ipset nft sysctl mount mountpoint chroot
	# servers and clients of the tests, demo and bench
	dnsmasq dig iperf3 dnsperf squid curl socat openssl jq /usr/bin/python3 kubectl promtool
	# system tools the scripts use
	timeout pgrep pkill ps killall od awk sed grep find sort uniq tr cut head tail wc
	sha256sum stat mktemp base64 ldd flock date seq xargs env
	# the kernel tier
	qemu-system-x86_64 debootstrap mkfs.ext4
)
# CNI plugins are not commands: checked by path
PLUGINS=(bridge host-local portmap bandwidth tuning)

# The scan: what the scripts check for themselves.
mapfile -t SCANNED < <(
	grep -rhoE 'command -v [A-Za-z0-9_./+-]+' tests tools .ci 2>/dev/null | awk '{print $3}'
	# `for c in A B C; do` whose next line checks "command -v"
	find tests tools .ci -type f \( -name '*.sh' -o -name run \) -print0 2>/dev/null |
		xargs -0 awk 'prev != "" && /command -v/ {print prev} {prev = ""}
			/^[[:space:]]*for c in [A-Za-z0-9_.\/+ -]+; do[[:space:]]*$/ {
				l = $0; sub(/^[[:space:]]*for c in /, "", l); sub(/; do[[:space:]]*$/, "", l); prev = l }' |
		tr ' ' '\n'
)

read -r -a PKGS < <(sed -n '/^PKGS=(/,/^)/p' tools/install-deps.sh | grep -v '^PKGS=(\|^)' |
	sed 's/#.*//' | tr '\n' ' ')
PKGS+=(kubernetes-client) # added by install-deps.sh when no kubectl is present

deps_of() { dpkg-query -W -f='${Depends},${Pre-Depends}\n' "$@" 2>/dev/null |
	tr ',|' '\n\n' | sed -E 's/\(.*\)//; s/:any//; s/[[:space:]]//g' | grep . | sort -u; }
mapfile -t DEPS1 < <(deps_of "${PKGS[@]}")
mapfile -t DEPS < <({ printf '%s\n' "${DEPS1[@]}"; deps_of "${DEPS1[@]}"; } | sort -u)

failed=0
checked=0
declare -A seen=()
check() { # CMD
	local c=$1 path pkg prio
	[ -n "$c" ] && [ -z "${seen[$c]:-}" ] || return 0
	seen[$c]=1
	case "$c" in *'$'* | *'"'* | -*) return 0 ;; esac # a variable, not a name
	checked=$((checked + 1))
	path=$(command -v "$c" 2>/dev/null) || {
		echo "FAIL $c: not on PATH after tools/install-deps.sh"
		failed=$((failed + 1))
		return
	}
	case "$path" in /*) ;; *) return 0 ;; esac # a shell builtin
	path=$(readlink -f "$path")
	pkg=$(dpkg -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1)
	if [ -z "$pkg" ]; then
		# merged /usr: dpkg knows /bin/x as /bin/x
		pkg=$(dpkg -S "${path#/usr}" 2>/dev/null | head -n 1 | cut -d: -f1)
	fi
	[ -n "$pkg" ] || {
		echo "FAIL $c ($path): from no Debian package (install-deps.sh must install it)"
		failed=$((failed + 1))
		return
	}
	pkg=${pkg%%,*}
	if printf '%s\n' "${PKGS[@]}" | grep -qx "$pkg"; then
		return 0
	fi
	prio=$(dpkg-query -W -f='${Essential} ${Priority}' "$pkg" 2>/dev/null)
	case "$prio" in yes* | *required | *important) return 0 ;; esac
	# a dependency of a listed package (two levels) is pulled in by it
	printf '%s\n' "${DEPS[@]}" | grep -qx "$pkg" && return 0
	# install-deps.sh takes any kubectl already on PATH
	[ "$c" = kubectl ] && return 0
	echo "FAIL $c ($path): package $pkg is not installed by tools/install-deps.sh (add it to PKGS)"
	failed=$((failed + 1))
}

for c in "${CMDS[@]}" "${SCANNED[@]}"; do check "$c"; done
for p in "${PLUGINS[@]}"; do
	checked=$((checked + 1))
	[ -x "/usr/lib/cni/$p" ] || {
		echo "FAIL CNI plugin /usr/lib/cni/$p missing (containernetworking-plugins)"
		failed=$((failed + 1))
	}
done
echo "check-tools: $checked commands and plugins, $failed missing"
[ "$failed" -eq 0 ]
