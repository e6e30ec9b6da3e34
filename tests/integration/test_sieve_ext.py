"""The Sieve extension vnd.frontdesk (issue 15).

Script level: Pigeonhole's own sieve-test runs scripts that use every test,
the variables and the action on message files, with a private config (the
extension computes the verdict from core with the user's settings, as an
admin trying a script would see it), and reports compile errors by line.

Deliveries: a real Dovecot with lib95_frontdesk_plugin.so and the Sieve
plugin delivers over LMTP; user scripts use the verdict the delivery made
(the ticket only the delivery knows shows it is the same one) and steer
the acknowledgment: the three recipes of docs/sieve.md end in the right
folders with the right keywords and acknowledgments."""

import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

import fdtest

from fdtest import (Dovecot, SmtpSink, REPO, DEFAULT_WEIGHTS, TEMPLATE_DIR,
                    MAIL_USER, ensure_mail_user, make_message)

SIEVE_MODULE_NAME = "lib90_sieve_frontdesk_plugin.so"
SIEVE_MODULE = os.environ.get("FDTEST_SIEVE_MODULE") or os.path.join(
    REPO, ".libs", SIEVE_MODULE_NAME)
SIEVE_TEST = shutil.which("sieve-test") or "/usr/bin/sieve-test"
SUPPORT = "support@example.com"
ACK_WAIT = 15.0

BILLING = ("Invoice charged twice",
           "Hello, you charged my credit card twice for invoice 2024-117. "
           "Please refund the second payment.\nJane\n")
BILLING_IT = ("Fattura errata",
              "Buongiorno, la fattura di marzo ha un addebito doppio, "
              "vorrei un rimborso.\nMario\n")
OUTAGE = ("URGENT: server down, total outage",
          "Our production server is down since 9:00, all services are "
          "unreachable. This is an outage, please fix immediately.\n")
TWO_NEEDS = ("Invoice wrong and modem broken",
             "My invoice 2024-117 charged me twice, please refund. Also my "
             "modem does not work since yesterday, the router keeps "
             "rebooting.\n")
VAGUE = ("Info", "Please see attached.\n")


def bounce_message():
    """A DSN as an MTA sends it: null sender, multipart/report."""
    text = ("From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
            "To: support@example.com\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\n"
            "Message-ID: <bounce-%d@mx.example.net>\r\n"
            "Auto-Submitted: auto-replied\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status;"
            " boundary=\"b\"\r\n\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\n"
            "This is the mail system. Your message could not be delivered."
            "\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.net\r\n\r\n"
            "Final-Recipient: rfc822; nobody@example.org\r\n"
            "Action: failed\r\nStatus: 5.1.1\r\n--b--\r\n") % time.time_ns()
    return text.encode()


def msg(pair, **kw):
    data, _ = make_message(pair[0], pair[1], **kw)
    return data


def need_module():
    if not os.path.exists(SIEVE_MODULE):
        msg_ = "%s not built (Pigeonhole headers missing?)" % SIEVE_MODULE
        if os.environ.get("FDTEST_REQUIRE_PLUGIN"):
            pytest.fail(msg_)
        pytest.skip(msg_)


# ---- sieve-test --------------------------------------------------------------

