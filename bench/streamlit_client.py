"""A Streamlit session without a browser: Streamlit's own websocket protocol, as the browser
speaks it (``BackMsg`` rerun requests in, ``ForwardMsg`` deltas out, on ``/_stcore/stream``),
so that many sessions cost the benchmark machine next to nothing."""

import asyncio
import time

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

RESULT_TIMEOUT_S = 600


async def request(socket, page, query, marker):
    """Seconds from a rerun request to the delta containing ``marker``, then the rest of the
    run read to its end; the errors seen."""
    message = BackMsg()
    message.rerun_script.query_string = query
    message.rerun_script.page_name = page
    started = time.perf_counter()
    await socket.send(message.SerializeToString())
    errors, seconds = [], None
    while True:
        reply = ForwardMsg()
        reply.ParseFromString(await asyncio.wait_for(socket.recv(), RESULT_TIMEOUT_S))
        kind = reply.WhichOneof("type")
        text = str(reply.delta) if kind == "delta" else ""
        if "exception {" in text or "format: ERROR" in text:
            errors.append(text[:300])
        if seconds is None and marker in text:
            seconds = time.perf_counter() - started
        if kind == "script_finished":
            if seconds is None:  # counted as an error, timed to the end of the run
                seconds = time.perf_counter() - started
                errors.append(f"page {page!r} finished without {marker!r}")
            return seconds, errors


def connect(port):
    url = f"ws://127.0.0.1:{port}/_stcore/stream"
    return websockets.connect(url, subprotocols=["streamlit"], max_size=None)
