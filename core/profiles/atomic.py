"""Crash-safe file replacement: a temporary file in the same directory, fsync, rename.

At every step the target is either the old file or the new one, never a mix: the new bytes go
to a temporary file next to it, are flushed to the disk, get the old file's permissions, and
only then replace it in one ``rename`` (atomic on POSIX within a file system). A failure before
the rename leaves the old file and removes the temporary one; the directory is fsynced after
the rename so the new name survives a power cut.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

from core.errors import ConfigError

NEW_FILE_MODE = 0o644
"""Permissions of a file that did not exist (an existing file keeps its own)."""


def _reason(path: Path, exc: OSError) -> str:
    """A user-facing reason for a failed save, with what to do."""
    folder = path.parent
    if exc.errno == errno.ENOSPC:
        return "the disk is full; free some space and save again"
    if exc.errno == errno.EDQUOT:
        return "your disk quota is used up; free some space and save again"
    if exc.errno == errno.EROFS:
        return f"{folder} is on a read-only file system; save as a file elsewhere"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied writing in {folder}; make it writable or save elsewhere"
    if exc.errno == errno.ENOENT:
        return f"the folder {folder} does not exist"
    return f"cannot write ({exc.strerror or exc})"


def check_writable(path: Path) -> None:
    """Refuse early when ``path`` is a read-only file (rename would silently replace it).

    Raises:
        ConfigError: The file exists and its owner-write permission is off (or access says
            no), or it is not a regular file.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"{path}: cannot save: {_reason(path, exc)}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"{path}: is a directory, expected a TOML file")
    if not info.st_mode & stat.S_IWUSR or not os.access(path, os.W_OK):
        raise ConfigError(
            f"{path}: the file is read-only; nothing was saved — make it writable "
            "(chmod u+w) or save as another file"
        )


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file whole.

    The new file keeps the old one's permission bits (:data:`NEW_FILE_MODE` for a new file).

    Raises:
        ConfigError: Any step failed (full disk, read-only directory ...); the old file is
            untouched and the temporary file removed.
    """
    folder = path.parent
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    except OSError as exc:
        raise ConfigError(f"{path}: not saved: {_reason(path, exc)}") from None
    temporary = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = -1
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
        os.fchmod(fd, mode)
        closing, fd = fd, -1  # never close twice, even when close itself fails
        os.close(closing)
        os.replace(temporary, path)
    except BaseException as exc:
        # OSError, or an interruption (Ctrl-C): the target is untouched (or already whole).
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise ConfigError(
                f"{path}: not saved, the file is unchanged: {_reason(path, exc)}"
            ) from None
        raise
    _sync_directory(folder)


def _sync_directory(folder: Path) -> None:
    """fsync the directory so the rename itself is durable (best effort: not every FS can)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
