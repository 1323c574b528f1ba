"""A real Dovecot IMAP server for the tests, private to the test session.

The peer (tests/peers.py) writes a throwaway configuration into a fresh
directory — its own ``base_dir`` and ``state_dir``, a ``passwd-file`` with
the test mailboxes' users, Maildirs under the directory, plain-text login
on 127.0.0.1 only — and runs ``dovecot -F -c CONF`` attached, in its own
process group, on a free port. It is whole when the master runs, the
listener on the port is this Dovecot, and a real IMAP login of each user
works. Nothing of the machine's own Dovecot is read or used (a system
instance on port 143 may run beside it). Mails are put in with IMAP APPEND.

As root the master runs as root and the mail processes as the ``dovecot``
user; as another user, all of it runs as that user (Dovecot's "rootless"
set-up).
"""

from __future__ import annotations

import os
import pwd
import shutil

import pytest

from tests.peers import Peer, free_port, session_peer

#: the test mailboxes' users and passwords
USERS = {"office": "office-secret", "helpdesk": "helpdesk-secret", "alice": "alice-secret",
         "bob": "bob-secret"}

CONFIG = """\
# The test session's Dovecot (tests/dovecot.py)
base_dir = {dir}/run
state_dir = {dir}/state
instance_name = backdesk-test-{port}
log_path = {dir}/mail.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_location = maildir:~/Maildir
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/passwd
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={dir}/mail/%u
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
service pop3-login {{
  chroot =
}}
service submission-login {{
  chroot =
}}
service anvil {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


def _mail_user() -> tuple[str, str]:
    if os.geteuid() == 0:
        return "dovecot", "dovecot"
    me = pwd.getpwuid(os.geteuid()).pw_name
    return me, me


def imap_login_works(port: int, user: str, password: str) -> bool:
    from imapclient import IMAPClient

    try:
        with IMAPClient("127.0.0.1", port=port, ssl=False, timeout=10) as client:
            client.login(user, password)
            client.logout()
        return True
    except Exception:
        return False


class Dovecot(Peer):
    name = "Dovecot"

    def requirements(self):
        found = shutil.which("dovecot") is not None
        user_ok = os.geteuid() != 0
        if not user_ok:
            try:
                pwd.getpwnam("dovecot")
                user_ok = True
            except KeyError:
                pass
        return [(found and user_ok, "apt-get install dovecot-imapd")]

    @property
    def dir_owner(self):  # the mail processes write the Maildirs in it
        return _mail_user()[0] if os.geteuid() == 0 else None

    def launch(self) -> None:
        assert self.dir is not None
        user, group = _mail_user()
        self.port = free_port(reserve=False)
        for sub in ("run", "state", "mail"):
            (self.dir / sub).mkdir()
            if os.geteuid() == 0:
                shutil.chown(self.dir / sub, user, group)
        (self.dir / "passwd").write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in USERS.items()))
        os.chmod(self.dir / "passwd", 0o644)
        conf = self.dir / "dovecot.conf"
        conf.write_text(CONFIG.format(dir=self.dir, port=self.port, user=user, group=group))
        os.chmod(self.dir, 0o755)  # the mail processes reach their Maildirs through it
        self.spawn(["dovecot", "-F", "-c", str(conf)])

    def problems(self) -> list[str]:
        return self.process_problems() or self.listener_problems(self.port) or (
            [] if imap_login_works(self.port, "office", USERS["office"]) else ["the IMAP login of office failed"])

    # -- for the tests -------------------------------------------------------------
    def client(self, user: str):
        """A logged-in IMAPClient for ``user`` (close it after use)."""
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=30)
        client.login(user, USERS[user])
        return client

    def deliver(self, user: str, message: bytes, folder: str = "INBOX") -> None:
        """Put a mail into ``user``'s folder (IMAP APPEND)."""
        with self.client(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, message)

    def messages(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """The raw mails in ``user``'s folder, in UID order."""
        with self.client(user) as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            data = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            return [data[uid][b"BODY[]"] for uid in sorted(data)]

    def empty(self) -> None:
        """Every user's folders emptied and removed (INBOX emptied)."""
        for user in USERS:
            with self.client(user) as client:
                for _flags, _sep, name in client.list_folders():
                    client.select_folder(name)
                    uids = client.search(["ALL"])
                    if uids:
                        client.delete_messages(uids)
                        client.expunge()
                    client.close_folder()
                    if name.upper() != "INBOX":
                        client.delete_folder(name)

    def settings(self, user: str) -> dict:
        return {"host": "127.0.0.1", "port": self.port, "user": user, "password": USERS[user], "tls": "none"}


@pytest.fixture
def dovecot():
    """The session's Dovecot, its mailboxes emptied for this test."""
    server = session_peer(Dovecot)
    server.empty()
    return server
