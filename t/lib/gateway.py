"""One nginx with ngx_blob_module, started for tests.

Like nginx-tests' Test::Nginx: every gateway writes its own nginx.conf into
a fresh prefix under /tmp, runs /usr/sbin/nginx in the foreground on a free
loopback port, and its error.log is scanned for [alert], [emerg], [crit]
and sanitizer reports, which fail the run whatever the tests asserted.
"""

import http.client
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import xml.etree.ElementTree as ET


# BLOB_NGINX: another nginx binary (make test-asan: the sanitizer build);
# BLOB_MODULE set but empty: the module is compiled into it, so no
# load_module line
NGINX = os.environ.get("BLOB_NGINX", "/usr/sbin/nginx")
REPO = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_MODULE = REPO / "build" / "nginx" / "objs" / "ngx_http_blob_module.so"
STATIC = "(compiled in)"

# sanitizer builds: reports go to stderr, which nginx points at error.log
# once it runs (before that the harness's stderr.log); UBSan reports and
# goes on, ASan stops the worker.  LeakSanitizer checks every process as
# it exits: what the cycle holds is still reachable then, so only memory
# nothing points to any more (a lost jansson or libxml2 object) is a leak.
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_odr_violation=0:detect_leaks=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=0:suppressions=%s"
                     % (REPO / "scripts" / "ubsan.supp"),
}

ACCOUNT = "devstoreaccount1"
KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
       "K1SZFPTOtr/KBHBeksoGMGw==")

# lines that fail a run: nginx's three worst levels, a worker that died,
# and what ASan/UBSan/LSan print (to stderr, hence the stderr file too)
BAD_LINE = re.compile(
    r"\[(alert|emerg|crit)\]"
    r"|AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer"
    r"|ThreadSanitizer|runtime error:")

# what follows a sanitizer's line and goes with it into the failure:
# "    #3 0x55e5 in ngx_http_handler src/http/ngx_http_core_module.c:905",
# ASan's "READ of size 1 at ..." and where the memory came from
STACK_FRAME = re.compile(
    r"\s+#\d+ 0x[0-9a-f]+ |(READ|WRITE) of size |0x[0-9a-f]+ is located"
    r"|(previously )?(allocated|freed) by thread |(Direct|Indirect) leak of")

START_TIMEOUT = 15
STOP_TIMEOUT = 15
REQUEST_TIMEOUT = 60

# every gateway not yet stopped: conftest checks their logs after each test
live = []


