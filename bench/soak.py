#!/usr/bin/python3
"""The soak benchmark of issue 10 (run it through bench/soak; not run by CI).

8 LMTP clients deliver mixed customer and machine mail (bench/corpus.py) for
5 minutes (--quick: 60 s) to support@example.com on a private Dovecot
(tests/integration/fdtest.py) with frontdesk and acknowledgments on and
Sieve scripts active: a user script (fileinto :create, addflag, keep) and a
global sieve_before.  An SMTP sink in its own process (bench/sink.py)
catches the acknowledgments.  Every mail is distinct (its own sender,
Message-ID and conversation).  It reports:
  - lost mails (accepted with 250 but not in any folder) and mails not
    accepted, duplicate stores (one Message-ID stored more than once);
  - missing acknowledgments (a customer mail that frontdesk-classify says
    gets one, without one), duplicate ones, and acks to machine mail;
  - the RSS of the lmtp processes over time, and whether it stays flat;
  - Panic/Fatal/Error lines of the Dovecot log, throughput and latencies.
Exits non-zero when any of these is not as it must be.
"""

import argparse
import datetime
import os
import re
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, HERE)

import fdtest  # noqa: E402
import corpus  # noqa: E402
import delivery  # noqa: E402
from sink import AckSink  # noqa: E402

SUPPORT = corpus.SUPPORT
SETTLE = 2.0        # s to wait after the last expected ack, for duplicates
NO_ACK_GIVE_UP = 20.0   # s after the last delivery when not one ack came
# RSS growth of one lmtp process after the warm-up that still counts as flat
FLAT_MB = 2.0
FLAT_SHARE = 0.05

# The support mailbox's own script: what an admin writes next to frontdesk.
USER_SIEVE = """require ["fileinto", "imap4flags", "mailbox"];
if anyof (exists "list-id", header :contains "auto-submitted" "auto",
          address :localpart :is "from" ["mailer-daemon", "postmaster"]) {
    fileinto :create "Machine";
    stop;
}
if header :contains "X-Frontdesk-Need" "billing" {
    addflag "$soak-billing";
}
if header :contains "subject" ["urgent", "urgente", "dringend", "urgence"] {
    addflag "\\\\Flagged";
}
keep;
"""
# A global script run before the user's (sieve_before), as a spam filter's.
BEFORE_SIEVE = """require ["imap4flags"];
if header :contains "X-Spam-Flag" "YES" {
    addflag "Junk";
}
"""


def log(msg):
    print(msg, flush=True)


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            mt = re.search(r"VmRSS:\s+(\d+) kB", f.read())
        return int(mt.group(1)) if mt else None
    except OSError:
        return None


def stored_ids(maildir):
    """{Message-ID: [folder, ...]} of every mail in the Maildir++ tree
    (read from the files: faster than IMAP for tens of thousands)."""
    out = {}
    folders = [("INBOX", maildir)] + [
        (d[1:], os.path.join(maildir, d)) for d in sorted(os.listdir(maildir))
        if d.startswith(".") and os.path.isdir(os.path.join(maildir, d))]
    rx = re.compile(rb"(?im)^message-id:[ \t]*(?:\r?\n[ \t]+)?(<[^>\r\n]*>)")
    for name, path in folders:
        for sub in ("new", "cur"):
            d = os.path.join(path, sub)
            if not os.path.isdir(d):
                continue
            for fn in os.listdir(d):
                try:
                    with open(os.path.join(d, fn), "rb") as f:
                        head = f.read(65536)
                except OSError:
                    continue
                end = re.search(rb"\r?\n\r?\n", head)
                mt = rx.search(head[:end.start()] if end else head)
                key = mt.group(1).decode("ascii", "replace") if mt \
                    else "(no Message-ID) " + fn
                out.setdefault(key, []).append(name)
    return out


