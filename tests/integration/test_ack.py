"""The acknowledgment, end to end: a real Dovecot delivers, frontdesk queues
the ack, frontdesk-sender submits it to an SMTP sink on 127.0.0.1, and the
tests read it back as the customer's mail client would."""

import concurrent.futures
import email
import email.header
import email.policy
import email.utils
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from fdtest import (Dovecot, SmtpSink, SHARED_DATA, DKIM_DATA, SIEVE_MODES,
                    make_message, free_port, unfold)

SUPPORT = "support@example.com"
ON = {"frontdesk_enabled": "yes"}
BASE = {"frontdesk_addresses": SUPPORT + " help@example.com",
        "frontdesk_company": "Example Support",
        "frontdesk_timezone": "UTC",
        # the tests send more than a small desk's default allows
        "frontdesk_ack_global_limit": "100000",
        "frontdesk_ack_sender_limit": "1000"}
ACK_WAIT = 15.0


def instance(frontdesk_built, sink, settings=None, users=None, name="ack",
             sieve_mode="no-sieve", sieve=None):
    """An instance for the ack tests; "no-sieve" does not even load Sieve,
    the other SIEVE_MODES let Pigeonhole store the mail."""
    module, model = frontdesk_built
    ps = dict(BASE, frontdesk_model=model)
    ps.update(settings or {})
    return Dovecot(module_path=module, load_frontdesk=True,
                   users=users or {SUPPORT: dict(ON)}, plugin_settings=ps,
                   sink=sink, use_sieve=sieve is not None, sieve=sieve,
                   sieve_mode=sieve_mode, name=name)


def parse(sink_msg):
    return email.message_from_bytes(sink_msg.data, policy=email.policy.default)


def text_of(msg, subtype="plain"):
    for part in msg.walk():
        if part.get_content_type() == "text/" + subtype:
            return part.get_content()
    return None


def ticket_of(ack):
    m = re.search(r"\[(FD-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})\]",
                  str(ack["Subject"]))
    return m.group(1) if m else None


def settle(sink, count, quiet=1.5, timeout=ACK_WAIT):
    """Wait for count acks, then a little more to catch any extra one."""
    msgs = sink.wait_for(count, timeout=timeout)
    time.sleep(quiet)
    return sink.wait_for(0, timeout=0)


def deliver(dc, data, mail_from, rcpt=SUPPORT):
    res = dc.deliver_lmtp([rcpt], data, mail_from=mail_from)
    assert res.code(rcpt) == 250, res
    return res


@pytest.fixture(scope="module")
def sink():
    with SmtpSink() as s:
        yield s


@pytest.fixture(scope="module", params=list(SIEVE_MODES))
def dc(frontdesk_built, sink, request):
    """The shared instance, once without Sieve and once with each Sieve
    setup: the ack must not depend on who stores the mail."""
    with instance(frontdesk_built, sink, name="ack",
                  sieve_mode=request.param) as inst:
        yield inst


@pytest.fixture
def fresh(sink):
    sink.clear()
    return sink


# ---- what the customer receives -------------------------------------------

