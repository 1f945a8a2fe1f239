#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# podwall's kernel tier: the kernels users run, booted under qemu.
#
# usage: tests/kernels/run.sh [BUILD_DIR] [KERNEL...]     (KERNEL: 6.1, 5.10; default both)
#
# Each kernel of the matrix is Debian's own package, fetched from Debian's
# archive at test time (the newest of its series): linux-image-6.1.0-N-amd64
# (Debian 12, bookworm) and linux-image-5.10.0-N-amd64 (Debian 11, bullseye).
# The guest's root is a debootstrap'd bookworm (minbase + podwall's runtime and
# test packages) with both kernels installed, made once and cached in
# $PW_KERNELS_CACHE (default build/kernels-cache): a rerun only asks the archive
# whether a newer kernel came out. Nothing is vendored, nothing added to /etc.
#
# Every kernel is booted once (qemu TCG: KVM hangs on this kind of nested VM;
# PW_KERNELS_ACCEL=kvm where it works), with no network device (-nic none),
# both at once unless PW_KERNELS_PARALLEL=1.
# The repository (read-only) and a results folder are shared over 9p, mounted
# in the guest at the same paths, so the guest runs the host's build (same
# bookworm libraries). In that one boot tests/kernels/guest.sh runs: the
# verifier check (instructions processed per program), the BPF tier and the
# e2e suites (run, dns, ops, hooks: hooks.sh's k3s chain on the legacy tc
# attach path, as these kernels have no tcx); with PW_KERNELS_ATTACK=1 the attack suite too
# (under TCG each of its scapy starts takes ~20 s: far over the time `make
# test` has).
# The guest measures PW_SLOWDOWN once (tests/e2e/slowdown.sh: how much slower
# than a native machine it runs) and the suites scale their windows by it.
#
# Without qemu, debootstrap or the archive it says so and exits 77 (skip);
# under CI=true it fails instead. Results: $PW_KERNELS_CACHE/results/<tree>/<kernel>/
# (<tree>: this checkout's folder name and a hash of its path, so that
# checkouts sharing one cache do not overwrite each other's results).
# Environment: PW_KERNELS (kernels, e.g. "5.10"), PW_KERNELS_SUITES (steps in
# the guest, default "verifier bpf e2e"), PW_KERNELS_E2E (the e2e suites,
# default "run dns ops hooks"; "SUITE:CASE+CASE" names cases of one suite),
# PW_KERNELS_SET ("full", the default: every case of every suite; "short", what
# `make test` runs: E2E_SHORT below), PW_KERNELS_CASES (cases of the suites
# named without cases, e.g. "flood_own_budget", default all),
# PW_KERNELS_TIMEOUT (seconds a boot may take, default 3600),
# PW_KERNELS_MIRROR (default deb.debian.org).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BUILD=build
KSEL=()
for a in "$@"; do
	case "$a" in
	-h | --help)
		sed -n '3,42p' "$0"
		exit 0
		;;
	[0-9]*.[0-9]*) KSEL+=("$a") ;;
	*) BUILD=$a ;;
	esac
