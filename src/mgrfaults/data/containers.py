"""Whether an audio container holds the audio its own header declares: what libsndfile does not check.

libsndfile decodes a file up to where it ends without an error: an RF64, Wave64 or AIFF file cut short decodes
to its first part, and an Ogg stream with damaged pages decodes with those pages skipped, the audio spliced
across the gap. Each function here reads a container's structure (no audio is decoded) and returns what is
wrong with it in words, or None. :mod:`mgrfaults.data.audio` raises them as :class:`~mgrfaults.errors.AudioError`.

Sources: the Ogg page format (RFC 3533: a page's header, its segment table, the CRC-32 of polynomial 0x04C11DB7
over the page with its checksum field zeroed, the BOS and EOS flags); RF64 (EBU Tech 3306: the ``ds64`` chunk's
64-bit sizes); Sony Wave64 (GUID chunk ids whose first four bytes are the RIFF names, 64-bit sizes that count the
24-byte chunk header, chunks aligned to 8 bytes); AIFF/AIFF-C (Apple 1989: big-endian ``COMM`` and ``SSND``); FLAC
(the ``fLaC`` marker, then the STREAMINFO block: a 4-byte header of type 0 and length 34, first of the metadata).
"""

from __future__ import annotations

import struct
import zlib

OGG_CAPTURE = b"OggS"
OGG_BOS, OGG_EOS = 0x02, 0x04
"""Header-type flags of an Ogg page: the first page of a logical stream, the last one."""
UNKNOWN_SIZES = (0xFFFFFFFF, 0x7FFFFFFF, 0x7FFFF000)
"""32-bit size fields that writers streaming to a pipe leave for "unknown": not a promise of that many bytes."""
_BIT_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def ogg_crc(page: bytes) -> int:
    """The Ogg CRC-32 of ``page`` (polynomial 0x04C11DB7, not reflected, initial value 0, no final XOR).

    zlib's CRC-32 is the reflected form of the same polynomial: on the bytes bit-reversed, with zlib's initial
    value and final XOR undone, and the result bit-reversed, it is Ogg's (at zlib's speed, not a Python loop's).
    """
    raw = zlib.crc32(page.translate(_BIT_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{raw:032b}"[::-1], 2)


def ogg_problem(data: bytes) -> str | None:
    """What is wrong with an Ogg file's pages, or None.

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    str or None
        Bytes between pages that are no page (zeroed or overwritten), a page whose checksum fails (the decoder skips
        it), a last page cut off, a stream without its end-of-stream page (the file cut short), or streams one after
        another (files joined: the decoder reads the first only). Bytes after the end-of-stream page that hold no page
        (a tag appended) are no problem.
    """
    pos, pages, streams, ended = 0, 0, 0, False
    while pos < len(data):
        if data[pos:pos + 4] != OGG_CAPTURE:
            resume = data.find(OGG_CAPTURE, pos + 1)
            if resume < 0 and ended:
                break  # bytes after the stream's last page (an ID3v1 or APE tag appended): the decoder stops before
            gap = (resume if resume >= 0 else len(data)) - pos
            return (f"damaged: {gap} bytes at byte {pos} are no Ogg page (zeroed or overwritten): the decoder skips "
                    "them, and the audio on both sides is spliced together without an error")
        if len(data) - pos < 27:
            return f"truncated: the Ogg page at byte {pos} is cut off (the file ends inside its header)"
        flags, n_segments = data[pos + 5], data[pos + 26]
        size = 27 + n_segments + sum(data[pos + 27:pos + 27 + n_segments])
        if pos + 27 + n_segments > len(data) or pos + size > len(data):
            return f"truncated: the Ogg page at byte {pos} runs past the end of the file (the file was cut short)"
        page = bytearray(data[pos:pos + size])
        stored = struct.unpack("<I", bytes(page[22:26]))[0]
        page[22:26] = bytes(4)
        if ogg_crc(bytes(page)) != stored:
            return (f"damaged: Ogg page {pages} (at byte {pos}) fails its checksum: the decoder skips it, and the audio "
                    "on both sides is spliced together without an error")
        if flags & OGG_BOS:
            if ended:
                streams += 1
                ended = False
            streams = max(streams, 1)
        if flags & OGG_EOS:
            ended = True
        pages += 1
        pos += size
    if pages and not ended:
        return "truncated: its last Ogg page does not end the stream (no end-of-stream page: the file was cut short)"
    if streams > 1:
        return (f"{streams} Ogg streams one after another (files joined, as `cat a.ogg b.ogg` joins them): the decoder "
                "reads the first only; split them into files of their own")
    return None


def _declared_beyond(kind: str, declared: int, available: int) -> str | None:
    if declared > available:
        return f"truncated: its {kind} header promises {declared} bytes of audio, the file holds {available}"
    return None


def _iff_chunks(head: bytes, endian: str, start: int = 12):
    """(id, size, offset) of each chunk of a RIFF-like file held in ``head`` from ``start`` (after ``RF64....WAVE`` or
    ``FORM....AIFF``): 4-byte ids, 4-byte sizes in ``endian`` order (``<`` RIFF, ``>`` AIFF), odd sizes padded."""
    pos = start
    while pos + 8 <= len(head):
        csize = struct.unpack(f"{endian}I", head[pos + 4:pos + 8])[0]
        yield head[pos:pos + 4], csize, pos
        pos += 8 + csize + (csize & 1)


def rf64_problem(head: bytes, size: int) -> str | None:
    """An RF64 file's ``ds64`` data size against the bytes after its ``data`` chunk header, or None.

    Parameters
    ----------
    head : bytes
        The file's first bytes, through the ``data`` chunk's header (64 KiB is plenty).
    size : int
        The file's size in bytes.
    """
    if head[12:16] != b"ds64" or len(head) < 28:
        return "not an RF64 file: its 'ds64' chunk, which holds the sizes, is missing (corrupt header?)"
    data_size = struct.unpack("<Q", head[28:36])[0] if len(head) >= 36 else None
    for cid, csize, pos in _iff_chunks(head, "<"):
        if cid == b"data":
            declared = data_size if csize == 0xFFFFFFFF and data_size is not None else csize
            return _declared_beyond("RF64", declared, size - pos - 8)
    return None  # a data chunk beyond the first 64 KiB: libsndfile's own reading decides


def w64_problem(head: bytes, size: int) -> str | None:
    """A Sony Wave64 file's ``data`` chunk size against the bytes the file holds, or None (``head`` as for RF64)."""
    pos = 40  # the riff GUID, its 64-bit size, the wave GUID
    while pos + 24 <= len(head):
        name, csize = head[pos:pos + 4], struct.unpack("<Q", head[pos + 16:pos + 24])[0]
        if name == b"data":
            return _declared_beyond("Wave64", csize - 24, size - pos - 24)
        if csize < 24:
            return f"corrupt Wave64 header: the chunk at byte {pos} declares {csize} bytes, less than its own header"
        pos += csize + (-csize % 8)
    return None


def aiff_problem(head: bytes, size: int) -> str | None:
    """An AIFF or AIFF-C file's sample frames (``COMM``) against the bytes of its ``SSND`` chunk, or None (``head``
    through the ``SSND`` chunk's header, and ``size``, as for :func:`rf64_problem`)."""
    frames_bytes = None
    for cid, csize, pos in _iff_chunks(head, ">"):
        if cid == b"COMM" and pos + 16 <= len(head):
            channels, frames, bits = struct.unpack(">hIh", head[pos + 8:pos + 16])
            compression = head[pos + 26:pos + 30] if head[8:12] == b"AIFC" else b"NONE"
            if compression in (b"NONE", b"twos", b"sowt", b"raw ", b"fl32", b"FL32", b"fl64", b"FL64"):
                frames_bytes = frames * channels * ((bits + 7) // 8)
            elif compression in (b"ulaw", b"ULAW", b"alaw", b"ALAW"):
                frames_bytes = frames * channels
        elif cid == b"SSND":
            available = size - pos - 16  # the chunk's offset and block-size fields come first
            declared = csize - 8 if frames_bytes is None else min(csize - 8, frames_bytes)
            return _declared_beyond("AIFF", declared, available)
    return None


def flac_problem(head: bytes) -> str | None:
    """A FLAC stream whose STREAMINFO gives no length (0 samples: written to a pipe), or None: libsndfile cannot read
    such a file and says only ``Internal psf_fseek() failed``."""
    if head[:4] != b"fLaC" or len(head) < 26 or head[4] & 0x7F != 0:
        return None
    total = int.from_bytes(head[21:26], "big") & 0xFFFFFFFFF  # the low 36 bits: total samples per channel
    if total == 0:
        return ("its FLAC header gives no length (0 samples: a stream written to a pipe, as `ffmpeg ... -f flac -` "
                "leaves it), which libsndfile cannot read; encode it again to a file (flac -f -o out.flac in.flac, "
                "or ffmpeg -i in.flac out.flac)")
    return None


FLAC_STREAM_STARTS = (b"fLaC\x00\x00\x00\x22", b"fLaC\x80\x00\x00\x22")
"""The first 8 bytes of every FLAC stream: its marker, then the header of its STREAMINFO block (type 0, with or
without the last-metadata-block flag, 34 bytes long). 64 bits that coded audio holds by chance once in 2**63
positions: found again inside a file, a second stream begins there."""


def flac_stream_starts(data: bytes) -> int:
    """How many FLAC streams begin in ``data`` (:data:`FLAC_STREAM_STARTS`)."""
    return sum(data.count(start) for start in FLAC_STREAM_STARTS)


def flac_joined_problem(streams: int) -> str | None:
    """The problem of a file holding ``streams`` FLAC streams one after another, or None for one (or none)."""
    if streams > 1:
        return (f"{streams} FLAC streams one after another (files joined, as `cat a.flac b.flac` joins them): the "
                "decoder reads the first only; split them into files of their own")
    return None
