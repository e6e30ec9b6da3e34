"""doveadm frontdesk (issue 13): classify, queue, retry, drop and ticket,
run as an administrator runs them: the private Dovecot's own doveadm with
-c <its config> and -u <the support user>.

How doveadm finds the plugin: doveadm loads its plugins only from the
directory compiled into it (Debian: /usr/lib/dovecot/modules/doveadm);
there is no setting for it. (A plugin listed in `protocol doveadm {
mail_plugins }` is loaded from mail_plugin_dir but initialised only after
doveadm has looked the command up, so its commands stay unknown.) The tests
therefore run doveadm in a private mount namespace (`unshare -m`, root only)
in which a directory holding the system's doveadm plugins and the freshly
built lib10_doveadm_frontdesk_plugin.so is bind-mounted over that
directory: the system's directory is never touched. Inside a chroot (the
Dovecot 2.4 run, tests/run-dovecot24) / is no mount point and unshare -m
cannot make the namespace's mounts private: there run-dovecot24 installs the
built plugin into the chroot's own doveadm directory for the run and says so
with FDTEST_DOVEADM_INSTALLED=1.

The same tests run on Dovecot 2.3 and 2.4: the commands, their output and
their exit codes are the same; where doveadm itself differs (how it refuses
a mail command without a user) each line's own answer is asserted."""

import filecmp
import glob
import json
import os
import re
import shutil
import subprocess
import time

import pytest

import fdtest
from fdtest import SmtpSink, make_message, ack_instance, ACK_SUPPORT

DOVEADM_MODULE_NAME = "lib10_doveadm_frontdesk_plugin.so"
DOVEADM_MODULE = os.environ.get("FDTEST_DOVEADM_MODULE") or os.path.join(
    fdtest.REPO, ".libs", DOVEADM_MODULE_NAME)
SYSTEM_DOVEADM_DIR = "/usr/lib/dovecot/modules/doveadm"
DOVEADM_INSTALLED = os.environ.get("FDTEST_DOVEADM_INSTALLED") == "1"
CLI = os.path.join(fdtest.REPO, "frontdesk-classify")
EX_USAGE, EX_DATAERR, EX_NOUSER, EX_NOTFOUND, EX_TEMPFAIL = 64, 65, 67, 68, 75
REF = re.compile(r"FD-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")


def _namespace_reason():
    if os.geteuid() != 0:
        return "needs root for a private mount namespace (unshare -m)"
    if shutil.which("unshare") is None:
        return "unshare(1) is missing"
    r = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if r.returncode != 0:
        return "unshare -m failed: %s" % r.stderr.decode(errors="replace")
    return None


@pytest.fixture(scope="module")
def doveadm_built(frontdesk_built):
    if not os.path.exists(DOVEADM_MODULE):
        pytest.skip("%s not built" % DOVEADM_MODULE)
    if DOVEADM_INSTALLED:
        installed = os.path.join(SYSTEM_DOVEADM_DIR, DOVEADM_MODULE_NAME)
        assert filecmp.cmp(installed, DOVEADM_MODULE, shallow=False), \
            "%s is not the one just built" % installed
        return DOVEADM_MODULE
    reason = _namespace_reason()
    if reason:
        pytest.skip(reason)
    return DOVEADM_MODULE


def fd_doveadm(dc, *args, stdin=None):
    """`doveadm -c <dc's config> ARGS` with the built doveadm plugin in
    doveadm's module directory (in a private mount namespace, or there
    already: FDTEST_DOVEADM_INSTALLED)."""
    if DOVEADM_INSTALLED:
        return subprocess.run([fdtest.DOVEADM, "-c", dc.conf] + list(args),
                              capture_output=True, text=True, input=stdin,
                              timeout=60)
    mdir = os.path.join(dc.dir, "doveadm-modules")
    if not os.path.isdir(mdir):
        os.mkdir(mdir)
        for path in glob.glob(os.path.join(SYSTEM_DOVEADM_DIR, "*.so")):
            os.symlink(path, os.path.join(mdir, os.path.basename(path)))
        shutil.copy(DOVEADM_MODULE, os.path.join(mdir, DOVEADM_MODULE_NAME))
    script = 'mount --bind "$0" "$1" && shift && exec "$@"'
    return subprocess.run(["unshare", "-m", "sh", "-c", script, mdir,
                           SYSTEM_DOVEADM_DIR, fdtest.DOVEADM, "-c", dc.conf]
                          + list(args), capture_output=True, text=True,
                          input=stdin, timeout=60)


