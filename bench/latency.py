#!/usr/bin/env python3
"""./dev bench latency [--syncthing-small N] [--syncthing-big N] [--no-syncthing] [--files N]

1. Latency. Two ferry daemons on 127.0.0.1 (separate FERRY_HOMEs, b joined
   to a), idle and connected, both watching their folder. A file is written
   on a (open, write, close, as an editor saves) and timed until b holds it
   with the same content: 20 files of 4 KiB, then 20 of 10 MiB; p50 and p90
   of each. Then the same saves between two Syncthing instances with default
   folder settings (watcher on, fsWatcherDelayS 10): --syncthing-small (10)
   and --syncthing-big (5) saves, since each takes about 10 s (the whole
   bench then takes about 8 minutes on the 2-core VM). Then the CPU
   time each of the four idle daemons uses over the same 30 s with nothing
   changing.
2. Watching many files. A folder of --files (100,000) files of a few bytes,
   100 in each directory. One ferry daemon (`ferry run`, its folder added
   but never scanned) is timed from its start until the folder is idle
   (first full scan done), then stopped and started again (index warm). Once
   idle and watching: VmRSS and VmHWM from /proc/PID/status and its inotify
   watches (/proc/PID/fdinfo). The same for one Syncthing instance on the
   same folder (timed from its start, the folder added through its REST API).

Prints a table with Syncthing/ferry ratios and one line of JSON, also written
to $BUILD/bench/latency.json. --no-syncthing leaves Syncthing out.

Network: loopback only (Syncthing: see bench/syncthing_device.py). Every
wait is bounded; only the processes started here are signalled, by PID;
everything is written below one temporary folder, removed at the end.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

from bench_util import cpu_seconds, free_port, inotify_watches, memory_mib, percentile, wait_for
from ferry_daemon import FerryDaemon, ferry, live_status
from syncthing_device import FOLDER, Device

JSON_PATH = os.path.join(os.environ["BUILD"], "bench", "latency.json")
SMALL, BIG = 4096, 10 << 20
FERRY_SMALL_RUNS, FERRY_BIG_RUNS, IDLE_SECONDS = 20, 20, 30
FILES_PER_DIR = 100
POLL_STEP = 0.1  # seconds between status requests while a daemon scans many files


def parse_args():
    p = argparse.ArgumentParser(prog="./dev bench latency")
    p.add_argument("--syncthing-small", type=int, default=10, metavar="N",
                   help="4 KiB saves timed with Syncthing (about 10 s each; default 10)")
    p.add_argument("--syncthing-big", type=int, default=5, metavar="N",
                   help="10 MiB saves timed with Syncthing (default 5)")
    p.add_argument("--no-syncthing", action="store_true", help="measure ferry only")
    p.add_argument("--files", type=int, default=100_000, metavar="N",
                   help="files in the watched folder (default 100000)")
    args = p.parse_args()
    if not 1 <= args.syncthing_small <= 1000 or not 1 <= args.syncthing_big <= 1000:
        p.error("--syncthing-small and --syncthing-big take 1 to 1000")
    if not FILES_PER_DIR <= args.files <= 10_000_000:
        p.error(f"--files takes {FILES_PER_DIR} to 10000000")
    return args


# ---- both tools ----

def holds(path, content):
    try:
        with open(path, "rb") as f:
            return f.read() == content
    except OSError:
        return False


def timed_saves(src, dest, size, runs, tag):
    """Seconds from each save in src until dest holds the same file."""
    times = []
    for i in range(runs):
        content = os.urandom(size)
        name = f"{tag}-{i}.bin"
        t0 = time.monotonic()
        with open(os.path.join(src, name), "wb") as f:
            f.write(content)
        t1 = wait_for(name, 60, lambda: holds(os.path.join(dest, name), content), step=0.002)
        times.append(t1 - t0)
        time.sleep(0.2)  # the next save starts from idle
    return times


def summary(values):
    return {"saves": len(values), "p50_s": round(percentile(values, 50), 4),
            "p90_s": round(percentile(values, 90), 4), "mean_s": round(statistics.mean(values), 4)}


def latencies(src, dest, small_runs, big_runs):
    return {"small": summary(timed_saves(src, dest, SMALL, small_runs, "small")),
            "big": summary(timed_saves(src, dest, BIG, big_runs, "big"))}


def settled_watches(pid):
    """Process `pid`'s inotify watch count once it has not changed for 2 s
    (or whatever it is after 30 s)."""
    seen = [inotify_watches(pid)]
    end = time.monotonic() + 30
    while time.monotonic() < end and not (len(seen) >= 5 and seen[-1] > 0 and len(set(seen[-5:])) == 1):
        time.sleep(0.5)
        seen.append(inotify_watches(pid))
    return seen[-1]


def watching(pid, start_s):
    return {"start_s": round(start_s, 2), "inotify_watches": settled_watches(pid), **memory_mib(pid)}


# ---- 1. latency ----

def ferry_pair(work, stack):
    """Two ferry daemons sharing folder `latency`, connected and idle: (a, b, folders)."""
    homes = {d: os.path.join(work, f"home-{d}") for d in "ab"}
    folders = {d: os.path.join(work, f"folder-{d}") for d in "ab"}
    for d in "ab":
        os.makedirs(folders[d])
        ferry(homes[d], "init", "--name", f"latency-{d}")
    ferry(homes["a"], "folder", "add", folders["a"], "--id", "latency")
    a = stack.ferry(homes["a"], os.path.join(work, "a.log"), free_port())
    a.wait_idle(20)
    code = ferry(homes["a"], "invite").strip().splitlines()[-1]
    ferry(homes["b"], "join", code)
    ferry(homes["b"], "folder", "add", folders["b"], "--id", "latency")
    b = stack.ferry(homes["b"], os.path.join(work, "b.log"), free_port())
    b.wait_idle(20)
    ferry(homes["b"], "status", "--wait", "--timeout", "60")
    ferry(homes["a"], "status", "--wait", "--timeout", "60")
    return a, b, folders


def syncthing_pair(work, stack):
    """Two Syncthing instances sharing folder `bench` with default folder settings,
    connected and idle: (a, b, folders)."""
    folders = {d: os.path.join(work, f"st-folder-{d}") for d in "ab"}
    a, b = stack.syncthing("a"), stack.syncthing("b")
    a.configure(b)
    b.configure(a)
    for device, peer in ((a, b), (b, a)):
        os.makedirs(folders[device.name])
        device.start()
        device.add_folder(folders[device.name], [peer])

    def ready():
        connections = a.api("GET", "/rest/system/connections")["connections"]
        completion = a.api("GET", f"/rest/db/completion?folder={FOLDER}&device={b.id}")
        return (connections.get(b.id, {}).get("connected")
                and completion.get("remoteState", "valid") == "valid"
                and all(d.status().get("state") == "idle" for d in (a, b)))
    wait_for("the Syncthing instances to connect", 60, ready, step=0.2)
    return a, b, folders


def idle_cpu(pids):
    """CPU seconds each process uses over IDLE_SECONDS."""
    before = {pid: cpu_seconds(pid) for pid in pids}
    time.sleep(IDLE_SECONDS)
    return {pid: round(cpu_seconds(pid) - before[pid], 3) for pid in pids}


def measure_latency(work, stack, args):
    a, b, folders = ferry_pair(work, stack)
    result = {"ferry": latencies(folders["a"], folders["b"], FERRY_SMALL_RUNS, FERRY_BIG_RUNS)}
    ferry(a.home, "status", "--wait", "--timeout", "60")
    daemons = {"ferry": (a.pid, b.pid)}
    if not args.no_syncthing:
        sa, sb, st_folders = syncthing_pair(work, stack)
        config = sa.folder_config()
        assert config["fsWatcherEnabled"], "Syncthing's watcher is on by default"
        result["syncthing"] = {
            "fs_watcher_delay_s": config["fsWatcherDelayS"],
            **latencies(st_folders["a"], st_folders["b"], args.syncthing_small, args.syncthing_big)}
        daemons["syncthing"] = (sa.pid, sb.pid)
    time.sleep(2)
    cpu = idle_cpu([pid for pair in daemons.values() for pid in pair])
    for tool, (pa, pb) in daemons.items():
        result[tool]["idle_cpu_s"] = {"a": cpu[pa], "b": cpu[pb]}
    return result


# ---- 2. watching many files ----

def make_tree(root, files):
    for i in range(files):
        if i % FILES_PER_DIR == 0:
            folder = os.path.join(root, f"d{i // FILES_PER_DIR:05d}")
            os.makedirs(folder)
        with open(os.path.join(folder, f"f{i % FILES_PER_DIR:03d}.txt"), "w") as f:
            f.write(f"file {i}\n")


def ferry_watching(work, stack, tree):
    home = os.path.join(work, "home-watch")
    ferry(home, "init", "--name", "watch")
    ferry(home, "folder", "add", tree, "--id", "watch")
    runs = []
    for _ in ("first", "second"):
        t0 = time.monotonic()
        daemon = stack.ferry(home, os.path.join(work, "watch.log"))
        t1 = daemon.wait_idle(900, step=POLL_STEP)
        runs.append(watching(daemon.pid, t1 - t0))
        daemon.stop()
    return {"first": runs[0], "second": runs[1]}


def syncthing_watching(stack, tree, files):
    device = stack.syncthing("watch")
    device.configure()

    runs = []
    for start in ("first", "second"):
        t0, started_at = time.monotonic(), datetime.now(timezone.utc)

        def scanned():  # (its state may read idle before the scan at start-up begins)
            s = device.status()
            last = device.api("GET", "/rest/stats/folder").get(FOLDER, {}).get("lastScan")
            return (s.get("state") == "idle" and s.get("localFiles") == files
                    and last is not None and datetime.fromisoformat(last) > started_at)
        device.start()
        if start == "first":
            device.add_folder(tree)  # remembered in its config for the second start
        t1 = wait_for("Syncthing's scan of the watched folder", 900, scanned, step=POLL_STEP)
        runs.append({**watching(device.pid, t1 - t0),
                     "monitor_rss_mib": memory_mib(device.monitor)["rss_mib"]})
        device.stop()
    return {"first": runs[0], "second": runs[1]}


def measure_watching(work, stack, args):
    tree = os.path.join(work, "watched")
    print(f"bench latency: writing {args.files:,} files into {tree}", file=sys.stderr)
    make_tree(tree, args.files)
    subprocess.run(["sync"], check=True)
    result = {"files": args.files, "directories": -(-args.files // FILES_PER_DIR),
              "ferry": ferry_watching(work, stack, tree)}
    if not args.no_syncthing:
        result["syncthing"] = syncthing_watching(stack, tree, args.files)
    return result


# ---- processes, output ----

class Started:
    """The daemons this bench started; stop_all() stops each by its PID."""

    def __init__(self, work):
        self.work, self.all = work, []

    def ferry(self, home, log, port=0):
        self.all.append(FerryDaemon(home, log, port))
        return self.all[-1]

    def syncthing(self, name):
        self.all.append(Device(name, self.work))
        return self.all[-1]

    def stop_all(self):
        for process in self.all:
            process.stop()


def ratio(num, den):
    return round(num / den, 1) if den > 0 else None


def add_ratios(r):
    lat, watch = r["latency"], r["watching"]
    if "syncthing" not in lat:
        return
    for size in ("small", "big"):
        lat[f"ratio_{size}_p50_syncthing_to_ferry"] = ratio(lat["syncthing"][size]["p50_s"],
                                                            lat["ferry"][size]["p50_s"])
    for key in ("rss_mib", "hwm_mib"):
        watch[f"ratio_{key}_syncthing_to_ferry"] = ratio(watch["syncthing"]["first"][key],
                                                         watch["ferry"]["first"][key])
    for start in ("first", "second"):
        watch[f"ratio_{start}_start_syncthing_to_ferry"] = ratio(watch["syncthing"][start]["start_s"],
                                                                 watch["ferry"][start]["start_s"])


def print_table(r):
    lat, watch = r["latency"], r["watching"]
    tools = [t for t in ("ferry", "syncthing") if t in lat]
    names = {"ferry": "ferry", "syncthing": "Syncthing"}
    print("a saved file until complete and equal on the other device (two daemons on 127.0.0.1)")
    print(f"  {'':24} {'saves':>5} {'p50 ms':>9} {'p90 ms':>9} {'mean ms':>9}")
    for size, label in (("small", "4 KiB"), ("big", "10 MiB")):
        for tool in tools:
            s = lat[tool][size]
            print(f"  {names[tool] + ', ' + label:24} {s['saves']:5} {s['p50_s'] * 1000:9.1f} "
                  f"{s['p90_s'] * 1000:9.1f} {s['mean_s'] * 1000:9.1f}")
        if "syncthing" in lat:
            print(f"    Syncthing's p50 is {lat[f'ratio_{size}_p50_syncthing_to_ferry']}x ferry's")
    for tool in tools:
        idle = lat[tool]["idle_cpu_s"]
        print(f"  idle CPU over {IDLE_SECONDS} s, {names[tool]}: a {idle['a']:.2f} s, b {idle['b']:.2f} s")
    if "syncthing" in lat:
        print(f"  (Syncthing with default folder settings: watcher on, "
              f"fsWatcherDelayS {lat['syncthing']['fs_watcher_delay_s']})")
    print("  target: ferry's 4 KiB p50 <= 500 ms; idle CPU about 0")
    print()
    print(f"one daemon watching {watch['files']:,} files in {watch['directories']:,} directories")
    print(f"  {'':24} {'start until idle s':>18} {'RSS MiB':>8} {'peak RSS MiB':>12} {'inotify watches':>15}")
    for tool in tools:
        for start, label in (("first", "first start"), ("second", "second start")):
            w = watch[tool][start]
            print(f"  {names[tool] + ', ' + label:24} {w['start_s']:18.2f} {w['rss_mib']:8.1f} "
                  f"{w['hwm_mib']:12.1f} {w['inotify_watches']:15,}")
    if "syncthing" in watch:
        print(f"    (Syncthing's monitor process holds another "
              f"{watch['syncthing']['first']['monitor_rss_mib']:.1f} MiB, not counted above)")
        print(f"    Syncthing/ferry: RSS {watch['ratio_rss_mib_syncthing_to_ferry']}x, "
              f"peak RSS {watch['ratio_hwm_mib_syncthing_to_ferry']}x, "
              f"first start {watch['ratio_first_start_syncthing_to_ferry']}x, "
              f"second start {watch['ratio_second_start_syncthing_to_ferry']}x")
    print("  (first start: index empty, the full scan; second: index warm)")
    print("  target: RSS in the low tens of MB")


def main():
    args = parse_args()
    # Interrupted (./dev's caller, a timeout): stop the daemons and clean up first.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench latency: terminated"))
    work = tempfile.mkdtemp(prefix="ferry-bench-latency.")
    stack = Started(work)
    try:
        r = {"latency": measure_latency(work, stack, args)}
        stack.stop_all()
        r["watching"] = measure_watching(work, stack, args)
    finally:
        stack.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    add_ratios(r)
    print_table(r)
    line = json.dumps(r)
    print(line)
    os.makedirs(os.path.dirname(JSON_PATH), exist_ok=True)
    with open(JSON_PATH, "w") as f:
        f.write(line + "\n")
    print(f"JSON: {JSON_PATH}")


if __name__ == "__main__":
    sys.exit(main())
