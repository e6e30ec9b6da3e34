#!/usr/bin/python3
"""The delivery benchmark of issue 5 (run it through bench/run).

Three configurations of one private Dovecot (tests/integration/fdtest.py),
each delivering the same N support mails over LMTP with 1 and 4 clients:
  plain      no Sieve, no frontdesk: the floor;
  peer       Pigeonhole Sieve with ../shared/peer.sieve (vacation, fileinto,
             imap4flags) as support@example.com's script;
  frontdesk  the plugin with acknowledgments on (and sieve loaded, no script,
             as the README deploys it).
Runs are interleaved (plain, peer, frontdesk, plain, ...) so that machine
drift hits all alike, each on a fresh instance.  An SMTP sink in its own
process notes when each acknowledgment arrives.  Every run is checked: each
message stored exactly once, in the folder and with the keywords expected
(Pigeonhole's sieve-test and frontdesk-classify say what to expect), one
acknowledgment per customer mail and none to machine mail.
"""

import argparse
import concurrent.futures
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
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
from sink import AckSink, capacity  # noqa: E402

SUPPORT = corpus.SUPPORT
WARMUP = "warmup@example.com"
CONFIGS = ("plain", "peer", "frontdesk")
# Issue 14: frontdesk with its items switched off one at a time, each
# variant without what the one before it had (--items).  The difference
# between neighbours is what that item costs lmtp.
ITEM_CONFIGS = (
    # no spool entry, no ack built, no wake-up of the sender; the guard,
    # ticket claim, counters and the tagged copy stay (shadow mode)
    ("fd-nospool", "the ack: built, spooled, sender told",
     {"frontdesk_ack": "shadow"}),
    # no ticket lookup/claim, no counters: no state at all
    ("fd-nostate", "the state (ticket lookup + claim, sender counter)",
     {"frontdesk_ack": "no"}),
    # the mail saved as received: no raw mailbox over the tagged stream
    ("fd-nohdr", "the tagged copy (X-Frontdesk-* headers, raw mailbox)",
     {"frontdesk_add_headers": "no"}),
    # everything to INBOX: no second/third mailbox
    ("fd-inbox", "the office folders instead of INBOX",
     {"frontdesk_folder_front": "INBOX", "frontdesk_folder_back": "INBOX",
      "frontdesk_folder_machine": ""}),
    # Sieve loaded without a script, no frontdesk: what is left is the
    # classification and the keywords
    ("sieve", "classification + keywords (+ loading the plugin)", None),
)
ITEM_NAMES = tuple(c[0] for c in ITEM_CONFIGS)


# --baseline DIR: frontdesk of another build tree (DIR/.libs/ and
# DIR/frontdesk-sender), e.g. main's, as configuration fd-base in the same
# interleaved runs: a before/after comparison that machine drift hits alike
BASELINE = None


def item_settings(config):
    """FD_SETTINGS for a frontdesk configuration or item variant."""
    out = dict(FD_SETTINGS)
    if config in ("frontdesk", "fd-base"):
        return out
    for name, _, over in ITEM_CONFIGS:
        if over is None:
            break
        out.update(over)
        if name == config:
            return out
    raise KeyError(config)


def is_fd(config):
    return config == "frontdesk" or config.startswith("fd-")
PEER_SIEVE = os.path.join(fdtest.SHARED_DATA, "..", "peer.sieve")
FD_SETTINGS = {
    "frontdesk_enabled": "yes",
    "frontdesk_ack": "yes",
    # a benchmark delivers a day's mail in seconds: the per-minute circuit
    # breaker (default 300) would trip, as it should on a real desk
    "frontdesk_ack_global_limit": "0",
    "frontdesk_addresses": " ".join(corpus.ADDRESSES),
}
CACHE = os.path.join(HERE, ".cache")
HOOKS = (("classify-bench", "Micro-benchmark: message view + classification"),
         ("ack-bench", "Micro-benchmark: acknowledgment composition"))
WARMUP_PER_CLIENT = 5
SETTLE = 0.5        # s to wait after the last expected ack, for duplicates


def log(msg):
    print(msg, flush=True)


# ---- what each message should become ----------------------------------------

