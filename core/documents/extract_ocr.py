"""OCR through the `tesseract` program (Russian and English), bounded like the rest."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile

from core.documents.extract import Limits, Refused


def tesseract() -> str | None:
    return shutil.which("tesseract")


def pnm(buffer: object, width: int, height: int, stride: int, channels: int) -> bytes:
    """A grey PGM of a rendered page (pdfium's grey render has equal B, G and R)."""
    raw = memoryview(buffer).cast("B")  # type: ignore[arg-type]
    rows = bytearray()
    for y in range(height):
        row = raw[y * stride : y * stride + width * channels]
        rows += bytes(row[::channels]) if channels > 1 else bytes(row)
    return b"P5\n%d %d\n255\n" % (width, height) + bytes(rows)


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, JPEG or GIF header, or None when not found."""
    if data.startswith(b"\x89PNG") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith((b"GIF87a", b"GIF89a")) and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + length
    return None


def image_text(data: bytes, limits: Limits) -> str:
    if not limits.ocr or tesseract() is None:
        raise Refused("no-ocr", "an image, and Tesseract is not installed")
    size = image_size(data)
    if size is not None and size[0] * size[1] > limits.max_pixels:
        raise Refused("too-large", f"the image is {size[0]}×{size[1]} pixels")
    return ocr(data, limits)


def ocr(image: bytes, limits: Limits) -> str:
    """Tesseract's text of one image (bytes in a format it reads: PNG, JPEG, PNM, TIFF…)."""
    program = tesseract()
    if program is None:
        raise Refused("no-ocr", "Tesseract is not installed")
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    with tempfile.NamedTemporaryFile(suffix=".img") as handle:
        handle.write(image)
        handle.flush()
        try:
            done = subprocess.run(
                [program, handle.name, "stdout", "-l", limits.ocr_languages, "--psm", "3"],
                capture_output=True,
                timeout=limits.seconds,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise Refused("timeout", "OCR took longer than allowed") from error
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
        raise Refused("broken", f"Tesseract could not read the image ({reason[0][:200]})")
    return done.stdout.decode("utf-8", "replace").strip()


def status() -> tuple[str | None, list[str]]:
    """Tesseract's version line and its languages, or (None, []) when it is not installed."""
    program = tesseract()
    if program is None:
        return None, []
    try:
        version = subprocess.run(
            [program, "--version"], capture_output=True, timeout=10, check=False
        )
        langs = subprocess.run(
            [program, "--list-langs"], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None, []
    first = (version.stdout or version.stderr).decode("utf-8", "replace").splitlines()[:1]
    listed = langs.stdout.decode("utf-8", "replace").splitlines()[1:]
    return (first[0].strip() if first else "tesseract"), [x.strip() for x in listed if x.strip()]
