#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Run the DaemonSet's install-cni script (taken from the rendered manifests)
# against fake k3s trees under a temporary root, with the real podwall binary:
#   new    containerd config v3, bin_dirs = ["/var/lib/rancher/k3s/data/cni"]
#   old    containerd config v2, bin_dir = ".../data/current/bin", current ->
#          data/<hash> as an absolute symlink, as k3s before October 2024 makes it
#   noconf no containerd config: falls back to data/cni when it exists
#   noflannel  no flannel conflist: must fail and say why
# or, for an overlay's manifest with CNI_BIN_DIR set (rke2, kubeadm):
#   fixed  /etc/cni/net.d/$CNI_CONFLIST and /opt/cni/bin
#   fixed-noconf  that conflist missing: must fail and say why
#   nostatic   a plugin that cannot run on its own (dynamically linked): must
#          fail, and neither install it nor chain it
# Each time: podwall-cni installed executable, the conflist chained (valid JSON,
# podwall-cni last), and a second run changes nothing. The plugin is the real,
# static one (PODWALL_CNI, default: beside PODWALL_BIN, or its static/ copy):
# the script runs it in a chroot of the bin dir before it installs it.
#   install_cni_test.sh RENDERED.yaml PODWALL_BIN
# Prints one line per layout; exit status 1 on any failure.
set -uo pipefail
RENDERED=$1
PODWALL=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
if [ "$(id -u)" != 0 ]; then # the script chroots into the bin dir
	echo "FAIL install-cni: needs root (the script runs the plugin in a chroot)"
	exit 1
