"""frontdesk-sender as a Dovecot service (conf.d/91-frontdesk-sender.conf):
the master starts and supervises it, deliveries tell it about their spool
and go on, and it keeps the acknowledgment guarantees when it is down,
restarted or killed in the middle of a send.  Without the service, a
delivery still starts a one-spool runner, and the cron runner works."""

import concurrent.futures
import email
import email.policy
import os
import signal
import socket
import subprocess
import time

import pytest

import fdtest
from fdtest import SmtpSink, make_message, free_port

SUPPORT = fdtest.ACK_SUPPORT
ACK_WAIT = 20.0


def instance(frontdesk_built, sink, name="svc", **kw):
    return fdtest.ack_instance(frontdesk_built, sink, name=name, **kw)


def deliver(dc, data, mail_from):
    res = dc.deliver_lmtp([SUPPORT], data, mail_from=mail_from)
    assert res.code(SUPPORT) == 250, res
    return res


def in_reply_to(sink_msgs):
    return [email.message_from_bytes(m.data, policy=email.policy.default)
            ["In-Reply-To"] for m in sink_msgs]


def settle(sink, count, timeout=ACK_WAIT, quiet=2.0):
    sink.wait_for(count, timeout=timeout)
    time.sleep(quiet)
    return sink.wait_for(0, timeout=0)


def conversations(tag, n):
    out = []
    for i in range(n):
        sender = "%s%d@example.org" % (tag, i)
        data, msgid = make_message("help %s %d" % (tag, i),
                                   "My invoice is wrong.\n", from_=sender)
        out.append((data, sender, msgid))
    return out


def service_pids(dc):
    # comm is cut to 15 characters: "frontdesk-sende"
    return dc.processes("frontdesk-sender"[:15])


