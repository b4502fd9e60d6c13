"""Which files of a feed's landing folder are read, which are not and why, and opening them safely.

:func:`select_files` is the one place that decides; landing, the file sensor and ``mesh run``'s
summary all use it, so a file the sensor requests is a file landing reads, and every file nobody
reads is named with the reason:

- ``not a regular file``: a symbolic link (never followed, wherever it points), a FIFO, a device,
  a socket, or a folder where no folder is read;
- ``wrong extension``: not one of the format's suffixes (``.csv``; ``.jsonl``, ``.ndjson``, ``.json``;
  ``.json``; ``.xml``; ``.txt``, ``.dat``);
- ``no source declares the folder``: in a feed with ``sources:``, a file outside every sender's
  folder ``<feed>/<source>/``;
- ``undated`` / ``before the first partition``: a partitioned feed's file that no partition reads.

Hidden and ``_``-prefixed entries (``.DS_Store``, ``.gitkeep``, ``_SUCCESS`` markers) are not data by
convention and are passed over silently; partial files (``*.part``, ``*.tmp``, ...) are listed as
waiting: they are read once their producer renames them.

A selected file is opened by :func:`open_regular`: relative to the feed's folder, following no link
on the way (``O_NOFOLLOW``), and checked to be a regular file on the open descriptor (``fstat``), so
a file swapped for a link between listing and reading is refused, and what is hashed and parsed is
what was checked.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from mesh_orchestrator.core.errors import NotRegularFileError
from mesh_orchestrator.core.partitions import file_day
from mesh_orchestrator.core.spec import FeedSpec, SourceSpec

FILE_SUFFIXES = {
    "csv": (".csv",),
    "jsonl": (".jsonl", ".ndjson", ".json"),
    "json": (".json",),
    "xml": (".xml",),
    "fixed_width": (".txt", ".dat"),
}
#: Files still being written by their producer are skipped until they are renamed.
PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")

NOT_REGULAR = "not a regular file"
WRONG_EXTENSION = "wrong extension"
NO_SOURCE = "no source declares the folder"
UNDATED = "undated"
BEFORE_START = "before the first partition"
NOT_READABLE = "not readable"

#: Landing materialisation metadata that ``mesh run``'s summary reads back.
UNREAD_METADATA = "files_not_read_detail"
UNPARSEABLE_METADATA = "files_unparseable"
MAX_LISTED = 100

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | _CLOEXEC
# O_NONBLOCK: a FIFO swapped in after listing must not block the open (it is then refused by fstat).
_FILE_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | _CLOEXEC
)
#: Errors of an ``O_NOFOLLOW`` open of a link (ELOOP; EMLINK on FreeBSD), a socket, or a
#: non-folder where a folder was expected.
_NOT_REGULAR_ERRNOS = {errno.ELOOP, errno.EMLINK, errno.ENXIO, errno.ENOTDIR, errno.EOPNOTSUPP}
_PROC_FD = Path("/proc/self/fd")


@dataclass(frozen=True, order=True)
class FeedFile:
    """A file landing reads: its label (path below the feed's folder, ``<source>/<name>`` for a
    feed with sources), the feed's folder and the source whose format it is in."""

    label: str
    folder: Path = field(compare=False)
    source: SourceSpec = field(compare=False)

    @property
    def path(self) -> Path:
        return self.folder / self.label


@dataclass(frozen=True)
class Unread:
    """A file (or entry) of the folder that landing does not read, and why."""

    label: str
    why: str  # one of NOT_REGULAR, WRONG_EXTENSION, NO_SOURCE, UNDATED, BEFORE_START, NOT_READABLE
    detail: str

    def __str__(self) -> str:
        return f"{self.label} ({self.why}: {self.detail})"


