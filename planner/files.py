"""Writing an output file whole or not at all, and checking beforehand that it can be written.

Every command's workbooks go through :func:`write_atomic` (planner.excel.save_atomic for
workbooks). Kept apart from planner.excel, which imports openpyxl, so that ``planner solve``
checks its output path without it: openpyxl is then first imported while HiGHS solves.
"""

from __future__ import annotations

import errno
import os
import secrets
import tempfile
from pathlib import Path

from .errors import OutputError


def check_output(path: str | os.PathLike, *, create_folder: bool = False) -> Path:
    """Raise :class:`OutputError` (one sentence) if ``path`` cannot be written; call it before long work.

    The folder must exist (``create_folder`` makes it, for default output folders) and be
    writable; the path must not be a folder, a device or a pipe (a symlink counts as what
    it points to), nor a read-only file.
    """
    path = Path(path)
    folder = path.parent
    if create_folder:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(path, f"its folder cannot be created ({_reason(e)})") from None
    if not folder.exists():
        raise OutputError(path, f"the folder {folder} does not exist; create it or choose another path")
    if not folder.is_dir():
        raise OutputError(path, f"{folder} is not a folder")
    if path.is_dir():
        raise OutputError(path, "it is a folder; give a file name (e.g. plan.xlsx)")
    if path.exists() and not path.is_file():
        raise OutputError(path, "it is not a regular file (a device or a pipe); choose another path")
    try:  # the only sure test: create a file there (a read-only disk, /sys, a share that refuses)
        fd = _unnamed_file(folder)
        if fd is None:
            fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
            os.unlink(probe)
        os.close(fd)
    except OSError as e:
        raise OutputError(path, f"the folder {folder} is not writable ({(e.strerror or str(e)).lower()})") from None
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(path, "the file is read-only")
    return path


def write_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` whole or not at all; raise :class:`OutputError` if it cannot be.

    The bytes go to an unnamed file in the target's folder (Linux ``O_TMPFILE``: if the
    process is killed, even with SIGKILL, the kernel drops it and nothing is left), are
    flushed to disk, given a temporary name and moved over the target in one step. A
    reader never sees a partial file; a failure (full disk, permission, interruption)
    leaves any previous file untouched. Where ``O_TMPFILE`` is not available, a named
    temporary file (``.<name>.*.tmp``) is used and removed on any error. A symlink is
    written through: the file it points to is replaced.
    """
    path = Path(path)
    target = Path(os.path.realpath(path))
    check_output(target)
    try:
        _write_replace(target, data)
    except OSError as e:
        raise _unwritten(path, e) from None
    return path


def _unwritten(path: Path, e: OSError, when: str = "") -> OutputError:
    kept = "; the previous file is unchanged" if Path(path).exists() else ""
    return OutputError(path, f"{_reason(e)}{when}. Nothing was written{kept}")


def _write_replace(target: Path, data: bytes) -> None:
    folder = target.parent
    fd = _unnamed_file(folder)
    if fd is not None:
        try:
            _write_all(fd, data)
            name = folder / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
            if _link_unnamed(fd, name):
                try:
                    os.replace(name, target)
                except BaseException:
                    name.unlink(missing_ok=True)
                    raise
                _sync_folder(folder)
                return
        finally:
            os.close(fd)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_folder(folder)


def _unnamed_file(folder: Path) -> int | None:
    """A writable file with no name in ``folder`` (O_TMPFILE), or None where unsupported."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None:
        return None
    try:
        return os.open(folder, flag | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as e:
        if e.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOTSUP):
            return None  # this file system or kernel has no unnamed files
        raise


def _link_unnamed(fd: int, name: Path) -> bool:
    """Give the unnamed file ``fd`` the name ``name``; False if /proc is unavailable."""
    folder = os.open(name.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        # linkat(AT_SYMLINK_FOLLOW) on /proc/self/fd/N; passing dir fds makes Python use linkat
        os.link(f"/proc/self/fd/{fd}", name.name, src_dir_fd=folder, dst_dir_fd=folder, follow_symlinks=True)
        return True
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            return False
        raise
    finally:
        os.close(folder)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.fsync(fd)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every system can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_REASONS = {
    errno.ENOSPC: "the disk is full",
    getattr(errno, "EDQUOT", -1): "the disk quota is exceeded",
    errno.EFBIG: "the file would be larger than this system allows",
    errno.EACCES: "permission denied (a file open in Excel is locked: close it and try again)",
    errno.EPERM: "permission denied (a file open in Excel is locked: close it and try again)",
    errno.EROFS: "the file system is read-only",
    errno.ENOENT: "its folder does not exist",
    errno.EIO: "the disk reported an input/output error",
}


def _reason(e: OSError) -> str:
    return _REASONS.get(e.errno, e.strerror or str(e))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
