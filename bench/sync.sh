#!/usr/bin/env bash
# ./dev bench sync [--small N] [--big N] [--initial-only] [--perf] [--no-fresh-fs] [--no-syncthing]
#
# Initial sync between two ferry daemons on loopback against rsync in daemon
# mode on 127.0.0.1, on the same data in the same run (this machine is shared
# and noisy: read the ratios): 10,000 small files (1-64 KiB) plus 8 files of
# 64 MiB. rsync copies once before ferry and once after it; ratios use the
# mean of the two (see "rsync copies twice" below). Then two Syncthing
# instances copy it too (bench/syncthing_initial.py; --no-syncthing skips
# them), for the tool a person syncing devices would otherwise pick. For each side: wall time, CPU time (user + system) and peak RSS
# from /usr/bin/time -v. Then the bytes on the wire for renaming a 64 MiB
# file and for inserting 1 KiB in the middle of a 256 MiB file: ferry's from
# the daemons' own counters (`ferry devices --json`), rsync's from --stats.
# Targets: ferry's wall time <= rsync's; insertion bytes < rsync's. rsync
# leaves its copy in the page cache; ferry returns only once every file is
# durable, so the table also shows rsync followed by `sync -f` (its copy made
# durable): the time a user who needs the copy to survive a crash waits.
#
# Everything runs on a fresh ext4 (with a journal) on a loop device made for
# the run, when run as root: on this machine's ext4 (no journal, mounted with
# discard), creating files within ~30 s of deleting many is several times
# slower (the inode allocator skips recently deleted inodes), so each run
# slowed the next one and rsync's time varied 2-7 s for the same data.
# --no-fresh-fs runs in /tmp instead.
# Prints a table and writes JSON to $BUILD/bench/sync.json.
# --initial-only skips the two edits (then --big 0 is allowed); --perf records
# a profile of each daemon during the initial sync (perf record --call-graph
# dwarf) into $BUILD/bench/sync-perf-{a,b}.data, for `perf report -i`.
set -euo pipefail
: "${BUILD:?run through ./dev bench sync}"
nsmall=10000; nbig=8; edits=1; perf=0; fresh_fs=1; syncthing=1
while [ $# -gt 0 ]; do
  case "$1" in
    --small) nsmall=$2; shift 2 ;;
    --big) nbig=$2; shift 2 ;;
    --initial-only) edits=0; shift ;;
    --perf) perf=1; shift ;;
    --no-fresh-fs) fresh_fs=0; shift ;;
    --no-syncthing) syncthing=0; shift ;;
    *) echo "bench sync: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ "$edits" = 1 ] && [ "$nbig" -lt 1 ]; then
  echo "bench sync: the rename edit needs --big 1 or more (or --initial-only)" >&2; exit 2
fi
ferry="$BUILD/src/cli/ferry"
json="$BUILD/bench/sync.json"
image=""; mnt=""
if [ "$fresh_fs" = 1 ] && [ "$(id -u)" = 0 ] && command -v mkfs.ext4 >/dev/null; then
  # Room for the source, four copies, the edit copy and the 256 MiB files (sparse).
  image=$(mktemp /tmp/ferry-bench-sync.XXXXXX.img)
  mnt=$(mktemp -d /tmp/ferry-bench-sync-mnt.XXXXXX)
  truncate -s $(( (nsmall * 40 * 1024 + nbig * 64 * 1024 * 1024) * 8 + (2 << 30) )) "$image"
  if mkfs.ext4 -q -F "$image" && mount -o loop "$image" "$mnt"; then
    filesystem="fresh ext4 (journal) on a loop device"
  else
    rmdir "$mnt"; mnt=""; rm -f "$image"; image=""
  fi
fi
if [ -n "$mnt" ]; then
  work="$mnt/work"; mkdir "$work"
else
  filesystem="/tmp as it is ($(stat -f -c %T /tmp))"
  work=$(mktemp -d /tmp/ferry-bench-sync.XXXXXX)
