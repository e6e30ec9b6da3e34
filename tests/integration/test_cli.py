"""frontdesk-classify, the sysadmin's dry run (issue 4): its contract as a
user sees it. No Dovecot needed: the CLI reads files, directories, stdin and
JSON lines, and must classify every mail of ../shared/data/mail without an
error, print clear messages and exit non-zero on what it cannot read."""

import glob
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest

import fdtest

CLI = os.environ.get("FDTEST_CLI") or os.path.join(fdtest.REPO,
                                                   "frontdesk-classify")
MODEL = os.environ.get("FDTEST_MODEL") or os.path.join(
    fdtest.REPO, "model", "frontdesk.model")
DEMO = os.path.join(fdtest.REPO, "tests", "data", "demo")
FIELDS = {"file": str, "need": str, "needs": list, "office": str,
          "unsure": bool, "urgent": bool, "language": str,
          "confidence": float, "explanation": str, "ack": dict}
BILLING_IT = (b'From: "Anna Rossi" <anna@example.org>\n'
              b"To: support@example.com\n"
              b"Subject: fattura addebitata due volte\n\n"
              b"Buongiorno, mi avete addebitato due volte la fattura di "
              b"marzo. Potete rimborsarmi?\n")


def run(args, stdin=b""):
    if not os.access(CLI, os.X_OK):
        pytest.skip("frontdesk-classify not built")
    return subprocess.run([CLI, "-c", "/dev/null", "-o",
                           "frontdesk_model=" + MODEL, "-o",
                           "frontdesk_weights=" + fdtest.DEFAULT_WEIGHTS] + args,
                          input=stdin, capture_output=True, timeout=600)


def objects(out):
    return [json.loads(line) for line in out.decode().splitlines() if line]


def check_contract(obj):
    for field, kind in FIELDS.items():
        assert isinstance(obj[field], kind), (field, obj)
    assert obj["office"] in ("front", "back")
    assert 0.0 <= obj["confidence"] <= 1.0
    assert obj["needs"] == [] or obj["needs"][0] == obj["need"]
    assert isinstance(obj["ack"]["send"], bool)
    assert obj["ack"]["reason"]


def test_one_file_gives_the_whole_contract():
    path = os.path.join(DEMO, "03-lucina-modem-rossa.eml")
    r = run([path])
    assert r.returncode == 0, r.stderr
    [obj] = objects(r.stdout)
    check_contract(obj)
    assert obj["file"] == path
    assert obj["need"] == "technical" and obj["office"] == "back"
    assert obj["language"] == "it"
    assert obj["ack"] == {"send": True, "reason": "ok"}


def test_stdin_is_read_with_a_dash():
    r = run(["-"], BILLING_IT)
    assert r.returncode == 0, r.stderr
    [obj] = objects(r.stdout)
    check_contract(obj)
    assert obj["file"] == "-"
    assert obj["need"] == "billing"
    # the explanation gives the need and the customer's own words behind it
    m = re.match(r"billing=[01]\.\d\d \[([^\]]+)\]", obj["explanation"])
    assert m, obj["explanation"]
    text = BILLING_IT.decode().lower()
    for word in m.group(1).split():
        assert word.replace("S:", "", 1) in text, obj["explanation"]


def test_a_maildir_gives_one_object_per_message():
    d = tempfile.mkdtemp(prefix="fdcli")
    try:
        names = sorted(os.listdir(DEMO))[:5]
        for sub in ("cur", "new", "tmp"):
            os.mkdir(os.path.join(d, sub))
        for i, name in enumerate(names):
            shutil.copy(os.path.join(DEMO, name),
                        os.path.join(d, "new" if i % 2 else "cur",
                                     "%d.M1P1.host:2," % i))
        r = run([d])
        assert r.returncode == 0, r.stderr
        objs = objects(r.stdout)
        assert len(objs) == len(names)
        for obj in objs:
            check_contract(obj)
            assert obj["file"].startswith(d)
    finally:
        shutil.rmtree(d)


def test_envelope_override_applies_the_reply_guard():
    path = os.path.join(DEMO, "01-addebito-doppio-bolletta.eml")
    r = run(["--from", "MAILER-DAEMON@example.org", path])
    assert r.returncode == 0, r.stderr
    [obj] = objects(r.stdout)
    assert obj["ack"]["send"] is False
    assert obj["ack"]["reason"] == "system-sender"
    r = run(["--from", "anna@example.org", "--to", "nobody@example.net",
             path])
    [obj] = objects(r.stdout)
    # not addressed to the support desk: no acknowledgment
    assert obj["ack"]["send"] is False


