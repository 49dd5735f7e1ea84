#!/usr/bin/env bash
# Times `warden release-notes` beside git-cliff on the same generated
# repository (bench/releasenotes writes it: 100,000 commits, 200 release
# tags plus 20 release candidates, a merged branch every 100 commits, a
# growing pool of authors with a newcomer in the last release) and prints a
# Markdown table. Both tools run in this one script, one after the other.
#
#   last release   warden: notes for the tagged HEAD since the previous
#                  final release (the release candidate is skipped);
#                  git-cliff: --latest with a config that ignores rc tags.
#                  warden is timed three ways: first-time contributors with
#                  an empty cache (it reads the 99,500 earlier commits, in
#                  one parallel scan of the pack), with the cache the
#                  previous release's run left (it reads that release's
#                  commits), and without them (--first-time=false: git-cliff
#                  finds no first-time contributors without the GitHub API).
#   whole history  warden --all (one section over every commit); git-cliff
#                  with no range (a section per release, every commit).
#
# Needs git (to build the repository; warden itself does not use it), npm
# (git-cliff is the npm package git-cliff, a real binary) unless git-cliff
# is on PATH, and hyperfine if present (else a plain timing loop). The load
# average before and after the timings is printed under the table: other
# work on the machine inflates wall times (warden's scan uses every core).
#
# Usage: bench/release-notes.sh [-commits 100000] [-tags 200] [-runs 5] [-keep DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

commits=100000 tags=200 runs=5 keep=
while [ $# -gt 0 ]; do
	case $1 in
	-commits) commits=$2 ;;
	-tags) tags=$2 ;;
	-runs) runs=$2 ;;
	-keep) keep=$2 ;;
	*) echo "usage: $0 [-commits N] [-tags N] [-runs N] [-keep DIR]" >&2; exit 2 ;;
	esac
	shift 2
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
work=${keep:-$tmp}
mkdir -p "$work"

go build -o "$tmp/warden" .
go build -o "$tmp/gen" ./bench/releasenotes

repo=$work/repo
if [ ! -d "$repo/.git" ]; then
	echo "building the repository ($commits commits, $tags tags)..." >&2
	git init -q -b main "$repo"
	"$tmp/gen" -commits "$commits" -tags "$tags" | git -C "$repo" fast-import --quiet
	git -C "$repo" gc -q
fi

cliff=$(command -v git-cliff || true)
if [ -z "$cliff" ]; then
	echo "installing git-cliff with npm..." >&2
	npm install --silent --no-audit --no-fund --prefix "$tmp/npm" git-cliff >/dev/null
	cliff=$tmp/npm/node_modules/.bin/git-cliff
fi

# git-cliff configured like warden's defaults: conventional commits grouped
# by type, non-conventional ones kept under Other, release candidates not
# counted as releases.
cat >"$tmp/cliff.toml" <<'TOML'
[changelog]
body = """
{% if version %}## {{ version }}{% else %}## Unreleased{% endif %}
{% for group, commits in commits | group_by(attribute="group") %}
### {{ group | upper_first }}
{% for commit in commits %}
- {% if commit.scope %}**{{ commit.scope }}:** {% endif %}{{ commit.message | upper_first }} ({{ commit.id | truncate(length=7, end="") }})\
{% endfor %}
{% endfor %}
"""
trim = true

[git]
conventional_commits = true
filter_unconventional = false
split_commits = false
commit_parsers = [
  { message = "^feat", group = "Features" },
  { message = "^fix", group = "Bug Fixes" },
  { message = "^perf", group = "Performance" },
  { message = "^doc", group = "Documentation" },
  { message = "^refactor", group = "Refactoring" },
  { message = "^test", group = "Tests" },
  { message = "^chore\\(release\\)", skip = true },
  { message = "^chore", group = "Chores" },
  { message = "^ci", group = "CI" },
  { message = "^build", group = "Build" },
  { message = "^revert", group = "Reverts" },
  { message = ".*", group = "Other" },
]
protect_breaking_commits = true
filter_commits = false
tag_pattern = "^v[0-9]+\\.[0-9]+\\.[0-9]+$"
ignore_tags = "rc"
topo_order = false
sort_commits = "oldest"
TOML

export XDG_CACHE_HOME=$tmp/cache
w="$tmp/warden release-notes --repo $repo"
c="$cliff --config $tmp/cliff.toml --repository $repo"

# Sanity: both see the same release.
$w >"$tmp/w-last.md"
(cd "$repo" && $c --latest 2>/dev/null) >"$tmp/c-last.md"
$w --all --first-time=false >"$tmp/w-all.md"
# The release before the last one: its run leaves the cache the last
# release's run finds (what happens from one release to the next).
prev=$(git -C "$repo" tag --list | grep -v -- -rc | sort -V | tail -2 | head -1)
echo "last release: warden $(head -1 "$tmp/w-last.md"), $($w -f json | grep -m1 '"commits":' | tr -dc 0-9) commits" \
	"(git rev-list: $(git -C "$repo" rev-list --count "$prev..HEAD"));" \
	"git-cliff $(head -1 "$tmp/c-last.md"), $(grep -c '^- ' "$tmp/c-last.md" || true) entries" >&2

# time NAME RUNS PREPARE COMMAND: mean wall time and its standard deviation,
# and the mean CPU time (user + system: steadier on a shared machine), in seconds.
results=$tmp/results
: >"$results"
time_cmd() {
	local name=$1 n=$2 prepare=$3 cmd=$4
	if command -v hyperfine >/dev/null; then
		hyperfine --style none --runs "$n" --prepare "$prepare" --export-csv "$tmp/h.csv" "$cmd" >/dev/null 2>&1
		awk -F, -v name="$name" 'NR==2 {printf "%s|%.3f|%.3f|%.3f\n", name, $2, $3, $5 + $6}' "$tmp/h.csv" >>"$results"
	else
		local total=0 t0 t1
		for _ in $(seq "$n"); do
			sh -c "$prepare"
			t0=$(date +%s.%N)
			sh -c "$cmd" >/dev/null 2>&1
			t1=$(date +%s.%N)
			total=$(echo "$total + $t1 - $t0" | bc)
		done
		echo "$name|$(echo "scale=3; $total / $n" | bc)|-|-" >>"$results"
	fi
}

load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime; }
load_before=$(load)
slow=$(( runs < 2 ? runs : 2 ))
time_cmd "warden, last release, first-time contributors, empty cache" "$runs" "rm -rf $tmp/cache" "$w"
time_cmd "warden, last release, first-time contributors, cache left by the run for $prev" "$runs" "rm -rf $tmp/cache && $w --to $prev >/dev/null" "$w"
time_cmd "warden, last release, --first-time=false" "$runs" "true" "$w --first-time=false"
time_cmd "git-cliff --latest" "$runs" "true" "cd $repo && $c --latest"
time_cmd "warden --all (whole history)" "$slow" "true" "$w --all"
time_cmd "git-cliff (whole history, every release)" "$slow" "true" "cd $repo && $c"

load_after=$(load)

echo
echo "| $commits commits, $tags release tags | wall, mean (s) | ± (s) | CPU, user + system (s) |"
echo "|---|---|---|---|"
awk -F'|' '{printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4}' "$results"
echo
echo "$(nproc) CPUs; load average (1, 5, 15 min) before the timings: $load_before, after: $load_after"