fi
mkdir -p "$(dirname "$json")"
pids=()  # the processes started here; only these are ever signalled
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ]; then  # the daemons' own words on what went wrong
    for log in "$work"/home-*.log; do
      [ -f "$log" ] && { echo "--- $log (last lines)" >&2; tail -n 20 "$log" >&2; }
    done
  fi
  for p in "${pids[@]}"; do  # each a `time` process: its child first
    pkill -TERM -P "$p" 2>/dev/null || true; kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
  if [ -n "$mnt" ]; then umount "$mnt" && rmdir "$mnt"; fi
  if [ -n "$image" ]; then rm -f "$image"; fi
}
trap cleanup EXIT
now() { echo "$EPOCHREALTIME"; }
elapsed() { python3 -c "print(f'{$2-$1:.2f}')"; }
# wait_for SECONDS CMD...: runs CMD every 0.1 s until it succeeds; fails after SECONDS.
wait_for() {
  local limit=$1; shift
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || { echo "bench sync: timed out waiting for: $*" >&2; return 1; }
    sleep 0.1
  done
}
# cpu_seconds FILE, rss_mb FILE: from a /usr/bin/time -v report.
cpu_seconds() { python3 - "$1" <<'PY'
import sys, re
t = open(sys.argv[1]).read()
u = float(re.search(r"User time \(seconds\): ([\d.]+)", t).group(1))
s = float(re.search(r"System time \(seconds\): ([\d.]+)", t).group(1))
print(f"{u+s:.2f}")
PY
}
rss_mb() { python3 - "$1" <<'PY'
import sys, re
t = open(sys.argv[1]).read()
kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
print(f"{kib / 1024:.1f}")
PY
}
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
# stop_timed TIMEPID NAME: stops the NAME process that our `time` process runs
# (signalling `time` itself would leave its child running).
stop_timed() {
  local child; child=$(pgrep -P "$1" -x "$2" || true)
  [ -n "$child" ] && kill -TERM "$child"
  wait "$1" 2>/dev/null || true
}
lo_bytes() {  # bytes received + sent on loopback so far (awk would print 1e+09)
  python3 -c "
for line in open('/proc/net/dev'):
    name, _, counters = line.partition(':')
    if name.strip() == 'lo':
        f = counters.split(); print(int(f[0]) + int(f[8]))"
}

echo "bench sync: generating $nsmall small files (1-64 KiB) and $nbig x 64 MiB in $work" >&2
python3 - "$work/src" "$nsmall" "$nbig" <<'PY'
import os, random, sys
root, nsmall, nbig = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(4)
for i in range(nsmall):
    d = os.path.join(root, "small", f"d{i % 100:02d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05d}.bin"), "wb") as f:
        f.write(os.urandom(rng.randint(1024, 65536)))
os.makedirs(os.path.join(root, "big"), exist_ok=True)
for i in range(nbig):
    with open(os.path.join(root, "big", f"big{i}.raw"), "wb") as f:
        for _ in range(64):
            f.write(os.urandom(1 << 20))
PY
# file_bytes DIR: the sizes of the regular files below DIR, .ferry/ left out
# (not du: a directory's own size grows with the names it ever held).
file_bytes() {
  find "$1" -path "$1/.ferry" -prune -o -type f -printf '%s\n' | awk '{ n += $1 } END { printf "%d\n", n }'
}
total_bytes=$(file_bytes "$work/src")
nfiles=$((nsmall + nbig))
sync