def oracle_peer(specs, script):
    """{index: (folder, {keywords})} as Pigeonhole's own sieve-test runs
    the peer script on each message (cached across invocations)."""
    os.makedirs(CACHE, exist_ok=True)
    cache_path = os.path.join(CACHE, "peer-oracle.json")
    try:
        with open(cache_path) as f:
            cache = json.load(f)
    except (OSError, ValueError):
        cache = {}
    uid, gid = fdtest.ensure_mail_user()
    work = tempfile.mkdtemp(prefix="fdbo", dir="/tmp")
    os.chmod(work, 0o755)
    try:
        with open(os.path.join(work, "peer.sieve"), "w") as f:
            f.write(script)
        with open(os.path.join(work, "c.conf"), "w") as f:
            f.write("mail_location = maildir:%s/Maildir\n" % work)
        os.makedirs(os.path.join(work, "Maildir"))
        todo = {}
        out = {}
        for s in specs:
            data, sender, _ = corpus.render(s, "oracle")
            key = hashlib.sha256(script.encode() + b"\0" + data).hexdigest()
            if key in cache:
                out[s.index] = cache[key]
            else:
                path = os.path.join(work, "%05d.eml" % s.index)
                with open(path, "wb") as f:
                    f.write(data)
                todo[s.index] = (key, path, sender)
        for root, dirs, files in os.walk(work):
            for n in dirs + files:
                os.chown(os.path.join(root, n), uid, gid)
        os.chown(work, uid, gid)
        if todo:
            log("  sieve-test on %d messages (cached afterwards) ..."
                % len(todo))

        def run(item):
            index, (key, path, sender) = item
            p = subprocess.run(
                ["runuser", "-u", fdtest.MAIL_USER, "--", "sieve-test",
                 "-c", os.path.join(work, "c.conf")] +
                (["-f", sender] if sender else []) +
                ["-a", SUPPORT, os.path.join(work, "peer.sieve"), path],
                capture_output=True, text=True, timeout=60)
            folders = re.findall(r"store message in folder: (\S+)", p.stdout)
            flags = re.findall(r"\+ add IMAP flags: (.*)", p.stdout)
            if p.returncode != 0 or len(folders) != 1:
                raise RuntimeError("sieve-test failed on %s: %s %s"
                                   % (path, p.stdout[-500:], p.stderr[-500:]))
            return index, key, [folders[0],
                                sorted(" ".join(flags).split())]

        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            for index, key, val in ex.map(run, todo.items()):
                cache[key] = val
                out[index] = val
        if todo:
            with open(cache_path + ".tmp", "w") as f:
                json.dump(cache, f)
            os.replace(cache_path + ".tmp", cache_path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {i: (v[0], set(v[1])) for i, v in out.items()}


def find_classify():
    for p in (os.path.join(REPO, "frontdesk-classify"),
              os.path.join(REPO, "src", "cli", "frontdesk-classify")):
        if os.access(p, os.X_OK):
            return p
    return None


def oracle_frontdesk(specs, classify, model, settings=None):
    """{index: (folder, {keywords}, ack verdict)} from frontdesk-classify,
    which runs the plugin's own code on each message."""
    settings = settings or FD_SETTINGS
    work = tempfile.mkdtemp(prefix="fdbo", dir="/tmp")
    try:
        conf = os.path.join(work, "dovecot.conf")
        with open(conf, "w") as f:
            f.write("plugin {\n%s}\n" % "".join(
                "  %s = %s\n" % kv for kv in
                dict(settings, frontdesk_model=model,
                     frontdesk_weights=fdtest.DEFAULT_WEIGHTS).items()))
        d = os.path.join(work, "m")
        os.mkdir(d)
        for s in specs:
            data, sender, _ = corpus.render(s, "oracle")
            with open(os.path.join(d, "%05d.eml" % s.index), "wb") as f:
                f.write(b"Return-Path: <%s>\r\nDelivered-To: %s\r\n"
                        % (sender.encode(), SUPPORT.encode()) + data)
        p = subprocess.run([classify, "-c", conf, d], capture_output=True,
                           text=True, timeout=600)
        out = {}
        for line in p.stdout.splitlines():
            r = json.loads(line)
            i = int(os.path.basename(r["file"]).split(".")[0])
            out[i] = (r["folder"], set(r["keywords"]),
                      r.get("ack", {}).get("send"),
                      r.get("ack", {}).get("reason"))
        if len(out) != len(specs):
            raise RuntimeError("frontdesk-classify answered for %d of %d "
                               "messages: %s" % (len(out), len(specs),
                                                 p.stderr[-1000:]))
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---- one run ----------------------------------------------------------------

SENDER_SERVICE = True
STORAGE = "maildir"


def instance(config, sink, module, model, peer_script):
    users = {SUPPORT: "pw", WARMUP: "pw"}
    kw = dict(mail_storage=STORAGE)
    if config == "plain":
        return fdtest.Dovecot(users=users, load_frontdesk=False,
                              use_sieve=False, sink=sink, name="plain", **kw)
    if config == "peer":
        return fdtest.Dovecot(users=users, load_frontdesk=False,
                              use_sieve=True, sieve={SUPPORT: peer_script},
                              sink=sink, name="peer", **kw)
    if config == "sieve":
        return fdtest.Dovecot(users=users, load_frontdesk=False,
                              use_sieve=True, sink=sink, name="sieve", **kw)
    if config == "fd-base":
        return BaselineDovecot(module_path=BASELINE[0], load_frontdesk=True,
                               use_sieve=True, users=users,
                               plugin_settings=dict(FD_SETTINGS,
                                                    frontdesk_model=model),
                               sink=sink, name=config,
                               sender_service=SENDER_SERVICE, **kw)
    return fdtest.Dovecot(module_path=module, load_frontdesk=True,
                          use_sieve=True, users=users,
                          plugin_settings=dict(item_settings(config),
                                               frontdesk_model=model),
                          sink=sink, name=config,
                          sender_service=SENDER_SERVICE, **kw)


class BaselineDovecot(fdtest.Dovecot):
    """An instance with the baseline's frontdesk-sender: fdtest copies
    DEFAULT_SENDER when the instance starts."""

    def start(self):
        own = fdtest.DEFAULT_SENDER
        fdtest.DEFAULT_SENDER = BASELINE[1]
        try:
            return super().start()
        finally:
            fdtest.DEFAULT_SENDER = own


def _cpu(pid, part=None):
    """CPU seconds of pid: user+system, or only "user" or "sys"."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = {"user": int(st[11]), "sys": int(st[12])}.get(
        part, int(st[11]) + int(st[12]))
    return ticks / os.sysconf("SC_CLK_TCK")


class SyscallCount:
    """`strace -c -f` attached to the lmtp processes for the timed part of
    a run (--syscalls): calls per syscall.  strace slows lmtp down several
    times: such a run counts, it does not time."""

    def __init__(self, pids, out):
        self.out = out
        cmd = ["strace", "-c", "-f", "-qq", "-o", out]
        for p in pids:
            cmd += ["-p", str(p)]
        self.pids = pids
        self.proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(
                self._traced(p) for p in pids):
            time.sleep(0.02)

    @staticmethod
    def _traced(pid):
        try:
            with open("/proc/%d/status" % pid) as f:
                mt = re.search(r"TracerPid:\s+(\d+)", f.read())
            return bool(mt and int(mt.group(1)))
        except OSError:
            return True

    def stop(self):
        """{syscall: calls} once strace has detached."""
        self.proc.send_signal(2)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        calls = {}
        try:
            with open(self.out) as f:
                for line in f:
                    parts = line.split()
                    # % time, seconds, usecs/call, calls, [errors,] syscall
                    if len(parts) >= 5 and parts[3].isdigit() and \
                            parts[-1] != "total":
                        calls[parts[-1]] = int(parts[3])
        except OSError:
            pass
        return calls


def _vmhwm_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            mt = re.search(r"VmHWM:\s+(\d+) kB", f.read())
        return int(mt.group(1)) if mt else 0
    except OSError:
        return 0


def pct(values, p):
    """The p-th percentile (linear between closest ranks); None if empty."""
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def deliver(dc, msgs, clients, on_start=None):
    """Deliver msgs [(data, sender, msgid)] with `clients` LMTP sessions,
    calling on_start() once all are connected and warm; (start time,
    [LmtpResult or exception] in msgs order)."""
    results = [None] * len(msgs)
    nxt = [0]
    lock = threading.Lock()
    start = []

    def go():
        if on_start:
            on_start()
        start.append(time.monotonic())
    barrier = threading.Barrier(clients + 1, action=go)
    warm, _ = fdtest.make_message(subject="warm-up", to=WARMUP)
    errors = []

    def client():
        try:
            s = dc.lmtp(timeout=60)
        except Exception as e:
            errors.append(e)
            barrier.abort()
            return
        try:
            for _ in range(WARMUP_PER_CLIENT):
                s.send([WARMUP], warm, "")
            barrier.wait()
            while True:
                with lock:
                    i = nxt[0]
                    nxt[0] += 1
                if i >= len(msgs):
                    return
                data, sender, _ = msgs[i]
                try:
                    results[i] = s.send([SUPPORT], data, sender)
                except Exception as e:      # noted, the session is reopened
                    results[i] = e
                    s.close()
                    s = dc.lmtp(timeout=60)
        except threading.BrokenBarrierError:
            pass
        except Exception as e:
            errors.append(e)
            try:
                barrier.abort()
            except Exception:
                pass
        finally:
            s.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        pass
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError("LMTP client failed: %r" % errors[0])
    return start[0], results


def one_run(config, clients, tag, specs, oracle, sink, args, peer_script):
    msgs = [corpus.render(s, tag) for s in specs]
    by_msgid = {m[2]: i for i, m in enumerate(msgs)}
    by_sender = {m[1].lower(): i for i, m in enumerate(msgs)
                 if specs[i].kind == "customer"}
    eligible = {i for i, s in enumerate(specs) if s.eligible}
    expect_acks = config in ("peer", "frontdesk", "fd-base")
    failures, notes = [], []
    sink.take()
    sink_cpu0 = _cpu(sink.proc.pid)
    with instance(config, sink, args.module, args.model, peer_script) as dc:
        mark = dc.log_mark()
        cpu0, sys0, tracer = {}, {}, []

        def on_start():
            lmtp = dc.processes("lmtp")
            if args.syscalls_now:
                tracer.append(SyscallCount(
                    lmtp, os.path.join(dc.dir, "strace-c.txt")))
            cpu0.update((p, _cpu(p)) for p in lmtp)
            sys0.update((p, _cpu(p, "sys")) for p in lmtp)
        t0, results = deliver(dc, msgs, clients, on_start=on_start)
        syscalls = tracer[0].stop() if tracer else {}
        ok = [r for r in results if isinstance(r, fdtest.LmtpResult)
              and r.ok]
        t_deliv = max((r.t_reply for r in ok), default=t0)
        n_expected = len(eligible) if expect_acks else 0
        deadline = t_deliv + args.ack_timeout
        while time.monotonic() < deadline and sink.count() < n_expected:
            time.sleep(0.02)
        waited_out = sink.count() < n_expected
        time.sleep(SETTLE)
        acks = sink.take()
        sink_cpu = _cpu(sink.proc.pid) - sink_cpu0
        lmtp = dc.processes("lmtp")
        rss_kb = max((_vmhwm_kb(p) for p in lmtp), default=0)
        lmtp_cpu = sum(_cpu(p) - cpu0.get(p, 0.0) for p in lmtp)
        lmtp_sys = sum(_cpu(p, "sys") - sys0.get(p, 0.0) for p in lmtp)
        stored = dc.all_messages(SUPPORT)
        log_text = dc.log(mark)

    # deliveries
    bad = [(i, r) for i, r in enumerate(results)
           if not (isinstance(r, fdtest.LmtpResult) and r.ok)]
    for i, r in bad[:5]:
        failures.append("message %d (%s) not delivered: %s"
                        % (i, specs[i].source,
                           r if isinstance(r, Exception)
                           else r.data or r.rcpt))
    if len(bad) > 5:
        failures.append("... %d more messages not delivered" % (len(bad) - 5))
    for level in ("Panic", "Fatal"):
        lines = [l for l in log_text.splitlines() if " %s: " % level in l]
        if lines:
            failures.append("%d %s lines in the Dovecot log, first: %s"
                            % (len(lines), level, lines[0][:300]))
    errs = [l for l in log_text.splitlines() if " Error: " in l]
    if errs:
        notes.append("%d Error lines in the Dovecot log, first: %s"
                     % (len(errs), errs[0][:300]))

    # storage: once each, where expected
    seen = {}
    for m in stored:
        seen.setdefault(m.message_id, []).append(m)
    foreign = [mid for mid in seen if mid not in by_msgid]
    if foreign:
        failures.append("%d stored messages that were not sent, e.g. %s"
                        % (len(foreign), foreign[0]))
    lost = [i for i, m in enumerate(msgs) if m[2] not in seen]
    twice = [i for i, m in enumerate(msgs) if len(seen.get(m[2], [])) > 1]
    if lost:
        failures.append("%d messages not stored, e.g. #%d %s"
                        % (len(lost), lost[0], specs[lost[0]].source))
    if twice:
        failures.append("%d messages stored more than once, e.g. #%d"
                        % (len(twice), twice[0]))
    wrong = []
    for i, m in enumerate(msgs):
        copies = seen.get(m[2])
        if not copies:
            continue
        got = (copies[0].folder, copies[0].keywords)
        if config in ("plain", "sieve"):
            want = ("INBOX", set())
        else:
            want = oracle[config][i][:2]
        if got[0] != want[0] or set(got[1]) != set(want[1]):
            wrong.append((i, got, want))
    if wrong:
        i, got, want = wrong[0]
        failures.append(
            "%d messages filed or tagged otherwise than expected, e.g. #%d "
            "(%s): %s %s, expected %s %s"
            % (len(wrong), i, specs[i].source, got[0], sorted(got[1]),
               want[0], sorted(want[1])))

    # acknowledgments
    per_msg = {}
    stray, unauto = [], []
    for a in acks:
        i = fdtest.ack_owner(a, by_msgid, by_sender)
        if i is None:
            stray.append(a)
            continue
        per_msg.setdefault(i, []).append(a)
        if not re.match(r"(?i)auto-replied",
                        a.get("Auto-Submitted") or ""):
            unauto.append((i, a))
    to_machine = [i for i in per_msg if not specs[i].eligible]
    dups = sum(len(v) - 1 for v in per_msg.values() if len(v) > 1)
    if expect_acks:
        missing = [i for i in sorted(eligible) if i not in per_msg]
    else:
        missing = []
        if per_msg or stray:
            failures.append("%d acknowledgments sent by a configuration "
                            "that sends none" % len(acks))
    if to_machine:
        i = to_machine[0]
        failures.append("%d acknowledgments to machine mail, e.g. #%d %s "
                        "(envelope sender %r)"
                        % (len(to_machine), i, specs[i].source,
                           specs[i].env_from))
    if stray and expect_acks:
        failures.append("%d acknowledgments that answer no message sent, "
                        "e.g. to %s" % (len(stray), stray[0].rcpts))
    if dups:
        failures.append("%d duplicate acknowledgments" % dups)
    if missing:
        if not acks:
            failures.append("NO acknowledgments at all from %s (%d expected; "
                            "waited %.0f s after the last delivery)%s"
                            % (config, len(eligible), args.ack_timeout,
                               " -- this frontdesk build sent none (acks "
                               "not implemented yet, or their submission "
                               "failed: see the notes)"
                               if is_fd(config) else ""))
        else:
            i = missing[0]
            failures.append("%d of %d acknowledgments missing, e.g. for #%d "
                            "(%s)%s" % (len(missing), len(eligible), i,
                                        specs[i].source,
                                        " after waiting %.0f s"
                                        % args.ack_timeout
                                        if waited_out else ""))
    if unauto:
        failures.append("%d acknowledgments without Auto-Submitted: "
                        "auto-replied" % len(unauto))
    if config in ("frontdesk", "fd-base"):
        bad_id = [a for v in per_msg.values() for a in v
                  if not re.match(r"<frontdesk\.[^@>]+@[^>]+>",
                                  a.get("Message-ID") or "")]
        if bad_id:
            notes.append("%d frontdesk acks without a <frontdesk.…@…> "
                         "Message-ID, e.g. %r"
                         % (len(bad_id), bad_id[0].get("Message-ID")))

    # figures
    deliv_lat = [r.t_reply - r.t_data for r in ok]
    first_ack = {i: min(a.time for a in v) for i, v in per_msg.items()
                 if specs[i].eligible}
    ack_lat = [t - results[i].t_end for i, t in first_ack.items()
               if isinstance(results[i], fdtest.LmtpResult)]
    t_end = max([t_deliv] + list(first_ack.values()))
    return {
        "config": config, "clients": clients, "tag": tag,
        "rate": len(ok) / (t_end - t0) if t_end > t0 else 0.0,
        "delivery_rate": len(ok) / (t_deliv - t0) if t_deliv > t0 else 0.0,
        "seconds": t_end - t0,
        "deliv_p50": pct(deliv_lat, 50), "deliv_p95": pct(deliv_lat, 95),
        "deliv_p99": pct(deliv_lat, 99),
        "ack_p50": pct(ack_lat, 50), "ack_p99": pct(ack_lat, 99),
        "acks": len(acks), "expected_acks": len(eligible) if expect_acks
        else 0,
        "dups": dups, "missing": len(missing),
        "unwanted": len(to_machine) + (len(stray) if expect_acks
                                       else len(acks)),
        "rss_mb": rss_kb / 1024.0, "lmtp_processes": len(lmtp),
        "cpu_ms": lmtp_cpu / len(ok) * 1e3 if ok else None,
        "sys_ms": lmtp_sys / len(ok) * 1e3 if ok else None,
        "syscalls": {k: v / len(ok) for k, v in syscalls.items()}
        if ok else {},
        "sink_cpu_us_per_ack": sink_cpu / len(acks) * 1e6 if acks else None,
        "sink_busy": sink_cpu / (t_end - t0 + SETTLE) if t_end > t0 else 0,
        "failures": failures, "notes": notes,
        "load": os.getloadavg()[0],
    }


# ---- the relay down or stalled (issue 14) -------------------------------------

def relay_run(kind, specs, oracle, sink, args):
    """frontdesk with the relay (the ack sink) going away ("down": its
    connections cut, new ones refused) or hanging ("stall": connections
    taken, nothing answered) for args.outage seconds in the middle of a
    run.  The clients deliver at a steady args.relay_rate mails/s for
    margin + outage + margin seconds.  Every ack must arrive, once, the
    ones of mails delivered while the relay was away after it came back;
    the delivery latency must not change while it is away."""
    margin = max(5.0, args.outage / 4.0)
    total = int(args.relay_rate * (2 * margin + args.outage))
    clients = max(args.clients)
    msgs = []                   # (data, sender, msgid, spec index)
    for k in range(total):
        spec = specs[k % len(specs)]
        data, sender, msgid = corpus.render(
            spec, "%s%d" % (kind[0:2], k // len(specs)))
        msgs.append((data, sender, msgid, k % len(specs)))
    by_msgid = {m[2]: k for k, m in enumerate(msgs)}
    by_sender = {m[1].lower(): k for k, m in enumerate(msgs)
                 if specs[m[3]].kind == "customer"}
    eligible = {k for k, m in enumerate(msgs) if specs[m[3]].eligible}
    failures, notes = [], []
    sink.take()
    results = [None] * total
    t_down = t_up = None
    with instance("frontdesk", sink, args.module, args.model, "") as dc:
        mark = dc.log_mark()
        sessions = [dc.lmtp(timeout=120) for _ in range(clients)]
        warm, _ = fdtest.make_message(subject="warm-up", to=WARMUP)
        for s in sessions:
            s.send([WARMUP], warm, "")
        t0 = time.monotonic() + 0.2
        nxt = [0]
        lock = threading.Lock()

        def client(s):
            while True:
                with lock:
                    k = nxt[0]
                    nxt[0] += 1
                if k >= total:
                    return
                delay = t0 + k / args.relay_rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                data, sender, _, _ = msgs[k]
                try:
                    results[k] = s.send([SUPPORT], data, sender)
                except Exception as e:
                    results[k] = e
                    return
        threads = [threading.Thread(target=client, args=(s,))
                   for s in sessions]
        for t in threads:
            t.start()
        time.sleep(max(0.0, t0 + margin - time.monotonic()))
        # the outage is from the sink's "ok" (an ack it was already taking
        # when told may still land before that) until it is told to answer
        sink.relay(kind)
        t_down = time.monotonic()
        time.sleep(max(0.0, t_down + args.outage - time.monotonic()))
        t_up = time.monotonic()
        sink.relay("up")
        for t in threads:
            t.join()
        for s in sessions:
            s.close()
        ok = [r for r in results if isinstance(r, fdtest.LmtpResult)
              and r.ok]
        t_deliv = max((r.t_reply for r in ok), default=t_up)
        # the sender retries with backoff (5 s, 10 s, 20 s, ...): after an
        # outage of S seconds an entry waits at most about S/2 more
        deadline = max(t_deliv, t_up) + args.ack_timeout + args.outage
        while time.monotonic() < deadline and \
                sink.count() < len(eligible):
            time.sleep(0.1)
        time.sleep(SETTLE)
        acks = sink.take()
        stored = dc.all_messages(SUPPORT)
        log_text = dc.log(mark)

    bad = [k for k, r in enumerate(results)
           if not (isinstance(r, fdtest.LmtpResult) and r.ok)]
    if bad:
        failures.append("%d of %d messages not delivered, e.g. #%d: %s"
                        % (len(bad), total, bad[0], results[bad[0]]))
    for level in ("Panic", "Fatal"):
        lines = [l for l in log_text.splitlines() if " %s: " % level in l]
        if lines:
            failures.append("%d %s lines in the Dovecot log, first: %s"
                            % (len(lines), level, lines[0][:300]))
    seen = {}
    for m in stored:
        seen.setdefault(m.message_id, []).append(m)
    lost = [k for k, m in enumerate(msgs) if m[2] not in seen]
    twice = [k for k, m in enumerate(msgs) if len(seen.get(m[2], [])) > 1]
    if lost:
        failures.append("%d messages not stored" % len(lost))
    if twice:
        failures.append("%d messages stored more than once" % len(twice))
    wrong = 0
    for k, m in enumerate(msgs):
        copies = seen.get(m[2])
        if copies and (copies[0].folder, set(copies[0].keywords)) != \
                tuple(oracle["frontdesk"][m[3]][:2]):
            wrong += 1
    if wrong:
        failures.append("%d messages filed or tagged otherwise than "
                        "expected" % wrong)

    per_msg = {}
    stray = 0
    for a in acks:
        k = fdtest.ack_owner(a, by_msgid, by_sender)
        if k is None:
            stray += 1
            continue
        per_msg.setdefault(k, []).append(a)
    dups = sum(len(v) - 1 for v in per_msg.values())
    missing = [k for k in sorted(eligible) if k not in per_msg]
    to_machine = [k for k in per_msg if k not in eligible]
    if dups:
        failures.append("%d duplicate acknowledgments" % dups)
    if missing:
        failures.append("%d of %d acknowledgments missing %.0f s after the "
                        "relay came back" % (len(missing), len(eligible),
                                             deadline - t_up))
    if to_machine or stray:
        failures.append("%d acknowledgments to machine mail or to nothing "
                        "sent" % (len(to_machine) + stray))
    # while the relay was away nothing may arrive; an ack may come back
    # only once the relay answers again
    early = [k for k, v in per_msg.items()
             if any(t_down + 0.5 < a.time < t_up for a in v)]
    if early:
        failures.append("%d acknowledgments arrived while the relay was %s"
                        % (len(early), kind))

    def phase(r):
        t = r.t_data
        return "before" if t < t_down else "during" if t < t_up else "after"
    lat = {"before": [], "during": [], "after": []}
    for r in ok:
        lat[phase(r)].append(r.t_reply - r.t_data)
    pending = [k for k in per_msg if k in eligible and
               isinstance(results[k], fdtest.LmtpResult) and
               results[k].t_end < t_up and
               min(a.time for a in per_msg[k]) >= t_down]
    catch_up = [min(a.time for a in per_msg[k]) - t_up for k in pending]
    before, during = lat["before"], lat["during"]
    same = bool(before and during) and \
        pct(during, 50) <= 1.5 * pct(before, 50) + 0.002 and \
        pct(during, 99) <= 2.0 * pct(before, 99) + 0.005
    if not same:
        notes.append("delivery latency changed while the relay was %s "
                     "(see the table)" % kind)
    return {
        "kind": kind, "outage": args.outage, "margin": margin,
        "rate": args.relay_rate, "clients": clients, "total": total,
        "eligible": len(eligible), "acks": len(acks), "dups": dups,
        "missing": len(missing), "pending": len(pending),
        "catch_up_p50": pct(catch_up, 50), "catch_up_max":
        max(catch_up) if catch_up else None,
        "lat": {p: (pct(v, 50), pct(v, 99), len(v)) for p, v in lat.items()},
        "latency_unchanged": same,
        "failures": failures, "notes": notes, "load": os.getloadavg()[0],
    }


def relay_report(rruns):
    L = ["## The relay down or stalled (issue 14)", "",
         "frontdesk, clients delivering a steady stream; the relay (the "
         "ack sink) goes away for the outage in the middle of the run: "
         "*down* cuts its connections and refuses new ones, *stall* takes "
         "connections and answers nothing. Latency by when the mail's DATA "
         "was sent: before, during and after the outage. Catch-up: from the "
         "relay's return to the arrival of the ack of each mail delivered "
         "before it.", "",
         "| relay | outage s | mails (rate/s, clients) | acks got/expected | "
         "duplicate | missing | arrived while away | acks waiting at "
         "return | catch-up p50 / max s | delivery p50/p99 ms before | "
         "during | after | latency unchanged | load |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rruns:
        def lat(p):
            p50, p99, n = r["lat"][p]
            return "%s / %s (%d)" % (fmt(ms(p50)), fmt(ms(p99)), n)
        early = sum(1 for f in r["failures"] if "arrived while" in f)
        L.append("| %s | %.0f | %d (%.0f/s, %d) | %d/%d | %d | %d | %s | %d "
                 "| %s / %s | %s | %s | %s | %s | %.1f |" % (
                     r["kind"], r["outage"], r["total"], r["rate"],
                     r["clients"], r["acks"], r["eligible"], r["dups"],
                     r["missing"], "some" if early else "0", r["pending"],
                     fmt(r["catch_up_p50"]), fmt(r["catch_up_max"]),
                     lat("before"), lat("during"), lat("after"),
                     "yes" if r["latency_unchanged"] else "**no**",
                     r["load"]))
    L.append("")
    for r in rruns:
        for f in r["failures"]:
            L.append("- **FAILED** (relay %s): %s" % (r["kind"], f))
        for n in r["notes"]:
            L.append("- relay %s: %s" % (r["kind"], n))
    if any(r["failures"] or r["notes"] for r in rruns):
        L.append("")
    return L


# ---- report -----------------------------------------------------------------

def fmt(v, digits=1, unit=""):
    if v is None:
        return "-"
    return ("%." + str(digits) + "f%s") % (v, unit)


def med(runs, key):
    vals = [r[key] for r in runs if r[key] is not None]
    return statistics.median(vals) if vals else None


def machine_info():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            mt = re.search(r"model name\s*:\s*(.*)", f.read())
            model = mt.group(1).strip() if mt else model
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mt = re.search(r"MemTotal:\s+(\d+) kB", f.read())
            mem = "%.1f GiB" % (int(mt.group(1)) / 1048576.0)
    except (OSError, AttributeError):
        pass
    dv = subprocess.run(["dovecot", "--version"], capture_output=True,
                        text=True).stdout.strip()
    pv = "?"
    try:        # the version string compiled into Pigeonhole's library
        with open("/usr/lib/dovecot/libdovecot-sieve.so.0", "rb") as f:
            mt = re.search(rb"\x00(0\.5\.\d+ \([0-9a-f]+\))\x00", f.read())
            pv = mt.group(1).decode() if mt else pv
    except OSError:
        pass
    return {"cpu": model, "nproc": os.cpu_count(), "mem": mem,
            "kernel": platform.release(), "dovecot": dv,
            "dovecot_sieve": pv, "python": platform.python_version()}


def git_info():
    def git(*a):
        return subprocess.run(["git", "-C", REPO] + list(a),
                              capture_output=True, text=True).stdout.strip()
    head = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return "%s (%s)%s" % (head, git("rev-parse", "--abbrev-ref", "HEAD"),
                          " + uncommitted changes" if dirty else "")


def report(runs, args, info, gen, cap, started, hooks_out, warnings,
           command, rruns=()):
    L = []
    L.append("# Delivery benchmark results")
    L.append("")
    L.append("- date: %s" % started.strftime("%Y-%m-%d %H:%M:%S %Z").strip())
    L.append("- machine: %s, %d CPUs (nproc), %s RAM, Linux %s"
             % (info["cpu"], info["nproc"], info["mem"], info["kernel"]))
    L.append("- software: Dovecot %s, Pigeonhole %s, "
             "Python %s" % (info["dovecot"], info["dovecot_sieve"],
                            info["python"]))
    L.append("- frontdesk: %s; module %s; sender %s (%s)"
             % (git_info(), args.module, fdtest.DEFAULT_SENDER,
                "a Dovecot service" if SENDER_SERVICE else
                "a runner per spool, forked by the delivery"))
    L.append("- command: `%s`" % command)
    L.append("- mailbox format: %s (every configuration; `--storage`)"
             % STORAGE)
    L.append("- mail: %d messages per run (seed %d): %d customer mails "
             "(%s; %d with a quoted thread; sources %s), %d machine mails "
             "(bounces, auto-replies, reports); %d-%d bytes, median %d"
             % (gen["messages"], args.seed, gen["customer"],
                ", ".join("%s %d" % kv for kv in gen["languages"].items()),
                gen["threads"],
                ", ".join("%s %d" % kv for kv in gen["sources"].items()),
                gen["machine"], gen["size_min"], gen["size_max"],
                gen["size_median"]))
    L.append("- %d repetition(s) x clients %s x configurations %s, "
             "interleaved; %d warm-up deliveries per client before each "
             "timed run (to another user), fresh Dovecot per run"
             % (args.reps, " ".join(map(str, args.clients)),
                " ".join(args.configs), WARMUP_PER_CLIENT))
    if cap:
        L.append("- ack sink: took %.0f messages/s from 2 client processes "
                 "with a connection per message, as Dovecot's smtp-submit "
                 "sends (%.0f/s on one connection), using %.0f µs of CPU per "
                 "message, i.e. about %.0f/s per CPU; the busiest run kept "
                 "it %.0f%% busy"
                 % (cap["rate"], cap["rate_one_conn"], cap["cpu_us"],
                    1e6 / cap["cpu_us"],
                    100 * max(r["sink_busy"] for r in runs)))
    loads = [r["load"] for r in runs] + [r["load"] for r in rruns]
    L.append("- load average during the runs: %.1f-%.1f (other work on the "
             "machine shares the CPUs)" % (min(loads), max(loads)))
    L.append("")
    L.append("Deliveries/s are sustained over the whole run and count until "
             "the last expected acknowledgment has arrived. Delivery latency: "
             "LMTP DATA sent to its 250 reply. Ack latency: end of DATA to "
             "the acknowledgment at the sink. Median of the repetitions, "
             "deliveries/s with (min-max). RSS: peak (VmHWM) of the largest "
             "lmtp process at the end of the run. CPU: user+system time of "
             "the lmtp processes per delivery (including the submission of "
             "acks), which other load on the machine disturbs far less than "
             "the rates.")
    L.append("")
    L.append("| configuration | clients | deliveries/s | delivery p50 ms | "
             "p95 ms | p99 ms | ack p50 ms | ack p99 ms | acks got/expected "
             "| duplicate | missing | lmtp peak RSS MB | lmtp CPU ms/msg |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    groups = {}
    for r in runs:
        if not r.get("traced"):
            groups.setdefault((r["config"], r["clients"]), []).append(r)
    for c in args.clients:
        for cfg in args.configs:
            g = groups.get((cfg, c))
            if not g:
                continue
            rates = [r["rate"] for r in g]
            L.append("| %s | %d | %s (%s-%s) | %s | %s | %s | %s | %s | "
                     "%s/%s | %d | %d | %s | %s |" % (
                         cfg, c, fmt(med(g, "rate"), 0), fmt(min(rates), 0),
                         fmt(max(rates), 0),
                         fmt(ms(med(g, "deliv_p50"))),
                         fmt(ms(med(g, "deliv_p95"))),
                         fmt(ms(med(g, "deliv_p99"))),
                         fmt(ms(med(g, "ack_p50"))),
                         fmt(ms(med(g, "ack_p99"))),
                         sum(r["acks"] for r in g),
                         sum(r["expected_acks"] for r in g),
                         sum(r["dups"] for r in g),
                         sum(r["missing"] for r in g),
                         fmt(med(g, "rss_mb")), fmt(med(g, "cpu_ms"), 2)))
    L.append("")
    L.append("Ratios of the median deliveries/s:")
    L.append("")
    base = "fd-base" in args.configs
    L.append("| clients | frontdesk/plain | frontdesk/peer | peer/plain |" +
             (" fd-base/plain | fd-base/peer | lmtp CPU frontdesk / "
              "fd-base / plain ms |" if base else ""))
    L.append("|---|---|---|---|" + ("---|---|---|" if base else ""))
    ratios = {}
    for c in args.clients:
        m = {cfg: med(groups.get((cfg, c), []), "rate")
             for cfg in CONFIGS + ("fd-base",)}

        def ratio(a, b):
            return m[a] / m[b] if m.get(a) and m.get(b) else None
        ratios[c] = (ratio("frontdesk", "plain"), ratio("frontdesk", "peer"),
                     ratio("peer", "plain"))
        extra = ""
        if base:
            extra = " %s | %s | %s |" % (
                fmt(ratio("fd-base", "plain"), 2, "x"),
                fmt(ratio("fd-base", "peer"), 2, "x"),
                " / ".join(fmt(med(groups.get((cfg, c), []), "cpu_ms")
                               if groups.get((cfg, c)) else None, 2)
                           for cfg in ("frontdesk", "fd-base", "plain")))
        L.append("| %d | %s | %s | %s |" % ((c,) + tuple(
            fmt(x, 2, "x") for x in ratios[c])) + extra)
    L.append("")
    L.extend(targets(groups, ratios, args))
    L.extend(item_table(runs, args))
    if rruns:
        L.extend(relay_report(rruns))
    fails = [(r, f) for r in runs for f in r["failures"]] + \
        [({"config": "frontdesk, relay " + r["kind"],
           "clients": r["clients"], "tag": "relay-" + r["kind"]}, f)
         for r in rruns for f in r["failures"]]
    L.append("## Correctness")
    L.append("")
    if not fails:
        L.append("Every run: all %d messages stored exactly once, in the "
                 "folder and with the keywords expected, one acknowledgment "
                 "per customer mail and none to machine mail."
                 % gen["messages"])
    else:
        L.append("**FAILURES** (%d):" % len(fails))
        L.append("")
        for r, f in fails:
            L.append("- %s, %d clients, run %s: %s"
                     % (r["config"], r["clients"], r["tag"], f))
    notes = [(r, n) for r in runs for n in r["notes"]] + \
        [(None, w) for w in warnings]
    if notes:
        L.append("")
        L.append("Notes:")
        L.append("")
        for r, n in notes:
            L.append("- %s%s" % ("%s, %d clients, run %s: "
                                 % (r["config"], r["clients"], r["tag"])
                                 if r else "", n))
    L.append("")
    L.append("<details><summary>All runs</summary>")
    L.append("")
    L.append("| run | configuration | clients | deliveries/s | without acks "
             "| p50 ms | p99 ms | ack p99 ms | acks | dup | missing | "
             "unwanted | RSS MB | lmtp procs | CPU ms/msg | sink busy | "
             "load |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
             "---|---|")
    for r in runs:
        L.append("| %s | %s | %d | %.0f | %.0f | %s | %s | %s | %d | %d | "
                 "%d | %d | %.1f | %d | %s | %.0f%% | %.1f |" % (
                     r["tag"], r["config"], r["clients"], r["rate"],
                     r["delivery_rate"], fmt(ms(r["deliv_p50"])),
                     fmt(ms(r["deliv_p99"])), fmt(ms(r["ack_p99"])),
                     r["acks"], r["dups"], r["missing"], r["unwanted"],
                     r["rss_mb"], r["lmtp_processes"], fmt(r["cpu_ms"], 2),
                     100 * r["sink_busy"], r["load"]))
    L.append("")
    L.append("</details>")
    for title, text in hooks_out:
        L.append("")
        L.append("## " + title)
        L.append("")
        L.append(text.rstrip())
    return "\n".join(L) + "\n", fails


def ms(v):
    return None if v is None else v * 1000.0


SYSCALL_GROUPS = (
    ("fsync+fdatasync", ("fsync", "fdatasync")),
    ("rename", ("rename", "renameat", "renameat2")),
    ("open", ("open", "openat")),
    ("write", ("write", "pwrite64", "writev", "pwritev")),
    ("flock/fcntl", ("flock", "fcntl")),
    ("stat", ("stat", "fstat", "lstat", "newfstatat", "statx")),
)


def item_table(runs, args):
    """--items: what each of frontdesk's items costs lmtp, the difference
    between neighbouring configurations (frontdesk, fd-nospool, ...,
    plain) of the same client count; syscalls from the --syscalls runs."""
    chain = ["frontdesk"] + list(ITEM_NAMES) + ["plain"]
    desc = dict((c[0], c[1]) for c in ITEM_CONFIGS)
    desc["plain"] = "loading Sieve without a script"
    L = []
    for c in args.clients:
        timed = {cfg: [r for r in runs if r["config"] == cfg and
                       r["clients"] == c and not r.get("traced")]
                 for cfg in chain}
        traced = {cfg: [r for r in runs if r["config"] == cfg and
                        r["clients"] == c and r.get("traced")]
                  for cfg in chain}
        present = [cfg for cfg in chain if timed[cfg] or traced[cfg]]
        if len(present) < 3 or not any(cfg in ITEM_NAMES
                                       for cfg in present):
            continue
        if not L:
            L += ["## What each item of frontdesk costs lmtp (--items)", "",
                  "Each row: the configuration above it minus this one, "
                  "which lacks that item (and everything above it). CPU: "
                  "median of the timed runs, user+system and system "
                  "(kernel) ms per mail. Syscalls per mail: from the "
                  "strace -c -f runs (--syscalls), which are not timed.",
                  ""]
        L.append("%d client(s):" % c)
        L.append("")
        L.append("| configuration | item it lacks | CPU ms/mail | sys ms/mail "
                 "| item's CPU ms | item's sys ms | syscalls/mail | " +
                 " | ".join("item's %s" % g for g, _ in SYSCALL_GROUPS) +
                 " | item's syscalls |")
        L.append("|---|---|---|---|---|---|---|" +
                 "---|" * len(SYSCALL_GROUPS) + "---|")

        def calls(cfg, names=None):
            g = traced[cfg]
            if not g:
                return None
            return statistics.median(
                sum(v for k, v in r["syscalls"].items()
                    if names is None or k in names) for r in g)

        def diff(a, b):
            return None if a is None or b is None else a - b
        prev = None
        for cfg in present:
            cpu = med(timed[cfg], "cpu_ms") if timed[cfg] else None
            sys_ = med(timed[cfg], "sys_ms") if timed[cfg] else None
            row = ["%s" % cfg, desc.get(cfg, "-") if prev else "-",
                   fmt(cpu, 2), fmt(sys_, 2)]
            if prev:
                row += [fmt(diff(med(timed[prev], "cpu_ms")
                                 if timed[prev] else None, cpu), 2),
                        fmt(diff(med(timed[prev], "sys_ms")
                                 if timed[prev] else None, sys_), 2)]
            else:
                row += ["-", "-"]
            row.append(fmt(calls(cfg), 1))
            for _, names in SYSCALL_GROUPS:
                row.append(fmt(diff(calls(prev, names), calls(cfg, names)),
                               2) if prev else "-")
            row.append(fmt(diff(calls(prev), calls(cfg)), 1) if prev
                       else "-")
            L.append("| " + " | ".join(row) + " |")
            prev = cfg
        L.append("")
        # the per-syscall detail of frontdesk against plain
        if traced["frontdesk"] and traced["plain"]:
            fd = traced["frontdesk"][0]["syscalls"]
            pl = traced["plain"][0]["syscalls"]
            rows = sorted(set(fd) | set(pl),
                          key=lambda k: -(fd.get(k, 0) - pl.get(k, 0)))
            L.append("Syscalls per mail, frontdesk and plain (%d "
                     "client(s), strace -c -f), largest differences first:"
                     % c)
            L.append("")
            L.append("| syscall | plain | frontdesk | difference |")
            L.append("|---|---|---|---|")
            for k in rows[:20]:
                L.append("| %s | %.2f | %.2f | %+.2f |"
                         % (k, pl.get(k, 0), fd.get(k, 0),
                            fd.get(k, 0) - pl.get(k, 0)))
            L.append("")
    return L


def targets(groups, ratios, args):
    """The targets of issue 14 (which tightened issue 5's), met or not,
    for what this run measured."""
    L = ["Targets of issue 14:", ""]
    rows = []
    c = 4 if 4 in args.clients else max(args.clients)
    fd = groups.get(("frontdesk", c))
    plain = groups.get(("plain", c))
    if fd and ratios.get(c) and ratios[c][0] is not None:
        rows.append(("frontdesk >= 0.6x plain at %d clients" % c,
                     "%.2fx" % ratios[c][0], ratios[c][0] >= 0.6))
    if fd and ratios.get(c) and ratios[c][1] is not None:
        rows.append(("frontdesk >= 2.5x the peer at %d clients" % c,
                     "%.2fx" % ratios[c][1], ratios[c][1] >= 2.5))
    for cc, limit in ((4, 50), (1, 15)):
        g = groups.get(("frontdesk", cc))
        if g:
            p99 = ms(med(g, "ack_p99"))
            rows.append(("ack p99 <= %d ms at %d client(s)" % (limit, cc),
                         fmt(p99, 1, " ms"),
                         p99 is not None and p99 <= limit))
    for cc in args.clients:
        g, p = groups.get(("frontdesk", cc)), groups.get(("plain", cc))
        if g and p and med(p, "cpu_ms"):
            r = med(g, "cpu_ms") / med(p, "cpu_ms")
            rows.append(("lmtp CPU per mail <= 1.5x plain at %d client(s)"
                         % cc, "%.2f / %.2f ms = %.2fx"
                         % (med(g, "cpu_ms"), med(p, "cpu_ms"), r),
                         r <= 1.5))
    if fd:
        dm = [sum(r["dups"] for r in g) + sum(r["missing"] for r in g)
              for (cfg, _), g in groups.items() if cfg == "frontdesk"]
        rows.append(("0 duplicate and 0 missing acks (frontdesk)",
                     "%d" % sum(dm), sum(dm) == 0))
    if fd and plain:
        d = med(fd, "rss_mb") - med(plain, "rss_mb")
        rows.append(("lmtp peak RSS <= plain + 8 MB (issue 5)",
                     "%+.1f MB" % d, d <= 8))
    if not rows:
        return []
    L.append("| target | measured | |")
    L.append("|---|---|---|")
    for name, val, ok in rows:
        L.append("| %s | %s | %s |" % (name, val, "met" if ok else
                                       "**missed**"))
    L.append("")
    return L


# ---- main -------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="bench/run",
        description="frontdesk delivery benchmark against plain delivery "
                    "and the Sieve peer (issue 5)")
    ap.add_argument("-n", type=int, default=None,
                    help="messages per run (default 1000, --quick 100)")
    ap.add_argument("--reps", type=int, default=None,
                    help="repetitions (default 3, --quick 1)")
    ap.add_argument("--clients", default="1 4",
                    help='concurrent LMTP clients, e.g. "1 4" (default)')
    ap.add_argument("--configs", default=" ".join(CONFIGS),
                    help='configurations to run (default "%s")'
                    % " ".join(CONFIGS))
    ap.add_argument("--quick", action="store_true",
                    help="a short smoke run (-n 100 --reps 1, ack timeout "
                    "3 s); writes bench/RESULTS-quick.md")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ack-timeout", type=float, default=None,
                    help="seconds to wait for missing acks after the last "
                    "delivery (default 10, --quick 3)")
    ap.add_argument("--out", default=None,
                    help="results file (default bench/RESULTS.md)")
    ap.add_argument("--module", default=fdtest.DEFAULT_MODULE)
    ap.add_argument("--model", default=fdtest.DEFAULT_MODEL)
    ap.add_argument("--sender", default=None,
                    help="another frontdesk-sender (default: this build's)")
    ap.add_argument("--no-sender-service", action="store_true",
                    help="no service frontdesk-sender: each delivery starts "
                    "a runner for its spool (as before the service; needed "
                    "with a --sender of before the service)")
    ap.add_argument("--storage", default="maildir",
                    choices=("maildir", "sdbox", "mdbox"),
                    help="the mailbox format of every configuration "
                    "(default maildir)")
    ap.add_argument("--baseline", default=None, metavar="DIR",
                    help="also run the frontdesk of another build tree "
                    "(DIR/.libs/lib95_frontdesk_plugin.so, "
                    "DIR/frontdesk-sender) as configuration fd-base, "
                    "interleaved with the others")
    ap.add_argument("--items", action="store_true",
                    help="also run frontdesk with its items switched off one "
                    "at a time (%s) and tabulate what each costs lmtp"
                    % " ".join(ITEM_NAMES))
    ap.add_argument("--syscalls", action="store_true",
                    help="one more repetition of each configuration with "
                    "strace -c -f on the lmtp processes: syscalls per mail "
                    "(not timed)")
    ap.add_argument("--relay", default=None,
                    help='relay scenarios to run after the others: "down '
                    'stall" (default), one of them, or "none"')
    ap.add_argument("--outage", type=float, default=None,
                    help="seconds the relay is down or stalled (default "
                    "60, --quick 10)")
    ap.add_argument("--relay-rate", type=float, default=20.0,
                    help="mails/s delivered during the relay scenarios "
                    "(default 20)")
    ap.add_argument("--no-hooks", action="store_true",
                    help="skip the micro-benchmarks (bench/classify-bench, "
                    "bench/ack-bench)")
    args = ap.parse_args(argv)
    global SENDER_SERVICE
    SENDER_SERVICE = not args.no_sender_service
    global STORAGE
    STORAGE = args.storage
    if args.sender:
        fdtest.DEFAULT_SENDER = os.path.abspath(args.sender)
    args.n = args.n or (100 if args.quick else 1000)
    args.reps = args.reps or (1 if args.quick else 3)
    if args.ack_timeout is None:
        args.ack_timeout = 3.0 if args.quick else 10.0
    args.clients = [int(c) for c in args.clients.replace(",", " ").split()]
    args.configs = [c for c in args.configs.replace(",", " ").split()]
    if args.items:
        args.configs += [c for c in ("frontdesk",) + ITEM_NAMES + ("plain",)
                         if c not in args.configs]
    for c in args.configs:
        if c not in CONFIGS + ITEM_NAMES + ("fd-base",):
            ap.error("unknown configuration %r" % c)
    args.syscalls_now = False
    if args.baseline:
        global BASELINE
        BASELINE = (os.path.join(args.baseline, ".libs",
                                 "lib95_frontdesk_plugin.so"),
                    os.path.join(args.baseline, "frontdesk-sender"))
        for p in BASELINE:
            if not os.path.exists(p):
                ap.error("--baseline: %s missing" % p)
        if "fd-base" not in args.configs:
            args.configs.append("fd-base")
    if args.outage is None:
        args.outage = 10.0 if args.quick else 60.0
    args.relay = [r for r in (args.relay or "down stall").replace(
        ",", " ").split() if r != "none"]
    for r in args.relay:
        if r not in ("down", "stall"):
            ap.error("unknown relay scenario %r" % r)
    args.out = args.out or os.path.join(
        HERE, "RESULTS-quick.md" if args.quick else "RESULTS.md")
    command = "bench/run" + "".join(
        " " + (a if re.match(r"^[\w./=-]+$", a) else "'%s'" % a)
        for a in (argv if argv is not None else sys.argv[1:]))

    reason = fdtest.dovecot_missing()
    if reason:
        sys.exit("bench: " + reason)
    if "frontdesk" in args.configs:
        for p in (args.module, args.model):
            if not os.path.exists(p):
                sys.exit("bench: %s missing: build frontdesk first "
                         "(scripts/build)" % p)
    started = datetime.datetime.now().astimezone()
    info = machine_info()
    log("bench: %s, %d CPUs; %d messages x %d reps x clients %s x %s"
        % (info["cpu"], info["nproc"], args.n, args.reps,
           " ".join(map(str, args.clients)), " ".join(args.configs)))

    log("bench: generating the mail (seed %d) ..." % args.seed)
    specs = corpus.generate(args.n, args.seed, fdtest.SHARED_DATA)
    gen = corpus.describe(specs)
    with open(PEER_SIEVE) as f:
        peer_script = f.read()
    oracle, warnings = {}, []
    if "peer" in args.configs:
        log("bench: expected folders and keywords of the peer (sieve-test)")
        oracle["peer"] = oracle_peer(specs, peer_script)
    if "frontdesk" in args.configs or args.relay:
        classify = find_classify()
        if not classify:
            sys.exit("bench: frontdesk-classify not built (scripts/build)")
        log("bench: expected folders and keywords of frontdesk "
            "(frontdesk-classify)")
        oracle["frontdesk"] = oracle_frontdesk(specs, classify, args.model)
        for cfg in args.configs:
            if cfg == "fd-base":
                oracle[cfg] = oracle["frontdesk"]
            elif is_fd(cfg) and cfg != "frontdesk":
                oracle[cfg] = oracle_frontdesk(specs, classify, args.model,
                                               item_settings(cfg))
        disagree = [(s, oracle["frontdesk"][s.index]) for s in specs
                    if oracle["frontdesk"][s.index][2] is not None and
                    oracle["frontdesk"][s.index][2] != s.eligible]
        if disagree:
            s, o = disagree[0]
            warnings.append(
                "frontdesk's reply guard (frontdesk-classify) disagrees "
                "with the benchmark on %d messages, e.g. #%d %s (%s): guard "
                "says send=%s (%s)" % (len(disagree), s.index, s.source,
                                       s.kind, o[2], o[3]))
            log("bench: warning: " + warnings[-1])

    log("bench: measuring the ack sink ...")
    cap = {}
    try:
        r1 = capacity(2000, 2, True)
        r2 = capacity(4000, 2, False)
        cap = {"rate": r1["rate"], "cpu_us": r1["cpu_us"],
               "rate_one_conn": r2["rate"]}
        log("bench: ack sink: %.0f msgs/s (a connection per message), "
            "%.0f/s on one connection, %.0f µs CPU per message (%.0f/s per "
            "CPU)" % (cap["rate"], cap["rate_one_conn"], cap["cpu_us"],
                      1e6 / cap["cpu_us"]))
    except Exception as e:
        warnings.append("ack sink capacity not measured: %s" % e)

    runs = []
    plan = [(rep, c, cfg, False) for rep in range(1, args.reps + 1)
            for c in args.clients for cfg in args.configs]
    if args.syscalls:
        plan += [(args.reps + 1, c, cfg, True) for c in args.clients
                 for cfg in args.configs]
    with AckSink() as sink:
        for rep, c, cfg, traced in plan:
            args.syscalls_now = traced
            tag = "%s%dc%d%s" % ("s" if traced else "r", rep, c,
                                 cfg if cfg.startswith("fd-")
                                 else cfg[0:2])
            r = one_run(cfg, c, tag, specs, oracle, sink, args,
                        peer_script)
            r["traced"] = traced
            runs.append(r)
            log("  %-6s %-9s %d clients: %6.0f deliveries/s, "
                "p50 %s ms, p99 %s ms, acks %d/%d (ack p99 %s ms), "
                "dup %d, RSS %.1f MB, CPU %s ms/msg (sys %s)%s"
                % (tag, cfg, c, r["rate"], fmt(ms(r["deliv_p50"])),
                   fmt(ms(r["deliv_p99"])), r["acks"],
                   r["expected_acks"], fmt(ms(r["ack_p99"])),
                   r["dups"], r["rss_mb"], fmt(r["cpu_ms"], 2),
                   fmt(r["sys_ms"], 2),
                   "  FAILED: " + "; ".join(r["failures"])
                   if r["failures"] else ""))

        rruns = []
        for kind in args.relay:
            log("bench: relay %s for %.0f s in the middle of a run ..."
                % (kind, args.outage))
            r = relay_run(kind, specs, oracle, sink, args)
            rruns.append(r)
            log("  relay %s: %d mails, acks %d/%d, dup %d, missing %d, "
                "catch-up max %s s, latency before/during p99 %s/%s ms%s"
                % (kind, r["total"], r["acks"], r["eligible"], r["dups"],
                   r["missing"], fmt(r["catch_up_max"]),
                   fmt(ms(r["lat"]["before"][1])),
                   fmt(ms(r["lat"]["during"][1])),
                   "  FAILED: " + "; ".join(r["failures"])
                   if r["failures"] else ""))

    hooks_out = []
    if not args.no_hooks:
        for name, title in HOOKS:
            path = os.path.join(HERE, name)
            if not os.access(path, os.X_OK):
                continue
            log("bench: running bench/%s ..." % name)
            p = subprocess.run([path] + (["--quick"] if args.quick else []),
                               capture_output=True, text=True, timeout=3600)
            text = p.stdout
            if p.returncode != 0:
                text += "\n\n**bench/%s failed (exit %d)**: %s" % (
                    name, p.returncode, p.stderr[-2000:])
                warnings.append("bench/%s failed (exit %d)"
                                % (name, p.returncode))
            hooks_out.append((title, text))

    text, fails = report(runs, args, info, gen, cap, started, hooks_out,
                         warnings, command, rruns)
    with open(args.out, "w") as f:
        f.write(text)
    log("")
    log(text.split("## Correctness")[0].split("\n\n", 2)[-1])
    log("bench: results in %s" % os.path.relpath(args.out))
    if fails:
        log("bench: %d CORRECTNESS FAILURES:" % len(fails))
        for r, f in fails:
            log("  %s %d clients %s: %s" % (r["config"], r["clients"],
                                           r["tag"], f))
        return 1
    log("bench: correctness: all runs ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
