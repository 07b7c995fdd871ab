"""The serial link between host and firmware: framing (frame.py) and the client (client.py)."""

from tinyml.link.client import DeviceClient, open_device
from tinyml.link.frame import Frame, FrameDecoder, encode_frame

__all__ = ["DeviceClient", "Frame", "FrameDecoder", "encode_frame", "open_device"]
