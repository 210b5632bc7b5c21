"""Writing output files, in one place: whole files, all the files of a run or none, and only where
the user pointed.

Every file is first written to a temporary beside its target, created by ``tempfile.mkstemp``
(a unique name opened with ``O_EXCL``, so a symlink planted in the output directory is never
followed), then renamed over the target. A ``Batch`` writes every file of a run before it renames
the first, so a full disk leaves the previous files as they were and no temporary behind; a
derivation.md never links SVGs that were not written. Only a regular file is ever replaced: a
symlink, a device, a FIFO or a directory at the target's path is refused (``NotRegularFile``), and
a replaced file keeps its permission bits.

Used as::

    with Batch(directory) as batch:  # nothing is in place until the block ends without an error
        batch.add("network.svg", to_svg(diagram))
        batch.add("derivation.md", markdown)
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import Optional, Union

# The part of a target's name kept in its temporary's name (".derivation.md.k2j4x9.tmp"): short
# enough that a name near the file system's limit of 255 bytes still leaves room for the rest.
TEMPORARY_NAME_BYTES = 64

_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


class NotRegularFile(OSError):
    """The target path holds something other than a regular file, which symbackprop never replaces.

    An ``OSError``, so every command already reports it as one line; its ``strerror`` names the path.

    >>> print(NotRegularFile("/dev/null", "a character device"))
    '/dev/null' is a character device, not a regular file: refusing to replace it
    """

    def __init__(self, path: Union[str, Path], kind: str):
        message = f"{str(path)!r} is {kind}, not a regular file: refusing to replace it"
        super().__init__(errno.EISDIR if kind == "a directory" else errno.EEXIST, message)
        self.filename = str(path)

    def __str__(self) -> str:
        return self.strerror


def check_target(path: Union[str, Path]) -> Optional[os.stat_result]:
    """Raise ``NotRegularFile`` unless ``path`` is missing or a regular file (a symlink is not
    followed); return the regular file's status, or None when there is none.

    >>> check_target("/nonexistent/derivation.md") is None
    True
    >>> check_target("/dev/null")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symbackprop.handout.files.NotRegularFile: '/dev/null' is a character device, not a regular file: refusing ...
    """
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISREG(status.st_mode):
        return status
    raise NotRegularFile(path, file_kind(status.st_mode))


def file_kind(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` is, in words.

    >>> file_kind(os.stat("/dev/null").st_mode)
    'a character device'
    """
    other = "a regular file" if stat.S_ISREG(mode) else "a special file"
    return next((kind for test, kind in _KINDS if test(mode)), other)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temporary_prefix(name: str) -> str:
    short = name.encode("utf-8", "surrogateescape")[:TEMPORARY_NAME_BYTES].decode("utf-8", "ignore")
    return f".{short}."


class Batch:
    """The files of one run, all or none: ``add`` writes each to its own temporary beside its
    target; leaving the ``with`` block renames them all into place, in the order added. An error
    on the way (a full disk, a target that is not a regular file) removes every temporary and
    leaves the previous files untouched.

    Every target is checked again just before the renames begin, so a rename fails only for
    reasons outside the run (the directory removed under it).
    """

    def __init__(self, directory: Union[str, Path]):
        self.directory = Path(directory)
        self.pending: dict[Path, str] = {}  # target -> its temporary, in the order added

    def __enter__(self) -> "Batch":
        return self

    def __exit__(self, kind, error, trace) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()

    def add(self, name: Union[str, Path], data: Union[str, bytes]) -> Path:
        """Write ``data`` (text as UTF-8, its line ends untranslated) to a temporary for the file
        ``name`` in the directory; returns the target's path. Refuses at once (``NotRegularFile``)
        when the target exists and is not a regular file."""
        path = self.directory / name
        if path in self.pending:
            raise ValueError(f"{str(path)!r} is written twice in one run")
        replaced = check_target(path)  # refuse at once, before writing anything
        handle, temporary = tempfile.mkstemp(prefix=_temporary_prefix(path.name), suffix=".tmp", dir=path.parent)
        self.pending[path] = temporary
        with os.fdopen(handle, "wb") as stream:  # on an error, the temporary is removed by discard
            if replaced is None:
                os.fchmod(stream.fileno(), 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
            else:
                _keep_owner_and_mode(stream.fileno(), replaced)
            stream.write(data.encode("utf-8") if isinstance(data, str) else data)
        return path

    def commit(self) -> list[Path]:
        """Rename every temporary over its target and return the targets; on any error remove the
        temporaries left."""
        renamed = []
        try:
            for path in self.pending:
                check_target(path)  # a link or a device may have been planted while we wrote
            while self.pending:
                path, temporary = next(iter(self.pending.items()))
                os.replace(temporary, path)
                del self.pending[path]
                renamed.append(path)
        except BaseException:
            self.discard()
            raise
        return renamed

    def discard(self) -> None:
        """Remove every temporary not yet renamed; the targets stay as they were."""
        for temporary in self.pending.values():
            try:
                os.unlink(temporary)
            except FileNotFoundError:
                pass
        self.pending.clear()


def _keep_owner_and_mode(handle: int, replaced: os.stat_result) -> None:
    """Give the new file the replaced file's owner and group (where we may) and its permissions."""
    if (replaced.st_uid, replaced.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.fchown(handle, replaced.st_uid, replaced.st_gid)
        except PermissionError:  # not root: the file becomes ours, as with any editor's save
            pass
    # read, write and execute as they were; set-user-ID and set-group-ID are not carried over to
    # new contents (fchown would clear them anyway)
    os.fchmod(handle, stat.S_IMODE(replaced.st_mode) & 0o777)


def write_atomic(path: Union[str, Path], data: Union[str, bytes]) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: never half a file, never
    through a symlink, never over anything but a regular file (``NotRegularFile``)."""
    path = Path(path)
    with Batch(path.parent) as batch:
        batch.add(path.name, data)


__all__ = ["Batch", "NotRegularFile", "check_target", "file_kind", "write_atomic", "TEMPORARY_NAME_BYTES"]
