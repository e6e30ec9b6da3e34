"""frontdesk end to end: a private Dovecot with the freshly built plugin,
driven over LMTP, dovecot-lda and IMAP.  Checks the delivery spec: filing,
keywords, headers, Sieve interplay, per-user enabling, fail-open, the log
line, and that every message of the shared corpus goes through."""

import csv
import os
import re
import time

import pytest

import fdtest
from fdtest import (Dovecot, SmtpSink, SIEVE_FILED, SIEVE_MODES,
                    make_message)

NEED_OFFICE = {
    "billing": "back", "technical": "back", "outage": "back",
    "orders": "back", "account": "back", "privacy": "back",
    "sales": "front", "information": "front", "complaint": "front",
    "appointment": "front",
}
FOLDER = {"front": "FrontOffice", "back": "BackOffice"}
FD_HEADERS = ("X-Frontdesk-Need", "X-Frontdesk-Office", "X-Frontdesk-Score")
DELIVERY_BOUND = 10.0     # seconds one delivery may take

SUPPORT = "support@example.com"
OTHER = "other@example.com"          # frontdesk not enabled (the default)
SIEVE = "sieve@example.com"
CORPUS = "corpus@example.com"
DEMO = "demo@example.com"
BIG = "big@example.com"
LOGU = "log@example.com"
PREFIX = "prefix@example.com"
CUSTOM = "custom@example.com"
ON = {"frontdesk_enabled": "yes"}

SIEVE_SCRIPT = """require ["fileinto", "mailbox", "imap4flags"];
if header :is "X-Frontdesk-Need" "privacy" {
  fileinto :create "Privacy";
  stop;
}
if header :contains "subject" "[fileme]" {
  addflag "foo";
  fileinto :create "X";
  stop;
}
if header :contains "subject" "[keepme]" {
  keep;
  stop;
}
if header :contains "subject" "[flagme]" {
  addflag "foo";
}
"""

BILLING = ("Invoice 2024-117 charged twice",
           "Hello,\nmy credit card was charged twice for invoice 2024-117 "
           "this month. Please refund the duplicate payment and send me a "
           "corrected invoice.\n\nThanks,\nMaria Rossi\n")
PRIVACY = ("Delete my data",
           "Hello,\nunder the GDPR I ask you to delete all my personal "
           "data. Please confirm the erasure.\n")
TECHNICAL = ("Router keeps disconnecting",
             "Hi,\nsince yesterday my router loses the internet connection "
             "every few minutes and the DSL light blinks red. I already "
             "restarted it. Can you help?\n\nPaolo\n")


# ---- instances ---------------------------------------------------------------

@pytest.fixture(scope="module", params=list(SIEVE_MODES))
def dc(frontdesk_built, request):
    """The shared instance: frontdesk loaded, enabled per user via userdb;
    once with each Sieve setup of fdtest.SIEVE_MODES (Sieve is loaded in
    all of them), since who stores the mail must not change the result."""
    module, model = frontdesk_built
    users = {
        SUPPORT: dict(ON), OTHER: {}, SIEVE: dict(ON), CORPUS: dict(ON),
        DEMO: dict(ON), BIG: dict(ON), LOGU: dict(ON),
        PREFIX: dict(ON, frontdesk_keyword_prefix="fd-"),
        CUSTOM: dict(ON, frontdesk_folder_front="Desk",
                     frontdesk_folder_back="Workshop"),
    }
    with SmtpSink() as sink, Dovecot(
            module_path=module, load_frontdesk=True, users=users,
            plugin_settings={"frontdesk_model": model},
            sieve={SIEVE: SIEVE_SCRIPT}, sink=sink, name="main",
            sieve_mode=request.param) as inst:
        yield inst


# ---- helpers -------------------------------------------------------------------

def submit(dc, user, data, via="lmtp"):
    """Deliver data to user over LMTP or dovecot-lda; assert it succeeded
    (250 within DELIVERY_BOUND, or LDA exit 0)."""
    if via == "lmtp":
        res = dc.deliver_lmtp([user], data)
        assert res.code(user) == 250, res
        assert res.elapsed < DELIVERY_BOUND
    else:
        p = dc.deliver_lda(user, data)
        assert p.returncode == 0, p.stderr


