#!/usr/bin/env python3
"""Initial copy of SRC into DEST by two Syncthing instances on 127.0.0.1.

bench/sync.sh runs it on the same data as ferry and rsync:

    syncthing_initial.py SRC DEST WORK FILES BYTES

Device a shares SRC, device b receives it into DEST. Both run under
/usr/bin/time -v with their homes in WORK. Measured like ferry: a's scan
(from adding the folder until it is indexed), then the sync (from starting
b until b holds FILES files and BYTES bytes and Syncthing reports nothing
needed). Prints one line of JSON: scan_s, sync_s, and CPU seconds and peak
RSS of each side.

Network: loopback only. Global and local discovery (local discovery
broadcasts), relays, NAT traversal, usage and crash reports and upgrades are
switched off in the generated configurations before either instance starts;
each instance listens on 127.0.0.1 and is told the other's address. Every
wait is bounded; only the processes started here are signalled.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

SRC, DEST, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
FILES, BYTES = int(sys.argv[4]), int(sys.argv[5])
FOLDER = "bench"
started = []  # /usr/bin/time processes, each running one syncthing


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, seconds, check):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"bench sync (syncthing): timed out waiting for {what}")


class Device:
    def __init__(self, name):
        self.name = name
        self.home = os.path.join(WORK, f"st-{name}")
        self.port, self.gui = free_port(), free_port()
        out = subprocess.run(["syncthing", "generate", "--home", self.home, "--no-default-folder",
                              "--skip-port-probing"], capture_output=True, text=True, check=True)
        self.id = re.search(r"Device ID: (\S+)", out.stdout + out.stderr).group(1)
        self.config = os.path.join(self.home, "config.xml")
        self.key = re.search(r"<apikey>([^<]+)</apikey>", open(self.config).read()).group(1)

    def configure(self, peer):
        """Loopback only, nothing announced or reported; `peer` known at its address."""
        x = open(self.config).read()
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
        own = re.search(r'(    <device id="' + self.id + r'".*?</device>\n)', x, re.S).group(1)
        other = own.replace(self.id, peer.id).replace('name="vm"', f'name="{peer.name}"', 1)
        other = other.replace("<address>dynamic</address>", f"<address>tcp://127.0.0.1:{peer.port}</address>")
        x = x.replace(own, own + other, 1)
        open(self.config, "w").write(x)

    def start(self):
        log = open(os.path.join(WORK, f"st-{self.name}.log"), "w")
        self.timed = subprocess.Popen(
            ["/usr/bin/time", "-v", "-o", os.path.join(WORK, f"syncthing-{self.name}.time"),
             "syncthing", "serve", "--home", self.home, "--no-browser", "--no-restart", "--no-upgrade"],
            stdout=log, stderr=subprocess.STDOUT)
        started.append(self.timed)
        wait_for(f"syncthing {self.name} to answer", 30, lambda: self.api("GET", "/rest/system/ping"))

    def api(self, method, path, body=None):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.gui}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"X-API-Key": self.key, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as r:
            text = r.read()
            return json.loads(text) if text.strip() else {}

    def add_folder(self, path, peer):
        self.api("POST", "/rest/config/folders", {
            "id": FOLDER, "label": FOLDER, "path": path, "type": "sendreceive",
            "devices": [{"deviceID": self.id}, {"deviceID": peer.id}],
            "fsWatcherEnabled": False, "rescanIntervalS": 3600})

    def status(self):
        return self.api("GET", f"/rest/db/status?folder={FOLDER}")


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


def stop(timed):
    children = open(f"/proc/{timed.pid}/task/{timed.pid}/children").read().split()
    for child in children:
        os.kill(int(child), signal.SIGTERM)
    timed.wait(timeout=30)


def usage(name):
    t = open(os.path.join(WORK, f"syncthing-{name}.time")).read()
    cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", t).group(1)) for k in ("User", "System"))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
    return {"cpu_s": round(cpu, 2), "peak_rss_mb": round(rss, 1)}


def main():
    # Interrupted (the bench's cleanup, a timeout): stop the instances first.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench sync (syncthing): terminated"))
    a, b = Device("a"), Device("b")
    a.configure(b)
    b.configure(a)
    os.makedirs(DEST, exist_ok=True)
    try:
        a.start()
        t0 = time.monotonic()
        a.add_folder(SRC, b)

        def scanned():
            s = a.status()
            # (Not localBytes: Syncthing counts 128 bytes for each directory.)
            return s.get("state") == "idle" and s.get("localFiles") == FILES
        wait_for("a's scan", 600, scanned)
        scan = time.monotonic() - t0

        t0 = time.monotonic()
        b.start()
        b.add_folder(DEST, a)

        def complete():
            s = b.status()
            return (s.get("state") == "idle" and s.get("needFiles") == 0 and s.get("localFiles") == FILES
                    and tree(DEST) == (FILES, BYTES))
        wait_for("b to hold every file", 900, complete)
        sync = time.monotonic() - t0
    finally:
        for timed in started:
            if timed.poll() is None:
                stop(timed)
    print(json.dumps({"scan_s": round(scan, 2), "sync_s": round(sync, 2),
                      "sender": usage("a"), "receiver": usage("b")}))


main()
