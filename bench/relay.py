#!/usr/bin/env python3
"""./dev bench relay [--devices N] [--seconds S] [--small-files N] [--big-files N] [--only load|handoff]
                   [--relay-delay-ms MS] [--runs N]

1. Load. One ferry-relay; bench/relay_load.cc (relay-load) connects
   --devices (500) devices to it from one process, in waves of 16
   handshakes (the relay's max_unauthenticated_per_address), spread over as
   many accounts as the relay's per-account connection limit (256) needs,
   and has each put and get 64 KiB chunks (sealed size) for --seconds (20).
   Ops/s, MB/s and p50/p99 latency per kind (from relay-load); the relay's
   VmRSS/VmHWM before and after, the highest VmRSS sampled every 0.25 s,
   and its CPU time (utime + stime) over the run, beside the generator's.
2. Hand-off. --small-files (10,000) of 1-8 KiB and --big-files (8) of
   64 MiB, random. Direct first: two ferry daemons on 127.0.0.1, joined and
   connected, fresh homes; the tree is renamed into a's folder and timed
   until b holds every file with its size. Then through the relay: a fresh
   pair that knows a fresh relay (both connected to it), b stopped and a's
   relay link to b open; the same tree renamed into a's folder; a's upload
   phase lasts until the relay's totals (messages, chunks, stored bytes)
   stop changing for 5 s with a's folder idle (the phase ends at the last
   change); a is stopped; b is started and timed until it holds every file.
   Both copies are compared byte for byte afterwards (the direct pair's
   folders are then removed, see measure_direct). Hand-off time = upload
   + download; its ratio to the direct sync (target <= 2). The relay's RSS
   before, during (sampled) and after, next to the bytes it stores (target:
   bounded, not growing with them). With --relay-delay-ms the devices reach
   the relay through bench/delay_proxy.py, which delays every byte by MS
   each way (a relay far away; the direct sync is not delayed).
   The whole hand-off part (a new tree, direct, through the relay) runs
   --runs (3) times: on a shared machine one direct sync varies by a
   quarter from run to run. The ratio reported is the median of the runs'
   ratios; the table shows the run that gave it, and every run's ratio.

Prints a table and one line of JSON, also written to $BUILD/bench/relay.json.
Network: loopback only. Every wait is bounded; only the processes started
here are signalled, by PID; everything is written below one temporary
folder, removed at the end.
"""
import argparse
import filecmp
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from bench_util import cpu_seconds, cpu_split, free_port, memory_mib, wait_for
from delay_proxy import DelayProxy
from ferry_daemon import FerryDaemon, ferry, live_status

BUILD = os.environ["BUILD"]
RELAY = os.path.join(BUILD, "relay", "ferry-relay")
LOAD = os.path.join(BUILD, "bench", "relay-load")
JSON_PATH = os.path.join(BUILD, "bench", "relay.json")
PER_ACCOUNT = 256  # ServerOptions::max_connections_per_account (relay-load checks it)
SMALL_MIN, SMALL_MAX, BIG_MIB = 1024, 8192, 64
FILES_PER_DIR = 100
SETTLED_S = 5  # the relay's totals unchanged this long: a's upload is over
SAMPLE_S = 0.25


def parse_args():
    p = argparse.ArgumentParser(prog="./dev bench relay")
    p.add_argument("--devices", type=int, default=500, help="devices in the load (default 500)")
    p.add_argument("--seconds", type=float, default=20, help="load duration (default 20)")
    p.add_argument("--small-files", type=int, default=10_000, metavar="N",
                   help="1-8 KiB files in the hand-off (default 10000)")
    p.add_argument("--big-files", type=int, default=8, metavar="N",
                   help="64 MiB files in the hand-off (default 8)")
    p.add_argument("--only", choices=("load", "handoff"), help="run one part")
    p.add_argument("--relay-delay-ms", type=float, default=0, metavar="MS",
                   help="in the hand-off, delay every byte to and from the relay by MS each way "
                        "(a relay far away; bench/delay_proxy.py; default 0)")
    p.add_argument("--runs", type=int, default=3, metavar="N",
                   help="hand-off runs; the median ratio is reported (default 3)")
    args = p.parse_args()
    if not 1 <= args.runs <= 20:
        p.error("--runs takes 1 to 20")
    if not 1 <= args.devices <= 10_000:
        p.error("--devices takes 1 to 10000")
    if not 1 <= args.seconds <= 600:
        p.error("--seconds takes 1 to 600")
    if args.small_files < 0 or args.big_files < 0 or args.small_files + args.big_files == 0:
        p.error("--small-files and --big-files take 0 or more, not both 0")
    return args