def deliver(dc, user, subject, body, via="lmtp", **kw):
    """Deliver one message; its single stored copy."""
    data, msgid = make_message(subject, body, to=user, **kw)
    submit(dc, user, data, via)
    copies = dc.find(user, msgid)
    assert len(copies) == 1, "stored %d times: %r" % (
        len(copies), [(c.folder, c.uid) for c in copies])
    return copies[0]


def frontdesk_fields(msg, prefix=""):
    """Check the X-Frontdesk-* headers and keywords frontdesk put on msg;
    (needs, office, frontdesk keywords)."""
    for h in FD_HEADERS:
        assert len(msg.header_all(h)) == 1, "%s: %r" % (h, msg.header_all(h))
    needs = [n.strip() for n in msg.header("X-Frontdesk-Need").split(",")
             if n.strip()]
    assert 1 <= len(needs) <= 2, needs
    assert set(needs) <= set(NEED_OFFICE), needs
    assert len(set(needs)) == len(needs), needs
    # "front" or "back", perhaps followed by an RFC 5322 comment: "(unsure)"
    office_hdr = msg.header("X-Frontdesk-Office")
    office = re.sub(r"\s*\(.*\)\s*$", "", office_hdr)
    assert office in ("front", "back"), office_hdr
    score = msg.header("X-Frontdesk-Score")
    mt = re.match(r"(\d+(?:\.\d+)?)(\s|$)", score)
    assert mt and 0.0 <= float(mt.group(1)) <= 1.0, score
    ours = {prefix + n for n in needs}
    assert ours <= msg.keywords, (needs, msg.keywords)
    for extra in ("urgent", "unsure"):
        if prefix + extra in msg.keywords:
            ours.add(prefix + extra)
    # the office follows the primary need, except when unsure
    if prefix + "unsure" in msg.keywords:
        assert office == "front", (office, msg.keywords)
    else:
        assert office == NEED_OFFICE[needs[0]], (needs, office)
    return needs, office, ours


def sieve_filed(dc):
    """The folder the instance's Sieve mode files every mail in, or None."""
    return SIEVE_FILED if dc.sieve_mode == "fileinto" else None


def plain_folders(dc):
    """The folders of a user frontdesk leaves alone."""
    return {"INBOX", sieve_filed(dc)} - {None}


def assert_tagged(msg, folders=FOLDER, prefix="", other_keywords=(),
                  dc=None):
    """msg was handled by frontdesk and filed in its office folder (or
    where the instance's Sieve script put it: an explicit fileinto wins)."""
    needs, office, ours = frontdesk_fields(msg, prefix)
    want = (dc and sieve_filed(dc)) or folders[office]
    assert msg.folder == want, (msg.folder, office)
    assert msg.keywords == ours | set(other_keywords), msg.keywords
    # prepended: above the message's own header fields
    raw = msg.raw_header.decode("utf-8", "replace")
    first_own = raw.index("\nFrom: ")
    for h in FD_HEADERS:
        assert 0 <= raw.index(h + ":") < first_own, h
    return needs, office


def assert_untouched(msg, dc=None):
    assert msg.folder == ((dc and sieve_filed(dc)) or "INBOX")
    assert msg.keywords == set(), msg.keywords
    for h in FD_HEADERS:
        assert msg.header(h) is None, h


def frontdesk_info_lines(dc, since):
    return [l for l in dc.log_lines("frontdesk:", since=since)
            if all(k in l for k in ("need=", "office=", "folder="))]


# ---- filing, keywords, headers ---------------------------------------------------

@pytest.mark.parametrize("subject,body", [BILLING, TECHNICAL],
                         ids=["billing", "technical"])
def test_enabled_user_message_is_filed_and_tagged(dc, subject, body):
    msg = deliver(dc, SUPPORT, subject, body)
    needs, office = assert_tagged(msg, dc=dc)
    # the office folder was created and subscribed
    assert FOLDER[office] in dc.list_folders(SUPPORT)
    assert FOLDER[office] in dc.subscribed(SUPPORT)


