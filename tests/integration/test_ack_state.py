"""The acknowledgment when its surroundings are not as expected: a
recipient without a domain, a template or spool that fails, a hung state
store, a home that does not exist yet.  Whatever happens, the mail is
stored once, delivery is not held up, and once the fault is gone every
conversation gets exactly one acknowledgment."""

import email
import email.policy
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

import fdtest
from fdtest import SmtpSink, make_message, free_port

SUPPORT = "support@example.com"
ON = {"frontdesk_enabled": "yes"}
BASE = fdtest.ACK_BASE
ACK_WAIT = 15.0
CRASH = ("Fatal", "Panic", "killed with signal")


def instance(frontdesk_built, sink, settings=None, users=None, name="st",
             base=BASE, **kw):
    return fdtest.ack_instance(frontdesk_built, sink, settings, users, name,
                               base, use_sieve=False, **kw)


def parse(sink_msg):
    return email.message_from_bytes(sink_msg.data, policy=email.policy.default)


def settle(sink, count, quiet=1.5, timeout=ACK_WAIT):
    """Wait for count acks, then a little more to catch any extra one."""
    sink.wait_for(count, timeout=timeout)
    time.sleep(quiet)
    return sink.wait_for(0, timeout=0)


def no_crash(dc):
    log = dc.log()
    for word in CRASH:
        assert word not in log, word


@pytest.fixture
def sink():
    with SmtpSink() as s:
        yield s


# ---- a recipient without a domain (issue 10, defect 2) ----------------------

@pytest.mark.parametrize("via", ["lmtp", "lda"])
def test_recipient_without_domain(frontdesk_built, sink, via):
    """A userdb name without '@' and no frontdesk_addresses: the ack comes
    from the name qualified with the domain of Dovecot's hostname (as Sieve
    vacation does), and nothing crashes."""
    with instance(frontdesk_built, sink, users={"support": dict(ON)},
                  base={"frontdesk_timezone": "UTC"}, name="nodom") as dc:
        data, msgid = make_message("Invoice charged twice",
                                   "My invoice was charged twice.\n",
                                   from_="ann@example.org", to="support")
        if via == "lmtp":
            res = dc.deliver_lmtp(["support"], data,
                                  mail_from="ann@example.org")
            assert res.code("support") == 250, res
        else:
            # dovecot-lda makes the recipient user@hostname by itself;
            # -a gives it as the MTA does (e.g. Postfix's ${recipient})
            p = subprocess.run([fdtest.DOVECOT_LDA, "-c", dc.conf, "-d",
                                "support", "-a", "support", "-f",
                                "ann@example.org"], input=data,
                               capture_output=True, timeout=60)
            assert p.returncode == 0, p.stderr
        assert len(dc.find("support", msgid)) == 1
        assert dc.wait_log("ack=queued")
        acks = settle(sink, 1)
        no_crash(dc)
    assert len(acks) == 1
    ack = parse(acks[0])
    assert acks[0].rcpts == ["ann@example.org"]
    assert ack["From"].addresses[0].addr_spec == "support@fdtest.example"
    assert ack["Message-ID"].endswith("@fdtest.example>")
    assert ack["In-Reply-To"] == msgid


# ---- no ack queued, no conversation marked (issue 10, defect 4) -------------

def redis_or_skip():
    redis = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(redis):
        if os.environ.get("FDTEST_REQUIRE_PLUGIN"):
            pytest.fail("redis-server missing: scripts/ensure-deps installs it")
        pytest.skip("redis-server not installed")
    return redis


class Redis:
    """A private redis-server on 127.0.0.1 (context manager)."""

    def __init__(self):
        self.binary = redis_or_skip()
        self.port = free_port()

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="fdredis")
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", self.dir, "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        return self

    @property
    def uri(self):
        return "redis:host=127.0.0.1:port=%d" % self.port

    def stop_answering(self):
        """Hung: connections are accepted (by the kernel), nothing answers."""
        self.proc.send_signal(signal.SIGSTOP)

    def answer_again(self):
        self.proc.send_signal(signal.SIGCONT)

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGCONT)
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def store_settings(backend, redis):
    return {"frontdesk_ack_dict": redis.uri} if backend == "redis" else {}


def conversation(n, sender):
    """Mail n of one conversation: the first, then replies in its thread."""
    root = "<root-%s@example.org>" % sender.split("@")[0]
    headers = {} if n == 0 else {"In-Reply-To": root, "References": root}
    return make_message("Invoice charged twice" if n == 0 else
                        "Re: Invoice charged twice",
                        "My invoice was charged twice, please refund.\n"
                        if n == 0 else "Any news about my refund?\n",
                        from_=sender, msgid=root if n == 0 else None,
                        headers=headers)


def deliver_ok(dc, data, sender, rcpt=SUPPORT):
    res = dc.deliver_lmtp([rcpt], data, mail_from=sender)
    assert res.code(rcpt) == 250, res
    return res


BROKEN_TEMPLATE = "[subject]\n[{{ticket}}] {{no_such_variable}}\n"


