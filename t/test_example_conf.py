"""The documentation's configuration is one nginx accepts.

conf.d/gateway.conf is the production example README points to: with its
placeholders (CHANGE-ME paths, certificate, keys file) replaced by real
files, `nginx -t` must accept it as it is, so that no directive in it is
misspelt, removed or given a value the module refuses.  And every
directive the module has is in README's table.
"""

import base64
import os
import re
import subprocess

from lib import gateway as gw

CONF = gw.REPO / "conf.d" / "gateway.conf"
README = gw.REPO / "README.md"
MODULE_C = gw.REPO / "ngx_blob_module" / "ngx_http_blob_module.c"


def test_example_configuration_is_accepted(tmp_path):
    conf = CONF.read_text()
    root = tmp_path / "account1"
    (root / ".blob" / "tmp").mkdir(parents=True)
    logs = tmp_path / "logs"
    logs.mkdir()

    cert, key = tmp_path / "blob.crt", tmp_path / "blob.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "1", "-subj", "/CN=blob.test",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    keys = tmp_path / "blob.keys"
    keys.write_text("account1 %s\n" % base64.b64encode(os.urandom(64))
                    .decode())
    keys.chmod(0o600)

    module = gw.module_path()
    load = ("" if module is gw.STATIC
            else "load_module %s;" % module)

    replaced = {
        r"load_module \S+;": load,
        r"/var/log/nginx/": str(logs) + "/",
        r"/run/nginx\.pid": str(logs / "nginx.pid"),
        r"/etc/ssl/certs/CHANGE-ME-blob\.crt": str(cert),
        r"/etc/ssl/private/CHANGE-ME-blob\.key": str(key),
        r"/mnt/blob/account1": str(root),
        r"/etc/nginx/blob\.keys": str(keys),
    }
    for pattern, value in replaced.items():
        conf, n = re.subn(pattern, lambda m: value, conf)
        assert n, "conf.d/gateway.conf no longer has %s" % pattern

    path = tmp_path / "nginx.conf"
    path.write_text(conf)
    env = dict(os.environ)
    if gw.SANITIZED:
        # nginx -t exits without freeing its cycle (no leak to report),
        # and its core passes memcpy() a NULL for an empty -g: only what
        # the module's code does counts here
        env.update(gw.SANITIZER_ENV)
        env["ASAN_OPTIONS"] += ":detect_leaks=0"
    r = subprocess.run([gw.NGINX, "-t", "-p", str(tmp_path) + "/",
                        "-c", str(path), "-e", str(logs / "startup.log")],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0 and "test is successful" in r.stderr, r.stderr
    assert "ngx_http_blob" not in r.stderr, r.stderr


def test_every_directive_is_in_the_readme():
    # the command table's entries: a name, then the contexts it is for
    names = set(re.findall(r'ngx_string\("(blob[a-z_]*)"\),\s*NGX_HTTP_',
                           MODULE_C.read_text()))
    assert "blob_cached_reads" in names
    readme = README.read_text()
    missing = sorted(n for n in names
                     if not re.search(r"\| `%s[ `]" % re.escape(n), readme))
    assert not missing, "README's directive table lacks %s" % missing