class SieveTestEnv:
    """A private config for sieve-test: the Sieve module, model and weights
    in a directory the mail user can read, and a home for it."""

    def __init__(self, model, settings=None):
        self.uid, self.gid = ensure_mail_user()
        self.dir = tempfile.mkdtemp(prefix="fdsv", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.modules = os.path.join(self.dir, "modules")
        os.mkdir(self.modules)
        shutil.copy(SIEVE_MODULE, self.modules)
        for path in (model, DEFAULT_WEIGHTS):
            shutil.copy(path, self.dir)
        self.home = os.path.join(self.dir, "home")
        os.mkdir(self.home)
        ps = {"sieve_plugins": "sieve_frontdesk",
              "sieve_plugin_dir": self.modules,
              "sieve_extensions": "+vnd.frontdesk",
              "frontdesk_enabled": "yes",
              "frontdesk_addresses": SUPPORT,
              "frontdesk_ack": "yes",
              "frontdesk_model": os.path.join(self.dir,
                                              os.path.basename(model)),
              "frontdesk_weights": os.path.join(
                  self.dir, os.path.basename(DEFAULT_WEIGHTS))}
        ps.update(settings or {})
        ps = {k: v for k, v in ps.items() if v is not None}
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            if fdtest.DOVECOT_24:
                f.write("dovecot_config_version = 2.4.1\n"
                        "dovecot_storage_version = 2.4.1\n"
                        "base_dir = %s/run\nstate_dir = %s/state\n"
                        "mail_driver = maildir\nmail_path = %s/Maildir\n"
                        "%s" % (self.dir, self.dir, self.home,
                                fdtest.settings_24(ps)))
            else:
                f.write("base_dir = %s/run\nstate_dir = %s/state\n"
                        "mail_location = maildir:%s/Maildir\n"
                        "plugin {\n%s}\n" % (
                            self.dir, self.dir, self.home,
                            "".join("  %s = %s\n" % kv
                                    for kv in ps.items())))
        for root, dirs, files in os.walk(self.dir):
            for n in dirs + files:
                os.chown(os.path.join(root, n), self.uid, self.gid)
        self.n = 0

    def run(self, script, message, trace=False, args=()):
        """sieve-test as the mail user; (returncode, stdout, stderr)."""
        self.n += 1
        spath = os.path.join(self.dir, "s%d.sieve" % self.n)
        mpath = os.path.join(self.dir, "m%d.eml" % self.n)
        with open(spath, "w") as f:
            f.write(script)
        with open(mpath, "wb") as f:
            f.write(message)
        for p in (spath, mpath):
            os.chown(p, self.uid, self.gid)
        cmd = ["runuser", "-u", MAIL_USER, "--", "env", "HOME=" + self.home,
               SIEVE_TEST, "-c", self.conf] + list(args)
        if trace:
            cmd += ["-t", "-", "-T", "level=matching"]
        p = subprocess.run(cmd + [spath, mpath], capture_output=True,
                           text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def actions(self, script, message):
        """The 'Performed actions' lines of a successful run."""
        rc, out, err = self.run(script, message)
        assert rc == 0, err
        part = out.split("Performed actions:", 1)[1]
        part = part.split("Implicit keep:", 1)
        performed = [l.strip()[2:] for l in part[0].splitlines()
                     if l.strip().startswith("* ")]
        keep = [l.strip()[2:] for l in part[1].splitlines()
                if l.strip().startswith("* ")]
        return performed, keep

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def st(frontdesk_built):
    need_module()
    env = SieveTestEnv(frontdesk_built[1])
    yield env
    env.close()


REQ = 'require ["vnd.frontdesk", "fileinto", "variables"];\n'


def folder_if(test):
    return REQ + 'if %s { fileinto "Yes"; } else { fileinto "No"; }\n' % test


def answer(st, test, message):
    performed, _ = st.actions(folder_if(test), message)
    assert len(performed) == 1, performed
    return performed[0] == "store message in folder: Yes"


# frontdesk_need
def test_need_primary_and_secondary(st):
    m = msg(TWO_NEEDS)
    assert answer(st, 'frontdesk_need "billing"', m)
    assert answer(st, 'frontdesk_need "technical"', m)       # secondary
    assert not answer(st, 'frontdesk_need "sales"', m)
    assert answer(st, 'frontdesk_need ["sales", "billing"]', m)


def test_need_match_types_and_comparator(st):
    m = msg(BILLING)
    assert answer(st, 'frontdesk_need :matches "bill*"', m)
    assert answer(st, 'frontdesk_need :contains "ill"', m)
    assert answer(st, 'frontdesk_need "BILLING"', m)          # casemap
    assert not answer(st, 'frontdesk_need :comparator "i;octet" "BILLING"', m)
    assert not answer(st, 'frontdesk_need :matches "tech*"', m)


# frontdesk_office
def test_office(st):
    assert answer(st, 'frontdesk_office "back"', msg(BILLING))
    assert not answer(st, 'frontdesk_office "front"', msg(BILLING))
    assert answer(st, 'frontdesk_office "front"', msg(VAGUE))


# frontdesk_urgent
def test_urgent(st):
    assert answer(st, "frontdesk_urgent", msg(OUTAGE))
    assert not answer(st, "frontdesk_urgent", msg(BILLING))


# frontdesk_unsure
def test_unsure(st):
    assert answer(st, "frontdesk_unsure", msg(VAGUE))
    assert not answer(st, "frontdesk_unsure", msg(BILLING))


# frontdesk_machine
def test_machine(st):
    b = bounce_message()
    assert answer(st, "frontdesk_machine", b)
    assert answer(st, 'frontdesk_machine "bounce"', b)
    assert answer(st, 'frontdesk_machine ["list", "bounce"]', b)
    assert not answer(st, 'frontdesk_machine ["list", "auto-reply"]', b)
    assert not answer(st, "frontdesk_machine", msg(BILLING))
    assert not answer(st, 'frontdesk_machine "bounce"', msg(BILLING))


# frontdesk_language
def test_language(st):
    assert answer(st, 'frontdesk_language "it"', msg(BILLING_IT))
    assert answer(st, 'frontdesk_language ["de", "it"]', msg(BILLING_IT))
    assert not answer(st, 'frontdesk_language "en"', msg(BILLING_IT))
    assert answer(st, 'frontdesk_language "en"', msg(BILLING))


# frontdesk_followup (delivery side: test_delivery_followup_and_ticket)
def test_followup_without_reference(st):
    assert not answer(st, "frontdesk_followup", msg(BILLING))
    # a made-up reference is no follow-up
    assert not answer(st, "frontdesk_followup", msg(
        ("Re: [FD-AAAA-BBBB-CCCC] " + BILLING[0], BILLING[1])))


# ${frontdesk.*}
def test_variables(st):
    script = REQ + ('fileinto "${frontdesk.need}|${frontdesk.secondary}|'
                    '${frontdesk.office}|${frontdesk.language}|'
                    '${frontdesk.urgent}|${frontdesk.unsure}|'
                    '${frontdesk.machine}|${frontdesk.ack}|'
                    '${frontdesk.ack_reason}|${frontdesk.followup}|'
                    '${frontdesk.ticket}";\n')
    performed, _ = st.actions(script, msg(TWO_NEEDS))
    assert performed == ["store message in folder: billing|technical|back|"
                         "en|no|no||yes|ok|no|"]
    performed, _ = st.actions(script, bounce_message())
    name = performed[0].split(": ", 1)[1]
    assert name.split("|")[6] == "bounce"
    assert name.split("|")[7] == "no"
    script = REQ + 'fileinto "${frontdesk.confidence}";\n'
    performed, _ = st.actions(script, msg(BILLING))
    assert re.fullmatch(r"store message in folder: [01]\.\d\d", performed[0])


# frontdesk_ack
def test_ack_request_template_and_noack(st):
    req = 'require "vnd.frontdesk";\n'
    performed, keep = st.actions(req + "frontdesk_ack;\n", msg(BILLING))
    assert performed == ["frontdesk acknowledgment requested"]
    assert keep == ["store message in folder: INBOX"]   # no effect on keep
    performed, _ = st.actions(req + 'frontdesk_ack :template "vip";\n',
                              msg(BILLING))
    assert performed == ["frontdesk acknowledgment requested with "
                         "template vip"]
    performed, _ = st.actions(req + "frontdesk_ack :noack;\n", msg(BILLING))
    assert performed == ["withhold frontdesk's acknowledgment"]
    # a :noack wins whatever its place; otherwise the last template
    for script in ('frontdesk_ack :template "vip";\nfrontdesk_ack :noack;\n',
                   'frontdesk_ack :noack;\nfrontdesk_ack :template "vip";\n',
                   'frontdesk_ack :noack;\nfrontdesk_ack;\n'):
        performed, _ = st.actions(req + script, msg(BILLING))
        assert performed == ["withhold frontdesk's acknowledgment"], script
    performed, _ = st.actions(
        req + 'frontdesk_ack :template "a";\nfrontdesk_ack :template "b";\n',
        msg(BILLING))
    assert performed == ["frontdesk acknowledgment requested with "
                         "template b"]


def test_ack_of_a_bounce_is_refused_with_the_reason(st):
    rc, out, err = st.run('require "vnd.frontdesk";\nfrontdesk_ack;\n',
                          bounce_message())
    assert rc == 0, err
    assert "frontdesk acknowledgment requested: refused (bounce (" in out
    assert re.search(r"frontdesk_ack refused: frontdesk never acknowledges "
                     r"this message \(bounce \(.+\)\)", err), err
    # :template does not help either
    rc, out, err = st.run('require "vnd.frontdesk";\n'
                          'frontdesk_ack :template "vip";\n',
                          bounce_message())
    assert "refused (bounce" in out


def test_trace_shows_the_verdict(st):
    rc, out, err = st.run(folder_if('frontdesk_machine "bounce"'),
                          bounce_message(), trace=True)
    assert rc == 0, err
    assert "frontdesk_machine test" in out
    assert "machine kind `bounce'" in out


# compile errors: one per wrong argument, naming the line
@pytest.mark.parametrize("line,expected", [
    ('if frontdesk_office "middle" { keep; }',
     'frontdesk_office: the office is "front" or "back", not \'middle\''),
    ('if frontdesk_office ["front", "back"] { keep; }',
     "expects a string as argument 1 (office)"),
    ('if frontdesk_machine "robot" { keep; }',
     "frontdesk_machine: unknown machine kind 'robot'"),
    ('if frontdesk_machine "bounce" "list" { keep; }',
     "frontdesk_machine takes at most one argument"),
    ('if frontdesk_need { keep; }',
     "the frontdesk_need test requires 1 positional argument"),
    ('if frontdesk_need 5 { keep; }',
     "expects a string list as argument 1 (needs), but a number was found"),
    ('if frontdesk_need :regex "x" { keep; }',
     "unknown tagged argument ':regex'"),
    ('if frontdesk_language { keep; }',
     "the frontdesk_language test requires 1 positional argument"),
    ('if frontdesk_urgent "yes" { keep; }',
     "the frontdesk_urgent test requires 0 positional argument"),
    ('if frontdesk_unsure 1 { keep; }',
     "the frontdesk_unsure test requires 0 positional argument"),
    ('if frontdesk_followup "x" { keep; }',
     "the frontdesk_followup test requires 0 positional argument"),
    ('frontdesk_ack :template "../../etc";',
     "frontdesk_ack: invalid :template name '../../etc'"),
    ('frontdesk_ack :template;',
     "the :template tag for the frontdesk_ack command requires a string"),
    ('frontdesk_ack :template "vip" :noack;',
     "frontdesk_ack: :template and :noack exclude each other"),
    ('frontdesk_ack "yes";',
     "the frontdesk_ack command requires 0 positional argument"),
    ('frontdesk_ack :now;', "unknown tagged argument ':now'"),
    ('set "x" "${frontdesk.nope}";',
     "vnd.frontdesk: unknown variable `frontdesk.nope'"),
    ('set "frontdesk.need" "sales";',
     "vnd.frontdesk: cannot assign to `frontdesk.need'"),
])
def test_compile_error_names_the_line(st, line, expected):
    script = REQ + "# a comment\n" + line + "\n"
    rc, out, err = st.run(script, msg(BILLING))
    # Pigeonhole reports a bad variable inside a string and compiles on
    # (the variable reads as ""): the error is there all the same
    if "${frontdesk.nope}" not in line:
        assert rc != 0
    assert re.search(r"line 3: error: .*%s" % re.escape(expected), err), err


def test_not_enabled_implicitly(frontdesk_built):
    need_module()
    env = SieveTestEnv(frontdesk_built[1], {"sieve_extensions": None})
    try:
        rc, out, err = env.run('require "vnd.frontdesk";\nkeep;\n',
                               msg(BILLING))
        assert rc != 0
        # Pigeonhole 2.4 quotes 'thus', 0.5 `thus'
        assert re.search(r"line 1: error: require command: unknown Sieve "
                         r"capability [`']vnd\.frontdesk'", err), err
    finally:
        env.close()


def test_plugin_loaded_with_P(frontdesk_built):
    """sieve-test -P <dir>/sieve_frontdesk -x +vnd.frontdesk, nothing in
    the config: how an admin tries the extension before enabling it."""
    need_module()
    env = SieveTestEnv(frontdesk_built[1], {"sieve_plugins": None,
                                            "sieve_extensions": None})
    try:
        rc, out, err = env.run(
            folder_if('frontdesk_need "billing"'), msg(BILLING),
            args=["-P", os.path.join(env.modules, "sieve_frontdesk"),
                  "-x", "+vnd.frontdesk"])
        assert rc == 0, err
        assert "store message in folder: Yes" in out
    finally:
        env.close()


def test_user_without_frontdesk_has_no_verdict(st):
    rc, out, err = st.run(folder_if('frontdesk_need "billing"'),
                          msg(BILLING), trace=True,
                          args=["-o", "frontdesk_enabled=" if fdtest.DOVECOT_24
                                else "plugin/frontdesk_enabled="])
    assert rc == 0, err
    assert "store message in folder: No" in out
    assert "no frontdesk verdict (frontdesk_enabled is not set" in out


# ---- real deliveries over LMTP ----------------------------------------------

# The three recipes of docs/sieve.md, word for word.
RECIPE_BRANDS = """require ["vnd.frontdesk", "fileinto", "mailbox", "variables"];
# one folder per brand and need for the back office: acme-billing, ...
if address :domain :matches "to" "*.example" { set "brand" "${1}"; }
if allof (not string :is "${brand}" "", frontdesk_office "back",
          not frontdesk_machine) {
  fileinto :create "${brand}-${frontdesk.need}";
}
"""
RECIPE_ONCALL = """require ["vnd.frontdesk", "copy"];
# outages that cannot wait go to the on-call pager as well
if allof (frontdesk_need "outage", frontdesk_urgent, not frontdesk_machine) {
  redirect :copy "pager@oncall.example";
}
"""
RECIPE_VIP = """require ["vnd.frontdesk", "imap4flags"];
# VIP customers get a person, not an automatic acknowledgment
if address :domain :is "from" ["vip.example.net", "board.example.org"] {
  frontdesk_ack :noack;
  addflag "\\\\Flagged";
}
"""
SCRIPT_ACK_ALL = """require "vnd.frontdesk";
frontdesk_ack;
"""
SCRIPT_TEMPLATE = """require "vnd.frontdesk";
if frontdesk_need "sales" { frontdesk_ack :template "nosuchset"; }
else { frontdesk_ack :template "vip"; }
"""
SCRIPT_TICKET = """require ["vnd.frontdesk", "fileinto", "mailbox", "variables"];
if frontdesk_followup { fileinto :create "followup-${frontdesk.ticket}"; }
else { fileinto :create "new-${frontdesk.ticket}"; }
"""
SCRIPT_NEED = """require ["vnd.frontdesk", "fileinto", "mailbox"];
if frontdesk_need "billing" { fileinto :create "Billing"; }
"""

DELIVERY_USERS = {
    "brands@example.com": RECIPE_BRANDS,
    "ops@example.com": RECIPE_ONCALL,
    "vipdesk@example.com": RECIPE_VIP,
    "guard@example.com": SCRIPT_ACK_ALL,
    "tpl@example.com": SCRIPT_TEMPLATE,
    "ticket@example.com": SCRIPT_TICKET,
    "plain@example.com": SCRIPT_NEED,
}
VIP_MARK = "A person from our VIP desk will call you"


@pytest.fixture(scope="module")
def sink():
    with SmtpSink() as s:
        yield s


@pytest.fixture(scope="module")
def dsv(frontdesk_built, sink):
    need_module()
    module, model = frontdesk_built
    tmp = tempfile.mkdtemp(prefix="fdsm", dir="/tmp")
    os.chmod(tmp, 0o755)
    mods = os.path.join(tmp, "sieve-modules")
    os.mkdir(mods, 0o755)
    shutil.copy(SIEVE_MODULE, mods)
    os.chmod(os.path.join(mods, SIEVE_MODULE_NAME), 0o644)
    # the shipped templates and a "vip" set (frontdesk_ack :template "vip")
    tdir = os.path.join(tmp, "templates")
    shutil.copytree(TEMPLATE_DIR, tdir)
    vdir = os.path.join(tdir, "vip")
    os.mkdir(vdir)
    with open(os.path.join(TEMPLATE_DIR, "ack.en.txt")) as f:
        text = f.read()
    text = text.replace("[text]\n", "[text]\n%s.\n" % VIP_MARK, 1)
    with open(os.path.join(vdir, "ack.en.txt"), "w") as f:
        f.write(text)
    for root, dirs, files in os.walk(tmp):
        for n in dirs:
            os.chmod(os.path.join(root, n), 0o755)
        for n in files:
            os.chmod(os.path.join(root, n), 0o644)
    users = {u: {"frontdesk_enabled": "yes"} for u in DELIVERY_USERS}
    users["plain@example.com"] = {}
    settings = {
        "sieve_plugins": "sieve_frontdesk",
        "sieve_plugin_dir": mods,
        "sieve_extensions": "+vnd.frontdesk",
        "frontdesk_model": model,
        "frontdesk_templates": tdir,
        "frontdesk_addresses": " ".join(
            list(DELIVERY_USERS) + ["support@acme.example",
                                    "support@globex.example"]),
        "frontdesk_company": "Example Support",
        "frontdesk_timezone": "UTC",
        "frontdesk_ack_global_limit": "100000",
        "frontdesk_ack_sender_limit": "1000",
    }
    with Dovecot(module_path=module, load_frontdesk=True, users=users,
                 plugin_settings=settings, sink=sink, name="sieveext",
                 sieve=dict(DELIVERY_USERS)) as dc:
        yield dc
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def fresh(sink):
    sink.clear()
    return sink


def deliver(dc, rcpt, data, mail_from):
    res = dc.deliver_lmtp([rcpt], data, mail_from=mail_from)
    assert res.code(rcpt) == 250, res
    return res


def sent_to(sink, addr, count=1, timeout=ACK_WAIT, quiet=1.5):
    """What the sink got for addr: waits for count, then a little more."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = [m for m in sink.wait_for(0, timeout=0) if addr in m.rcpts]
        if len(got) >= count:
            break
        time.sleep(0.1)
    time.sleep(quiet)
    return [m for m in sink.wait_for(0, timeout=0) if addr in m.rcpts]


def where(dc, user, msgid):
    return sorted((m.folder, frozenset(m.keywords))
                  for m in dc.find(user, msgid))


def test_recipe_brand_folders(dsv, fresh):
    user = "brands@example.com"
    cases = [(BILLING, "support@acme.example", "acme-billing"),
             (OUTAGE, "support@globex.example", "globex-outage"),
             (VAGUE, "support@acme.example", "FrontOffice"),
             (BILLING, user, "BackOffice")]
    for i, (pair, to, folder) in enumerate(cases):
        sender = "cust%d@example.org" % i
        data, msgid = make_message(pair[0], pair[1], to=to,
                                   from_="Cust <%s>" % sender)
        deliver(dsv, user, data, sender)
        stored = where(dsv, user, msgid)
        assert [f for f, _ in stored] == [folder], stored
        # frontdesk's keywords go with the mail wherever the script files it
        need = folder.split("-")[-1] if "-" in folder else None
        if need:
            assert need in stored[0][1], stored
        assert len(sent_to(fresh, sender, quiet=0)) == 1
    # a bounce to a brand stays out of the brand folders
    deliver(dsv, user, bounce_message(), "")
    assert not [f for f in dsv.list_folders(user) if f.startswith("acme-")
                and dsv.count(user, f) > 1]


def test_recipe_oncall_forward_of_outages(dsv, fresh):
    user = "ops@example.com"
    data, msgid = make_message(OUTAGE[0], OUTAGE[1], to=user,
                               from_="Ann <ann@example.org>")
    deliver(dsv, user, data, "ann@example.org")
    pages = sent_to(fresh, "pager@oncall.example", quiet=0)
    assert len(pages) == 1
    assert msgid.encode() in pages[0].data
    assert len(sent_to(fresh, "ann@example.org")) == 1      # the ack too
    stored = where(dsv, user, msgid)
    assert [f for f, _ in stored] == ["BackOffice"]          # :copy keeps
    assert {"outage", "urgent"} <= stored[0][1]
    # not urgent, not an outage: no page
    fresh.clear()
    data, msgid = make_message(BILLING[0], BILLING[1], to=user,
                               from_="Bob <bob@example.org>")
    deliver(dsv, user, data, "bob@example.org")
    assert len(sent_to(fresh, "bob@example.org")) == 1
    assert sent_to(fresh, "pager@oncall.example", count=0, quiet=0) == []


def test_recipe_vip_domains_skip_the_ack(dsv, fresh):
    user = "vipdesk@example.com"
    mark = dsv.log_mark()
    data, vip_id = make_message(BILLING[0], BILLING[1], to=user,
                                from_="Vera <vera@vip.example.net>")
    deliver(dsv, user, data, "vera@vip.example.net")
    data, other_id = make_message(BILLING[0], BILLING[1], to=user,
                                  from_="Olga <olga@example.org>")
    deliver(dsv, user, data, "olga@example.org")
    assert len(sent_to(fresh, "olga@example.org")) == 1
    assert sent_to(fresh, "vera@vip.example.net", count=0, quiet=0) == []
    vip = dsv.find(user, vip_id)
    assert [m.folder for m in vip] == ["BackOffice"]
    assert "\\Flagged" in vip[0].flags and "billing" in vip[0].keywords
    assert [m.folder for m in dsv.find(user, other_id)] == ["BackOffice"]
    assert dsv.wait_log("frontdesk:", "ack=sieve-noack", since=mark)


def test_script_cannot_ack_a_bounce(dsv, fresh):
    user = "guard@example.com"
    mark = dsv.log_mark()
    deliver(dsv, user, bounce_message(), "")
    lines = dsv.wait_log("a Sieve script asked for an acknowledgment, "
                         "refused: bounce", since=mark)
    assert lines, dsv.log(mark)
    # nothing went out (no sender to answer anyway: nothing at all)
    time.sleep(1.5)
    assert fresh.wait_for(0, timeout=0) == []
    # an auto-reply with a sender is refused the same way
    data, _ = make_message("Out of office", "I am away until Monday.\n",
                           to=user, from_="Al <al@example.org>",
                           headers={"Auto-Submitted": "auto-replied"})
    deliver(dsv, user, data, "al@example.org")
    assert dsv.wait_log("refused: auto-reply", since=mark)
    assert sent_to(fresh, "al@example.org", count=0) == []
    # while a customer's mail is acknowledged as usual
    data, _ = make_message(BILLING[0], BILLING[1], to=user,
                           from_="Cy <cy@example.org>")
    deliver(dsv, user, data, "cy@example.org")
    assert len(sent_to(fresh, "cy@example.org")) == 1


def test_script_picks_the_template(dsv, fresh):
    user = "tpl@example.com"
    data, _ = make_message(BILLING[0], BILLING[1], to=user,
                           from_="Dee <dee@example.org>")
    deliver(dsv, user, data, "dee@example.org")
    acks = sent_to(fresh, "dee@example.org")
    assert len(acks) == 1 and VIP_MARK.encode() in acks[0].data
    # a set that does not exist: the default template, and an error line
    mark = dsv.log_mark()
    data, _ = make_message("Price list", "Hello, could you send me an "
                           "offer and the price list for your products?\n",
                           to=user, from_="Eve <eve@example.org>")
    deliver(dsv, user, data, "eve@example.org")
    acks = sent_to(fresh, "eve@example.org")
    assert len(acks) == 1 and VIP_MARK.encode() not in acks[0].data
    assert dsv.wait_log("template set nosuchset", "the default is used",
                        since=mark)


def test_delivery_followup_and_ticket(dsv, fresh):
    """The script sees the delivery's own verdict: the ticket (which only
    the delivery makes) is the one the acknowledgment carries."""
    user = "ticket@example.com"
    data, _ = make_message(BILLING[0], BILLING[1], to=user,
                           from_="Fay <fay@example.org>")
    deliver(dsv, user, data, "fay@example.org")
    acks = sent_to(fresh, "fay@example.org")
    assert len(acks) == 1
    ticket = re.search(rb"\[(FD-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})\]",
                       acks[0].data).group(1).decode()
    assert dsv.count(user, "new-" + ticket) == 1
    data, _ = make_message("Re: [%s] %s" % (ticket, BILLING[0]),
                           "Any news?\n", to=user,
                           from_="Fay <fay@example.org>")
    deliver(dsv, user, data, "fay@example.org")
    assert dsv.count(user, "followup-" + ticket) == 1


def test_no_second_classification_when_frontdesk_is_off(dsv, fresh):
    """A recipient without frontdesk: the delivery lends no verdict and the
    extension does not classify on its own: every test is false."""
    user = "plain@example.com"
    data, msgid = make_message(BILLING[0], BILLING[1], to=user)
    deliver(dsv, user, data, "customer@example.org")
    assert [m.folder for m in dsv.find(user, msgid)] == ["INBOX"]


# ---- imapsieve: no delivery plugin in imap, the verdict from core -----------

IMAPSIEVE_SCRIPT = """require ["vnd.frontdesk", "imap4flags", "variables"];
if frontdesk_need "billing" { addflag "seen-billing"; }
if frontdesk_need "appointment" { addflag "seen-appointment"; }
if frontdesk_machine { addflag "seen-robot"; }
addflag "lang-${frontdesk.language}";
frontdesk_ack;
"""


def test_imapsieve_reads_the_verdict_from_core(frontdesk_built):
    need_module()
    module, model = frontdesk_built
    tmp = tempfile.mkdtemp(prefix="fdis", dir="/tmp")
    try:
        os.chmod(tmp, 0o755)
        mods = os.path.join(tmp, "sieve-modules")
        os.mkdir(mods, 0o755)
        shutil.copy(SIEVE_MODULE, mods)
        os.chmod(os.path.join(mods, SIEVE_MODULE_NAME), 0o644)
        os.symlink("/usr/lib/dovecot/modules/sieve/"
                   "lib90_sieve_imapsieve_plugin.so",
                   os.path.join(mods, "lib90_sieve_imapsieve_plugin.so"))
        script = os.path.join(tmp, "escalate.sieve")
        with open(script, "w") as f:
            f.write(IMAPSIEVE_SCRIPT)
        uid, gid = ensure_mail_user()
        os.chown(tmp, uid, gid)        # the compiled script goes next to it
        os.chmod(script, 0o644)
        rules = os.path.join(tmp, "frontdesk.rules")
        with open(rules, "w") as f:
            f.write("# none yet\n")
        settings = {
            "frontdesk_rules": rules,
            "sieve_plugins": "sieve_imapsieve sieve_frontdesk",
            "sieve_plugin_dir": mods,
            "sieve_extensions": "+vnd.frontdesk",
            "imapsieve_mailbox1_name": "Escalate",
            "imapsieve_mailbox1_causes": "APPEND COPY",
            "imapsieve_mailbox1_before": "file:" + script,
            "frontdesk_model": model,
            "frontdesk_addresses": SUPPORT,
        }
        with Dovecot(module_path=module, load_frontdesk=True,
                     users={SUPPORT: {"frontdesk_enabled": "yes"}},
                     plugin_settings=settings, imap_plugins=["imap_sieve"],
                     name="imapsieve") as dc:
            with dc.imap(SUPPORT) as m:
                assert m.create("Escalate")[0] == "OK"
                data, _ = make_message(BILLING_IT[0], BILLING_IT[1])
                typ, resp = m.append("Escalate", None, None, data)
                assert typ == "OK", resp
                typ, resp = m.append("Escalate", None, None,
                                     bounce_message())
                assert typ == "OK", resp
            stored = dc.fetch_all(SUPPORT, "Escalate")
            kws = [m.keywords for m in stored]
            assert "seen-billing" in kws[0] and "lang-it" in kws[0], kws
            assert "seen-robot" not in kws[0], kws
            assert "seen-robot" in kws[1] and "seen-billing" not in kws[1]
            # the admin's rules change while the imap process lives on:
            # the next message is judged with the new ones
            zorb = make_message("Zorblax", "Zorblax zorblax, please.\n")[0]
            with dc.imap(SUPPORT) as m:
                assert m.append("Escalate", None, None, zorb)[0] == "OK"
                with open(dc.plugin_settings["frontdesk_rules"], "w") as f:
                    f.write("appointment 5 zorblax\n")
                assert m.append("Escalate", None, None, zorb)[0] == "OK"
            kws = [m.keywords for m in dc.fetch_all(SUPPORT, "Escalate")]
            assert "seen-appointment" not in kws[2], kws
            assert "seen-appointment" in kws[3], kws
            assert not dc.log_lines("Error", "frontdesk")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_each_recipient_gets_its_own_verdict(dsv, fresh):
    """One LMTP transaction, two recipients: the verdict lent to one
    recipient's script is never the other's."""
    data, msgid = make_message(BILLING[0], BILLING[1],
                               to="ticket@example.com, plain@example.com",
                               from_="Gil <gil@example.org>")
    res = dsv.deliver_lmtp(["ticket@example.com", "plain@example.com"],
                           data, mail_from="gil@example.org")
    assert res.code("ticket@example.com") == 250, res
    assert res.code("plain@example.com") == 250, res
    assert [m.folder for m in dsv.find("plain@example.com", msgid)] == \
        ["INBOX"]
    folders = [m.folder for m in dsv.find("ticket@example.com", msgid)]
    assert len(folders) == 1 and re.fullmatch(
        r"new-FD-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", folders[0]), folders


def test_dovecot_lda_lends_the_verdict_too(dsv, fresh):
    user = "vipdesk@example.com"
    data, msgid = make_message(BILLING[0], BILLING[1], to=user,
                               from_="Hal <hal@vip.example.net>")
    p = dsv.deliver_lda(user, data, mail_from="hal@vip.example.net")
    assert p.returncode == 0, p.stderr
    stored = dsv.find(user, msgid)
    assert [m.folder for m in stored] == ["BackOffice"]
    assert "\\Flagged" in stored[0].flags
    assert sent_to(fresh, "hal@vip.example.net", count=0) == []


def test_sieve_before_noack_holds_against_the_user_script(frontdesk_built,
                                                          sink):
    """A site-wide sieve_before script withholds acks for VIPs and asks for
    one for everyone else; the user's script asks for one for everyone but
    the board: the VIP and the board get none, the others one."""
    need_module()
    module, model = frontdesk_built
    tmp = tempfile.mkdtemp(prefix="fdsb", dir="/tmp")
    try:
        os.chmod(tmp, 0o755)
        mods = os.path.join(tmp, "sieve-modules")
        os.mkdir(mods, 0o755)
        shutil.copy(SIEVE_MODULE, mods)
        os.chmod(os.path.join(mods, SIEVE_MODULE_NAME), 0o644)
        settings = {
            "sieve_plugins": "sieve_frontdesk",
            "sieve_plugin_dir": mods,
            "sieve_extensions": "+vnd.frontdesk",
            "frontdesk_model": model,
            "frontdesk_addresses": SUPPORT,
            "frontdesk_timezone": "UTC",
        }
        before = ('require "vnd.frontdesk";\n'
                  'if address :domain "from" "vip.example.net" '
                  '{ frontdesk_ack :noack; } else { frontdesk_ack; }\n')
        user = ('require "vnd.frontdesk";\n'
                'if address :domain "from" "board.example.org" '
                '{ frontdesk_ack :noack; } else { frontdesk_ack; }\n')
        sink.clear()
        with Dovecot(module_path=module, load_frontdesk=True,
                     users={SUPPORT: {"frontdesk_enabled": "yes"}},
                     plugin_settings=settings, sink=sink, name="sbefore",
                     sieve_before=before,
                     sieve={SUPPORT: user}) as dc:
            mark = dc.log_mark()
            for sender in ("ivy@vip.example.net", "kim@board.example.org",
                           "joe@example.org"):
                data, _ = make_message(BILLING[0], BILLING[1],
                                       from_="X <%s>" % sender)
                deliver(dc, SUPPORT, data, sender)
            assert len(sent_to(sink, "joe@example.org")) == 1
            assert sent_to(sink, "ivy@vip.example.net", count=0) == []
            assert sent_to(sink, "kim@board.example.org", count=0) == []
            assert len(dc.wait_log("ack=sieve-noack", count=2,
                                   since=mark)) == 2
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
