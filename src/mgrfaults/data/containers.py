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


def id3v2_length(head: bytes) -> int:
    """Bytes of the ID3v2 tag that ``head`` (10 bytes or more) begins with; 0 where none."""
    if len(head) < 10 or head[:3] != b"ID3":
        return 0
    # ID3v2: a 10-byte header, a syncsafe size, an optional footer
    size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
    return 10 + size + (10 if head[5] & 0x10 else 0)


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


def iff_chunks(head: bytes, endian: str, start: int = 12):
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
    for cid, csize, pos in iff_chunks(head, "<"):
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
    for cid, csize, pos in iff_chunks(head, ">"):
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


_MPEG_KBITS = {  # kbit/s of bitrate indices 1-14, by (MPEG-1, layer): ISO/IEC 11172-3 and 13818-3
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 3): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}


def mpeg_frame(header: bytes) -> tuple[int, int, int] | None:
    """The MPEG audio frame a 4-byte header begins: (its bytes, its samples per channel, its sample rate in Hz), or
    None where the bytes are no such header (no sync, a reserved version, layer, rate, or a free or bad bitrate).

    Parameters
    ----------
    header : bytes
        At least the frame's 4 header bytes (ISO/IEC 11172-3, 13818-3, and MPEG-2.5's rates).
    """
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer = (header[1] >> 3) & 3, 4 - ((header[1] >> 1) & 3)  # version 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5
    index, rate_index, padding = header[2] >> 4, (header[2] >> 2) & 3, (header[2] >> 1) & 1
    if version == 1 or layer == 4 or index in (0, 15) or rate_index == 3:
        return None
    mpeg1 = version == 3
    rate = (44100, 48000, 32000)[rate_index] >> (0 if mpeg1 else 1 if version == 2 else 2)
    bits = 1000 * _MPEG_KBITS[mpeg1, layer][index - 1]
    if layer == 1:
        return (12 * bits // rate + padding) * 4, 384, rate
    samples = 1152 if mpeg1 or layer == 2 else 576
    return samples // 8 * bits // rate + padding, samples, rate


def mpeg_stream_samples(data: bytes, enough: int | None = None) -> tuple[int, int]:
    """Samples per channel that the MPEG audio frames of an MP3 file hold, counted frame by frame, and their rate.

    Where an MP3 file has no length header (a variable bitrate without its Xing, Info or VBRI frame), libmpg123
    estimates its length from the first frame's bitrate, and libsndfile reads no further; where two files were
    joined (``cat a.mp3 b.mp3``), the first one's length header declares its own audio alone. Counting the frames
    tells how much audio the file really holds. ID3v2 tags are skipped wherever a frame could begin (a joined
    file's own), and after bytes that are no frame the count resumes at the next header that a second one follows,
    so that no byte of other data is taken for a frame by chance; a length frame (Xing, Info) counts as a frame of
    audio, and the encoder's delay and padding are counted too: the count exceeds the decoded length by a frame or
    three.

    Parameters
    ----------
    data : bytes
        Every byte of the MP3 file, its tags included.
    enough : int, optional
        Stop counting once the frames hold this many samples (a whole song's frames need not be walked to know it
        holds an excerpt's 30 s); None: count them all.

    Returns
    -------
    (samples, sample_rate) : tuple of int
        0, 0 where no frame is found.
    """
    pos, total, rate, synced = 0, 0, 0, False
    while pos + 4 <= len(data) and (enough is None or total < enough):
        if data[pos:pos + 3] == b"ID3":
            pos += max(id3v2_length(data[pos:pos + 10]), 10)
            continue
        frame = mpeg_frame(data[pos:pos + 4])
        if frame and (rate in (0, frame[2])):
            following = pos + frame[0]
            if synced or following + 4 > len(data) or mpeg_frame(data[following:following + 4]):
                total, rate, synced, pos = total + frame[1], frame[2], True, following
                continue
        synced = False  # no frame here: the next header counts once a second one follows it
        pos = data.find(b"\xff", pos + 1)
        if pos < 0:
            break
    return total, rate


CHUNKS_AFTER_AUDIO_SLACK = 4096
"""Bytes that may follow a RIFF or AIFF file's audio chunk without being chunks (a writer's junk, its padding to a
sector): 0.09 s of 16-bit mono at 22050 Hz; a run of one byte value at the end (zeros, 0xFF) and an ID3v1 tag are not
counted, and ID3v2 and APEv2 tags appended whole are read past."""


CHUNK_ID_FIRST = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_(")
CHUNK_ID_REST = CHUNK_ID_FIRST | frozenset(b"0123456789 )")
"""The characters of most chunk ids (``LIST``, ``id3 ``, ``_PMX``, ``(c) ``): narrower than printable ASCII, so that
audio bytes past a header that declares too little are seldom read as a chunk that runs past the file's end. A
chunk the file holds whole may have any printable id (``SFX!``, ``5.1 ``)."""


TRAILING_CHUNK_IDS = frozenset((
    # WAV (libsndfile's wav.c names these), broadcast and DAW chunks
    b"LIST", b"list", b"INFO", b"adtl", b"id3 ", b"ID3 ", b"bext", b"iXML", b"axml", b"_PMX", b"JUNK", b"junk",
    b"JUNQ", b"PAD ", b"FLLR", b"fake", b"cue ", b"smpl", b"inst", b"fact", b"PEAK", b"acid", b"cart", b"umid",
    b"DISP", b"plst", b"labl", b"note", b"ltxt", b"slnt", b"wavl", b"levl", b"link", b"MEXT", b"mext", b"strc",
    b"afsp", b"clm ", b"elmo", b"minf", b"elm1", b"regn", b"ovwf", b"SyLp", b"Cr8r", b"AFAn", b"ResU", b"LGWV",
    b"DGDA", b"chna", b"ds64", b"cset", b"dbmd", b"bxml", b"sxml", b"XMP ", b"MD5 ",
    # AIFF (libsndfile's aiff.c)
    b"ANNO", b"COMT", b"MARK", b"APPL", b"NAME", b"AUTH", b"(c) ", b"INST", b"MIDI", b"AESD", b"FVER", b"CHAN",
    b"chan", b"basc", b"SFX!", b"trns",
))
"""Chunk ids that writers put after a WAV's or an AIFF's audio (metadata: tags, cue points, broadcast data,
padding, the chunks libsndfile's wav.c and aiff.c name): one of them cut short by the file's end is a damaged
trailer, the audio whole."""


def chunk_id(header: bytes) -> bool:
    """Whether ``header`` begins with a chunk id of the characters writers use (:data:`CHUNK_ID_FIRST`)."""
    return len(header) >= 4 and header[0] in CHUNK_ID_FIRST and all(c in CHUNK_ID_REST for c in header[1:4])


def raw_id3v2(header: bytes) -> bool:
    """Whether ``header`` begins an ID3v2 tag (``ID3`` and a major version 2 to 4), not a chunk named ``ID3 ``."""
    return header[:3] == b"ID3" and len(header) > 3 and header[3] in (2, 3, 4)


def _zero_run(f, pos: int, size: int, block: int = 65536) -> int:
    """How many zero bytes the open file ``f`` holds from ``pos`` on, up to its first other byte or its end."""
    run = 0
    while pos + run < size:
        f.seek(pos + run)
        data = f.read(block)
        kept = len(data.lstrip(b"\x00"))
        run += len(data) - kept
        if kept or not data:
            break
    return run


def chunks_after_audio_problem(f, end: int, size: int, endian: str, kind: str, declared: int) -> str | None:
    """What follows a RIFF (WAV) or AIFF file's audio chunk without its header declaring it, or None.

    libsndfile reads the audio chunk's declared bytes and no more: where a recorder that died wrote its header
    early, or a header was written for another file, the audio beyond the declared length is left out without a
    word. After the audio chunk come further chunks (``LIST``, ``id3 ``, ``ANNO``: a 4-character id and a size) up to
    the file's end, and tags appended whole (ID3v2, APEv2, ID3v1). A chunk the file holds whole may have any
    printable id; one that runs past the file's end is a damaged trailer (the audio whole) where its id is one that
    writers put there (:data:`TRAILING_CHUNK_IDS`), or where less than :data:`CHUNKS_AFTER_AUDIO_SLACK` of it is
    present; otherwise it is audio read as a chunk, or a file cut short inside a chunk this check does not know, and
    is refused. A pad byte that a writer left out after an odd-sized chunk is read past.

    Parameters
    ----------
    f : binary file
        The file, open for reading (it is seeked).
    end : int
        The byte after the audio chunk (and its pad byte).
    size : int
        The file's size in bytes.
    endian : {"<", ">"}
        RIFF's little-endian sizes, AIFF's big-endian ones.
    kind : {"WAV", "AIFF"}
        For the message.
    declared : int
        Bytes of audio the chunk declares, for the message.
    """
    def reading(at: int) -> tuple[bytes | None, int]:
        """The 16 bytes at ``at`` and how surely a chunk, a file or a tag begins there: 3 a tag, a file or a known
        id, 2 a chunk of the usual characters that the file holds, 1 one of other printable characters that it holds
        or of the usual ones that it does not, 0 none."""
        f.seek(at)
        header = f.read(16)
        if len(header) >= 10 and raw_id3v2(header) or len(header) == 16 and header[:8] == b"APETAGEX":
            return header, 3
        if len(header) < 8:
            return None, 0
        if header[:4] in TRAILING_CHUNK_IDS or header[:4] in (b"RIFF", b"FORM"):
            return header, 3
        fits = at + 8 + struct.unpack(f"{endian}I", header[4:8])[0] <= size
        usual, printable = chunk_id(header), all(0x20 <= c <= 0x7E for c in header[:4])
        return (header, 2) if usual and fits else (header, 1) if (printable and fits) or usual else (None, 0)

    pos, odd = end, declared & 1
    while pos + 8 <= size:
        header, sure = reading(pos)
        if odd:  # a writer may have left out the pad byte after an odd-sized chunk: the surer reading wins, and
            # of two as sure the earlier (a written pad byte is 0, which no id begins with)
            earlier, earlier_sure = reading(pos - 1)
            if earlier_sure > sure or earlier_sure == sure > 0:
                pos, header = pos - 1, earlier
        if header is None:
            zeros = _zero_run(f, pos, size)  # a writer's zero padding between chunks, or before an appended tag
            if zeros and pos + zeros + 8 <= size and reading(pos + zeros)[1] >= 2:
                pos, odd = pos + zeros, 0
                continue
            break
        if header[:4] in (b"RIFF", b"FORM") and header[8:12] in (b"WAVE", b"AIFF", b"AIFC"):
            return (f"2 {kind} files one after another (files joined, as `cat a.{kind.lower()} b.{kind.lower()}` "
                    "joins them): the decoder reads the first only; split them into files of their own")
        if raw_id3v2(header):  # an ID3v2 tag a tagger appended whole, outside any chunk
            pos, odd = pos + max(id3v2_length(header), 10), 0
            continue
        if header[:8] == b"APETAGEX" and len(header) == 16:  # an APEv2 tag: its 32-byte header, items, footer
            pos, odd = pos + 32 + struct.unpack("<I", header[12:16])[0], 0
            continue
        csize = struct.unpack(f"{endian}I", header[4:8])[0]
        present = size - pos - 8
        if csize > present > CHUNKS_AFTER_AUDIO_SLACK and header[:4] not in TRAILING_CHUNK_IDS:
            return (f"its {kind} header declares {declared} bytes of audio, and after them come {present + 8} bytes "
                    f"that begin with {header[:4].decode('ascii', 'replace')!r}, which as a chunk would run "
                    f"{csize - present} bytes past the file's end: audio past a wrong header (written before the "
                    "recording ended, or of another file) that the decoder would leave out, or a file cut short "
                    "inside a chunk this check does not know; write the file again from its source")
        pos, odd = pos + 8 + csize + (csize & 1), csize & 1
    if pos >= size - CHUNKS_AFTER_AUDIO_SLACK:
        return None
    f.seek(pos)
    rest = f.read()
    if rest[-128:-125] == b"TAG":  # an ID3v1 tag that a tagger appended
        rest = rest[:-128]
    if rest[-32:-24] == b"APETAGEX":  # an APEv2 tag's footer: its size counts its items and itself, not its header
        size_, flags = struct.unpack("<I", rest[-20:-16])[0], struct.unpack("<I", rest[-12:-8])[0]
        rest = rest[:max(len(rest) - size_ - (32 if flags & 0x80000000 else 0), 0)]
    padded = rest.rstrip(rest[-1:])  # a writer's padding: one byte value repeated (zeros, 0xFF), not audio
    unread = len(padded) if len(rest) - len(padded) >= 64 else len(rest)
    if unread <= CHUNKS_AFTER_AUDIO_SLACK:
        return None
    return (f"its {kind} header declares {declared} bytes of audio, and {unread} bytes after them are no chunk: a "
            "wrong header (written before the recording ended, or of another file) that the decoder would read to "
            "its declared length, leaving the rest out; write the file again from its source")


def _crc8(data: bytes) -> int:
    """CRC-8 of polynomial x^8 + x^2 + x + 1, initial 0: a FLAC frame header's checksum."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _flac_coded_number(data: bytes, pos: int) -> tuple[int, int] | None:
    """The frame or sample number FLAC codes as UTF-8 does (up to 7 bytes) at ``data[pos]``: (value, bytes)."""
    if pos >= len(data):
        return None
    first = data[pos]
    length = next((n for n, top in ((1, 0x80), (2, 0xE0), (3, 0xF0), (4, 0xF8), (5, 0xFC), (6, 0xFE), (7, 0xFF))
                   if first < top and (n == 1 or first >= (0xFF << (8 - n)) & 0xFF)), None)
    if length is None or pos + length > len(data):
        return None
    value = first & (0x7F >> length if length > 1 else 0x7F)
    for byte in data[pos + 1:pos + length]:
        if byte & 0xC0 != 0x80:
            return None
        value = value << 6 | (byte & 0x3F)
    return value, length


def flac_frame_header(data: bytes, pos: int, fixed_block: int) -> tuple[int, int] | None:
    """The FLAC frame whose header begins at ``data[pos]``: (its first sample, its samples), or None where the bytes
    there are no frame header (its sync code, reserved bits and CRC-8 checked; RFC 9639, section 9.1).

    Parameters
    ----------
    data : bytes
    pos : int
    fixed_block : int
        STREAMINFO's block size: a fixed-block-size stream numbers its frames, not its samples.
    """
    if pos + 6 > len(data) or data[pos] != 0xFF or data[pos + 1] not in (0xF8, 0xF9):
        return None
    size_code, rate_code = data[pos + 2] >> 4, data[pos + 2] & 0x0F
    if size_code == 0 or rate_code == 15 or data[pos + 3] >> 4 > 10 or data[pos + 3] & 1:
        return None
    number = _flac_coded_number(data, pos + 4)
    if number is None:
        return None
    at = pos + 4 + number[1]
    extra = {6: 1, 7: 2}.get(size_code, 0)
    if at + extra + {12: 1, 13: 2, 14: 2}.get(rate_code, 0) >= len(data):
        return None
    if size_code == 1:
        block = 192
    elif size_code <= 5:
        block = 576 << (size_code - 2)
    elif size_code <= 7:
        block = int.from_bytes(data[at:at + extra], "big") + 1
    else:
        block = 256 << (size_code - 8)
    at += extra + {12: 1, 13: 2, 14: 2}.get(rate_code, 0)
    if _crc8(data[pos:at]) != data[at]:
        return None
    return (number[0] if data[pos + 1] & 1 else number[0] * fixed_block), block


def flac_frames_beyond_problem(head: bytes, tail: bytes) -> str | None:
    """A FLAC stream whose frames run on past the length its STREAMINFO declares, or None.

    libsndfile stops at the declared number of samples: a header of an edit, or of another file, would leave the
    rest out without a word. The last frames of ``tail`` are found by their headers (two in a row, the second
    beginning where the first ends, so that coded audio that holds a header's bytes by chance is not taken for one).

    Parameters
    ----------
    head : bytes
        The file's first bytes (its STREAMINFO).
    tail : bytes
        Its last bytes (a megabyte holds its last frames).
    """
    if head[:4] != b"fLaC" or len(head) < 26 or head[4] & 0x7F != 0:
        return None
    total = int.from_bytes(head[21:26], "big") & 0xFFFFFFFFF
    rate = int.from_bytes(head[18:21], "big") >> 4
    fixed_block = int.from_bytes(head[10:12], "big")
    if total == 0 or rate == 0:
        return None
    later: dict[int, int] = {}  # first sample of each header found so far (later in the file) -> its frame's samples
    at = len(tail)
    while (at := tail.rfind(b"\xff", 0, at)) >= 0:
        frame = flac_frame_header(tail, at, fixed_block)
        if frame is None:
            continue
        first, block = frame
        if first + block in later:  # a frame and the one after it: headers, not coded audio
            if first + block < total:
                return None
            return (f"its FLAC header declares {total} samples ({total / rate:.2f} s), and its frames run on past "
                    f"{(first + block) / rate:.2f} s: a wrong header (of an edit, or of another file) that the decoder "
                    "would read to its declared length, leaving the rest out; write the file again from its source")
        later[first] = block
    return None
