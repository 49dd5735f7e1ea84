#!/usr/bin/env bash
# Times `warden deps scan` beside osv-scanner v2.6.0 (offline) on the same
# inputs, in one run, and prints a Markdown table:
#
#   - a package-lock.json of a few thousand packages, made by
#     `npm install --package-lock-only` from bench/deps/package.json;
#   - synthetic OSV npm databases of 6, 20,000 and 100,000 records
#     (bench/deps/main.go gen), laid out as osv-scanner's offline cache
#     (<root>/osv-scalibr/npm/all.zip) and imported into warden from the
#     same file.
#
# Before timing, each case checks that both tools report the same
# (package@version, vulnerability id) pairs, and stops if they differ.
# osv-scanner is built into the work directory (never into the repository);
# it needs Go 1.27, fetched through GOTOOLCHAIN.
#
# Usage: bench/deps.sh [-runs N] [-dir WORKDIR] [-sizes "6 20000 100000"]
#   -dir keeps the lockfile, databases and the osv-scanner binary between
#        runs (default: a temporary directory, removed at the end)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=10 dir= sizes="6 20000 100000"
while [ $# -gt 0 ]; do
	case $1 in
	-runs) runs=$2 ;;
	-dir) dir=$2 ;;
	-sizes) sizes=$2 ;;
	*) echo "usage: $0 [-runs N] [-dir WORKDIR] [-sizes \"6 20000 100000\"]" >&2; exit 2 ;;
	esac
	shift 2
done
for tool in hyperfine npm jq /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "deps.sh: $tool is needed (apt-get install hyperfine jq time; npm comes with Node.js)" >&2; exit 1; }
done
if [ -z "$dir" ]; then
	dir=$(mktemp -d)
	trap 'rm -rf "$dir"' EXIT
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

echo "building warden and osv-scanner v2.6.0 in $dir" >&2
go build -o "$dir/warden" .
osv=$dir/bin/osv-scanner
if [ ! -x "$osv" ]; then
	GOTOOLCHAIN=go1.27.4 GOBIN="$dir/bin" go install github.com/google/osv-scanner/v2/cmd/osv-scanner@v2.6.0
fi

lock=$dir/npm/package-lock.json
if [ ! -f "$lock" ] || ! cmp -s bench/deps/package.json "$dir/npm/package.json"; then
	echo "resolving bench/deps/package.json with npm (a few minutes)" >&2
	mkdir -p "$dir/npm"
	cp bench/deps/package.json "$dir/npm/package.json"
	(cd "$dir/npm" && npm install --package-lock-only --ignore-scripts --no-audit --no-fund --legacy-peer-deps >/dev/null)
fi
entries=$(jq '.packages | length' "$lock")

# rss CMD...: the peak RSS of CMD in MiB (a scan with findings exits 1).
rss() { { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null || true; } | tail -1 | awk '{printf "%.0f", $1/1024}'; }

rows=()
for n in $sizes; do
	db=$dir/db-$n state=$dir/state-$n
	if [ ! -f "$db/osv-scalibr/npm/all.zip" ]; then
		go run ./bench/deps gen -lock "$lock" -n "$n" -out "$db"
	fi
	rm -rf "$state"
	start=$(date +%s.%N)
	WARDEN_STATE_DIR=$state "$dir/warden" deps db import "$db/osv-scalibr/npm/all.zip" >/dev/null
	import=$(echo "$(date +%s.%N) - $start" | bc)
	wcmd="WARDEN_STATE_DIR=$state $dir/warden deps scan --format json --max-db-age 0 $lock"
	ocmd="OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY=$db $osv scan source --offline --format json -L $lock"

	# Same findings first.
	sh -c "$wcmd" >"$dir/warden-$n.json" || [ $? -eq 1 ]
	sh -c "$ocmd" >"$dir/osv-$n.json" 2>"$dir/osv-$n.log" || [ $? -eq 1 ]
	if ! go run ./bench/deps ids -warden "$dir/warden-$n.json" -osv "$dir/osv-$n.json" >"$dir/ids-$n.txt"; then
		cat "$dir/ids-$n.txt" >&2
		echo "deps.sh: the two tools report different findings with $n records" >&2
		exit 1
	fi
	same=$(head -1 "$dir/ids-$n.txt")
	echo "$n records: $same" >&2
	pairs=$(echo "$same" | sed -n 's/^warden \([0-9]*\),.*/\1/p')

	hyperfine -N --warmup 1 --runs "$runs" -i --export-json "$dir/hf-$n.json" \
		-n warden "env $wcmd" -n osv-scanner "env $ocmd" >&2
	wmean=$(jq '.results[0].mean' "$dir/hf-$n.json") wsd=$(jq '.results[0].stddev' "$dir/hf-$n.json")
	omean=$(jq '.results[1].mean' "$dir/hf-$n.json") osd=$(jq '.results[1].stddev' "$dir/hf-$n.json")
	wrss=$(rss env WARDEN_STATE_DIR="$state" "$dir/warden" deps scan --format json --max-db-age 0 "$lock")
	orss=$(rss env OSV_SCANNER_LOCAL_DB_CACHE_DIRECTORY="$db" "$osv" scan source --offline --format json -L "$lock")
	findings=$(jq '.findings | length' "$dir/warden-$n.json")
	rows+=("$(printf '| %s | %d (%d rows) | %.0f ms ± %.0f, %s MiB | %.0f ms ± %.0f, %s MiB | %.0f× | %.1f s |' \
		"$(printf "%'d" "$n")" "$pairs" "$findings" "$(echo "$wmean*1000" | bc -l)" "$(echo "$wsd*1000" | bc -l)" "$wrss" \
		"$(echo "$omean*1000" | bc -l)" "$(echo "$osd*1000" | bc -l)" "$orss" "$(echo "$omean/$wmean" | bc -l)" "$import")")
done

echo
echo "package-lock.json with $entries entries; $runs runs each (hyperfine), $(nproc) cores"
echo
echo "| database (records) | package@version–id pairs, identical in both (warden rows, one per install path) | warden deps scan, peak RSS | osv-scanner v2.6.0 --offline, peak RSS | speed-up | warden db import |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
