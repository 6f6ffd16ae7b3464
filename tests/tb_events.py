"""Test helper: read the scalars of a TensorBoard event file (TFRecord framing of Event protos,
parsed with the protobuf classes that tensorboardX ships)."""
import struct

from tensorboardX.proto import event_pb2


def read_scalars(path) -> dict:
    """{tag: [(step, value), ...]} in file order."""
    data, i, out = open(path, "rb").read(), 0, {}
    while i < len(data):
        (n,) = struct.unpack("<Q", data[i:i + 8])
        event = event_pb2.Event.FromString(data[i + 12:i + 12 + n])
        i += 12 + n + 4
        for v in event.summary.value:
            out.setdefault(v.tag, []).append((event.step, v.simple_value))
    return out
