#!/usr/bin/env bash
# make soak — `make test` SOAK_RUNS times in a row (default 5) while another `make test`
# runs beside it the whole time: the load a 2-core CI machine sees when two pipelines
# share it. Both run from fresh clones of the committed HEAD, each with its own
# PostgreSQL clusters and ports. Prints one line per run and the failed tests of any
# failed run; exits 1 unless every run of the measured side passed. The neighbour's
# runs are reported too (a failure there is a flaky test all the same).
set -uo pipefail
runs=${SOAK_RUNS:-5}
root=$(git rev-parse --show-toplevel)
dir=$(mktemp -d "${TMPDIR:-/tmp}/herald-soak.XXXXXX")
git clone -q "$root" "$dir/measured" && git clone -q "$root" "$dir/neighbour" || exit 1
chmod -R a+rX "$dir" # the tests' PostgreSQL may run as another user when started as root
echo "soak: $runs runs of make test beside a neighbour's, in $dir ($(git -C "$root" rev-parse --short HEAD), $(nproc) cores)"

summary() { # name log rc seconds
	local failed
	failed=$(grep -E '^(--- FAIL|FAIL	|panic:)' "$2" | sed 's/ (.*//' | tr '\n' ' ')
	printf '%-12s rc=%s %4ss  load %s  %s\n' "$1" "$3" "$4" "$(cut -d' ' -f1-3 /proc/loadavg)" "${failed:-all passed}"
}

(
	cd "$dir/neighbour" || exit 1
	i=0
	while [ ! -e "$dir/measured.done" ]; do
		i=$((i + 1))
		start=$(date +%s)
		make test >"$dir/neighbour.$i.log" 2>&1
		rc=$?
		summary "neighbour $i" "$dir/neighbour.$i.log" "$rc" $(($(date +%s) - start))
	done
) &
neighbour=$!

passed=0
cd "$dir/measured" || exit 1
for i in $(seq 1 "$runs"); do
	start=$(date +%s)
	make test >"$dir/measured.$i.log" 2>&1
	rc=$?
	summary "measured $i" "$dir/measured.$i.log" "$rc" $(($(date +%s) - start))
	[ "$rc" = 0 ] && passed=$((passed + 1))
done
touch "$dir/measured.done"
wait "$neighbour"
echo "soak: $passed of $runs measured runs passed; logs in $dir"
[ "$passed" = "$runs" ]