def break_template(dc, lang):
    path = os.path.join(dc.plugin_settings["frontdesk_templates"],
                        "ack.%s.txt" % lang)
    with open(path, encoding="utf-8") as f:
        good = f.read()
    with open(path, "w", encoding="utf-8") as f:
        f.write(BROKEN_TEMPLATE)

    def repair():
        with open(path, "w", encoding="utf-8") as f:
            f.write(good)
        # a new mtime even within the same clock tick
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    return repair


def spool_queue(dc, user=SUPPORT):
    return os.path.join(dc.home(user), ".frontdesk", "spool", "queue")


@pytest.mark.parametrize("backend", ["files", "redis"])
@pytest.mark.parametrize("fault", ["broken-template", "unwritable-queue"])
def test_failed_ack_leaves_the_conversation_open(frontdesk_built, sink,
                                                 backend, fault):
    """The ack could not be queued: the conversation is not marked as
    acknowledged, and its next mail after the repair gets the one ack."""
    with Redis() as redis, instance(frontdesk_built, sink,
                                    store_settings(backend, redis),
                                    name="fail") as dc:
        # an earlier conversation made the spool
        first, _ = conversation(0, "early@example.org")
        deliver_ok(dc, first, "early@example.org")
        assert len(settle(sink, 1, quiet=0.5)) == 1
        sink.clear()

        if fault == "broken-template":
            repair = break_template(dc, "en")
        else:
            queue = spool_queue(dc)
            os.chmod(queue, 0o500)

            def repair():
                os.chmod(queue, 0o700)
        mark = dc.log_mark()
        data, msgid = conversation(0, "ann@example.org")
        deliver_ok(dc, data, "ann@example.org")
        assert dc.wait_log("ack=ack-error", since=mark)
        assert settle(sink, 0, quiet=1.0) == []

        repair()
        mark = dc.log_mark()
        again, again_id = conversation(1, "ann@example.org")
        deliver_ok(dc, again, "ann@example.org")
        acks = settle(sink, 1)
        assert dc.wait_log("ack=queued", since=mark)
        # and only one: a third mail of the conversation is a follow-up
        third, _ = conversation(2, "ann@example.org")
        deliver_ok(dc, third, "ann@example.org")
        assert dc.wait_log("ack=already-acked", since=mark)
        acks = settle(sink, 1)
        assert len(dc.find(SUPPORT, msgid)) == 1
        assert len(dc.find(SUPPORT, again_id)) == 1
        no_crash(dc)
    assert len(acks) == 1
    assert acks[0].rcpts == ["ann@example.org"]
    assert parse(acks[0])["In-Reply-To"] == again_id


def test_broken_template_falls_back_to_the_default_language(frontdesk_built,
                                                            sink):
    with instance(frontdesk_built, sink, name="tplfb") as dc:
        break_template(dc, "it")
        mark = dc.log_mark()
        data, msgid = make_message(
            "Fattura addebitata due volte",
            "Buongiorno, mi avete addebitato due volte la fattura di marzo. "
            "Vi prego di rimborsarmi l'importo.\nGrazie\n",
            from_="mario@example.it")
        deliver_ok(dc, data, "mario@example.it")
        acks = settle(sink, 1)
        assert dc.wait_log("Error:", "ack.it.txt", since=mark)
        assert dc.wait_log("lang=it", "ack=queued", since=mark)
        no_crash(dc)
    assert len(acks) == 1
    ack = parse(acks[0])
    assert ack["Content-Language"] == "en"
    assert ack["In-Reply-To"] == msgid


# ---- a hung Redis (issue 10, defect 5) -------------------------------------

# what the default frontdesk_state_timeout (500ms) lets a delivery take,
# with room for a loaded test machine
HUNG_BOUND = 1.5


def timed_delivery(dc, data, sender, rcpt=SUPPORT):
    """LMTP delivery that gives up after 10 s (a hung store used to hold a
    delivery for 60 s); the LmtpResult."""
    with dc.lmtp(timeout=10) as s:
        res = s.send([rcpt], data, sender)
    assert res.code(rcpt) == 250, res
    return res


def test_hung_redis_does_not_hold_delivery(frontdesk_built, sink):
    """Redis accepts connections and never answers (SIGSTOP): every
    delivery is answered within the bound, stored once, without an ack;
    once Redis answers again, each conversation gets exactly one ack."""
    senders = ["hung%d@example.org" % i for i in range(3)]
    with Redis() as redis, instance(frontdesk_built, sink,
                                    {"frontdesk_ack_dict": redis.uri},
                                    name="hung") as dc:
        data, _ = conversation(0, "early@example.org")
        timed_delivery(dc, data, "early@example.org")
        assert len(settle(sink, 1, quiet=0.5)) == 1
        sink.clear()

        redis.stop_answering()
        mark = dc.log_mark()
        stored = []
        for s in senders:
            data, msgid = conversation(0, s)
            res = timed_delivery(dc, data, s)
            assert res.elapsed < HUNG_BOUND, res.elapsed
            stored.append(msgid)
        assert len(dc.wait_log("ack=state-error", count=3, since=mark)) == 3
        assert dc.wait_log("ticket lookup failed", "no answer within", since=mark)
        assert settle(sink, 0, quiet=1.0) == []
        for msgid in stored:
            assert len(dc.find(SUPPORT, msgid)) == 1

        redis.answer_again()
        replies = []
        for s in senders:
            data, msgid = conversation(1, s)
            timed_delivery(dc, data, s)
            replies.append(msgid)
        acks = settle(sink, len(senders))
        for s in senders:
            data, _ = conversation(2, s)
            timed_delivery(dc, data, s)
        acks = settle(sink, len(senders))
        no_crash(dc)
    assert sorted(parse(a)["In-Reply-To"] for a in acks) == sorted(replies)


