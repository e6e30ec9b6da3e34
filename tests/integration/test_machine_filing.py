"""Machine mail filed apart (issue 12), delivered by a real Dovecot over LMTP:
bounces, delay warnings, receipts, reports, auto-replies, list posts, PEC
receipts and notifications land in Automatic with a keyword naming their
kind, never with a need, office or urgency tag, never acknowledged; a bounce
of our acknowledgment and an out-of-office reply to it join their ticket.
The corpus-wide loops use frontdesk-classify (test_machine_corpus.py)."""

import email
import email.policy
import email.utils
import os
import re
import socketserver
import threading
import time

import pytest

import fdtest
from fdtest import (SmtpSink, SHARED_DATA, ACK_SUPPORT, ack_instance,
                    make_message)

SUPPORT = ACK_SUPPORT
MAIL = os.path.join(SHARED_DATA, "mail")
DEMO = os.path.join(fdtest.REPO, "tests", "data", "demo")
AUTOMATIC = "Automatic"
OFFICES = {"front": "FrontOffice", "back": "BackOffice"}
NEED_HEADERS = ("X-Frontdesk-Need", "X-Frontdesk-Office", "X-Frontdesk-Score")
NEEDS = {"billing", "technical", "outage", "orders", "account", "privacy",
         "sales", "information", "complaint", "appointment", "urgent",
         "unsure", "followup"}
ACK_ID_RE = re.compile(r"<frontdesk\.[^>]+>")


def _shared(*parts):
    path = os.path.join(MAIL, *parts)
    return path if os.path.exists(path) else None


def _read(path):
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"From "):              # mbox separator line
        data = data.split(b"\n", 1)[1]
    return data


PEC_RECEIPT = (
    b"From: posta-certificata@pec.example.it\r\n"
    b"To: support@example.com\r\n"
    b"Subject: CONSEGNA: Re: fattura di marzo\r\n"
    b"X-Ricevuta: avvenuta-consegna\r\nX-Riferimento-Message-ID: <x@pec>\r\n"
    b"Message-ID: <pec-1@pec.example.it>\r\n\r\n"
    b"Il giorno 03/12/2026 alle ore 10:00:00 il messaggio e' stato "
    b"consegnato nella casella di destinazione.\r\n")
NOTIFICATION = (
    b"From: Portal <no-reply@portal.example.net>\r\n"
    b"To: support@example.com\r\n"
    b"Subject: Your password was changed\r\n"
    b"Message-ID: <n-1@portal.example.net>\r\n\r\n"
    b"The password of your account was changed. If this was not you, "
    b"contact us.\r\n")
MDN = (
    b"From: Jane <jane@example.org>\r\nTo: support@example.com\r\n"
    b"Subject: Read: Re: invoice\r\nMessage-ID: <mdn-1@example.org>\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: multipart/report; "
    b"report-type=disposition-notification; boundary=\"m\"\r\n\r\n"
    b"--m\r\nContent-Type: text/plain\r\n\r\nYour message was displayed."
    b"\r\n--m\r\nContent-Type: message/disposition-notification\r\n\r\n"
    b"Final-Recipient: rfc822; jane@example.org\r\n"
    b"Disposition: manual-action/MDN-sent-manually; displayed\r\n"
    b"--m--\r\n")

