"""What the measuring scripts beside this file share: one pipeline played to its end."""
import sys
import time

from gi.repository import Gst


def play_to_end(pipeline):
    """Seconds from PLAYING to EOS, after a preroll (models loaded, first frames in);
    an error ends the program with its message. The pipeline stays in PLAYING, so its
    elements' `stats` can still be read."""
    pipeline.set_state(Gst.State.PAUSED)
    pipeline.get_state(Gst.CLOCK_TIME_NONE)
    started = time.monotonic()
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(
        Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS | Gst.MessageType.ERROR
    )
    took = time.monotonic() - started
    if msg.type == Gst.MessageType.ERROR:
        sys.exit(msg.parse_error()[0].message)
    return took
