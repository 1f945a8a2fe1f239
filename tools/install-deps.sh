#!/usr/bin/env bash
# Install the Debian 12 packages podwall needs to build, test, demo and bench.
# Installs only what is missing; runs apt-get update first when it must install.
set -euo pipefail

PKGS=(
	make gcc clang llvm clang-format libc6-dev pkg-config
	libbpf-dev bpftool libelf-dev zlib1g-dev
	libldns-dev libjansson-dev libyaml-dev libmicrohttpd-dev libcurl4-openssl-dev libmnl-dev
	libcmocka-dev libclang-rt-14-dev
	iproute2 iptables ipset nftables containernetworking-plugins dnsmasq-base dnsutils
	iperf3 squid dnsperf python3 python3-scapy python3-yaml jq curl socat ethtool
	procps psmisc openssl
	prometheus python3-prometheus-client
	qemu-system-x86 debootstrap debian-archive-keyring e2fsprogs
)
# qemu-system-x86 and debootstrap: the kernel tier (tests/kernels) boots Debian's
# 6.1 and 5.10 kernels under qemu in a debootstrap'd root, both fetched at test time.
# kubectl (for `kubectl kustomize deploy/`): Debian's kubernetes-client, unless
# some other package already provides the command.
command -v kubectl >/dev/null 2>&1 || PKGS+=(kubernetes-client)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PKGS[@]} packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run 'make deps' as root (apt-get install) or install them yourself" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
# squid's package starts a service; podwall's bench runs its own instance.
# prometheus is installed for promtool only; its service is not wanted.
for svc in squid prometheus; do
	if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q "$svc" 2>/dev/null; then
		systemctl stop "$svc" || true
	fi
done
