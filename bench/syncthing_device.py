"""Syncthing instances on 127.0.0.1 for the benchmarks, driven through their
REST API (bench/syncthing_initial.py, bench/latency.py).

Network: loopback only. Global and local discovery (local discovery
broadcasts), relays, NAT traversal, usage and crash reports and upgrades are
switched off in the generated configuration before an instance starts; each
instance listens on 127.0.0.1 and is told its peer's address. Every wait is
bounded; only the processes started here are signalled, by PID.

Each instance runs under /usr/bin/time -v, so that its CPU time and peak RSS
are known after it stops (usage()). Syncthing 1.19 always runs as a monitor
process that starts the one doing the work: `pid` is the latter, for /proc
while it runs; stop() signals the monitor, which stops it.
"""
import json
import os
import re
import signal
import subprocess
import urllib.request

from bench_util import free_port, wait_for

FOLDER = "bench"


class Device:
    """One Syncthing instance with its home in `work`, generated but not started."""

    def __init__(self, name, work):
        self.name, self.work = name, work
        self.home = os.path.join(work, f"st-{name}")
        self.port, self.gui = free_port(), free_port()
        self.timed = None    # the /usr/bin/time process, once started
        self.monitor = None  # its child, syncthing's monitor process
        self.pid = None      # the monitor's child, the syncthing that syncs
        out = subprocess.run(["syncthing", "generate", "--home", self.home, "--no-default-folder",
                              "--skip-port-probing"], capture_output=True, text=True, check=True)
        self.id = re.search(r"Device ID: (\S+)", out.stdout + out.stderr).group(1)
        self.config = os.path.join(self.home, "config.xml")
        with open(self.config) as f:
            self.key = re.search(r"<apikey>([^<]+)</apikey>", f.read()).group(1)

    def configure(self, peer=None):
        """Loopback only, nothing announced or reported; `peer` (if any) known at its address."""
        with open(self.config) as f:
            x = f.read()
        options = {
            "listenAddress": f"tcp://127.0.0.1:{self.port}",
            "globalAnnounceEnabled": "false", "localAnnounceEnabled": "false",
            "relaysEnabled": "false", "natEnabled": "false", "startBrowser": "false",
            "urAccepted": "-1", "autoUpgradeIntervalH": "0", "crashReportingEnabled": "false",
            # Syncthing lowers its own priority by default; ferry and rsync run at normal priority.
            "setLowPriority": "false",
        }
        for name, value in options.items():
            x, n = re.subn(f"<{name}>[^<]*</{name}>", f"<{name}>{value}</{name}>", x)
            assert n == 1, name
        x, n = re.subn(r"<address>127\.0\.0\.1:\d+</address>", f"<address>127.0.0.1:{self.gui}</address>", x)
        assert n == 1, "gui address"
        if peer is not None:
            own = re.search(r'(    <device id="' + self.id + r'".*?</device>\n)', x, re.S).group(1)
            other = re.sub(r'name="[^"]*"', f'name="{peer.name}"', own.replace(self.id, peer.id), count=1)
            other = other.replace("<address>dynamic</address>", f"<address>tcp://127.0.0.1:{peer.port}</address>")
            x = x.replace(own, own + other, 1)
        with open(self.config, "w") as f:
            f.write(x)

    def start(self):
        """Starts the instance and returns once its REST API answers."""
        with open(os.path.join(self.work, f"st-{self.name}.log"), "a") as log:
            self.timed = subprocess.Popen(
                ["/usr/bin/time", "-v", "-o", self.time_file(),
                 "syncthing", "serve", "--home", self.home, "--no-browser", "--no-restart", "--no-upgrade"],
                stdout=log, stderr=subprocess.STDOUT)
        wait_for(f"syncthing {self.name} to start", 10, lambda: children(self.timed.pid), step=0.01)
        self.monitor = int(children(self.timed.pid)[0])
        wait_for(f"syncthing {self.name} to answer", 30, lambda: self.api("GET", "/rest/system/ping"))
        self.pid = int(children(self.monitor)[0])

    def stop(self):
        """Stops the instance if it runs (SIGTERM to its monitor, by PID)."""
        if self.timed is None or self.timed.poll() is not None:
            return
        try:
            os.kill(self.monitor, signal.SIGTERM)
        except ProcessLookupError:  # ended on its own; `time` is about to
            pass
        self.timed.wait(timeout=30)

    def api(self, method, path, body=None):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.gui}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"X-API-Key": self.key, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as r:
            text = r.read()
            return json.loads(text) if text.strip() else {}

    def add_folder(self, path, peers=(), **settings):
        """Folder FOLDER at `path`, shared with `peers`; `settings` (REST field
        names) override Syncthing's defaults."""
        self.api("POST", "/rest/config/folders", {
            "id": FOLDER, "label": FOLDER, "path": path, "type": "sendreceive",
            "devices": [{"deviceID": d.id} for d in (self, *peers)], **settings})

    def folder_config(self):
        return self.api("GET", f"/rest/config/folders/{FOLDER}")

    def status(self):
        return self.api("GET", f"/rest/db/status?folder={FOLDER}")

    def time_file(self):
        return os.path.join(self.work, f"syncthing-{self.name}.time")

    def usage(self):
        """CPU seconds and peak RSS over the instance's life; once stopped."""
        with open(self.time_file()) as f:
            t = f.read()
        cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", t).group(1)) for k in ("User", "System"))
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
        return {"cpu_s": round(cpu, 2), "peak_rss_mb": round(rss, 1)}


def children(pid):
    """PIDs of the children of process `pid` (started by any of its threads)."""
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += f.read().split()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
    return found


def tree(root):
    """(files, bytes) of the regular files below root, Syncthing's own left out."""
    files = size = 0
    for parent, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".stfolder"]
        for name in names:
            if name.startswith(".syncthing.") or name.startswith("~syncthing~"):
                continue
            st = os.lstat(os.path.join(parent, name))
            files += 1
            size += st.st_size
    return files, size
