"""Reloads while requests are in flight cut none of them.

A reload (SIGHUP, as for a key rotation) stops the old workers
gracefully: each one finishes what it has and exits when no timer is left.
A request waiting for its filesystem work in the thread pool has no timer
of nginx's own, so without one of the module's the worker exited under
it: the client saw the connection drop and the log "open socket left"
and "aborting" at [alert] (found by `make test-asan`, whose slower
workers widened the window).
"""

import os
import signal
import threading
import time

import pytest


CLIENTS = 12
RELOADS = 12


@pytest.mark.slow
@pytest.mark.time_limit(120)
def test_reloads_cut_no_request(gateway_factory):
    g = gateway_factory(name="reload")
    for i in range(8):
        r = g.request("PUT", "/reload-%d" % i, query=[("restype", "container")])
        assert r.status == 201, r

    stop = threading.Event()
    done = []
    failed = []

    def client():
        while not stop.is_set():
            try:
                r = g.request("GET", "/", query=[("comp", "list")],
                              timeout=30)
                if r.status != 200:
                    failed.append(repr(r))
                else:
                    done.append(1)
            except OSError as e:
                failed.append(repr(e))

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    try:
        for _ in range(RELOADS):
            time.sleep(0.3)
            os.kill(g.proc.pid, signal.SIGHUP)
        time.sleep(1)
    finally:
        stop.set()
        for t in threads:
            t.join()

    assert done
    assert not failed, "%d of %d requests failed: %s" % (
        len(failed), len(failed) + len(done), failed[:5])
