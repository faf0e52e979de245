"""Helpers the Python benchmarks share: loopback ports, bounded waits, and what
/proc tells about a process the bench started (CPU time, memory, inotify
watches). Linux only; reads only, never signals anything.
"""
import os
import socket
import time


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, seconds, check, step=0.1):
    """Calls check() every `step` seconds until it returns true (an OSError
    counts as not yet) and returns the monotonic time it did; exits the bench
    with a message naming `what` after `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if check():
                return time.monotonic()
        except OSError:
            pass
        time.sleep(step)
    raise SystemExit(f"bench: timed out after {seconds} s waiting for {what}")


def cpu_split(pid):
    """(user, system) CPU seconds process `pid` has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid):
    """User + system CPU time process `pid` has used so far."""
    return sum(cpu_split(pid))


def memory_mib(pid):
    """{"rss_mib": VmRSS, "hwm_mib": VmHWM (peak RSS)} of process `pid`."""
    found = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) / 1024  # reported in kB
    return {"rss_mib": round(found["VmRSS"], 1), "hwm_mib": round(found["VmHWM"], 1)}


def inotify_watches(pid):
    """How many inotify watches process `pid` holds, over all its inotify fds."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                count += sum(1 for line in f if line.startswith("inotify wd:"))
        except OSError:  # closed meanwhile
            continue
    return count


def percentile(values, p):
    """The p-th percentile of values: the one at rank round(p% of (n - 1)), no interpolation."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]
