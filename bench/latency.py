#!/usr/bin/env python3
"""./dev bench latency: how soon a saved file is complete on the other device.

Two ferry daemons on 127.0.0.1 (separate FERRY_HOMEs, b joined to a), idle
and connected, both watching their folder. A file is written on a (open,
write, close, as an editor saves) and timed until b holds it with the same
content: 20 files of 4 KiB, then 5 of 10 MiB; p50 and p90 of each. Then the
CPU time each idle daemon uses over 30 s with nothing changing.

Not measured yet (issue 5): Syncthing beside it, and RSS and start-up time
while watching 100,000 files.

Network: loopback only. Every wait is bounded; only the processes started
here are signalled.
"""
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

FERRY = os.path.join(os.environ["BUILD"], "src", "cli", "ferry")
SMALL_RUNS, BIG_RUNS, IDLE_SECONDS = 20, 5, 30


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ferry(home, *args):
    return subprocess.run([FERRY, *args], env={**os.environ, "FERRY_HOME": home},
                          check=True, capture_output=True, text=True).stdout


def wait_for(what, seconds, check, step=0.002):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return time.monotonic()
        time.sleep(step)
    raise SystemExit(f"bench latency: timed out waiting for {what}")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def holds(path, content):
    try:
        with open(path, "rb") as f:
            return f.read() == content
    except OSError:
        return False


def timed_saves(src, dest, size, runs, tag):
    times = []
    for i in range(runs):
        content = os.urandom(size)
        name = f"{tag}-{i}.bin"
        t0 = time.monotonic()
        with open(os.path.join(src, name), "wb") as f:
            f.write(content)
        t1 = wait_for(name, 60, lambda: holds(os.path.join(dest, name), content))
        times.append(t1 - t0)
        time.sleep(0.2)  # the next save starts from idle
    return times


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    work = tempfile.mkdtemp(prefix="ferry-bench-latency.")
    daemons = []
    try:
        homes = {d: os.path.join(work, f"home-{d}") for d in "ab"}
        folders = {d: os.path.join(work, f"folder-{d}") for d in "ab"}
        for d in "ab":
            os.makedirs(folders[d])
            ferry(homes[d], "init", "--name", f"latency-{d}")
        ferry(homes["a"], "folder", "add", folders["a"], "--id", "latency")

        def start(d):
            log = open(os.path.join(work, f"{d}.log"), "w")
            p = subprocess.Popen([FERRY, "run", "--listen", f"127.0.0.1:{free_port()}"],
                                 env={**os.environ, "FERRY_HOME": homes[d]},
                                 stdout=subprocess.DEVNULL, stderr=log)
            daemons.append(p)
            wait_for(f"daemon {d}", 20, lambda: subprocess.run(
                [FERRY, "status"], env={**os.environ, "FERRY_HOME": homes[d]},
                capture_output=True).returncode == 0, step=0.05)
            return p

        a = start("a")
        code = ferry(homes["a"], "invite").strip().splitlines()[-1]
        ferry(homes["b"], "join", code)
        ferry(homes["b"], "folder", "add", folders["b"], "--id", "latency")
        b = start("b")
        ferry(homes["b"], "status", "--wait", "--timeout", "60")
        ferry(homes["a"], "status", "--wait", "--timeout", "60")

        small = timed_saves(folders["a"], folders["b"], 4096, SMALL_RUNS, "small")
        big = timed_saves(folders["a"], folders["b"], 10 << 20, BIG_RUNS, "big")
        ferry(homes["a"], "status", "--wait", "--timeout", "60")
        time.sleep(2)
        cpu0 = {p.pid: cpu_seconds(p.pid) for p in (a, b)}
        time.sleep(IDLE_SECONDS)
        idle = {p.pid: cpu_seconds(p.pid) - cpu0[p.pid] for p in (a, b)}

        print("ferry, two daemons on loopback, watching (inotify)")
        for label, values in (("4 KiB file", small), ("10 MiB file", big)):
            print(f"  {label:12s} p50 {percentile(values, 50) * 1000:7.1f} ms   "
                  f"p90 {percentile(values, 90) * 1000:7.1f} ms   "
                  f"({len(values)} saves, mean {statistics.mean(values) * 1000:.1f} ms)")
        print(f"  idle CPU over {IDLE_SECONDS} s: a {idle[a.pid]:.2f} s, b {idle[b.pid]:.2f} s")
        print("  target: 4 KiB p50 <= 500 ms; idle CPU about 0")
    finally:
        for p in daemons:
            p.send_signal(signal.SIGTERM)
        for p in daemons:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