@dataclass
class FeedFiles:
    """One look at a feed's folder."""

    read: list[FeedFile] = field(default_factory=list)
    unread: list[Unread] = field(default_factory=list)
    #: Partial files (``*.part``, ``*.tmp``): read once renamed.
    waiting: list[str] = field(default_factory=list)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link (never followed)"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _entries(folder: Path) -> list[tuple[str, int]]:
    """``(name, mode)`` of the folder's entries, sorted by name, links not followed."""
    found = []
    with os.scandir(folder) as entries:
        for entry in entries:
            try:
                found.append((entry.name, entry.stat(follow_symlinks=False).st_mode))
            except FileNotFoundError:  # removed while listing
                continue
    return sorted(found)


def _waits(name: str) -> bool | None:
    """None: passed over silently (hidden, ``_``-prefixed); True: partial, waits; False: considered."""
    if name.startswith((".", "_")):
        return None
    return name.lower().endswith(PARTIAL_SUFFIXES)


def _source_files(feed: FeedSpec, folder: Path, source: SourceSpec, found: FeedFiles) -> None:
    """Sort one folder's entries: the feed's folder (``source.name`` empty) or a sender's folder.

    In the folder of a feed with sources only stray entries are listed here; the senders' folders
    and the folders no source declares are gone through by :func:`select_files`.
    """
    prefix = f"{source.name}/" if source.name else ""
    stray = bool(feed.sources) and not source.name
    try:
        entries = _entries(folder / source.name if source.name else folder)
    except PermissionError as exc:
        found.unread.append(
            Unread(prefix or ".", NOT_READABLE, f"the folder cannot be listed ({exc.strerror})")
        )
        return
    except FileNotFoundError:
        return
    suffixes = FILE_SUFFIXES.get(source.format, ())
    declared = ", ".join(s.name for s in feed.sources)
    for name, mode in entries:
        label = prefix + name
        waits = _waits(name)
        if waits is None:
            continue
        if waits:
            found.waiting.append(label)
        elif stray and (stat.S_ISDIR(mode) or name in {s.name for s in feed.sources}):
            continue
        elif not stat.S_ISREG(mode):
            if stat.S_ISDIR(mode):
                what = "a folder (landing reads no sub-folders; name it _<name> to keep files there)"
                found.unread.append(Unread(f"{label}/", NOT_REGULAR, what))
            else:
                found.unread.append(Unread(label, NOT_REGULAR, _kind(mode)))
        elif stray:
            found.unread.append(
                Unread(label, NO_SOURCE, f"each sender drops files in its own folder ({declared})")
            )
        elif Path(name).suffix.lower() not in suffixes:
            sender = f"{source.name} sends" if source.name else "the feed is"
            found.unread.append(
                Unread(label, WRONG_EXTENSION, f"{sender} {source.format}: {', '.join(suffixes)}")
            )
        elif (undated := _undated(feed, label)) is not None:
            found.unread.append(undated)
        else:
            found.read.append(FeedFile(label, folder, source))


def _undated(feed: FeedSpec, label: str) -> Unread | None:
    if feed.partitioned_by is None:
        return None
    day = file_day(label)
    if day is None:
        example = f"{feed.name}_2026-03-05{Path(label).suffix}"
        return Unread(
            label, UNDATED, f"no day (YYYY-MM-DD) in its name, so no partition reads it: e.g. {example}"
        )
    if day < feed.partitioned_by.start:
        return Unread(
            label, BEFORE_START, f"{day} is before the feed's first partition {feed.partitioned_by.start}"
        )
    return None


