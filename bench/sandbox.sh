#!/usr/bin/env bash
# Times /bin/true through plain exec, bubblewrap, `warden sandbox run` and
# POST /api/v1/exec on a running gateway, side by side in one run, and
# prints a Markdown table (figures in docs/performance.md). Needs root (as
# the sandbox tests), hyperfine and bwrap (installed with apt if missing).
#
# Usage: bench/sandbox.sh [-r RUNS] [-n REQUESTS] [-gap 20ms]
set -euo pipefail
cd "$(dirname "$0")/.."

runs=200 requests=300 gap=20ms
while [ $# -gt 0 ]; do
	case $1 in
	-r) runs=$2 ;;
	-n) requests=$2 ;;
	-gap) gap=$2 ;;
	*) echo "usage: $0 [-r RUNS] [-n REQUESTS] [-gap 20ms]" >&2; exit 2 ;;
	esac
	shift 2
done
[ "$(id -u)" -eq 0 ] || { echo "bench/sandbox.sh: run as root" >&2; exit 1; }
for tool in hyperfine:hyperfine bwrap:bubblewrap; do
	command -v "${tool%%:*}" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${tool#*:}" >/dev/null
done

tmp=$(mktemp -d)
server=
cleanup() {
	[ -z "$server" ] || { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/warden" .
go build -o "$tmp/helper" ./bench/sandbox
export HOME="$tmp/home"
mkdir -p "$HOME" "$tmp/ws"
"$tmp/warden" init >/dev/null 2>&1

hyperfine -N --style basic --warmup 10 --runs "$runs" --export-json "$tmp/hyperfine.json" \
	'/bin/true' \
	"bwrap --unshare-all --cap-drop ALL --die-with-parent --ro-bind / / --tmpfs /tmp --dev /dev --proc /proc --bind $tmp/ws $tmp/ws --chdir $tmp/ws /bin/true" \
	"$tmp/warden sandbox run -- /bin/true" >&2

"$tmp/warden" serve --listen 127.0.0.1:0 --addr-file "$tmp/addr" 2>"$tmp/serve.log" &
server=$!
for _ in $(seq 100); do [ -s "$tmp/addr" ] && break; sleep 0.1; done
[ -s "$tmp/addr" ] || { cat "$tmp/serve.log" >&2; exit 1; }
"$tmp/warden" tokens create --name bench --role agent >"$tmp/token"
"$tmp/helper" exec -addr "$tmp/addr" -token "$tmp/token" -n "$requests" -gap "$gap" -db "$tmp/commit.db" -out "$tmp/exec.json"

echo
"$tmp/helper" report -hyperfine "$tmp/hyperfine.json" -exec "$tmp/exec.json"
echo
echo "$(nproc) cores, load average before the end: $(cut -d' ' -f1-3 /proc/loadavg)"
