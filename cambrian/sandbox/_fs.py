"""Removing directory trees that candidate code may have shaped."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def remove_tree(path: Path) -> None:
    """Delete ``path`` and everything under it, however deep; a missing path is fine.

    ``shutil.rmtree`` recurses once per directory level, so a candidate that builds a
    few thousand nested directories makes it raise RecursionError (which
    ``ignore_errors`` does not catch). ``rm -rf`` walks iteratively and never follows
    symlinks, so it is the fallback.
    """
    try:
        shutil.rmtree(path, ignore_errors=True)
    except RecursionError:
        subprocess.run(["rm", "-rf", "--", str(path)], check=False)