# ---- rsync: daemon on 127.0.0.1, client pushes ----
# rsync copies twice, once before ferry and once after it, and the ratios
# use the mean: on this machine (a VM) writing into memory the guest has not
# touched lately costs the host a page fault per page, so whichever tool
# writes later pays more (rsync after ferry measured 3.5 s against 2.5 s
# before it, ferry's receiver 1.5 s of CPU more when it ran second).
port=$(free_port)
# write_rsyncd_conf DEST: a daemon config serving DEST as module "bench".
write_rsyncd_conf() {
  cat > "$work/rsyncd.conf" <<CONF
use chroot = no
# The daemon writes as the user running the bench (as root it would drop to
# nobody and be refused by the bench's own folders).
uid = $(id -u)
gid = $(id -g)
pid file = $work/rsyncd.pid
[bench]
  path = $1
  read only = no
CONF
}
# rsync_initial N: copies src to $work/rsync-N through a daemon of its own;
# sets rsync_wall and rsync_durable (seconds) and leaves /usr/bin/time
# reports in $work/rsync-N.time (client) and $work/rsyncd-N.time (daemon).
rsync_initial() {
  local dest="$work/rsync-$1" daemon t0 t1 t2
  mkdir -p "$dest"; write_rsyncd_conf "$dest"
  /usr/bin/time -v -o "$work/rsyncd-$1.time" rsync --daemon --no-detach --address=127.0.0.1 \
    --port="$port" --config="$work/rsyncd.conf" &
  daemon=$!; pids+=("$daemon")
  wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
  t0=$(now)
  /usr/bin/time -v -o "$work/rsync-$1.time" rsync -a "$work/src/" "rsync://127.0.0.1:$port/bench/" \
    >/dev/null
  t1=$(now)
  sync -f "$dest"
  t2=$(now)
  rsync_wall=$(elapsed "$t0" "$t1"); rsync_durable=$(elapsed "$t0" "$t2")
  diff -r "$work/src" "$dest" >/dev/null || { echo "bench sync: rsync copy differs" >&2; exit 1; }
  stop_timed "$daemon" rsync; rm -f "$work/rsyncd.pid"
}
rsync_initial 1
rsync_wall_1=$rsync_wall; rsync_durable_1=$rsync_durable
rsync_rename=null; rsync_insert=null
if [ "$edits" = 1 ]; then
  write_rsyncd_conf "$work/rsync-1"
  rsync --daemon --no-detach --address=127.0.0.1 --port="$port" --config="$work/rsyncd.conf" &
  rsyncd=$!; pids+=("$rsyncd")
  wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"

  # rsync: rename one 64 MiB file; insert 1 KiB in the middle of a 256 MiB file.
  rsync_stat_bytes() {  # sent + received bytes of an rsync --stats run
    python3 -c "
import re, sys
t = sys.stdin.read()
s = int(re.search(r'Total bytes sent: ([\d,]+)', t).group(1).replace(',', ''))
r = int(re.search(r'Total bytes received: ([\d,]+)', t).group(1).replace(',', ''))
print(s + r)"
  }
  cp -r "$work/src" "$work/edit"
  head -c $((256 << 20)) /dev/urandom > "$work/big256.orig"
  python3 - "$work/big256.orig" "$work/big256.edited" <<'PY'
import os, sys
data = open(sys.argv[1], "rb").read()
mid = len(data) // 2
open(sys.argv[2], "wb").write(data[:mid] + os.urandom(1024) + data[mid:])
PY
  cp "$work/big256.orig" "$work/edit/big256.raw"
  rsync -a "$work/edit/" "rsync://127.0.0.1:$port/bench/" >/dev/null
  mv "$work/edit/big/big0.raw" "$work/edit/big/renamed0.raw"
  rsync_rename=$(rsync -a --delete --stats "$work/edit/" "rsync://127.0.0.1:$port/bench/" | rsync_stat_bytes)
  cp "$work/big256.edited" "$work/edit/big256.raw"
  rsync_insert=$(rsync -a --delete --stats "$work/edit/" "rsync://127.0.0.1:$port/bench/" | rsync_stat_bytes)
  kill -TERM "$rsyncd"; wait "$rsyncd" 2>/dev/null || true
fi
# rsync's copy stays until the end, so ferry's run does not start seconds
# after a mass delete: on ext4 without a journal the inode allocator skips
# recently freed inodes one by one (44% of the receiver's time in one
# profile), though the bench's totals did not change beyond noise.

