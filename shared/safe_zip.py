"""Extract an uploaded .zip dataset safely: no path escapes, no links, bounded size and count.

Every member is checked before anything is written: absolute names (``/x``, ``C:x``, ``\\\\x``),
``..`` parts, symbolic links and other special files, encrypted members, duplicate names, a
file and a folder of one name, names too long to write, compression methods Python cannot
read and NUL bytes are refused; the member count and the declared total size are bounded, and the
bytes actually written are counted again while extracting (a header can lie). The files go
into a temporary sibling folder that is renamed into place only when all went well, so a
refused archive leaves nothing behind.
"""

import io
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path

MAX_MEMBERS = 20_000
MAX_EXTRACTED_BYTES = 1024**3  # 1 GiB uncompressed
CHUNK_BYTES = 1024 * 1024
IGNORED_PARTS = ("__MACOSX", ".DS_Store")  # macOS' resource forks: not data
SUPPORTED_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
MAX_NAME_BYTES = 255  # per file or folder name, as most file systems allow
_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafeZipError(ValueError):
    """The archive is not a zip file, or one of its members is refused (named in the message)."""


def _member_parts(info):
    """The member's path as safe parts; ``UnsafeZipError`` for any way out of the folder."""
    name = info.filename
    if "\x00" in name:
        raise UnsafeZipError(f"{name!r}: a NUL byte in a member name")
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or _DRIVE.match(normalized):
        raise UnsafeZipError(f"{name!r}: an absolute path")
    parts = [part for part in normalized.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeZipError(f"{name!r}: a '..' part would leave the dataset folder")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise UnsafeZipError(f"{name!r}: a symbolic link")
    if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise UnsafeZipError(f"{name!r}: a special file (device, pipe or socket)")
    if info.flag_bits & 0x1:
        raise UnsafeZipError(f"{name!r}: encrypted members are not supported")
    return parts


def check_members(archive, *, max_bytes=MAX_EXTRACTED_BYTES, max_members=MAX_MEMBERS):
    """``[(info, parts)]`` of the members to extract, after every check that needs no writing."""
    infos = archive.infolist()
    if len(infos) > max_members:
        raise UnsafeZipError(f"{len(infos):,} members; the limit is {max_members:,}")
    declared = sum(info.file_size for info in infos)
    if declared > max_bytes:
        raise UnsafeZipError(
            f"{declared / 2**20:,.0f} MB once extracted; the limit is {max_bytes / 2**20:,.0f} MB"
        )
    members, files, folders = [], set(), set()
    for info in infos:
        parts = _member_parts(info)
        if not parts or any(part in IGNORED_PARTS for part in parts):
            continue
        if info.compress_type not in SUPPORTED_METHODS:
            raise UnsafeZipError(
                f"{info.filename!r}: compression method {info.compress_type} "
                "is not supported (use Deflate, the default of zip tools)"
            )
        if any(len(part.encode()) > MAX_NAME_BYTES for part in parts):
            raise UnsafeZipError(f"{info.filename!r}: a name longer than {MAX_NAME_BYTES} bytes")
        key = "/".join(parts)
        parents = {"/".join(parts[:end]) for end in range(1, len(parts))}
        if info.is_dir():
            parents.add(key)
        elif key in files or key in folders:
            raise UnsafeZipError(f"{info.filename!r}: appears twice in the archive")
        else:
            files.add(key)
        if parents & files:
            raise UnsafeZipError(f"{info.filename!r}: a file and a folder share a name")
        folders |= parents
        members.append((info, parts))
    if not any(not info.is_dir() for info, _ in members):
        raise UnsafeZipError("the archive holds no files")
    return members


def _copy(archive, info, destination, budget):
    """Copy one member, at most ``budget`` bytes; returns the bytes written."""
    written = 0
    with archive.open(info) as source, open(destination, "xb") as target:
        while chunk := source.read(CHUNK_BYTES):
            written += len(chunk)
            if written > budget:
                raise UnsafeZipError(f"{info.filename!r}: more data than the size limit allows")
            target.write(chunk)
    return written


def _extract_members(archive, members, folder, max_bytes):
    root = folder.resolve()
    remaining = max_bytes
    for info, parts in members:
        destination = root.joinpath(*parts)
        if not destination.resolve().is_relative_to(root):  # belt and braces
            raise UnsafeZipError(f"{info.filename!r}: escapes the dataset folder")
        if info.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        remaining -= _copy(archive, info, destination, remaining)


def data_root(folder):
    """``folder``, or its only sub-folder when the archive wrapped everything in one."""
    folder = Path(folder)
    children = [child for child in folder.iterdir() if child.name not in IGNORED_PARTS]
    if len(children) == 1 and children[0].is_dir():
        return children[0]
    return folder


def extract_zip(source, target, *, max_bytes=MAX_EXTRACTED_BYTES, max_members=MAX_MEMBERS):
    """Extract the zip ``source`` (bytes, a path or a binary file object) into ``target``.

    Args:
        source: the archive.
        target: a folder that must not exist yet; it exists only after a full success.
        max_bytes: limit on the uncompressed size of all members together.
        max_members: limit on the number of members.

    Returns:
        The dataset folder: ``target``, or its single top-level sub-folder.

    Raises:
        UnsafeZipError: not a zip file, a refused member, or a limit exceeded (nothing is
            left behind).
    """
    target = Path(target)
    if target.exists():
        raise ValueError(f"{target} already exists; extract into a new folder")
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(source))
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        with zipfile.ZipFile(source) as archive:
            members = check_members(archive, max_bytes=max_bytes, max_members=max_members)
            _extract_members(archive, members, folder, max_bytes)
        os.replace(folder, target)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise UnsafeZipError(f"not a valid zip file ({error})") from None
    except OSError as error:  # e.g. a name the file system refuses
        shutil.rmtree(folder, ignore_errors=True)
        raise UnsafeZipError(f"could not be extracted ({error.strerror or error})") from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return data_root(target)