def test_user_without_frontdesk_is_untouched(dc):
    msg = deliver(dc, OTHER, *BILLING)
    assert_untouched(msg, dc)
    assert set(dc.list_folders(OTHER)) == plain_folders(dc)
    assert "FrontOffice" not in dc.subscribed(OTHER)
    assert "BackOffice" not in dc.subscribed(OTHER)


@pytest.mark.parametrize("order", ["enabled-first", "enabled-last"])
def test_lmtp_two_recipients_only_enabled_one_tagged(dc, order):
    rcpts = [SUPPORT, OTHER] if order == "enabled-first" else [OTHER, SUPPORT]
    data, msgid = make_message(*BILLING)
    res = dc.deliver_lmtp(rcpts, data)
    assert res.code(SUPPORT) == 250 and res.code(OTHER) == 250, res
    (mine,) = dc.find(SUPPORT, msgid)
    assert_tagged(mine, dc=dc)
    (theirs,) = dc.find(OTHER, msgid)
    assert_untouched(theirs, dc)
    assert set(dc.list_folders(OTHER)) == plain_folders(dc)


def test_lda_delivery_is_filed_and_tagged(dc):
    msg = deliver(dc, SUPPORT, *TECHNICAL, via="lda")
    assert_tagged(msg, dc=dc)


def test_lda_user_without_frontdesk_is_untouched(dc):
    msg = deliver(dc, OTHER, *TECHNICAL, via="lda")
    assert_untouched(msg, dc)


def test_keyword_prefix(dc):
    msg = deliver(dc, PREFIX, *BILLING)
    assert_tagged(msg, prefix="fd-", dc=dc)
    assert all(k.startswith("fd-") for k in msg.keywords), msg.keywords


def test_custom_folder_names(dc):
    msg = deliver(dc, CUSTOM, *TECHNICAL)
    needs, office = assert_tagged(msg, folders={"front": "Desk",
                                                "back": "Workshop"}, dc=dc)
    folders = dc.list_folders(CUSTOM)
    assert "FrontOffice" not in folders and "BackOffice" not in folders
    assert {"front": "Desk", "back": "Workshop"}[office] in dc.subscribed(CUSTOM)


# ---- Sieve -----------------------------------------------------------------------

def test_sieve_fileinto_wins_and_keeps_tags(dc):
    mark = dc.log_mark()
    msg = deliver(dc, SIEVE, "[fileme] " + BILLING[0], BILLING[1])
    needs, office, ours = frontdesk_fields(msg)
    assert msg.folder == "X"
    assert msg.keywords == ours | {"foo"}, msg.keywords
    # the log line names the folder the mail is in
    dc.wait_log("frontdesk:", "need=", "folder=", since=mark)
    time.sleep(0.3)
    lines = frontdesk_info_lines(dc, mark)
    assert len(lines) == 1, dc.log(mark)
    assert " folder=X " in lines[0], lines[0]


def test_sieve_explicit_keep_goes_to_office(dc):
    msg = deliver(dc, SIEVE, "[keepme] " + TECHNICAL[0], TECHNICAL[1])
    assert_tagged(msg)


def test_sieve_implicit_keep_with_addflag(dc):
    msg = deliver(dc, SIEVE, "[flagme] " + BILLING[0], BILLING[1])
    assert_tagged(msg, other_keywords={"foo"})


def test_sieve_implicit_keep_plain(dc):
    msg = deliver(dc, SIEVE, TECHNICAL[0], TECHNICAL[1])
    assert_tagged(msg)


# ---- forged X-Frontdesk-* headers -------------------------------------------------

FORGED = {"X-Frontdesk-Need": "privacy",
          "X-Frontdesk-Office": "back\r\n (forged, folded)",
          "x-frontdesk-ticket": "FD-AAAA-BBBB-CCCC",
          "X-Frontdesk-Would-Ack": "yes; reason=ok",
          "X-FrontdeskNote": "not ours"}


