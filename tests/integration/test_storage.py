"""frontdesk on each of Dovecot's own mailbox formats: maildir (what the
other tests use), sdbox and mdbox (what conf.d recommends for a busy desk,
issue 14: maildir makes every save with keywords wait for
dovecot-uidlist.lock).  The same deliveries on each: filing, keywords merged
with Sieve's, the ack and its ticket, no second ack in a conversation,
machine mail apart, and four concurrent LMTP clients."""

import concurrent.futures
import email
import email.policy
import os
import re
import time

import pytest

import fdtest
from fdtest import SmtpSink, ACK_SUPPORT, ack_instance, make_message

SUPPORT = ACK_SUPPORT
FORMATS = ["maildir", "sdbox", "mdbox"]
BOUNCE = os.path.join(fdtest.REPO, "tests", "data", "demo",
                      "27-bounce-mailer-daemon.eml")
SCRIPT = """require ["imap4flags"];
if header :contains "subject" "[flagme]" {
  addflag "vip";
}
"""
TICKET_RE = re.compile(r"\[(FD-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})\]")


@pytest.fixture(scope="module")
def sink():
    with SmtpSink() as s:
        yield s


@pytest.fixture(scope="module", params=FORMATS)
def dc(frontdesk_built, sink, request):
    with ack_instance(frontdesk_built, sink, name="fmt-" + request.param,
                      mail_storage=request.param,
                      sieve={SUPPORT: SCRIPT}) as inst:
        yield inst


@pytest.fixture
def fresh(sink):
    sink.clear()
    return sink


def settle(sink, count, quiet=1.5, timeout=15.0):
    sink.wait_for(count, timeout=timeout)
    time.sleep(quiet)
    return sink.wait_for(0, timeout=0)


def parse(sink_msg):
    return email.message_from_bytes(sink_msg.data,
                                    policy=email.policy.default)


def deliver(dc, data, sender):
    res = dc.deliver_lmtp([SUPPORT], data, mail_from=sender)
    assert res.code(SUPPORT) == 250, res


def one_stored(dc, msgid):
    stored = dc.find(SUPPORT, msgid)
    assert len(stored) == 1, stored
    return stored[0]


def test_the_mail_is_stored_in_the_format(dc):
    """The instance really uses the format under test."""
    home = dc.home(SUPPORT)
    data, msgid = make_message("Where is my parcel",
                               "Hello,\nI ordered a lamp two weeks ago and "
                               "it has not arrived. Where is my order?\n",
                               from_="fmt-probe@example.org")
    deliver(dc, data, "fmt-probe@example.org")
    one_stored(dc, msgid)
    if dc.mail_storage == "maildir":
        assert os.path.isdir(os.path.join(home, "Maildir", "cur"))
    else:
        top = os.path.join(home, "mail")
        assert os.path.isdir(top)
        assert not os.path.exists(os.path.join(home, "Maildir"))
        names = [n for _, _, files in os.walk(top) for n in files]
        pattern = r"^u\.\d+$" if dc.mail_storage == "sdbox" else r"^m\.\d+$"
        assert any(re.match(pattern, n) for n in names), names


def test_customer_mail_filed_tagged_and_acknowledged(dc, fresh):
    sender = "anna-%s@example.org" % dc.mail_storage
    data, msgid = make_message(
        "Invoice 2024-117 charged twice [flagme]",
        "Hello,\nyou charged my credit card twice for invoice 2024-117. "
        "Please refund the second payment.\nAnna\n", from_=sender)
    deliver(dc, data, sender)
    m = one_stored(dc, msgid)
    assert m.folder == "BackOffice"
    assert m.header("X-Frontdesk-Need") == "billing"
    # frontdesk's keywords and the one Sieve's addflag set, together
    assert {"billing", "vip"} <= m.keywords, m.keywords
    acks = settle(fresh, 1)
    assert len(acks) == 1
    ack = parse(acks[0])
    assert acks[0].rcpts == [sender]
    assert ack["In-Reply-To"] == msgid
    ticket = TICKET_RE.search(str(ack["Subject"]))
    assert ticket and m.header("X-Frontdesk-Ticket") == ticket.group(1)


