"""Run one mail round of a test site and kill this process with SIGKILL at
a step of the intake — a Backdesk stopped half-way, for real.

    python mail_worker.py CONFIG_DIR DATA_DIR STEP      # STEP: stored | handled

Prints ``reached STEP`` (flushed) just before the kill; exits 3 if the step
never came."""

from __future__ import annotations

import os
import signal
import sys


def main() -> int:
    config_dir, data_dir, wanted = sys.argv[1:4]
    from core.plugins.runtime import open_backdesk
    from plugins.documents import mailin

    bd = open_backdesk(config_dir, data_dir, load_entry_points=False)
    ctx = bd.context("documents")

    def step(what, info):
        if what == wanted:
            print(f"reached {what}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    mailin.fetch_mail(ctx, on_step=step)
    return 3


if __name__ == "__main__":
    sys.exit(main())
