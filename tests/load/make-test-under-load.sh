#!/usr/bin/env bash
# `make test`, RUNS times in a row started in the foreground and RUNS times
# started in the background, while stress-ng keeps every core busy; stops at
# the first failure. Each run's log is in $LOGS; a summary line per run is
# printed. Usage: tests/load/make-test-under-load.sh [RUNS] (default 5).
#
# A background job of a non-interactive shell starts with SIGINT ignored,
# which its children inherit: the tests must not depend on it.
set -u
cd "$(dirname "$0")/../.."
RUNS=${1:-5}
LOGS=${LOGS:-target/load-runs}
mkdir -p "$LOGS"
command -v stress-ng >/dev/null || { echo "needs stress-ng (apt-get install stress-ng)"; exit 2; }
stress-ng --cpu "$(nproc)" --cpu-method matrixprod --quiet &
STRESS=$!
trap 'kill $STRESS 2>/dev/null' EXIT
echo "load: stress-ng --cpu $(nproc) (pid $STRESS) on $(nproc) cores"

run() {  # run MODE I
    local log="$LOGS/$1-$2.log" start rc
    start=$(date +%s)
    if [ "$1" = fg ]; then
        make test >"$log" 2>&1
        rc=$?
    else
        bash -c 'python3 -c "import signal; print(\"SIGINT in the background job:\", signal.getsignal(signal.SIGINT))" & wait $!
                 make test & wait $!' >"$log" 2>&1
        rc=$?
    fi
    echo "$1 run $2: exit $rc in $(( $(date +%s) - start )) s; load average $(cut -d' ' -f1-3 /proc/loadavg)"
    return "$rc"
}

for mode in fg bg; do
    for i in $(seq 1 "$RUNS"); do
        run "$mode" "$i" || { echo "FAILED: $LOGS/$mode-$i.log"; exit 1; }
    done
done
echo "all $((2 * RUNS)) runs passed"
