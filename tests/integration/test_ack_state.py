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
import time

import pytest

import fdtest
from fdtest import Dovecot, SmtpSink, make_message, free_port

SUPPORT = "support@example.com"
ON = {"frontdesk_enabled": "yes"}
BASE = {"frontdesk_addresses": SUPPORT,
        "frontdesk_company": "Example Support",
        "frontdesk_timezone": "UTC",
        "frontdesk_ack_global_limit": "100000",
        "frontdesk_ack_sender_limit": "1000"}
ACK_WAIT = 15.0
CRASH = ("Fatal", "Panic", "killed with signal")


def instance(frontdesk_built, sink, settings=None, users=None, name="st",
             base=BASE, **kw):
    module, model = frontdesk_built
    ps = dict(base, frontdesk_model=model)
    ps.update(settings or {})
    return Dovecot(module_path=module, load_frontdesk=True,
                   users=users or {SUPPORT: dict(ON)}, plugin_settings=ps,
                   sink=sink, use_sieve=False, name=name, **kw)


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
