"""fdtest: run a private Dovecot instance for frontdesk integration tests.

Dovecot 2.3 (the host) or 2.4 (tests/run-dovecot24, in a Debian 13 chroot):
the config writer (Dovecot._write_conf) has a variant for each.

Everything lives in a short temp dir under /tmp (unix socket paths must stay
under 108 bytes), listens on 127.0.0.1 only and is removed again on exit, also
when a test fails.  Needs root (Dovecot drops to the `vmail` mail user, which
is created if missing) and Debian's dovecot-core, -lmtpd, -imapd, -sieve.

    with SmtpSink() as sink, Dovecot(users={"a@example.com": "pw"},
                                     sink=sink) as dc:
        dc.deliver_lmtp(["a@example.com"], make_message(...))
        dc.fetch_all("a@example.com", "INBOX")

Set FDTEST_KEEP=1 to keep the instance directory for a post-mortem.
"""

import atexit
import email
import email.policy
import email.utils
import glob
import imaplib
import json
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED_DATA = os.path.abspath(os.path.join(REPO, "..", "shared", "data"))
MODULE_NAME = "lib95_frontdesk_plugin.so"
# Where libtool leaves the built module: src/plugin/.libs with a recursive
# build, .libs at the top with the non-recursive Makefile.am.
MODULE_CANDIDATES = [os.path.join(REPO, "src", "plugin", ".libs", MODULE_NAME),
                     os.path.join(REPO, ".libs", MODULE_NAME)]
DEFAULT_MODULE = os.environ.get("FDTEST_MODULE") or next(
    (p for p in MODULE_CANDIDATES if os.path.exists(p)), MODULE_CANDIDATES[0])
DEFAULT_MODEL = os.environ.get("FDTEST_MODEL") or os.path.join(
    REPO, "model", "frontdesk.model")
# the learned need model, shipped in the source tree
DEFAULT_WEIGHTS = os.environ.get("FDTEST_WEIGHTS") or os.path.join(
    REPO, "model", "frontdesk.weights")
# check program (built by `make check`) that DKIM-signs stdin
DKIM_SIGN = os.environ.get("FDTEST_DKIM_SIGN") or os.path.join(
    REPO, "test-dkim-sign")
DKIM_DATA = os.path.join(REPO, "tests", "data", "dkim")
DEFAULT_SENDER = os.environ.get("FDTEST_SENDER") or os.path.join(
    REPO, "frontdesk-sender")
TEMPLATE_DIR = os.path.join(REPO, "templates")
SYSTEM_MODULE_DIR = "/usr/lib/dovecot/modules"
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
DOVECOT_LDA = "/usr/lib/dovecot/dovecot-lda"
MAIL_USER = "vmail"

# The Sieve setups a delivery meets (issue 10): frontdesk must file, tag,
# acknowledge and log the same whether Pigeonhole stores the mail (a user
# script with keep or fileinto, or only a global sieve_before) or frontdesk
# does (no script).  name -> (script for each user without one of its own,
# global sieve_before script).  Tests run with each: Dovecot(sieve_mode=).
SIEVE_FILED = "Filed"        # where the "fileinto" mode's script files mail
SIEVE_BEFORE_SCRIPT = """require ["fileinto", "mailbox"];
# what a site-wide script does: spam into Junk, the rest implicitly kept
if header :is "X-Spam-Flag" "YES" {
  fileinto :create "Junk";
  stop;
}
"""
SIEVE_MODES = {
    "no-sieve": (None, None),
    "keep": ("keep;\n", None),
    "fileinto": ('require ["fileinto", "mailbox"];\nfileinto :create "%s";\n'
                 % SIEVE_FILED, None),
    "sieve-before": (None, SIEVE_BEFORE_SCRIPT),
}

# Instances that are still running, so a crashed test run cannot leak one
# (and so conftest can attach their logs to a failure report).
LIVE = []


def dovecot_version():
    """(major, minor) of the Dovecot installed here, (2, 3) if unknown."""
    try:
        out = subprocess.run([DOVECOT, "--version"], capture_output=True,
                             text=True, timeout=30).stdout
        m = re.match(r"(\d+)\.(\d+)", out)
        if m:
            return int(m.group(1)), int(m.group(2))
    except (OSError, subprocess.SubprocessError):
        pass
    return (2, 3)


DOVECOT_24 = dovecot_version() >= (2, 4)
# Dovecot 2.4 reads frontdesk's keys only through the settings module, from
# the fixed $moduledir/settings: tests/run-dovecot24 installs the built one
SETTINGS_MODULE_NAME = "lib95_frontdesk_settings.so"
SETTINGS_MODULE = os.path.join(os.path.dirname(DEFAULT_MODULE),
                               SETTINGS_MODULE_NAME)
SYSTEM_SETTINGS_MODULE = os.path.join(SYSTEM_MODULE_DIR, "settings",
                                      SETTINGS_MODULE_NAME)


def check_settings_module():
    """2.4: the config process knows frontdesk's keys only when the built
    settings module is installed (tests/run-dovecot24 does it)."""
    try:
        with open(SETTINGS_MODULE, "rb") as f:
            built = f.read()
        with open(SYSTEM_SETTINGS_MODULE, "rb") as f:
            installed = f.read()
    except OSError as e:
        raise RuntimeError("Dovecot 2.4 needs %s installed as %s: %s"
                           % (SETTINGS_MODULE, SYSTEM_SETTINGS_MODULE, e))
    if built != installed:
        raise RuntimeError("%s is not the one built in %s: install it again"
                           % (SYSTEM_SETTINGS_MODULE, SETTINGS_MODULE))


def _quote_24(value):
    value = str(value)
    if value == "" or re.search(r"[\s#{}\"]", value):
        return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')
    return value


def quota_rule_24(rule):
    """2.3's quota_rule "*:storage=1G" / "*:bytes=100" as 2.4's
    quota_storage_size."""
    m = re.match(r"\*:(?:storage|bytes)=(\S+)$", rule)
    if not m:
        raise ValueError("quota_rule %r: no 2.4 translation" % rule)
    value = m.group(1)
    return value + "B" if value.isdigit() else value


