"""The fault matrix (issue 10): a real private Dovecot delivers over LMTP
while one thing frontdesk depends on is broken: the model, a template, the
quota, the state directory, Redis, the relay, the sender.  For each fault:

- every mail is stored exactly once (or, with a full quota, refused and
  stored once when the MTA tries again),
- LMTP answers within LMTP_BOUND,
- a log line names the fault,
- once the fault is cleared and each customer writes again in the same
  thread, every conversation has exactly one acknowledgment.

Each test adds a row to a table (fault, stored, acks after recovery, LMTP
latency), printed at the end of the module and written to the file named
by FDTEST_FAULT_TABLE when set."""

import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import pytest

import fdtest
from fdtest import LmtpSession, SmtpSink, make_message, free_port

SUPPORT = "support@example.com"
ON = {"frontdesk_enabled": "yes"}
BASE = fdtest.ACK_BASE
# What a delivery may take while something is broken: the MTA must get its
# answer, and the next mail its turn.
LMTP_BOUND = 5.0
# The sender tries again 5 s after a failure, then 10 s later, ...
ACK_WAIT = 45.0
BODY = ("Hello,\nyou charged my credit card twice for the same invoice. "
        "Please refund the second payment.\nAnn\n")
QUOTA = {"quota": "count:User quota", "quota_vsizes": "yes",
         "quota_rule": "*:storage=1G"}
QUOTA_FULL = "*:bytes=100"


# ---- the table -----------------------------------------------------------------

ROWS = []


@pytest.fixture(scope="module", autouse=True)
def fault_table():
    yield ROWS
    if not ROWS:
        return
    lines = ["| fault | stored (copies per mail) | acks after recovery "
             "(per conversation) | LMTP latency (max) | LMTP reply | "
             "log line |", "|---|---|---|---|---|---|"]
    for r in ROWS:
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            r["fault"], r.get("stored", "-"), r.get("acks", "-"),
            r.get("latency", "-"), r.get("reply", "-"), r.get("log", "-")))
    table = "\n".join(lines)
    print("\n\nfault matrix\n" + table)
    path = os.environ.get("FDTEST_FAULT_TABLE")
    if path:
        with open(path, "a") as f:
            f.write(table + "\n")


# ---- conversations -------------------------------------------------------------

@dataclass
class Conversation:
    sender: str
    subject: str
    msgid: str
    data: bytes
    followups: list = field(default_factory=list)   # Message-IDs


def conversation(tag, i):
    tag = re.sub(r"[^a-z0-9]+", "-", tag.lower()).strip("-")
    sender = "%s-%d@example.org" % (tag, i)
    subject = "Invoice %s-%d charged twice" % (tag, i)
    data, msgid = make_message(subject, BODY, from_="Ann <%s>" % sender)
    return Conversation(sender, subject, msgid, data)


def followup(conv):
    """The customer writes again in the same thread."""
    data, msgid = make_message("Re: " + conv.subject, "Any news?\n",
                               from_="Ann <%s>" % conv.sender,
                               headers={"In-Reply-To": conv.msgid,
                                        "References": conv.msgid})
    conv.followups.append(msgid)
    return data


def lmtp_send(dc, data, sender, timeout=LMTP_BOUND + 10):
    """(reply code or None when no answer came, seconds)."""
    t0 = time.monotonic()
    try:
        with LmtpSession(dc.lmtp_port, timeout=timeout) as s:
            res = s.send([SUPPORT], data, sender)
        return res.code(SUPPORT), time.monotonic() - t0
    except (OSError, smtplib.SMTPException):
        return None, time.monotonic() - t0


def acks_of(msgs, conv):
    """The acknowledgments (sink messages) answering conv's thread."""
    ids = [conv.msgid] + conv.followups
    out = []
    for m in msgs:
        msg = m.message
        refs = " ".join(str(msg.get(h, "")) for h in ("In-Reply-To",
                                                      "References"))
        if msg.get("Auto-Submitted") and any(i in refs for i in ids):
            out.append(m)
    return out


def stored_copies(dc, conv):
    return len(dc.find(SUPPORT, conv.msgid))


def settle(sink, count, timeout=ACK_WAIT, quiet=3.0):
    sink.wait_for(count, timeout=timeout)
    time.sleep(quiet)
    return sink.wait_for(0, timeout=0)


# ---- one row of the matrix ----------------------------------------------------