def test_ack_content_and_headers(dc, fresh):
    data, msgid = make_message(
        "Invoice 2024-117 charged twice",
        "Hello,\nyou charged my credit card twice for invoice 2024-117. "
        "Please refund the second payment.\nJane\n",
        from_="=?utf-8?q?Jane_M=C3=BCller?= <jane@example.org>",
        headers={"References": "<root@example.org>"})
    deliver(dc, data, "jane@example.org")
    delivered = time.time()
    acks = settle(fresh, 1)
    assert len(acks) == 1
    a = acks[0]
    assert a.mail_from == ""                      # null return path
    assert a.rcpts == ["jane@example.org"]
    ack = parse(a)
    assert ack["From"].addresses[0].addr_spec == SUPPORT
    assert ack["From"].addresses[0].display_name == "Example Support"
    assert ack["To"].addresses[0].display_name == "Jane Müller"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["X-Auto-Response-Suppress"] == "All"
    assert ack["In-Reply-To"] == msgid
    assert unfold(ack["References"]) == "<root@example.org> " + msgid
    assert ack["Content-Language"] == "en"
    assert ack["Message-ID"].startswith("<frontdesk.")
    assert ack["Message-ID"].endswith("@example.com>")
    assert ack["Date"] is not None and ack["MIME-Version"] == "1.0"
    assert ack.get_content_type() == "multipart/alternative"
    ticket = ticket_of(ack)
    assert ticket and "Invoice 2024-117 charged twice" in str(ack["Subject"])
    text = text_of(ack)
    assert text.startswith("Dear Jane Müller,")
    assert "invoice or a payment" in text          # the understood need
    assert "specialist team" in text               # who
    assert re.search(r"\bby (\w+ )?\d\d:\d\d|by tomorrow at \d\d:\d\d", text)
    assert ticket in text
    html = text_of(ack, "html")
    assert "<strong>%s</strong>" % ticket in html
    # the stored message carries the same ticket
    stored = dc.find(SUPPORT, msgid)
    assert len(stored) == 1
    assert stored[0].header("X-Frontdesk-Ticket") == ticket
    # within seconds of the end of DATA
    assert a.time - delivered < 5.0


def test_header_injection_in_name_and_subject(dc, fresh):
    data, _ = make_message(
        "=?utf-8?q?Hi=0D=0ABcc:_victim@example.net?=", "I need help with my invoice.\n",
        from_='"Eve\\r\\nBcc: victim@example.net" <eve@example.org>')
    deliver(dc, data, "eve@example.org")
    acks = settle(fresh, 1)
    assert len(acks) == 1
    raw = acks[0].data
    assert b"\nBcc:" not in raw and b"\nbcc:" not in raw
    ack = parse(acks[0])
    assert ack["Bcc"] is None
    assert ack["To"].addresses[0].display_name == ""
    assert text_of(ack).startswith("Hello,")


def test_language_follows_the_customer(dc, fresh):
    cases = [
        ("de", "Rechnung doppelt abgebucht", "Guten Tag, Sie haben meine "
         "Rechnung doppelt abgebucht. Bitte erstatten Sie den Betrag.\n",
         "Rechnung"),
        ("fr", "Facture en double", "Bonjour, vous avez débité deux fois ma "
         "facture de mars. Merci de me rembourser.\n", "facture"),
        ("es", "Factura duplicada", "Hola, me han cobrado dos veces la "
         "factura de marzo. ¿Pueden devolverme el importe?\n", "factura"),
        ("pt", "Fatura em duplicado", "Bom dia, cobraram duas vezes a minha "
         "fatura de março. Podem devolver o valor?\n", "fatura"),
    ]
    for i, (lang, subj, body, word) in enumerate(cases):
        fresh.clear()
        data, _ = make_message(subj, body, from_="c%d@example.net" % i)
        deliver(dc, data, "c%d@example.net" % i)
        acks = settle(fresh, 1, quiet=0.3)
        assert len(acks) == 1, lang
        ack = parse(acks[0])
        assert ack["Content-Language"] == lang
        assert word in text_of(ack), (lang, text_of(ack))


# ---- one ack and one log line per delivery, whoever stores the mail --------

def frontdesk_lines(dc, msgid, since):
    """frontdesk's per-delivery log lines about msgid."""
    return [l for l in dc.log_lines("frontdesk:", " ack=", since=since)
            if "msgid=" + msgid in l]


@pytest.mark.parametrize("via", ["lmtp", "lda"])
def test_one_ack_and_one_log_line_per_delivery(dc, fresh, via):
    mark = dc.log_mark()
    sender = "once-%s@example.org" % via
    data, msgid = make_message("Invoice 88 charged twice",
                               "Hello,\nyou charged my card twice for "
                               "invoice 88. Please refund one payment.\n",
                               from_=sender)
    if via == "lmtp":
        deliver(dc, data, sender)
    else:
        p = dc.deliver_lda(SUPPORT, data, mail_from=sender)
        assert p.returncode == 0, p.stderr
    acks = settle(fresh, 1)
    assert [parse(a)["In-Reply-To"] for a in acks] == [msgid]
    assert len(dc.find(SUPPORT, msgid)) == 1
    dc.wait_log("msgid=" + msgid, since=mark)
    lines = frontdesk_lines(dc, msgid, mark)
    assert len(lines) == 1, dc.log(mark)
    assert " ack=queued " in lines[0], lines[0]