def translate_24(key, value):
    """A 2.3 plugin {} setting (or userdb field) as 2.4 has it: (key, value,
    config block or None); key None when 2.4 has no such setting.  Only
    the non-frontdesk settings the tests use are known here."""
    if key == "quota":
        driver, _, name = str(value).partition(":")
        # 2.3's grace is 10% of the limit, 2.4's 10M past it: a test's
        # limit of 100 bytes must refuse the first mail on both
        return None, None, ('quota "%s" {\n  quota_driver = %s\n'
                            '  quota_storage_grace = 0\n}\n'
                            % (name or "User quota", driver))
    if key == "quota_vsizes":
        return "mail_vsize_bg_after_count", "0", None
    if key == "quota_rule":
        return "quota_storage_size", quota_rule_24(str(value)), None
    if key == "frontdesk_ack_dict" and value:
        # 2.4 dicts are settings blocks; frontdesk's lives in
        # frontdesk_dict { }; the value only switches it on
        m = re.match(r"redis:host=([^:]+)(?::port=(\d+))?", str(value))
        if not m:
            raise ValueError("frontdesk_ack_dict %r: no 2.4 translation"
                             % value)
        block = ("frontdesk_dict {\n  dict redis {\n"
                 "    redis_host = %s\n%s  }\n}\n"
                 % (m.group(1), "    redis_port = %s\n" % m.group(2)
                    if m.group(2) else ""))
        return key, "redis", block
    if key in ("sieve_plugins", "sieve_extensions",
               "sieve_global_extensions") and value is not None:
        # boolean lists in 2.4; "+ext"/"-ext" add or remove one
        items = []
        for name in str(value).split():
            on = "no" if name.startswith("-") else "yes"
            items.append("  %s = %s\n" % (name.lstrip("+-"), on))
        return None, None, "%s {\n%s}\n" % (key, "".join(items))
    if isinstance(value, str) and "%" in value:
        value = vars_24(value)
    return key, value, None


IMAPSIEVE_KEY = re.compile(r"^imapsieve_mailbox(\d+)_(name|causes|before|after)$")


def imapsieve_24(settings):
    """2.3's imapsieve_mailboxN_name/_causes/_before/_after settings as
    2.4's mailbox NAME { sieve_script { } } blocks: (the other settings,
    [blocks])."""
    rest, rules = {}, {}
    for k, v in settings.items():
        m = IMAPSIEVE_KEY.match(k)
        if m:
            rules.setdefault(int(m.group(1)), {})[m.group(2)] = v
        else:
            rest[k] = v
    blocks = []
    for n, rule in sorted(rules.items()):
        scripts = ""
        for kind in ("before", "after"):
            if kind in rule:
                path = str(rule[kind])
                scripts += ("  sieve_script imapsieve%d_%s {\n"
                            "    type = %s\n    cause = %s\n"
                            "    driver = file\n    path = %s\n  }\n"
                            % (n, kind, kind,
                               str(rule.get("causes", "")).lower(),
                               path[5:] if path.startswith("file:")
                               else path))
        blocks.append("mailbox %s {\n%s}\n"
                      % (_quote_24(rule["name"]), scripts))
    return rest, blocks


def settings_24(settings):
    """plugin {} settings (a dict) as 2.4 config text: the blocks, then the
    top-level settings."""
    top = {}
    settings, blocks = imapsieve_24(settings)
    for k, v in settings.items():
        k, v, block = translate_24(k, v)
        if block:
            blocks.append(block)
        if k:
            top[k] = v
    return "".join(blocks) + "".join("%s = %s\n" % (k, _quote_24(v))
                                     for k, v in top.items())


VARS_24 = {"%u": "%{user}", "%n": "%{user|username}", "%d": "%{user|domain}",
           "%h": "%{home}", "%%": "%%"}


def vars_24(value):
    """2.3's %u/%n/%d/%h variables in a value as 2.4 writes them."""
    return re.sub(r"%[undh%]", lambda m: VARS_24[m.group(0)], value)


def ack_owner(ack, by_msgid, by_sender):
    """What an acknowledgment at the sink answers: by_msgid's value for its
    In-Reply-To, else by_sender's for one of its recipients, else None
    (the benchmarks match acks to the mails they delivered)."""
    k = by_msgid.get((ack.get("In-Reply-To") or "").strip())
    if k is None:
        for r in ack.rcpts:
            k = by_sender.get(r.lower())
            if k is not None:
                break
    return k


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_mail_user(name=MAIL_USER):
    """uid, gid of the system user that owns the test mail (created if missing)."""
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        p = subprocess.run(["useradd", "-r", "-M", "-d", "/nonexistent",
                            "-s", "/usr/sbin/nologin", name],
                           capture_output=True, text=True)
        try:        # a concurrent run may have created it meanwhile
            pw = pwd.getpwnam(name)
        except KeyError:
            raise RuntimeError("useradd %s failed: %s" % (name, p.stderr))
    return pw.pw_uid, pw.pw_gid


def dovecot_missing():
    """None when a private Dovecot can run here, else the reason why not."""
    if os.geteuid() != 0:
        return "integration tests need root (Dovecot must switch to the mail user)"
    for path in (DOVECOT, DOVEADM, DOVECOT_LDA,
                 "/usr/lib/dovecot/lmtp", "/usr/lib/dovecot/imap",
                 os.path.join(SYSTEM_MODULE_DIR, "lib90_sieve_plugin.so")):
        if not os.path.exists(path):
            return ("%s missing: apt-get install dovecot-core dovecot-lmtpd "
                    "dovecot-imapd dovecot-sieve" % path)
    return None


def make_message(subject="Hello", body="Hello,\nthis is a test.\n",
                 from_="Customer <customer@example.org>",
                 to="support@example.com", msgid=None, headers=None):
    """A small RFC 5322 message as bytes; (bytes, Message-ID)."""
    msgid = msgid or "<%s@fdtest.example>" % uuid.uuid4().hex
    lines = ["From: %s" % from_, "To: %s" % to, "Subject: %s" % subject,
             "Date: %s" % email.utils.formatdate(localtime=True),
             "Message-ID: %s" % msgid, "MIME-Version: 1.0",
             "Content-Type: text/plain; charset=utf-8",
             "Content-Transfer-Encoding: 8bit"]
    for k, v in (headers or {}).items():
        lines.append("%s: %s" % (k, v))
    text = "\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n")
    return text.encode("utf-8"), msgid


