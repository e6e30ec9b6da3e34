"""frontdesk's DKIM signatures checked by an independent verifier.

Messages are signed by `test-dkim-sign` (src/core/frontdesk-dkim.c with the
test-only keys of tests/data/dkim) and verified with Debian's python3-dkim,
whose DNS lookup is replaced by the fixture's TXT record. No Dovecot needed.
"""

import os
import re
import subprocess
import time

import pytest

import fdtest

dkim = pytest.importorskip(
    "dkim", reason="python3-dkim missing: apt-get install python3-dkim")
pytest.importorskip(
    "nacl.signing",
    reason="python3-nacl missing (ed25519 in python3-dkim): "
           "apt-get install python3-nacl")

DOMAIN = "example.com"
SELECTOR = "fd2024"
KEYS = {
    "rsa": ("rsa-2048.pem", "rsa-2048.txt", "rsa-sha256"),
    "rsa-traditional": ("rsa-2048-traditional.pem", "rsa-2048.txt",
                        "rsa-sha256"),
    "ed25519": ("ed25519.pem", "ed25519.txt", "ed25519-sha256"),
}


@pytest.fixture(scope="module", autouse=True)
def _dovecot_available():
    """Overrides conftest's: signing and verifying need no Dovecot (and no
    root)."""


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def msg(headers, body):
    return crlf(headers.rstrip("\n") + "\n\n" + body)


ACK_HEADERS = """\
From: Support <support@example.com>
To: Mario Rossi <mario.rossi@example.it>
Subject: Re: fattura sbagliata [#1234]
Date: Tue, 14 Nov 2023 22:13:20 +0100
Message-ID: <frontdesk.1a2b3c@example.com>
In-Reply-To: <abc@example.it>
References: <abc@example.it>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit
Auto-Submitted: auto-replied
Content-Language: it
"""

MESSAGES = {
    "plain-ascii": msg(ACK_HEADERS.replace("charset=utf-8", "charset=us-ascii")
                       .replace("8bit", "7bit"),
                       "Hello,\nwe received your message.\n\n-- \nSupport\n"),
    "utf8-subject-encoded-word": msg(
        ACK_HEADERS.replace(
            "Subject: Re: fattura sbagliata [#1234]",
            "Subject: =?UTF-8?Q?Re:_perch=C3=A9_la_fattura_=C3=A8_sbagliata?=\n"
            " =?UTF-8?B?PyDigqwgMTIzNA==?="),
        "Gentile cliente,\nabbiamo ricevuto la sua richiesta: è già "
        "assegnata.\nGrüße, Équipe — 支持\n"),
    "folded-headers": msg(
        ACK_HEADERS.replace(
            "To: Mario Rossi <mario.rossi@example.it>",
            "To: Mario Rossi <mario.rossi@example.it>,\n"
            "\tAnna Bianchi <anna.bianchi@example.it>,\n"
            "    ufficio   acquisti <acquisti@example.it>")
        .replace("References: <abc@example.it>",
                 "References: <x1@example.it>\n <x2@example.it>\n\t<abc@example.it>")
        .replace("Subject: Re: fattura sbagliata [#1234]",
                 "Subject:   Re:  fattura\t sbagliata   \n   [#1234]  "),
        "Folded headers above.\n"),
    "trailing-empty-lines": msg(
        ACK_HEADERS, "Line one.\n\nLine three after an empty line.\n"
                     "\n\n \n\t\n\n"),
    "trailing-whitespace": msg(
        ACK_HEADERS, "spaces at the end   \n\ttabs\tinside\t\there \t\n"
                     "  leading spaces\n"),
    "long-lines": msg(
        ACK_HEADERS.replace(
            "References: <abc@example.it>",
            "References: " + " ".join("<%d.%s@example.it>" % (i, "r" * 40)
                                       for i in range(12))),
        ("x" * 990) + "\n" + " ".join(["parola"] * 140) + "\n"),
    "multipart-alternative": msg(
        ACK_HEADERS.replace(
            "Content-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: 8bit\n",
            'Content-Type: multipart/alternative;\n'
            ' boundary="=_frontdesk_b0undary"\n'),
        "This is a multi-part message in MIME format.\n"
        "\n"
        "--=_frontdesk_b0undary\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "Abbiamo ricevuto la sua richiesta, =C3=A8 la numero 1234.\n"
        "\n"
        "--=_frontdesk_b0undary\n"
        "Content-Type: text/html; charset=utf-8\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "<html><body><p>Abbiamo ricevuto la sua richiesta, =C3=A8 la\n"
        "numero <b>1234</b>.</p></body></html>\n"
        "\n"
        "--=_frontdesk_b0undary--\n"),
    "empty-body": msg("From: support@example.com\nSubject: empty\n", ""),
    "minimal-headers": msg("From: support@example.com\n", "only From\n"),
}