# (kind, name, path or bytes, envelope sender)
SAMPLES = [
    ("bounce", "demo-27", os.path.join(DEMO, "27-bounce-mailer-daemon.eml"),
     ""),
    ("auto-reply", "demo-28",
     os.path.join(DEMO, "28-risposta-automatica-fuori-ufficio.eml"),
     "giulia.ferri@example.it"),
    ("list", "demo-29", os.path.join(DEMO, "29-newsletter-offerte.eml"),
     "bounces@offerte.example.org"),
    ("bounce", "postfix", _shared("sisimai-set-of-emails", "maildir", "bsd",
                                  "lhost-postfix-01.eml"), ""),
    ("bounce", "qmail", _shared("sisimai-set-of-emails", "maildir", "bsd",
                                "lhost-qmail-01.eml"), ""),
    ("bounce", "exim", _shared("sisimai-set-of-emails", "maildir", "bsd",
                               "lhost-exim-01.eml"), ""),
    ("delay", "enmime-delayed", _shared("enmime-testdata", "dsn", "testdata",
                                        "delayed_dsn.raw"), ""),
    ("receipt", "postfix-verify", _shared("sisimai-set-of-emails", "maildir",
                                          "bsd", "rfc3464-28.eml"), ""),
    ("receipt", "mdn", MDN, ""),
    ("report", "arf", _shared("sisimai-set-of-emails", "maildir", "bsd",
                              "arf-01.eml"), "abuse@example.net"),
    ("auto-reply", "rfc3834", _shared("sisimai-set-of-emails", "maildir",
                                      "bsd", "rfc3834-01.eml"),
     "vacation@example.net"),
    ("pec", "pec-receipt", PEC_RECEIPT, "posta-certificata@pec.example.it"),
    ("notification", "no-reply", NOTIFICATION, "no-reply@portal.example.net"),
]


def sample_bytes(src):
    return src if isinstance(src, bytes) else _read(src)


def tagged(data, name):
    """A tag to find the stored copy again; nothing frontdesk looks at."""
    return b"X-Fdtest-Sample: " + name.encode() + b"\r\n" + data


@pytest.fixture(scope="module")
def sink():
    with SmtpSink() as s:
        yield s


@pytest.fixture(scope="module", params=["no-sieve", "keep"])
def dc(frontdesk_built, sink, request):
    with ack_instance(frontdesk_built, sink, name="mach",
                      sieve_mode=request.param) as inst:
        yield inst


@pytest.fixture(scope="module")
def delivered(dc, sink):
    """Every sample delivered once; {name: [stored copies]}, the log."""
    sink.clear()
    mark = dc.log_mark()
    samples = [s for s in SAMPLES if s[2] is not None]
    results = fdtest.deliver_many(
        dc, SUPPORT, [(tagged(sample_bytes(src), name), sender)
                      for _, name, src, sender in samples])
    for (_, name, _, _), r in zip(samples, results):
        assert r.code(SUPPORT) == 250, (name, r)
    stored = {}
    for m in dc.all_messages(SUPPORT):
        stored.setdefault(m.header("X-Fdtest-Sample"), []).append(m)
    time.sleep(1.5)             # an ack would be in the sink by now
    return stored, dc.log(mark), sink.wait_for(0, timeout=0)


@pytest.mark.parametrize("kind,name", [(k, n) for k, n, _, _ in SAMPLES],
                         ids=[n for _, n, _, _ in SAMPLES])
def test_machine_mail_is_filed_apart_with_its_kind(delivered, kind, name):
    stored, log, acks = delivered
    sample = [s for s in SAMPLES if s[1] == name][0]
    if sample[2] is None:
        pytest.skip("../shared/data not present")
    copies = stored.get(name, [])
    assert len(copies) == 1, "stored %d times" % len(copies)
    msg = copies[0]
    assert msg.folder == AUTOMATIC, (msg.folder, msg.keywords)
    assert msg.keywords == {kind}, msg.keywords
    assert msg.header("X-Frontdesk-Machine") == kind
    for h in NEED_HEADERS:
        assert msg.header(h) is None, (h, msg.header(h))
    assert msg.header("X-Frontdesk-Ticket") is None
    assert acks == [], [a.rcpts for a in acks]
    mid = msg.message_id
    if mid:
        lines = [l for l in log.splitlines()
                 if " frontdesk: " in l and "msgid=" + mid in l]
        assert len(lines) == 1, lines
        assert " machine=%s " % kind in lines[0], lines[0]
        assert " need=none " in lines[0] and " office=none " in lines[0]
        assert " ack=queued" not in lines[0]


