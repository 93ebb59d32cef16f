"""Where reports go, and how a finished one is put there without a reader ever seeing half of it.

Layout of an output root (``reports/`` by default)::

    reports/<slug>/<run-date>/        the first run of a launch on a day
    reports/<slug>/<run-date>.2/      a second run the same day (history is never overwritten)
    reports/index.html                the portfolio page, rebuilt after every publish

A run is staged in ``.<root>.staging/`` *beside* the root, never inside it, and renamed into place
only when complete, so a failed or killed run leaves nothing under the root. Every staging folder
is held by an advisory lock (``flock``) for the life of its process; the operating system drops
the lock when the process dies, however it dies, and the next run sweeps what such a process left.
Publishers of the same launch take a second lock, so concurrent runs of one launch and day each
get their own folder instead of racing for one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from causal_kit.analysis.history import parse_run
from causal_kit.core.errors import SpecificationError

SLUG_MAX = 80
STALE_SECONDS = 3600  # a half-written page older than this belongs to a dead process
RESERVED = {"index.html", "index", "con", "nul", "prn", "aux"}
_STAGING = re.compile(r"^\.(.+)\.staging$")


def slug(name: str) -> str:
    """Return the folder name of a launch: readable, unique per name, at most ~90 characters.

    Letters outside ``A-Za-z0-9._-`` become ``-``. Whenever that changes the name (or cuts it to
    :data:`SLUG_MAX` characters), eight hex digits of the name's SHA-256 are appended, so two
    distinct names (``"assistant v2"`` and ``"assistant/v2"``, or two names in a non-Latin
    script) never share a folder. A name that is already folder-safe is kept as it is.
    """
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    short = cleaned[:SLUG_MAX].rstrip("-.")
    if short == name and short.lower() not in RESERVED:
        return short
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{short or 'launch'}-{digest}"


def check_output_root(root: str | os.PathLike[str]) -> Path:
    """Return ``root`` as a path after checking it can hold reports.

    Raises
    ------
    SpecificationError
        If ``root`` (or one of its parents) is a file.
    """
    path = Path(root)
    for part in (path, *path.parents):
        if part.exists() and not part.is_dir():
            raise SpecificationError(
                f"output {str(root)!r} is not a folder ({str(part)!r} is a file); pass --output "
                "a folder (it is created when missing)."
            )
    return path


def staging_root(root: Path) -> Path:
    """Return the staging folder of an output root: ``.<name>.staging`` beside it."""
    absolute = root.resolve()
    return absolute.parent / f".{absolute.name}.staging"


def output_root_of(staging: str | os.PathLike[str]) -> Path | None:
    """Return the output root a staging folder (or a run staged in it) belongs to, or None."""
    path = Path(staging).resolve()
    for folder in (path, path.parent):
        match = _STAGING.match(folder.name)
        if match:
            return folder.parent / match.group(1)
    return None


@contextlib.contextmanager
def _flock(path: Path, *, blocking: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on ``path`` (created if needed); yield whether it was acquired."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            yield False
            return
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # a sweeper removed the file while we waited: lock the new one
    try:
        yield True
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked(root: Path, name: str) -> Iterator[None]:
    """Serialise work on ``name`` (a launch slug, or ``index``) across processes."""
    stage = staging_root(root)
    stage.mkdir(parents=True, exist_ok=True)
    with _flock(stage / f"{name}.lock"):
        yield


@contextlib.contextmanager
def staged(root: Path, launch_slug: str) -> Iterator[Path]:
    """Yield a fresh private folder to build a run in; remove it afterwards, whatever happens.

    The folder stays locked while the block runs. Stale folders of dead processes are swept
    first.
    """
    stage = staging_root(root)
    stage.mkdir(parents=True, exist_ok=True)
    sweep(root)
    folder = Path(tempfile.mkdtemp(prefix=f"{launch_slug[:40]}.", dir=stage))
    lock = folder.with_name(folder.name + ".run")
    try:
        with _flock(lock):
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()


def sweep(root: Path) -> list[str]:
    """Remove what killed runs left in the staging folder of ``root``; return the names removed.

    A run folder is stale when no live process holds its ``.run`` lock.
    """
    stage = staging_root(root)
    if not stage.is_dir():
        return []
    removed = []
    for entry in sorted(stage.iterdir()):
        if not entry.is_dir():
            continue
        lock = entry.with_name(entry.name + ".run")
        if lock.exists():
            with _flock(lock, blocking=False) as free:
                if not free:
                    continue
                shutil.rmtree(entry, ignore_errors=True)
                lock.unlink(missing_ok=True)
        else:
            # the lock is taken before the folder's first file is written: an empty, unlocked
            # folder just created is left for its owner; anything else without a lock is stale
            if any(entry.iterdir()):
                shutil.rmtree(entry, ignore_errors=True)
            else:
                continue
        removed.append(entry.name)
    for tmp in stage.glob("*.tmp"):  # a page a killed process was writing
        with contextlib.suppress(FileNotFoundError):
            if time.time() - tmp.stat().st_mtime > STALE_SECONDS:
                tmp.unlink()
    for lock in stage.glob("*.run"):
        if not lock.with_suffix("").exists():
            with _flock(lock, blocking=False) as free:
                if free:
                    lock.unlink(missing_ok=True)
    return removed


def publish(folder: Path, root: Path, launch_slug: str, run_date: str) -> Path:
    """Move a complete staged run into ``root/<slug>/`` under a new run folder; return it.

    The first run of a day is ``<run_date>``, later ones ``<run_date>.2``, ``.3``…: no
    published run is ever replaced. Concurrent publishers of one launch take turns.
    """
    with locked(root, launch_slug):
        target_parent = root / launch_slug
        target_parent.mkdir(parents=True, exist_ok=True)
        taken = {parse_run(p.name) for p in target_parent.iterdir()}
        n = 1
        while (run_date, n) in taken:
            n += 1
        final = target_parent / (run_date if n == 1 else f"{run_date}.{n}")
        folder.chmod(0o755)  # a temporary folder is private; a published report is not
        folder.rename(final)
    return final


def write_atomic(root: Path, name: str, text: str) -> Path:
    """Write ``root/name`` by a rename from the staging folder (readers see old or new, whole)."""
    stage = staging_root(root)
    stage.mkdir(parents=True, exist_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{name}.", suffix=".tmp", dir=stage)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, root / name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return root / name
