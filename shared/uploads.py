"""Uploaded dataset zips kept on the server: a quota on what stays extracted.

Each upload is extracted once (``shared.safe_zip``) into its own folder under the jobs root,
and reused while it is kept; ``prune_uploads`` deletes the oldest before a new one arrives.
"""

import os
import shutil
from pathlib import Path

from shared.jobs import is_alive, list_jobs
from shared.safe_zip import MAX_EXTRACTED_BYTES

KEPT_UPLOADS = 10  # extracted dataset zips kept for reuse (the same zip is not extracted twice)
# Disk quota of the extracted uploads, the one being extracted included: one upload alone can
# never exceed it, as extraction refuses more than MAX_EXTRACTED_BYTES first (saying so).
KEPT_UPLOAD_BYTES = 2 * MAX_EXTRACTED_BYTES


def _folder_bytes(folder):
    """The bytes of the files under ``folder``, links not followed (a loop, not recursion)."""
    total, folders = 0, [folder]
    while folders:
        try:
            with os.scandir(folders.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(entry.path)
                    else:
                        total += entry.stat(follow_symlinks=False).st_size
        except OSError:  # deleted meanwhile
            continue
    return total


def prune_uploads(
    folder, *, keep=KEPT_UPLOADS, max_bytes=KEPT_UPLOAD_BYTES, incoming_bytes=MAX_EXTRACTED_BYTES
):
    """Delete the oldest extracted uploads in ``folder``, except those a running job reads, so
    that at most the ``keep`` newest remain and they fit ``max_bytes`` together with the
    ``incoming_bytes`` of the upload about to be extracted. Returns the folders deleted."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    in_use = " ".join(" ".join(job.command) for job in list_jobs() if is_alive(job))
    extracted = [
        path for path in folder.iterdir() if path.is_dir() and not path.name.startswith(".")
    ]
    extracted.sort(key=lambda path: path.stat().st_mtime, reverse=True)
    deleted, total = [], incoming_bytes
    for index, path in enumerate(extracted):
        total += _folder_bytes(path)  # a deleted one counts too: all older ones go with it
        if (index >= keep or total > max_bytes) and str(path) not in in_use:
            shutil.rmtree(path, ignore_errors=True)
            deleted.append(path)
    return deleted
