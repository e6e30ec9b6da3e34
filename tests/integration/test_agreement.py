"""The plugin and frontdesk-classify agree.

Every message of ../shared/data/italian-dev and tests/data/demo is delivered
over LMTP to a private Dovecot with the freshly built plugin, and the very
same bytes are given to the CLI with the instance's own dovecot.conf. What
the stored copy carries (X-Frontdesk-* headers, IMAP keywords, folder) must
say what the CLI's JSON says: needs, office, unsure, urgent, language,
confidence and explanation."""

import glob
import json
import os
import re
import subprocess

import pytest

import fdtest
from fdtest import Dovecot

USER = "agree@example.com"
CLI = os.environ.get("FDTEST_CLI") or os.path.join(fdtest.REPO,
                                                   "frontdesk-classify")
SOURCES = {
    "italian-dev": os.path.join(fdtest.SHARED_DATA, "italian-dev"),
    "demo": os.path.join(fdtest.REPO, "tests", "data", "demo"),
}


def _messages():
    """[(name, bytes)]: each source's .eml files, with a header naming the
    file (frontdesk does not read it) to find the stored copy again."""
    out = []
    for src, d in sorted(SOURCES.items()):
        for path in sorted(glob.glob(os.path.join(d, "*.eml"))):
            with open(path, "rb") as f:
                data = f.read()
            if data.startswith(b"From "):          # mbox separator line
                data = data.split(b"\n", 1)[1]
            name = "%s/%s" % (src, os.path.basename(path))
            out.append((name, b"X-Fdtest-File: " + name.encode() + b"\r\n"
                        + data))
    return out


MESSAGES = _messages()


@pytest.fixture(scope="module")
def agreement(frontdesk_built, tmp_path_factory):
    """{name: (stored copies, CLI JSON)} for every message."""
    if not os.path.exists(CLI):
        pytest.skip("%s not built" % CLI)
    if not any(n.startswith("italian-dev/") for n, _ in MESSAGES):
        pytest.skip("%s missing" % SOURCES["italian-dev"])
    module, model = frontdesk_built
    tmp = tmp_path_factory.mktemp("agreement")
    paths = {}
    for i, (name, data) in enumerate(MESSAGES):
        path = tmp / ("%03d.eml" % i)
        path.write_bytes(data)
        paths[str(path)] = name
    with Dovecot(module_path=module, load_frontdesk=True,
                 users={USER: {"frontdesk_enabled": "yes"}},
                 plugin_settings={"frontdesk_model": model},
                 name="agree") as dc:
        results = fdtest.deliver_many(
            dc, USER, [(data, "customer@example.org") for _, data in MESSAGES])
        for (name, _), r in zip(MESSAGES, results):
            assert r.code(USER) == 250, (name, r)
        stored = {}
        for m in dc.all_messages(USER):
            stored.setdefault(m.header("X-Fdtest-File"), []).append(m)
        # the CLI with the instance's configuration: same settings path
        p = subprocess.run([CLI, "-c", dc.conf] + sorted(paths),
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        log = dc.log()
    assert "Fatal" not in log and "Panic" not in log
    cli = {}
    for line in p.stdout.splitlines():
        o = json.loads(line)
        cli[paths[o["file"]]] = o
    assert len(cli) == len(MESSAGES)
    return {name: (stored.get(name, []), cli[name]) for name, _ in MESSAGES}


def _score_fields(score):
    """'0.85 need=billing urgent=no unsure=no lang=it; billing=4.0 [...]'
    -> (confidence, {key: value}, explanation)."""
    head, _, explanation = score.partition("; ")
    words = head.split()
    fields = dict(w.split("=", 1) for w in words[1:])
    return float(words[0]), fields, explanation


@pytest.mark.parametrize("name", [n for n, _ in MESSAGES])
def test_plugin_and_cli_agree(agreement, name):
    copies, cli = agreement[name]
    assert len(copies) == 1, "stored %d times" % len(copies)
    msg = copies[0]
    if cli["machine"]:
        # machine mail (issue 12): its kind, no need, office or score
        assert msg.header("X-Frontdesk-Machine") == cli["machine"]
        assert msg.header("X-Frontdesk-Score") is None
        assert msg.folder == cli["folder"]
        assert msg.keywords == set(cli["keywords"])
        return
    assert msg.header("X-Frontdesk-Machine") is None
    score = msg.header("X-Frontdesk-Score")
    assert score is not None, "not tagged: %r" % msg.headers.keys()

    # needs: "billing, technical" or "none"
    needs = [n.strip() for n in msg.header("X-Frontdesk-Need").split(",")]
    assert needs == (cli["needs"] or ["none"])
    assert (cli["need"] or "none") == needs[0]

    # office, and unsure as "(unsure)" after it
    office_hdr = msg.header("X-Frontdesk-Office")
    office = re.sub(r"\s*\(unsure\)$", "", office_hdr)
    assert office == cli["office"]
    assert office_hdr.endswith("(unsure)") == cli["unsure"]
    assert msg.folder == cli["folder"]

    confidence, fields, explanation = _score_fields(score)
    assert fields["need"] == (cli["need"] or "none")
    assert fields["urgent"] == ("yes" if cli["urgent"] else "no")
    assert fields["unsure"] == ("yes" if cli["unsure"] else "no")
    assert fields["lang"] == cli["language"]
    assert abs(confidence - cli["confidence"]) <= 0.0051
    # the header is folded at spaces: compare the words
    assert explanation.split() == cli["explanation"].split()

    # keywords: needs, urgent, unsure -- exactly the CLI's
    assert msg.keywords == set(cli["keywords"])
    assert ("urgent" in msg.keywords) == cli["urgent"]
    assert ("unsure" in msg.keywords) == cli["unsure"]
