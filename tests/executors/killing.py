"""A part task that kills its Dask worker the first time it runs (test only)."""

import os
import signal

import attrs

from smartx_engine.executors.dask import compute_part


@attrs.frozen
class KillsItsWorkerOnce:
    """Computes a part, except on the first call anywhere (a marker file says it happened): then the
    worker process dies mid-task, as a machine lost mid-run would."""

    marker: str

    def __call__(self, part, policy_sources):
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            with open(self.marker, "a") as log:
                log.write(f"{os.getpid()}\n")  # one line per part computed
            return compute_part(part, policy_sources)
        os.kill(os.getpid(), signal.SIGKILL)
