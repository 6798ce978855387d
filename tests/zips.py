"""Zip archives built in memory for the tests."""

import io
import zipfile


def zip_bytes(members):
    """A zip of ``[(name, bytes)]`` or ``[(ZipInfo, bytes)]`` members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()