def instance(args, sink, before_path):
    settings = {} if args.plain else dict(delivery.FD_SETTINGS,
                                          frontdesk_model=args.model)
    if args.sieve in ("both", "before"):
        settings["sieve_before"] = before_path
    return fdtest.Dovecot(
        module_path=args.module, load_frontdesk=not args.plain,
        use_sieve=True,
        users={SUPPORT: "pw"},
        sieve={SUPPORT: USER_SIEVE} if args.sieve in ("both", "user")
        else None,
        plugin_settings=settings, sink=sink, name="soak")


def run_clients(dc, specs, args, sent, stop_at):
    """Deliver until stop_at with args.clients sessions; sent[k] =
    (spec, data, sender, msgid, result or exception)."""
    nxt = [0]
    lock = threading.Lock()
    errors = []

    def client():
        try:
            s = dc.lmtp(timeout=120)
        except Exception as e:
            errors.append(e)
            return
        try:
            while time.monotonic() < stop_at:
                with lock:
                    k = nxt[0]
                    nxt[0] += 1
                spec = specs[k % len(specs)]
                tag = "soak%d" % (k // len(specs))
                data, sender, msgid = corpus.render(spec, tag)
                try:
                    r = s.send([SUPPORT], data, sender)
                except Exception as e:      # noted; a new session
                    r = e
                    s.close()
                    s = dc.lmtp(timeout=120)
                with lock:
                    sent[k] = (spec, sender, msgid, r)
        except Exception as e:
            errors.append(e)
        finally:
            s.close()

    threads = [threading.Thread(target=client, daemon=True)
               for _ in range(args.clients)]
    for t in threads:
        t.start()
    return threads, errors


def sampler(dc, t0, sent, samples, stop):
    """Every args.sample seconds: (t, delivered, {pid: rss_kb})."""
    while True:
        rss = {}
        for p in dc.processes("lmtp"):
            v = rss_kb(p)
            if v is not None:
                rss[p] = v
        samples.append((time.monotonic() - t0, len(sent), rss))
        if stop.wait(stop.interval):
            return


def rss_verdict(samples, warmup, end):
    """(flat?, text): per lmtp process alive from the end of the warm-up to
    the last sample while mail was delivered, its growth; flat when each
    grew less than FLAT_MB or FLAT_SHARE of its size."""
    after = [s for s in samples if warmup <= s[0] <= end and s[2]]
    if len(after) < 2:
        return False, "too few samples after the warm-up"
    first, last = after[0], after[-1]
    common = sorted(set(first[2]) & set(last[2]))
    if not common:
        return False, ("no lmtp process lived from the warm-up (%.0f s) to "
                       "the end" % warmup)
    growth = {p: (last[2][p] - first[2][p]) / 1024.0 for p in common}
    worst = max(common, key=lambda p: growth[p])
    limit = max(FLAT_MB, FLAT_SHARE * first[2][worst] / 1024.0)
    delivered = last[1] - first[1]
    # the trend, not only the two ends: least squares of the mean RSS of
    # these processes over time, projected over the window
    pts = [(s[0], sum(s[2].get(p, 0) for p in common) / len(common) / 1024.0)
           for s in after if all(p in s[2] for p in common)]
    n = len(pts)
    mt = sum(t for t, _ in pts) / n
    mv = sum(v for _, v in pts) / n
    var = sum((t - mt) ** 2 for t, _ in pts)
    slope = sum((t - mt) * (v - mv) for t, v in pts) / var if var else 0.0
    trend = slope * (last[0] - first[0])
    text = ("%d lmtp processes alive from %.0f s to %.0f s (%d deliveries "
            "between); RSS growth per process %s MB; largest %+.2f MB "
            "(pid %d, %.1f -> %.1f MB), %+.1f kB per 1000 deliveries"
            % (len(common), first[0], last[0], delivered,
               " ".join("%+.2f" % growth[p] for p in common),
               growth[worst], worst, first[2][worst] / 1024.0,
               last[2][worst] / 1024.0,
               growth[worst] * 1024.0 / (delivered / 1000.0 / len(common))
               if delivered else 0.0))
    text += ("; trend of the mean per process %+.2f MB over the window "
             "(%+.2f MB/min)" % (trend, slope * 60))
    return growth[worst] < limit and trend < limit, text


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="bench/soak",
        description="soak: %d LMTP clients for 5 minutes with Sieve "
        "scripts active (issue 10)" % 8)
    ap.add_argument("--duration", type=float, default=None,
                    help="seconds of delivery (default 300, --quick 60)")
    ap.add_argument("--quick", action="store_true",
                    help="the 60-second try-out")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--pool", type=int, default=2000,
                    help="distinct mails generated; each is sent again "
                    "with a new sender and Message-ID (default 2000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sieve", choices=("both", "user", "before", "none"),
                    default="both",
                    help="Sieve scripts active (default both: a user "
                    "script and a sieve_before)")
    ap.add_argument("--sample", type=float, default=None,
                    help="seconds between RSS samples (default 5, "
                    "--quick 2)")
    ap.add_argument("--ack-timeout", type=float, default=60.0,
                    help="seconds to wait for missing acks after the last "
                    "delivery (default 60)")
    ap.add_argument("--plain", action="store_true",
                    help="without frontdesk (no acks expected): the "
                    "baseline of lmtp's own RSS, with the same Sieve")
    ap.add_argument("--module", default=fdtest.DEFAULT_MODULE)
    ap.add_argument("--model", default=fdtest.DEFAULT_MODEL)
    ap.add_argument("--out", default=None, help="also write the report here")
    args = ap.parse_args(argv)
    args.duration = args.duration or (60.0 if args.quick else 300.0)
    args.sample = args.sample or (2.0 if args.quick else 5.0)
    warmup = min(30.0, args.duration * 0.2)

    reason = fdtest.dovecot_missing()
    if reason:
        sys.exit("soak: " + reason)
    for p in (args.module, args.model):
        if not os.path.exists(p):
            sys.exit("soak: %s missing: build frontdesk first "
                     "(scripts/build)" % p)
    classify = delivery.find_classify()
    if not classify:
        sys.exit("soak: frontdesk-classify not built (scripts/build)")

    started = datetime.datetime.now().astimezone()
    log("soak: generating %d mails (seed %d) ..." % (args.pool, args.seed))
    specs = corpus.generate(args.pool, args.seed, fdtest.SHARED_DATA)
    log("soak: which of them get an acknowledgment (frontdesk-classify) ...")
    verdict = delivery.oracle_frontdesk(specs, classify, args.model)
    guard = {s.index: (verdict[s.index][2] if verdict[s.index][2]
                       is not None else s.eligible) for s in specs}
    disagree = sum(1 for s in specs if guard[s.index] != s.eligible)
    expect = {i: v and not args.plain for i, v in guard.items()}

    uid, gid = fdtest.ensure_mail_user()
    work = tempfile.mkdtemp(prefix="fdsoak", dir="/tmp")
    os.chmod(work, 0o755)
    before_path = os.path.join(work, "before.sieve")
    with open(before_path, "w") as f:
        f.write(BEFORE_SIEVE)
    os.chown(work, uid, gid)    # Pigeonhole saves the compiled binary here
    os.chown(before_path, uid, gid)

    sent = {}
    samples = []
    failures, notes = [], []
    try:
        with AckSink() as sink, instance(args, sink, before_path) as dc:
            mark = dc.log_mark()
            log("soak: %d clients for %.0f s, Sieve: %s ..."
                % (args.clients, args.duration, args.sieve))
            t0 = time.monotonic()
            stop = threading.Event()
            stop.interval = args.sample
            smp = threading.Thread(target=sampler,
                                   args=(dc, t0, sent, samples, stop),
                                   daemon=True)
            smp.start()
            threads, errors = run_clients(dc, specs, args, sent,
                                          t0 + args.duration)
            for t in threads:
                t.join()
            t_deliv = time.monotonic()
            n_expected = sum(1 for v in sent.values()
                             if expect[v[0].index] and
                             isinstance(v[3], fdtest.LmtpResult) and v[3].ok)
            log("soak: %d mails sent in %.0f s; waiting for %d acks ..."
                % (len(sent), t_deliv - t0, n_expected))
            while (time.monotonic() < t_deliv + args.ack_timeout and
                   sink.count() < n_expected):
                if (sink.count() == 0 and
                        time.monotonic() > t_deliv + NO_ACK_GIVE_UP):
                    break       # none at all: no use waiting the full time
                time.sleep(0.2)
            time.sleep(SETTLE)
            stop.set()
            smp.join()
            t_idle = time.monotonic()
            acks = sink.take()
            stored = stored_ids(dc.maildir(SUPPORT))
            log_text = dc.log(mark)
            if errors:
                failures.append("LMTP client failed: %r" % errors[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # --- mails ------------------------------------------------------------
    by_msgid = {v[2]: k for k, v in sent.items()}
    by_sender = {v[1].lower(): k for k, v in sent.items()
                 if v[0].kind == "customer"}
    ok = {k for k, v in sent.items()
          if isinstance(v[3], fdtest.LmtpResult) and v[3].ok}
    refused = sorted(set(sent) - ok)
    lost = [k for k in sorted(ok) if sent[k][2] not in stored]
    dup_stores = [k for k in sorted(ok) if len(stored.get(sent[k][2], [])) > 1]
    foreign = [m for m in stored if m not in by_msgid]
    folders = {}
    for mid, fl in stored.items():
        for f in fl:
            folders[f] = folders.get(f, 0) + 1

    # --- acknowledgments ---------------------------------------------------
    per_msg, stray = {}, []
    for a in acks:
        k = fdtest.ack_owner(a, by_msgid, by_sender)
        if k is None:
            stray.append(a)
        else:
            per_msg.setdefault(k, []).append(a)
    want = {k for k in ok if expect[sent[k][0].index]}
    missing = sorted(want - set(per_msg))
    dup_acks = sum(len(v) - 1 for v in per_msg.values())
    to_machine = [k for k in per_msg if not expect[sent[k][0].index]]
    lat = [min(a.time for a in per_msg[k]) - sent[k][3].t_end
           for k in want if k in per_msg]
    dlat = [sent[k][3].t_reply - sent[k][3].t_data for k in ok]

    # --- log and memory -----------------------------------------------------
    dur = t_deliv - t0
    levels = {lv: [l for l in log_text.splitlines() if " %s: " % lv in l]
              for lv in ("Panic", "Fatal", "Error", "Warning")}
    # the last sample while the clients were delivering (or just after)
    flat, rss_text = rss_verdict(samples, warmup, dur + 0.5 * args.sample)

    if refused:
        v = sent[refused[0]][3]
        failures.append("%d mails not accepted, e.g. %s"
                        % (len(refused), v if isinstance(v, Exception)
                           else v.data or v.rcpt))
    if lost:
        failures.append("%d mails accepted but not stored, e.g. %s"
                        % (len(lost), sent[lost[0]][2]))
    if dup_stores:
        failures.append("%d mails stored more than once, e.g. %s"
                        % (len(dup_stores), sent[dup_stores[0]][2]))
    if foreign:
        failures.append("%d stored mails that were not sent, e.g. %s"
                        % (len(foreign), foreign[0]))
    if missing:
        failures.append("%d of %d acknowledgments missing, e.g. for %s "
                        "(waited %.0f s after the last delivery)"
                        % (len(missing), len(want), sent[missing[0]][2],
                           t_idle - t_deliv))
    if dup_acks:
        failures.append("%d duplicate acknowledgments" % dup_acks)
    if to_machine or stray:
        failures.append("%d acknowledgments to machine mail, %d that answer "
                        "no mail sent" % (len(to_machine), len(stray)))
    for lv in ("Panic", "Fatal"):
        if levels[lv]:
            failures.append("%d %s lines in the Dovecot log, first: %s"
                            % (len(levels[lv]), lv, levels[lv][0][:300]))
    if not flat:
        failures.append("lmtp RSS is not flat: " + rss_text)
    for lv in ("Error", "Warning"):
        if levels[lv]:
            notes.append("%d %s lines in the Dovecot log, first: %s"
                         % (len(levels[lv]), lv, levels[lv][0][:300]))
    if disagree:
        notes.append("frontdesk-classify's guard and the corpus disagree on "
                     "%d of %d generated mails; the guard's verdict is what "
                     "is expected" % (disagree, len(specs)))

    # --- report -------------------------------------------------------------
    out = []
    out.append("# Soak: %d LMTP clients, %.0f s, Sieve %s%s\n"
               % (args.clients, dur, args.sieve,
                  ", without frontdesk (--plain)" if args.plain else ""))
    out.append("Run %s on %s (%d CPUs, load %.2f at the end); commit %s. "
               "Command: `bench/soak%s`.\n"
               % (started.strftime("%Y-%m-%d %H:%M %Z"),
                  delivery.machine_info()["cpu"], os.cpu_count(),
                  os.getloadavg()[0], delivery.git_info(),
                  "".join(" " + a for a in (argv if argv is not None
                                            else sys.argv[1:]))))
    n_machine = sum(1 for v in sent.values() if v[0].kind == "machine")
    out.append("| figure | value |\n|---|---:|")
    rows = [
        ("mails sent (customer / machine)", "%d (%d / %d)"
         % (len(sent), len(sent) - n_machine, n_machine)),
        ("deliveries/s", "%.1f" % (len(ok) / dur if dur else 0)),
        ("delivery latency p50 / p99 ms", "%s / %s"
         % (ms(delivery.pct(dlat, 50)), ms(delivery.pct(dlat, 99)))),
        ("not accepted", len(refused)),
        ("**lost** (accepted, not stored)", len(lost)),
        ("**duplicate stores**", len(dup_stores)),
        ("acks expected / received", "%d / %d" % (len(want), len(acks))),
        ("**missing acks**", len(missing)),
        ("**duplicate acks**", dup_acks),
        ("acks to machine mail / to nothing sent", "%d / %d"
         % (len(to_machine), len(stray))),
        ("ack latency p50 / p99 ms", "%s / %s"
         % (ms(delivery.pct(lat, 50)), ms(delivery.pct(lat, 99)))),
        ("stored per folder", ", ".join("%s %d" % kv
                                        for kv in sorted(folders.items()))),
        ("log Panic / Fatal / Error / Warning lines", " / ".join(
            str(len(levels[lv])) for lv in ("Panic", "Fatal", "Error",
                                            "Warning"))),
        ("**lmtp RSS flat**", "yes" if flat else "NO"),
    ]
    for name, v in rows:
        out.append("| %s | %s |" % (name, v))
    out.append("\nRSS: " + rss_text + ".\n")
    out.append("lmtp RSS over time (VmRSS; the warm-up is the first %.0f s):"
               "\n" % warmup)
    out.append("| s | delivered | lmtp processes | total MB | largest MB |")
    out.append("|---:|---:|---:|---:|---:|")
    step = max(1, len(samples) // 15)
    shown = samples[::step] + ([samples[-1]] if (len(samples) - 1) % step
                               else [])
    for t, n, rss in shown:
        out.append("| %.0f | %d | %d | %.1f | %.1f |"
                   % (t, n, len(rss), sum(rss.values()) / 1024.0,
                      max(rss.values(), default=0) / 1024.0))
    out.append("")
    if failures:
        out.append("**Failures:**\n")
        out.extend("- " + f for f in failures)
        out.append("")
    if notes:
        out.append("Notes:\n")
        out.extend("- " + n for n in notes)
        out.append("")
    out.append("Waited %.1f s after the last delivery for acks." %
               (t_idle - t_deliv))
    text = "\n".join(out) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 1 if failures else 0


def ms(v):
    return "-" if v is None else "%.0f" % (v * 1e3)


if __name__ == "__main__":
    sys.exit(main())