def write(dc, name, data):
    path = os.path.join(dc.dir, name)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o644)
    return path


def cli(dc, *args):
    r = subprocess.run([CLI, "-c", dc.conf] + list(args),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


MESSAGES = [
    ("billing", make_message(
        subject="Invoice charged twice",
        body="Hello, you charged my invoice twice this month. "
             "Please refund the second payment.\n")[0]),
    ("information", make_message(
        subject="Opening hours",
        body="Hello, when is your shop open on Saturdays?\n")[0]),
    ("auto-reply", make_message(
        subject="Out of office",
        body="I am away until Monday.\n",
        headers={"Auto-Submitted": "auto-replied"})[0]),
    ("italian", (b'From: "Anna Rossi" <anna@example.org>\r\n'
                 b"To: support@example.com\r\n"
                 b"Subject: fattura addebitata due volte\r\n\r\n"
                 b"Buongiorno, mi avete addebitato due volte la fattura di "
                 b"marzo. Potete rimborsarmi?\r\n")),
]


@pytest.fixture(scope="module")
def sink():
    with SmtpSink() as s:
        yield s


def test_classify_is_the_cli_verdict_with_the_users_settings(
        doveadm_built, frontdesk_built, sink):
    """The same JSON lines (and table) as frontdesk-classify, with the
    settings Dovecot gives that user: here a userdb override of the back
    office folder, which the CLI only sees when told with -o."""
    users = {ACK_SUPPORT: {"frontdesk_enabled": "yes",
                           "frontdesk_folder_back": "Specialists"}}
    with ack_instance(frontdesk_built, sink, users=users,
                      name="da-classify") as dc:
        paths = [write(dc, "%d-%s.eml" % (i, name), data)
                 for i, (name, data) in enumerate(MESSAGES)]
        r = fd_doveadm(dc, "frontdesk", "classify", "-u", ACK_SUPPORT,
                       *paths)
        assert r.returncode == 0, r.stderr
        got = r.stdout.splitlines()
        want = cli(dc, "-o", "frontdesk_folder_back=Specialists",
                   *paths).splitlines()
        assert got == want
        verdicts = [json.loads(line) for line in got]
        assert [v["file"] for v in verdicts] == paths
        assert verdicts[0]["need"] == "billing"
        assert verdicts[0]["folder"] == "Specialists"
        assert verdicts[0]["ack"] == {"send": True, "reason": "ok"}
        assert verdicts[2]["ack"]["send"] is False
        # without the user's override the CLI says otherwise: the
        # equality above is the user's settings, not a coincidence
        plain = json.loads(cli(dc, paths[0]).splitlines()[0])
        assert plain["folder"] != "Specialists"

        r = fd_doveadm(dc, "frontdesk", "classify", "-u", ACK_SUPPORT,
                       "-H", *paths)
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines() == cli(
            dc, "-o", "frontdesk_folder_back=Specialists", "--human",
            *paths).splitlines()

        # what the envelope says counts, as with the CLI's --from
        r = fd_doveadm(dc, "frontdesk", "classify", "-u", ACK_SUPPORT,
                       "-f", "", paths[0])
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["ack"]["send"] is False

        # a file that is not there: doveadm's error, no verdict
        r = fd_doveadm(dc, "frontdesk", "classify", "-u", ACK_SUPPORT,
                       os.path.join(dc.dir, "missing.eml"))
        assert r.returncode != 0
        assert "missing.eml" in r.stderr
        assert r.stdout.strip() == ""


def test_classify_reads_standard_input_for_each_user(
        doveadm_built, frontdesk_built, sink):
    """`-` is the mail on standard input, as for frontdesk-classify; with
    -A every user classifies all of it (a pipe cannot seek back: doveadm
    used to panic and print nothing)."""
    users = {ACK_SUPPORT: {"frontdesk_enabled": "yes"},
             "desk2@example.com": {"frontdesk_enabled": "yes",
                                   "frontdesk_folder_back": "Specialists"}}
    data = MESSAGES[0][1].decode()
    with ack_instance(frontdesk_built, sink, users=users,
                      name="da-stdin") as dc:
        r = fd_doveadm(dc, "frontdesk", "classify", "-u", ACK_SUPPORT, "-",
                       stdin=data)
        assert r.returncode == 0, (r.returncode, r.stderr)
        verdict = json.loads(r.stdout)
        assert verdict["file"] == "-" and verdict["need"] == "billing"
        assert r.stdout.splitlines() == cli(dc, write(
            dc, "stdin.eml", MESSAGES[0][1])).replace(
                os.path.join(dc.dir, "stdin.eml"), "-").splitlines()

        r = fd_doveadm(dc, "frontdesk", "classify", "-A", "-", stdin=data)
        assert r.returncode == 0, (r.returncode, r.stderr)
        got = dict(line.split(" ", 1) for line in r.stdout.splitlines())
        assert sorted(got) == sorted(users), r.stdout
        for user, line in got.items():
            v = json.loads(line)
            assert v["need"] == "billing", (user, v)
            assert (v["folder"] == "Specialists") == (user != ACK_SUPPORT)


def queue_rows(dc):
    r = fd_doveadm(dc, "-f", "tab", "frontdesk", "queue", "-u", ACK_SUPPORT)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split("\t") == ["id", "state", "attempts", "next",
                                    "ticket", "to", "reason"]
    return [dict(zip(lines[0].split("\t"), line.split("\t")))
            for line in lines[1:] if line.strip()]


def wait_rows(dc, pred, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        rows = queue_rows(dc)
        if pred(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.3)


def test_queue_drop_retry_ticket(doveadm_built, frontdesk_built):
    """With the relay down the acks wait in the spool: queue lists them with
    the relay's error; once the sender gives up they are listed as failed
    and nothing sends them, until retry does; drop removes one for good.
    ticket tells the genuine reference of a real ack from a forged one."""
    relay = SmtpSink().start()
    port = relay.port
    relay.stop()
    # a lifetime shorter than the first backoff: the sender gives up
    # after its first attempt, so only retry can send the ack
    with ack_instance(frontdesk_built, port, name="da-queue",
                      settings={"frontdesk_ack_retry_lifetime": "2s"}) as dc:
        assert queue_rows(dc) == []
        for who, (name, data) in zip(("anna@example.org",
                                      "bruno@example.org"), MESSAGES[:2]):
            res = dc.deliver_lmtp([ACK_SUPPORT], data, mail_from=who)
            assert res.code(ACK_SUPPORT) == 250
        rows = wait_rows(dc, lambda rows: len(rows) == 2 and all(
            r["state"] == "failed" for r in rows))
        assert sorted(r["to"] for r in rows) == ["anna@example.org",
                                                  "bruno@example.org"]
        assert all(r["state"] == "failed" for r in rows), rows
        assert all("connect" in r["reason"].lower() for r in rows), rows
        anna = next(r for r in rows if r["to"] == "anna@example.org")
        bruno = next(r for r in rows if r["to"] == "bruno@example.org")
        assert REF.fullmatch(anna["ticket"]) and anna["ticket"] in anna["id"]

        # ticket: genuine, known, with its office and waiting ack
        r = fd_doveadm(dc, "frontdesk", "ticket", "-u", ACK_SUPPORT,
                       bruno["ticket"].lower())
        assert r.returncode == 0, r.stderr
        info = dict(line.split(": ", 1) for line in r.stdout.splitlines()
                    if ": " in line)
        assert info["reference"] == bruno["ticket"]
        assert info["genuine"] == "yes" and info["known"] == "yes"
        assert info["office"] == "front"
        assert info["acks"] == "failed:bruno@example.org"
        # the conversation's mail, found by its X-Frontdesk-Ticket
        mail = r.stdout.split("mail:", 1)[1].strip().splitlines()
        assert len(mail) == 1, r.stdout
        assert mail[0].split()[0] == "FrontOffice"
        assert mail[0].endswith("Opening hours")
        # forged: the right shape, the wrong check
        last = bruno["ticket"][-1]
        forged = bruno["ticket"][:-1] + ("A" if last != "A" else "B")
        r = fd_doveadm(dc, "frontdesk", "ticket", "-u", ACK_SUPPORT, forged)
        assert r.returncode == EX_DATAERR, (r.returncode, r.stdout, r.stderr)
        assert "genuine: no" in r.stdout
        assert "not a genuine reference" in r.stderr
        # made up from scratch
        r = fd_doveadm(dc, "frontdesk", "ticket", "-u", ACK_SUPPORT,
                       "FD-0000-0000-0000")
        assert r.returncode == EX_DATAERR

        # drop: gone from the queue, and a second drop finds nothing
        r = fd_doveadm(dc, "frontdesk", "drop", "-u", ACK_SUPPORT, anna["id"])
        assert r.returncode == 0, r.stderr
        assert [row["id"] for row in queue_rows(dc)] == [bruno["id"]]
        r = fd_doveadm(dc, "frontdesk", "drop", "-u", ACK_SUPPORT, anna["id"])
        assert r.returncode == EX_NOTFOUND
        assert "no acknowledgment" in r.stderr

        # the relay is back: nothing sends a failed ack by itself ...
        relay = SmtpSink(port=port).start()
        try:
            time.sleep(2.0)
            assert relay.wait_for(0, timeout=0) == []
            # ... retry does (by its ticket reference here)
            r = fd_doveadm(dc, "frontdesk", "retry", "-u", ACK_SUPPORT,
                           bruno["ticket"])
            assert r.returncode == 0, r.stderr
            assert bruno["id"] in r.stdout
            msgs = relay.wait_for(1, timeout=15)
            assert [m.rcpts for m in msgs] == [["bruno@example.org"]]
            assert bruno["ticket"].encode() in msgs[0].data
            assert wait_rows(dc, lambda rows: rows == []) == []
            time.sleep(1.0)
            # anna's dropped ack never went out
            assert len(relay.wait_for(0, timeout=0)) == 1
        finally:
            relay.stop()


@pytest.mark.parametrize("args", [
    ["frontdesk", "classify", "-u", ACK_SUPPORT],
    ["frontdesk", "retry", "-u", ACK_SUPPORT],
    ["frontdesk", "drop", "-u", ACK_SUPPORT],
    ["frontdesk", "ticket", "-u", ACK_SUPPORT],
    ["frontdesk", "queue", "-u", ACK_SUPPORT, "extra"],
    ["frontdesk", "retry", "-u", ACK_SUPPORT, "a", "b"],
], ids=["classify", "retry", "drop", "ticket", "queue-extra", "retry-two"])
def test_usage_errors(doveadm_built, frontdesk_built, sink, args):
    with ack_instance(frontdesk_built, sink, name="da-usage") as dc:
        r = fd_doveadm(dc, *args)
        assert r.returncode == EX_USAGE, (r.returncode, r.stdout, r.stderr)
        # the command's usage line, or doveadm's own word on extra ones
        assert ("doveadm frontdesk %s" % args[1] in r.stderr or
                "Extraneous arguments" in r.stderr), r.stderr
        assert r.stdout.strip() == ""


def test_user_and_command_errors(doveadm_built, frontdesk_built, sink):
    with ack_instance(frontdesk_built, sink, name="da-errors") as dc:
        # no user at all: doveadm's own refusal, before the command runs
        # (2.3: a usage error; 2.4: "Fatal: One of -u, -F, -A or
        # --no-userdb-lookup must be provided", doveadm's fatal status)
        r = fd_doveadm(dc, "frontdesk", "queue")
        assert r.returncode == (EX_TEMPFAIL if fdtest.DOVECOT_24
                                else EX_USAGE), (r.returncode, r.stderr)
        assert "-u" in r.stderr and r.stdout.strip() == ""
        # a user the userdb does not know
        r = fd_doveadm(dc, "frontdesk", "queue", "-u", "nobody@example.com")
        assert r.returncode == EX_NOUSER, (r.returncode, r.stderr)
        # doveadm lists the commands under "frontdesk"
        r = fd_doveadm(dc, "frontdesk")
        assert r.returncode == EX_USAGE
        for cmd in ("classify", "queue", "retry", "drop", "ticket"):
            assert "frontdesk %s" % cmd in r.stderr or cmd in r.stderr
