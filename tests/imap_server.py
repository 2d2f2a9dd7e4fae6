"""A small IMAP4rev1 server on loopback, for tests of the SMTP adapter's IMAP lookup.

It speaks the real protocol (RFC 3501) for the subset ``imaplib`` uses there: the greeting,
CAPABILITY, NOOP, LOGIN (checks the credentials), SELECT / EXAMINE, SEARCH and UID SEARCH with
``HEADER field string`` (case-insensitive substring match, as the RFC says), CLOSE and LOGOUT.
Anything else is answered ``BAD``. Messages live in an :class:`ImapMailbox`, which
:class:`tests.smtp_sink.SmtpSink` can fill (``SmtpSink(copy_to=mailbox)``): every message the
SMTP server accepts lands in the "Sent" folder, as with providers that file what was sent.

``commands`` records what clients asked (LOGIN without its password) so tests can check that
lookups are read-only.
"""

from __future__ import annotations

import socketserver
import threading
from email import message_from_bytes
from typing import Self

MAX_LINE = 8192
MAX_COMMANDS = 1000  # per connection: a bounded session


class ImapMailbox:
    """Folders of raw messages (UID = position + 1), safe to fill from another thread."""

    def __init__(self, sent: str = "Sent") -> None:
        self.sent = sent
        self._folders: dict[str, list[bytes]] = {"INBOX": [], sent: []}
        self._lock = threading.Lock()

    def append(self, raw: bytes, folder: str | None = None) -> None:
        """File ``raw`` into ``folder`` (default: the Sent folder)."""
        with self._lock:
            self._folders[folder or self.sent].append(raw)

    def messages(self, folder: str) -> list[bytes] | None:
        with self._lock:
            for name, items in self._folders.items():
                if name == folder or (name.upper() == "INBOX" and folder.upper() == "INBOX"):
                    return list(items)
            return None


def parse_args(text: str) -> list[str] | None:
    """IMAP atoms and quoted strings (with \\\\ and \\" escapes); None for anything else."""
    args: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == " ":
            i += 1
            continue
        if text[i] == '"':
            i += 1
            out = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                out.append(text[i])
                i += 1
            if i >= n:
                return None  # unterminated
            args.append("".join(out))
            i += 1
        elif text[i] in "({":
            return None  # lists and literals: not needed here
        else:
            j = text.find(" ", i)
            j = n if j < 0 else j
            args.append(text[i:j])
            i = j
    return args


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def setup(self) -> None:
        self.request.settimeout(10)
        super().setup()

    def send(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        imap = self.server.imap
        state = "unauth"
        folder: list[bytes] = []
        self.send("* OK AIOS test IMAP4rev1 server ready")
        for _ in range(MAX_COMMANDS):
            try:
                raw = self.rfile.readline(MAX_LINE)
            except OSError:
                return
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            tag, _, rest = line.partition(" ")
            command, _, tail = rest.partition(" ")
            command = command.upper()
            args = parse_args(tail)
            imap._log(command, args)
            if not tag or not command or args is None:
                self.send(f"{tag or '*'} BAD unparsable command")
            elif command == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1")
                self.send(f"{tag} OK CAPABILITY completed")
            elif command == "NOOP":
                self.send(f"{tag} OK NOOP completed")
            elif command == "LOGOUT":
                self.send("* BYE logging out")
                self.send(f"{tag} OK LOGOUT completed")
                return
            elif command == "LOGIN":
                if state != "unauth" or len(args) != 2:
                    self.send(f"{tag} BAD LOGIN not allowed here")
                elif (args[0], args[1]) == (imap.user, imap.password):
                    state = "auth"
                    self.send(f"{tag} OK LOGIN completed")
                else:
                    self.send(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials")
            elif state == "unauth":
                self.send(f"{tag} BAD log in first")
            elif command in ("SELECT", "EXAMINE") and len(args) == 1:
                messages = imap.mailbox.messages(args[0])
                if messages is None:
                    state = "auth"
                    self.send(f"{tag} NO [NONEXISTENT] Unknown mailbox")
                    continue
                folder, state = messages, "selected"
                self.send("* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)")
                self.send(f"* {len(folder)} EXISTS")
                self.send("* 0 RECENT")
                self.send("* OK [UIDVALIDITY 1] UIDs valid")
                self.send(f"* OK [UIDNEXT {len(folder) + 1}] Predicted next UID")
                mode = "READ-ONLY" if command == "EXAMINE" else "READ-WRITE"
                self.send(f"{tag} OK [{mode}] {command} completed")
            elif command == "CLOSE" and state == "selected":
                folder, state = [], "auth"
                self.send(f"{tag} OK CLOSE completed")
            elif state == "selected" and (
                    command == "SEARCH" or (command == "UID" and args[:1] == ["SEARCH"])):
                criteria = args[1:] if command == "UID" else args
                if len(criteria) != 3 or criteria[0].upper() != "HEADER":
                    self.send(f"{tag} BAD only HEADER field string is supported")
                    continue
                field, needle = criteria[1], criteria[2].lower()
                hits = [str(i + 1) for i, msg in enumerate(folder)
                        if any(needle in str(v).lower()
                               for v in message_from_bytes(msg).get_all(field) or [])]
                self.send("* SEARCH" + "".join(f" {h}" for h in hits))
                self.send(f"{tag} OK {'UID ' if command == 'UID' else ''}SEARCH completed")
            else:
                self.send(f"{tag} BAD unknown or misplaced command")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    imap: ImapServer


class ImapServer:
    """IMAP4rev1 on 127.0.0.1 (a free port) over :class:`ImapMailbox`; a context manager."""

    def __init__(self, mailbox: ImapMailbox, *, user: str = "aios",
                 password: str = "imap-pass") -> None:
        self.mailbox = mailbox
        self.user = user
        self.password = password
        self.commands: list[tuple[str, tuple[str, ...]]] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.imap = self
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    def _log(self, command: str, args: list[str] | None) -> None:
        shown = tuple(args or ())
        if command == "LOGIN":
            shown = shown[:1]  # never keep the password
        with self._lock:
            self.commands.append((command, shown))

    def names(self) -> list[str]:
        """The commands received, in order (``UID SEARCH`` as ``UID``)."""
        with self._lock:
            return [c for c, _ in self.commands]

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
