"""The benchmark's SMTP sink: catches the acknowledgments Dovecot submits
and notes when each one arrived.

It runs in its own process (asyncio, one thread), so the LMTP client threads
of the benchmark never wait for it on the GIL, and it answers at once: it must
never be the slow part of a measurement (`capacity()` checks that).  Times are
time.monotonic() (CLOCK_MONOTONIC is the same clock in every process), taken
when the final "." of DATA arrives, before the 250 is sent.

    with AckSink() as sink:          # sink.port for submission_host
        ...
        acks = sink.take()           # [Ack] received since the last take()

Run as a script it is the server itself (AckSink starts it that way): it
prints its port, then answers one command a line on stdin: "count",
"take" (a JSON list), "quit", and for the relay scenarios (issue 14)
"down" (the relay goes away: open connections are cut, new ones are
refused), "stall" (connections are taken but nothing is answered, also
on the ones already open) and "up" (back to normal, on the same port).
"""

import asyncio
import base64
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

HEADER_END = re.compile(rb"\r?\n\r?\n")


@dataclass
class Ack:
    time: float          # time.monotonic() when DATA ended
    mail_from: str
    rcpts: list
    header: bytes        # the message's header block (body not kept)
    size: int

    def get(self, name):
        """Unfolded value of the first `name` header, or None."""
        mt = re.search(rb"(?im)^" + re.escape(name.encode()) +
                       rb"[ \t]*:[ \t]*(.*(?:\r?\n[ \t].*)*)", self.header)
        if not mt:
            return None
        return re.sub(r"\r?\n[ \t]+", " ",
                      mt.group(1).decode("utf-8", "replace")).strip()


# ---- the server (child process) ---------------------------------------------

class _Session(asyncio.BufferedProtocol):
    """One SMTP connection, as a protocol with callbacks rather than stream
    coroutines (several times cheaper per command), reading into a buffer
    of its own: asyncio's plain recv() allocates 256 KiB per read, an
    mmap/mremap/munmap that cost more than everything else here."""

    def __init__(self, records, server=None):
        self.records = records
        self.server = server
        self.buf = b""
        self.in_data = False
        self.greeted = False
        self.mail_from, self.rcpts = None, []
        self.rbuf = memoryview(bytearray(65536))

    def connection_made(self, transport):
        self.transport = transport
        if self.server is not None:
            self.server.sessions.add(self)
            if self.server.stalled:
                return          # greeted when the relay answers again
        self.greet()

    def greet(self):
        if not self.greeted:
            self.greeted = True
            self.transport.write(b"220 bench-sink ESMTP\r\n")

    def connection_lost(self, exc):
        if self.server is not None:
            self.server.sessions.discard(self)

    def resume(self):
        """The relay answers again: greet, then what arrived meanwhile."""
        if self.transport.is_closing():
            return
        self.greet()
        self.data_received(b"")

    def get_buffer(self, sizehint):
        return self.rbuf

    def buffer_updated(self, nbytes):
        self.data_received(bytes(self.rbuf[:nbytes]))

    def data_received(self, data):
        self.buf += data
        if self.server is not None and self.server.stalled:
            return              # read, never answered while stalled
        out = []
        while self.buf:
            if self.in_data:
                # the end is CRLF.CRLF, whose first CRLF is the DATA line's
                # when the message is empty
                if self.buf.startswith(b".\r\n"):
                    end, body = 3, b""
                else:
                    i = self.buf.find(b"\r\n.\r\n")
                    if i < 0:
                        break
                    end, body = i + 5, self.buf[:i + 2]
                t = time.monotonic()
                self.buf = self.buf[end:]
                self.in_data = False
                mt = HEADER_END.search(body)
                header = body[:mt.start()] if mt else body
                header = re.sub(rb"(?m)^\.\.", b".", header)
                self.records.append((t, self.mail_from, self.rcpts, header,
                                     len(body)))
                self.mail_from, self.rcpts = None, []
                out.append(b"250 OK\r\n")
                continue
            i = self.buf.find(b"\n")
            if i < 0:
                break
            line, self.buf = self.buf[:i + 1], self.buf[i + 1:]
            verb = line[:4].upper()
            if verb == b"EHLO":
                out.append(b"250-bench-sink\r\n250-8BITMIME\r\n"
                           b"250 SMTPUTF8\r\n")
            elif verb == b"HELO":
                out.append(b"250 bench-sink\r\n")
            elif verb == b"MAIL":
                self.mail_from, self.rcpts = _angle(line), []
                out.append(b"250 OK\r\n")
            elif verb == b"RCPT":
                self.rcpts.append(_angle(line))
                out.append(b"250 OK\r\n")
            elif verb == b"DATA":
                if self.mail_from is None or not self.rcpts:
                    out.append(b"503 need MAIL and RCPT\r\n")
                else:
                    self.in_data = True
                    out.append(b"354 go ahead\r\n")
            elif verb in (b"RSET", b"NOOP"):
                if verb == b"RSET":
                    self.mail_from, self.rcpts = None, []
                out.append(b"250 OK\r\n")
            elif verb == b"QUIT":
                out.append(b"221 bye\r\n")
                self.transport.write(b"".join(out))
                self.transport.close()
                return
            else:
                out.append(b"502 not implemented\r\n")
        if out:
            self.transport.write(b"".join(out))


