"""A minimal TensorBoard event-file writer (scalars only) and reader, with no dependency.

Event files are TFRecord streams of ``tensorflow.Event`` protocol buffers; we hand-encode the few
fields a scalar needs (wall_time, step, summary.value{tag, simple_value}) and frame each record with
its masked CRC-32C, which is what TensorBoard checks. ``read_scalars`` parses files written here.
"""
from __future__ import annotations

import os
import pathlib
import socket
import struct
import time

_CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked(data: bytes) -> int:
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field_bytes(num: int, payload: bytes) -> bytes:
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _event(wall_time: float, step: int, file_version: str | None = None, scalars=None) -> bytes:
    msg = b"\x09" + struct.pack("<d", wall_time) + b"\x10" + _varint(int(step))
    if file_version is not None:
        msg += _field_bytes(3, file_version.encode())
    if scalars:
        summary = b"".join(_field_bytes(1, _field_bytes(1, tag.encode()) + b"\x15" + struct.pack("<f", float(v)))
                           for tag, v in scalars)
        msg += _field_bytes(5, summary)
    return msg


class EventFileWriter:
    """Append scalar summaries to ``<logdir>/events.out.tfevents.<time>.<host>``."""

    def __init__(self, logdir):
        self.logdir = pathlib.Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.path = self.logdir / f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}"
        self._f = open(self.path, "ab")
        self._write(_event(time.time(), 0, file_version="brain.Event:2"))

    def _write(self, data: bytes) -> None:
        header = struct.pack("<Q", len(data))
        self._f.write(header + struct.pack("<I", _masked(header)) + data + struct.pack("<I", _masked(data)))

    def add_scalars(self, scalars: dict, step: int) -> None:
        self._write(_event(time.time(), step, scalars=sorted(scalars.items())))
        self._f.flush()

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()


def _read_varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = n = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def _fields(buf: bytes):
    i = 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _read_varint(buf, i)
        elif wire == 1:
            v, i = buf[i:i + 8], i + 8
        elif wire == 5:
            v, i = buf[i:i + 4], i + 4
        elif wire == 2:
            n, i = _read_varint(buf, i)
            v, i = buf[i:i + n], i + n
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield num, v


def read_scalars(path) -> dict:
    """{tag: [(step, value), ...]} from one event file; raises ValueError on a bad CRC."""
    data = pathlib.Path(path).read_bytes()
    out: dict = {}
    i = 0
    while i < len(data):
        header = data[i:i + 8]
        (n,) = struct.unpack("<Q", header)
        if struct.unpack("<I", data[i + 8:i + 12])[0] != _masked(header):
            raise ValueError(f"{path}: bad record header checksum at byte {i}")
        rec = data[i + 12:i + 12 + n]
        if struct.unpack("<I", data[i + 12 + n:i + 16 + n])[0] != _masked(rec):
            raise ValueError(f"{path}: bad record checksum at byte {i}")
        i += 16 + n
        step = 0
        for num, v in _fields(rec):
            if num == 2:
                step = v
            elif num == 5:
                for _, val in _fields(v):
                    tag, x = None, None
                    for fn, fv in _fields(val):
                        if fn == 1:
                            tag = fv.decode()
                        elif fn == 2:
                            x = struct.unpack("<f", fv)[0]
                    out.setdefault(tag, []).append((step, x))
    return out