def test_jsonl_lines_keep_their_id_and_have_no_ack():
    lines = [{"id": "t1", "subject": "modem",
              "body": "the little light on the modem blinks red"},
             {"id": "t2", "subject": "",
              "body": "why did you take money twice from my card?"},
             {"id": "t3", "subject": "Termin", "lang": "de",
              "body": "Ich möchte meinen Termin am Montag verschieben."}]
    data = "".join(json.dumps(x) + "\n" for x in lines).encode()
    r = run(["--jsonl"], data)
    assert r.returncode == 0, r.stderr
    objs = objects(r.stdout)
    assert [o["id"] for o in objs] == ["t1", "t2", "t3"]
    for o in objs:
        assert "ack" not in o and "file" not in o
        for field in ("need", "needs", "office", "unsure", "urgent",
                      "language", "confidence", "explanation"):
            assert field in o
    assert [o["need"] for o in objs] == ["technical", "billing",
                                         "appointment"]


def test_a_bad_jsonl_line_is_named_and_the_rest_classified():
    data = (b'{"id":"x","subject":"hi"\n'
            b'{"id":"ok","subject":"invoice","body":"wrong VAT number"}\n')
    r = run(["--jsonl"], data)
    assert r.returncode != 0
    assert b"stdin:1" in r.stderr
    assert [o["id"] for o in objects(r.stdout)] == ["ok"]


def test_human_output_is_a_table_not_json():
    r = run(["--human", DEMO])
    assert r.returncode == 0, r.stderr
    text = r.stdout.decode()
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["message", "need", "office"]
    assert len(lines) == 1 + len(glob.glob(os.path.join(DEMO, "*.eml")))
    assert not text.lstrip().startswith("{")
    assert "billing" in text and "technical" in text


def test_unreadable_input_exits_non_zero_naming_it():
    r = run(["/nonexistent/mail.eml"])
    assert r.returncode != 0
    assert b"/nonexistent/mail.eml" in r.stderr


def test_a_bad_configuration_exits_non_zero_with_a_clear_message():
    if not os.access(CLI, os.X_OK):
        pytest.skip("frontdesk-classify not built")
    r = subprocess.run([CLI, "-c", "/dev/null", "-o",
                        "frontdesk_model=/nonexistent/model", "-"],
                       input=BILLING_IT, capture_output=True, timeout=60)
    assert r.returncode != 0
    assert b"/nonexistent/model" in r.stderr
    r = run(["-o", "frontdesk_ack_sender_limit=lots", "-"], BILLING_IT)
    assert r.returncode != 0
    assert b"frontdesk_ack_sender_limit" in r.stderr


def test_malformed_and_hostile_mail_is_still_classified():
    msgs = [b"",                                        # nothing at all
            b"Subject: =?utf-8?B?////?=\n\n\xff\xfe broken",
            b"Content-Type: multipart/mixed; boundary=x\n\n--x\n--x",
            b"Subject: " + b"A" * 100000 + b"\n\nlong header",
            b"From: \"a\r\nBcc: x@evil\" <a@example.org>\n\nhello"]
    for m in msgs:
        r = run(["-"], m)
        assert r.returncode == 0, (m[:40], r.stderr)
        [obj] = objects(r.stdout)
        check_contract(obj)


def test_every_mail_of_the_shared_corpus_is_classified():
    mail = os.path.join(fdtest.SHARED_DATA, "mail")
    dirs = sorted(d for d in glob.glob(os.path.join(mail, "*"))
                  if os.path.isdir(d))
    if not dirs:
        pytest.skip("no ../shared/data/mail")
    files = [f for d in dirs for f in glob.glob(os.path.join(d, "**"),
                                                recursive=True)
             if os.path.isfile(f) and not f.endswith((".jsonl", ".md"))
             and "LICENSE" not in os.path.basename(f).upper()]
    r = run(files)
    assert r.returncode == 0, r.stderr[-2000:]
    objs = objects(r.stdout)
    assert len(objs) == len(files)
    for obj in objs:
        check_contract(obj)
