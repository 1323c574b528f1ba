"""A second Backdesk process for the cross-process tests.

    python services_worker.py CONFIG_DIR DATA_DIR ACCOUNT watch-inbox
        prints "ready", then polls like the app does (store.refresh() every
        0.1 s) until ACCOUNT has an unread notification; prints "seen <text>".
"""

from __future__ import annotations

import sys
import time


def main() -> None:
    config_dir, data_dir, account, command = sys.argv[1:5]
    from core.plugins.runtime import open_backdesk

    bd = open_backdesk(config_dir, data_dir, account=account)
    try:
        if command == "watch-inbox":
            changed = []
            bd.store.on_change(lambda names: changed.append(names))
            service = bd.services.notifications
            start_count = service.unread_count()
            print("ready", flush=True)
            deadline = time.monotonic() + 120  # ends a failing run only: a loaded machine is slow
            while time.monotonic() < deadline:
                bd.store.refresh()
                if any("core.notifications" in names for names in changed):
                    changed.clear()
                    if service.unread_count() > start_count:
                        print("seen", service.inbox(unread_only=True)[0]["text"], flush=True)
                        return
                time.sleep(0.1)
            print("timeout", flush=True)
            sys.exit(1)
        raise SystemExit(f"unknown command {command}")
    finally:
        bd.close()


if __name__ == "__main__":
    main()
