"""frontdesk's events counted by Dovecot's stats service (issue 13): the
metric blocks of conf.d/92-frontdesk-metrics.conf, as an admin pastes them,
in a private Dovecot whose stats service serves OpenMetrics on a free port;
deliveries move the counts by need and office and the acknowledgment
counts by reason."""

import os
import re
import time
import urllib.request

import pytest

import fdtest
from fdtest import SmtpSink, make_message, ack_instance, ACK_SUPPORT, free_port

SNIPPET = os.path.join(fdtest.REPO, "conf.d", "92-frontdesk-metrics.conf")
LINE = re.compile(r'^(dovecot_[a-z_]+)(\{[^}]*\})? ([0-9.]+)$')


def scrape(port):
    """{(name, labels): value} of the endpoint."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=10) as f:
        text = f.read().decode()
    out = {}
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def delta(before, after, name, labels=""):
    return after.get((name, labels), 0) - before.get((name, labels), 0)


def wait_scrape(port, name, labels, want, before, timeout=10.0):
    """Stats are sent asynchronously: wait until the count is there."""
    deadline = time.monotonic() + timeout
    while True:
        now = scrape(port)
        if delta(before, now, name, labels) >= want or \
                time.monotonic() > deadline:
            return now
        time.sleep(0.2)


@pytest.fixture(scope="module")
def sink():
    with SmtpSink() as s:
        yield s


def test_metrics_count_deliveries_and_ack_reasons(frontdesk_built, sink):
    port = free_port()
    with open(SNIPPET) as f:
        snippet = f.read()
    assert "port = 9900" in snippet
    snippet = snippet.replace("port = 9900", "port = %d" % port)
    with ack_instance(frontdesk_built, sink, extra_conf=snippet,
                      name="metrics") as dc:
        before = scrape(port)
        billing, billing_id = make_message(
            subject="Invoice charged twice",
            body="Hello, you charged my invoice twice this month. "
                 "Please refund the second payment.\n")
        info, _ = make_message(
            subject="Opening hours",
            body="Hello, when is your shop open on Saturdays?\n")
        auto, _ = make_message(subject="Out of office",
                               body="I am away until Monday.\n",
                               headers={"Auto-Submitted": "auto-replied"})
        for data, who in ((billing, "anna@example.org"),
                          (info, "bruno@example.org"),
                          (auto, "carla@example.org"),
                          # the same message again: already acknowledged
                          (billing, "anna@example.org")):
            res = dc.deliver_lmtp([ACK_SUPPORT], data, mail_from=who)
            assert res.code(ACK_SUPPORT) == 250
        sink.wait_for(2, timeout=15)

        after = wait_scrape(port, "dovecot_frontdesk_deliveries_count", "",
                            4, before)
        assert delta(before, after, "dovecot_frontdesk_deliveries_count") == 4
        assert delta(before, after, "dovecot_frontdesk_deliveries_total",
                     '{need="billing",office="back"}') == 2
        assert delta(before, after, "dovecot_frontdesk_deliveries_total",
                     '{need="billing"}') == 2
        front = sum(v - before.get(k, 0) for k, v in after.items()
                    if k[0] == "dovecot_frontdesk_deliveries_total" and
                    k[1].endswith(',office="front"}'))
        # the out-of-office reply is machine mail: no need, no office
        assert front == 1, after
        assert delta(before, after, "dovecot_frontdesk_deliveries_total",
                     '{need="none",office="none"}') == 1
        assert delta(before, after, "dovecot_frontdesk_machine_mail_total",
                     '{machine="auto-reply"}') == 1
        after = wait_scrape(port, "dovecot_frontdesk_acks_suppressed_count",
                            "", 2, before)
        assert delta(before, after, "dovecot_frontdesk_acks_queued_total",
                     '{office="back"}') == 1
        assert delta(before, after, "dovecot_frontdesk_acks_queued_total",
                     '{office="front"}') == 1
        assert delta(before, after, "dovecot_frontdesk_acks_suppressed_total",
                     '{reason="auto-submitted"}') == 1
        assert delta(before, after, "dovecot_frontdesk_acks_suppressed_total",
                     '{reason="already-acked"}') == 1
        assert delta(before, after,
                     "dovecot_frontdesk_acks_suppressed_count") == 2
        # the frontdesk-sender service reports what the relay accepted
        after = wait_scrape(port, "dovecot_frontdesk_acks_sent_total", "",
                            2, before)
        assert delta(before, after, "dovecot_frontdesk_acks_sent_total") == 2
        assert delta(before, after,
                     "dovecot_frontdesk_ack_failures_count") == 0
