#!/usr/bin/env bash
# ./dev bench latency [--syncthing-small N] [--syncthing-big N] [--no-syncthing] [--files N]
# A saved file's time until it is complete on the other device (4 KiB and
# 10 MiB, p50 and p90) and the idle daemons' CPU, then start-up time, RSS and
# inotify watches of a daemon watching 100,000 files; each beside Syncthing.
# See bench/latency.py.
set -euo pipefail
: "${BUILD:?run through ./dev bench latency}"
exec python3 "$(dirname "$0")/latency.py" "$@"