def _sanitized():
    try:
        out = subprocess.run([NGINX, "-V"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return b"-fsanitize=" in out


# nginx built with sanitizers: its memory figures are ASan's (quarantine,
# redzones, an allocator that keeps what it got), so a test that measures
# RSS growth has nothing to measure on it
SANITIZED = _sanitized()


def module_path():
    """The .so to load, or STATIC when $BLOB_MODULE is set but empty."""

    m = os.environ.get("BLOB_MODULE")
    if m == "":
        return STATIC
    return pathlib.Path(m or DEFAULT_MODULE)


def free_port():
    """A port nothing listens on now (10000 is the lead's: never chosen)."""

    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        finally:
            s.close()

        if port != 10000:
            return port


class Headers:
    """Response headers: case-insensitive, repeated ones joined by ", "."""

    def __init__(self, pairs):
        self.raw = list(pairs)
        self._d = {}
        for name, value in self.raw:
            k = name.lower()
            self._d[k] = (self._d[k] + ", " + value) if k in self._d else value

    def __getitem__(self, name):
        return self._d[name.lower()]

    def __contains__(self, name):
        return name.lower() in self._d

    def get(self, name, default=None):
        return self._d.get(name.lower(), default)

    def get_all(self, name):
        return [v for n, v in self.raw if n.lower() == name.lower()]

    def keys(self):
        return [n for n, _ in self.raw]

    def items(self):
        return list(self.raw)

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self.raw)

    def __repr__(self):
        return "Headers(%r)" % (self.raw,)


class Response:

    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def xml(self):
        return ET.fromstring(self.body)

    @property
    def error_code(self):
        return self.headers.get("x-ms-error-code")

    def __repr__(self):
        return "<Response %d %s %s %r>" % (
            self.status, self.reason, self.error_code, self.body[:300])


def encode_query(query):
    """[(name, value)] -> "a=1&b=2", each part percent-encoded.

    A value of None sends the bare name (Azure ignores a valueless
    parameter the same as an empty one, but clients differ).
    """

    parts = []
    for name, value in query:
        n = urllib.parse.quote(str(name), safe="")
        if value is None:
            parts.append(n)
        else:
            parts.append(n + "=" + urllib.parse.quote(str(value), safe=""))
    return "&".join(parts)


def normalize_query(query):
    if query is None:
        return []
    if isinstance(query, dict):
        return list(query.items())
    return list(query)


class Gateway:
    """An nginx running the module over one account root.

    root: the account root (default: a fresh directory under /tmp);
    extra_conf: inserted into `location /` after the blob_* directives;
    extra_http_conf / extra_main_conf: into http{} / the main context;
    module: the .so (None: $BLOB_MODULE or build/...; STATIC: compiled
    into the nginx binary; False: plain nginx with no blob directives at
    all, to test the harness itself); worker_connections: per worker
    (the load tests hold more than 1,024 connections).
    """

    def __init__(self, root=None, extra_conf="", extra_http_conf="",
                 extra_main_conf="", module=None, workers=2,
                 account=ACCOUNT, key=KEY, name="gw",
                 worker_connections=1024):
        self.host = "127.0.0.1"
        self.port = None
        self.account = account
        self.key = key
        self.workers = workers
        self.worker_connections = worker_connections
        self.extra_conf = extra_conf
        self.extra_http_conf = extra_http_conf
        self.extra_main_conf = extra_main_conf
        self.proc = None
        self._pgid = None
        self.allowed = []
        self._offsets = {}

        if module is None:
            module = module_path()
        self.module = module

        self.base = pathlib.Path(tempfile.mkdtemp(prefix="blob-%s-" % name,
                                                  dir="/tmp"))
        self.prefix = self.base / "nginx"
        for d in ("conf", "logs", "temp"):
            (self.prefix / d).mkdir(parents=True)

        self.own_root = root is None
        self.root = pathlib.Path(root) if root else self.base / "data"
        self.root.mkdir(parents=True, exist_ok=True)

        self.conf = self.prefix / "conf" / "nginx.conf"
        self.keys_file = self.prefix / "conf" / "keys"
        self.error_log = self.prefix / "logs" / "error.log"
        self.access_log = self.prefix / "logs" / "access.log"
        self.stderr_log = self.prefix / "logs" / "stderr.log"

    # configuration

    @property
    def endpoint(self):
        return "http://%s:%d/%s" % (self.host, self.port, self.account)

    @property
    def conn_str(self):
        return ("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;"
                "BlobEndpoint=%s;" % (self.account, self.key, self.endpoint))

    def render_conf(self):
        p = self.prefix
        body_temp = self.root / ".blob" / "tmp"

        # a test may run the workers as another user (extra_main_conf
        # "user nobody nogroup;"): root bypasses file permissions
        user = "user root;\n" if os.geteuid() == 0 and not re.search(
            r"(^|[\s;{])user\s", self.extra_main_conf) else ""

        def defaults(lines, extra, indent):
            # a directive the test sets itself replaces ours (nginx
            # refuses most directives twice)
            out = ""
            for line in lines:
                if not re.search(r"(^|[\s;{])%s\s" % line.split()[0], extra):
                    out += indent + line + "\n"
            return out

        if self.module:
            load = ("" if self.module is STATIC
                    else "load_module %s;\n" % self.module)
            blob = defaults([
                "blob on;",
                "blob_keys_file %s;" % self.keys_file,
                "blob_thread_pool blob;",
            ], self.extra_conf, " " * 12)
            # repeatable: a test may add more accounts
            blob += " " * 12 + "blob_account %s %s;\n" % (self.account,
                                                           self.root)
            blob_http = defaults(["blob_gc_interval 1s;"],
                                 self.extra_http_conf, " " * 4)
            # requests nginx refuses itself still get an Azure error
            refused = """
        error_page 400 414 494 501 503 /.blob-refused;
        location = /.blob-refused {
            blob_refused;
        }
"""
        else:
            load = blob_http = refused = ""
            blob = " " * 12 + "return 204;\n"

        return """# generated by t/lib/gateway.py
daemon off;
master_process on;
worker_processes %(workers)d;
%(user)spid %(p)s/logs/nginx.pid;
error_log %(p)s/logs/error.log info;
# a request still running at shutdown is cut after this long, so a stop
# never hangs; the "open socket left" check still runs
worker_shutdown_timeout 10s;
%(load)s
thread_pool blob threads=16 max_queue=65536;
%(main)s
events {
    worker_connections %(worker_connections)d;
}

http {
    access_log %(p)s/logs/access.log;
    sendfile on;

    # the body temp files on the data's own filesystem, so that a
    # rename into place never copies
    client_body_temp_path %(body_temp)s;
    proxy_temp_path %(p)s/temp/proxy;
    fastcgi_temp_path %(p)s/temp/fastcgi;
    uwsgi_temp_path %(p)s/temp/uwsgi;
    scgi_temp_path %(p)s/temp/scgi;

%(blob_http)s%(http)s
    server {
        listen %(host)s:%(port)d;
        client_max_body_size 0;
        # metadata names may have "_" (and get InvalidMetadata, not a
        # silent drop, when they have "."); blob names may have "//"
        underscores_in_headers on;
        ignore_invalid_headers off;
        merge_slashes off;

        location / {
            # file reads for responses in the pool too, not on the loop
            aio threads=blob;
%(blob)s%(extra)s
        }
%(refused)s    }
}
""" % {"workers": self.workers,
       "worker_connections": self.worker_connections,
       "user": user, "p": p, "load": load,
       "main": self.extra_main_conf, "body_temp": body_temp,
       "blob_http": blob_http, "http": self.extra_http_conf,
       "host": self.host, "port": self.port, "blob": blob,
       "refused": refused,
       "extra": self.extra_conf}

    # process

    def start(self):
        if (self.module and self.module is not STATIC
                and not pathlib.Path(self.module).is_file()):
            raise RuntimeError("module %s not built (run make)" % self.module)

        (self.root / ".blob" / "tmp").mkdir(parents=True, exist_ok=True)
        self.keys_file.write_text("# account key\n%s %s\n"
                                  % (self.account, self.key))
        self.keys_file.chmod(0o600)

        # a port taken between our probe and nginx's bind is retried
        for attempt in range(5):
            self.port = free_port()
            self.conf.write_text(self.render_conf())
            if self._spawn():
                live.append(self)
                return self
            if not self._port_clash():
                break

        raise RuntimeError("nginx did not start:\n" + self.log_tail())

    def _spawn(self):
        env = dict(os.environ)
        for name, value in SANITIZER_ENV.items():
            env.setdefault(name, value)

        with open(self.stderr_log, "ab") as err:
            self.proc = subprocess.Popen(
                [NGINX, "-p", str(self.prefix) + "/", "-c", str(self.conf),
                 "-e", str(self.error_log)],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env,
                start_new_session=True)
        self._pgid = self.proc.pid

        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                return False
            try:
                socket.create_connection((self.host, self.port), 0.5).close()
                return True
            except OSError:
                time.sleep(0.05)

        self._kill()
        return False

    def _port_clash(self):
        return "Address already in use" in self.log_tail()

    def _kill(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.proc = None

    def stop(self):
        """Graceful stop (SIGQUIT): nginx then checks for leaked sockets.

        Escalates to SIGTERM and SIGKILL if it hangs; returns whether the
        graceful stop worked.
        """

        if self in live:
            live.remove(self)

        if self.proc is None:
            return True

        for sig, wait in ((signal.SIGQUIT, STOP_TIMEOUT),
                          (signal.SIGTERM, 5)):
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(wait)
                self.proc = None
                # workers are in the master's group: none may linger
                try:
                    os.killpg(self._pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                return sig == signal.SIGQUIT
            except subprocess.TimeoutExpired:
                continue

        self._kill()
        return False

    def cleanup(self):
        """Removes the prefix and, if the harness made it, the data root."""

        shutil.rmtree(self.base, ignore_errors=True)

    # logs

    def allow_log(self, pattern):
        """A bad line matching pattern is expected (say, ENOSPC at [crit])."""

        self.allowed.append(re.compile(pattern))

    def bad_lines(self, since_last_check=True):
        """The lines that fail a run, new since the last call by default."""

        bad = []
        for path in (self.error_log, self.stderr_log):
            try:
                with open(path, "rb") as f:
                    if since_last_check:
                        f.seek(self._offsets.get(path, 0))
                    data = f.read()
                    if since_last_check:
                        self._offsets[path] = f.tell()
            except FileNotFoundError:
                continue

            frames = 0
            for line in data.decode("utf-8", "replace").splitlines():
                if BAD_LINE.search(line) and not any(
                        a.search(line) for a in self.allowed):
                    bad.append("%s: %s" % (path.name, line))
                    frames = 24

                # a sanitizer report's stack goes with its line
                elif frames and STACK_FRAME.match(line):
                    bad[-1] += "\n    " + line.strip()
                    frames -= 1

                elif frames and not line.strip():
                    continue

                else:
                    frames = 0
        return bad

    def log_tail(self, n=30):
        out = []
        for path in (self.error_log, self.stderr_log):
            try:
                lines = path.read_text(errors="replace").splitlines()
            except FileNotFoundError:
                continue
            out += ["%s: %s" % (path.name, l) for l in lines[-n:]]
        return "\n".join(out)

    # requests

    def url(self, path="", query=None):
        u = self.endpoint + path
        q = encode_query(normalize_query(query))
        return u + ("?" + q if q else "")

    def request(self, method, path, query=None, headers=None, body=b"",
                sign=True, host_style=False, timeout=REQUEST_TIMEOUT):
        """One raw HTTP request on a new connection.

        path is relative to the account ("/c/b"), already percent-encoded;
        query a list of (name, value) pairs or a dict, unencoded; signed
        with Shared Key unless sign=False or an Authorization is given.
        host_style sends "Host: <account>.blob.core.windows.net" and the
        path without the account.
        """

        query = normalize_query(query)
        headers = dict(headers or {})
        if isinstance(body, str):
            body = body.encode()

        names = {k.lower() for k in headers}

        if host_style:
            url_path = path or "/"
            if "host" not in names:
                headers["Host"] = "%s.blob.core.windows.net" % self.account
        else:
            url_path = "/" + self.account + path
            if "host" not in names:
                headers["Host"] = "%s:%d" % (self.host, self.port)

        if body or method in ("PUT", "POST"):
            if "content-length" not in names:
                headers["Content-Length"] = str(len(body))

        if sign and "authorization" not in names:
            from . import azsign

            signed = azsign.shared_key_headers(
                self.account, self.key, method, url_path,
                query=[(n, "" if v is None else str(v)) for n, v in query],
                headers=headers, host_style=host_style)
            headers.update(signed)

        q = encode_query(query)
        target = url_path + ("?" + q if q else "")

        conn = http.client.HTTPConnection(self.host, self.port,
                                          timeout=timeout)
        try:
            conn.putrequest(method, target, skip_host=True,
                            skip_accept_encoding=True)
            for k, v in headers.items():
                conn.putheader(k, v)
            conn.endheaders(body if body else None)
            resp = conn.getresponse()
            data = resp.read()
            return Response(resp.status, resp.reason,
                            Headers(resp.getheaders()), data)
        finally:
            conn.close()

    def sas_url(self, permissions="racwdl", container=None, blob=None):
        """An account SAS URL to the account, a container or a blob."""

        from . import azsign

        sas = azsign.account_sas(self.account, self.key, permissions)
        path = self.endpoint
        if container:
            path += "/" + urllib.parse.quote(container, safe="")
            if blob:
                path += "/" + urllib.parse.quote(blob, safe="/")
        return path + "?" + sas

    def service_client(self):
        """azure-storage-blob's BlobServiceClient on this gateway."""

        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.conn_str)

    def __repr__(self):
        return "<Gateway %s root=%s>" % (self.endpoint if self.port else "-",
                                         self.root)
