"""Just enough of PNG to look at a browser's screenshot or a rendered PDF page without an imaging library:
8-bit greyscale, RGB and RGBA, not interlaced (what Chromium and pdftoppm write)."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Image", "read_png"]

_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type → samples per pixel


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    channels: int
    rows: tuple[bytes, ...]

    def pixels(self) -> list[tuple[int, int, int]]:
        """Every pixel as (r, g, b), alpha left out (a screenshot is opaque)."""
        result = []
        for row in self.rows:
            for x in range(0, len(row), self.channels):
                sample = row[x : x + self.channels]
                result.append((sample[0], sample[0], sample[0]) if self.channels < 3 else tuple(sample[:3]))
        return result  # type: ignore[return-value]


def _paeth(left: int, up: int, corner: int) -> int:
    estimate = left + up - corner
    distances = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
    return (left, up, corner)[distances.index(min(distances))]


def _unfilter(kind: int, line: bytearray, previous: bytes, step: int) -> bytes:
    for i in range(len(line)):
        left = line[i - step] if i >= step else 0
        up = previous[i]
        corner = previous[i - step] if i >= step else 0
        predictor = (0, left, up, (left + up) // 2, _paeth(left, up, corner))[kind]
        line[i] = (line[i] + predictor) & 0xFF
    return bytes(line)


def read_png(path: Path) -> Image:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    position, chunks, header = 8, [], b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour, _compression, _filter, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and not interlace and colour in _CHANNELS, "only 8-bit, non-interlaced PNGs are read here"
    channels = _CHANNELS[colour]
    raw, stride = zlib.decompress(b"".join(chunks)), width * channels
    rows, previous = [], bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        previous = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, channels)
        rows.append(previous)
    return Image(width, height, channels, tuple(rows))