def run(*command):
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def raise_open_files(devices):
    """Raises this process's (and so its children's) open-file limit to the
    hard limit; the relay and relay-load each hold a socket per device."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = devices + 256
    if hard != resource.RLIM_INFINITY and hard < need:
        raise SystemExit(f"bench relay: {devices} devices need {need} open files, "
                         f"the hard limit is {hard} (ulimit -Hn)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Relay:
    """`ferry-relay run` on 127.0.0.1 with a fresh data folder in `work`."""

    def __init__(self, work, name):
        self.data = os.path.join(work, name)
        run(RELAY, "init", "--data", self.data)  # the URL it prints is not used
        with open(os.path.join(work, f"{name}.log"), "a") as stderr:
            self.proc = subprocess.Popen([RELAY, "run", "--data", self.data, "--listen",
                                          "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=stderr,
                                         text=True)
        self.pid = self.proc.pid
        self.url = None
        for line in self.proc.stdout:  # ends when the relay exits
            if line.startswith("url: "):
                self.url = line[len("url: "):].strip()
                break
        if self.url is None:
            self.stop()
            raise SystemExit(f"bench relay: ferry-relay did not start (see {name}.log)")

    def add_user(self, name):
        return run(RELAY, "user", "add", name, "--data", self.data).strip()

    def totals(self):
        t = json.loads(run(RELAY, "status", "--data", self.data, "--json"))
        return {k: t[k] for k in ("messages", "chunks", "stored_bytes")}

    def usage(self):
        return {"cpu_s": cpu_seconds(self.pid), **memory_mib(self.pid)}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


class RssSampler:
    """The highest VmRSS of process `pid`, read every SAMPLE_S in a thread
    between start() and stop()."""

    def __init__(self, pid):
        self.pid, self.max_mib = pid, 0.0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self.done.is_set():
            try:
                self.max_mib = max(self.max_mib, memory_mib(self.pid)["rss_mib"])
            except OSError:
                return
            self.done.wait(SAMPLE_S)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.done.set()
        self.thread.join()
        return self.max_mib


class Started:
    """The relays and daemons this bench started; stop_all() stops each by its PID."""

    def __init__(self, work):
        self.work, self.all = work, []
        self.proxy = None  # a DelayProxy in front of the hand-off's relay

    def relay(self, name):
        self.all.append(Relay(self.work, name))
        return self.all[-1]

    def ferry(self, home, log, port):
        self.all.append(FerryDaemon(home, log, port))
        return self.all[-1]

    def stop_all(self):
        for process in self.all:
            process.stop()
        if self.proxy:
            self.proxy.stop()
            self.proxy = None


# ---- 1. load ----

def run_load(relay, devices, seconds, tag):
    """relay-load with `devices` devices on accounts of their own: its JSON,
    with the relay's CPU and memory over the run."""
    command = [LOAD, "--url", relay.url, "--devices", str(devices), "--seconds", f"{seconds:g}"]
    for k in range(-(-devices // PER_ACCOUNT)):
        command += ["--token", relay.add_user(f"{tag}-{k}")]
    before = relay.usage()
    generator_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    sampler = RssSampler(relay.pid).start()
    print(f"bench relay: {devices} devices, {seconds:g} s of puts and gets", file=sys.stderr)
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 600)
    max_rss = sampler.stop()
    generator_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    after = relay.usage()
    if out.returncode != 0:
        raise SystemExit(f"bench relay: relay-load failed ({out.returncode}):\n{out.stderr}")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    r["relay"] = {"cpu_s": round(after["cpu_s"] - before["cpu_s"], 2),
                  "rss_before_mib": before["rss_mib"], "rss_after_mib": after["rss_mib"],
                  "rss_max_sampled_mib": max_rss, "hwm_mib": after["hwm_mib"],
                  **relay.totals()}
    r["generator_cpu_s"] = round(
        (generator_after.ru_utime + generator_after.ru_stime)
        - (generator_before.ru_utime + generator_before.ru_stime), 2)
    return r


def measure_load(work, stack, args):
    """One device first (the relay's latency unloaded: what one put costs),
    then --devices on the same relay."""
    relay = stack.relay("relay-load")
    r = run_load(relay, args.devices, args.seconds, "load")
    r["one_device"] = run_load(relay, 1, min(args.seconds, 5), "single")
    relay.stop()
    return r


# ---- 2. hand-off ----

def make_tree(root, small, big):
    rng = random.Random(7)
    for i in range(small):
        folder = os.path.join(root, "small", f"d{i // FILES_PER_DIR:03d}")
        if i % FILES_PER_DIR == 0:
            os.makedirs(folder)
        with open(os.path.join(folder, f"f{i:05d}.bin"), "wb") as f:
            f.write(os.urandom(rng.randint(SMALL_MIN, SMALL_MAX)))
    os.makedirs(os.path.join(root, "big"), exist_ok=True)
    for i in range(big):
        with open(os.path.join(root, "big", f"big{i}.raw"), "wb") as f:
            for _ in range(BIG_MIB):
                f.write(os.urandom(1 << 20))


def sizes(root):
    """{relative path: size} of the regular files below root, .ferry/ left out."""
    found = {}
    for folder, dirs, files in os.walk(root):
        if folder == root and ".ferry" in dirs:
            dirs.remove(".ferry")
        for name in files:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root)] = os.lstat(path).st_size
    return found


