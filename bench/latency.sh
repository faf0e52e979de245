#!/usr/bin/env bash
# ./dev bench latency: a saved file's time until it is complete on the other
# device (4 KiB and 10 MiB, p50 and p90) and the idle daemons' CPU; see
# bench/latency.py.
set -euo pipefail
: "${BUILD:?run through ./dev bench latency}"
exec python3 "$(dirname "$0")/latency.py" "$@"
