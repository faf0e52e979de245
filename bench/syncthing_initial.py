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

Network: loopback only, see bench/syncthing_device.py.
"""
import json
import os
import signal
import sys
import time

from bench_util import wait_for
from syncthing_device import Device, tree

SRC, DEST, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
FILES, BYTES = int(sys.argv[4]), int(sys.argv[5])
# The copy is timed from the folder's scans, not the watcher.
NO_WATCHER = {"fsWatcherEnabled": False, "rescanIntervalS": 3600}


def main():
    # Interrupted (the bench's cleanup, a timeout): stop the instances first.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench sync (syncthing): terminated"))
    a, b = Device("a", WORK), Device("b", WORK)
    a.configure(b)
    b.configure(a)
    os.makedirs(DEST, exist_ok=True)
    try:
        a.start()
        t0 = time.monotonic()
        a.add_folder(SRC, [b], **NO_WATCHER)

        def scanned():
            s = a.status()
            # (Not localBytes: Syncthing counts 128 bytes for each directory.)
            return s.get("state") == "idle" and s.get("localFiles") == FILES
        wait_for("a's scan (Syncthing)", 600, scanned)
        scan = time.monotonic() - t0

        t0 = time.monotonic()
        b.start()
        b.add_folder(DEST, [a], **NO_WATCHER)

        def complete():
            s = b.status()
            return (s.get("state") == "idle" and s.get("needFiles") == 0 and s.get("localFiles") == FILES
                    and tree(DEST) == (FILES, BYTES))
        wait_for("b to hold every file (Syncthing)", 900, complete)
        sync = time.monotonic() - t0
    finally:
        for device in (a, b):
            device.stop()
    print(json.dumps({"scan_s": round(scan, 2), "sync_s": round(sync, 2),
                      "sender": a.usage(), "receiver": b.usage()}))


main()
