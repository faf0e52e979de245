#!/usr/bin/env bash
# Runs one libFuzzer target (a -Dlibfuzzer=true build) for FUZZ_SECONDS
# (default 10) with FUZZ_JOBS processes (default 1), starting from its seed
# corpus (tests/fuzz/corpus/NAME) and its kept crash inputs
# (tests/fuzz/regressions/NAME), which are only read. What it learns goes to
# WORK/corpus/NAME, a crashing input to WORK/artifacts/NAME/. Exit status 0
# when nothing crashed. Used by ./dev fuzz through meson test.
#   run_fuzzer.sh EXE NAME SOURCE_DIR WORK_DIR
set -euo pipefail
exe=$1 name=$2 src=$3 work=$4
seconds=${FUZZ_SECONDS:-10}
jobs=${FUZZ_JOBS:-1}
mkdir -p "$work/corpus/$name" "$work/artifacts/$name"
seeds=()
for dir in "$src/corpus/$name" "$src/regressions/$name"; do
  [ -d "$dir" ] && seeds+=("$dir")
done
args=(-max_total_time="$seconds" -artifact_prefix="$work/artifacts/$name/" -print_final_stats=1)
[ "$jobs" -gt 1 ] && args+=(-fork="$jobs")
log="$work/$name.log"
if "$exe" "${args[@]}" "$work/corpus/$name" "${seeds[@]}" >"$log" 2>&1; then
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
  echo "fuzz $name: ${runs:-?} inputs in ${seconds} s, no crash (log: $log)"
else
  tail -n 60 "$log"
  echo "fuzz $name: FAILED; the input is in $work/artifacts/$name/;" \
    "fix the bug, then keep the input as tests/fuzz/regressions/$name/<what-it-found>"
  exit 1
fi
