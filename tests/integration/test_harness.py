"""The harness itself, against plain Dovecot (no frontdesk module loaded):
these run before the plugin exists and tell a harness fault from a plugin
fault."""

import os
import smtplib
import time

import pytest

import fdtest
from fdtest import Dovecot, SmtpSink, make_message

A = "a@example.com"
B = "b@example.com"

B_SIEVE = """require ["fileinto", "mailbox", "imap4flags"];
if header :contains "subject" "[fileme]" {
  addflag ["foo", "$bar"];
  fileinto :create "Some Folder";
  stop;
}
if header :contains "subject" "[redirect]" {
  redirect "elsewhere@example.org";
}
"""


@pytest.fixture(scope="module")
def plain():
    with SmtpSink() as sink, Dovecot(
            load_frontdesk=False, sink=sink, name="plain",
            users={A: {"password": "secret-a", "frontdesk_enabled": "yes"},
                   B: "pw"},
            plugin_settings={"frontdesk_enabled": "no"},
            sieve={B: B_SIEVE}) as dc:
        yield dc


def test_config_without_module(plain):
    assert not plain.frontdesk_loaded
    with open(plain.conf) as f:
        lines = [l for l in f if "mail_plugins" in l]
    assert len(lines) == 2 and not any("frontdesk" in l for l in lines)
    assert len(os.path.join(plain.base_dir, "login", "imap")) < 100
    mods = os.listdir(plain.module_dir)
    assert "lib90_sieve_plugin.so" in mods
    assert fdtest.MODULE_NAME not in mods


def test_userdb_extra_field_reaches_user(plain):
    p = plain.doveadm("user", A, check=True)
    assert "frontdesk_enabled" in p.stdout and "yes" in p.stdout, p.stdout
    assert "home" in p.stdout


def test_lmtp_per_recipient_replies(plain):
    data, msgid = make_message("hello")
    res = plain.deliver_lmtp([A, "nobody@example.com", B], data)
    assert res.code(A) == 250 and res.code(B) == 250, res
    assert res.code("nobody@example.com") == 550
    assert not res.ok
    for user in (A, B):
        (msg,) = plain.find(user, msgid)
        assert msg.folder == "INBOX"
        assert msg.keywords == set()
        assert msg.header("Subject") == "hello"
        assert msg.header("X-Frontdesk-Need") is None


def test_lmtp_session_many_transactions(plain):
    before = plain.count(A, "INBOX")
    msgs = [make_message("batch %d" % i)[0] for i in range(5)]
    results = fdtest.deliver_many(plain, A, [(m, "") for m in msgs], batch=2)
    assert [r.code(A) for r in results] == [250] * 5
    assert plain.count(A, "INBOX") == before + 5


def test_lmtp_timestamps_and_processes(plain):
    """What bench/ measures with: DATA sent <= message written <= reply,
    and the instance's lmtp processes can be found."""
    data, msgid = make_message("timed", body="line\n.\n..two dots\n" * 50)
    with plain.lmtp() as s:
        res = s.send([A], data)
        assert res.code(A) == 250
        assert 0 < res.t_data <= res.t_end <= res.t_reply
        assert abs(res.elapsed - (res.t_reply - res.t_data)) < 1e-9
        lmtp = plain.processes("lmtp")
        assert lmtp and all(os.path.exists("/proc/%d" % p) for p in lmtp)
        assert plain.pid not in lmtp
    (msg,) = plain.find(A, msgid)
    assert msg.size > 50 * 15      # dot-stuffing undone, nothing lost


def test_lda(plain):
    data, msgid = make_message("via lda")
    p = plain.deliver_lda(A, data)
    assert p.returncode == 0, p.stderr
    (msg,) = plain.find(A, msgid)
    assert msg.folder == "INBOX"


