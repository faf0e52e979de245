"""ferry devices for the Python benchmarks (bench/latency.py, bench/relay.py):
the `ferry` command for one FERRY_HOME, and `ferry run` as a daemon listening
on 127.0.0.1. $BUILD names the build folder. Only the daemon started here
is ever signalled, by its PID.
"""
import json
import os
import signal
import subprocess

from bench_util import wait_for

FERRY = os.path.join(os.environ["BUILD"], "src", "cli", "ferry")


def ferry(home, *args):
    return subprocess.run([FERRY, *args], env={**os.environ, "FERRY_HOME": home},
                          check=True, capture_output=True, text=True).stdout


def live_status(home):
    """The running daemon's status (`ferry status --json`), or None while no daemon answers."""
    status = json.loads(ferry(home, "status", "--json"))
    return status if "listen" in status else None  # without a daemon: the index's view


class FerryDaemon:
    """`ferry run` for one FERRY_HOME, listening on 127.0.0.1."""

    def __init__(self, home, log, port=0):
        self.home = home
        with open(log, "a") as stderr:
            self.proc = subprocess.Popen([FERRY, "run", "--listen", f"127.0.0.1:{port}"],
                                         env={**os.environ, "FERRY_HOME": home},
                                         stdout=subprocess.DEVNULL, stderr=stderr)
        self.pid = self.proc.pid

    def wait_idle(self, seconds, step=0.05):
        """Waits until the daemon answers and every folder is idle; returns that time."""
        def idle():
            if self.proc.poll() is not None:
                raise SystemExit(f"bench: ferry run stopped with status {self.proc.returncode}")
            status = live_status(self.home)
            return status is not None and all(f["state"] == "idle" for f in status["folders"])
        return wait_for(f"ferry daemon in {self.home} to be idle", seconds, idle, step=step)

    def stop(self):
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