def check_identical(src, dest, expected):
    for rel in expected:
        if not filecmp.cmp(os.path.join(src, rel), os.path.join(dest, rel), shallow=False):
            raise SystemExit(f"bench relay: {dest}/{rel} differs from the source")


def joined_pair(work, stack, tag):
    """Two ferry daemons, b joined to a, both with folder `bench` (empty),
    connected and idle: (a, b, a's folder, b's folder, b's port)."""
    homes = {d: os.path.join(work, f"{tag}-home-{d}") for d in "ab"}
    folders = {d: os.path.join(work, f"{tag}-folder-{d}") for d in "ab"}
    ports = {d: free_port() for d in "ab"}
    for d in "ab":
        os.makedirs(folders[d])
        ferry(homes[d], "init", "--name", f"{tag}-{d}")
    ferry(homes["a"], "folder", "add", folders["a"], "--id", "bench")
    a = stack.ferry(homes["a"], os.path.join(work, f"{tag}-a.log"), ports["a"])
    a.wait_idle(30)
    code = ferry(homes["a"], "invite").strip().splitlines()[-1]
    ferry(homes["b"], "join", code)
    ferry(homes["b"], "folder", "add", folders["b"], "--id", "bench")
    b = stack.ferry(homes["b"], os.path.join(work, f"{tag}-b.log"), ports["b"])
    b.wait_idle(30)

    def connected():
        devices = json.loads(ferry(homes["a"], "devices", "--json"))
        return devices and all(d["online"] for d in devices)
    wait_for(f"the {tag} pair to connect", 60, connected)
    return a, b, folders["a"], folders["b"], ports["b"]


def usage(daemon):
    user, system = cpu_split(daemon.pid)
    return {"cpu_s": round(user + system, 2), "user_s": round(user, 2), "sys_s": round(system, 2),
            **memory_mib(daemon.pid)}


