"""Extract an uploaded .zip dataset safely: no path escapes, no links, bounded size, count,
depth and memory.

The entry count and size of the central directory are read from the end records and bounded
before ``zipfile`` reads the directory (it makes an object per entry). Every member is checked
before anything is written: absolute names (``/x``, ``C:x``, ``\\\\x``), ``..`` parts, symbolic
links and other special files, encrypted members, duplicate names, a file and a folder of one
name, names too long or too deep to write, compression methods Python cannot read and NUL bytes
are refused; the member count and the declared total size are bounded. Members are decompressed
here a chunk at a time, whatever the method, and one that outgrows its declared size is stopped
there (a header can lie). The files go into a temporary sibling folder that is renamed into
place only when all went well, so a refused archive leaves nothing behind.
"""

import bz2
import contextlib
import copy
import functools
import io
import itertools
import lzma
import os
import re
import shutil
import stat
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

MAX_MEMBERS = 20_000
MAX_EXTRACTED_BYTES = 1024**3  # 1 GiB uncompressed
MAX_DIRECTORY_BYTES = 32 * 1024**2  # the central directory, which zipfile reads at once
MAX_LZMA_DICTIONARY_BYTES = 64 * 1024**2  # the decoder allocates it (zipfile writes 8 MiB)
CHUNK_BYTES = 1024 * 1024
IGNORED_PARTS = ("__MACOSX", ".DS_Store")  # macOS' resource forks: not data
SUPPORTED_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
MAX_NAME_BYTES = 255  # per file or folder name, as most file systems allow
MAX_PATH_BYTES = 1024  # a member's whole name, well under PATH_MAX (4096) with the folder above
MAX_DEPTH = 32  # parts of a member's path: folders and the file
EOCD = struct.Struct("<4s4H2LH")  # the end of central directory record, then a comment
ZIP64_LOCATOR = struct.Struct("<4sLQL")  # just before the EOCD in a zip64 archive
ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")  # just before the locator (where zipfile reads it)
CENTRAL_HEADER_BYTES = 46  # then the name, extra field and comment; their lengths at 28
_DRIVE = re.compile(r"^[A-Za-z]:")
# What zipfile and the decompressors raise for a damaged archive (ValueError: e.g. a name
# that is not UTF-8; OverflowError: an offset beyond any file).
INVALID_ZIP_ERRORS = (zipfile.BadZipFile, EOFError, NotImplementedError, ValueError, OverflowError)


class UnsafeZipError(ValueError):
    """The archive is not a zip file, or one of its members is refused (named in the message)."""


def _shown(name):
    """``name`` quoted, and shortened when long: a message stays one readable line."""
    return repr(name if len(name) <= 80 else name[:60] + "…")


def _amount(size):
    return f"{size:,} bytes" if size < 2**20 else f"{size / 2**20:,.0f} MB"


def _member_parts(info):
    """The member's path as safe parts; ``UnsafeZipError`` for any way out of the folder."""
    name, shown = info.filename, _shown(info.filename)
    if "\x00" in name:
        raise UnsafeZipError(f"{shown}: a NUL byte in a member name")
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or _DRIVE.match(normalized):
        raise UnsafeZipError(f"{shown}: an absolute path")
    parts = [part for part in normalized.split("/") if part not in ("", ".")]
    if len(parts) > MAX_DEPTH:
        raise UnsafeZipError(f"{shown}: {len(parts):,} levels deep; the limit is {MAX_DEPTH}")
    if len(name.encode()) > MAX_PATH_BYTES:
        size = len(name.encode())
        raise UnsafeZipError(f"{shown}: a name of {size:,} bytes; the limit is {MAX_PATH_BYTES:,}")
    if ".." in parts:
        raise UnsafeZipError(f"{shown}: a '..' part would leave the dataset folder")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise UnsafeZipError(f"{shown}: a symbolic link")
    if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise UnsafeZipError(f"{shown}: a special file (device, pipe or socket)")
    if info.flag_bits & 0x1:
        raise UnsafeZipError(f"{shown}: encrypted members are not supported")
    return parts


def check_members(archive, *, max_bytes=MAX_EXTRACTED_BYTES, max_members=MAX_MEMBERS):
    """``[(info, parts)]`` of the members to extract, after every check that needs no writing."""
    infos = archive.infolist()
    if len(infos) > max_members:
        raise UnsafeZipError(f"{len(infos):,} members; the limit is {max_members:,}")
    declared = sum(info.file_size for info in infos)
    if declared > max_bytes:
        raise UnsafeZipError(
            f"{_amount(declared)} once extracted; the limit is {_amount(max_bytes)}"
        )
    members, files, folders = [], set(), set()
    for info in infos:
        parts = _member_parts(info)
        if not parts or any(part in IGNORED_PARTS for part in parts):
            continue
        if info.compress_type not in SUPPORTED_METHODS:
            raise UnsafeZipError(
                f"{_shown(info.filename)}: compression method {info.compress_type} "
                "is not supported (use Deflate, the default of zip tools)"
            )
        if any(len(part.encode()) > MAX_NAME_BYTES for part in parts):
            raise UnsafeZipError(
                f"{_shown(info.filename)}: a name longer than {MAX_NAME_BYTES} bytes"
            )
        key = "/".join(parts)
        parents = {"/".join(parts[:end]) for end in range(1, len(parts))}
        if info.is_dir():
            parents.add(key)
        elif key in files or key in folders:
            raise UnsafeZipError(f"{_shown(info.filename)}: appears twice in the archive")
        else:
            files.add(key)
        if parents & files:
            raise UnsafeZipError(f"{_shown(info.filename)}: a file and a folder share a name")
        folders |= parents
        members.append((info, parts))
    if not any(not info.is_dir() for info, _ in members):
        raise UnsafeZipError("the archive holds no files")
    return members