def unfold(value):
    """A header value with folding whitespace collapsed."""
    if value is None:
        return None
    return re.sub(r"\r?\n[ \t]+", " ", str(value)).strip()


@dataclass
class StoredMessage:
    folder: str
    uid: int
    flags: set          # system flags, e.g. {"\\Seen"}
    keywords: set       # IMAP keywords, e.g. {"billing", "urgent"}
    size: int
    raw_header: bytes
    headers: email.message.Message

    def header(self, name):
        """Unfolded value of the first `name` header, or None."""
        return unfold(self.headers.get(name))

    def header_all(self, name):
        return [unfold(v) for v in self.headers.get_all(name) or []]

    @property
    def message_id(self):
        return self.header("Message-ID")


@dataclass
class LmtpResult:
    """Outcome of one LMTP transaction: per-recipient (code, text)."""
    rcpt: dict = field(default_factory=dict)   # RCPT TO reply
    data: dict = field(default_factory=dict)   # final per-recipient reply
    elapsed: float = 0.0                        # seconds for DATA
    # time.monotonic() when DATA was sent, when the final "." was written
    # and when the last reply arrived (0.0 if DATA was never sent)
    t_data: float = 0.0
    t_end: float = 0.0
    t_reply: float = 0.0

    def code(self, rcpt):
        """The final code for rcpt (the RCPT reply if it was refused)."""
        if rcpt in self.data:
            return self.data[rcpt][0]
        return self.rcpt[rcpt][0]

    @property
    def ok(self):
        return bool(self.rcpt) and all(self.code(r) == 250 for r in self.rcpt)


