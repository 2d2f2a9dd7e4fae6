"""A real Dovecot IMAP server on loopback for tests and benchmarks (Debian ``dovecot-imapd``).

:class:`Dovecot` writes a throwaway configuration, one passwd-file per user and their maildirs
under one folder, and runs ``dovecot -F`` on a free 127.0.0.1 port without TLS. When the caller
is root, the server runs as ``nobody`` (``setpriv``), so no part of it runs as root (the folders
above ``root`` get o+x so that it can reach them); otherwise as the caller. Sockets live in a
short ``/tmp`` folder (UNIX socket paths are limited to 108 bytes). :meth:`Dovecot.stop` ends it.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from aios_assets.testing.ports import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {run}
state_dir = {run}/state
instance_name = aios-test-{tag}
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
log_path = {root}/dovecot.log
# pinned: Dovecot.aborted_fetches reads body_count from the session's last log line
imap_logout_format = in=%i out=%o body_count=%{{fetch_body_count}}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
  # mode 0 turns the auth penalty off: the bad-password tests must not wait up to 15 s
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0600
  }}
  unix_listener stats-writer {{
    mode = 0600
  }}
}}
"""


def available() -> bool:
    return Path(DOVECOT).exists()


class Dovecot:
    """One Dovecot instance under ``root``; users are added with :meth:`add_user`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.run_dir = Path(tempfile.mkdtemp(prefix="dv", dir="/tmp"))
        if os.geteuid() == 0:
            self.user, self.group = "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
        else:
            self.user = pwd.getpwuid(os.geteuid()).pw_name
            self.group = grp.getgrgid(os.getegid()).gr_name
        entry = pwd.getpwnam(self.user)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        self.users: dict[str, str] = {}

    # --- life cycle ----------------------------------------------------------------------
    def start(self, timeout_s: float = 20.0) -> Dovecot:
        (self.root / "mail").mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        (self.root / "users").mkdir(exist_ok=True)
        (self.root / "dovecot.conf").write_text(_CONFIG.format(
            run=self.run_dir, root=self.root, user=self.user, group=self.group,
            port=self.port, tag=uuid.uuid4().hex[:8]))
        self._own(self.root)
        self._own(self.run_dir)
        if os.geteuid() == 0:
            self._traversable()
        cmd = [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")]
        if os.geteuid() == 0:
            cmd = ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups",
                   *cmd]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.proc.stderr.read().decode()[-2000:]}"
                                   f"\n{self.log()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not answer on port {self.port}\n{self.log()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if self.proc is not None and self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def aborted_fetches(self, user: str) -> list[int]:
        """Sessions of ``user`` whose client vanished without logging out after the server had
        sent it message bodies (a client killed mid-fetch): each one's body count."""
        pattern = re.compile(rf"imap\({re.escape(user)}\)\S*: Info: Disconnected: "
                             r"(?!Logged out).*\bbody_count=(\d+)")
        return [int(n) for n in pattern.findall(self.log()) if int(n) > 0]

    def _traversable(self) -> None:
        """Let the server's user reach ``root``: o+x (search, not listing) on its ancestors,
        which pytest creates 0700 for root."""
        for parent in self.root.resolve().parents:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, (mode & 0o7777) | 0o001)

    def _own(self, path: Path) -> None:
        if os.geteuid() != 0:
            return
        os.chown(path, self.uid, self.gid)
        for dirpath, dirs, files in os.walk(path):
            for name in dirs + files:
                os.chown(os.path.join(dirpath, name), self.uid, self.gid)

    # --- users and mail --------------------------------------------------------------------
    def add_user(self, name: str, password: str, folders: tuple[str, ...] = ("Sent",)) -> None:
        """A user with an INBOX and ``folders``."""
        self.users[name] = password
        home = self.root / "mail" / name
        # One passwd-file per user (its path has %u): a new user is read on first login,
        # where a shared file would be re-read only seconds later.
        passwd = self.root / "users" / name
        passwd.write_text(f"{name}:{{PLAIN}}{password}:{self.uid}:{self.gid}::{home}\n")
        self._own(passwd)
        imap = self.client(name, password)
        try:
            for folder in folders:
                imap.create(f'"{folder}"')
        finally:
            imap.logout()
        self._own(home)

    def client(self, user: str, password: str | None = None) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        imap.login(user, password if password is not None else self.users[user])
        return imap

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        base = self.root / "mail" / user
        return base if folder.upper() == "INBOX" else base / f".{folder}"

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX") -> Path:
        """Drop a message straight into the maildir's ``new/``, as a local delivery agent does."""
        new = self.maildir(user, folder) / "new"
        name = f"{time.time():.6f}.{uuid.uuid4().hex}.aios-test"
        tmp = self.maildir(user, folder) / "tmp" / name
        tmp.write_bytes(raw)
        if os.geteuid() == 0:
            os.chown(tmp, self.uid, self.gid)
        os.replace(tmp, new / name)
        return new / name

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        """File a message through IMAP APPEND, as a mail client files what it sent."""
        imap = self.client(user)
        try:
            typ, data = imap.append(f'"{folder}"', None, None, raw)
            assert typ == "OK", data
        finally:
            imap.logout()

    def status(self, user: str, folder: str = "INBOX") -> dict[str, int]:
        imap = self.client(user)
        try:
            typ, data = imap.status(f'"{folder}"', "(MESSAGES UIDNEXT UIDVALIDITY)")
            assert typ == "OK", data
        finally:
            imap.logout()
        words = data[0].decode().split("(", 1)[1].rstrip(")").split()
        return {words[i]: int(words[i + 1]) for i in range(0, len(words), 2)}

    def flags(self, user: str, folder: str = "INBOX") -> dict[int, set[str]]:
        """Flags per UID, read without changing any (EXAMINE, FETCH FLAGS)."""
        imap = self.client(user)
        try:
            typ, _ = imap.select(f'"{folder}"', readonly=True)
            assert typ == "OK"
            typ, data = imap.uid("FETCH", "1:*", "(FLAGS)")
        finally:
            imap.logout()
        out: dict[int, set[str]] = {}
        for line in data:
            if not isinstance(line, bytes):
                continue
            text = line.decode()
            uid = int(text.split("UID ", 1)[1].split()[0].rstrip(")"))
            flags = text.split("FLAGS (", 1)[1].split(")", 1)[0].split()
            out[uid] = set(flags)
        return out

    def expunge(self, user: str, uids: list[int], folder: str = "INBOX") -> None:
        """Delete messages for good from another session (a mail client's delete)."""
        imap = self.client(user)
        try:
            imap.select(f'"{folder}"')
            imap.uid("STORE", ",".join(map(str, uids)), "+FLAGS.SILENT", r"(\Deleted)")
            imap.expunge()
        finally:
            imap.logout()

    def rebuild_uids(self, user: str, folder: str = "INBOX") -> None:
        """Make the server forget the folder's UIDs (a restored backup, a rebuilt index): it
        assigns a new UIDVALIDITY and renumbers the messages."""
        base = self.maildir(user, folder)
        for path in base.iterdir():
            if path.name == "dovecot-uidlist" or path.name.startswith("dovecot.index"):
                path.unlink()
