#!/usr/bin/python3
"""Delivers tests/data/demo/*.eml to a private Dovecot with frontdesk and
shows, per message, where it was filed and how it was tagged."""
import email.header
import re
import email.utils
import glob
import os
import sys
import textwrap

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import fdtest  # noqa: E402

SUPPORT = "support@example.com"


def decode(value):
    if value is None:
        return ""
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except Exception:
        return value


def cut(s, n):
    s = " ".join(s.split())
    return s if len(s) <= n else s[:n - 1] + "…"


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "tests", "data", "demo")
    files = sorted(glob.glob(os.path.join(src, "*.eml")))
    if not files:
        raise SystemExit("demo: no sample mails in tests/data/demo")
    users = {SUPPORT: {"password": "demo", "frontdesk_enabled": "yes"}}
    with fdtest.SmtpSink() as sink, fdtest.Dovecot(
            users=users, load_frontdesk=True, sink=sink,
            plugin_settings={"frontdesk_model": fdtest.DEFAULT_MODEL,
                             "frontdesk_addresses": SUPPORT,
                             "frontdesk_company": "Example Support",
                             "frontdesk_ack_sender_limit": "10"},
            name="demo") as dc:
        print("Private Dovecot %s running in %s (LMTP 127.0.0.1:%d, IMAP 127.0.0.1:%d)"
              % (dc.version if hasattr(dc, "version") else "2.3", dc.dir,
                 dc.lmtp_port, dc.imap_port))
        failures = 0
        with dc.lmtp() as lmtp:
            for path in files:
                with open(path, "rb") as f:
                    data = f.read()
                res = lmtp.send([SUPPORT], data,
                                mail_from=sender_of(data) or "customer@example.org")
                if not res.ok:
                    failures += 1
                    print("  %s: LMTP %s" % (os.path.basename(path), res.data))
        stored = dc.all_messages(SUPPORT)
        verdicts = dict((mid, why) for why, mid in re.findall(
            r" ack=(\S+) msgid=(\S+)", dc.log()))
        expected = sum(1 for v in verdicts.values() if v == "queued")
        acks = sink.wait_for(expected, timeout=15)
        acked = {}
        for a in acks:
            m = a.message
            acked[m.get("In-Reply-To")] = (a, m)
        print()
        rows = []
        for m in stored:
            need = m.header("X-Frontdesk-Need") or "-"
            office = m.header("X-Frontdesk-Office") or "-"
            score = (m.header("X-Frontdesk-Score") or "").split(" ")[0] or "-"
            rows.append((
                cut(email.utils.parseaddr(decode(m.header("From")))[1], 26),
                cut(decode(m.header("Subject")), 38),
                m.folder, cut(" ".join(sorted(m.keywords - {"$Recent"})) or "-", 24),
                cut(need, 22), cut(office, 14), score,
                "sent" if m.message_id in acked else
                "no: " + verdicts.get(m.message_id, "?")))
        rows.sort(key=lambda r: (r[2], r[3]))
        head = ("sender", "subject", "folder", "keywords", "need", "office",
                "conf", "acknowledgment")
        widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
        line = "  ".join("%-*s" % (w, h) for w, h in zip(widths, head))
        print(line)
        print("-" * len(line))
        for r in rows:
            print("  ".join("%-*s" % (w, v) for w, v in zip(widths, r)))
        print()
        by_folder = {}
        for m in stored:
            by_folder[m.folder] = by_folder.get(m.folder, 0) + 1
        urgent = sum(1 for m in stored if "urgent" in m.keywords)
        unsure = sum(1 for m in stored if "unsure" in m.keywords)
        print("Summary: %d mails delivered, %d stored (%s), %d urgent, %d unsure, "
              "%d delivery failures, %d acknowledgments sent." % (
                  len(files), len(stored),
                  ", ".join("%s %d" % kv for kv in sorted(by_folder.items())),
                  urgent, unsure, failures, len(acks)))
        if acks:
            a, m = acks[0], acks[0].message
            print("\nOne acknowledgment as the customer receives it (to %s):"
                  % ", ".join(a.rcpts))
            print("  Subject: " + " ".join(decode(m.get("Subject")).split()))
            for part in m.walk():
                if part.get_content_type() == "text/plain":
                    text = part.get_payload(decode=True).decode("utf-8")
                    for l in text.splitlines():
                        print("  | " + l)
                    break
        logs = [l for l in dc.log().splitlines() if "frontdesk:" in l]
        print("\nLast frontdesk log lines (one per delivery):")
        for l in logs[-3:]:
            print("  " + textwrap.shorten(l[l.index("frontdesk:"):], 150))
    print("\nDovecot stopped; its directory was removed.")
    return 1 if failures or len(stored) != len(files) else 0


def sender_of(data):
    msg = email.message_from_bytes(data)
    rp = msg.get("Return-Path")
    if rp is not None:
        addr = email.utils.parseaddr(rp)[1]
        return addr  # "" for the null sender <>
    return email.utils.parseaddr(msg.get("From", ""))[1] or None


if __name__ == "__main__":
    sys.exit(main())