def test_sieve_keywords_and_folders(plain):
    data, msgid = make_message("[fileme] please")
    assert plain.deliver_lmtp([B], data).code(B) == 250
    (msg,) = plain.find(B, msgid)
    assert msg.folder == "Some Folder"
    assert msg.keywords == {"foo", "$bar"}
    assert "\\Seen" not in msg.flags
    assert "Some Folder" in plain.list_folders(B)
    assert plain.count_all(B)["Some Folder"] >= 1


def test_sink_catches_sieve_redirect(plain):
    plain.sink.clear()
    data, msgid = make_message("[redirect] me")
    assert plain.deliver_lmtp([B], data).code(B) == 250
    (got,) = plain.sink.wait_for(1, timeout=10)
    assert got.rcpts == ["elsewhere@example.org"]
    assert got.message["Message-ID"] == msgid
    assert abs(got.time - time.time()) < 30


def test_sink_direct():
    with SmtpSink() as sink:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as s:
            s.sendmail("", ["x@example.org", "y@example.org"],
                       b"Subject: hi\r\n\r\n.dot line\r\nbody\r\n")
        (got,) = sink.wait_for(1)
    assert got.mail_from == ""
    assert got.rcpts == ["x@example.org", "y@example.org"]
    assert got.data == b"Subject: hi\r\n\r\n.dot line\r\nbody\r\n"


def test_empty_and_giant_message(plain):
    assert plain.deliver_lmtp([A], b"").code(A) == 250
    big, msgid = make_message("big", ("y" * 76 + "\n") * 400000)
    res = plain.deliver_lmtp([A], big)
    assert res.code(A) == 250
    (msg,) = plain.find(A, msgid)
    assert msg.size >= len(big) > 30 * 1000 * 1000


def test_corpus_through_plain_dovecot(plain):
    """Baseline for test_delivery's corpus test: Dovecot alone takes all."""
    corpus = fdtest.corpus_messages()
    if not corpus:
        pytest.skip("shared data not found at %s" % fdtest.SHARED_DATA)
    user = B
    before = sum(plain.count_all(user).values())
    messages = [(open(m.path, "rb").read(), m.mail_from) for m in corpus]
    results = fdtest.deliver_many(plain, user, messages)
    assert [m.path for m, r in zip(corpus, results) if r.code(user) != 250] == []
    assert sum(plain.count_all(user).values()) == before + len(corpus)


def test_stop_cleans_up():
    dc = Dovecot(load_frontdesk=False, users={A: "pw"}, name="stop")
    with dc:
        d, pid = dc.dir, dc.pid
        procs = [pid] + fdtest._descendants(pid)
        assert len(procs) > 1
    assert not os.path.exists(d)
    assert fdtest._wait_gone(procs, 0.1)
    assert dc not in fdtest.LIVE


def test_start_failure_cleans_up():
    dc = Dovecot(load_frontdesk=False, users={A: "pw"},
                 extra_conf="this_is_not_a_setting = 1\n", name="bad")
    with pytest.raises(RuntimeError, match="this_is_not_a_setting"):
        dc.start()
    assert dc.dir is None
    assert dc not in fdtest.LIVE


def test_missing_module_when_required():
    with pytest.raises(FileNotFoundError):
        Dovecot(module_path="/nonexistent/lib95_frontdesk_plugin.so",
                load_frontdesk=True)


def test_module_is_wired_from_mail_plugin_dir(tmp_path):
    """A stand-in module file is what lmtp tries to load (lmtp loads its
    mail_plugins at process start, so a bad module fails the start fast):
    proves the symlink + mail_plugins wiring."""
    fake = tmp_path / fdtest.MODULE_NAME
    fake.write_bytes(b"not an ELF file")
    dc = Dovecot(module_path=str(fake), load_frontdesk=True, users={A: "pw"},
                 name="wired")
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="Couldn't load required plugin "
                       ".*/modules/" + fdtest.MODULE_NAME):
        dc.start()
    assert time.monotonic() - t0 < 10
    assert dc.dir is None