COPIES_SCRIPT = """require ["fileinto", "mailbox", "copy"];
if header :contains "subject" "[copies]" {
  fileinto :copy :create "Copies";
  fileinto :create "Tickets";
  keep;
  stop;
}
if header :contains "subject" "[discard]" {
  discard;
  stop;
}
"""


def test_sieve_copies_one_ack_discard_none(frontdesk_built, sink):
    """Three copies stored by Sieve are one delivery: one ack, one log
    line naming every folder. A discarded mail is not stored: no ack, and
    the line says so."""
    sink.clear()
    with instance(frontdesk_built, sink, sieve={SUPPORT: COPIES_SCRIPT},
                  name="copies") as dc:
        mark = dc.log_mark()
        data, msgid = make_message("[copies] Router broken",
                                   "My router does not work.\n",
                                   from_="copies@example.org")
        deliver(dc, data, "copies@example.org")
        acks = settle(sink, 1)
        assert [parse(a)["In-Reply-To"] for a in acks] == [msgid]
        stored = dc.find(SUPPORT, msgid)
        assert sorted(m.folder for m in stored) == ["BackOffice", "Copies",
                                                    "Tickets"]
        assert len({m.header("X-Frontdesk-Ticket") for m in stored}) == 1
        dc.wait_log("msgid=" + msgid, since=mark)
        lines = frontdesk_lines(dc, msgid, mark)
        assert len(lines) == 1, dc.log(mark)
        assert " ack=queued " in lines[0], lines[0]
        for folder in ("BackOffice", "Copies", "Tickets"):
            assert folder in lines[0].split(" folder=")[1].split(" ")[0]

        sink.clear()
        mark = dc.log_mark()
        data, msgid = make_message("[discard] Router broken",
                                   "My router does not work.\n",
                                   from_="discard@example.org")
        deliver(dc, data, "discard@example.org")
        assert settle(sink, 0, quiet=2.0) == []
        assert dc.find(SUPPORT, msgid) == []
        dc.wait_log("msgid=" + msgid, since=mark)
        lines = frontdesk_lines(dc, msgid, mark)
        assert len(lines) == 1, dc.log(mark)
        assert " folder=none " in lines[0] and " ack=not-stored " in lines[0]


# ---- never twice, never to a machine ----------------------------------------

def test_followup_by_subject_and_reply_is_not_acked(dc, fresh):
    data, msgid = make_message("Router broken", "My router does not work "
                               "since yesterday, the light blinks red.\n",
                               from_="bob@example.org")
    deliver(dc, data, "bob@example.org")
    ack = parse(settle(fresh, 1)[0])
    ticket = ticket_of(ack)
    first = dc.find(SUPPORT, msgid)[0]
    fresh.clear()
    mark = dc.log_mark()
    # 1. the customer replies to our ack
    reply, rid = make_message("Re: " + str(ack["Subject"]),
                              "Here is a photo of the lights.\n",
                              from_="bob@example.org",
                              headers={"In-Reply-To": ack["Message-ID"],
                                       "References": msgid + " " +
                                       ack["Message-ID"]})
    deliver(dc, reply, "bob@example.org")
    # 2. a new mail quoting the reference in the subject, lowercased
    again, aid = make_message("about %s" % ticket.lower(),
                              "Any news? Also, what are your prices?\n",
                              from_="bob@example.org")
    deliver(dc, again, "bob@example.org")
    # 3. a forged reference is not a follow-up
    forged = ticket[:-1] + ("A" if ticket[-1] != "A" else "B")
    new, nid = make_message("[%s] new question" % forged,
                            "I would like a quote for 10 licences.\n",
                            from_="carol@example.org")
    deliver(dc, new, "carol@example.org")
    acks = settle(fresh, 1)
    assert [a.rcpts for a in acks] == [["carol@example.org"]]
    for mid in (rid, aid):
        s = dc.find(SUPPORT, mid)[0]
        assert s.header("X-Frontdesk-Ticket") == ticket + " (follow-up)"
        assert s.folder == first.folder        # filed with its ticket
        assert "followup" in s.keywords
    assert ticket_of(parse(acks[0])) != ticket
    assert dc.wait_log("ack=follow-up", count=2, since=mark)