@dataclass
class Fault:
    name: str
    inject: object              # callable(dc, sink)
    clear: object               # callable(dc, sink)
    needle: tuple               # words of the log line naming the fault
    reply: int = 250            # LMTP reply while the fault lasts
    stored: int = 1             # copies of each mail while it lasts
    mails: int = 3              # conversations started during the fault
    acked_during: bool = True   # acks queued during the fault get out
    log_wait: float = 10.0


def run_fault(dc, sink, fault):
    """Deliver before, during and after the fault; record the row; then
    assert what a customer, the MTA and the admin see (all of it is
    observed first, so the row is complete even when a check fails)."""
    row = {"fault": fault.name}
    ROWS.append(row)
    problems = []
    # the desk works: one conversation answered before the fault
    before = conversation(fault.name, 0)
    code, _ = lmtp_send(dc, before.data, before.sender)
    assert code == 250
    assert sink.wait_for(1, timeout=ACK_WAIT), "no ack before the fault"
    # and the sender is done with it (the relay has it before the sender
    # removes it from the queue)
    queue = os.path.join(dc.home(SUPPORT), ".frontdesk", "spool", "queue")
    deadline = time.monotonic() + 10
    while os.listdir(queue) and time.monotonic() < deadline:
        time.sleep(0.05)

    mark = dc.log_mark()
    fault.inject(dc, sink)
    convs, codes, secs = [], [], []
    try:
        for i in range(1, fault.mails + 1):
            c = conversation(fault.name, i)
            code, t = lmtp_send(dc, c.data, c.sender)
            convs.append(c)
            codes.append(code)
            secs.append(t)
        during = [stored_copies(dc, c) for c in convs]
        logged = dc.wait_log(*fault.needle, since=mark,
                             timeout=fault.log_wait)
    finally:
        fault.clear(dc, sink)
    row["latency"] = "%.2f s" % max(secs) + (
        "" if None not in codes else " (no answer)")
    row["reply"] = ", ".join(sorted({str(c) for c in codes}))
    row["log"] = "yes" if logged else "missing"
    if max(secs) > LMTP_BOUND:
        problems.append("LMTP answered after %r s" % secs)
    if codes != [fault.reply] * fault.mails:
        problems.append("LMTP replies %r" % codes)
    if during != [fault.stored] * fault.mails:
        problems.append("copies stored during the fault: %r" % during)
    if not logged:
        problems.append("no log line with %r:\n%s" % (fault.needle,
                                                       dc.log(mark)))

    # the MTA tries again what was not accepted; every customer writes
    # again in the thread; a new customer writes
    for c, code in zip(convs, codes):
        if code != 250:
            assert lmtp_send(dc, c.data, c.sender)[0] == 250
    for c in [before] + convs:
        assert lmtp_send(dc, followup(c), c.sender)[0] == 250
    after = conversation(fault.name, fault.mails + 1)
    assert lmtp_send(dc, after.data, after.sender)[0] == 250
    everyone = [before] + convs + [after]
    msgs = settle(sink, len(everyone) if fault.acked_during else 2)
    acks = [len(acks_of(msgs, c)) for c in everyone]
    stored = [stored_copies(dc, c) for c in everyone]
    row["stored"] = "%s during; %s after" % ("/".join(map(str, during)),
                                             "/".join(map(str, stored)))
    row["acks"] = "/".join(map(str, acks))
    if stored != [1] * len(everyone):
        problems.append("copies stored in the end: %r" % stored)
    if fault.acked_during:
        want = [1] * len(everyone)
    else:
        # given up for good during the fault (RFC 5321: a 5xx reply is
        # permanent), never sent twice; the desk answers again afterwards
        want = [1] + [0] * len(convs) + [1]
    if acks != want:
        problems.append("acks per conversation %r, want %r" % (acks, want))
    # the master reports a child killed by SIGKILL (only a test sends
    # one: test_sender_killed) as a Fatal line of that child
    log = "\n".join(l for l in dc.log().splitlines()
                    if "killed with signal 9" not in l)
    if "Panic" in log or "Fatal" in log:
        problems.append("crash in the log")
    assert not problems, "\n".join(problems)


def instance(frontdesk_built, sink, settings=None, users=None, name="fault",
             **kw):
    return fdtest.ack_instance(frontdesk_built, sink, settings, users, name,
                               **kw)


@pytest.fixture
def sink():
    with SmtpSink() as s:
        yield s


# ---- the model ----------------------------------------------------------------