done
[ ${#KSEL[@]} -eq 0 ] && read -r -a KSEL <<<"${PW_KERNELS:-6.1 5.10}"
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "kernels: no build dir $BUILD" >&2; exit 2; }
CACHE=${PW_KERNELS_CACHE:-$ROOT/build/kernels-cache}
MIRROR=${PW_KERNELS_MIRROR:-http://deb.debian.org}
SUITES=${PW_KERNELS_SUITES:-verifier bpf e2e}
# The e2e cases that depend on the kernel, for `make test` (PW_KERNELS_SET=short):
# enforcement and its replies, v6, spoofing and the agent's death on the legacy
# attach path; the kernel's name filter, its inline learner (over UDP and TCP,
# with the agent dead); bpftool reading this kernel's maps; the k3s chain's
# shaped veth, a hostile program put first, and the cleanup. Every case of
# every suite (the default, `make test-kernels`) takes ~55 min under TCG.
E2E_SHORT="run:cidr_port_enforced+cidr_port_enforced_v6+inbound_replies_pass+spoofed_source_dropped\
+agent_kill9_keeps_enforcing+sanitizers_clean \
dns:allowed_name_connects+unallowed_name_denied+refused_name_in_events+tcp_answer_learned\
+agent_kill9_inline_learns+sanitizers_clean \
ops:bpftool_dumps_named_fields+sanitizers_clean \
hooks:chain_both_shaped+hostile_redirect_caught+cannot_be_first_fails_closed+cleanup_leaves_nothing"
case ${PW_KERNELS_SET:-full} in
full) E2E=${PW_KERNELS_E2E:-run dns ops hooks} ;;
short) E2E=${PW_KERNELS_E2E:-$E2E_SHORT} ;;
*) echo "kernels: PW_KERNELS_SET is short or full, not $PW_KERNELS_SET" >&2; exit 2 ;;
esac
CASES=${PW_KERNELS_CASES:-}
# (the guest reads them from its command line: x86 takes 2048 bytes in all)
[ $((${#E2E} + ${#CASES})) -le 1500 ] || { echo "kernels: PW_KERNELS_E2E and _CASES too long for the kernel command line" >&2; exit 2; }
[ "${PW_KERNELS_ATTACK:-0}" = 1 ] && SUITES="$SUITES attack"
TIMEOUT=${PW_KERNELS_TIMEOUT:-3600}
ACCEL=${PW_KERNELS_ACCEL:-tcg}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
T_START=$SECONDS

log() { echo "kernels: $*"; }

cannot_run() {
	echo >&2
	echo "*** kernels: CANNOT RUN: $* ***" >&2
	if [ "${CI:-}" = true ]; then
		echo "*** CI=true: this is a failure, not a skip ***" >&2
		exit 1
	fi
	echo "*** SKIPPED (exit 77); with CI=true this fails ***" >&2
	exit 77
}

# kernel series -> Debian suite
suite_of() {
	case "$1" in
	6.1) echo bookworm ;;
	5.10) echo bullseye ;;
	*) return 1 ;;
	esac
}

# ---------------------------------------------------------------- checks

[ "$(id -u)" = 0 ] || cannot_run "needs root (debootstrap, chroot, loop-free mkfs, qemu as root)"
for c in qemu-system-x86_64 debootstrap apt-get mkfs.ext4 chroot; do
	command -v "$c" >/dev/null || cannot_run "$c not found (tools/install-deps.sh installs it)"
done
[ -r "$KEYRING" ] || cannot_run "no $KEYRING (debian-archive-keyring)"
for k in "${KSEL[@]}"; do
	suite_of "$k" >/dev/null || { echo "kernels: unknown kernel series $k (6.1, 5.10)" >&2; exit 2; }
done
PREPARE_ONLY=${PW_KERNELS_PREPARE_ONLY:-0} # 1: fetch the kernels, make the image, stop
for f in podwall podwall-cni tests/test_bpf kernels/verifier_stats; do
	[ -x "$BUILD/$f" ] || [ "$PREPARE_ONLY" = 1 ] ||
		{ echo "kernels: $BUILD/$f missing (make kernels-bin)" >&2; exit 2; }
done
mkdir -p "$CACHE"/{apt,debs,boot,results}
RESULTS=$CACHE/results/$(basename "$ROOT")-$(echo "$ROOT" | sha256sum | cut -c1-8)
mkdir -p "$RESULTS"

# ---------------------------------------------------------------- kernels from the archive

# A private apt state for SUITE (nothing under /etc is read or changed).
apt_opts() {
	local d=$CACHE/apt/$1
	echo "-o Dir::Etc::sourcelist=$d/sources.list -o Dir::Etc::sourceparts=/dev/null" \
		"-o Dir::State::Lists=$d/lists -o Dir::Cache=$d/cache -o Dir::State::status=$d/status" \
		"-o Debug::NoLocking=1 -o APT::Sandbox::User=root -o Acquire::Retries=3"
}

apt_update() {
	local s=$1 d=$CACHE/apt/$1
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	touch "$d/status"
	cat >"$d/sources.list" <<EOL
deb [signed-by=$KEYRING] $MIRROR/debian $s main
deb [signed-by=$KEYRING] $MIRROR/debian $s-updates main
deb [signed-by=$KEYRING] $MIRROR/debian-security $s-security main
EOL
	# shellcheck disable=SC2046
	timeout 300 apt-get $(apt_opts "$s") -q update >"$d/update.log" 2>&1 || return 1
	# apt-get update exits 0 when a fetch only warned: the suite's index must be there
	! grep -q '^[WE]: .*Failed to fetch' "$d/update.log" &&
		ls "$d/lists/"*"_dists_${s}_main_binary-amd64_Packages"* >/dev/null 2>&1
}

# newest_image SERIES: the newest linux-image-SERIES.0-N-amd64 of its suite
newest_image() {
	local s re
	s=$(suite_of "$1")
	re="^linux-image-${1//./\\.}\\.0-[0-9]+-amd64\$"
	# shellcheck disable=SC2046
	apt-cache $(apt_opts "$s") search --names-only "$re" | awk '{print $1}' | sort -V | tail -n 1
}

declare -A KPKG KVER
fetch_kernels() {
	local k s pkg
	for k in "${KSEL[@]}"; do
		s=$(suite_of "$k")
		if ! apt_update "$s"; then
			tail -n 5 "$CACHE/apt/$s/update.log" >&2
			# offline rerun: use what was fetched before, say so
			pkg=$(cat "$CACHE/debs/$k.pkg" 2>/dev/null)
			[ -n "$pkg" ] && [ "${CI:-}" != true ] ||
				cannot_run "cannot reach Debian's archive ($MIRROR) for $s"
			log "WARNING: archive unreachable, using the cached $pkg"
		else
			pkg=$(newest_image "$k")
			[ -n "$pkg" ] || cannot_run "no linux-image-$k.0-*-amd64 in $s"
		fi
		if ! ls "$CACHE/debs/${pkg}_"*.deb >/dev/null 2>&1; then
			log "downloading $pkg ($s)"
			# shellcheck disable=SC2046
			(cd "$CACHE/debs" && timeout 600 apt-get $(apt_opts "$s") -q download "$pkg") \
				>"$CACHE/debs/$k.log" 2>&1 || { tail -n 5 "$CACHE/debs/$k.log" >&2; \
				cannot_run "cannot download $pkg from $s"; }
		fi
		echo "$pkg" >"$CACHE/debs/$k.pkg"
		KPKG[$k]=$pkg
		KVER[$k]=${pkg#linux-image-}
	done
}

# ---------------------------------------------------------------- the guest's root

# bookworm minbase + what podwall's build links against and its tests run:
# ops.sh's metrics check needs promtool (prometheus) and prometheus_client,
# its man page check groff;
# dns.sh's TCP segments case ethtool (TSO and GSO off on the resolver's side);
# hooks.sh the CNI plugins (bridge, host-local, portmap, bandwidth), tc, iperf3
# and bpftool; its hostile test programs are built on the host (kernels-bin),
# so the guest needs no compiler.
GUEST_PKGS=kmod,initramfs-tools,zstd,e2fsprogs,libbpf1,libelf1,zlib1g,libldns3,libjansson4,libyaml-0-2,\
libmicrohttpd12,libcurl4,libmnl0,libcmocka0,libasan8,libubsan1,iproute2,bpftool,containernetworking-plugins,\
dnsmasq-base,bind9-dnsutils,python3,python3-yaml,python3-scapy,jq,socat,iperf3,procps,psmisc,iptables,\
ipset,curl,openssl,util-linux,prometheus,python3-prometheus-client,groff-base,ethtool

# The rootfs (a directory, kept) gets every fetched kernel; the image is made
# from it again whenever the kernels or the init change.
build_image() {
	local R=$CACHE/rootfs want have k deb
	# the image holds every kernel fetched so far (a subset run does not remake it)
	want=$(printf '%s\n' "$GUEST_PKGS" "$(sha256sum tests/kernels/init | cut -c1-16)" \
		$(cat "$CACHE"/debs/*.pkg | sort -u) | sha256sum | cut -c1-16)
	have=$(cat "$CACHE/image.stamp" 2>/dev/null)
	if [ "$want" = "$have" ] && [ -f "$CACHE/rootfs.img" ]; then
		log "guest image up to date ($CACHE/rootfs.img)"
		return 0
	fi
	if [ ! -f "$R/.debootstrap-done" ] || [ "$(cat "$R/.debootstrap-done")" != "$GUEST_PKGS" ]; then
		log "debootstrap bookworm (minbase + ${GUEST_PKGS//,/ }) into $R"
		rm -rf "$R"
		timeout 1800 debootstrap --variant=minbase --include="$GUEST_PKGS" bookworm "$R" \
			"$MIRROR/debian" >"$CACHE/debootstrap.log" 2>&1 || {
			tail -n 15 "$CACHE/debootstrap.log" >&2
			cannot_run "debootstrap from $MIRROR failed (log: $CACHE/debootstrap.log)"
		}
		printf 'virtio_pci\nvirtio_blk\next4\n9pnet_virtio\n9p\n' >>"$R/etc/initramfs-tools/modules"
		echo "$GUEST_PKGS" >"$R/.debootstrap-done"
	fi
	mkdir -p "$R/debs"
	for k in $(cd "$CACHE/debs" && ls *.pkg | sed 's/\.pkg$//'); do
		KPKG[$k]=$(cat "$CACHE/debs/$k.pkg")
		KVER[$k]=${KPKG[$k]#linux-image-}
		deb=$(ls "$CACHE"/debs/"${KPKG[$k]}"_*.deb | tail -n 1)
		[ -f "$R/boot/vmlinuz-${KVER[$k]}" ] && continue
		log "installing $(basename "$deb") in the guest root (modules, initrd)"
		cp "$deb" "$R/debs/"
		mount --bind /proc "$R/proc" && mount --bind /sys "$R/sys" && mount --bind /dev "$R/dev" || {
			umount -l "$R/dev" "$R/sys" "$R/proc" 2>/dev/null
			cannot_run "cannot bind-mount /proc /sys /dev into $R"
		}
		chroot "$R" env DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			apt-get install -y -q --no-install-recommends "/debs/$(basename "$deb")" \
			>"$CACHE/kernel-install-$k.log" 2>&1
		local rc=$?
		umount "$R/dev" "$R/sys" "$R/proc"
		rm -f "$R/debs/"*.deb "$R"/var/cache/apt/archives/*.deb
		[ $rc = 0 ] || { tail -n 15 "$CACHE/kernel-install-$k.log" >&2; \
			echo "kernels: installing $deb in the guest failed" >&2; exit 1; }
	done
	install -m 755 tests/kernels/init "$R/sbin/pw-init"
	mkdir -p "$R/pw/src" "$R/pw/out"
	for k in "${!KVER[@]}"; do
		cp "$R/boot/vmlinuz-${KVER[$k]}" "$R/boot/initrd.img-${KVER[$k]}" "$CACHE/boot/" || exit 1
	done
	log "making the guest image"
	rm -f "$CACHE/rootfs.img"
	truncate -s 4G "$CACHE/rootfs.img"
	mkfs.ext4 -q -F -L pwroot -d "$R" "$CACHE/rootfs.img" || { echo "kernels: mkfs.ext4 failed" >&2; exit 1; }
	echo "$want" >"$CACHE/image.stamp"
}

# ---------------------------------------------------------------- boot, run, report

boot_kernel() { # SERIES
	local k=$1 v=${KVER[$1]} out=$RESULTS/${KVER[$1]} t0 rc cpu acc
	rm -rf "$out"
	mkdir -p "$out"
	cpu=max acc=tcg,thread=multi
	[ "$ACCEL" = kvm ] && cpu=host acc=kvm
	t0=$SECONDS
	log "booting $v (qemu $ACCEL, no network; up to $TIMEOUT s) ..."
	timeout --foreground -k 10 "$TIMEOUT" nice -n 5 qemu-system-x86_64 -accel "$acc" -cpu "$cpu" \
		-m "${PW_KERNELS_MEM:-3072}" -smp "${PW_KERNELS_SMP:-2}" \
		-nographic -no-reboot -nic none -monitor none -serial stdio \
		-kernel "$CACHE/boot/vmlinuz-$v" -initrd "$CACHE/boot/initrd.img-$v" \
		-append "root=/dev/vda rw console=ttyS0 init=/sbin/pw-init panic=-1 no_timer_check quiet loglevel=4 pw.root=$ROOT pw.build=$BUILD pw.out=$out pw.cal=$CAL_MS pw.suites=${SUITES// /,} pw.e2e=${E2E// /,}${CASES:+ pw.cases=${CASES// /,}}" \
		-drive "file=$CACHE/rootfs.img,if=virtio,format=raw,snapshot=on" \
		-virtfs "local,path=$ROOT,mount_tag=pwsrc,security_model=none,readonly=on,id=pwsrc" \
		-virtfs "local,path=$out,mount_tag=pwout,security_model=passthrough,id=pwout" \
		</dev/null 2>&1 | sed -u 's/\r$//' | tee "$out/serial.log" |
		grep --line-buffered -E '^(##|pw-init:|Kernel panic)'
	rc=${PIPESTATUS[0]}
	echo $((SECONDS - t0)) >"$out/wall_s"
	[ "$rc" = 124 ] && log "$v: TIMEOUT after $TIMEOUT s (qemu killed)"
	[ -f "$out/done" ] || log "$v: the guest did not finish (serial log: $out/serial.log)"
}

fetch_kernels
build_image
[ "$PREPARE_ONLY" = 1 ] && { log "prepared in $((SECONDS - T_START)) s"; exit 0; }
CAL_MS=$(PW_SLOWDOWN= tests/e2e/slowdown.sh)
log "this host: PW_SLOWDOWN=$CAL_MS; preparation took $((SECONDS - T_START)) s; results in $RESULTS"

# The host kernel's verifier figures, for the table
HOSTV=$(uname -r)
mkdir -p "$RESULTS/host"
"$BUILD/kernels/verifier_stats" "$BUILD/podwall.bpf.o" >"$RESULTS/host/verifier.txt" 2>&1

# Both kernels at once by default: one TCG guest keeps about one core busy (its
# suites are mostly serial), so two fill a 2-core machine. PW_KERNELS_PARALLEL=1:
# one after the other.
PAR=${PW_KERNELS_PARALLEL:-2}
running=0
for k in "${KSEL[@]}"; do
	if [ "$running" -ge "$PAR" ]; then
		wait -n
		running=$((running - 1))
	fi
	boot_kernel "$k" &
	running=$((running + 1))
done
wait

# ---------------------------------------------------------------- the report
fail=0
echo
printf '%-22s %-9s %-28s %s\n' kernel result "verifier (insns processed)" "suites (passed/failed, seconds)"
printf '%-22s %-9s %-28s %s\n' "$HOSTV (host)" "-" \
	"$(awk '/^total/ {print $2}' "$RESULTS/host/verifier.txt")" "(the other tiers of make test)"
for k in "${KSEL[@]}"; do
	out=$RESULTS/${KVER[$k]}
	res=ok
	if [ ! -f "$out/done" ] || grep -q ' FAIL ' "$out/summary" 2>/dev/null; then
		res=FAILED
		fail=1
	fi
	printf '%-22s %-9s %-28s %s\n' "${KVER[$k]}" "$res" \
		"$(awk '/^total/ {print $2}' "$out/verifier.log" 2>/dev/null)" \
		"$(awk '{printf "%s %s %s/%s %ss; ", $1, $2, $3, $4, $5}' "$out/summary" 2>/dev/null)wall $(cat "$out/wall_s")s, slowdown x$(cat "$out/slowdown" 2>/dev/null)"
	if [ "$res" != ok ]; then
		grep -h -E '^not ok|^#   FAIL:|FAILED|^\[  FAILED' "$out"/*.log 2>/dev/null | head -n 20 | sed 's/^/    /'
		echo "    logs: $out/"
	fi
done
echo "kernels: total $((SECONDS - T_START)) s"
exit $fail
