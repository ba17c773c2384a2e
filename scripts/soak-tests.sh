#!/usr/bin/env bash
# Run the whole test suite N times in a row, optionally with CPU hogs on the cores, to show
# that it is green every time (and to find the tests that are not).
#
#   scripts/soak-tests.sh -n 5                    # five runs on an otherwise idle machine
#   scripts/soak-tests.sh -n 2 --hogs 2           # two runs with two busy loops running
#   scripts/soak-tests.sh -n 3 -- tests/gui -x    # arguments after -- go to pytest
#
# Uses the project's venv and test workers as `make test` does ($VENV, default .venv;
# $TEST_WORKERS, default 4; `make apt debtools venv` first unless --no-setup). Each run's
# output goes to $LOG_DIR/run-<i>.log (default: a new temp dir). Prints every run's wall
# time and result, then a summary; exits 1 if any run failed.
set -euo pipefail

usage() {
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    echo "options: -n N (runs, default 1)  --hogs K (busy loops, default 0)  --no-setup"
    echo "         --log-dir DIR  -h|--help"
}

runs=1
hogs=0
setup=1
log_dir=""
pytest_args=()
while (($#)); do
    case "$1" in
        -n) runs="${2:?-n needs a number}"; shift 2 ;;
        --hogs) hogs="${2:?--hogs needs a number}"; shift 2 ;;
        --no-setup) setup=0; shift ;;
        --log-dir) log_dir="${2:?--log-dir needs a directory}"; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        --) shift; pytest_args=("$@"); break ;;
        *) echo "soak-tests: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
for value in "$runs" "$hogs" "${TEST_WORKERS:-4}"; do
    if ! [[ "$value" =~ ^[0-9]+$ ]]; then
        echo "soak-tests: '$value' is not a whole number" >&2
        exit 2
    fi
done
if ((runs < 1)); then
    echo "soak-tests: -n must be at least 1, not $runs" >&2
    exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${VENV:-.venv}"
workers="${TEST_WORKERS:-4}"
if ((setup)); then
    make --no-print-directory apt debtools venv VENV="$venv"
fi
python="$venv/bin/python"
if [[ ! -x "$python" ]]; then
    echo "soak-tests: no venv at $venv (run 'make venv', or set VENV=...)" >&2
    exit 2
fi
if [[ -z "$log_dir" ]]; then
    log_dir="$(mktemp -d "${TMPDIR:-/tmp}/soak-tests.XXXXXX")"
fi
mkdir -p "$log_dir"

# Job control: every background job (the hogs, the test run) gets its own process group, so
# a Ctrl-C reaches this script alone; it hands the interrupt to pytest, which tears its
# servers down, and stops the hogs by PID.
set -m
hog_pids=()
test_pid=""
stop_hogs() {
    local pid
    for pid in "${hog_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${hog_pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    hog_pids=()
}
interrupted() {
    echo >&2
    echo "soak-tests: interrupted; stopping the test run and the hogs" >&2
    if [[ -n "$test_pid" ]]; then
        kill -INT "$test_pid" 2>/dev/null || true
        wait "$test_pid" 2>/dev/null || true
    fi
    exit 130
}
trap stop_hogs EXIT
trap interrupted INT TERM

for ((i = 0; i < hogs; i++)); do
    bash -c 'while :; do :; done' &
    hog_pids+=("$!")
done
echo "soak-tests: $runs run(s) of $workers test worker(s), $hogs CPU hog(s) on $(nproc) core(s)," \
    "logs in $log_dir"

results=()
failed=0
total_start=$SECONDS
for ((run = 1; run <= runs; run++)); do
    log="$log_dir/run-$run.log"
    start=$SECONDS
    # PYTHONPATH: the tree this script is in, also when the venv's editable install points
    # at another checkout (a git worktree). SIGINT back to its default, so that pytest turns
    # it into a KeyboardInterrupt (and tears down) even when this script was started with
    # SIGINT ignored (as a background job of another shell).
    PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" env --default-signal=INT \
        "$python" -m pytest -q -p no:cacheprovider -n "$workers" --dist load --maxschedchunk 1 \
        "${pytest_args[@]}" >"$log" 2>&1 </dev/null &
    test_pid=$!
    code=0
    wait "$test_pid" || code=$?
    test_pid=""
    seconds=$((SECONDS - start))
    # pytest's last line: "3 passed, 1 failed in 12.34s (0:00:12)", maybe framed in "="
    summary="$({ grep -E ' in [0-9.]+s( \([0-9:]+\))?( =+)?$' "$log" || true; } | tail -n 1 \
        | sed 's/^=* *//; s/ *=*$//')"
    if ((code == 0)); then
        verdict="ok"
    else
        verdict="FAILED (exit $code)"
        failed=$((failed + 1))
    fi
    line="$(printf 'run %d/%d: %s in %dm%02ds  %s' "$run" "$runs" "$verdict" \
        $((seconds / 60)) $((seconds % 60)) "${summary:-no pytest summary, see $log}")"
    echo "$line"
    if ((code != 0)); then
        grep -E '^(FAILED|ERROR) ' "$log" | sed 's/^/    /' || true
    fi
    results+=("$line")
done

total=$((SECONDS - total_start))
echo
echo "soak-tests summary: $((runs - failed))/$runs run(s) green, $hogs hog(s)," \
    "$((total / 60))m$(printf '%02d' $((total % 60)))s in all; logs in $log_dir"
for line in "${results[@]}"; do
    echo "  $line"
done
((failed == 0))
