#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The Kubernetes client against the fake API server, one fresh server per case,
# then the deploy/ checks (validate.sh).
#
#   tests/k8s/run.sh [BUILD] [CASE...]
#
# BUILD is a build directory (default build/asan); its tests/k8s_driver and
# tests/policy_check are used when present, otherwise they are compiled here
# (sanitized) into a temporary directory. Prints one line per case and a final
# "N passed, M failed"; exits non-zero if any case failed. Everything listens on
# 127.0.0.1 only; nothing leaves the machine. K8S_VERBOSE=1 shows client logs.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BUILD=${1:-build/asan}
[ $# -gt 0 ] && shift
PY=/usr/bin/python3
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

WORK=$(mktemp -d /tmp/podwall-k8s.XXXXXX)
SERVER_PID=
cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

die() {
	echo "k8s: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

for tool in gcc openssl base64 timeout "$PY"; do
	command -v "$tool" >/dev/null || die "$tool is missing (run 'make deps')"
done

CFLAGS=(-g -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter
	-Wno-missing-field-initializers -Wno-format-truncation -D_GNU_SOURCE
	-fsanitize=address,undefined -fno-omit-frame-pointer -Iinclude -Ilib/core -Ilib/sys)
LIBSRC=(lib/sys/k8s.c lib/core/*.c)

DRIVER=$BUILD/tests/k8s_driver
if [ ! -x "$DRIVER" ]; then
	DRIVER=$WORK/k8s_driver
	gcc "${CFLAGS[@]}" tests/k8s/k8s_driver.c "${LIBSRC[@]}" -o "$DRIVER" \
		-lcurl -ljansson -lyaml -lldns || die "cannot build the driver"
fi

# ---- TLS material: a CA, the API server's certificate for 127.0.0.1, a client
# certificate (system:masters, as in a k3s admin kubeconfig), and an unrelated CA.
# ECDSA P-256, as k3s generates them.
TLS=$WORK/tls
mkdir -p "$TLS"
mkcert() { # NAME SUBJECT CA EXT
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$TLS/$1.key" -out "$TLS/$1.csr" -subj "$2" 2>/dev/null &&
		printf '%s\n' "$4" >"$TLS/$1.ext" &&
		openssl x509 -req -in "$TLS/$1.csr" -CA "$TLS/$3.crt" -CAkey "$TLS/$3.key" \
			-CAcreateserial -out "$TLS/$1.crt" -days 2 -extfile "$TLS/$1.ext" 2>/dev/null
}
for ca in ca otherca; do
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$TLS/$ca.key" -out "$TLS/$ca.crt" -days 2 \
		-subj "/CN=podwall-test-$ca" 2>/dev/null || die "openssl: cannot make a CA"
done
mkcert server "/CN=kube-apiserver" ca \
	"subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth" || die "openssl: server certificate"
mkcert client "/O=system:masters/CN=system:admin" ca "extendedKeyUsage=clientAuth" ||
	die "openssl: client certificate"
b64() { base64 -w0 <"$1"; }

# ---- one case ---------------------------------------------------------------------
start_server() { # DIR ARGS...
	local dir=$1
	shift
	rm -f "$dir/ports"
	"$PY" tests/k8s/fake_apiserver.py --port-file "$dir/ports" "$@" 2>"$dir/server.log" &
	SERVER_PID=$!
	for _ in $(seq 100); do
		[ -s "$dir/ports" ] && break
		sleep 0.05
	done
	[ -s "$dir/ports" ] || return 1
	API_PORT=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["api"])' "$dir/ports")
	CTL_PORT=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["control"])' "$dir/ports")
}

stop_server() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
}

kubeconfig() { # FILE SERVER CLUSTER_EXTRA USER_EXTRA
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- cluster:
    server: $2
$3
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
preferences: {}
users:
- name: default
  user:
$4
EOF
}

run_case() { # CASE
	local name=$1 dir=$WORK/$1 args=() srv=() rc
	mkdir -p "$dir"
	echo token-1 >"$dir/server-token"
	echo token-1 >"$dir/client-token"
	srv=(--token-file "$dir/server-token")
	case "$name" in
	unreachable_start) srv+=(--api-down) ;;
	tls_*) srv+=(--tls-cert "$TLS/server.crt" --tls-key "$TLS/server.key") ;;
	esac
	[ "$name" = tls_client_cert ] && srv=(--tls-cert "$TLS/server.crt" \
		--tls-key "$TLS/server.key" --client-ca "$TLS/ca.crt")
	if ! start_server "$dir" "${srv[@]}"; then
		echo "  fake API server did not start: $(cat "$dir/server.log")" >"$dir/driver.log"
		return 1
	fi
	case "$name" in
	tls_incluster)
		# the service account volume as kubelet lays it out
		local sa=$dir/serviceaccount
		mkdir -p "$sa/..gen1"
		echo token-1 >"$sa/..gen1/token"
		cp "$TLS/ca.crt" "$sa/..gen1/ca.crt"
		ln -s ..gen1 "$sa/..data"
		ln -s ..data/token "$sa/token"
		ln -s ..data/ca.crt "$sa/ca.crt"
		args=(--incluster "$sa")
		;;
	tls_client_cert)
		kubeconfig "$dir/kubeconfig" "https://127.0.0.1:$API_PORT" \
			"    certificate-authority-data: $(b64 "$TLS/ca.crt")" \
			"    client-certificate-data: $(b64 "$TLS/client.crt")
    client-key-data: $(b64 "$TLS/client.key")"
		args=(--kubeconfig "$dir/kubeconfig")
		;;
	tls_wrong_ca)
		kubeconfig "$dir/kubeconfig" "https://127.0.0.1:$API_PORT" \
			"    certificate-authority-data: $(b64 "$TLS/otherca.crt")" \
			"    tokenFile: client-token"
		args=(--kubeconfig "$dir/kubeconfig")
		;;
	*)
		# tokenFile relative to the kubeconfig's directory, as kubectl reads it
		kubeconfig "$dir/kubeconfig" "http://127.0.0.1:$API_PORT" "" \
			"    tokenFile: client-token"
		args=(--kubeconfig "$dir/kubeconfig")
		;;
	esac
	[ "${K8S_VERBOSE:-0}" = 1 ] && args+=(--verbose)
	KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$API_PORT \
		timeout 120 "$DRIVER" "$name" --control "http://127.0.0.1:$CTL_PORT" \
		--workdir "$dir" "${args[@]}" >"$dir/driver.log" 2>&1
	rc=$?
	stop_server
	return $rc
}

# shellcheck source=tally.sh
. tests/k8s/tally.sh
CASES=("$@")
if [ ${#CASES[@]} -eq 0 ]; then
	mapfile -t CASES < <("$DRIVER" --list)
	CASES+=(validate)
fi
for c in "${CASES[@]}"; do
	if [ "$c" = validate ]; then
		out=$(tests/k8s/validate.sh "$BUILD")
		vrc=$?
		if ! tally_summary "$out"; then
			failed=$((failed + 1))
			echo "FAIL validate.sh (exit $vrc, no summary)"
		fi
		continue
	fi
	t0=$(date +%s%N)
	if run_case "$c"; then
		passed=$((passed + 1))
		ms=$((($(date +%s%N) - t0) / 1000000))
		printf 'ok   k8s/%-20s %3d.%01ds\n' "$c" $((ms / 1000)) $((ms % 1000 / 100))
	else
		failed=$((failed + 1))
		printf 'FAIL k8s/%-20s\n' "$c"
		sed 's/^/     /' "$WORK/$c/driver.log" | tail -n 40
		[ -s "$WORK/$c/server.log" ] && sed 's/^/     server: /' "$WORK/$c/server.log" | tail -n 10
	fi
done
tally_end
