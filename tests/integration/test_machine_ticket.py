"""Machine mail about a ticket joins the ticket (issue 12): our
acknowledgment goes out through frontdesk-sender to an SMTP relay that
refuses the customer's address with 550; the relay's bounce (a DSN in
Postfix's format carrying the refused ack's headers, or a qmail-style plain
bounce quoting them) is delivered to the support mailbox over LMTP and lands
with its ticket, in the ticket's office folder, tagged ack-bounced; an
out-of-office reply to the ack lands there too, tagged auto-reply. Neither
opens a ticket or gets an acknowledgment."""

import email
import email.policy
import email.utils
import re
import socketserver
import threading
import time

import pytest

import fdtest
from fdtest import SmtpSink, ACK_SUPPORT, ack_instance, make_message

SUPPORT = ACK_SUPPORT
GONE = "gone@example.org"
RELAY = "relay.example.com"
REFUSAL = ("550 5.1.1 <%s>: Recipient address rejected: User unknown in "
           "virtual mailbox table" % GONE)
NEED_HEADERS = ("X-Frontdesk-Need", "X-Frontdesk-Office", "X-Frontdesk-Score")
BILLING = ("Invoice 3381 charged twice",
           "Hello,\nyou charged my credit card twice for invoice 3381. "
           "Please refund the second payment.\nMarta\n")