# ---- ferry: two daemons, device b joins device a ----
export FERRY_HOME
# Each daemon keeps one port across its restarts: the other device dials the
# address it learnt first.
port_a=$(free_port); port_b=$(free_port)
# start_daemon HOME PORT TIMEFILE: sets $started to the pid of its `time`
# process (not through $(...): only this shell can wait for its children).
start_daemon() {
  FERRY_HOME=$1 /usr/bin/time -v -o "$3" "$ferry" run --listen "127.0.0.1:$2" \
    2>>"$1.log" >/dev/null &
  started=$!; pids+=("$started")
}
stop_daemon() { stop_timed "$1" ferry; }
A="$work/home-a"; B="$work/home-b"
mkdir -p "$work/ferry-dest"
FERRY_HOME=$A "$ferry" init --name bench-a >/dev/null
FERRY_HOME=$B "$ferry" init --name bench-b >/dev/null
FERRY_HOME=$A "$ferry" folder add "$work/src" --id bench >/dev/null
# Device a indexes its folder first (rsync reads every file too; this time is
# reported and counted in ferry's total).
t0=$(now)
FERRY_HOME=$A "$ferry" scan --quiet
t1=$(now)
ferry_scan=$(elapsed "$t0" "$t1")

start_daemon "$A" "$port_a" "$work/ferry-a.time"; a=$started
wait_for 20 env FERRY_HOME="$A" "$ferry" status
code=$(FERRY_HOME=$A "$ferry" invite | tail -n 1)
FERRY_HOME=$B "$ferry" join "$code" >/dev/null
# A device joins from a fresh home; it adds the folder after joining.
FERRY_HOME=$B "$ferry" folder add "$work/ferry-dest" --id bench >/dev/null
# perf_attach TIMEPID NAME: profiles the daemon that our `time` process runs.
perfs=()
perf_attach() {
  [ "$perf" = 1 ] || return 0
  local child; child=$(pgrep -P "$1" -x ferry)
  perf record --call-graph dwarf -F 499 -q -o "$BUILD/bench/sync-perf-$2.data" -p "$child" \
    2>/dev/null &
  perfs+=($!); pids+=($!)
}
perf_attach "$a" a
lo0=$(lo_bytes)
t0=$(now)
start_daemon "$B" "$port_b" "$work/ferry-b.time"; b=$started
wait_for 10 pgrep -P "$b" -x ferry
perf_attach "$b" b
# Done when b holds every file and byte (checked without reading contents;
# compared in full afterwards).
complete() {
  FERRY_HOME=$B "$ferry" status --wait --timeout 600 >/dev/null 2>&1 || return 1
  [ "$(find "$work/ferry-dest" -path "$work/ferry-dest/.ferry" -prune -o -type f -print | wc -l)" -eq "$nfiles" ] &&
    [ "$(file_bytes "$work/ferry-dest")" -eq "$total_bytes" ]
}
wait_for 900 complete
t1=$(now)
lo1=$(lo_bytes)
ferry_sync=$(elapsed "$t0" "$t1")
for p in "${perfs[@]}"; do kill -INT "$p"; wait "$p" || true; done
ferry_wire=$(FERRY_HOME=$B "$ferry" devices --json | python3 -c "import json,sys; print(sum(d['bytes_in']+d['bytes_out'] for d in json.load(sys.stdin)))")
stop_daemon "$b"; stop_daemon "$a"
diff -r --exclude=.ferry "$work/src" "$work/ferry-dest" >/dev/null || { echo "bench sync: ferry copy differs" >&2; exit 1; }
rsync_initial 2
rsync_wall_2=$rsync_wall; rsync_durable_2=$rsync_durable

syncthing_json=null
if [ "$syncthing" = 1 ]; then
  echo "bench sync: Syncthing copies the same tree" >&2
  syncthing_json=$(python3 "$(dirname "$0")/syncthing_initial.py" "$work/src" "$work/syncthing-dest" \
    "$work" "$nfiles" "$total_bytes")
  diff -r --exclude=.stfolder "$work/src" "$work/syncthing-dest" >/dev/null ||
    { echo "bench sync: Syncthing's copy differs" >&2; exit 1; }
fi

