#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# podwall(1) from the CLI's own help text: `podwall --help` and every
# `podwall COMMAND --help`, so the man page never drifts from the binary.
#   tools/gen-man.sh [PODWALL] > podwall.1        (PODWALL: default build/podwall)
set -euo pipefail
PODWALL=${1:-build/podwall}

# roff-safe text: backslashes, leading dots and quotes
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/" -e 's/^-/\\-/'; }

cmds=$("$PODWALL" --help | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {exit}')
version=$("$PODWALL" version --socket /nonexistent 2>/dev/null | awk 'NR == 1 {print $2}')

cat <<HDR
.TH PODWALL 1 "" "podwall ${version:-}" "User Commands"
.SH NAME
podwall \\- default-deny egress for Kubernetes pods: the node agent and its CLI
.SH SYNOPSIS
.B podwall
.I COMMAND
.RI [ OPTIONS ]
.SH DESCRIPTION
.nf
HDR
"$PODWALL" --help | esc
echo ".fi"
for c in $cmds; do
	echo ".SH \"PODWALL $(tr '[:lower:]' '[:upper:]' <<<"$c")\""
	echo ".nf"
	"$PODWALL" "$c" --help 2>&1 | esc
	echo ".fi"
done
cat <<'FTR'
.SH FILES
.TP
.I /run/podwall/podwall.sock
the agent's control socket (root only)
.TP
.I /sys/fs/bpf/podwall/
the pinned maps, readable with bpftool
.TP
.I /run/podwall/state/
endpoint state and events.jsonl (the event records across restarts)
.SH SEE ALSO
.BR bpftool (8),
.BR kubectl (1)
FTR