class LmtpSession:
    """One LMTP connection that can carry many transactions.

    smtplib.LMTP alone reads a single reply after DATA; LMTP sends one per
    accepted recipient, so the extra replies are read here."""

    def __init__(self, port, host="127.0.0.1", timeout=120):
        self.conn = smtplib.LMTP(host, port, timeout=timeout)
        code, msg = self.conn.ehlo("fdtest.example")   # sends LHLO
        if code != 250:
            raise RuntimeError("LHLO refused: %s %r" % (code, msg))

    def send(self, rcpts, data, mail_from="customer@example.org"):
        if isinstance(rcpts, str):
            rcpts = [rcpts]
        if isinstance(data, str):
            data = data.encode("utf-8")
        res = LmtpResult()
        code, msg = self.conn.mail(mail_from)
        if code != 250:
            self.conn.rset()
            raise RuntimeError("MAIL FROM refused: %s %r" % (code, msg))
        accepted = []
        for r in rcpts:
            res.rcpt[r] = self.conn.rcpt(r)
            if res.rcpt[r][0] == 250:
                accepted.append(r)
        if not accepted:
            self.conn.rset()
            return res
        res.t_data = time.monotonic()
        first = self._data(data, res)
        res.data[accepted[0]] = first
        for r in accepted[1:]:
            res.data[r] = self.conn.getreply()
        res.t_reply = time.monotonic()
        res.elapsed = res.t_reply - res.t_data
        return res

    def _data(self, data, res):
        """smtplib's SMTP.data() for bytes, noting in res.t_end when the
        whole message has been written (the benchmark's ack latency starts
        there)."""
        code, msg = self.conn.docmd("DATA")
        if code != 354:
            raise smtplib.SMTPDataError(code, msg)
        q = re.sub(rb"(?m)^\.", b"..", data)
        if q[-2:] != b"\r\n":
            q += b"\r\n"
        self.conn.send(q + b".\r\n")
        res.t_end = time.monotonic()
        return self.conn.getreply()

    def close(self):
        try:
            self.conn.quit()
        except Exception:
            self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Dovecot:
    """A private Dovecot instance (context manager).

    users: {"name@example.com": "password"} or
           {"name@example.com": {"password": "pw", "frontdesk_enabled": "yes"}}
           -- every key other than "password" becomes a userdb extra field
           (userdb_<key>=<value> in the passwd-file), which Dovecot hands to
           plugins as a per-user override of the plugin {} setting.
    sieve: a Sieve script for every user (str) or {user: script}; installed
           as ~/sieve/main.sieve, active via ~/.dovecot.sieve.
    load_frontdesk: None = load the module when module_path exists,
           True = it must exist, False = never (plain Dovecot).
    sink:  an SmtpSink (or a port) for submission_host.
    precreate: {user: callable(dovecot, user)} run before start, after the
           home exists (e.g. to lay out folders with make_maildir).
    sieve_before: a global Sieve script run before every user's (the
           sieve_before setting).
    sieve_mode: one of SIEVE_MODES: its user script for every user without
           one in `sieve`, its sieve_before script (if any); loads Sieve
           when the mode has a script.
    mail_plugins: plugins for every protocol (e.g. ["quota"]), loaded
           before Sieve and frontdesk.
    name:  a label for the instance (in instance_name, so in ps output).
    """

    def __init__(self, module_path=None, plugin_settings=None, users=None,
                 sieve=None, extra_conf="", load_frontdesk=None,
                 use_sieve=True, sink=None, precreate=None, name="t",
                 sieve_before=None, sieve_mode=None, mail_plugins=(),
                 sender_service=True, sender_socket_user=None,
                 imap_plugins=(), mail_storage="maildir"):
        # mail_storage: "maildir" (the tests' default, ~/Maildir), or
        # "sdbox"/"mdbox" (~/mail), e.g. for the benchmarks
        self.mail_storage = mail_storage
        self.sender_service = sender_service
        self.sender_socket_user = sender_socket_user or MAIL_USER
        self.module_path = module_path or DEFAULT_MODULE
        self.plugin_settings = dict(plugin_settings or {})
        self.users = {}
        for u, spec in (users or {}).items():
            if isinstance(spec, str):
                spec = {"password": spec}
            self.users[u] = dict(spec)
        self.sieve = sieve
        self.sieve_before = sieve_before
        self.mail_plugins = list(mail_plugins)
        self.imap_plugins = list(imap_plugins)
        self.sieve_mode = sieve_mode or "no-sieve"
        mode_script, mode_before = SIEVE_MODES[self.sieve_mode]
        if mode_script:
            given = sieve if isinstance(sieve, dict) else {
                u: sieve for u in self.users} if sieve else {}
            self.sieve = {u: given.get(u) or mode_script for u in self.users}
        if mode_before:
            self.sieve_before = mode_before
        if mode_script or mode_before:
            use_sieve = True
        self.extra_conf = extra_conf
        self.use_sieve = use_sieve
        self.sink = sink
        self.precreate = precreate or {}
        self.name = name
        if load_frontdesk is None:
            load_frontdesk = os.path.exists(self.module_path)
        elif load_frontdesk and not os.path.exists(self.module_path):
            raise FileNotFoundError("frontdesk module not built: %s"
                                    % self.module_path)
        self.frontdesk_loaded = bool(load_frontdesk)
        self.dir = None
        self.pid = None

    # ---- paths -----------------------------------------------------------
    @property
    def conf(self):
        return os.path.join(self.dir, "dovecot.conf")

    @property
    def base_dir(self):
        return os.path.join(self.dir, "run")

    @property
    def log_path(self):
        return os.path.join(self.dir, "dovecot.log")

    def home(self, user):
        return os.path.join(self.dir, "home", user)

    def _mail_dir(self):
        return "Maildir" if self.mail_storage == "maildir" else "mail"

    def maildir(self, user):
        return os.path.join(self.home(user), "Maildir")

    # ---- life cycle --------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        reason = dovecot_missing()
        if reason:
            raise RuntimeError(reason)
        self.uid, self.gid = ensure_mail_user()
        self.dir = tempfile.mkdtemp(prefix="fd", dir="/tmp")
        LIVE.append(self)
        try:
            os.chmod(self.dir, 0o755)   # auth (user dovecot) reads the users file
            self.lmtp_port = free_port()
            self.imap_port = free_port()
            self._write_modules()
            self._write_users()
            self._write_conf()
            self._make_homes()
            # The daemonized master keeps its stdio: a file, not a pipe
            # (a pipe would never reach EOF while Dovecot runs).
            out = os.path.join(self.dir, "dovecot.stderr")
            with open(out, "wb") as f:
                rc = subprocess.run([DOVECOT, "-c", self.conf],
                                    stdin=subprocess.DEVNULL, stdout=f,
                                    stderr=subprocess.STDOUT,
                                    timeout=30).returncode
            if rc != 0:
                with open(out, errors="replace") as f:
                    raise RuntimeError("dovecot failed to start (%d): %s\n%s"
                                       % (rc, f.read(), self.log()[-4000:]))
            self._wait_started()
        except BaseException:
            self.stop()
            raise

    def _write_modules(self):
        mdir = os.path.join(self.dir, "modules")
        os.mkdir(mdir)
        for fn in sorted(os.listdir(SYSTEM_MODULE_DIR)):
            if fn.endswith(".so"):
                os.symlink(os.path.join(SYSTEM_MODULE_DIR, fn),
                           os.path.join(mdir, fn))
        if self.frontdesk_loaded:
            # a copy, like the model below: the checkout may sit in a
            # directory the Dovecot processes cannot enter (mktemp -d is 0700)
            shutil.copy(os.path.abspath(self.module_path),
                        os.path.join(mdir, MODULE_NAME))
            if DOVECOT_24:
                check_settings_module()
        self.module_dir = mdir
        self._copy_data_files()

    def _copy_data_files(self):
        """Model and rule files are read by lmtp as the mail user: give it
        readable copies inside the instance directory."""
        ddir = os.path.join(self.dir, "data")
        os.makedirs(ddir, exist_ok=True)
        os.chmod(ddir, 0o755)

        def copy(path):
            if not path or not os.path.isfile(path):
                return path
            dest = os.path.join(ddir, "%d-%s" % (len(os.listdir(ddir)),
                                                 os.path.basename(path)))
            shutil.copy(path, dest)
            os.chmod(dest, 0o644)
            return dest

        if self.frontdesk_loaded:
            # the sender is run by lmtp as the mail user, like the model
            if os.path.exists(DEFAULT_SENDER):
                dest = os.path.join(ddir, "frontdesk-sender")
                shutil.copy(DEFAULT_SENDER, dest)
                os.chmod(dest, 0o755)
                self.plugin_settings.setdefault("frontdesk_sender_path", dest)
                self.sender_path = dest
            tdir = os.path.join(ddir, "templates")
            shutil.copytree(TEMPLATE_DIR, tdir)
            os.chmod(tdir, 0o755)
            for fn in os.listdir(tdir):
                os.chmod(os.path.join(tdir, fn), 0o644)
            self.plugin_settings.setdefault("frontdesk_templates", tdir)
            self.plugin_settings.setdefault("frontdesk_weights",
                                            DEFAULT_WEIGHTS)
            # without a sink, acks would go to the system's sendmail
            if not self.sink:
                self.plugin_settings.setdefault("frontdesk_ack", "no")
        for key in ("frontdesk_model", "frontdesk_rules", "frontdesk_weights"):
            if key in self.plugin_settings:
                self.plugin_settings[key] = copy(self.plugin_settings[key])
            for spec in self.users.values():
                if key in spec:
                    spec[key] = copy(spec[key])

    def _write_users(self):
        lines = []
        for u, spec in self.users.items():
            extra = []
            for k, v in spec.items():
                if k == "password":
                    continue
                v = str(v)
                if DOVECOT_24:
                    k, v, _ = translate_24(k, v)
                    if k is None:
                        continue
                if re.search(r"\s", v):
                    raise ValueError("userdb field %s=%r: no spaces"
                                     % (k, v))
                extra.append("userdb_%s=%s" % (k, v))
            lines.append("%s:{PLAIN}%s:%d:%d::%s::%s" % (
                u, spec.get("password", "pw"), self.uid, self.gid,
                self.home(u), " ".join(extra)))
        path = os.path.join(self.dir, "users")
        # a new file in one step: auth reads it again when it changes
        with open(path + ".tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(path + ".tmp", 0o644)
        os.rename(path + ".tmp", path)
        self.users_file = path

    def set_user_fields(self, user, **fields):
        """Change user's userdb fields while the instance runs; a value of
        None removes one.  Auth looks at passwd-file at most once a second:
        this waits until the change is seen."""
        for k, v in fields.items():
            if v is None:
                self.users[user].pop(k, None)
            else:
                self.users[user][k] = v
        self._write_users()
        time.sleep(1.1)

    def _write_conf(self):
        """dovecot.conf for the Dovecot line installed here: one writer, a
        2.3 and a 2.4 variant of the text (DOVECOT_24).  The options are the
        same for both; names that changed in 2.4 are translated here and
        nowhere else (TRANSLATE_24)."""
        plugins = []
        if self.use_sieve:
            plugins.append("sieve")
        if self.frontdesk_loaded:
            plugins.append("frontdesk")
        sieve_before = self._write_sieve_before() if (
            self.use_sieve and self.sieve_before) else None
        sink_port = getattr(self.sink, "port", self.sink)
        d = self.dir
        service = ""
        if self.sender_service and getattr(self, "sender_path", None):
            # the frontdesk-sender service (conf.d/91-frontdesk-sender.conf)
            reg = os.path.join(d, "sender-registry")
            os.makedirs(reg, exist_ok=True)
            os.chown(reg, self.uid, self.gid)
            os.chmod(reg, 0o700)
            service = f"""service frontdesk-sender {{
  executable = {self.sender_path} -r {reg}
  user = {MAIL_USER}
  process_limit = 1
  process_min_avail = 1
  unix_listener frontdesk-sender {{
    mode = 0600
    user = {self.sender_socket_user}
  }}
}}
"""
        common = f"""# generated by tests/integration/fdtest.py
base_dir = {d}/run
state_dir = {d}/state
instance_name = fdtest-{self.name}-{os.path.basename(d)}
log_path = {self.log_path}
listen = 127.0.0.1
protocols = imap lmtp
ssl = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = {self.uid}
last_valid_uid = {self.uid}
first_valid_gid = {self.gid}
last_valid_gid = {self.gid}
mail_plugin_dir = {self.module_dir}
hostname = fdtest.example
postmaster_address = postmaster@example.com
""" + ("submission_host = 127.0.0.1:%d\n" % sink_port if sink_port else "")
        # an inet_listener's address is "listen" in 2.4
        address = "listen" if DOVECOT_24 else "address"
        services = f"""service lmtp {{
  inet_listener lmtp {{
    {address} = 127.0.0.1
    port = {self.lmtp_port}
  }}
}}
service imap-login {{
  inet_listener imap {{
    {address} = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
""" + service
        if DOVECOT_24:
            conf = self._conf_24(common, services, plugins, sieve_before)
        else:
            conf = self._conf_23(common, services, plugins, sieve_before)
        with open(self.conf, "w") as f:
            f.write(conf)
        os.chmod(self.conf, 0o644)

    def _conf_23(self, common, services, plugins, sieve_before):
        settings = {}
        if self.use_sieve:
            settings["sieve"] = "file:~/sieve;active=~/.dovecot.sieve"
            if sieve_before:
                settings["sieve_before"] = sieve_before
        settings.update(self.plugin_settings)
        plugin_block = "".join("  %s = %s\n" % (k, v)
                               for k, v in settings.items())
        global_plugins = ("mail_plugins = $mail_plugins %s\n"
                          % " ".join(self.mail_plugins)
                          if self.mail_plugins else "")
        imap_plugins = ("protocol imap {\n  mail_plugins = $mail_plugins "
                        "%s\n}\n" % " ".join(self.imap_plugins)
                        if self.imap_plugins else "")
        return common + f"""disable_plaintext_auth = no
mail_location = {self.mail_storage}:~/{self._mail_dir()}
{global_plugins}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.users_file}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.users_file}
}}
{services}protocol lmtp {{
  mail_plugins = $mail_plugins {" ".join(plugins)}
}}
protocol lda {{
  mail_plugins = $mail_plugins {" ".join(plugins)}
}}
{imap_plugins}plugin {{
{plugin_block}}}
{self.extra_conf}
"""

    def _conf_24(self, common, services, plugins, sieve_before):
        """Dovecot 2.4: versioned config, mail_driver/mail_path, plugin
        settings at the top level (frontdesk's are registered by
        lib95_frontdesk_settings.so), mail_plugins as a boolean list,
        Sieve scripts as sieve_script {} blocks, passwd-file paths as
        settings."""
        settings = settings_24(self.plugin_settings)
        sieve = ""
        if self.use_sieve:
            sieve = """sieve_script personal {
  driver = file
  path = ~/sieve
  active_path = ~/.dovecot.sieve
}
"""
            if sieve_before:
                sieve += """sieve_script before {
  type = before
  driver = file
  path = %s
}
""" % sieve_before

        def boolean_list(names):
            return "".join("  %s = yes\n" % n for n in names)
        global_plugins = ("mail_plugins {\n%s}\n"
                          % boolean_list(self.mail_plugins)
                          if self.mail_plugins else "")
        imap_plugins = ("protocol imap {\n  mail_plugins {\n%s  }\n}\n"
                        % boolean_list(self.imap_plugins)
                        if self.imap_plugins else "")
        return f"""dovecot_config_version = 2.4.1
dovecot_storage_version = 2.4.1
""" + common + f"""auth_allow_cleartext = yes
mail_driver = {self.mail_storage}
mail_path = ~/{self._mail_dir()}
{global_plugins}passdb passwd-file {{
  passwd_file_path = {self.users_file}
}}
userdb passwd-file {{
  passwd_file_path = {self.users_file}
}}
{services}protocol lmtp {{
  mail_plugins {{
{boolean_list(plugins)}  }}
}}
protocol lda {{
  mail_plugins {{
{boolean_list(plugins)}  }}
}}
{imap_plugins}{sieve}{settings}{self.extra_conf}
"""

    def _write_sieve_before(self):
        """The global script, in a directory the mail user may write (so
        Pigeonhole can save the compiled binary next to it)."""
        sdir = os.path.join(self.dir, "sieve-before")
        os.makedirs(sdir, exist_ok=True)
        path = os.path.join(sdir, "before.sieve")
        with open(path, "w") as f:
            f.write(self.sieve_before)
        for p in (sdir, path):
            os.chown(p, self.uid, self.gid)
        return path

    def _make_homes(self):
        os.mkdir(os.path.join(self.dir, "home"), 0o755)
        for u in self.users:
            home = self.home(u)
            os.mkdir(home, 0o700)
            os.chown(home, self.uid, self.gid)
            script = self.sieve.get(u) if isinstance(self.sieve, dict) \
                else self.sieve
            if script:
                self.install_sieve(u, script)
            if u in self.precreate:
                self.precreate[u](self, u)

    def install_sieve(self, user, script):
        """Install `script` as the user's active Sieve script."""
        home = self.home(user)
        sdir = os.path.join(home, "sieve")
        os.makedirs(sdir, exist_ok=True)
        path = os.path.join(sdir, "main.sieve")
        with open(path, "w") as f:
            f.write(script)
        link = os.path.join(home, ".dovecot.sieve")
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink("sieve/main.sieve", link)
        for p in (sdir, path):
            os.chown(p, self.uid, self.gid)
        os.lchown(link, self.uid, self.gid)

    def make_maildir(self, user, folder=None, owner=None, mode=0o700):
        """Create ~/Maildir (and Maildir++ folder .<folder>) on disk."""
        uid, gid = owner if owner else (self.uid, self.gid)
        md = self.maildir(user)
        paths = [md] + [os.path.join(md, s) for s in ("cur", "new", "tmp")]
        fpaths = []
        if folder:
            fd = os.path.join(md, "." + folder)
            fpaths = [fd] + [os.path.join(fd, s) for s in ("cur", "new", "tmp")]
        for p in paths:
            if not os.path.isdir(p):
                os.mkdir(p, 0o700)
                os.chown(p, self.uid, self.gid)
        for p in fpaths:
            os.makedirs(p, exist_ok=True)
            os.chown(p, uid, gid)
            os.chmod(p, mode)

    def _wait_started(self, timeout=20):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                pidfile = os.path.join(self.base_dir, "master.pid")
                if self.pid is None and os.path.exists(pidfile):
                    with open(pidfile) as f:
                        self.pid = int(f.read().split()[0])
                with socket.create_connection(("127.0.0.1", self.lmtp_port),
                                              timeout=5) as s:
                    banner = s.recv(512)
                if banner.startswith(b"220") and self.pid:
                    return
                last = banner
            except (OSError, ValueError, IndexError) as e:
                last = e
            # lmtp loads mail_plugins when it starts: a module that cannot
            # load kills every lmtp process before its banner
            fatal = self.log_lines("Fatal:")
            if fatal:
                last = fatal[0]
                break
            time.sleep(0.05)
        tail = "\n".join(self.log().splitlines()[-40:])
        raise RuntimeError("dovecot did not come up: %s\n%s" % (last, tail))

    def stop(self):
        """Stop the master (kill its pid and wait), then remove the dir."""
        if self.dir is None:
            return
        pid = self.pid
        if pid is None:
            try:
                with open(os.path.join(self.base_dir, "master.pid")) as f:
                    pid = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pid = None
        if pid:
            procs = [pid] + _descendants(pid)
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            if not _wait_gone(procs, 15):
                for p in _alive(procs):
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                _wait_gone(procs, 5)
        # frontdesk-sender runners detach from lmtp (they belong to init):
        # find them by the spool path they were given
        senders = _senders_of(self.dir)
        for p in senders:
            try:
                os.kill(p, signal.SIGTERM)
            except ProcessLookupError:
                pass
        _wait_gone(senders, 5)
        if self in LIVE:
            LIVE.remove(self)
        if os.environ.get("FDTEST_KEEP"):
            print("FDTEST_KEEP: instance kept in %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
            if os.path.exists(self.dir):      # a straggler wrote meanwhile
                time.sleep(0.5)
                shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
        self.pid = None

    def processes(self, name=None):
        """Pids of the instance's running processes below the master, only
        those whose command name (/proc/PID/comm) is `name` when given,
        e.g. processes("lmtp")."""
        if not self.pid:
            return []
        out = []
        for p in _alive(_descendants(self.pid)):
            try:
                with open("/proc/%d/comm" % p) as f:
                    comm = f.read().strip()
            except OSError:
                continue
            if name is None or comm == name:
                out.append(p)
        return out

    # ---- log -----------------------------------------------------------------
    def log(self, since=0):
        """The instance's log (dovecot.log) as text, from byte mark `since`."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_mark(self):
        """A position in the log; pass it as since= to look only at later lines."""
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_lines(self, *needles, since=0):
        """Log lines (after mark `since`) that contain every one of `needles`."""
        return [l for l in self.log(since).splitlines()
                if all(n in l for n in needles)]

    def wait_log(self, *needles, count=1, timeout=5.0, since=0):
        """Wait until >= count lines contain all needles (the log process
        writes asynchronously); return those lines."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.log_lines(*needles, since=since)
            if len(lines) >= count or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    # ---- delivery ----------------------------------------------------------
    def lmtp(self, timeout=120):
        """An LmtpSession on this instance (use as a context manager)."""
        return LmtpSession(self.lmtp_port, timeout=timeout)

    def deliver_lmtp(self, rcpts, data, mail_from="customer@example.org"):
        """Deliver one message over LMTP; an LmtpResult with per-recipient
        replies (result.code(rcpt) == 250 when stored)."""
        with self.lmtp() as s:
            return s.send(rcpts, data, mail_from)

    def deliver_lda(self, user, data, mail_from="customer@example.org",
                    timeout=120):
        """Deliver with dovecot-lda; the CompletedProcess (returncode 0 = ok,
        75 = tempfail)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        return subprocess.run([DOVECOT_LDA, "-c", self.conf, "-d", user,
                               "-f", mail_from], input=data,
                              capture_output=True, timeout=timeout)

    def doveadm(self, *args, check=False, timeout=60):
        return subprocess.run([DOVEADM, "-c", self.conf] + list(args),
                              capture_output=True, text=True, check=check,
                              timeout=timeout)

    # ---- IMAP ----------------------------------------------------------------
    @contextmanager
    def imap(self, user):
        """A logged-in imaplib.IMAP4 for user (logs out afterwards)."""
        m = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=60)
        try:
            m.login(user, self.users[user].get("password", "pw"))
            yield m
        finally:
            try:
                m.logout()
            except Exception:
                pass

    def list_folders(self, user, selectable_only=True):
        """Folder names (LIST); parents that do not exist themselves
        (\\Noselect, \\NonExistent) only with selectable_only=False."""
        with self.imap(user) as m:
            return _folders(m, selectable_only)

    def subscribed(self, user):
        """Subscribed folder names (LSUB)."""
        with self.imap(user) as m:
            typ, data = m.lsub('""', "*")
            assert typ == "OK", data
        return [name for name, flags in _parse_list(data)]

    def count(self, user, folder):
        with self.imap(user) as m:
            typ, data = m.status(imap_quote(folder), "(MESSAGES)")
            assert typ == "OK", data
        return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))

    def count_all(self, user):
        """{folder: number of messages} over every folder of user."""
        out = {}
        with self.imap(user) as m:
            for folder in _folders(m):
                typ, st = m.status(imap_quote(folder), "(MESSAGES)")
                assert typ == "OK", (folder, st)
                out[folder] = int(re.search(rb"MESSAGES (\d+)", st[0]).group(1))
        return out

    def fetch_all(self, user, folder="INBOX", _m=None):
        """Every message in folder: StoredMessage with flags, keywords,
        size and parsed headers."""
        if _m is None:
            with self.imap(user) as m:
                return self.fetch_all(user, folder, m)
        m = _m
        typ, data = m.select(imap_quote(folder), readonly=True)
        assert typ == "OK", (folder, data)
        if int(data[0]) == 0:
            return []
        typ, data = m.uid("FETCH", "1:*",
                          "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER])")
        assert typ == "OK", data
        out = []
        for item in data:
            if not isinstance(item, tuple):
                continue
            meta, raw = item
            uid = int(re.search(rb"UID (\d+)", meta).group(1))
            fl = re.search(rb"FLAGS \(([^)]*)\)", meta).group(1).decode()
            size = int(re.search(rb"RFC822\.SIZE (\d+)", meta).group(1))
            flags = set(fl.split())
            out.append(StoredMessage(
                folder=folder, uid=uid,
                flags={f for f in flags if f.startswith("\\")},
                keywords={f for f in flags if not f.startswith("\\")},
                size=size, raw_header=raw,
                headers=email.message_from_bytes(
                    raw, policy=email.policy.compat32)))
        return out

    def all_messages(self, user):
        """Every message in every folder of user."""
        out = []
        with self.imap(user) as m:
            for folder in _folders(m):
                out.extend(self.fetch_all(user, folder, m))
        return out

    def find(self, user, msgid):
        """All stored copies (any folder) of the message with this Message-ID."""
        return [m for m in self.all_messages(user) if m.message_id == msgid]


def imap_quote(name):
    return '"%s"' % name.replace("\\", "\\\\").replace('"', '\\"')


def _folders(m, selectable_only=True):
    typ, data = m.list('""', "*")
    assert typ == "OK", data
    skip = {"\\noselect", "\\nonexistent"} if selectable_only else set()
    return [name for name, flags in _parse_list(data)
            if not {f.lower() for f in flags} & skip]


def _parse_list(data):
    """[(name, {flags})] from an imaplib LIST/LSUB response."""
    out = []
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):          # name sent as a literal
            meta, name = item
        else:
            meta, name = item, None
        mt = re.match(rb'\(([^)]*)\) (NIL|"(?:[^"\\]|\\.)*") ?(.*)$', meta)
        if not mt:
            continue
        flags = set(mt.group(1).decode().split())
        if name is None:
            name = mt.group(3)
            if name.startswith(b'"') and name.endswith(b'"'):
                name = re.sub(rb'\\(.)', rb'\1', name[1:-1])
        out.append((name.decode("utf-8", "replace"), flags))
    return out


def _senders_of(directory):
    """pids of frontdesk-sender processes working in directory."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"frontdesk-sender") and any(
                a.startswith(directory.encode()) for a in argv[1:]):
            pids.append(int(d))
    return pids


def _proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()


def _descendants(pid):
    """Pids of pid's descendants, read from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _proc_state(int(entry))
            if st:
                children.setdefault(int(st[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _alive(pids):
    """The pids still running (a zombie has exited: PID 1 may reap slowly
    here, so kill -0 is not enough)."""
    return [p for p in pids if (_proc_state(p) or ["X"])[0] not in ("Z", "X")]


def _wait_gone(pids, timeout):
    """Wait until every pid has exited."""
    deadline = time.monotonic() + timeout
    while _alive(pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@atexit.register
def _stop_leftovers():
    for dc in list(LIVE):
        dc.stop()


# ---- SMTP sink ---------------------------------------------------------------

@dataclass
class SinkMessage:
    mail_from: str
    rcpts: list
    data: bytes
    time: float          # time.time() when DATA completed

    @property
    def message(self):
        return email.message_from_bytes(self.data, policy=email.policy.compat32)


class _SinkHandler(socketserver.StreamRequestHandler):
    timeout = 60

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        sink = self.server.sink
        with sink._cond:
            sink.connections += 1
            sink._open.add(self.connection)
        try:
            self._handle(sink)
        finally:
            with sink._cond:
                sink._open.discard(self.connection)

    def _handle(self, sink):
        self.reply("220 fdtest-sink ESMTP")
        mail_from, rcpts = None, []
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return
            cmd = line.decode("latin-1").rstrip("\r\n")
            verb = cmd.split(" ", 1)[0].upper()
            arg = cmd[len(verb):].strip()
            if verb == "EHLO":
                self.reply("250-fdtest-sink\r\n250-8BITMIME\r\n250 SMTPUTF8")
            elif verb == "HELO":
                self.reply("250 fdtest-sink")
            elif verb == "MAIL":
                mail_from, rcpts = _angle(arg), []
                sink._note_mail()
                if sink.mail_delay:
                    time.sleep(sink.mail_delay)
                self.reply("250 OK")
            elif verb == "RCPT":
                rcpts.append(_angle(arg))
                self.reply("250 OK")
            elif verb == "DATA":
                if mail_from is None or not rcpts:
                    self.reply("503 need MAIL and RCPT")
                    continue
                self.reply("354 go ahead")
                chunks = []
                while True:
                    l = self.rfile.readline()
                    if not l or l in (b".\r\n", b".\n"):
                        break
                    chunks.append(l[1:] if l.startswith(b".") else l)
                    if sink.close_in_data and len(chunks) >= 3:
                        sink._note_dropped()
                        return          # the connection closes mid-DATA
                if sink.delay:
                    time.sleep(sink.delay)
                if sink.code < 400:
                    sink._record(SinkMessage(mail_from, rcpts,
                                             b"".join(chunks), time.time()))
                self.reply("%d %s" % (sink.code, "OK" if sink.code < 400
                                      else "refused by fdtest-sink"))
                mail_from, rcpts = None, []
            elif verb == "RSET":
                mail_from, rcpts = None, []
                self.reply("250 OK")
            elif verb == "NOOP":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


def _angle(arg):
    mt = re.search(r"<([^>]*)>", arg)
    return mt.group(1) if mt else arg.split(":", 1)[-1].strip()


class SmtpSink:
    """An SMTP server on 127.0.0.1 that records every message.

    delay: seconds to stall before answering DATA (a slow relay);
    code:  the reply code for DATA (e.g. 451 or 554 to simulate failures);
    close_in_data: close the connection in the middle of DATA (counted in
           .dropped);
    mail_delay: seconds to stall before answering MAIL (nothing is
           accepted yet: a client cut off meanwhile has sent nothing).
    .mail_commands counts the MAIL commands received, .connections the
    connections accepted."""

    def __init__(self, delay=0.0, code=250, port=0, close_in_data=False,
                 mail_delay=0.0):
        self.delay = delay
        self.mail_delay = mail_delay
        self.mail_commands = 0
        self.connections = 0
        self._open = set()
        self.port = port
        self.code = code
        self.close_in_data = close_in_data
        self.dropped = 0
        self.messages = []
        self._cond = threading.Condition()
        self.server = None

    def _record(self, msg):
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()

    def _note_mail(self):
        with self._cond:
            self.mail_commands += 1
            self._cond.notify_all()

    def wait_mail_commands(self, count=1, timeout=10.0):
        """Wait until at least count MAIL commands arrived."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self.mail_commands >= count, timeout)

    def _note_dropped(self):
        with self._cond:
            self.dropped += 1
            self._cond.notify_all()

    def wait_dropped(self, count=1, timeout=10.0):
        """Wait until at least count transactions were cut mid-DATA."""
        with self._cond:
            return self._cond.wait_for(lambda: self.dropped >= count, timeout)

    def wait_for(self, count=1, timeout=10.0):
        """Wait until at least count messages arrived; the messages."""
        with self._cond:
            self._cond.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)

    def clear(self):
        with self._cond:
            self.messages.clear()

    def start(self):
        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
        self.server = Server(("127.0.0.1", self.port), _SinkHandler)
        self.server.sink = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        """Stop listening and drop the open connections, as a relay that
        goes down does (a client that keeps connections open must notice)."""
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        with self._cond:
            for conn in list(self._open):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# ---- shared test data ----------------------------------------------------------

