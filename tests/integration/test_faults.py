"""Faults around the delivery, against a real private Dovecot (issue 10):
what the MTA, the customer and the admin see when something frontdesk
depends on is broken."""

import re
import smtplib
import time
from dataclasses import dataclass, field

import pytest

from fdtest import Dovecot, LmtpSession, SmtpSink, make_message

SUPPORT = "support@example.com"
ON = {"frontdesk_enabled": "yes"}
BASE = {"frontdesk_addresses": SUPPORT,
        "frontdesk_company": "Example Support",
        "frontdesk_timezone": "UTC",
        "frontdesk_ack_global_limit": "100000",
        "frontdesk_ack_sender_limit": "1000"}
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


def lmtp_send(dc, data, sender, timeout=LMTP_BOUND + 10):
    """(reply code or None when no answer came, seconds)."""
    t0 = time.monotonic()
    try:
        with LmtpSession(dc.lmtp_port, timeout=timeout) as s:
            res = s.send([SUPPORT], data, sender)
        return res.code(SUPPORT), time.monotonic() - t0
    except (OSError, smtplib.SMTPException):
        return None, time.monotonic() - t0


def stored_copies(dc, conv):
    return len(dc.find(SUPPORT, conv.msgid))


def settle(sink, count, timeout=ACK_WAIT, quiet=3.0):
    sink.wait_for(count, timeout=timeout)
    time.sleep(quiet)
    return sink.wait_for(0, timeout=0)


def instance(frontdesk_built, sink, settings=None, users=None, name="fault",
             **kw):
    module, model = frontdesk_built
    ps = dict(BASE, frontdesk_model=model)
    ps.update(settings or {})
    return Dovecot(module_path=module, load_frontdesk=True,
                   users=users or {SUPPORT: dict(ON)}, plugin_settings=ps,
                   sink=sink, name=name, **kw)


@pytest.fixture
def sink():
    with SmtpSink() as s:
        yield s


# ---- quota --------------------------------------------------------------------

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