ferry_rename=null; ferry_insert=null
if [ "$edits" = 1 ]; then
  # ferry: the same two edits, with the daemons' byte counters.
  start_daemon "$A" "$port_a" "$work/ferry-a2.time"; a=$started
  start_daemon "$B" "$port_b" "$work/ferry-b2.time"; b=$started
  online() { FERRY_HOME=$A "$ferry" devices --json | python3 -c "import json,sys; sys.exit(0 if all(d['online'] for d in json.load(sys.stdin)) else 1)"; }
  traffic() { FERRY_HOME=$A "$ferry" devices --json | python3 -c "import json,sys; print(sum(d['bytes_in']+d['bytes_out'] for d in json.load(sys.stdin)))"; }
  same_file() { cmp -s "$work/src/$1" "$work/ferry-dest/$1"; }
  wait_for 60 online
  # Files enter the folder by rename, so no scan sees one half-written.
  cp "$work/big256.orig" "$work/big256.tmp" && mv "$work/big256.tmp" "$work/src/big256.raw"
  FERRY_HOME=$A "$ferry" scan --quiet
  wait_for 300 same_file big256.raw
  FERRY_HOME=$A "$ferry" status --wait --timeout 300 >/dev/null
  before=$(traffic)
  mv "$work/src/big/big0.raw" "$work/src/big/renamed0.raw"
  FERRY_HOME=$A "$ferry" scan --quiet
  wait_for 120 same_file big/renamed0.raw
  FERRY_HOME=$A "$ferry" status --wait --timeout 120 >/dev/null
  ferry_rename=$(( $(traffic) - before ))
  before=$(traffic)
  cp "$work/big256.edited" "$work/big256.tmp" && mv "$work/big256.tmp" "$work/src/big256.raw"
  FERRY_HOME=$A "$ferry" scan --quiet
  wait_for 120 same_file big256.raw
  FERRY_HOME=$A "$ferry" status --wait --timeout 120 >/dev/null
  ferry_insert=$(( $(traffic) - before ))
  stop_daemon "$b"; stop_daemon "$a"
fi

ferry_total=$(python3 -c "print(f'{$ferry_scan+$ferry_sync:.2f}')")
python3 - "$json" <<PY
import json, sys
null = None  # an edit that was not run
r = {
  "files": $nfiles, "bytes": $total_bytes,
  "filesystem": "$filesystem",
  "rsync": {"runs": [  # before ferry, after ferry
              {"wall_s": $rsync_wall_1, "durable_wall_s": $rsync_durable_1,
               "client": {"cpu_s": $(cpu_seconds "$work/rsync-1.time"), "peak_rss_mb": $(rss_mb "$work/rsync-1.time")},
               "daemon": {"cpu_s": $(cpu_seconds "$work/rsyncd-1.time"), "peak_rss_mb": $(rss_mb "$work/rsyncd-1.time")}},
              {"wall_s": $rsync_wall_2, "durable_wall_s": $rsync_durable_2,
               "client": {"cpu_s": $(cpu_seconds "$work/rsync-2.time"), "peak_rss_mb": $(rss_mb "$work/rsync-2.time")},
               "daemon": {"cpu_s": $(cpu_seconds "$work/rsyncd-2.time"), "peak_rss_mb": $(rss_mb "$work/rsyncd-2.time")}}],
            "rename_64mib_bytes": $rsync_rename, "insert_1kib_in_256mib_bytes": $rsync_insert},
  "syncthing": $syncthing_json,
  "ferry": {"scan_s": $ferry_scan, "sync_s": $ferry_sync, "wall_s": $ferry_total,
            "sender": {"cpu_s": $(cpu_seconds "$work/ferry-a.time"), "peak_rss_mb": $(rss_mb "$work/ferry-a.time")},
            "receiver": {"cpu_s": $(cpu_seconds "$work/ferry-b.time"), "peak_rss_mb": $(rss_mb "$work/ferry-b.time")},
            "wire_bytes": $ferry_wire, "loopback_bytes": ($lo1 - $lo0) // 2,
            "rename_64mib_bytes": $ferry_rename, "insert_1kib_in_256mib_bytes": $ferry_insert},
}
f, s = r["ferry"], r["rsync"]
mean = lambda key: round(sum(run[key] for run in s["runs"]) / len(s["runs"]), 2)
s["wall_s"], s["durable_wall_s"] = mean("wall_s"), mean("durable_wall_s")
r["ratio_wall_ferry_to_rsync"] = round(r["ferry"]["wall_s"] / r["rsync"]["wall_s"], 2)
r["ratio_sync_only_ferry_to_rsync"] = round(r["ferry"]["sync_s"] / r["rsync"]["wall_s"], 2)
r["ratio_sync_only_ferry_to_durable_rsync"] = round(r["ferry"]["sync_s"] / r["rsync"]["durable_wall_s"], 2)
if f["insert_1kib_in_256mib_bytes"] is not None:
  r["ratio_insert_bytes_ferry_to_rsync"] = round(f["insert_1kib_in_256mib_bytes"] / max(s["insert_1kib_in_256mib_bytes"], 1), 3)
