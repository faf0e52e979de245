#!/usr/bin/env bash
# ./dev bench scan [--only hash|files|index] [--files N]
#
# The foundation's speed and size targets, each next to the tool a user would
# compare with, in the same run (this machine is shared and noisy: read the
# ratios, not the absolute times). Prints a table and writes JSON to
# $BUILD/bench/scan.json.
#   hash   chunk+hash of a 1 GiB file in page cache, vs openssl dgst -sha256,
#          b2sum and b3sum --num-threads 1 (target: ferry <= 0.75x openssl)
#   files  first scan and no-change rescan of 100,000 small files in 1,000
#          folders, vs find -printf (target: rescan <= 2x find, < 1 s), peak RSS
#   index  1,000,000 file records with 10,000,000 chunks in the store
#          (target: < 2 min, < 120 bytes per chunk on disk)
set -euo pipefail
: "${BUILD:?run through ./dev bench scan}"
only=""; nfiles=100000
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only=$2; shift 2 ;;
    --files) nfiles=$2; shift 2 ;;
    *) echo "bench scan: unknown argument $1" >&2; exit 2 ;;
  esac
done
ferry="$BUILD/src/cli/ferry"
work=$(mktemp -d /tmp/ferry-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
json="$BUILD/bench/scan.json"
mkdir -p "$(dirname "$json")"
results=()

# best_of N CMD...: runs CMD N times, prints the fastest wall time in seconds.
best_of() {
  local n=$1; shift
  local best="" t0 t1 t
  for _ in $(seq "$n"); do
    t0=$EPOCHREALTIME; "$@" >/dev/null 2>&1; t1=$EPOCHREALTIME
    t=$(python3 -c "print(f'{$t1-$t0:.4f}')")
    if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $t < $best else 1)"; then best=$t; fi
  done
  echo "$best"
}
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
# peak_rss_kb CMD...: peak resident set of CMD in KiB (GNU time).
peak_rss_kb() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n 1; }
record() { results+=("\"$1\": $2"); }

if [ -z "$only" ] || [ "$only" = hash ]; then
  f="$work/one-gib"
  head -c 1073741824 /dev/urandom > "$f"
  cat "$f" > /dev/null
  t_ferry=$(best_of 3 "$BUILD/bench/hash-file-bench" "$f")
  t_ssl=$(best_of 3 openssl dgst -sha256 "$f")
  t_b2=$(best_of 3 b2sum "$f")
  t_b3=$(best_of 3 b3sum --num-threads 1 "$f")
  echo
  echo "chunk+hash of 1 GiB in page cache (best of 3)"
  printf '  %-34s %8s s  %6s x openssl\n' \
    "ferry (FastCDC + BLAKE3, 2 cores)" "$t_ferry" "$(ratio "$t_ferry" "$t_ssl")" \
    "openssl dgst -sha256" "$t_ssl" "1.00" \
    "b2sum" "$t_b2" "$(ratio "$t_b2" "$t_ssl")" \
    "b3sum --num-threads 1" "$t_b3" "$(ratio "$t_b3" "$t_ssl")"
  echo "  target: ferry <= 0.75x openssl"
  record hash "{\"ferry_s\": $t_ferry, \"openssl_sha256_s\": $t_ssl, \"b2sum_s\": $t_b2, \"b3sum_1thread_s\": $t_b3, \"ferry_vs_openssl\": $(ratio "$t_ferry" "$t_ssl")}"
  rm -f "$f"
fi

if [ -z "$only" ] || [ "$only" = files ]; then
  tree="$work/tree"
  python3 - "$tree" "$nfiles" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
dirs = max(1, n // 100)
for d in range(dirs):
    path = os.path.join(root, f"d{d // 100:02d}", f"e{d:04d}")
    os.makedirs(path)
    for i in range(n // dirs):
        with open(os.path.join(path, f"f{i:03d}.txt"), "wb") as out:
            out.write(rng.randbytes(rng.randint(100, 4000)))
PY
  export FERRY_HOME="$work/home"
  "$ferry" init --name bench >/dev/null
  "$ferry" folder add "$tree" --id bench >/dev/null
  find "$tree" -printf '%s %T@\n' > /dev/null  # warm the dentry and inode caches
  t_find=$(best_of 3 find "$tree" -printf '%s %T@\n')
  t0=$EPOCHREALTIME; "$ferry" scan bench --quiet >/dev/null; t1=$EPOCHREALTIME
  t_first=$(python3 -c "print(f'{$t1-$t0:.4f}')")
  t_rescan=$(best_of 3 "$ferry" scan bench --quiet)
  rss_kb=$(peak_rss_kb "$ferry" scan bench --quiet)
  echo
  echo "$nfiles small files in $((nfiles / 100)) folders (page cache warm)"
  printf '  %-34s %8s s  %6s x find\n' \
    "find -printf '%s %T@' (best of 3)" "$t_find" "1.00" \
    "ferry scan, first" "$t_first" "$(ratio "$t_first" "$t_find")" \
    "ferry scan, no change (best of 3)" "$t_rescan" "$(ratio "$t_rescan" "$t_find")"
  echo "  peak RSS of a no-change rescan: $((rss_kb / 1024)) MiB"
  echo "  target: rescan <= 2x find and < 1 s"
  record files "{\"files\": $nfiles, \"find_s\": $t_find, \"first_scan_s\": $t_first, \"rescan_s\": $t_rescan, \"rescan_vs_find\": $(ratio "$t_rescan" "$t_find"), \"rescan_peak_rss_kb\": $rss_kb}"
  unset FERRY_HOME
  rm -rf "$tree"
fi

if [ -z "$only" ] || [ "$only" = index ]; then
  echo
  echo "index scale (store only)"
  out=$("$BUILD/bench/index-scale-bench" --db "$work/index.db" | tee /dev/stderr | tail -n 1)
  record index "$out"
fi

( IFS=,; echo "{${results[*]}}" ) > "$json"
echo
echo "JSON: $json"