# ---- a person's mail that carries what robots carry too -----------------------

WEAK = [
    {"X-Auto-Response-Suppress": "All"},      # Outlook, Exchange
    {"Precedence": "bulk"},                   # a CRM's mass mailer
    {"X-Loop": "anna@example.org"},           # procmail forwarding
]


@pytest.mark.parametrize("headers", WEAK, ids=["xars", "precedence", "x-loop"])
def test_customer_with_a_robot_header_stays_in_an_office(dc, headers):
    data, msgid = make_message(
        "Invoice 4411 charged twice",
        "Hello,\nyou charged my card twice for invoice 4411, please refund "
        "the second payment.\nAnna\n", from_="Anna <anna@example.org>",
        headers=headers)
    r = dc.deliver_lmtp([SUPPORT], data, mail_from="anna@example.org")
    assert r.code(SUPPORT) == 250
    [msg] = dc.find(SUPPORT, msgid)
    assert msg.folder in OFFICES.values(), msg.folder
    assert "billing" in msg.keywords, msg.keywords
    assert msg.header("X-Frontdesk-Machine") is None
    assert msg.header("X-Frontdesk-Need") is not None


def test_web_form_behind_a_no_reply_sender_is_a_customer(dc, sink):
    sink.clear()
    data, msgid = make_message(
        "Contact form: invoice 77 wrong",
        "Message from the contact form:\nmy invoice 77 has the wrong VAT "
        "number, please send a corrected one.\n",
        from_="Website <no-reply@example.com>",
        headers={"Reply-To": "Luca <luca@example.org>"})
    r = dc.deliver_lmtp([SUPPORT], data, mail_from="no-reply@example.com")
    assert r.code(SUPPORT) == 250
    [msg] = dc.find(SUPPORT, msgid)
    assert msg.folder in OFFICES.values(), msg.folder
    assert msg.header("X-Frontdesk-Machine") is None
    assert not msg.keywords & {"notification", "bounce", "auto-reply"}


# ---- where the admin wants it ----------------------------------------------------

def test_empty_machine_folder_leaves_it_where_dovecot_puts_it(frontdesk_built):
    with SmtpSink() as s, ack_instance(
            frontdesk_built, s, name="machin",
            settings={"frontdesk_folder_machine": ""}) as inst:
        data = tagged(_read(os.path.join(DEMO, "27-bounce-mailer-daemon.eml")),
                      "b")
        assert inst.deliver_lmtp([SUPPORT], data, mail_from="").code(
            SUPPORT) == 250
        [msg] = inst.all_messages(SUPPORT)
        assert msg.folder == "INBOX"
        assert msg.keywords == {"bounce"}
        assert AUTOMATIC not in inst.list_folders(SUPPORT)


def test_sieve_fileinto_still_wins(frontdesk_built):
    with SmtpSink() as s, ack_instance(frontdesk_built, s, name="machfi",
                                       sieve_mode="fileinto") as inst:
        data = _read(os.path.join(DEMO, "28-risposta-automatica-fuori-"
                                        "ufficio.eml"))
        assert inst.deliver_lmtp([SUPPORT], data, mail_from="x@example.it"
                                 ).code(SUPPORT) == 250
        [msg] = inst.all_messages(SUPPORT)
        assert msg.folder == fdtest.SIEVE_FILED
        assert msg.keywords == {"auto-reply"}


def test_keyword_prefix_applies_to_kinds(frontdesk_built):
    with SmtpSink() as s, ack_instance(
            frontdesk_built, s, name="machpf",
            settings={"frontdesk_keyword_prefix": "fd_"}) as inst:
        data = _read(os.path.join(DEMO, "29-newsletter-offerte.eml"))
        assert inst.deliver_lmtp([SUPPORT], data, mail_from="b@example.org"
                                 ).code(SUPPORT) == 250
        [msg] = inst.all_messages(SUPPORT)
        assert (msg.folder, msg.keywords) == (AUTOMATIC, {"fd_list"})
