#!/usr/bin/env bash
# ferry's demo (run by `./dev demo`, with FERRY set to the built binary):
# a throw-away device indexes a sample folder, then a second device joins it
# and the two daemons sync over 127.0.0.1. Everything lives in a temporary
# folder that is removed at the end; only the daemons started here are
# stopped.
set -euo pipefail

ferry=${FERRY:?set FERRY to the ferry binary (./dev demo does)}
relay=${FERRY_RELAY:?set FERRY_RELAY to the ferry-relay binary (./dev demo does)}
demo=$(mktemp -d "${TMPDIR:-/tmp}/ferry-demo.XXXXXX")
daemons=()
cleanup() {
  for p in "${daemons[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${daemons[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$demo"
}
trap cleanup EXIT
export FERRY_HOME="$demo/home"

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "A sample folder: a few small files and some larger ones"
mkdir -p "$demo/photos/2026" "$demo/photos/notes"
echo "Packing list: charger, boots, map" > "$demo/photos/notes/trip.txt"
echo "ferry keeps folders identical across your devices" > "$demo/photos/README"
for mib in 1 2 4; do
  head -c $((mib * 1024 * 1024)) /dev/urandom > "$demo/photos/2026/img_$mib.raw"
done
ln -s notes/trip.txt "$demo/photos/latest-notes"
du -sh "$demo/photos"

step "Create this device's identity (FERRY_HOME=$FERRY_HOME)"
run "$ferry" init --name demo-laptop

step "Add the folder"
run "$ferry" folder add "$demo/photos" --id photos
run "$ferry" folder list

step "Scan it (a progress bar on a terminal)"
run "$ferry" scan

step "The indexed record of one file, with its chunks"
run "$ferry" ls "$demo/photos/2026/img_1.raw"

step "Change a file and scan again: only the change is hashed"
echo "and a torch" >> "$demo/photos/notes/trip.txt"
run "$ferry" scan
run "$ferry" ls photos:notes/trip.txt

step "Status"
run "$ferry" status

step "Start this device's daemon (log in $demo/laptop.log)"
printf '$ ferry run --listen 127.0.0.1:0 &\n'
"$ferry" run --listen 127.0.0.1:0 2>"$demo/laptop.log" &
daemons+=($!)
for _ in $(seq 100); do "$ferry" status >/dev/null 2>&1 && break; sleep 0.1; done
run "$ferry" invite --expires 10m | tee "$demo/invite.txt"
code=$(tail -n 1 "$demo/invite.txt")

step "A second device (FERRY_HOME=$demo/home2) joins and adds the folder"
export FERRY_HOME="$demo/home2"
mkdir -p "$demo/photos-copy"
run "$ferry" init --name demo-desktop
run "$ferry" join "$code"
run "$ferry" folder add "$demo/photos-copy" --id photos
printf '$ ferry run --listen 127.0.0.1:0 &\n'
"$ferry" run --listen 127.0.0.1:0 2>"$demo/desktop.log" &
daemons+=($!)
for _ in $(seq 100); do "$ferry" status >/dev/null 2>&1 && break; sleep 0.1; done

step "Wait until the two devices are in sync"
for _ in $(seq 150); do
  [ -f "$demo/photos-copy/2026/img_4.raw" ] && break
  sleep 0.2
done
run "$ferry" status --wait --timeout 60
run "$ferry" devices
run diff -r --exclude=.ferry "$demo/photos" "$demo/photos-copy"
echo "identical"

step "Edit a file on the second device: the daemons watch their folders, no scan needed"
printf '$ echo "and a compass" >> photos-copy/notes/trip.txt\n'
echo "and a compass" >> "$demo/photos-copy/notes/trip.txt"
for _ in $(seq 100); do
  grep -q compass "$demo/photos/notes/trip.txt" && break
  sleep 0.05
done
run cat "$demo/photos/notes/trip.txt"

step "A relay for devices that are offline (data in $demo/relay)"
run "$relay" init --data "$demo/relay"
printf '$ ferry-relay run --data %s --listen 127.0.0.1:0 &\n' "$demo/relay"
"$relay" run --data "$demo/relay" --listen 127.0.0.1:0 >"$demo/relay.out" 2>&1 &
daemons+=($!)
for _ in $(seq 100); do grep -q '^url:' "$demo/relay.out" && break; sleep 0.1; done
url=$(sed -n 's/^url: //p' "$demo/relay.out")
printf '$ ferry-relay user add demo --quota 1GiB\n'
token=$("$relay" user add demo --quota 1GiB --data "$demo/relay" 2>/dev/null)
run "$ferry" relay add "$url" --token "$token"
for _ in $(seq 100); do
  FERRY_HOME="$demo/home" "$ferry" relay list --json | grep -q '"connected": true' && break
  sleep 0.1
done
run "$ferry" relay list

step "The desktop goes offline; the laptop changes files, then goes offline too"
desktop=${daemons[1]} laptop=${daemons[0]}
kill -TERM "$desktop"; wait "$desktop" 2>/dev/null || true
export FERRY_HOME="$demo/home"
echo "written while the desktop was away" > "$demo/photos/notes/offline.txt"
head -c $((3 * 1024 * 1024)) /dev/urandom > "$demo/photos/2026/img_offline.raw"
for _ in $(seq 300); do
  "$ferry" status | grep -q 'all changes are on the relay' && break
  sleep 0.1
done
run "$ferry" status
run "$relay" status --data "$demo/relay"
kill -TERM "$laptop"; wait "$laptop" 2>/dev/null || true

step "The desktop comes back while the laptop is off: it gets the changes from the relay"
export FERRY_HOME="$demo/home2"
"$ferry" run --listen 127.0.0.1:0 2>>"$demo/desktop.log" &
daemons+=($!)
for _ in $(seq 300); do
  cmp -s "$demo/photos/2026/img_offline.raw" "$demo/photos-copy/2026/img_offline.raw" 2>/dev/null &&
    [ -f "$demo/photos-copy/notes/offline.txt" ] && break
  sleep 0.1
done
run cat "$demo/photos-copy/notes/offline.txt"
run diff -r --exclude=.ferry "$demo/photos" "$demo/photos-copy"
echo "identical, though the two devices were never online together"

printf '\nDone; the demo folder %s is removed.\n' "$demo"