def wait_service(dc, old=(), timeout=15):
    """The pid of the running service process (not one of old)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = [p for p in service_pids(dc) if p not in old]
        if pids:
            return pids[0]
        time.sleep(0.05)
    raise AssertionError("no frontdesk-sender service process")


def queue(dc):
    d = os.path.join(dc.home(SUPPORT), ".frontdesk", "spool", "queue")
    return os.listdir(d) if os.path.isdir(d) else []


def runner_pids(dc):
    """frontdesk-sender processes started for one spool (argv names it)."""
    service = set(service_pids(dc))
    return [p for p in fdtest._senders_of(dc.dir) if p not in service]


def test_service_runs_under_the_master_and_sends(frontdesk_built):
    with SmtpSink() as sink, instance(frontdesk_built, sink) as dc:
        pid = wait_service(dc)
        convs = conversations("svc", 5)
        for n, (data, sender, _) in enumerate(convs, 1):
            deliver(dc, data, sender)
            # one at a time: each ack finds the connection idle
            assert len(sink.wait_for(n, timeout=ACK_WAIT)) == n
        acks = settle(sink, 5)
        assert sorted(in_reply_to(acks)) == sorted(c[2] for c in convs)
        # one process, the master's child, sent them all: no runner was
        # forked, and it is the same process as before
        assert service_pids(dc) == [pid]
        assert runner_pids(dc) == []
        # over one reused connection, not one per ack
        assert sink.connections == 1, sink.connections
        st = dc.doveadm("service", "status", "frontdesk-sender")
        assert st.returncode == 0, st.stderr
        assert "frontdesk-sender" in st.stdout
        ps = dc.doveadm("process", "status", "frontdesk-sender")
        assert ps.returncode == 0, ps.stderr
        assert str(pid) in ps.stdout
        assert not dc.log_lines("Panic") and not dc.log_lines("Fatal")


def test_service_down_entries_wait_and_go_when_it_returns(frontdesk_built):
    """The service hangs (SIGSTOP): deliveries do not wait for it, the acks
    wait in the spool; it is killed and the master starts a new one, which
    sends each of them once."""
    with SmtpSink() as sink, instance(frontdesk_built, sink,
                                      name="down") as dc:
        pid = wait_service(dc)
        os.kill(pid, signal.SIGSTOP)
        try:
            convs = conversations("down", 4)
            for data, sender, _ in convs:
                assert deliver(dc, data, sender).elapsed < 1.0
            time.sleep(1.0)
            assert sink.wait_for(0, timeout=0) == []
            assert len(queue(dc)) == 4
        finally:
            os.kill(pid, signal.SIGKILL)
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass                # already reaped by the master
        assert fdtest._wait_gone([pid], 5)
        wait_service(dc, old=[pid])
        acks = settle(sink, 4)
        assert sorted(in_reply_to(acks)) == sorted(c[2] for c in convs)
        assert queue(dc) == []
        assert runner_pids(dc) == []


def test_service_restarted_while_acks_wait_for_the_relay(frontdesk_built):
    """Relay down, acks waiting for their retry; `doveadm service stop`
    stops the service and `doveadm reload` starts a new one, which no
    delivery tells about anything: it finds the waiting acks in its
    registry and sends each once when the relay is back."""
    port = free_port()
    sink = SmtpSink(port=port)
    with instance(frontdesk_built, port, name="restart") as dc:
        pid = wait_service(dc)
        convs = conversations("rs", 3)
        for data, sender, _ in convs:
            assert deliver(dc, data, sender).elapsed < 1.0
        assert dc.wait_log("not sent (attempt 1)", count=3, timeout=15)
        res = dc.doveadm("service", "stop", "frontdesk-sender")
        assert res.returncode == 0, res.stderr
        assert fdtest._wait_gone([pid], 10)
        assert len(queue(dc)) == 3
        res = dc.doveadm("reload")
        assert res.returncode == 0, res.stderr
        wait_service(dc, old=[pid])
        sink.start()
        try:
            acks = settle(sink, 3, timeout=40)
        finally:
            sink.stop()
        assert sorted(in_reply_to(acks)) == sorted(c[2] for c in convs)
        assert queue(dc) == []


def test_service_killed_mid_send(frontdesk_built):
    """SIGKILL while the relay has the MAIL command of every ack and has
    accepted none: the next service process sends each once (at least
    once, and here never twice: nothing had been accepted)."""
    with SmtpSink(mail_delay=3.0) as sink, instance(
            frontdesk_built, sink, name="kill9") as dc:
        pid = wait_service(dc)
        convs = conversations("k9", 3)
        for data, sender, _ in convs:
            deliver(dc, data, sender)
        assert sink.wait_mail_commands(1, timeout=10)
        os.kill(pid, signal.SIGKILL)
        sink.mail_delay = 0.0
        assert fdtest._wait_gone([pid], 5)
        wait_service(dc, old=[pid])
        acks = settle(sink, 3, timeout=40, quiet=4.0)
        assert sorted(in_reply_to(acks)) == sorted(c[2] for c in convs)
        assert queue(dc) == []


def test_four_clients_no_duplicate_no_missing(frontdesk_built):
    msgs = conversations("four", 80)
    with SmtpSink() as sink, instance(frontdesk_built, sink,
                                      name="four") as dc:
        def client(k):
            with dc.lmtp() as s:
                for data, sender, _ in msgs[k::4]:
                    assert s.send([SUPPORT], data, sender).code(SUPPORT) \
                        == 250
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            list(ex.map(client, range(4)))
        acks = settle(sink, len(msgs), timeout=60)
        replies = in_reply_to(acks)
        assert len(replies) == len(set(replies)), "duplicate acks"
        assert sorted(replies) == sorted(m[2] for m in msgs)
        # a bounded pool of reused connections
        assert sink.connections <= 4, sink.connections


def test_service_refuses_a_spool_it_does_not_own(frontdesk_built, tmp_path):
    """Anyone who can write to the socket can only name spools of the
    service's user: a spool owned by root is refused and logged, and
    nothing in it is sent."""
    with SmtpSink() as sink, instance(frontdesk_built, sink,
                                      name="refuse") as dc:
        wait_service(dc)
        # a real entry first, so the spool format is right
        data, _ = make_message("help", "My invoice is wrong.\n",
                               from_="own@example.org")
        deliver(dc, data, "own@example.org")
        settle(sink, 1)
        sink.clear()
        spool = os.path.join(dc.dir, "foreign", "spool")
        for sub in ("tmp", "queue", "failed", "spare"):
            os.makedirs(os.path.join(spool, sub), mode=0o700)
        os.chmod(os.path.join(dc.dir, "foreign"), 0o755)
        os.chmod(spool, 0o755)
        entry = ("frontdesk-spool 1\ncreated %d\nexpires %d\nnext 0\n"
                 "attempts 0\nfrom \nrcpt victim@example.org\nticket X\n"
                 "hostname h\nsubmission_host 127.0.0.1:%d\n"
                 "sendmail_path \nsubmission_timeout 5\nlast_error \n\n"
                 "Subject: spam\n\nspam\n" % (time.time(), time.time() + 99,
                                              sink.port))
        with open(os.path.join(spool, "queue", "1.X.1"), "w") as f:
            f.write(entry)
        mark = dc.log_mark()
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(os.path.join(dc.base_dir, "frontdesk-sender"))
            s.sendall(("SPOOL\t%s\n" % spool).encode())
        assert dc.wait_log("spool", spool, "refused", since=mark)
        time.sleep(1.0)
        assert sink.wait_for(0, timeout=0) == []


def test_without_the_service_a_runner_sends(frontdesk_built):
    """No service configured: the delivery starts a runner for its spool,
    as before the service existed."""
    with SmtpSink() as sink, instance(frontdesk_built, sink, name="nosvc",
                                      sender_service=False) as dc:
        assert service_pids(dc) == []
        convs = conversations("ns", 3)
        for data, sender, _ in convs:
            deliver(dc, data, sender)
        acks = settle(sink, 3)
        assert sorted(in_reply_to(acks)) == sorted(c[2] for c in convs)


def test_socket_of_another_user_a_runner_sends(frontdesk_built):
    """The service's socket is not the delivering user's (a mailbox of
    another uid than the service's): the delivery cannot tell the service
    and starts a runner for its spool instead of leaving the ack waiting."""
    with SmtpSink() as sink, instance(frontdesk_built, sink, name="eacces",
                                      sender_socket_user="root") as dc:
        wait_service(dc)
        convs = conversations("ea", 2)
        for data, sender, _ in convs:
            deliver(dc, data, sender)
        acks = settle(sink, 2)
        assert sorted(in_reply_to(acks)) == sorted(c[2] for c in convs)


def test_cron_runner_flushes_a_spool(frontdesk_built):
    """Neither service nor runner could start (no sender installed where
    the plugin looks): `frontdesk-sender -w 0 SPOOL` from cron sends what
    waits, once, and leaves."""
    with SmtpSink() as sink, instance(
            frontdesk_built, sink, name="cron", sender_service=False,
            settings={"frontdesk_sender_path": "/nonexistent/sender"}) as dc:
        convs = conversations("cron", 3)
        for data, sender, _ in convs:
            deliver(dc, data, sender)
        time.sleep(1.0)
        assert sink.wait_for(0, timeout=0) == []
        assert len(queue(dc)) == 3
        spool = os.path.join(dc.home(SUPPORT), ".frontdesk", "spool")
        p = subprocess.run(
            ["setpriv", "--reuid", str(dc.uid), "--regid", str(dc.gid),
             "--clear-groups", dc.sender_path, "-w", "0", spool],
            capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        acks = settle(sink, 3, quiet=1.0)
        assert sorted(in_reply_to(acks)) == sorted(c[2] for c in convs)
        assert queue(dc) == []


def test_relay_back_waiting_acks_go_with_the_next_one(frontdesk_built):
    """Relay down: an ack fails twice and waits 10 s for its third try.
    When the relay is back, the next ack that goes through takes the
    waiting one along, instead of leaving it to wait out its backoff;
    each is sent once."""
    port = free_port()
    sink = SmtpSink(port=port)
    with instance(frontdesk_built, port, name="back") as dc:
        wait_service(dc)
        (a, b) = conversations("back", 2)
        deliver(dc, a[0], a[1])
        assert dc.wait_log("not sent (attempt 2)", timeout=20)
        sink.start()
        try:
            t0 = time.monotonic()
            deliver(dc, b[0], b[1])
            msgs = sink.wait_for(2, timeout=8)
            took = time.monotonic() - t0
            assert sorted(in_reply_to(msgs)) == sorted([a[2], b[2]])
            assert took < 3.0, "the waiting ack took %.1f s" % took
            assert sorted(in_reply_to(settle(sink, 2))) == \
                sorted([a[2], b[2]])
            assert queue(dc) == []
        finally:
            sink.stop()
