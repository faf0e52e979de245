#!/usr/bin/env bash
# ferry's demo (run by `./dev demo`, with FERRY set to the built binary):
# a throw-away device indexes a sample folder. Everything lives in a
# temporary folder that is removed at the end.
set -euo pipefail

ferry=${FERRY:?set FERRY to the ferry binary (./dev demo does)}
demo=$(mktemp -d "${TMPDIR:-/tmp}/ferry-demo.XXXXXX")
trap 'rm -rf "$demo"' EXIT
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

printf '\nDone; the demo folder %s is removed.\n' "$demo"