def measure_direct(work, stack, stage, expected):
    a, b, fa, fb, _ = joined_pair(work, stack, "direct")
    os.sync()
    t0 = time.monotonic()
    os.rename(stage, os.path.join(fa, "data"))
    t1 = wait_for("b to hold every file (direct)", 900, lambda: sizes(fb) == expected, step=0.5)
    r = {"sync_s": round(t1 - t0, 2), "a": usage(a), "b": usage(b)}
    a.stop()
    b.stop()
    check_identical(fa, fb, expected)
    # Freed before the hand-off, as the source tree was before this run: each
    # timed run then writes into as much freshly freed memory as it needs. On
    # a VM that hands freed guest memory back to its host (free page
    # reporting), writing into memory that was never touched, or was handed
    # back, runs at 0.5-0.7 GB/s instead of about 8 GB/s, and the hand-off
    # writes the data twice (relay, b) where the direct sync writes it once.
    for tree in (fa, fb):
        shutil.rmtree(tree)
    return r


def relays_connected(home):
    status = live_status(home)
    return status is not None and status["relays"] and all(r["connected"] for r in status["relays"])


def proxied_url(url, proxy):
    """`url` (relay://HOST:PORT#ID) with the proxy's address instead."""
    return f"relay://127.0.0.1:{proxy.port}#{url.split('#', 1)[1]}"


def measure_handoff(work, stack, stage, expected, delay_ms):
    relay = stack.relay(f"relay-{os.path.basename(work)}")
    token = relay.add_user("handoff")
    url = relay.url
    if delay_ms > 0:
        port = int(url.split("#", 1)[0].rsplit(":", 1)[1])
        stack.proxy = DelayProxy("127.0.0.1", port, delay_ms / 1000)
        url = proxied_url(url, stack.proxy)
    a, b, fa, fb, port_b = joined_pair(work, stack, "handoff")
    ferry(a.home, "relay", "add", url, "--token", token)
    for d in (a, b):
        wait_for(f"{d.home} to connect to the relay", 60, lambda: relays_connected(d.home))
    b.stop()
    wait_for("a's relay link to b", 60, lambda: live_status(a.home)["relay_links"] >= 1)
    before = relay.usage()
    sampler = RssSampler(relay.pid).start()
    os.sync()
    print("bench relay: hand-off: a uploads to the relay (b offline)", file=sys.stderr)
    t0 = time.monotonic()
    os.rename(stage, os.path.join(fa, "data"))
    # The upload is over once the relay's totals stop changing with a idle.
    last, last_change = relay.totals(), time.monotonic()

    def settled():
        nonlocal last, last_change
        now, totals = time.monotonic(), relay.totals()
        if totals != last:
            last, last_change = totals, now
            return False
        idle = all(f["state"] == "idle" for f in live_status(a.home)["folders"])
        return idle and totals["messages"] > 0 and now - last_change >= SETTLED_S
    wait_for("a's upload to the relay to end", 1800, settled, step=SAMPLE_S)
    upload_s = last_change - t0
    a_usage = usage(a)
    a.stop()
    uploaded = relay.totals()
    after_upload = relay.usage()
    upload_rss = sampler.stop()

    print("bench relay: hand-off: b downloads from the relay (a offline)", file=sys.stderr)
    sampler = RssSampler(relay.pid).start()
    b = stack.ferry(b.home, os.path.join(work, "handoff-b.log"), port_b)
    t2 = time.monotonic()
    t3 = wait_for("b to hold every file (hand-off)", 1800, lambda: sizes(fb) == expected, step=0.5)
    download_rss = sampler.stop()
    b_usage = usage(b)
    time.sleep(2)  # b's acknowledgements reach the relay
    b.stop()
    after = relay.usage()
    delivered = relay.totals()
    relay.stop()
    check_identical(fa, fb, expected)
    for tree in (fa, fb, relay.data):  # as in measure_direct, for the next run
        shutil.rmtree(tree)
    return {"upload_s": round(upload_s, 2), "download_s": round(t3 - t2, 2),
            "handoff_s": round(upload_s + t3 - t2, 2), "a": a_usage, "b": b_usage,
            "relay": {"cpu_s": round(after["cpu_s"] - before["cpu_s"], 2),
                      "rss_before_mib": before["rss_mib"],
                      "rss_max_upload_mib": upload_rss,
                      "rss_after_upload_mib": after_upload["rss_mib"],
                      "rss_max_download_mib": download_rss,
                      "rss_after_mib": after["rss_mib"], "hwm_mib": after["hwm_mib"],
                      "stored_after_upload": uploaded, "stored_after_download": delivered}}


