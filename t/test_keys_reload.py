"""Keys come from blob_keys_file and are re-read on `nginx -s reload`.

Rotation: the file holds two keys while clients move from one to the
other; after the reload the removed key no longer signs anything.  The key
material never appears in the error log.
"""

import base64
import os
import signal
import time


NEW_KEY = base64.b64encode(bytes(range(64))).decode()


def wait_reloaded(g, key, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        g.key = key
        if g.request("GET", "/", query={"comp": "list"}).status == 200:
            return True
        time.sleep(0.2)
    return False


def test_rotation_through_reload(gateway_factory):
    g = gateway_factory()
    old = g.key
    assert g.request("GET", "/", query={"comp": "list"}).status == 200

    # both keys during the rotation
    g.keys_file.write_text("%s %s %s\n" % (g.account, old, NEW_KEY))
    os.kill(g.proc.pid, signal.SIGHUP)
    assert wait_reloaded(g, NEW_KEY)
    g.key = old
    assert g.request("GET", "/", query={"comp": "list"}).status == 200

    # the old key retired
    g.keys_file.write_text("%s %s\n" % (g.account, NEW_KEY))
    os.kill(g.proc.pid, signal.SIGHUP)
    end = time.time() + 15
    while time.time() < end:
        g.key = old
        r = g.request("GET", "/", query={"comp": "list"})
        if r.status == 403:
            break
        time.sleep(0.2)
    assert r.status == 403, r
    assert r.error_code == "AuthenticationFailed"
    g.key = NEW_KEY
    assert g.request("GET", "/", query={"comp": "list"}).status == 200

    log = g.error_log.read_text(errors="replace")
    for k in (old, NEW_KEY):
        assert k not in log
        assert k[:20] not in log


def test_bad_keys_file_keeps_the_running_config(gateway_factory):
    g = gateway_factory()
    g.allow_log(r"keys file|\[emerg\]")
    g.keys_file.write_text("%s not-base64!!\n" % g.account)
    os.kill(g.proc.pid, signal.SIGHUP)
    time.sleep(1.5)
    # nginx refuses the new configuration and keeps serving with the old
    assert g.request("GET", "/", query={"comp": "list"}).status == 200
    assert "not valid base64" in g.error_log.read_text(errors="replace")