class _Server:
    def __init__(self):
        self.records = []
        self.sessions = set()
        self.stalled = False
        self.server = None
        self.port = None

    async def listen(self, port):
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: _Session(self.records, self), "127.0.0.1", port,
            backlog=512, reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]

    def command(self, line):
        cmd = line.strip()
        if cmd == "count":
            return str(len(self.records))
        if cmd == "down":
            # refused from now on, and the open connections cut
            self.stalled = False
            if self.server is not None:
                self.server.close()
                self.server = None
            for sess in list(self.sessions):
                sess.transport.abort()
            self.sessions.clear()
            return "ok"
        if cmd == "stall":
            self.stalled = True
            return "ok"
        if cmd == "up":
            self.stalled = False
            for sess in list(self.sessions):
                sess.resume()
            if self.server is None:
                return self.listen(self.port)    # "ok" once listening
            return "ok"
        if cmd == "take":
            recs, self.records[:] = list(self.records), []
            return json.dumps([[t, f, r, base64.b64encode(h).decode(), n]
                               for t, f, r, h, n in recs])
        if cmd == "quit":
            return None
        return "error unknown command"

    async def main(self, port):
        loop = asyncio.get_running_loop()
        await self.listen(port)
        print(self.port, flush=True)
        done = loop.create_future()
        stdin = sys.stdin.buffer

        def reply(out):
            sys.stdout.write(out + "\n")
            sys.stdout.flush()

        async def reply_when(coro):
            await coro
            reply("ok")

        def on_command():
            line = stdin.readline()
            out = self.command(line.decode()) if line else None
            if out is None:
                done.set_result(None)
            elif asyncio.iscoroutine(out):
                loop.create_task(reply_when(out))
            else:
                reply(out)

        loop.add_reader(stdin.fileno(), on_command)
        await done
        if self.server is not None:
            self.server.close()


def _angle(line):
    s = line.decode("utf-8", "replace")
    mt = re.search(r"<([^>]*)>", s)
    return mt.group(1) if mt else s.split(":", 1)[-1].strip()


# ---- the controller (benchmark process) -------------------------------------