def measure_handoff_run(work, stack, args):
    """One run: a new tree, synced directly, then handed off through a relay."""
    source = os.path.join(work, "source")
    print(f"bench relay: writing {args.small_files:,} files of 1-8 KiB and "
          f"{args.big_files} x 64 MiB", file=sys.stderr)
    make_tree(source, args.small_files, args.big_files)
    expected = {os.path.join("data", rel): size for rel, size in sizes(source).items()}
    stages = {}
    for run_name in ("direct", "handoff"):
        stages[run_name] = os.path.join(work, f"stage-{run_name}")
        run("cp", "-a", source, stages[run_name])
    shutil.rmtree(source)
    r = {"files": len(expected), "bytes": sum(expected.values())}
    print("bench relay: direct sync (both online)", file=sys.stderr)
    r["direct"] = measure_direct(work, stack, stages["direct"], expected)
    stack.stop_all()
    r["relay_delay_ms"] = args.relay_delay_ms
    r["relay"] = measure_handoff(work, stack, stages["handoff"], expected, args.relay_delay_ms)
    stack.stop_all()
    r["ratio_handoff_to_direct"] = round(r["relay"]["handoff_s"] / r["direct"]["sync_s"], 2)
    return r


def measure_handoffs(work, stack, args):
    """The run with the median ratio, with every run's ratio beside it."""
    runs = []
    for i in range(args.runs):
        print(f"bench relay: hand-off run {i + 1} of {args.runs}", file=sys.stderr)
        run_work = os.path.join(work, f"run{i + 1}")
        os.makedirs(run_work)
        runs.append(measure_handoff_run(run_work, stack, args))
    ratios = [r["ratio_handoff_to_direct"] for r in runs]
    median = dict(runs[ratios.index(statistics.median_low(ratios))])
    median["ratios"] = ratios
    return median


# ---- output ----

