"""Files Chromium plays as its fake camera (``--use-file-for-fake-video-capture``)."""

import numpy as np
from PIL import Image

SIZE = (640, 480)


def _yuv420(rgb):
    """Full-range BT.601 Y, U, V planes (U and V at half resolution) of an RGB image."""
    rgb = rgb.astype("float32")
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    v = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b

    def half(plane):
        return plane.reshape(plane.shape[0] // 2, 2, plane.shape[1] // 2, 2).mean(axis=(1, 3))

    return [np.clip(p, 0, 255).round().astype("uint8") for p in (y, half(u), half(v))]


def write_y4m(path, scenes, fps=10):
    """A Y4M video of ``scenes``: (RGB image, seconds) pairs, each resized to 640x480 and held
    for its seconds. Chromium loops the file."""
    width, height = SIZE
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for image, seconds in scenes:
            frame = np.asarray(Image.fromarray(image).convert("RGB").resize(SIZE))
            planes = b"".join(plane.tobytes() for plane in _yuv420(frame))
            for _ in range(max(1, round(seconds * fps))):
                out.write(b"FRAME\n" + planes)
    return path
