"""frontdesk's files follow the admin's mail_fsync: with "always" the
spooled acknowledgment and the state's ticket claim are flushed to disk
before the delivery answers (a claim lost in a power cut while its ack
survives would let the conversation's next mail be acknowledged twice);
with Dovecot's default "optimized" neither is (the delivery does not pay
for it). Watched with strace around dovecot-lda."""

import os
import re
import shutil
import subprocess
import tempfile

import pytest

import fdtest
from fdtest import SmtpSink, make_message, ack_instance, ACK_SUPPORT

SYNC = re.compile(r'\b(fsync|fdatasync)\(\d+<([^>]*)>\) = 0')


def synced_paths(dc, data, sender):
    """Deliver data with dovecot-lda under strace: the paths synced."""
    out = tempfile.mktemp(prefix="fdstrace", dir="/tmp")
    try:
        p = subprocess.run(
            ["strace", "-f", "-qq", "-y", "-e", "trace=fsync,fdatasync",
             "-o", out, fdtest.DOVECOT_LDA, "-c", dc.conf,
             "-d", ACK_SUPPORT, "-f", sender],
            input=data, capture_output=True, timeout=120)
        assert p.returncode == 0, p.stderr
        with open(out) as f:
            return [m.group(2) for m in SYNC.finditer(f.read())]
    finally:
        if os.path.exists(out):
            os.unlink(out)


@pytest.fixture(scope="module")
def sink():
    with SmtpSink() as s:
        yield s


@pytest.mark.parametrize("mode", ["always", "optimized"])
def test_frontdesk_files_follow_mail_fsync(frontdesk_built, sink, mode):
    if shutil.which("strace") is None:
        pytest.fail("strace is missing (scripts/ensure-deps installs it)")
    with ack_instance(frontdesk_built, sink, name="fsync-" + mode,
                      extra_conf="mail_fsync = %s\n" % mode) as dc:
        # the first delivery makes the desk's secret (flushed once, in
        # either mode): not what is measured
        first, _ = make_message(subject="Opening hours",
                                body="Hello, when are you open?\n")
        assert dc.deliver_lda(ACK_SUPPORT, first,
                              "bruno@example.org").returncode == 0
        data, _ = make_message(
            subject="Invoice charged twice",
            body="Hello, you charged my invoice twice this month. "
                 "Please refund the second payment.\n")
        paths = synced_paths(dc, data, "anna@example.org")
        ours = [p for p in paths if "/.frontdesk/" in p]
        spool = [p for p in ours if "/.frontdesk/spool/" in p]
        state = [p for p in ours if "/.frontdesk/spool/" not in p]
        sink.wait_for(2, timeout=15)
        assert len(dc.log_lines("ack=queued")) == 2, dc.log()
        if mode == "always":
            # Dovecot flushes the mail itself; frontdesk its two files
            assert any("Maildir" in p for p in paths), paths
            assert spool, paths
            assert state, paths
        else:
            assert ours == [], paths