def model_fault(kind):
    saved = {}

    def inject(dc, sink):
        path = dc.plugin_settings["frontdesk_model"]
        with open(path, "rb") as f:
            saved["data"] = f.read()
        data = {"corrupt": b"garbage \xff\xfe\x00 not a model\n",
                "empty": b"",
                "truncated": saved["data"][:len(saved["data"]) // 2]}[kind]
        with open(path, "wb") as f:
            f.write(data)
        saved["path"] = path

    def clear(dc, sink):
        with open(saved["path"], "wb") as f:
            f.write(saved["data"])
        # a second apart, so the model cache sees a change of mtime
        # even where the size matches
        os.utime(saved["path"], (time.time() + 1, time.time() + 1))
    return inject, clear


@pytest.mark.parametrize("kind", ["corrupt", "empty", "truncated"])
def test_model(frontdesk_built, sink, kind):
    inject, clear = model_fault(kind)
    with instance(frontdesk_built, sink, name="model") as dc:
        # an unusable model is an error naming the file; the mail is
        # delivered untagged to INBOX and not acknowledged
        run_fault(dc, sink, Fault(
            "model " + kind, inject, clear,
            ("Error", "frontdesk:", "model unusable", os.path.basename(
                dc.plugin_settings["frontdesk_model"]))))


# ---- a template ---------------------------------------------------------------

def test_broken_template(frontdesk_built, sink):
    saved = {}

    def inject(dc, sink):
        path = os.path.join(dc.plugin_settings["frontdesk_templates"],
                            "ack.en.txt")
        with open(path, "rb") as f:
            saved["data"] = f.read()
        with open(path, "wb") as f:
            f.write(saved["data"].replace(b"{{ticket}}", b"{{ticket", 1))
        saved["path"] = path

    def clear(dc, sink):
        with open(saved["path"], "wb") as f:
            f.write(saved["data"])
        os.utime(saved["path"], (time.time() + 1, time.time() + 1))

    with instance(frontdesk_built, sink, name="tpl") as dc:
        run_fault(dc, sink, Fault("broken template ack.en.txt", inject,
                                  clear, ("Error", "frontdesk:", "no ack",
                                          "ack.en.txt")))



# ---- quota --------------------------------------------------------------------

def test_quota_full(frontdesk_built, sink):
    def inject(dc, sink):
        dc.set_user_fields(SUPPORT, quota_rule=QUOTA_FULL)

    def clear(dc, sink):
        dc.set_user_fields(SUPPORT, quota_rule=None)

    with instance(frontdesk_built, sink, dict(QUOTA), name="quota",
                  mail_plugins=["quota"],
                  extra_conf="quota_full_tempfail = yes\n") as dc:
        run_fault(dc, sink, Fault(
            "quota full (quota_full_tempfail)", inject, clear,
            ("frontdesk", "over quota", "Quota exceeded"), reply=452,
            stored=0))
        assert not [l for l in dc.log_lines("frontdesk")
                    if "INBOX" in l and "failed" in l]


@pytest.mark.parametrize("sieve_mode", ["no-sieve", "keep"])
def test_quota_full_log_says_why(frontdesk_built, sink, sieve_mode):
    """Over quota, Dovecot refuses the mail (552): frontdesk's line gives
    the reason and claims no delivery to INBOX that did not happen."""
    with instance(frontdesk_built, sink, dict(QUOTA), name="q552",
                  users={SUPPORT: dict(ON, quota_rule=QUOTA_FULL)},
                  mail_plugins=["quota"], sieve_mode=sieve_mode) as dc:
        mark = dc.log_mark()
        c = conversation("q552", 1)
        code, secs = lmtp_send(dc, c.data, c.sender)
        assert code == 552 and secs <= LMTP_BOUND, (code, secs)
        assert stored_copies(dc, c) == 0
        lines = dc.wait_log("frontdesk:", "Quota exceeded", since=mark)
        assert len(lines) == 1, dc.log(mark)
        assert "not stored" in lines[0] and "BackOffice" in lines[0]
        assert not [l for l in dc.log_lines("frontdesk", since=mark)
                    if "INBOX" in l], dc.log(mark)
        info = dc.wait_log("frontdesk:", "msgid=" + c.msgid, since=mark)
        assert len(info) == 1, dc.log(mark)
        assert " folder=none " in info[0] and " ack=not-stored " in info[0]
        assert settle(sink, 0, quiet=1.5) == []


# ---- the state directory --------------------------------------------------------

def test_state_dir_unwritable(frontdesk_built, sink):
    saved = []

    def inject(dc, sink):
        top = os.path.join(dc.home(SUPPORT), ".frontdesk")
        for root, dirs, files in os.walk(top):
            for p in [root] + [os.path.join(root, f) for f in files]:
                saved.append((p, os.stat(p).st_mode & 0o7777))
        for p, mode in saved:
            os.chmod(p, mode & ~0o222)

    def clear(dc, sink):
        for p, mode in reversed(saved):
            os.chmod(p, mode)

    with instance(frontdesk_built, sink, name="state") as dc:
        run_fault(dc, sink, Fault("state dir unwritable", inject, clear,
                                  ("Error", "frontdesk:", ".frontdesk/",
                                   "Permission denied")))


# ---- Redis --------------------------------------------------------------------

class Redis:
    """A real redis-server on 127.0.0.1 that keeps its data across a
    restart (append-only file), as a production one does."""

    def __init__(self):
        self.bin = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="fdredis")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [self.bin, "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", self.dir, "--save", "", "--appendonly", "yes",
             "--appendfsync", "always"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def redis():
    r = Redis()
    if not os.path.exists(r.bin):
        if os.environ.get("FDTEST_REQUIRE_PLUGIN"):
            pytest.fail("redis-server missing: scripts/ensure-deps "
                        "installs it")
        pytest.skip("redis-server not installed")
    r.start()
    yield r
    r.close()


def redis_settings(r):
    return {"frontdesk_ack_dict": "redis:host=127.0.0.1:port=%d" % r.port}


def test_redis_down(frontdesk_built, sink, redis):
    with instance(frontdesk_built, sink, redis_settings(redis),
                  name="rdown") as dc:
        run_fault(dc, sink, Fault(
            "Redis down", lambda dc, sink: redis.stop(),
            lambda dc, sink: redis.start(),
            ("Error", "frontdesk:", "redis", "Connection refused")))


def test_redis_hung(frontdesk_built, sink, redis):
    with instance(frontdesk_built, sink, redis_settings(redis),
                  name="rhung") as dc:
        run_fault(dc, sink, Fault(
            "Redis hung (SIGSTOP)",
            lambda dc, sink: redis.proc.send_signal(signal.SIGSTOP),
            lambda dc, sink: redis.proc.send_signal(signal.SIGCONT),
            ("Error", "frontdesk:", "redis", "no answer within"), mails=1))


# ---- the relay and the sender ---------------------------------------------------

def relay_fault(attr, value, needle, **kw):
    def inject(dc, sink):
        setattr(sink, attr, value)

    def clear(dc, sink):
        setattr(sink, attr, {"code": 250, "close_in_data": False}[attr])
    return dict(inject=inject, clear=clear, needle=needle, **kw)


@pytest.mark.parametrize("name,fault", [
    ("relay 451", relay_fault("code", 451, ("not sent (attempt 1)",
                                            "451"))),
    ("relay 554", relay_fault("code", 554, ("given up", "554"),
                              acked_during=False)),
    ("relay closes mid-DATA", relay_fault("close_in_data", True,
                                          ("not sent (attempt 1)",))),
], ids=["4xx", "5xx", "mid-DATA"])
def test_relay(frontdesk_built, sink, name, fault):
    with instance(frontdesk_built, sink, name="relay") as dc:
        run_fault(dc, sink, Fault(name, **fault))


def test_sender_killed(frontdesk_built):
    """The relay is down, the sender waits to try again, and is killed:
    the acks stay in the spool until the master has started the service
    again (and the relay is back)."""
    port = free_port()
    state = {}

    def inject(dc, sink):
        sink.stop()                      # the relay goes away

    def clear(dc, sink):
        # every queued ack waits for its second attempt: kill the sender
        assert dc.wait_log("not sent (attempt 1)", count=3, timeout=15)
        pids = fdtest._senders_of(dc.dir)
        assert pids, "no frontdesk-sender running"
        for p in pids:
            os.kill(p, signal.SIGKILL)
        assert fdtest._wait_gone(pids, 5)
        state["killed"] = len(pids)
        sink.port = port
        sink.start()                     # the relay is back

    sink = SmtpSink(port=port).start()
    try:
        with instance(frontdesk_built, sink, name="kill") as dc:
            # nothing logs a SIGKILL: the line is the sender's, waiting
            # to try again when it was killed
            run_fault(dc, sink, Fault("sender killed", inject, clear,
                                      ("frontdesk-sender", "not sent")))
    finally:
        sink.stop()
    assert state["killed"] >= 1