class StallingProxy:
    """A TCP proxy in front of a real Redis that, once armed, stops passing
    Redis's replies on as soon as a client sends `trigger`: the requests
    still run in Redis, their answers never come (a store that stalls in
    the middle of a delivery)."""

    def __init__(self, port, trigger=b"INCRBY"):
        self.upstream = port
        self.trigger = trigger
        self.armed = False
        self.stalled = False
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            up = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self._pump, args=(client, up, True),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(up, client, False),
                             daemon=True).start()

    def _pump(self, src, dst, from_client):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_client and self.armed and self.trigger in data:
                    self.stalled = True
                if not from_client and self.stalled:
                    continue            # the reply is lost
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @property
    def uri(self):
        return "redis:host=127.0.0.1:port=%d" % self.port

    def close(self):
        self.server.close()


def test_redis_stalling_at_the_claim_leaves_the_conversation_open(
        frontdesk_built, sink):
    """The claim reaches Redis but its answer does not come back: no ack
    now, and the conversation is not left claimed for ever."""
    with Redis() as redis:
        proxy = StallingProxy(redis.port)
        try:
            with instance(frontdesk_built, sink,
                          {"frontdesk_ack_dict": proxy.uri},
                          name="stall") as dc:
                data, _ = conversation(0, "early@example.org")
                timed_delivery(dc, data, "early@example.org")
                assert len(settle(sink, 1, quiet=0.5)) == 1
                sink.clear()

                proxy.armed = True
                mark = dc.log_mark()
                data, msgid = conversation(0, "ann@example.org")
                res = timed_delivery(dc, data, "ann@example.org")
                assert res.elapsed < HUNG_BOUND, res.elapsed
                assert proxy.stalled
                assert dc.wait_log("ack=state-error", since=mark)
                assert settle(sink, 0, quiet=1.0) == []

                proxy.armed = proxy.stalled = False
                again, again_id = conversation(1, "ann@example.org")
                timed_delivery(dc, again, "ann@example.org")
                acks = settle(sink, 1)
                third, _ = conversation(2, "ann@example.org")
                timed_delivery(dc, third, "ann@example.org")
                acks = settle(sink, 1)
                assert len(dc.find(SUPPORT, msgid)) == 1
                no_crash(dc)
        finally:
            proxy.close()
    assert [parse(a)["In-Reply-To"] for a in acks] == [again_id]


# ---- a support mailbox whose home does not exist yet (issue 10, defect 12) --

@pytest.mark.parametrize("where", ["home", "frontdesk_state_dir"])
def test_first_mail_of_a_new_mailbox_is_acknowledged(frontdesk_built, sink,
                                                     where):
    """mail_home = /var/vmail/%d/%n as the README sets it up: the first
    customer's mail arrives before the home exists, and gets its ack (the
    state in ~/.frontdesk, or in an admin's directory whose parents do not
    exist yet either)."""
    uid, gid = fdtest.ensure_mail_user()
    vmail = tempfile.mkdtemp(prefix="fdvm")
    os.chown(vmail, uid, gid)
    home = os.path.join(vmail, "example.com", "support")
    settings, state_dir = {}, os.path.join(home, ".frontdesk")
    if where == "frontdesk_state_dir":
        settings = {"frontdesk_state_dir": vmail + "/frontdesk/%d/%n"}
        state_dir = os.path.join(vmail, "frontdesk", "example.com", "support")
    try:
        users = {SUPPORT: dict(ON, home=vmail + "/%d/%n")}
        with instance(frontdesk_built, sink, settings, users=users,
                      name="newhome") as dc:
            assert not os.path.exists(os.path.dirname(home))
            data, msgid = make_message("Invoice charged twice",
                                       "My invoice was charged twice.\n",
                                       from_="first@example.org")
            deliver_ok(dc, data, "first@example.org")
            acks = settle(sink, 1)
            assert dc.wait_log("ack=queued")
            stored = dc.find(SUPPORT, msgid)
            assert len(stored) == 1
            assert stored[0].header("X-Frontdesk-Ticket")
            no_crash(dc)
        state = os.stat(state_dir)
        assert (state.st_uid, state.st_mode & 0o777) == (uid, 0o700)
        assert os.stat(home).st_uid == uid
    finally:
        shutil.rmtree(vmail, ignore_errors=True)
    assert len(acks) == 1
    assert parse(acks[0])["In-Reply-To"] == msgid