def test_customer_writing_again_in_the_same_thread(dc, fresh):
    data, msgid = make_message("Order 5512 not arrived",
                               "My parcel for order 5512 has not arrived.\n",
                               from_="dan@example.org")
    deliver(dc, data, "dan@example.org")
    settle(fresh, 1)
    fresh.clear()
    again, _ = make_message("Re: Order 5512 not arrived",
                            "Forgot to say: tracking shows nothing.\n",
                            from_="dan@example.org",
                            headers={"In-Reply-To": msgid,
                                     "References": msgid})
    deliver(dc, again, "dan@example.org")
    # the same message delivered twice (an MTA retry) is one conversation
    deliver(dc, data, "dan@example.org")
    assert settle(fresh, 0, quiet=2.0) == []


MACHINE = [
    ("null-sender", "", {}),
    ("auto-submitted", "robot@example.org", {"Auto-Submitted": "auto-generated"}),
    ("auto-submitted", "robot@example.org", {"Auto-Submitted": "auto-notified"}),
    ("list-header", "list@example.org", {"List-Id": "<news.example.org>"}),
    ("precedence", "bulk@example.org", {"Precedence": "bulk"}),
    ("auto-response-suppress", "ex@example.org",
     {"X-Auto-Response-Suppress": "OOF"}),
    ("autoreply-header", "ar@example.org", {"X-Autoreply": "yes"}),
    ("pec-receipt", "posta-certificata@pec.example.it",
     {"X-Ricevuta": "accettazione"}),
    ("system-sender", "no-reply@example.org", {}),
    ("system-sender", "MAILER-DAEMON@example.org", {}),
    ("spam", "spammer@example.org", {"X-Spam-Flag": "YES"}),
    ("spam", "spammer2@example.org", {"X-Rspamd-Action": "add header"}),
    ("autoreply-header", "x@example.org",
     {"X-Frontdesk-Ack": "FD-0000-0000-0000"}),
]


@pytest.mark.parametrize("reason,sender,headers", MACHINE,
                         ids=["%s-%d" % (m[0], i) for i, m in enumerate(MACHINE)])
def test_no_ack_to_machines(dc, fresh, reason, sender, headers):
    mark = dc.log_mark()
    data, msgid = make_message("Question about my invoice",
                               "Why was I charged twice?\n",
                               from_=sender or "someone@example.org",
                               headers=headers)
    deliver(dc, data, sender)
    assert dc.wait_log("ack=" + reason, since=mark), dc.log(mark)
    assert dc.find(SUPPORT, msgid)            # still delivered
    assert settle(fresh, 0, quiet=0.5) == []


def test_our_own_message_id_is_a_loop(dc, fresh):
    mark = dc.log_mark()
    data, _ = make_message("hello", "Why was I charged twice?\n",
                           from_="y@example.org",
                           msgid="<frontdesk.fd-0000-0000-0000.1@example.com>")
    deliver(dc, data, "y@example.org")
    assert dc.wait_log("ack=loop", since=mark)
    assert settle(fresh, 0, quiet=0.5) == []


def test_not_addressed_to_us(dc, fresh):
    mark = dc.log_mark()
    data, _ = make_message("hello", "Why was I charged twice?\n",
                           from_="x@example.org", to="someone@elsewhere.example")
    deliver(dc, data, "x@example.org")
    assert dc.wait_log("ack=not-addressed-to-us", since=mark)
    assert settle(fresh, 0, quiet=0.5) == []


