#!/usr/bin/env bash
# ./dev bench relay [--devices N] [--seconds S] [--small-files N] [--big-files N] [--only load|handoff]
#                   [--relay-delay-ms MS]
# One ferry-relay under load: N devices (default 500) putting and getting
# 64 KiB chunks (bench/relay_load.cc), with the relay's RSS and CPU; then
# an offline hand-off through a relay (10,000 small files + 8 x 64 MiB: a
# uploads, stops; b starts and downloads) beside a direct sync of the same
# data in the same run. See bench/relay.py.
set -euo pipefail
: "${BUILD:?run through ./dev bench relay}"
exec python3 "$(dirname "$0")/relay.py" "$@"