def _zip64_end(file, offset):
    """``(entries, directory bytes)`` from the zip64 end record, or None without one; sought as
    ``zipfile`` seeks it, from the EOCD ``offset`` bytes before the end of ``file``."""
    try:
        file.seek(offset - ZIP64_LOCATOR.size, io.SEEK_END)
    except OSError:
        return None
    locator = file.read(ZIP64_LOCATOR.size)
    if len(locator) != ZIP64_LOCATOR.size or locator[:4] != b"PK\x06\x07":
        return None
    file.seek(offset - ZIP64_LOCATOR.size - ZIP64_EOCD.size, io.SEEK_END)
    record = file.read(ZIP64_EOCD.size)
    if len(record) != ZIP64_EOCD.size or record[:4] != b"PK\x06\x06":
        return None
    return ZIP64_EOCD.unpack(record)[7:9]


def _end_records(file):
    """``(entries, directory bytes, directory start)`` from the end records, found where
    ``zipfile`` finds them (a record at the very end, else the last signature in the last
    64 KiB), so that both see the same directory."""
    file_size = file.seek(0, io.SEEK_END)
    tail_start = max(file_size - (1 << 16) - EOCD.size, 0)
    file.seek(tail_start)
    tail = file.read()
    at = len(tail) - EOCD.size
    if at < 0 or tail[at : at + 4] != b"PK\x05\x06" or tail[-2:] != b"\0\0":
        at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + EOCD.size > len(tail):
        raise zipfile.BadZipFile("File is not a zip file")
    entries, size = EOCD.unpack_from(tail, at)[4:6]
    location = tail_start + at
    zip64 = _zip64_end(file, location - file_size)
    if zip64 is None:
        return entries, size, location - size
    entries, size = zip64
    return entries, size, location - size - ZIP64_EOCD.size - ZIP64_LOCATOR.size


def _count_entries(file, start, size, limit):
    """The entries in the directory, counted to ``limit + 1`` at most: the end record's count
    can be lower than the directory's, which ``zipfile`` reads to its size."""
    count = offset = 0
    while offset < size and count <= limit:
        file.seek(start + offset)
        header = file.read(CENTRAL_HEADER_BYTES)
        if len(header) != CENTRAL_HEADER_BYTES or header[:4] != b"PK\x01\x02":
            raise zipfile.BadZipFile("Bad magic number for central directory")
        offset += CENTRAL_HEADER_BYTES + sum(struct.unpack_from("<3H", header, 28))
        count += 1
    return count


def _check_directory(file, max_members):
    """Refuse a central directory too large, before ``zipfile`` reads it: it makes an object
    per entry before any count can be checked (27 s and 1 GB for 1.5 M entries)."""
    try:
        entries, size, start = _end_records(file)
    except OSError as error:
        raise zipfile.BadZipFile(f"File is not a zip file ({error})") from None
    if entries > max_members:
        raise UnsafeZipError(f"{entries:,} members; the limit is {max_members:,}")
    if size > MAX_DIRECTORY_BYTES:
        limit = _amount(MAX_DIRECTORY_BYTES)
        raise UnsafeZipError(f"a central directory of {_amount(size)}; the limit is {limit}")
    if start < 0:
        raise zipfile.BadZipFile("Bad offset for central directory")
    if _count_entries(file, start, size, max_members) > max_members:
        raise UnsafeZipError(f"more than {max_members:,} members; the limit is {max_members:,}")


class _Stored:
    """No compression, behind the interface of ``bz2.BZ2Decompressor``."""

    eof = False

    def decompress(self, data, max_length):
        return data  # read CHUNK_BYTES at a time already


class _Inflater:
    """Raw Deflate behind the interface of ``bz2.BZ2Decompressor``: zlib hands back the input
    it has not used yet (``unconsumed_tail``) where bz2 and lzma keep it."""

    def __init__(self):
        self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)

    @property
    def eof(self):
        return self._zlib.eof

    def decompress(self, data, max_length):
        return self._zlib.decompress(self._zlib.unconsumed_tail + data, max_length)