fi
CNI=${PODWALL_CNI:-$(dirname "$PODWALL")/static/podwall-cni}
[ -x "$CNI" ] || CNI=$(dirname "$PODWALL")/podwall-cni
T=$(mktemp -d /tmp/podwall-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0

"$PY" - "$RENDERED" >"$T/script.sh" <<'PYEOF'
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "DaemonSet" and d["metadata"]["name"] == "podwall":
        c = [c for c in d["spec"]["template"]["spec"]["initContainers"] if c["name"] == "install-cni"][0]
        env = {e["name"]: e["value"] for e in c.get("env", [])}
        for k, v in env.items():
            print("%s=%s" % (k, v))
        print(c["args"][0])
PYEOF

run_layout() { # NAME SETUP-FUNCTION EXPECT(ok|fail) [PLUGIN]
	local name=$1 setup=$2 expect=$3 r=$T/$1 bindir out
	mkdir -p "$r/bin" "$r/var/lib/rancher/k3s/agent/etc/cni/net.d" \
		"$r/var/lib/rancher/k3s/agent/etc/containerd" "$r/var/lib/rancher/k3s/data"
	cp "$ROOT/tests/unit/testdata/k3s-flannel.conflist" \
		"$r/var/lib/rancher/k3s/agent/etc/cni/net.d/10-flannel.conflist"
	cp "${4:-$CNI}" "$r/podwall-cni"
	ln -s "$(cd "$(dirname "$PODWALL")" && pwd)/$(basename "$PODWALL")" "$r/bin/podwall"
	bindir=$($setup "$r")
	# the container sees host paths at the same place; here they live under $r
	sed -e "s#/var/lib/rancher/k3s#$r/var/lib/rancher/k3s#g" \
		-e "s#/usr/local/bin/podwall-cni#$r/podwall-cni#g" "$T/script.sh" >"$r/script.sh"
	if ! out=$(PATH="$r/bin:$PATH" /bin/sh -e "$r/script.sh" 2>&1); then
		if [ "$expect" = fail ] && [ "$name" = nostatic ]; then
			local c
			for c in "$r"/var/lib/rancher/k3s/data/cni/podwall-cni "$r"/var/lib/rancher/k3s/data/cni/.podwall-cni.new; do
				[ ! -e "$c" ] || { echo "FAIL install-cni/$name: refused, but left $c"; return 1; }
			done
			grep -q podwall-cni "$r/var/lib/rancher/k3s/agent/etc/cni/net.d/10-flannel.conflist" 2>/dev/null &&
				{ echo "FAIL install-cni/$name: refused, but chained"; return 1; }
			echo "ok   install-cni/$name (refused: ${out##*podwall: })"
			return 0
		fi
		if [ "$expect" = fail ]; then
			echo "ok   install-cni/$name (refused: ${out##*podwall: })"
			return 0
		fi
		echo "FAIL install-cni/$name: script failed: $out"
		return 1
	fi
	if [ "$expect" = fail ]; then
		echo "FAIL install-cni/$name: should have failed"
		return 1
	fi
	local conf=$r/var/lib/rancher/k3s/agent/etc/cni/net.d/10-flannel.conflist
	[ -x "$r$bindir/podwall-cni" ] || { echo "FAIL install-cni/$name: no $bindir/podwall-cni"; return 1; }
	"$PY" -c 'import json,sys; p=json.load(open(sys.argv[1]))["plugins"]; assert p[-1]["type"]=="podwall-cni" and p[0]["type"]=="flannel", p' "$conf" ||
		{ echo "FAIL install-cni/$name: conflist not chained"; return 1; }
	cp "$conf" "$T/before"
	PATH="$r/bin:$PATH" /bin/sh -e "$r/script.sh" >/dev/null 2>&1 &&
		cmp -s "$T/before" "$conf" ||
		{ echo "FAIL install-cni/$name: second run not idempotent"; return 1; }
	echo "ok   install-cni/$name ($bindir)"
}

new_layout() {
	mkdir -p "$1/var/lib/rancher/k3s/data/cni"
	cat >"$1/var/lib/rancher/k3s/agent/etc/containerd/config.toml" <<TOML
version = 3
[plugins.'io.containerd.cri.v1.runtime'.cni]
  bin_dirs = ["$1/var/lib/rancher/k3s/data/cni"]
  conf_dir = "$1/var/lib/rancher/k3s/agent/etc/cni/net.d"
TOML
	echo /var/lib/rancher/k3s/data/cni
}

old_layout() {
	local h=$1/var/lib/rancher/k3s/data/0123456789abcdef
	mkdir -p "$h/bin"
	ln -s "$h" "$1/var/lib/rancher/k3s/data/current"
	cat >"$1/var/lib/rancher/k3s/agent/etc/containerd/config.toml" <<TOML
version = 2
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "$1/var/lib/rancher/k3s/data/current/bin"
  conf_dir = "$1/var/lib/rancher/k3s/agent/etc/cni/net.d"
TOML
	echo /var/lib/rancher/k3s/data/current/bin
}

noconf_layout() {
	mkdir -p "$1/var/lib/rancher/k3s/data/cni"
	echo /var/lib/rancher/k3s/data/cni
}

noflannel_layout() {
	mkdir -p "$1/var/lib/rancher/k3s/data/cni"
	rm -f "$1/var/lib/rancher/k3s/agent/etc/cni/net.d/10-flannel.conflist"
	echo /var/lib/rancher/k3s/data/cni
}

# An overlay with fixed paths (CNI_BIN_DIR in the init container's env).
if grep -q '^CNI_BIN_DIR=' "$T/script.sh"; then
	run_fixed() { # NAME EXPECT
		local name=$1 expect=$2 r=$T/$1 out conf
		eval "$(grep -E '^CNI_(CONFLIST|BIN_DIR|NET_DIR)=' "$T/script.sh")"
		mkdir -p "$r/bin" "$r$CNI_NET_DIR" "$r$CNI_BIN_DIR"
		conf=$r$CNI_NET_DIR/$CNI_CONFLIST
		[ "$expect" = ok ] && cp "$ROOT/tests/unit/testdata/k3s-flannel.conflist" "$conf"
		cp "$CNI" "$r/podwall-cni"
		ln -s "$(cd "$(dirname "$PODWALL")" && pwd)/$(basename "$PODWALL")" "$r/bin/podwall"
		sed -e "s#$CNI_NET_DIR#$r$CNI_NET_DIR#g" -e "s#$CNI_BIN_DIR#$r$CNI_BIN_DIR#g" \
			-e "s#/usr/local/bin/podwall-cni#$r/podwall-cni#g" "$T/script.sh" >"$r/script.sh"
		if ! out=$(PATH="$r/bin:$PATH" /bin/sh -e "$r/script.sh" 2>&1); then
			[ "$expect" = fail ] && { echo "ok   install-cni/$name (refused: ${out##*podwall: })"; return 0; }
			echo "FAIL install-cni/$name: script failed: $out"
			return 1
		fi
		[ "$expect" = fail ] && { echo "FAIL install-cni/$name: should have failed"; return 1; }
		[ -x "$r$CNI_BIN_DIR/podwall-cni" ] || { echo "FAIL install-cni/$name: no $CNI_BIN_DIR/podwall-cni"; return 1; }
		"$PY" -c 'import json,sys; p=json.load(open(sys.argv[1]))["plugins"]; assert p[-1]["type"]=="podwall-cni", p' "$conf" ||
			{ echo "FAIL install-cni/$name: $CNI_CONFLIST not chained"; return 1; }
		echo "ok   install-cni/$name ($CNI_BIN_DIR, $CNI_NET_DIR/$CNI_CONFLIST)"
	}
	run_fixed fixed ok || fails=$((fails + 1))
	run_fixed fixed-noconf fail || fails=$((fails + 1))
	[ "$fails" -eq 0 ]
	exit
fi

run_layout new new_layout ok || fails=$((fails + 1))
run_layout old old_layout ok || fails=$((fails + 1))
run_layout noconf noconf_layout ok || fails=$((fails + 1))
run_layout noflannel noflannel_layout fail || fails=$((fails + 1))
run_layout nostatic noconf_layout fail "$(type -P true)" || fails=$((fails + 1))
[ "$fails" -eq 0 ]