def test_forged_frontdesk_headers_are_removed(dc):
    body = BILLING[1] + "\nX-Frontdesk-Need: privacy (in the body: text)\n"
    msg = deliver(dc, SUPPORT, BILLING[0], body, headers=FORGED)
    needs, office = assert_tagged(msg, dc=dc)     # one of each of ours
    assert "privacy" not in needs
    raw = msg.raw_header
    for forged in (b"forged", b"FD-AAAA-BBBB-CCCC", b"X-Frontdesk-Would-Ack"):
        assert forged not in raw, raw
    assert len(msg.header_all("X-Frontdesk-Ticket")) <= 1
    # only X-Frontdesk-* goes, and only from the header
    assert msg.header("X-FrontdeskNote") == "not ours"
    with dc.imap(SUPPORT) as m:
        m.select(fdtest.imap_quote(msg.folder), readonly=True)
        typ, data = m.uid("FETCH", str(msg.uid), "(BODY.PEEK[TEXT])")
    assert b"X-Frontdesk-Need: privacy (in the body: text)" in data[0][1]


def test_sieve_sees_only_our_frontdesk_headers(dc):
    """An admin's `header :is "X-Frontdesk-Need" "privacy"` matches our
    verdict, not the one a sender wrote."""
    forged = deliver(dc, SIEVE, *BILLING,
                     headers={"X-Frontdesk-Need": "privacy"})
    assert forged.folder != "Privacy"
    assert forged.header_all("X-Frontdesk-Need") == ["billing"]
    real = deliver(dc, SIEVE, *PRIVACY)
    assert real.header_all("X-Frontdesk-Need") == ["privacy"]
    assert real.folder == "Privacy"


# ---- log -------------------------------------------------------------------------

@pytest.mark.parametrize("via", ["lmtp", "lda"])
def test_one_info_line_per_delivery(dc, via):
    mark = dc.log_mark()
    msg = deliver(dc, LOGU, *BILLING, via=via)
    lines = dc.wait_log("frontdesk:", "need=", "office=", "folder=",
                        since=mark)
    time.sleep(0.3)                       # a second line would come now
    lines = frontdesk_info_lines(dc, mark)
    assert len(lines) == 1, dc.log(mark)
    assert "Info:" in lines[0], lines[0]
    folder = re.search(r"folder=\"?([^\s\",]+)", lines[0]).group(1)
    assert folder == msg.folder, (lines[0], msg.folder)


def test_no_info_line_for_user_without_frontdesk(dc):
    mark = dc.log_mark()
    deliver(dc, OTHER, *BILLING)
    # Dovecot's line, or Pigeonhole's when a script stored the mail
    assert dc.wait_log(OTHER, "saved mail to", since=mark) or \
        dc.wait_log(OTHER, "stored mail into mailbox", since=mark)
    time.sleep(0.3)
    assert frontdesk_info_lines(dc, mark) == []
    assert dc.log_lines("Error", since=mark) == []


# ---- big and many ----------------------------------------------------------------

@pytest.mark.parametrize("dc", ["no-sieve", "keep"], indirect=True)
def test_giant_message_is_delivered(dc):
    body = BILLING[1] + "".join("line %07d of a very long attachment-like "
                                "text body, nothing to see here\n" % i
                                for i in range(450000))
    data, msgid = make_message(BILLING[0], body, to=BIG)
    assert len(data) > 30 * 1000 * 1000
    res = dc.deliver_lmtp([BIG], data)
    assert res.code(BIG) == 250, res
    assert res.elapsed < 60, res.elapsed
    copies = dc.find(BIG, msgid)
    assert len(copies) == 1
    assert copies[0].size >= len(data)


def test_corpus_goes_through(dc):
    corpus = fdtest.corpus_messages()
    if not corpus:
        pytest.skip("shared data not found at %s" % fdtest.SHARED_DATA)
    messages = []
    for m in corpus:
        with open(m.path, "rb") as f:
            messages.append((f.read(), m.mail_from))
    results = fdtest.deliver_many(dc, CORPUS, messages, batch=100,
                                  timeout=3 * DELIVERY_BOUND)
    failed = [(m.path, r) for m, r in zip(corpus, results)
              if r.code(CORPUS) != 250]
    assert failed == [], failed[:10]
    slow = [(m.path, round(r.elapsed, 2)) for m, r in zip(corpus, results)
            if r.elapsed > DELIVERY_BOUND]
    assert slow == []
    counts = dc.count_all(CORPUS)
    assert sum(counts.values()) == len(corpus), counts
    log = dc.log()
    assert "Fatal" not in log and "Panic" not in log