def print_table(r):
    if "load" in r:
        x = r["load"]
        print(f"load: {x['devices']} devices ({x['accounts']} accounts) on one ferry-relay, "
              f"{x['sealed_chunk_bytes']:,}-byte chunks, {x['load_s']:.1f} s "
              f"(connected in {x['connect_s']:.2f} s)")
        print(f"  {'':24} {'ops':>8} {'errors':>7} {'ops/s':>8} {'MB/s':>7} {'p50 ms':>8} {'p99 ms':>8}")
        for run, devices in ((x, x["devices"]), (x["one_device"], 1)):
            for kind, name in (("put", "ChunkPut"), ("get", "ChunkGet")):
                k = run[kind]
                label = f"{name}, {devices} device{'s' if devices > 1 else ''}"
                print(f"  {label:24} {k['ops']:8} {k['errors']:7} {k['ops_per_s']:8.1f} "
                      f"{k['mb_per_s']:7.1f} {k['p50_ms']:8.1f} {k['p99_ms']:8.1f}")
                if k["errors"]:
                    print(f"    first error: {k['first_error']}")
        rel = x["relay"]
        print(f"  relay: CPU {rel['cpu_s']:.2f} s over the run (generator {x['generator_cpu_s']:.2f} s); "
              f"RSS {rel['rss_before_mib']:.1f} MiB before, max {rel['rss_max_sampled_mib']:.1f} "
              f"during, {rel['rss_after_mib']:.1f} after (peak {rel['hwm_mib']:.1f}); "
              f"stores {rel['stored_bytes'] / 1e6:,.0f} MB in {rel['chunks']:,} chunks")
        print()
    if "handoff" in r:
        h = r["handoff"]
        d, rl = h["direct"], h["relay"]
        far = (f", the relay {h['relay_delay_ms']:g} ms away each way"
               if h.get("relay_delay_ms") else "")
        print(f"hand-off: {h['files']:,} files, {h['bytes'] / 1e6:,.0f} MB, a -> b on 127.0.0.1{far}")
        print(f"  {'':34} {'s':>8} {'CPU s a/b':>14} {'peak RSS MiB a/b':>18}")
        print(f"  {'direct sync (both online)':34} {d['sync_s']:8.2f} "
              f"{d['a']['cpu_s']:6.2f}/{d['b']['cpu_s']:<7.2f} "
              f"{d['a']['hwm_mib']:8.1f}/{d['b']['hwm_mib']:<9.1f}")
        print(f"  {'through the relay (b offline)':34} {rl['handoff_s']:8.2f} "
              f"{rl['a']['cpu_s']:6.2f}/{rl['b']['cpu_s']:<7.2f} "
              f"{rl['a']['hwm_mib']:8.1f}/{rl['b']['hwm_mib']:<9.1f}")
        print(f"    a's upload {rl['upload_s']:.2f} s, b's download {rl['download_s']:.2f} s; "
              f"{h['ratio_handoff_to_direct']}x the direct sync (target <= 2)")
        print(f"    the median of {len(h['ratios'])} runs' ratios: "
              f"{', '.join(f'{x:.2f}' for x in h['ratios'])}")
        m = rl["relay"]
        up, down = m["stored_after_upload"], m["stored_after_download"]
        print(f"  relay: CPU {m['cpu_s']:.2f} s; RSS {m['rss_before_mib']:.1f} MiB before, max "
              f"{m['rss_max_upload_mib']:.1f} during the upload, {m['rss_after_upload_mib']:.1f} "
              f"after it, max {m['rss_max_download_mib']:.1f} during the download, "
              f"{m['rss_after_mib']:.1f} after (peak {m['hwm_mib']:.1f})")
        print(f"    stored after the upload {up['stored_bytes'] / 1e6:,.0f} MB "
              f"({up['chunks']:,} chunks, {up['messages']:,} messages); after the download "
              f"{down['stored_bytes'] / 1e6:,.0f} MB ({down['messages']:,} messages in "
              f"mailboxes, b's own to a included)")
        print("    target: relay RSS bounded, not growing with the bytes stored")


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench relay: terminated"))
    raise_open_files(args.devices)
    work = tempfile.mkdtemp(prefix="ferry-bench-relay.")
    stack = Started(work)
    r = {}
    try:
        if args.only in (None, "load"):
            r["load"] = measure_load(work, stack, args)
        if args.only in (None, "handoff"):
            r["handoff"] = measure_handoffs(work, stack, args)
    except BaseException:
        for folder, _, names in sorted(os.walk(work)):
            for log in sorted(n for n in names if n.endswith(".log")):
                with open(os.path.join(folder, log), errors="replace") as f:
                    tail = f.readlines()[-15:]
                print(f"--- {os.path.relpath(os.path.join(folder, log), work)} (last lines)\n"
                      f"{''.join(tail)}", file=sys.stderr)
        raise
    finally:
        stack.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    print_table(r)
    line = json.dumps(r)
    print(line)
    os.makedirs(os.path.dirname(JSON_PATH), exist_ok=True)
    with open(JSON_PATH, "w") as f:
        f.write(line + "\n")
    print(f"JSON: {JSON_PATH}")


if __name__ == "__main__":
    sys.exit(main())
