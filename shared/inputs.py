"""What the predict commands accept as inputs: files, folders, globs and ``.txt`` lists.

``InputPaths(["photo.jpg", "album/", "'shots/*.png'", "todo.txt"], IMAGE_EXTENSIONS)``
checks every source up front (one that matches nothing is a ``ValueError``), counts the
paths, and walks the sources again, lazily, each time it is iterated: a folder of a
million photos costs its paths one at a time, never a list of them.

- a file: itself, whatever its extension (decoding says what is wrong with it);
- a folder: its files with one of the app's extensions, recursively, sorted, hidden
  files and folders left out;
- a glob (quoted, so the shell leaves it alone: ``'shots/**/*.jpg'``): the matching
  files with one of the app's extensions, sorted; ``**`` spans folders;
- a ``.txt`` file: one path per line, relative to the list's folder; blank lines and
  ``#`` comments are skipped; a listed folder is expanded as above, a listed file that is
  missing is reported when its turn comes (the other inputs still run).
"""

import glob
import os
import re

LIST_SUFFIX = ".txt"
_GLOB_MAGIC = re.compile(r"[*?[]")


def _has_extension(path, extensions):
    return path.lower().endswith(tuple(extensions))


def _is_hidden(name):
    return name.startswith(".")


def walk_folder(folder, extensions):
    """The files under ``folder`` with one of ``extensions``, recursively, in sorted order."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(name for name in dirs if not _is_hidden(name))
        for name in sorted(files):
            if not _is_hidden(name) and _has_extension(name, extensions):
                yield os.path.join(root, name)


def _glob_files(pattern, extensions):
    matches = glob.iglob(pattern, recursive=True)
    # Sorted so runs are reproducible; the list holds paths (strings), never images.
    return (path for path in sorted(matches) if _has_extension(path, extensions))


def _list_entries(list_file):
    """The paths a ``.txt`` list names, made relative to the list's folder."""
    folder = os.path.dirname(list_file)
    with open(list_file, encoding="utf-8") as lines:
        for line in lines:
            entry = line.strip()
            if entry and not entry.startswith("#"):
                yield os.path.join(folder, os.path.expanduser(entry))


def _listed_paths(list_file, extensions):
    for entry in _list_entries(list_file):
        yield from walk_folder(entry, extensions) if os.path.isdir(entry) else (entry,)


def _is_list(source, extensions):
    suffix = os.path.splitext(source)[1].lower()
    return suffix == LIST_SUFFIX and suffix not in extensions


def expand_source(source, extensions):
    """The paths one command-line source stands for, lazily (see the module docstring).

    Args:
        source: a file, folder, glob pattern or ``.txt`` list of paths.
        extensions: lower-case suffixes (with the dot) a folder or glob keeps.

    Returns:
        An iterator of path strings.
    """
    if os.path.isdir(source):
        return walk_folder(source, extensions)
    if os.path.isfile(source):
        return _listed_paths(source, extensions) if _is_list(source, extensions) else iter([source])
    if _GLOB_MAGIC.search(source):
        return _glob_files(source, extensions)
    return iter(())


def _nothing_matched(source, extensions):
    accepted = ", ".join(extensions)
    if os.path.isdir(source):
        return ValueError(f"{source}: the folder holds no files ending in {accepted}")
    if os.path.isfile(source):
        return ValueError(f"{source}: the list names no files (one path per line)")
    if _GLOB_MAGIC.search(source):
        return ValueError(f"{source}: no files ending in {accepted} match this pattern")
    return ValueError(f"{source}: no such file or folder")


class InputPaths:
    """The input paths behind command-line sources; ``len()`` is known, iteration is lazy.

    Args:
        sources: files, folders, glob patterns and ``.txt`` lists, as typed.
        extensions: lower-case suffixes that folders and globs keep (e.g. ``.jpg``).

    Raises:
        ValueError: naming the first source that matches nothing, or an unreadable list.
    """

    def __init__(self, sources, extensions):
        self.sources = [os.fspath(source) for source in sources]
        self.extensions = tuple(extension.lower() for extension in extensions)
        if not self.sources:
            raise ValueError("no inputs given: name files, folders, globs or .txt lists")
        self.count = sum(self._count(source) for source in self.sources)

    def _count(self, source):
        try:
            count = sum(1 for _ in expand_source(source, self.extensions))
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"{source}: cannot read this list of paths ({error})") from error
        if count == 0:
            raise _nothing_matched(source, self.extensions)
        return count

    def __len__(self):
        return self.count

    def __iter__(self):
        for source in self.sources:
            yield from expand_source(source, self.extensions)
