#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""A real SMTP or LMTP server (aiosmtpd) on 127.0.0.1 for the relay client's tests.

Listens on a free port and prints "port N" on stdout once it accepts connections. Each message
it accepts is written to SPOOL/N.eml (the bytes received, dot-stuffing undone) and its envelope
to SPOOL/N.json, both before the reply that accepts it.
"""

import argparse
import asyncio
import json
import os
import ssl
import sys

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--spool", required=True, help="directory for received messages")
    p.add_argument("--lmtp", action="store_true", help="speak LMTP (LHLO, one reply per recipient)")
    p.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"), help="offer STARTTLS")
    p.add_argument("--smtps", nargs=2, metavar=("CERT", "KEY"), help="TLS from the first byte")
    p.add_argument("--auth", metavar="USER:PASSWORD", help="require AUTH with these credentials")
    p.add_argument("--auth-login-only", action="store_true", help="offer AUTH LOGIN but not PLAIN")
    p.add_argument("--tempfail", action="append", default=[], metavar="ADDR", help="451 at RCPT")
    p.add_argument("--permfail", action="append", default=[], metavar="ADDR", help="550 at RCPT")
    p.add_argument("--tempfail-once", action="append", default=[], metavar="ADDR",
                   help="451 at the first RCPT for ADDR, then accept it")
    p.add_argument("--lmtp-fail", action="append", default=[], metavar="ADDR",
                   help="LMTP: 452 for this recipient after the data")
    p.add_argument("--max-rcpts", type=int, default=0, metavar="N",
                   help="452 to the recipients of a transaction past the first N")
    p.add_argument("--dsn", action="store_true",
                   help="offer DSN and record NOTIFY, ORCPT, RET and ENVID (RFC 3461)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=0, help="port to listen on (0: any free one)")
    p.add_argument("--size", type=int, default=0, help="announce SIZE with this limit")
    p.add_argument("--no-ehlo", action="store_true", help="answer EHLO with 500 (HELO only)")
    p.add_argument("--unix", metavar="PATH", help="also listen on this UNIX socket")
    return p.parse_args()


class Handler:
    def __init__(self, args):
        self.args = args
        self.count = 0
        self.connections = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.args.tempfail:
            return "451 4.3.0 Try again later"
        if address in self.args.tempfail_once:
            self.args.tempfail_once.remove(address)
            return "451 4.3.0 Try again later"
        if address in self.args.permfail:
            return "550 5.1.1 No such user here"
        if self.args.max_rcpts and len(envelope.rcpt_tos) >= self.args.max_rcpts:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(rcpt_options + getattr(server, "dsn_rcpt", []))
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.args.spool, str(self.count))
        user = None
        if isinstance(session.auth_data, LoginPassword):
            user = session.auth_data.login.decode()
        meta = {
            "connection": server.connection,
            "peer": session.peer[0] if isinstance(session.peer, tuple) else None,
            "helo": session.host_name,
            "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options,
            "rcpt_tos": envelope.rcpt_tos,
            "rcpt_options": envelope.rcpt_options,
            "dsn_mail": getattr(server, "dsn_mail", []),
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "auth_user": user,
        }
        # Written under a temporary name first, so that a reader never sees half a file.
        for suffix, data in ((".eml", envelope.original_content),
                             (".json", json.dumps(meta).encode())):
            with open(base + suffix + ".tmp", "wb") as f:
                f.write(data)
            os.rename(base + suffix + ".tmp", base + suffix)
        if self.args.lmtp:
            return "\r\n".join(
                "452 4.2.2 Mailbox full" if r in self.args.lmtp_fail else "250 2.0.0 Delivered"
                for r in envelope.rcpt_tos)
        return f"250 2.0.0 Ok: queued as {self.count}"


def tls_context(cert, key):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def main():
    args = parse_args()
    handler = Handler(args)
    authenticator = None
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
                  and auth_data.password == password.encode())
            # handled=False: aiosmtpd sends the 235 or 535 itself.
            return AuthResult(success=ok, handled=False, auth_data=auth_data)

    base = LMTP if args.lmtp else SMTP

    # aiosmtpd refuses the DSN parameters (555): with --dsn they are taken out of MAIL and
    # RCPT before aiosmtpd reads them, and kept for the envelope's .json.
    def split_dsn(arg, keys):
        words = (arg or "").split(" ")
        dsn = [w for w in words[1:] if w.upper().startswith(keys)]
        return " ".join(w for w in words if w not in dsn), dsn

    class Server(base):
        async def smtp_EHLO(self, hostname):
            if args.no_ehlo:
                await self.push("500 5.5.1 Command unrecognized")
                return
            self.in_ehlo = True
            await super().smtp_EHLO(hostname)
            self.in_ehlo = False

        async def push(self, status):
            if args.dsn and getattr(self, "in_ehlo", False) and status.startswith("250 "):
                await super().push("250-DSN")
            await super().push(status)

        async def smtp_MAIL(self, arg):
            if args.dsn:
                arg, self.dsn_mail = split_dsn(arg, ("RET=", "ENVID="))
            await super().smtp_MAIL(arg)

        async def smtp_RCPT(self, arg):
            if args.dsn:
                arg, self.dsn_rcpt = split_dsn(arg, ("NOTIFY=", "ORCPT="))
            await super().smtp_RCPT(arg)

    def factory():
        kwargs = {
            "hostname": "test.example",
            "data_size_limit": args.size,
            "auth_required": bool(args.auth),
            "authenticator": authenticator,
            "auth_exclude_mechanism": ["PLAIN"] if args.auth_login_only else None,
        }
        if args.starttls:
            kwargs["tls_context"] = tls_context(*args.starttls)
        server = Server(handler, **kwargs)
        handler.connections += 1
        server.connection = handler.connections
        return server

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        factory, host=args.host, port=args.port,
        ssl=tls_context(*args.smtps) if args.smtps else None)
    if args.unix:
        await loop.create_unix_server(factory, path=args.unix)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"port {port}\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
