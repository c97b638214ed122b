"""Fixtures shared by every test file.

gateway          session: one nginx with the module on a fresh data root
gateway_factory  function: more gateways (other roots, other directives),
                 stopped when the test ends
new_container    function: a fresh container on `gateway`, by name

After every test the error.log of each running gateway is read for lines
that fail a run ([alert], [emerg], [crit], sanitizers), so the failure is
charged to the test that caused it; what nginx logs while stopping is
checked when the gateway stops.
"""

import contextlib
import os
import signal
import sys
import uuid

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lib import gateway as gw   # noqa: E402


# pytest-timeout is not packaged here: each phase of a test (setup, call,
# teardown) gets this many seconds, or @pytest.mark.time_limit(seconds),
# then fails, so that a hung gateway cannot eat CI's time
TIME_LIMIT = int(os.environ.get("BLOB_TEST_TIME_LIMIT", "600"))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "clients: needs a real client (azcopy, rclone, node SDK)")
    config.addinivalue_line(
        "markers", "slow: takes more than a few seconds")
    config.addinivalue_line(
        "markers", "time_limit(seconds): per-phase limit instead of %ds"
        % TIME_LIMIT)


class TimeLimitExceeded(Exception):
    pass


@contextlib.contextmanager
def _time_limit(item, phase):
    m = item.get_closest_marker("time_limit")
    limit = m.args[0] if m else TIME_LIMIT

    def expired(signum, frame):
        raise TimeLimitExceeded("%s of %s took more than %ss"
                                % (phase, item.nodeid, limit))

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    with _time_limit(item, "setup"):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    with _time_limit(item, "call"):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    with _time_limit(item, "teardown"):
        yield


def _fail_on_bad_lines(g, when):
    bad = g.bad_lines()
    if bad:
        pytest.fail("%s: error.log of %r has lines that fail the run:\n%s"
                    % (when, g, "\n".join(bad[:50])), pytrace=False)


def _stop(g, when):
    graceful = g.stop()
    bad = g.bad_lines()
    if bad:
        pytest.fail("%s: error.log of %r has lines that fail the run:\n%s"
                    % (when, g, "\n".join(bad[:50])), pytrace=False)
    if not graceful:
        pytest.fail("%s: %r did not stop on SIGQUIT" % (when, g),
                    pytrace=False)
    g.cleanup()


@pytest.fixture(scope="session")
def gateway():
    g = gw.Gateway(name="main").start()
    try:
        yield g
    finally:
        _stop(g, "session end")


@pytest.fixture
def gateway_factory():
    started = []

    def factory(root=None, extra_conf="", **kw):
        g = gw.Gateway(root=root, extra_conf=extra_conf, **kw)
        try:
            g.start()
        except Exception:
            g.cleanup()
            raise
        started.append(g)
        return g

    yield factory

    errors = []
    for g in reversed(started):
        try:
            _stop(g, "test end")
        except BaseException as e:      # pytest.fail is an exception too
            errors.append(str(e))
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


@pytest.fixture(autouse=True)
def _error_log_check(request):
    yield
    for g in list(gw.live):
        _fail_on_bad_lines(g, request.node.nodeid)


@pytest.fixture
def new_container(gateway):
    name = "c" + uuid.uuid4().hex[:16]
    r = gateway.request("PUT", "/" + name, query=[("restype", "container")])
    assert r.status == 201, r
    return name


def pytest_unconfigure(config):
    """The plain closing line CI reads: "N passed, N failed[, N skipped]".

    Errors (a fixture or a log check that failed) count as failed.
    """

    tr = config.pluginmanager.get_plugin("terminalreporter")
    if tr is None or not hasattr(tr, "stats"):
        return

    def count(key):
        return len(tr.stats.get(key, []))

    passed = count("passed")
    failed = count("failed") + count("error")
    skipped = count("skipped")

    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    sys.stdout.write(line + "\n")
    sys.stdout.flush()

    # make prints its own "Error 1" after a failed run: .ci/run repeats
    # this line from here so that it stays the last one
    summary = os.environ.get("BLOB_SUMMARY_FILE")
    if summary:
        with open(summary, "w") as f:
            f.write(line + "\n")