def _lzma_decompressor(source, shown):
    """Zip's LZMA: a version (2 bytes), the size of the properties (2 bytes: 5), the LZMA1
    properties (lc, lp and pb in one byte, the dictionary size in 4), then a raw stream."""
    header = source.read(9)
    if len(header) != 9 or header[2:4] != b"\x05\x00" or header[4] >= 9 * 5 * 5:
        raise zipfile.BadZipFile(f"{shown}: a damaged LZMA header")
    dictionary = int.from_bytes(header[5:9], "little")
    if dictionary > MAX_LZMA_DICTIONARY_BYTES:  # the decoder would allocate it all
        limit = _amount(MAX_LZMA_DICTIONARY_BYTES)
        raise UnsafeZipError(
            f"{shown}: an LZMA dictionary of {_amount(dictionary)}; the limit is {limit}"
        )
    lc, lp, pb = header[4] % 9, header[4] // 9 % 5, header[4] // 45
    options = {"id": lzma.FILTER_LZMA1, "lc": lc, "lp": lp, "pb": pb, "dict_size": dictionary}
    return lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[options])


def _decompressor(info, source):
    if info.compress_type == zipfile.ZIP_DEFLATED:
        return _Inflater()
    if info.compress_type == zipfile.ZIP_BZIP2:
        return bz2.BZ2Decompressor()
    if info.compress_type == zipfile.ZIP_LZMA:
        return _lzma_decompressor(source, _shown(info.filename))
    return _Stored()


def _expanded(decompressor, source):
    """The decompressed bytes, in pieces of at most CHUNK_BYTES however far the data expands."""
    chunks = iter(functools.partial(source.read, CHUNK_BYTES), b"")
    try:
        for chunk in itertools.chain(chunks, [b""]):  # the empty chunk drains what is held
            while not decompressor.eof and (piece := decompressor.decompress(chunk, CHUNK_BYTES)):
                chunk = b""
                yield piece
            if decompressor.eof:
                return
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as error:  # bz2: OSError
        raise zipfile.BadZipFile(f"damaged compressed data ({error})") from None


def _as_stored(info):
    """``info`` as a stored member of its compressed size: ``ZipFile.open`` then checks the
    local header and hands over the compressed bytes, unchecked (the CRC, of the decompressed
    bytes, is checked in ``_copy``)."""
    raw = copy.copy(info)
    raw.compress_type, raw.file_size = zipfile.ZIP_STORED, info.compress_size
    del raw.CRC
    return raw


def _copy(archive, info, destination):
    """Write one member, stopped as soon as it outgrows its declared size.

    ``ZipFile.open`` would expand a whole bzip2 or LZMA read at once (3 GiB from a 2.7 KB
    zip), so it only reads the compressed bytes, decompressed here a chunk at a time.
    """
    shown, written, crc = _shown(info.filename), 0, 0
    with archive.open(_as_stored(info)) as source, open(destination, "xb") as target:
        for piece in _expanded(_decompressor(info, source), source):
            written += len(piece)
            if written > info.file_size:
                declared = f"{info.file_size:,} bytes its header declares"
                raise UnsafeZipError(f"{shown}: more data than the {declared}")
            crc = zlib.crc32(piece, crc)
            target.write(piece)
    if written != info.file_size:
        raise zipfile.BadZipFile(f"{shown}: {written:,} bytes of {info.file_size:,} declared")
    if crc != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for {shown}")


def _folder(root, parts, made):
    """``root/parts``, created a level at a time (``Path.mkdir(parents=True)`` recurses once per
    missing level); ``made`` holds the folders made already."""
    folder = root
    for part in parts:
        folder = folder / part
        if folder not in made:
            folder.mkdir(exist_ok=True)
            made.add(folder)
    return folder


def _extract_members(archive, members, folder):
    # Each member stops at its declared size and check_members bounded their sum, so the
    # archive stays within its limit however its headers lie.
    root, made = folder.resolve(), set()
    for info, parts in members:
        destination = root.joinpath(*parts)
        if not destination.resolve().is_relative_to(root):  # belt and braces
            raise UnsafeZipError(f"{_shown(info.filename)}: escapes the dataset folder")
        if info.is_dir():
            _folder(root, parts, made)
        else:
            _copy(archive, info, _folder(root, parts[:-1], made) / parts[-1])


def _binary_file(source):
    """``source`` (bytes, a path or a binary file object) as a binary file, for ``with``."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(source)
    if isinstance(source, (str, os.PathLike)):
        return open(source, "rb")
    return contextlib.nullcontext(source)


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
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        with _binary_file(source) as file:
            _check_directory(file, max_members)
            with zipfile.ZipFile(file) as archive:
                members = check_members(archive, max_bytes=max_bytes, max_members=max_members)
                _extract_members(archive, members, folder)
        os.replace(folder, target)
    except UnsafeZipError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    except (*INVALID_ZIP_ERRORS, lzma.LZMAError) as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise UnsafeZipError(f"not a valid zip file ({error})") from None
    except OSError as error:  # e.g. a name the file system refuses
        shutil.rmtree(folder, ignore_errors=True)
        raise UnsafeZipError(f"could not be extracted ({error.strerror or error})") from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return data_root(target)
