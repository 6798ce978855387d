"""Tests for shared.inputs: files, folders, globs and .txt lists as predict inputs."""

import os

import pytest

from shared.inputs import InputPaths, expand_source

EXTENSIONS = (".jpg", ".png")


@pytest.fixture
def album(tmp_path):
    """``album/`` with images at two depths, a hidden file, a note and a hidden folder."""
    root = tmp_path / "album"
    for relative in ("b.png", "a.JPG", "notes.md", ".hidden.jpg", "sub/c.jpg", ".cache/d.jpg"):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return root


def test_a_folder_gives_its_images_recursively_sorted_without_hidden_files(album):
    paths = list(InputPaths([album], EXTENSIONS))
    assert paths == [str(album / "a.JPG"), str(album / "b.png"), str(album / "sub" / "c.jpg")]


def test_a_glob_gives_the_matching_images(album):
    assert list(InputPaths([str(album / "*.png")], EXTENSIONS)) == [str(album / "b.png")]
    everywhere = list(InputPaths([str(album / "**" / "*.jpg")], EXTENSIONS))
    assert everywhere == [str(album / "sub" / "c.jpg")]


def test_a_named_file_is_taken_whatever_its_extension(album):
    assert list(InputPaths([album / "notes.md"], EXTENSIONS)) == [str(album / "notes.md")]


def test_a_text_list_names_paths_relative_to_itself(album, tmp_path):
    listing = tmp_path / "todo.txt"
    listing.write_text("# photos to check\n\nalbum/b.png\n  album/sub  \nalbum/missing.jpg\n")
    paths = list(InputPaths([listing], EXTENSIONS))
    assert paths == [
        os.path.join(str(tmp_path), "album/b.png"),
        os.path.join(str(tmp_path), "album/sub", "c.jpg"),
        os.path.join(str(tmp_path), "album/missing.jpg"),  # reported when its turn comes
    ]


def test_sources_mix_in_order_and_len_counts_every_path(album):
    inputs = InputPaths([album / "sub", album / "b.png", album], EXTENSIONS)
    assert len(inputs) == 5
    assert list(inputs) == list(inputs)  # iterable again: each pass walks the sources anew
    assert list(inputs)[:2] == [str(album / "sub" / "c.jpg"), str(album / "b.png")]


def test_iteration_is_lazy(album):
    inputs = InputPaths([album], EXTENSIONS)
    iterator = iter(inputs)
    first = next(iterator)
    (album / "sub" / "zz.png").write_bytes(b"x")  # added after the walk began: found
    assert [first, *iterator][-1] == str(album / "sub" / "zz.png")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("missing.jpg", "missing.jpg: no such file or folder"),
        ("album/*.gif", "no files ending in .jpg, .png match"),
        ("album/empty", "the folder holds no files ending in .jpg, .png"),
        ("empty.txt", "empty.txt: the list names no files"),
    ],
)
def test_a_source_that_matches_nothing_is_an_error(album, tmp_path, monkeypatch, source, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.txt").write_text("# nothing yet\n\n")
    (album / "empty").mkdir()
    (album / "empty" / "notes.md").write_text("no images here")
    with pytest.raises(ValueError, match=message.replace("*", r"\*").replace(".", r"\.")):
        InputPaths(["album/b.png", source], EXTENSIONS)


def test_an_unreadable_list_is_an_error(tmp_path):
    listing = tmp_path / "binary.txt"
    listing.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ValueError, match="cannot read this list of paths"):
        InputPaths([listing], EXTENSIONS)


def test_no_sources_is_an_error():
    with pytest.raises(ValueError, match="no inputs given"):
        InputPaths([], EXTENSIONS)


def test_expand_source_of_an_unknown_path_is_empty(tmp_path):
    assert list(expand_source(str(tmp_path / "nothing"), EXTENSIONS)) == []