def sign(program, key, message, now=None, headers=None):
    keyfile = os.path.join(fdtest.DKIM_DATA, KEYS[key][0])
    cmd = [program]
    if now is not None:
        cmd += ["-t", str(now)]
    if headers is not None:
        cmd += ["-h", ":".join(headers)]
    cmd += [keyfile, DOMAIN, SELECTOR]
    p = subprocess.run(cmd, input=message, capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    return p.stdout


def txt_record(key):
    with open(os.path.join(fdtest.DKIM_DATA, KEYS[key][1]), "rb") as f:
        return f.read().strip()


def verify(signed, key, queried=None):
    """python3-dkim's verdict, DNS answered with the fixture's record."""
    record = txt_record(key)

    def dnsfunc(name, timeout=5):
        if queried is not None:
            queried.append(name)
        return record
    return dkim.verify(signed, dnsfunc=dnsfunc)


def sig_header(signed):
    """The DKIM-Signature header the signer prepended (unfolded)."""
    head = signed.split(b"\r\n\r\n", 1)[0].decode()
    m = re.match(r"DKIM-Signature:(.*?)\r\n(?![ \t])", head + "\r\n", re.S)
    assert m, head[:200]
    return re.sub(r"\r\n[ \t]", " ", m.group(1))


def tags(signed):
    return {k.strip(): re.sub(r"\s+", "", v) for k, v in
            (t.split("=", 1) for t in sig_header(signed).split(";")
             if t.strip())}


@pytest.mark.parametrize("key", sorted(KEYS))
@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_signature_verifies(dkim_sign_program, key, name):
    message = MESSAGES[name]
    now = int(time.time())
    signed = sign(dkim_sign_program, key, message, now=now)
    # the signer prepends one header and leaves the message alone
    assert signed.endswith(message)
    assert signed.startswith(b"DKIM-Signature: ")
    queried = []
    assert verify(signed, key, queried), name
    assert queried == [("%s._domainkey.%s." % (SELECTOR, DOMAIN)).encode()]
    t = tags(signed)
    assert t["a"] == KEYS[key][2]
    assert t["c"] == "relaxed/relaxed"
    assert t["t"] == str(now)
    assert "l" not in t
    # every default header present in the message is signed, From first
    present = [h.split(":", 1)[0].lower() for h in
               re.split(r"\r\n(?![ \t])",
                        message.split(b"\r\n\r\n", 1)[0].decode())]
    default = ["from", "to", "subject", "date", "message-id", "in-reply-to",
               "references", "mime-version", "content-type",
               "auto-submitted", "content-language"]
    assert t["h"].split(":") == [h for h in default if h in present]


def lines_ok(signed):
    head = sig_header_raw(signed)
    return all(len(line) <= 78 for line in head.split("\r\n"))


def sig_header_raw(signed):
    head = signed.split(b"\r\n\r\n", 1)[0].decode()
    m = re.match(r"DKIM-Signature:.*?\r\n(?![ \t])", head + "\r\n", re.S)
    return m.group(0)


@pytest.mark.parametrize("key", sorted(KEYS))
def test_signature_header_is_folded(dkim_sign_program, key):
    signed = sign(dkim_sign_program, key, MESSAGES["long-lines"])
    raw = sig_header_raw(signed)
    assert raw.count("\r\n") > 1
    assert lines_ok(signed), raw


@pytest.mark.parametrize("key", sorted(KEYS))
def test_last_instance_of_repeated_header_is_signed(dkim_sign_program, key):
    # verifiers take repeated headers bottom-up (RFC 6376 5.4.2)
    message = msg("Comments: first\nFrom: support@example.com\n"
                  "Comments: second\nSubject: x\n", "body\n")
    signed = sign(dkim_sign_program, key, message,
                  headers=["From", "Subject", "Comments"])
    assert tags(signed)["h"] == "from:subject:comments"
    assert verify(signed, key)
    assert verify(signed.replace(b"Comments: first", b"Comments: FIRST"), key)
    assert not verify(signed.replace(b"Comments: second",
                                     b"Comments: SECOND"), key)


# what a relay or mailbox may do to a message without breaking relaxed
# signatures, and what must break them
TOLERATED = {
    "crlf-to-lf": lambda m: m.replace(b"\r\n", b"\n"),
    "unsigned-header-added": lambda m: m.replace(
        b"\r\n\r\n", b"\r\nX-Spam-Score: 0.1\r\n\r\n", 1),
    "received-prepended": lambda m: b"Received: from mx by mx2; " \
        b"Tue, 14 Nov 2023 22:13:21 +0100\r\n" + m,
    "subject-refolded": lambda m: m.replace(
        b"Subject: Re: fattura sbagliata [#1234]",
        b"Subject: Re: fattura\r\n\tsbagliata  [#1234] "),
    "empty-lines-appended": lambda m: m + b"\r\n\r\n",
    "trailing-space-added": lambda m: m.replace(
        b"Hello,\r\n", b"Hello,   \r\n"),
}
BROKEN = {
    "body-changed": lambda m: m.replace(b"we received", b"we rejected"),
    "body-one-char": lambda m: m.replace(b"Hello,", b"Hello;"),
    "text-appended": lambda m: m + b"P.S. unsubscribe here\r\n",
    "space-inserted-in-word": lambda m: m.replace(b"received", b"rece ived"),
    "subject-changed": lambda m: m.replace(b"[#1234]", b"[#1235]"),
    "subject-case": lambda m: m.replace(b"Subject: Re: fattura",
                                        b"Subject: RE: fattura"),
    "from-changed": lambda m: m.replace(b"support@example.com",
                                        b"support@evil.example"),
    "signed-header-added": lambda m: m.replace(
        b"\r\n\r\n", b"\r\nTo: attacker@evil.example\r\n\r\n", 1),
    "date-removed": lambda m: re.sub(rb"Date: [^\r]*\r\n", b"", m),
    "timestamp-changed": lambda m: re.sub(rb"t=\d+;", b"t=1;", m, count=1),
    "selector-changed": lambda m: m.replace(
        b"s=%s;" % SELECTOR.encode(), b"s=other;", 1),
}


@pytest.mark.parametrize("key", sorted(KEYS))
@pytest.mark.parametrize("change", sorted(TOLERATED))
def test_tolerated_changes_still_verify(dkim_sign_program, key, change):
    signed = sign(dkim_sign_program, key, MESSAGES["plain-ascii"])
    changed = TOLERATED[change](signed)
    assert changed != signed
    assert verify(changed, key)


@pytest.mark.parametrize("key", sorted(KEYS))
@pytest.mark.parametrize("change", sorted(BROKEN))
def test_changes_break_the_signature(dkim_sign_program, key, change):
    signed = sign(dkim_sign_program, key, MESSAGES["plain-ascii"])
    assert verify(signed, key)
    changed = BROKEN[change](signed)
    assert changed != signed, "the change did not apply"
    assert not verify(changed, key)


def test_wrong_public_key_fails(dkim_sign_program):
    signed = sign(dkim_sign_program, "ed25519", MESSAGES["plain-ascii"])
    assert verify(signed, "ed25519")
    # the RSA record for an ed25519 signature
    assert not verify(signed, "rsa")
    signed = sign(dkim_sign_program, "rsa", MESSAGES["plain-ascii"])
    assert verify(signed, "rsa")
    # python3-dkim 1.1.4 lets nacl's ValueError out for a 256-byte
    # signature checked with an Ed25519 key: a failed verification too
    try:
        verdict = verify(signed, "ed25519")
    except ValueError:
        verdict = False
    assert not verdict


def test_signer_errors(dkim_sign_program):
    p = subprocess.run(
        [dkim_sign_program, os.path.join(fdtest.DKIM_DATA, "missing.pem"),
         DOMAIN, SELECTOR], input=MESSAGES["plain-ascii"],
        capture_output=True)
    assert p.returncode != 0 and p.stdout == b""
    assert b"missing.pem" in p.stderr
    no_from = MESSAGES["plain-ascii"].replace(
        b"From: Support <support@example.com>\r\n", b"")
    p = subprocess.run(
        [dkim_sign_program, os.path.join(fdtest.DKIM_DATA, "ed25519.pem"),
         DOMAIN, SELECTOR], input=no_from, capture_output=True)
    assert p.returncode != 0 and p.stdout == b""
    assert b"From" in p.stderr
