"""Rows of one shape (decoded images, extracted features) kept on disk and read as indexed.

A dataset decoded into memory grows the process with it: 50,000 images at 96×96 are 1.4 GB.
``RowFile`` writes the rows once into an unnamed temporary file and reads back only the rows
a batch asks for, with positioned reads. The operating system's page cache keeps the hot
part of the file, and that cache is not the process' memory: a ``np.memmap`` would count every
page it has touched in the process' resident set, so an epoch over it would grow to the whole
file. The file disappears when the last ``RowFile`` reading it is gone.

Indexing follows numpy for reads (``rows[i]``, ``rows[3:9]``, ``rows[index_array]``,
``rows[:, 0]`` give arrays); ``take(indices)`` is the lazy subset (a view reading the same
file), so a split of a large dataset costs nothing until its batches are read.

A ``RowWriter`` given a ``path`` keeps its rows in that file instead (a cache a resumed
process reopens with ``RowFile.open``): the rows are written to ``PATH.partial``, renamed,
and described in ``PATH.json`` last, so a file without its description is incomplete.
"""

import json
import os
import tempfile
from pathlib import Path

import numpy as np


class RowFile:
    """Rows of ``row_shape`` and ``dtype`` in a file; see the module's docstring.

    Build one with ``RowFile.write(rows)`` (any iterable of arrays) or ``RowWriter``.
    """

    def __init__(self, file, row_shape, dtype, indices):
        self._file = file  # kept open: the unnamed file lives as long as a reader needs it
        self.row_shape, self.dtype = tuple(row_shape), np.dtype(dtype)
        self._row_bytes = int(np.prod(self.row_shape, dtype=np.int64)) * self.dtype.itemsize
        self._indices = np.asarray(indices, dtype=np.int64)

    @classmethod
    def write(cls, rows, row_shape=None, dtype=None, directory=None):
        """A ``RowFile`` of every row of ``rows`` (an iterable of arrays of one shape)."""
        writer = RowWriter(row_shape, dtype, directory)
        for row in rows:
            writer.append(row)
        return writer.finish()

    @classmethod
    def open(cls, path):
        """The rows a ``RowWriter(path=path)`` finished; ``ValueError`` when they are
        incomplete or do not match their description."""
        path = Path(path)
        try:
            description = json.loads(path.with_name(path.name + ".json").read_text())
            row_shape, dtype = tuple(description["row_shape"]), np.dtype(description["dtype"])
            count = int(description["count"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}: no complete rows ({error})") from error
        file = open(path, "rb")  # noqa: SIM115 - kept open by the RowFile, closed with it
        expected = count * int(np.prod(row_shape, dtype=np.int64)) * dtype.itemsize
        if os.fstat(file.fileno()).st_size != expected:
            file.close()
            raise ValueError(f"{path}: {expected} bytes expected for {count} rows")
        return cls(file, row_shape, dtype, np.arange(count))

    @property
    def shape(self):
        return (len(self._indices), *self.row_shape)

    @property
    def ndim(self):
        return 1 + len(self.row_shape)

    @property
    def nbytes(self):
        return len(self._indices) * self._row_bytes

    def __len__(self):
        return len(self._indices)

    def take(self, indices):
        """The rows at ``indices`` as a ``RowFile`` reading the same file (nothing is read)."""
        return RowFile(self._file, self.row_shape, self.dtype, self._indices[np.asarray(indices)])

    def __getitem__(self, key):
        if isinstance(key, tuple):  # rows first, then the rest of the key within them
            first, rest = (key[0], key[1:]) if key else (slice(None), ())
            if first is Ellipsis:
                return np.asarray(self)[key]
            rows = self[first]
            if isinstance(first, (int, np.integer)):
                return rows[rest]
            return rows[(slice(None), *rest)]
        if isinstance(key, (int, np.integer)):
            return self._read(self._indices[[key]])[0]
        return self._read(self._indices[key])

    def __array__(self, dtype=None, copy=None):
        rows = self._read(self._indices)
        return rows if dtype is None else rows.astype(dtype)

    def _read(self, file_rows):
        """The rows at positions ``file_rows`` of the file, in that order: one positioned
        read per run of consecutive rows."""
        file_rows = np.atleast_1d(np.asarray(file_rows, dtype=np.int64))
        out = np.empty((len(file_rows), *self.row_shape), self.dtype)
        if not len(file_rows):
            return out
        order = np.argsort(file_rows, kind="stable")
        wanted = file_rows[order]
        breaks = np.flatnonzero(np.diff(wanted) != 1) + 1
        flat = out.reshape(len(out), -1).view(np.uint8).reshape(len(out), self._row_bytes)
        descriptor = self._file.fileno()
        for run in np.split(np.arange(len(wanted)), breaks):
            first, count = int(wanted[run[0]]), len(run)
            data = os.pread(descriptor, count * self._row_bytes, first * self._row_bytes)
            if len(data) != count * self._row_bytes:
                raise OSError(f"the row file ended early (row {first} + {count})")
            flat[order[run]] = np.frombuffer(data, np.uint8).reshape(count, self._row_bytes)
        return out


class RowWriter:
    """Append rows (``append``) or batches of rows (``extend``), then ``finish()`` →
    ``RowFile``: in a new unnamed file, or in ``path`` (see the module's docstring).

    ``row_shape`` and ``dtype`` default to the first row's.
    """

    def __init__(self, row_shape=None, dtype=None, directory=None, path=None):
        self.row_shape = None if row_shape is None else tuple(row_shape)
        self.dtype = None if dtype is None else np.dtype(dtype)
        self.path = None if path is None else Path(path)
        if self.path is None:
            self._file = tempfile.TemporaryFile(dir=directory, prefix="rows-")
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self._partial, "w+b")  # noqa: SIM115 - the RowFile keeps it
        self.count = 0

    @property
    def _partial(self):
        return self.path.with_name(self.path.name + ".partial")

    def append(self, row):
        self.extend(np.asarray(row)[None])

    def extend(self, rows):
        """Append every row of ``rows`` (an array of rows)."""
        rows = np.asarray(rows)
        if self.row_shape is None:
            self.row_shape, self.dtype = rows.shape[1:], self.dtype or rows.dtype
        if rows.shape[1:] != self.row_shape:
            raise ValueError(f"row {self.count} has shape {rows.shape[1:]}, not {self.row_shape}")
        self._file.write(np.ascontiguousarray(rows, dtype=self.dtype).tobytes())
        self.count += len(rows)

    def finish(self):
        if self.row_shape is None:
            raise ValueError("no rows were written")
        self._file.flush()
        if self.path is not None:
            os.fsync(self._file.fileno())
            os.replace(self._partial, self.path)
            description = self.path.with_name(self.path.name + ".json")
            partial = description.with_name(description.name + ".partial")
            about = {"row_shape": list(self.row_shape), "dtype": self.dtype.str}
            about["count"] = self.count
            partial.write_text(json.dumps(about))
            os.replace(partial, description)
        return RowFile(self._file, self.row_shape, self.dtype, np.arange(self.count))


def take_rows(array, indices):
    """``array[indices]`` for an in-memory array; the lazy ``take`` of a ``RowFile``."""
    return array.take(indices) if isinstance(array, RowFile) else array[indices]
