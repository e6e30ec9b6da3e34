#!/usr/bin/python3
"""Helpers for the package test inside a Debian chroot (python3 only, no
other module): an SMTP sink that stores each message it receives, and an
LMTP client that delivers one file.

  fdpkg.py sink PORT DIR        accept SMTP on 127.0.0.1:PORT, write DIR/N.eml
  fdpkg.py lmtp PORT FROM TO... FILE   deliver FILE, print each reply
"""
import os
import smtplib
import socketserver
import sys


class Sink(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        self.reply("220 sink ESMTP")
        env_from, rcpts = None, []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode("latin-1").strip()
            verb = cmd[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 sink")
            elif verb == "MAIL":
                env_from, rcpts = cmd[10:].strip(), []
                self.reply("250 ok")
            elif verb == "RCPT":
                rcpts.append(cmd[8:].strip())
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                data = []
                while True:
                    dl = self.rfile.readline()
                    if not dl or dl in (b".\r\n", b".\n"):
                        break
                    if dl.startswith(b".."):
                        dl = dl[1:]
                    data.append(dl)
                n = len(os.listdir(self.server.dir))
                path = os.path.join(self.server.dir, "%d.eml" % n)
                with open(path + ".tmp", "wb") as f:
                    f.write(b"X-Sink-From: %s\r\nX-Sink-To: %s\r\n" % (
                        env_from.encode(), " ".join(rcpts).encode()))
                    f.write(b"".join(data))
                os.rename(path + ".tmp", path)
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    if sys.argv[1] == "sink":
        server = Server(("127.0.0.1", int(sys.argv[2])), Sink)
        server.dir = sys.argv[3]
        server.serve_forever()
    elif sys.argv[1] == "lmtp":
        port, env_from, rcpts, path = (int(sys.argv[2]), sys.argv[3],
                                       sys.argv[4:-1], sys.argv[-1])
        with open(path, "rb") as f:
            msg = f.read()
        conn = smtplib.LMTP("127.0.0.1", port, timeout=30)
        conn.ehlo("client.example.net")
        conn.mail(env_from)
        for r in rcpts:
            print("RCPT", r, *conn.rcpt(r))
        conn.putcmd("data")
        code, text = conn.getreply()
        if code != 354:
            print("DATA", code, text)
            sys.exit(1)
        data = msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        data = data.replace(b"\r\n.", b"\r\n..")
        if data.startswith(b"."):
            data = b"." + data
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        conn.send(data + b".\r\n")
        ok = True
        for r in rcpts:
            code, text = conn.getreply()
            print("DELIVERED" if code == 250 else "REFUSED", r, code,
                  text.decode(errors="replace"))
            ok = ok and code == 250
        conn.quit()
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