class _RefusingHandler(socketserver.StreamRequestHandler):
    """A relay that takes the message and refuses GONE after DATA, as
    Postfix's smtp client hears from a remote MX (and then bounces)."""
    timeout = 60

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        relay = self.server.relay
        self.reply("220 %s ESMTP" % RELAY)
        mail_from, rcpts = None, []
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return
            cmd = line.decode("latin-1").rstrip("\r\n")
            verb = cmd.split(" ", 1)[0].upper()
            arg = cmd[len(verb):].strip()
            if verb in ("EHLO", "HELO"):
                self.reply("250 %s" % RELAY)
            elif verb == "MAIL":
                mail_from = re.sub(r"^FROM:\s*<([^>]*)>.*$", r"\1", arg,
                                   flags=re.I)
                rcpts = []
                self.reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                rcpts.append(re.sub(r"^TO:\s*<([^>]*)>.*$", r"\1", arg,
                                    flags=re.I))
                self.reply("250 2.1.5 Ok")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                chunks = []
                while True:
                    l = self.rfile.readline()
                    if not l or l in (b".\r\n", b".\n"):
                        break
                    chunks.append(l[1:] if l.startswith(b".") else l)
                refused = GONE in [r.lower() for r in rcpts]
                relay.record(mail_from, rcpts, b"".join(chunks), refused)
                self.reply(REFUSAL if refused else "250 2.0.0 Ok: queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("502 5.5.2 Error: command not recognized")


class RefusingRelay:
    def __init__(self):
        self.seen = []          # (mail_from, rcpts, data, refused)
        self._cond = threading.Condition()

    def record(self, *entry):
        with self._cond:
            self.seen.append(entry)
            self._cond.notify_all()

    def wait_for(self, count, timeout=15.0):
        with self._cond:
            self._cond.wait_for(lambda: len(self.seen) >= count, timeout)
            return list(self.seen)

    def __enter__(self):
        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
        self.server = Server(("127.0.0.1", 0), _RefusingHandler)
        self.server.relay = self
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def header_block(data):
    return re.split(rb"\r?\n\r?\n", data, 1)[0].replace(b"\r\n", b"\n")


def postfix_dsn(mail_from, refused_data):
    """The bounce Postfix's bounce(8) writes for a refused message:
    multipart/report with the notification, the delivery status and the
    returned message's headers."""
    boundary = "4A1B2C3D4E.1764763200/%s" % RELAY
    now = email.utils.formatdate()
    return ("""Return-Path: <>
From: MAILER-DAEMON@{relay} (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {to}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="{b}"
Content-Transfer-Encoding: 8bit
Message-Id: <20261203120000.4A1B2C3D4E@{relay}>
Date: {now}

This is a MIME-encapsulated message.

--{b}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host {relay}.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<{gone}>: host mx.example.org[192.0.2.25] said: {refusal} (in reply
    to end of DATA command)

--{b}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; {relay}
X-Postfix-Queue-ID: 4A1B2C3D4E
X-Postfix-Sender: rfc822; {to}
Arrival-Date: {now}

Final-Recipient: rfc822; {gone}
Original-Recipient: rfc822;{gone}
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; {refusal}

--{b}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

""".format(relay=RELAY, to=mail_from, b=boundary, now=now, gone=GONE,
           refusal=REFUSAL).encode() + header_block(refused_data) +
            ("\n\n--%s--\n" % boundary).encode()).replace(b"\n", b"\r\n")


def qmail_bounce(mail_from, refused_data):
    """qmail's plain-text bounce, the returned message quoted in the body."""
    return ("""From: MAILER-DAEMON@{relay}
To: {to}
Subject: failure notice
Date: {now}
Message-ID: <qmail-bounce-1@{relay}>

Hi. This is the qmail-send program at {relay}.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<{gone}>:
192.0.2.25 does not like recipient.
Remote host said: {refusal}
Giving up on 192.0.2.25.

--- Below this line is a copy of the message.

""".format(relay=RELAY, to=mail_from, now=email.utils.formatdate(),
           gone=GONE, refusal=REFUSAL).encode() +
            header_block(refused_data) + b"\n\n(body omitted)\n"
            ).replace(b"\n", b"\r\n")


def frontdesk_line(dc, msgid, since):
    lines = [l for l in dc.log_lines(" frontdesk: ", since=since)
             if "msgid=" + msgid in l]
    assert len(lines) == 1, lines
    return lines[0]


def ticket_in(ack_data):
    m = re.search(rb"^X-Frontdesk-Ack: (\S+)", ack_data, re.M)
    return m.group(1).decode()


@pytest.mark.parametrize("bounce", [postfix_dsn, qmail_bounce],
                         ids=["postfix-dsn", "qmail-plain"])
def test_bounce_of_our_ack_joins_its_ticket(frontdesk_built, bounce):
    with RefusingRelay() as relay, ack_instance(
            frontdesk_built, relay, name="bnc",
            # a bounce comes back only to a return path that is not <>
            settings={"frontdesk_ack_return_path": "from"}) as dc:
        data, msgid = make_message(*BILLING, from_="Marta <%s>" % GONE)
        assert dc.deliver_lmtp([SUPPORT], data, mail_from=GONE).code(
            SUPPORT) == 250
        [(ack_from, ack_rcpts, ack_data, refused)] = relay.wait_for(1)
        assert refused and ack_rcpts == [GONE] and ack_from == SUPPORT
        ticket = ticket_in(ack_data)
        [first] = dc.find(SUPPORT, msgid)
        assert first.header("X-Frontdesk-Ticket") == ticket

        # the relay's bounce comes back to the support address
        mark = dc.log_mark()
        dsn = bounce(ack_from, ack_data)
        assert dc.deliver_lmtp([SUPPORT], dsn, mail_from="").code(
            SUPPORT) == 250
        dsn_id = email.message_from_bytes(dsn)["Message-ID"]
        [stored] = dc.find(SUPPORT, dsn_id)
        # with its ticket, where the agent of that ticket works
        assert stored.folder == first.folder, (stored.folder, first.folder)
        assert stored.header("X-Frontdesk-Ticket") == ticket + \
            " (ack-bounced)"
        assert stored.keywords == {"bounce", "ack-bounced"}, stored.keywords
        assert stored.header("X-Frontdesk-Machine") == "bounce"
        for h in NEED_HEADERS:
            assert stored.header(h) is None, h
        line = frontdesk_line(dc, dsn_id, mark)
        assert " machine=bounce " in line and " ticket=%s " % ticket in line
        assert " ack=queued" not in line
        # no acknowledgment of the bounce, and no new ticket for it
        time.sleep(2.0)
        assert len(relay.wait_for(2, timeout=0)) == 1
        tickets = {m.header("X-Frontdesk-Ticket").split()[0]
                   for m in dc.all_messages(SUPPORT)}
        assert tickets == {ticket}


OOO = [
    # Exchange/Outlook: Auto-Submitted and X-Auto-Response-Suppress
    ("Automatic reply: ", {"Auto-Submitted": "auto-generated",
                           "X-Auto-Response-Suppress": "All"}, "en"),
    # a header-less one: only the subject and In-Reply-To tell
    ("Out of Office: ", {}, "en"),
    ("Risposta automatica: ", {}, "it"),
]


@pytest.mark.parametrize("prefix,headers,lang", OOO,
                         ids=["exchange", "header-less", "header-less-it"])
def test_out_of_office_reply_to_our_ack_joins_its_ticket(
        frontdesk_built, prefix, headers, lang):
    with SmtpSink() as sink, ack_instance(frontdesk_built, sink,
                                          name="ooo") as dc:
        data, msgid = make_message(*BILLING, from_="Marta <marta@example.org>")
        assert dc.deliver_lmtp([SUPPORT], data,
                               mail_from="marta@example.org").code(
            SUPPORT) == 250
        [a] = sink.wait_for(1, timeout=15)
        ack = email.message_from_bytes(a.data, policy=email.policy.default)
        ticket = str(ack["X-Frontdesk-Ack"])
        [first] = dc.find(SUPPORT, msgid)
        sink.clear()

        mark = dc.log_mark()
        body = ("I am out of the office until Monday with no access to "
                "e-mail.\n" if lang == "en" else
                "Sono fuori ufficio fino a lunedi', senza accesso alla "
                "posta.\n")
        hdrs = dict(headers, **{"In-Reply-To": ack["Message-ID"],
                                "References": msgid + " " +
                                ack["Message-ID"]})
        ooo, oid = make_message(prefix + str(ack["Subject"]), body,
                                from_="Marta <marta@example.org>",
                                headers=hdrs)
        assert dc.deliver_lmtp([SUPPORT], ooo,
                               mail_from="marta@example.org").code(
            SUPPORT) == 250
        [stored] = dc.find(SUPPORT, oid)
        assert stored.folder == first.folder, (stored.folder, first.folder)
        assert stored.header("X-Frontdesk-Ticket") == ticket + " (auto-reply)"
        assert stored.keywords == {"auto-reply"}, stored.keywords
        for h in NEED_HEADERS:
            assert stored.header(h) is None, h
        line = frontdesk_line(dc, oid, mark)
        # an answering machine is no customer's follow-up
        assert " machine=auto-reply " in line, line
        assert " ack=follow-up" not in line and " ack=queued" not in line
        time.sleep(2.0)
        assert sink.wait_for(1, timeout=0) == []