@dataclass
class CorpusMessage:
    path: str
    mail_from: str       # envelope sender ("" = null sender, as for bounces)


def corpus_messages(data_dir=SHARED_DATA):
    """Every raw message of ../shared/data: the files listed in each
    mail/*/index.jsonl plus any other *.eml under mail/, and
    italian-dev/*.eml.  Empty when the data is not there."""
    out, seen = [], set()

    def add(path, null_sender=False):
        path = os.path.normpath(path)
        if path not in seen and os.path.isfile(path):
            seen.add(path)
            out.append(CorpusMessage(path, "" if null_sender
                                     else "customer@example.org"))

    mail = os.path.join(data_dir, "mail")
    for index in sorted(glob.glob(os.path.join(mail, "*", "index.jsonl"))):
        top = os.path.dirname(index)
        with open(index, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    row = json.loads(line)
                    add(os.path.join(top, row["file"]),
                        bool(row.get("null_sender")))
    for path in sorted(glob.glob(os.path.join(mail, "**", "*.eml"),
                                 recursive=True)):
        add(path)
    for path in sorted(glob.glob(os.path.join(data_dir, "italian-dev",
                                              "*.eml"))):
        add(path)
    return out


def deliver_many(dc, rcpt, messages, batch=100, timeout=120):
    """Deliver [(data, mail_from)] to rcpt over LMTP, `batch` transactions
    per connection; [LmtpResult] in order."""
    results = []
    for i in range(0, len(messages), batch):
        with dc.lmtp(timeout=timeout) as s:
            for data, mail_from in messages[i:i + batch]:
                results.append(s.send([rcpt], data, mail_from))
    return results


# ---- the acknowledgment tests' instance ----------------------------------------

ACK_SUPPORT = "support@example.com"
ACK_BASE = {"frontdesk_addresses": ACK_SUPPORT,
            "frontdesk_company": "Example Support",
            "frontdesk_timezone": "UTC",
            # the tests send more than a small desk's default allows
            "frontdesk_ack_global_limit": "100000",
            "frontdesk_ack_sender_limit": "1000"}


def ack_instance(frontdesk_built, sink, settings=None, users=None,
                 name="ack", base=None, **kw):
    """A private Dovecot with frontdesk on for ACK_SUPPORT, acknowledging
    into sink; settings go over base (ACK_BASE by default)."""
    module, model = frontdesk_built
    ps = dict(ACK_BASE if base is None else base, frontdesk_model=model)
    ps.update(settings or {})
    return Dovecot(module_path=module, load_frontdesk=True,
                   users=users or {ACK_SUPPORT: {"frontdesk_enabled": "yes"}},
                   plugin_settings=ps, sink=sink, name=name, **kw)