def test_a_reply_in_the_conversation_gets_no_second_ack(dc, fresh):
    sender = "bruno-%s@example.org" % dc.mail_storage
    root = "<root-%s@example.org>" % dc.mail_storage
    first, _ = make_message("My router keeps disconnecting",
                            "Hi,\nmy router loses the connection every few "
                            "minutes. Can you help?\n", from_=sender,
                            msgid=root)
    deliver(dc, first, sender)
    assert len(settle(fresh, 1)) == 1
    fresh.clear()
    reply, reply_id = make_message(
        "Re: My router keeps disconnecting",
        "Any news? It still disconnects.\n", from_=sender,
        headers={"In-Reply-To": root, "References": root})
    deliver(dc, reply, sender)
    m = one_stored(dc, reply_id)
    assert "followup" in m.keywords, m.keywords
    assert settle(fresh, 0, quiet=2.0) == []


def test_a_bounce_is_filed_apart_and_not_acknowledged(dc, fresh):
    with open(BOUNCE, "rb") as f:
        data = b"X-Fdtest-Format: %s\r\n%s" % (dc.mail_storage.encode(),
                                               f.read())
    msgid = email.message_from_bytes(data)["Message-ID"]
    deliver(dc, data, "")
    m = one_stored(dc, msgid)
    assert m.folder == "Automatic"
    assert "bounce" in m.keywords
    assert m.header("X-Frontdesk-Need") is None
    assert settle(fresh, 0, quiet=2.0) == []


def test_four_concurrent_clients(dc, fresh):
    """Four LMTP connections at once, into the same two folders: every mail
    stored once with its keywords, every customer acknowledged once."""
    mails = []
    for i in range(40):
        sender = "c%d-%s@example.org" % (i, dc.mail_storage)
        if i % 2:
            subj, body = ("Invoice %d charged twice" % i,
                          "Hello,\nmy card was charged twice for invoice "
                          "%d. Please refund one payment.\n" % i)
        else:
            subj, body = ("Question about your plans %d" % i,
                          "Hello,\nI would like to know the prices of your "
                          "business plans before I buy.\n")
        data, msgid = make_message(subj, body, from_=sender)
        mails.append((data, sender, msgid))

    def client(part):
        with dc.lmtp() as s:
            return [s.send([SUPPORT], data, sender)
                    for data, sender, _ in part]

    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        results = [r for rs in ex.map(client, [mails[k::4] for k in range(4)])
                   for r in rs]
    assert all(r.code(SUPPORT) == 250 for r in results), results
    stored = {}
    for m in dc.all_messages(SUPPORT):
        stored.setdefault(m.message_id, []).append(m)
    for data, sender, msgid in mails:
        copies = stored.get(msgid, [])
        assert len(copies) == 1, (msgid, copies)
        need = copies[0].header("X-Frontdesk-Need")
        assert need and need in copies[0].keywords, copies[0].keywords
    acks = settle(fresh, len(mails))
    answered = sorted(parse(a)["In-Reply-To"] for a in acks)
    assert answered == sorted(msgid for _, _, msgid in mails)


@pytest.mark.parametrize("fmt", ["sdbox", "mdbox"])
def test_lda_with_a_sieve_before_script(frontdesk_built, sink, fmt):
    """dovecot-lda and a site-wide sieve_before on the dbox formats: the
    customer mail is filed and tagged and acknowledged once, the spam the
    sieve_before script files into Junk keeps it there."""
    with ack_instance(frontdesk_built, sink, name="fmt-lda-" + fmt,
                      mail_storage=fmt, sieve_mode="sieve-before") as dc:
        sink.clear()
        sender = "lda-%s@example.org" % fmt
        data, msgid = make_message(
            "Invoice 2024-118 charged twice",
            "Hello,\nyou charged my credit card twice for invoice "
            "2024-118. Please refund one payment.\n", from_=sender)
        p = dc.deliver_lda(SUPPORT, data, mail_from=sender)
        assert p.returncode == 0, p.stderr
        m = one_stored(dc, msgid)
        assert m.folder == "BackOffice"
        assert "billing" in m.keywords, m.keywords
        acks = settle(sink, 1)
        assert [parse(a)["In-Reply-To"] for a in acks] == [msgid]
        spam, spam_id = make_message(
            "Cheap watches", "Buy now.\n", from_="spam@example.net",
            headers={"X-Spam-Flag": "YES"})
        p = dc.deliver_lda(SUPPORT, spam, mail_from="spam@example.net")
        assert p.returncode == 0, p.stderr
        assert one_stored(dc, spam_id).folder == "Junk"
