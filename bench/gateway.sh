#!/usr/bin/env bash
# Measures the gateway (see bench/gateway/main.go) and prints a Markdown
# table: authenticated GET /api/v1/me through the real gateway beside a bare
# net/http handler returning the same bytes (throughput, p50, p99), then the
# memory each of 10,000 idle WebSockets costs the server. Every server runs
# in a process of its own, apart from the client driving it, and the servers
# are measured one after the other.
#
# Usage: bench/gateway.sh [-d 10s] [-warmup 2s] [-c 64] [-n 10000] [-p 50] [-profile DIR]
#   -profile DIR  keep CPU profiles of both HTTP servers and a heap profile
#                 of the gateway with the WebSockets open, in DIR
set -euo pipefail
cd "$(dirname "$0")/.."

dur=10s warmup=2s conns=64 wsconns=10000 wspar=50 profile=
while [ $# -gt 0 ]; do
	case $1 in
	-d) dur=$2 ;;
	-warmup) warmup=$2 ;;
	-c) conns=$2 ;;
	-n) wsconns=$2 ;;
	-p) wspar=$2 ;;
	-profile) profile=$2 ;;
	*) echo "usage: $0 [-d 10s] [-warmup 2s] [-c 64] [-n 10000] [-p 50] [-profile DIR]" >&2; exit 2 ;;
	esac
	shift 2
done

# 10,000 sockets in each of two processes.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

tmp=$(mktemp -d)
server=
stop_server() {
	if [ -n "$server" ]; then
		kill "$server" 2>/dev/null || true
		wait "$server" 2>/dev/null || true
		server=
	fi
}
trap 'stop_server; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

go build -o "$tmp/gwbench" ./bench/gateway

# Other work on the machine skews every figure, so the run ends with how
# much CPU time other processes took meanwhile: the user and system time in
# /proc/stat less this script's children's (bash's times). Interrupt time
# (loopback traffic is mostly softirq) is left out on both sides.
hz=$(getconf CLK_TCK)
busy() { awk '/^cpu /{print $2+$3+$4}' /proc/stat; } # user, nice, system
# children FILE: the children's CPU ticks from the output of times.
children() { awk -v hz="$hz" 'NR==2{gsub(/[ms]/," "); print int(($1*60+$2+$3*60+$4)*hz)}' "$1"; }
busy_before=$(busy) start=$(date +%s)
times >"$tmp/times.before"

# start_server NAME ARGS...: runs "gwbench serve ARGS..." in the background
# and waits until it has written its address to $tmp/NAME.info.
start_server() {
	local name=$1
	shift
	"$tmp/gwbench" serve -info "$tmp/$name.info" "$@" >"$tmp/$name.log" 2>&1 &
	server=$!
	for _ in $(seq 300); do
		[ -f "$tmp/$name.info" ] && return 0
		if ! kill -0 "$server" 2>/dev/null; then
			cat "$tmp/$name.log" >&2
			echo "gateway.sh: $name server did not start" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "gateway.sh: $name server did not start within 30 s" >&2
	exit 1
}

# info NAME KEY prints a value the server NAME wrote.
info() { sed -n "s/^$2=//p" "$tmp/$1.info"; }

# prof FLAG FILE prints "-FLAG DIR/FILE" when profiles are wanted.
prof() {
	if [ -n "$profile" ]; then
		echo "-$1" "$profile/$2"
	fi
}
if [ -n "$profile" ]; then
	mkdir -p "$profile"
	profile=$(cd "$profile" && pwd)
fi

load() {
	"$tmp/gwbench" load -c "$conns" -d "$dur" -warmup "$warmup" "$@"
}

# wrk_too URL: the same load through wrk, when it is installed (the table
# uses the Go load generator either way).
wrk_too() {
	if command -v wrk >/dev/null; then
		echo "wrk, same load:" >&2
		wrk -t2 -c "$conns" -d "$dur" --latency -H "Authorization: Bearer $(cat "$tmp/access")" "$1" >&2
	fi
}

# 1. The gateway: log in over HTTP, keep the /me body, load /me.
# shellcheck disable=SC2046
start_server gw -mode gateway $(prof cpuprofile gateway-http.cpu.pprof)
gw=$(info gw addr)
"$tmp/gwbench" login -url "http://$gw" -token-out "$tmp/access" -body-out "$tmp/me.json"
load -label gateway -url "http://$gw/api/v1/me" -token "@$tmp/access" -out "$tmp/gateway.json"
wrk_too "http://$gw/api/v1/me"
stop_server

# 2. A bare net/http handler serving exactly those bytes, same request.
# shellcheck disable=SC2046
start_server bare -mode bare -body "$tmp/me.json" $(prof cpuprofile bare.cpu.pprof)
load -label bare -url "http://$(info bare addr)/api/v1/me" -token "@$tmp/access" -out "$tmp/bare.json"
wrk_too "http://$(info bare addr)/api/v1/me"
stop_server

# 3. Idle WebSockets on a fresh gateway (default settings: ping every 30 s).
start_server ws -mode gateway
# shellcheck disable=SC2046
"$tmp/gwbench" ws -url "ws://$(info ws addr)/ws" -token "$(info ws token)" -ctl "$(info ws ctl)" \
	-n "$wsconns" -p "$wspar" -out "$tmp/ws.json" $(prof heapprofile gateway-ws.heap.pprof)
stop_server

echo
"$tmp/gwbench" report -bare "$tmp/bare.json" -gateway "$tmp/gateway.json" -ws "$tmp/ws.json"
echo
times >"$tmp/times.after"
others=$(($(busy) - busy_before - ($(children "$tmp/times.after") - $(children "$tmp/times.before"))))
[ "$others" -ge 0 ] || others=0 # the two clocks round differently
echo "CPU time other processes took during the $(($(date +%s) - start)) s run: $((others / hz)) s ($(nproc) cores)."