# ---- demo fixtures (data driven) -------------------------------------------------

DEMO_DIR = os.environ.get("FDTEST_DEMO_DIR") or os.path.join(
    fdtest.REPO, "tests", "data", "demo")
EXPECTED = os.path.join(DEMO_DIR, "expected.tsv")


def _truthy(v):
    return (v or "").strip().lower() in ("1", "yes", "y", "true")


def _demo_rows():
    if not os.path.exists(EXPECTED):
        return [pytest.param(None, marks=pytest.mark.skip(
            reason="%s not there yet" % EXPECTED))]
    with open(EXPECTED, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t")
                if r.get("file") and not r["file"].startswith("#")]
    return [pytest.param(r, id=r["file"]) for r in rows]


@pytest.fixture(scope="module")
def demo_delivered(dc):
    """Deliver every demo fixture once; {file: [stored copies]}."""
    with open(EXPECTED, encoding="utf-8", newline="") as f:
        files = [r["file"] for r in csv.DictReader(f, delimiter="\t")
                 if r.get("file") and not r["file"].startswith("#")]
    messages = []
    for name in files:
        with open(os.path.join(DEMO_DIR, name), "rb") as f:
            data = f.read()
        if data.startswith(b"From "):              # mbox separator line
            data = data.split(b"\n", 1)[1]
        # a tag to find the copy again; nothing frontdesk looks at
        messages.append((b"X-Fdtest-File: " + name.encode() + b"\r\n" + data,
                         "customer@example.org"))
    results = fdtest.deliver_many(dc, DEMO, messages)
    for name, r in zip(files, results):
        assert r.code(DEMO) == 250, (name, r)
    stored = {name: [] for name in files}
    for m in dc.all_messages(DEMO):
        stored.setdefault(m.header("X-Fdtest-File"), []).append(m)
    return stored


@pytest.mark.parametrize("row", _demo_rows())
def test_demo_fixture(dc, demo_delivered, row):
    copies = demo_delivered[row["file"]]
    assert len(copies) == 1, "stored %d times" % len(copies)
    msg = copies[0]
    if _truthy(row.get("machine")):
        return      # machine mail: stored once is all this test asks
    needs, office, ours = frontdesk_fields(msg)
    want_office = row["office"].strip().lower()
    assert msg.folder == (sieve_filed(dc) or
                          FOLDER.get(want_office, "FrontOffice")), \
        (msg.folder, row, msg.header("X-Frontdesk-Score"))
    primary = re.split(r"[,\s]+", row["need"].strip())[0]
    assert primary in msg.keywords, (primary, msg.keywords,
                                     msg.header("X-Frontdesk-Score"))


def test_main_log_has_no_crash(dc):
    log = dc.log()
    assert "Fatal" not in log and "Panic" not in log


# ---- fail-open: separate instances, the config differs ------------------------

BAD_FOLDER = "Bad/../Name"          # Dovecot: adjacent hierarchy separators


def _lock_offices(inst, user):
    """FrontOffice and BackOffice exist but the mail user cannot write them."""
    for folder in ("FrontOffice", "BackOffice"):
        inst.make_maildir(user, folder, owner=(0, 0), mode=0o755)


@pytest.fixture(scope="module")
def dc_banana(frontdesk_built):
    module, model = frontdesk_built
    with Dovecot(module_path=module, load_frontdesk=True,
                 users={SUPPORT: {}},
                 plugin_settings={"frontdesk_enabled": "yes",
                                  "frontdesk_model": model,
                                  "frontdesk_unsure_threshold": "banana"},
                 name="banana") as inst:
        yield inst


