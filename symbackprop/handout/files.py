"""Writing output files, in one place: whole files, all the files of a run or none, and only where
the user pointed.

Every file is first written to a temporary beside its target, then renamed over the target. The
temporary is unnamed (``O_TMPFILE``) until it is complete, so a run killed at any moment leaves no
partial file behind; where the file system cannot do that, it is made by ``tempfile.mkstemp`` (a
unique name opened with ``O_EXCL``, so a symlink planted in the output directory is never followed). A ``Batch`` writes every file of a run before it renames
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
        self.pending: dict[Path, Union[str, int]] = {}  # target -> its temporary (a name, or an unnamed file's descriptor)
        self.made: list[Path] = []  # the subdirectories this run created, removed again when it writes nothing

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
        if Path(name).parent != Path("."):  # a file in a subdirectory (katex/fonts/...), made here
            self.made += _make_directories(self.directory, Path(name).parent)
        if path in self.pending:
            raise ValueError(f"{str(path)!r} is written twice in one run")
        replaced = check_target(path)  # refuse at once, before writing anything
        handle, temporary = _temporary(path)
        self.pending[path] = handle if temporary is None else temporary
        stream = os.fdopen(handle, "wb", closefd=temporary is not None)  # on an error, discard removes it
        with stream:
            if replaced is None:
                os.fchmod(handle, 0o666 & ~_umask())  # temporaries are made 0600; give the usual permissions
            else:
                _keep_owner_and_mode(handle, replaced)
            stream.write(data.encode("utf-8") if isinstance(data, str) else data)
        return path  # an unnamed temporary gets its name when the run commits

    def commit(self) -> list[Path]:
        """Rename every temporary over its target and return the targets; on any error remove the
        temporaries left."""
        renamed = []
        try:
            for path in self.pending:
                check_target(path)  # a link or a device may have been planted while we wrote
            while self.pending:
                path, temporary = next(iter(self.pending.items()))
                if isinstance(temporary, int):  # name the complete unnamed file only now
                    named = _name_unnamed(temporary, path)
                    os.close(temporary)
                    self.pending[path] = temporary = named
                os.replace(temporary, path)
                del self.pending[path]
                renamed.append(path)
        except BaseException:
            self.discard()
            raise
        return renamed

    def discard(self) -> None:
        """Remove every temporary not yet renamed (an unnamed one is closed, and vanishes) and
        every subdirectory the run made that is still empty; the targets stay as they were."""
        for temporary in self.pending.values():
            try:
                if isinstance(temporary, int):
                    os.close(temporary)
                else:
                    os.unlink(temporary)
            except (FileNotFoundError, OSError):
                pass
        self.pending.clear()
        for directory in reversed(self.made):  # the deepest first (katex/fonts, then katex)
            try:
                os.rmdir(directory)
            except OSError:  # not empty: a file of this run was renamed into it, or another's is there
                pass
        self.made.clear()


def _temporary(path: Path) -> tuple[int, Optional[str]]:
    """A file to write ``path``'s new contents into: unnamed (``O_TMPFILE``, Linux) where the file
    system allows, so that a run killed while it writes leaves nothing behind; else a unique name
    from ``tempfile.mkstemp`` (``O_EXCL``: a planted symlink is never followed). Returns the open
    descriptor and the name (None while unnamed)."""
    if hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd"):
        try:
            return os.open(path.parent, os.O_TMPFILE | os.O_WRONLY, 0o600), None
        except OSError:  # the file system cannot (EOPNOTSUPP, EISDIR on old kernels): a named temporary
            pass
    return tempfile.mkstemp(prefix=_temporary_prefix(path.name), suffix=".tmp", dir=path.parent)


def _name_unnamed(handle: int, path: Path) -> str:
    """Give the complete unnamed file ``handle`` a unique name beside ``path`` (linking never
    follows or replaces what is at the new name: an existing name is an error, and another is tried)."""
    descriptors = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(100):
            name = os.path.join(path.parent, f"{_temporary_prefix(path.name)}{os.urandom(6).hex()}.tmp")
            try:  # linkat(AT_SYMLINK_FOLLOW) of /proc/self/fd/N: the open file itself gets the name
                os.link(str(handle), name, src_dir_fd=descriptors, follow_symlinks=True)
                return name
            except FileExistsError:
                continue
    finally:
        os.close(descriptors)
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path.parent))


def _make_directories(directory: Path, relative: Path) -> list[Path]:
    """Create ``directory``/``relative`` step by step, refusing a step that is a symlink or not a
    directory (``NotRegularFile``), so that no file of a run is written outside ``directory``;
    returns the directories it created, the outermost first."""
    if relative.is_absolute() or ".." in relative.parts:
        raise ValueError(f"{str(relative)!r} is not a name inside the output directory")
    current, made = directory, []
    for part in relative.parts:
        current = current / part
        try:
            status = os.lstat(current)
        except FileNotFoundError:
            os.mkdir(current)
            made.append(current)
            continue
        if not stat.S_ISDIR(status.st_mode):
            raise NotRegularFile(current, file_kind(status.st_mode))
    return made


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