def select_files(feed: FeedSpec, folder: Path) -> FeedFiles:
    """The files of ``folder`` that landing reads (each sender's folder in turn, by name), those it
    does not read and why, and the partial files that wait."""
    found = FeedFiles()
    if not folder.is_dir():
        return found
    plain = SourceSpec(name="", format=feed.format, fields=())
    _source_files(feed, folder, plain, found)  # a feed with sources: files outside their folders
    if not feed.sources:
        return found
    declared = {s.name: s for s in feed.sources}
    entries = dict(_entries(folder))
    for source in feed.sources:
        mode = entries.get(source.name)
        if mode is None:
            continue
        if stat.S_ISDIR(mode):
            _source_files(feed, folder, source, found)
        else:
            found.unread.append(
                Unread(f"{source.name}/", NOT_REGULAR, f"the sender's folder is {_kind(mode)}")
            )
    for name, mode in entries.items():
        if name in declared or not stat.S_ISDIR(mode) or _waits(name) is None:
            continue
        inside = sorted(
            f"{name}/{entry}" for entry, _ in _safe_entries(folder / name) if _waits(entry) is not None
        )
        for label in inside or [f"{name}/"]:
            found.unread.append(
                Unread(label, NO_SOURCE, f"{name!r} is none of the feed's sources ({', '.join(declared)})")
            )
    return found


def _safe_entries(folder: Path) -> list[tuple[str, int]]:
    try:
        return _entries(folder)
    except OSError:
        return []


@contextmanager
def open_regular(file: FeedFile) -> Iterator[BinaryIO]:
    """The file opened for reading, following no link below the feed's folder.

    Raises :class:`NotRegularFileError` when it is not (or no longer) a regular file there,
    ``FileNotFoundError`` when it is gone and ``PermissionError`` when it may not be read.
    """
    parts = file.label.split("/")
    fd = os.open(file.folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _CLOEXEC)
    try:
        for part in parts[:-1]:
            try:
                inner = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in _NOT_REGULAR_ERRNOS:
                    raise NotRegularFileError(file.label, f"{part!r} is not a folder") from exc
                raise
            os.close(fd)
            fd = inner
        try:
            handle_fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=fd)
        except OSError as exc:
            if exc.errno in _NOT_REGULAR_ERRNOS:
                raise NotRegularFileError(file.label, "a symbolic link or special file") from exc
            raise
    finally:
        os.close(fd)
    handle = os.fdopen(handle_fd, "rb")
    try:
        mode = os.fstat(handle_fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(file.label, _kind(mode))
        yield handle
    finally:
        handle.close()


def readable_path(handle: BinaryIO, file: FeedFile) -> str:
    """A path through which another reader (DuckDB) opens the very file ``handle`` has open:
    ``/proc/self/fd/<n>`` on Linux; elsewhere the file's path, checked to be the same file."""
    if _PROC_FD.is_dir():
        return str(_PROC_FD / str(handle.fileno()))
    held = os.fstat(handle.fileno())
    now = os.stat(file.path, follow_symlinks=False)
    if (held.st_dev, held.st_ino) != (now.st_dev, now.st_ino):
        raise NotRegularFileError(file.label, "replaced while it was read")
    return str(file.path)


def content_hash(handle: BinaryIO) -> str:
    """SHA-256 of an open file's content; the handle is left at the start for reading."""
    digest = hashlib.sha256()
    handle.seek(0)
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        digest.update(chunk)
    handle.seek(0)
    return digest.hexdigest()


def unreadable_digest(file: FeedFile) -> str:
    """Stands in for the content hash of a file the mesh may not read: its name, size and mtime,
    so that it lands once (as one unparseable record) until it changes."""
    info = os.stat(file.path, follow_symlinks=False)
    key = f"{file.label}\0{info.st_size}\0{info.st_mtime_ns}".encode()
    return "unreadable:" + hashlib.sha256(key).hexdigest()


def file_digest(file: FeedFile) -> str:
    """The ledger key of a file: its content hash, or :func:`unreadable_digest` without read access."""
    try:
        with open_regular(file) as handle:
            return content_hash(handle)
    except PermissionError:
        return unreadable_digest(file)


def listed(items: list[str], limit: int = MAX_LISTED) -> list[str]:
    """At most ``limit`` items, the rest counted."""
    if len(items) <= limit:
        return items
    return [*items[:limit], f"... and {len(items) - limit} more"]