class AckSink:
    """Starts the sink process; port, count(), take(), stop()."""

    def __init__(self):
        self.proc = None
        self.port = None
        self._lock = threading.Lock()

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            bufsize=1)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError("ack sink did not start: %r" % line)
        self.port = int(line)
        return self

    def _ask(self, cmd):
        with self._lock:
            self.proc.stdin.write(cmd + "\n")
            self.proc.stdin.flush()
            return self.proc.stdout.readline()

    def count(self):
        return int(self._ask("count"))

    def relay(self, state):
        """"down", "stall" or "up" (see the module's docstring)."""
        if self._ask(state).strip() != "ok":
            raise RuntimeError("ack sink did not take %r" % state)

    def take(self):
        """The acks received since the last take(), oldest first."""
        return [Ack(t, f, r, base64.b64decode(h), n)
                for t, f, r, h, n in json.loads(self._ask("take"))]

    def stop(self):
        if self.proc is None:
            return
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# ---- how fast is it? --------------------------------------------------------

_CAPACITY_MSG = (b"From: Example Support <support@example.com>\r\n"
                 b"To: customer@example.org\r\n"
                 b"Subject: Re: your request [received]\r\n"
                 b"Auto-Submitted: auto-replied\r\n"
                 b"In-Reply-To: <x@example.org>\r\n"
                 b"Message-ID: <frontdesk.capacity@example.com>\r\n"
                 b"MIME-Version: 1.0\r\n"
                 b"Content-Type: text/plain; charset=utf-8\r\n\r\n" +
                 b"Thank you for your message. We will answer soon.\r\n" * 30)


def _blast(port, count, conn_per_msg):
    """Send count messages the way Dovecot's smtp-submit does (a connection
    per message) or all on one connection."""
    def expect(f, code):
        while True:
            line = f.readline()
            if not line.startswith(code):
                raise RuntimeError("sink said %r" % line)
            if line[3:4] != b"-":
                return

    s = f = None
    for i in range(count):
        if s is None:
            s = socket.create_connection(("127.0.0.1", port))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            f = s.makefile("rb")
            expect(f, b"220")
            s.sendall(b"EHLO capacity\r\n")
            expect(f, b"250")
        s.sendall(b"MAIL FROM:<>\r\n")
        expect(f, b"250")
        s.sendall(b"RCPT TO:<c%d@example.org>\r\n" % i)
        expect(f, b"250")
        s.sendall(b"DATA\r\n")
        expect(f, b"354")
        s.sendall(_CAPACITY_MSG + b".\r\n")
        expect(f, b"250")
        if conn_per_msg:
            s.sendall(b"QUIT\r\n")
            expect(f, b"221")
            f.close()
            s.close()
            s = None
    if s is not None:
        s.sendall(b"QUIT\r\n")
        f.close()
        s.close()


def _cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        st = f.read().rsplit(")", 1)[1].split()
    return (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")


def capacity(count=2000, clients=2, conn_per_msg=True):
    """How fast a fresh sink takes messages from `clients` client processes
    (each sending count/clients): {"rate": messages/s, "cpu_us": sink CPU
    per message}.  The clients are separate processes so that their Python
    time is not the sink's."""
    with AckSink() as sink:
        per = count // clients
        code = ("import sys; sys.path.insert(0, %r); import sink; "
                "sink._blast(%d, %d, %r)"
                % (os.path.dirname(os.path.abspath(__file__)), sink.port, per,
                   conn_per_msg))
        cpu0 = _cpu_seconds(sink.proc.pid)
        t0 = time.monotonic()
        procs = [subprocess.Popen([sys.executable, "-c", code])
                 for _ in range(clients)]
        rcs = [p.wait() for p in procs]
        recs = sink.take()
        cpu = _cpu_seconds(sink.proc.pid) - cpu0
        if any(rcs) or len(recs) != per * clients:
            raise RuntimeError("sink capacity run failed: rc %s, %d of %d "
                               "messages" % (rcs, len(recs), per * clients))
        # from the first client start to the last message the sink noted
        return {"rate": len(recs) / (max(r.time for r in recs) - t0),
                "cpu_us": cpu / len(recs) * 1e6}


if __name__ == "__main__":
    try:
        asyncio.run(_Server().main(int(sys.argv[1]) if len(sys.argv) > 1
                                   else 0))
    except KeyboardInterrupt:
        pass
