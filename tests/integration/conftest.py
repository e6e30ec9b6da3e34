"""pytest glue for the frontdesk integration tests (see README.md)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fdtest  # noqa: E402


def pytest_report_header(config):
    def state(path):
        return "%s (%s)" % (path, "present" if os.path.exists(path)
                            else "MISSING")
    return ["frontdesk module: " + state(fdtest.DEFAULT_MODULE),
            "frontdesk model:  " + state(fdtest.DEFAULT_MODEL),
            "shared data:      " + state(fdtest.SHARED_DATA),
            "dkim signer:      " + state(fdtest.DKIM_SIGN)]


@pytest.fixture(scope="session", autouse=True)
def _dovecot_available():
    reason = fdtest.dovecot_missing()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def frontdesk_built():
    """(module, model) paths; skips (or fails, with FDTEST_REQUIRE_PLUGIN=1)
    when the build has not produced them yet."""
    missing = [p for p in (fdtest.DEFAULT_MODULE, fdtest.DEFAULT_MODEL)
               if not os.path.exists(p)]
    if missing:
        msg = ("frontdesk not built yet (missing: %s); build the project "
               "first (./autogen.sh && ./configure && make)"
               % ", ".join(missing))
        if os.environ.get("FDTEST_REQUIRE_PLUGIN"):
            pytest.fail(msg)
        pytest.skip(msg)
    return fdtest.DEFAULT_MODULE, fdtest.DEFAULT_MODEL


@pytest.fixture(scope="session")
def dkim_sign_program():
    """Path of test-dkim-sign; skips (or fails, with FDTEST_REQUIRE_PLUGIN=1)
    when `make check` has not built it yet."""
    if not os.path.exists(fdtest.DKIM_SIGN):
        msg = ("%s not built yet: run `make check` (or `make "
               "test-dkim-sign`)" % fdtest.DKIM_SIGN)
        if os.environ.get("FDTEST_REQUIRE_PLUGIN"):
            pytest.fail(msg)
        pytest.skip(msg)
    return fdtest.DKIM_SIGN


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, attach the tail of each running instance's log."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for dc in fdtest.LIVE:
            tail = dc.log().splitlines()[-80:]
            rep.sections.append(("dovecot log %s (last %d lines)"
                                 % (dc.dir, len(tail)), "\n".join(tail)))