def machine_mail():
    """Bounces, reports and auto-replies of ../shared/data/mail."""
    out = []
    for coll, cats in (("sisimai-set-of-emails", {"bounce", "feedback-report",
                        "auto-reply", "dsn-delivered", "auto-generated-notice"}),
                       ("ruby-mail-fixtures", {"bounce-or-report"})):
        index = os.path.join(SHARED_DATA, "mail", coll, "index.jsonl")
        if not os.path.exists(index):
            continue
        with open(index, encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                if row["category"] in cats:
                    rp = (row.get("return_path") or "").strip("<> ")
                    sender = "" if row.get("null_sender") else (
                        rp or email.utils.parseaddr(row.get("from") or "")[1])
                    out.append((os.path.join(SHARED_DATA, "mail", coll,
                                             row["file"]), sender))
    return out


def test_machine_mail_of_the_corpus_gets_no_ack(dc, fresh):
    msgs = machine_mail()
    if not msgs:
        pytest.skip("../shared/data not present")
    mark = dc.log_mark()
    with dc.lmtp() as s:
        for path, sender in msgs:
            with open(path, "rb") as f:
                data = f.read()
            r = s.send([SUPPORT], data, sender)
            assert r.code(SUPPORT) == 250, path
    acks = settle(fresh, 0, quiet=3.0)
    assert acks == [], [(a.rcpts, parse(a)["In-Reply-To"]) for a in acks]
    reasons = re.findall(r" ack=([a-z-]+)", dc.log(mark))
    assert len(reasons) == len(msgs)
    assert "queued" not in reasons


def test_spam_behind_a_filter_gets_no_ack(dc, fresh):
    index = os.path.join(SHARED_DATA, "mail", "spamassassin-testdata",
                         "index.jsonl")
    if not os.path.exists(index):
        pytest.skip("../shared/data not present")
    rows = [json.loads(l) for l in open(index, encoding="utf-8")]
    spam = [r for r in rows if r["category"] == "spam"]
    verdicts = [b"X-Spam-Flag: YES\r\nX-Spam-Status: Yes, score=12.3 "
                b"required=5.0 tests=GTUBE\r\n",
                b"X-Rspamd-Action: reject\r\nX-Spam: Yes\r\n"]
    with dc.lmtp() as s:
        for i, r in enumerate(spam):
            with open(os.path.join(SHARED_DATA, "mail",
                                   "spamassassin-testdata", r["file"]),
                      "rb") as f:
                data = verdicts[i % 2] + f.read()
            res = s.send([SUPPORT], data, "spam%d@example.net" % i)
            assert res.code(SUPPORT) == 250
    assert settle(fresh, 0, quiet=3.0) == []


def test_italian_dev_one_ack_each_in_italian_naming_the_need(
        frontdesk_built, sink):
    labels = os.path.join(SHARED_DATA, "italian-dev", "labels.jsonl")
    if not os.path.exists(labels):
        pytest.skip("../shared/data not present")
    rows = [json.loads(l) for l in open(labels, encoding="utf-8")]
    tpl = open(os.path.join(os.path.dirname(__file__), "..", "..",
                            "templates", "ack.it.txt"), encoding="utf-8").read()
    phrases = dict(re.findall(r"^(\w+)\s*=\s*(.+?)\s*$",
                              tpl.split("\n[need]\n")[1].split("\n[team]\n")[0], re.M))
    # each mail is addressed to its company's support address: the
    # admin lists them as aliases of the support mailbox
    aliases = set()
    for r in rows:
        with open(os.path.join(SHARED_DATA, "italian-dev", r["file"]),
                  "rb") as f:
            m = email.message_from_bytes(f.read())
        for _, addr in email.utils.getaddresses(m.get_all("To", [])):
            aliases.add(addr.lower())
    sink.clear()
    with instance(frontdesk_built, sink, {"frontdesk_addresses": " ".join(
            sorted(aliases | {SUPPORT}))}, name="itdev") as dc:
        with dc.lmtp() as s:
            for i, r in enumerate(rows):
                with open(os.path.join(SHARED_DATA, "italian-dev", r["file"]),
                          "rb") as f:
                    data = f.read()
                res = s.send([SUPPORT], data, "cliente%d@example.it" % i)
                assert res.code(SUPPORT) == 250
        acks = settle(sink, len(rows), quiet=2.0)
    by_rcpt = {}
    for a in acks:
        by_rcpt.setdefault(a.rcpts[0], []).append(parse(a))
    assert sorted(by_rcpt) == sorted("cliente%d@example.it" % i
                                     for i in range(len(rows)))
    right = wrong = 0
    for i, r in enumerate(rows):
        got = by_rcpt["cliente%d@example.it" % i]
        assert len(got) == 1, r["file"]
        assert got[0]["Content-Language"] == "it", r["file"]
        text = text_of(got[0])
        named = [n for n, ph in phrases.items()
                 if n != "unknown" and ph in text]
        if r["need"] in named:
            right += 1
        elif named:
            wrong += 1
    # the learned model names the need only when it is confident (it was
    # right >= 95 % of the time on held-out kinds of company); otherwise
    # the neutral wording. On this set (never trained on) it names most.
    assert wrong <= 0.05 * (right + wrong), (right, wrong)
    assert right + wrong >= 0.75 * len(rows), (right, wrong)


# ---- limits ----------------------------------------------------------------

def test_sender_limit_and_circuit_breaker(frontdesk_built, sink):
    sink.clear()
    with instance(frontdesk_built, sink,
                  {"frontdesk_ack_sender_limit": "2",
                   "frontdesk_ack_global_limit": "4"}, name="limits") as dc:
        for i in range(3):      # same sender, three new conversations
            data, _ = make_message("question %d" % i, "What are your "
                                   "opening hours?\n", from_="same@example.org")
            deliver(dc, data, "same@example.org")
        for i in range(4):      # four more senders: the fifth ack overall trips
            data, _ = make_message("question", "What are your opening "
                                   "hours?\n", from_="s%d@example.org" % i)
            deliver(dc, data, "s%d@example.org" % i)
        acks = settle(sink, 4, quiet=2.0)
        assert len(acks) == 4
        assert sum(1 for a in acks if a.rcpts == ["same@example.org"]) == 2
        assert dc.wait_log("ack=sender-limit")
        assert dc.wait_log("ack=global-limit", count=1)
        assert dc.wait_log("circuit breaker tripped")


def test_address_canonical_for_limits(frontdesk_built, sink):
    sink.clear()
    with instance(frontdesk_built, sink, {"frontdesk_ack_sender_limit": "1"},
                  name="canon") as dc:
        for sender in ("ann+shop@example.org",
                       "SRS0=abcd=XY=example.org=ann@forwarder.example",
                       "prvs=1234567890=ann@example.org"):
            data, _ = make_message("hello", "What are your opening hours?\n",
                                   from_="ann@example.org")
            deliver(dc, data, sender)
        acks = settle(sink, 1, quiet=2.0)
        assert len(acks) == 1


# ---- delivery never waits for the relay, acks are never lost --------------

def test_relay_down_acks_arrive_after_it_comes_back(frontdesk_built):
    port = free_port()
    with instance(frontdesk_built, port, name="down") as dc:
        sent = []
        for i in range(3):
            data, msgid = make_message("help", "My invoice is wrong.\n",
                                       from_="d%d@example.org" % i)
            res = deliver(dc, data, "d%d@example.org" % i)
            assert res.elapsed < 2.0
            sent.append(msgid)
        assert dc.wait_log("not sent (attempt 1)", count=3, timeout=10)
        with SmtpSink(port=port) as sink:
            acks = settle(sink, 3, timeout=40, quiet=2.0)
            assert sorted(parse(a)["In-Reply-To"] for a in acks) == sorted(sent)


def test_relay_stalled_does_not_delay_delivery(frontdesk_built):
    with SmtpSink(delay=8.0) as sink:
        with instance(frontdesk_built, sink,
                      name="stall") as dc:
            times = []
            for i in range(5):
                data, _ = make_message("help", "My invoice is wrong.\n",
                                       from_="st%d@example.org" % i)
                times.append(deliver(dc, data, "st%d@example.org" % i).elapsed)
            assert max(times) < 1.0, times
            # they all arrive, slowly, once each
            acks = settle(sink, 5, timeout=60, quiet=1.0)
            assert len(acks) == 5


@pytest.mark.parametrize("sieve_mode", ["no-sieve", "fileinto"])
def test_concurrent_clients_no_duplicate_acks(frontdesk_built, sink,
                                              sieve_mode):
    sink.clear()
    msgs = []
    for i in range(120):
        data, msgid = make_message("help %d" % i, "My invoice is wrong.\n",
                                   from_="cc%d@example.org" % (i % 60))
        msgs.append((data, "cc%d@example.org" % (i % 60), msgid))
    with instance(frontdesk_built, sink, name="conc",
                  sieve_mode=sieve_mode) as dc:
        def client(k):
            with dc.lmtp() as s:
                # every client delivers every message: 8 copies each
                for data, sender, _ in msgs[k::1]:
                    r = s.send([SUPPORT], data, sender)
                    assert r.code(SUPPORT) == 250
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            list(ex.map(client, range(8)))
        acks = settle(sink, len(msgs), timeout=60, quiet=3.0)
    replies = [parse(a)["In-Reply-To"] for a in acks]
    assert len(replies) == len(set(replies)), "duplicate acks"
    assert sorted(replies) == sorted(m[2] for m in msgs)


def test_two_frontdesk_mailboxes_do_not_loop(frontdesk_built, sink):
    a, b = "a-support@example.com", "b-support@example.com"
    sink.clear()
    users = {a: dict(ON, frontdesk_addresses=a, frontdesk_ack_return_path="from"),
             b: dict(ON, frontdesk_addresses=b, frontdesk_ack_return_path="from")}
    with instance(frontdesk_built, sink, users=users, name="loop") as dc:
        data, _ = make_message("hello", "I would like a quote.\n",
                               from_=b, to=a)
        deliver(dc, data, b, rcpt=a)
        # relay every ack that reaches a local mailbox back into Dovecot
        relayed, seen = 0, 0
        for _ in range(6):
            msgs = settle(sink, seen + 1, timeout=5, quiet=0.5)
            for m in msgs[seen:]:
                for r in m.rcpts:
                    if r in (a, b):
                        deliver(dc, m.data, m.mail_from, rcpt=r)
                        relayed += 1
            if len(msgs) == seen:
                break
            seen = len(msgs)
        assert seen == 1 and relayed == 1
        # the shared Message-ID domain says "loop" before Auto-Submitted
        assert re.search(r"ack=(loop|auto-submitted)", dc.log())


def test_shadow_mode_records_verdict_and_sends_nothing(frontdesk_built, sink):
    sink.clear()
    with instance(frontdesk_built, sink, {"frontdesk_ack": "shadow"},
                  name="shadow") as dc:
        data, msgid = make_message("invoice", "Why was I charged twice?\n",
                                   from_="sh@example.org")
        deliver(dc, data, "sh@example.org")
        bounce, bid = make_message("Undeliverable: invoice", "x\n",
                                   from_="MAILER-DAEMON@example.org")
        deliver(dc, bounce, "")
        assert settle(sink, 0, quiet=2.0) == []
        assert dc.find(SUPPORT, msgid)[0].header(
            "X-Frontdesk-Would-Ack") == "yes; reason=ok"
        assert dc.find(SUPPORT, bid)[0].header(
            "X-Frontdesk-Would-Ack") == "no; reason=null-sender"
        assert dc.wait_log("ack=shadow-yes:ok")


@pytest.mark.parametrize("keyname", ["rsa-2048", "ed25519"])
def test_dkim_signature_verifies(frontdesk_built, sink, keyname):
    dkim = pytest.importorskip("dkim")
    txt = open(os.path.join(DKIM_DATA, keyname + ".txt")).read()
    txt = "".join(l for l in txt.splitlines() if not l.startswith("#"))
    kdir = tempfile.mkdtemp(prefix="fddkim")
    os.chmod(kdir, 0o755)            # lmtp reads the key as the mail user
    key = os.path.join(kdir, "key.pem")
    shutil.copy(os.path.join(DKIM_DATA, keyname + ".pem"), key)
    os.chmod(key, 0o644)
    sink.clear()
    try:
        with instance(frontdesk_built, sink, {
                "frontdesk_dkim_key": key,
                "frontdesk_dkim_domain": "example.com",
                "frontdesk_dkim_selector": "fd"}, name="dkim") as dc:
            data, _ = make_message("Prüfung der Rechnung",
                                   "Meine Rechnung ist falsch.\n",
                                   from_="Jürgen <dk@example.org>")
            deliver(dc, data, "dk@example.org")
            acks = settle(sink, 1)
    finally:
        shutil.rmtree(kdir, ignore_errors=True)
    assert len(acks) == 1
    signed = acks[0].data
    assert signed.startswith(b"DKIM-Signature:")
    queried = []

    def dnsfunc(name, timeout=5):
        queried.append(name)
        return txt.encode()
    assert dkim.verify(signed, dnsfunc=dnsfunc)
    assert queried == [b"fd._domainkey.example.com."]
    # and a change on the way breaks it
    assert not dkim.verify(signed.replace(b"Rechnung", b"Rechnunx", 1),
                           dnsfunc=dnsfunc)


def test_redis_dict_shared_state(frontdesk_built, sink, tmp_path):
    redis = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(redis):
        if os.environ.get("FDTEST_REQUIRE_PLUGIN"):
            pytest.fail("redis-server missing: scripts/ensure-deps installs it")
        pytest.skip("redis-server not installed")
    port = free_port()
    rdir = tempfile.mkdtemp(prefix="fdredis")
    proc = subprocess.Popen([redis, "--port", str(port), "--bind",
                             "127.0.0.1", "--dir", rdir, "--save", "",
                             "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        sink.clear()
        # backends sharing tickets share the secret that makes them
        os.chmod(rdir, 0o755)
        secret = os.path.join(rdir, "secret")
        with open(secret, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(secret, 0o644)
        uri = "redis:host=127.0.0.1:port=%d" % port
        shared = {"frontdesk_ack_dict": uri,
                  "frontdesk_ticket_secret_file": secret}
        msgs = []
        for i in range(40):
            data, msgid = make_message("help %d" % i, "My invoice is wrong.\n",
                                       from_="r%d@example.org" % i)
            msgs.append((data, "r%d@example.org" % i, msgid))
        with instance(frontdesk_built, sink, shared, name="redis") as dc:
            def client(k):
                with dc.lmtp() as s:
                    for data, sender, _ in msgs:
                        assert s.send([SUPPORT], data, sender).code(SUPPORT) == 250
            with concurrent.futures.ThreadPoolExecutor(4) as ex:
                list(ex.map(client, range(4)))
            acks = settle(sink, len(msgs), timeout=30, quiet=2.0)
        replies = [parse(a)["In-Reply-To"] for a in acks]
        assert len(replies) == len(set(replies))
        # racing copies err on the side of silence, never of a second ack;
        # most conversations are answered
        assert len(set(replies)) >= 0.8 * len(msgs)
        # the state is in redis, where a second backend would find it
        out = subprocess.run(["redis-cli", "-p", str(port), "--scan",
                              "--pattern", "frontdesk/*"],
                             capture_output=True, text=True).stdout.split()
        assert len([k for k in out if "/ticket/" in k]) == len(set(replies))
        # a second Dovecot (another backend) sharing the dict knows them
        sink.clear()
        with instance(frontdesk_built, sink, shared, name="redis2") as dc2:
            data, sender, msgid = msgs[0]
            deliver(dc2, data, sender)
            assert settle(sink, 0, quiet=2.0) == []
            assert dc2.wait_log("ack=already-acked")
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(rdir, ignore_errors=True)
