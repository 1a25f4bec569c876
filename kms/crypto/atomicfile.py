"""A file that appears under its name only when complete, and never otherwise.

On Linux the bytes go to an unnamed file (``O_TMPFILE``) in the destination's directory:
until it is linked into place it has no name, so a process killed at any moment (SIGKILL
included) leaves nothing behind; the kernel frees it. Elsewhere, or on a file system
without ``O_TMPFILE``, a hidden 0600 temporary file beside the destination is used and
removed on any failure (an exception, KeyboardInterrupt, or a signal the caller turns into
one: the CLI does so for SIGTERM and SIGHUP).

Errors name the destination, never a temporary file. Pure: no Django.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import tempfile
from collections.abc import Callable
from typing import BinaryIO, TypeVar

T = TypeVar("T")

# EISDIR: kernels before 3.11; EOPNOTSUPP/EINVAL: file systems without O_TMPFILE support.
_NO_TMPFILE = {errno.EISDIR, errno.EOPNOTSUPP, errno.EINVAL, errno.ENOENT}


def write_atomically(dest_path: str | os.PathLike[str], write: Callable[[BinaryIO], T]) -> T:
    """Run ``write`` on a new 0600 file and give it the name ``dest_path`` only when ``write``
    returned and the bytes are synced (replacing any file there); return what ``write`` did.

    OSError carries ``dest_path`` as its filename; a missing directory is FileNotFoundError
    naming that directory.
    """
    dest = os.path.abspath(os.fspath(dest_path))
    directory = os.path.dirname(dest)
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"the directory {directory} does not exist", os.fspath(dest_path))
    try:
        fd = _unnamed(directory)
        if fd is not None:
            return _via_unnamed(fd, dest, write)
        return _via_temporary(dest, write)
    except OSError as exc:
        if exc.filename == os.fspath(dest_path):
            raise
        raise type(exc)(exc.errno, exc.strerror or str(exc), os.fspath(dest_path)) from None


def _unnamed(directory: str) -> int | None:
    """An unnamed 0600 file in ``directory``, or None where that cannot be named later."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        fd = os.open(directory, flag | os.O_WRONLY, 0o600)
    except OSError as exc:
        if exc.errno in _NO_TMPFILE:
            return None
        raise
    if _linkable(directory, fd):
        return fd
    os.close(fd)
    return None


_LINKABLE: dict[int, bool] = {}


def _linkable(directory: str, fd: int) -> bool:
    """Whether an unnamed file of this file system can be given a name (checked once per
    device, on an empty probe, before any byte is written to ``fd``)."""
    device = os.fstat(fd).st_dev
    if device not in _LINKABLE:
        probe = os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o600)
        name = os.path.join(directory, f".egide-probe.{secrets.token_hex(6)}")
        try:
            _link(probe, name)
        except OSError:
            _LINKABLE[device] = False
        else:
            os.unlink(name)
            _LINKABLE[device] = True
        finally:
            os.close(probe)
    return _LINKABLE[device]


def _link(fd: int, name: str) -> None:
    """Give the unnamed file ``fd`` the path ``name``: linkat(AT_SYMLINK_FOLLOW) of its /proc
    link (``dst_dir_fd`` makes os.link use linkat; plain link() would link the symlink)."""
    directory = os.open(os.path.dirname(name), os.O_RDONLY)
    try:
        os.link(f"/proc/self/fd/{fd}", os.path.basename(name), dst_dir_fd=directory, follow_symlinks=True)
    finally:
        os.close(directory)


def _via_unnamed(fd: int, dest: str, write: Callable[[BinaryIO], T]) -> T:
    with open(fd, "wb") as out:
        result = write(out)
        out.flush()
        os.fsync(out.fileno())
        # A name for the complete file, beside the destination, then renamed over it: link
        # cannot replace an existing file, rename can (and is atomic).
        name = os.path.join(os.path.dirname(dest), f".{os.path.basename(dest)[:64]}.{secrets.token_hex(6)}.part")
        _link(out.fileno(), name)
    _rename(name, dest)
    return result


def _via_temporary(dest: str, write: Callable[[BinaryIO], T]) -> T:
    directory, name = os.path.split(dest)
    fd, tmp = tempfile.mkstemp(prefix=f".{name[:64]}.", suffix=".part", dir=directory)
    try:
        with open(fd, "wb") as out:
            result = write(out)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _rename(tmp, dest)
    return result


def _rename(tmp: str, dest: str) -> None:
    try:
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _sync_directory(os.path.dirname(dest))


def _sync_directory(directory: str) -> None:
    """Make the rename durable where the platform allows it (best effort)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
