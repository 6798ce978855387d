"""Live camera and microphone streams on a page (streamlit-webrtc, loopback only).

- ``camera_stream(key, annotate)``: the browser's camera goes to the server over WebRTC;
  each frame is handed to ``annotate(rgb) -> (rgb, label)`` in the stream's worker thread and
  comes back drawn on, with the frame rate and the model's latency written on it. When the
  model is slower than the camera, the frames that arrived meanwhile are dropped (only the
  newest is processed), so the picture lags by one model call, never by a queue.
- ``microphone_stream(key, transcriber)``: the microphone's frames go to a
  ``shared.live_audio.LiveTranscriber`` (no audio comes back).
- ``stream_stats`` / ``show_video_stats`` / ``show_lines``: what the page shows beside them,
  refreshed once a second by a fragment while a stream plays.

No STUN/TURN server is used: browser and server meet on the host's own addresses.
"""

import os
import sys
import threading
import time
from collections import deque

import numpy as np
import streamlit as st

from shared.ui.text import escape_markdown

LOOPBACK_RTC = {"iceServers": []}
FPS_WINDOW = 20  # frames the frame rate is averaged over
REFRESH_S = 1.0


class StreamStats:
    """What the video worker last did, read by the page (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._times = deque(maxlen=FPS_WINDOW)
        self.label, self.latency_ms, self.frames, self.dropped = None, None, 0, 0
        self.latest = None  # the newest camera frame (RGB), for a page to capture
        self.error = None

    def record(self, label, latency_ms, dropped=0):
        with self._lock:
            self._times.append(time.monotonic())
            self.label, self.latency_ms = label, latency_ms
            self.frames += 1
            self.dropped += dropped

    @property
    def fps(self):
        """Processed frames per second over the last ``FPS_WINDOW`` frames (None: too few)."""
        with self._lock:
            times = list(self._times)
        if len(times) < 2 or times[-1] <= times[0]:
            return None
        return (len(times) - 1) / (times[-1] - times[0])

    def snapshot(self):
        with self._lock:
            frames, dropped = self.frames, self.dropped
        return {
            "label": self.label,
            "latency_ms": self.latency_ms,
            "fps": self.fps,
            "frames": frames,
            "dropped": dropped,
            "error": self.error,
        }


def webrtc():
    """``streamlit_webrtc``, imported so that it works beside TensorFlow.

    pylibsrtp's binding (aiortc's SRTP) links its own crypto library and exports its
    symbols; once TensorFlow has loaded its own copy, the binding's calls resolve to
    TensorFlow's and its first call crashes the process. Loaded with ``RTLD_DEEPBIND`` it
    uses its own.
    """
    if "pylibsrtp" not in sys.modules:
        flags = sys.getdlopenflags()
        sys.setdlopenflags(flags | os.RTLD_DEEPBIND)
        try:
            import pylibsrtp  # noqa: F401
        finally:
            sys.setdlopenflags(flags)
    import streamlit_webrtc

    return streamlit_webrtc


def stream_stats(key):
    """The session's ``StreamStats`` for stream ``key`` (kept across reruns)."""
    name = f"{key}_stats"
    if name not in st.session_state:
        st.session_state[name] = StreamStats()
    return st.session_state[name]


def draw_banner(image, lines):
    """``image`` (RGB uint8) with ``lines`` of text on a dark band across its top."""
    from PIL import Image, ImageDraw, ImageFont

    canvas = Image.fromarray(np.ascontiguousarray(image, dtype="uint8"))
    draw = ImageDraw.Draw(canvas)
    size = max(12, canvas.height // 24)
    font = ImageFont.load_default(size=size)
    height = (size + 6) * len(lines) + 4
    draw.rectangle((0, 0, canvas.width, height), fill=(0, 0, 0))
    for row, text in enumerate(lines):
        draw.text((6, 4 + row * (size + 6)), text, fill=(255, 255, 255), font=font)
    return np.asarray(canvas)


def frame_processor(annotate, stats):
    """The queued-frames callback of the video worker: the newest frame only."""

    async def process(frames):
        import av

        frame = frames[-1]
        image = frame.to_ndarray(format="rgb24")
        stats.latest = image
        start = time.perf_counter()
        try:
            drawn, label = annotate(image)
        except Exception as error:  # noqa: BLE001 - shown beside the stream, which goes on
            stats.error = f"{type(error).__name__}: {error}"
            return [frame]
        latency = (time.perf_counter() - start) * 1000
        stats.record(label, latency, dropped=len(frames) - 1)
        fps = stats.fps
        info = f"{fps:.1f} FPS" if fps else "… FPS"
        drawn = draw_banner(drawn, [f"{label}", f"{info} · {latency:.0f} ms/frame"])
        return [av.VideoFrame.from_ndarray(drawn, format="rgb24")]

    return process


def camera_stream(key, annotate, stats):
    """A camera stream whose frames go through ``annotate``; returns the streamer context."""
    streamer = webrtc()
    return streamer.webrtc_streamer(
        key=key,
        mode=streamer.WebRtcMode.SENDRECV,
        rtc_configuration=LOOPBACK_RTC,
        media_stream_constraints={"video": True, "audio": False},
        queued_video_frames_callback=frame_processor(annotate, stats),
        async_processing=True,
    )


def microphone_stream(key, transcriber):
    """A microphone stream feeding ``transcriber``; returns the streamer context."""
    streamer = webrtc()

    def on_frame(frame):
        transcriber.on_frame(
            frame.to_ndarray(),
            frame.sample_rate,
            channels=len(frame.layout.channels),
            planar=frame.format.is_planar,
        )

    return streamer.webrtc_streamer(
        key=key,
        mode=streamer.WebRtcMode.SENDONLY,
        rtc_configuration=LOOPBACK_RTC,
        media_stream_constraints={"video": False, "audio": True},
        sink_audio_track=streamer.create_audio_sink_track(on_frame, key=f"{key}_sink"),
    )


def playing(context):
    return bool(context and context.state.playing)


def show_video_stats(stats, *, label_name="Prediction"):
    """Metrics of the video worker: prediction, frame rate, latency, frames dropped."""
    snap = stats.snapshot()
    label, fps, latency = st.columns([5, 3, 4])
    label.metric(label_name, snap["label"] or "…")
    fps.metric("FPS", f"{snap['fps']:.1f}" if snap["fps"] else "…")
    latency.metric("Latency", f"{snap['latency_ms']:.0f} ms" if snap["latency_ms"] else "…")
    st.caption(f"{snap['frames']} frames processed, {snap['dropped']} dropped while the model ran")
    if snap["error"]:
        st.error(snap["error"])


def show_lines(transcriber):
    """The transcribed lines, newest first, with the level and the backlog."""
    lines = transcriber.lines()
    st.caption(
        f"Input level {transcriber.level:.3f} · {transcriber.pending} utterance(s) being "
        f"transcribed · {transcriber.dropped} skipped while the model was busy"
    )
    if transcriber.error:
        st.error(transcriber.error)
    if not lines:
        st.info("Speak: each pause ends a line.")
        return
    for line in reversed(lines):
        st.markdown(f"**{escape_markdown(line.heard)}**")
        if line.translation:
            st.markdown(f"→ *{escape_markdown(line.translation)}*")
        st.caption(f"{line.seconds:.1f} s of audio, {line.latency_ms:.0f} ms to text")


def refresh_while(active, show, *args, **kwargs):
    """``show(*args, **kwargs)`` in a fragment that reruns every second while ``active``."""
    st.fragment(show, run_every=REFRESH_S if active else None)(*args, **kwargs)