st = r["syncthing"]
if st is not None:
  r["ratio_sync_only_ferry_to_syncthing"] = round(f["sync_s"] / st["sync_s"], 2)
json.dump(r, open(sys.argv[1], "w"), indent=2)
print()
print(f"initial sync of {r['files']:,} files, {r['bytes']/1e6:,.0f} MB over loopback, on {r['filesystem']}")
print(f"  {'':28} {'wall s':>8} {'cpu s (a/b)':>16} {'peak RSS MB (a/b)':>20}")
for run, when in zip(s["runs"], ("before", "after")):
  c, d = run["client"], run["daemon"]
  print(f"  {'rsync daemon, ' + when + ' ferry':28} {run['wall_s']:8.2f} {c['cpu_s']:7.2f}/{d['cpu_s']:<8.2f} {c['peak_rss_mb']:9.1f}/{d['peak_rss_mb']:<10.1f}")
  print(f"  {'  then sync -f':28} {run['durable_wall_s']:8.2f}")
print(f"  {'rsync, mean of the two':28} {s['wall_s']:8.2f} (then sync -f {s['durable_wall_s']:.2f})")
print(f"  {'ferry (scan + sync)':28} {f['wall_s']:8.2f} {f['sender']['cpu_s']:7.2f}/{f['receiver']['cpu_s']:<8.2f} {f['sender']['peak_rss_mb']:9.1f}/{f['receiver']['peak_rss_mb']:<10.1f}")
print(f"    of which a's scan {f['scan_s']:.2f} s, sync {f['sync_s']:.2f} s; ratio to rsync's mean {r['ratio_wall_ferry_to_rsync']} (sync only {r['ratio_sync_only_ferry_to_rsync']}; to rsync + sync -f {r['ratio_sync_only_ferry_to_durable_rsync']})")
print(f"    bytes on the wire {f['wire_bytes']:,} (loopback counter, both directions / 2: {f['loopback_bytes']:,})")
if st is not None:
  a, b = st["sender"], st["receiver"]
  print(f"  {'Syncthing (scan + sync)':28} {st['scan_s'] + st['sync_s']:8.2f} {a['cpu_s']:7.2f}/{b['cpu_s']:<8.2f} {a['peak_rss_mb']:9.1f}/{b['peak_rss_mb']:<10.1f}")
  print(f"    of which a's scan {st['scan_s']:.2f} s, sync {st['sync_s']:.2f} s (it ran last); ferry's sync takes {r['ratio_sync_only_ferry_to_syncthing']}x its time")
if f["rename_64mib_bytes"] is not None:
  print(f"bytes on the wire        {'rsync':>12} {'ferry':>12}")
  print(f"  rename a 64 MiB file   {s['rename_64mib_bytes']:12,} {f['rename_64mib_bytes']:12,}")
  print(f"  1 KiB into 256 MiB     {s['insert_1kib_in_256mib_bytes']:12,} {f['insert_1kib_in_256mib_bytes']:12,}")
print(f"JSON: {sys.argv[1]}")
PY