@pytest.fixture(scope="module", params=["no-sieve", "keep"])
def dc_failopen(frontdesk_built, request):
    """Users whose frontdesk cannot work; a Sieve keep must fail open
    just as frontdesk's own save does."""
    module, model = frontdesk_built
    users = {
        "nomodel@example.com": {"frontdesk_model": "/nonexistent"},
        "badname@example.com": {"frontdesk_folder_front": BAD_FOLDER,
                                "frontdesk_folder_back": BAD_FOLDER},
        "locked@example.com": {},
        "optout@example.com": {"frontdesk_enabled": "no"},
    }
    with Dovecot(module_path=module, load_frontdesk=True, users=users,
                 plugin_settings={"frontdesk_enabled": "yes",
                                  "frontdesk_model": model},
                 precreate={"locked@example.com": _lock_offices},
                 name="failopen", sieve_mode=request.param) as inst:
        yield inst


def _deliver_fail_open(inst, user, via="lmtp"):
    mark = inst.log_mark()
    data, msgid = make_message(*BILLING, to=user)
    submit(inst, user, data, via)
    with inst.imap(user) as m:
        inbox = [x for x in inst.fetch_all(user, "INBOX", m)
                 if x.message_id == msgid]
    assert len(inbox) == 1, "not in INBOX"
    return inbox[0], mark


@pytest.mark.parametrize("via", ["lmtp", "lda"])
def test_bad_setting_fails_open(dc_banana, via):
    msg, mark = _deliver_fail_open(dc_banana, SUPPORT, via)
    assert_untouched(msg)
    assert dc_banana.list_folders(SUPPORT) == ["INBOX"]
    dc_banana.wait_log("frontdesk_unsure_threshold", since=mark)
    time.sleep(0.3)
    lines = dc_banana.log_lines("frontdesk_unsure_threshold", since=mark)
    assert len(lines) == 1, lines           # one delivery, one error line
    assert "Error" in lines[0], lines[0]
    log = dc_banana.log()
    assert "Fatal" not in log and "Panic" not in log


def test_unreadable_model_fails_open(dc_failopen):
    user = "nomodel@example.com"
    msg, mark = _deliver_fail_open(dc_failopen, user)
    assert msg.folder == "INBOX"
    errors = [l for l in dc_failopen.wait_log("Error", since=mark)
              if "frontdesk" in l.lower()]
    assert errors, dc_failopen.log(mark)


@pytest.mark.parametrize("user", ["badname@example.com", "locked@example.com"])
def test_folder_that_cannot_be_used_fails_open(dc_failopen, user):
    msg, mark = _deliver_fail_open(dc_failopen, user)
    assert msg.folder == "INBOX"
    assert dc_failopen.wait_log("Error", since=mark), dc_failopen.log(mark)


def test_userdb_can_disable_what_plugin_settings_enable(dc_failopen):
    user = "optout@example.com"
    mark = dc_failopen.log_mark()
    msg = deliver(dc_failopen, user, *BILLING)
    assert_untouched(msg)
    assert dc_failopen.list_folders(user) == ["INBOX"]
    assert frontdesk_info_lines(dc_failopen, mark) == []


def test_failopen_log_has_no_crash(dc_failopen):
    log = dc_failopen.log()
    assert "Fatal" not in log and "Panic" not in log


@pytest.mark.parametrize("dc", ["no-sieve", "keep", "sieve-before"],
                         indirect=True)
def test_office_folder_deleted_meanwhile_is_made_again(dc):
    """The lmtp process remembers that the office folders exist; when an
    agent deletes one, the next mail recreates it and lands there, in one
    LMTP session (so in the process that remembered it), not in INBOX."""
    user = CUSTOM
    first, msgid1 = make_message(*TECHNICAL, to=user)
    second, msgid2 = make_message(*TECHNICAL, to=user)
    s = dc.lmtp()
    try:
        assert s.send([user], first, "paolo@example.org").code(user) == 250
        [msg] = dc.find(user, msgid1)
        assert msg.folder == "Workshop"
        with dc.imap(user) as m:
            typ, _ = m.delete("Workshop")
            assert typ == "OK"
        assert "Workshop" not in dc.list_folders(user)
        mark = dc.log_mark()
        assert s.send([user], second, "paolo@example.org").code(user) == 250
    finally:
        s.close()
    [msg] = dc.find(user, msgid2)
    assert msg.folder == "Workshop"
    assert "Workshop" in dc.subscribed(user)
    assert not [l for l in dc.log(mark).splitlines()
                if "frontdesk" in l and "INBOX" in l]
