"""Audio decoding: .au/.wav/.flac/.ogg through libsndfile, .mp3 through libsndfile or audioread.

Every failure is an :class:`~mgrfaults.errors.AudioError` naming the file and the problem.
libsndfile silently reads a truncated file up to where it ends, and opens random bytes with
an .au name as header-less raw audio; both are real in GTZAN-like collections (jazz.00054),
so the headers of AU and WAV files are checked here before decoding.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import os
import struct
from pathlib import Path

import numpy as np
import soundfile as sf

from mgrfaults.data.containers import UNKNOWN_SIZES
from mgrfaults.data.containers import id3v2_length as _id3v2_length
from mgrfaults.errors import AudioError, NoMusicError
from mgrfaults.config import section_defaults

# the schema's defaults (workflow/schemas/config.schema.yaml): the one place a default is written
_DATASET = section_defaults("dataset")

log = logging.getLogger(__name__)

AU_MAGIC = b".snd"
AU_HEADER = 24
"""Bytes of an AU header's six fields (magic, data offset, data size, encoding, rate, channels): the audio starts
at the declared offset, or here where the offset points inside them (libsndfile then reads from here)."""
MIN_SAMPLE_RATE = 1000
"""Hz. Below this a header is corrupt: no music recording is sampled slower (telephony uses 8000)."""
MAX_SAMPLE_RATE = 768_000
"""Hz. The highest rate of audio interfaces; a larger header value is corrupt (and resampling it allocates gigabytes)."""
MAX_CHANNELS = 64
"""A header declaring more channels than this is corrupt (multichannel film formats use up to 24)."""
MP3_LENGTH_TAGS = (b"Xing", b"Info", b"VBRI")
"""Headers in an MP3's first frame that hold the encoder's frame count: with one, the length libsndfile reports is
the file's own; without, libmpg123 estimates it from the file's size."""
MP3_FRAME_SAMPLES = 1152
"""Samples in one MPEG-1 Layer III frame: an MP3 that decodes short of its declared length by more than two frames
(and 1 %) was cut."""
SILENCE_SWING = 2.0**-10
"""Full scale (-60 dBFS, 32 steps of 16-bit audio). An excerpt whose samples swing less than this around their middle
holds no music to analyse: all zeros, a constant, or the dither of an empty recording. Music whose loudest moment is
60 dB below full scale would be inaudible at any usual playback gain; the same floor marks near-silence for the
distortion detector (:data:`mgrfaults.faults.distortion.MIN_PEAK`)."""
WHITE_ROUGHNESS = 1.2
"""Mean absolute step between samples over the mean absolute sample (:func:`roughness`). Independent samples
measure sqrt(2) (Gaussian) or 4/3 (uniform): white noise; recorded music, whose energy lies far below the Nyquist
frequency, measures below 1 (0.08-0.72 over the synthetic default's 150 excerpts)."""
NO_SIGNAL_SWING = 2.0**-15
"""Full scale (-90.3 dBFS, one step of 16-bit audio). Samples of a file stored in 16 bits or fewer that swing less than
this around their middle differ by less than one of its steps: no signal at all (digital silence, or that and a stray
bit), which no listening makes music, so that :func:`no_signal_problem` refuses it whatever ``dataset.trust_audio``
says. A 24-bit, 32-bit or float file resolves music below it (a recording made at the lowest gain): near-silence
there, a heuristic's finding."""

SIXTEEN_BITS_OR_FEWER = ("PCM_16", "PCM_S8", "PCM_U8", "ULAW", "ALAW", "DPCM_8", "DPCM_16")
"""libsndfile's subtypes whose samples are 16-bit or coarser steps: where :data:`NO_SIGNAL_SWING` is no signal."""

CANCEL_RATIO = 0.1
"""How much smaller (20 dB) than every channel a multichannel file's mono mix, the analysed signal, is where its
channels cancel (:func:`channels_cancel_problem`), in peak swing and in RMS: one channel the other inverted, as written
to 16 bits (the mix is then a leftover of one step) or through a lossy codec (a leftover some 25 dB down). Independent
channels mix to about their own level; a silent channel beside another mixes to half of it, 6 dB down; an anti-phase
click or crackle of a record over quiet music drops from the mix's peak, not from its RMS."""

MOSTLY_SILENT = 0.9
"""Share of an excerpt's samples at exactly 0 from which it holds no music to analyse in most of its length (a
click, or a few seconds of a song, in a file of digital silence). Music has exact zeros only where it rests."""
SMOOTH_ROUGHNESS = 0.9
"""Roughness below which the samples, their two bytes exchanged, are a signal rather than noise."""
SWAP_GAIN = 3.0
"""How many times smoother the samples must turn when their bytes are exchanged to count as byte-swapped, where
they are not white as stored: quiet music byte-swapped (peaking at -20 to -30 dBFS) keeps its low bytes' slow
steps and measures 0.5-1.2 as stored. Music as it should be turns rougher when its bytes are exchanged: stored over
exchanged at most 1.0 over the synthetic default's excerpts at 0 to -50 dBFS."""


def _actual_format(head: bytes) -> str | None:
    """The format the first 12 bytes of a file say it is, where they name one of the decodable ones."""
    if head[:4] == AU_MAGIC:
        return "AU"
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "WAV"
    if head[:4] == b"fLaC":
        return "FLAC"
    if head[:4] == b"OggS":
        return "Ogg"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "AIFF"
    if head[:4] == b"caff":
        return "CAF"
    if head[:8] == b"riff\x2e\x91\xcf\x11":  # the first half of Wave64's riff GUID
        return "Wave64"
    if head[:3] == b"ID3" or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2", b"\xff\xfa"):
        return "MP3"  # an ID3 tag, or the frame header of MPEG-1/2 Layer III
    return None


_ARTICLE = {"AU": "an", "WAV": "a", "FLAC": "a", "Ogg": "an", "MP3": "an", "AIFF": "an", "CAF": "a", "Wave64": "a"}
_HEADER = {"AU": "'.snd'", "WAV": "RIFF/WAVE"}
"""The formats whose headers are checked here (:func:`_au_header_problem`, :func:`_wav_header_problem`), and the
header each begins with."""
_SUFFIX_FORMAT = {".au": "AU", ".snd": "AU", ".wav": "WAV", ".flac": "FLAC", ".ogg": "Ogg", ".oga": "Ogg",
                  ".opus": "Ogg", ".mp3": "MP3", ".aif": "AIFF", ".aiff": "AIFF", ".aifc": "AIFF", ".caf": "CAF",
                  ".w64": "Wave64"}
"""The format each extension names."""


def _not_this_format(path: Path, head: bytes, expected: str) -> str:
    """The problem of a file whose header is not ``expected``'s: a wrong extension where the bytes name another
    format, else a corrupt file."""
    actual = _actual_format(head)
    if actual and actual != expected:
        return (f"{_ARTICLE[actual]} {actual} file named as {expected} ({path.suffix}): rename it with its format's "
                "extension (a file is checked as its extension says)")
    return f"not {_ARTICLE[expected]} {expected} file: the {_HEADER[expected]} header is missing (corrupt file?)"


def _misnamed(path: Path, actual: str) -> str:
    """Words for a file whose extension names a format other than its content's, to follow its problem; "" where
    the extension is the content's."""
    named = _SUFFIX_FORMAT.get(path.suffix.lower())
    if named == actual:
        return ""
    as_what = f"named as {named} ({path.suffix})" if named else f"named {path.suffix or 'without an extension'}"
    return f" (it is {_ARTICLE[actual]} {actual} file, {as_what}: rename it with its format's extension)"


def _au_header_problem(header: bytes, size: int) -> str | None:
    """What is wrong with the header of a file that begins with the AU magic ``.snd``, or None.

    Parameters
    ----------
    header : bytes
        The file's first :data:`AU_HEADER` bytes (fewer where it is shorter).
    size : int
        The file's size in bytes.
    """
    if len(header) < AU_HEADER:
        return f"truncated: the file ends inside its {AU_HEADER}-byte AU header ({size} bytes)"
    offset, data_size = struct.unpack(">II", header[4:12])
    offset = max(offset, AU_HEADER)  # an offset inside the header: libsndfile reads the audio from the header's end
    if offset > size:
        return (f"its header puts the audio at byte {offset}, past the file's end ({size} bytes): a corrupt header, "
                "or a file cut short inside its header; write the file again from its source")
    if data_size != 0xFFFFFFFF and offset + data_size >= 2**31 and data_size in UNKNOWN_SIZES:
        # libsndfile adds the two as 32-bit signed integers: past 2**31 - 1 its length of the audio comes out as 0
        return (f"its header declares {data_size} bytes of audio (0x{data_size:X}, which writers streaming to a pipe "
                f"leave for 'unknown'), and {size - offset} bytes follow: libsndfile reads no sample of them under "
                f"that size; set the size field (bytes 8-11) to 0xFFFFFFFF, the standard 'unknown', or write the file "
                "again from its source")
    if data_size == 0 and size > offset:
        return (f"its header declares 0 bytes of audio, and {size - offset} bytes follow: a header never completed (a "
                "recording or conversion stopped before its end); write the file again from its source")
    if data_size not in UNKNOWN_SIZES and 0 < 2 * data_size < size - offset:
        # AU has no chunks after its audio: libsndfile would read the declared part alone, a fraction of the file
        return (f"its header declares {data_size} bytes of audio, and {size - offset} bytes follow it: a wrong header "
                "(of another file, or written before the recording ended); write the file again from its source")
    if data_size not in UNKNOWN_SIZES and offset + data_size > size:
        if _size_field_counts_the_header("AU", data_size, size - offset, offset):
            return None
        return f"truncated: the header promises {data_size} bytes of audio, the file holds {max(size - offset, 0)}"
    return None


SIZE_FIELD_SLACK = 128
"""Bytes (64 16-bit samples, 3 ms at 22.05 kHz) that a size field may declare beyond the audio that follows it and
the file still count as whole: the header counted in it (AU 24-64 bytes, WAV 44), or a frame off."""


def _size_field_counts_the_header(container: str, declared: int, available: int, header: int) -> bool:
    """Whether a size field larger than the audio that follows it counts the header too, or is a few bytes off:
    the file is whole, libsndfile reads every sample (it takes the file's length), and nothing is missing but at
    most ``header`` bytes (a millisecond at 22.05 kHz). Some writers store the whole file's size in an AU's size
    field, or a WAV's data size a frame off (audit 50: complete excerpts were refused as truncated); at most
    :data:`SIZE_FIELD_SLACK` bytes."""
    short = declared - available
    # at most a canonical header's worth (AU 24 to 64 bytes with its note, WAV 44): a header of kilobytes (bext, iXML
    # chunks before the data) is no licence to take a file cut by kilobytes for whole (audit 51)
    if 0 < short <= min(header, SIZE_FIELD_SLACK):
        log.info("%s size field: %d bytes of audio declared, %d follow: the field counts the header, or is %d bytes "
                 "off; the audio is read to the file's end", container, declared, available, short)
        return True
    return False


def _wav_header_problem(path: Path, size: int) -> str | None:
    """What is wrong with the header of a file that begins with ``RIFF....WAVE`` or ``RF64....WAVE``, or None: a
    ``data`` chunk that promises more than the file holds, or less than follows it
    (:func:`~.containers.chunks_after_audio_problem`)."""
    from mgrfaults.data import containers

    with open(path, "rb") as f:
        riff = f.read(12)
        if riff[:4] == b"RF64":
            return None  # 64-bit sizes live in a ds64 chunk: container_problem reads them
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return "truncated: no 'data' chunk"
            cid, csize = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"data":
                available = size - f.tell()
                if csize == 0 and available > 0:
                    # libsndfile then reads no sample: a recording stopped before its writer filled the header in
                    return (f"its header declares 0 bytes of audio, and {available} bytes follow: a header never "
                            "completed (a recording or conversion stopped before its end); write the file again from "
                            "its source")
                if csize > available and csize not in UNKNOWN_SIZES:
                    if _size_field_counts_the_header("WAV data", csize, available, f.tell()):
                        return None  # the audio runs to the file's end
                    return f"truncated: the header promises {csize} bytes of audio, the file holds {available}"
                if csize in UNKNOWN_SIZES:
                    return None  # the audio runs to the file's end
                return containers.chunks_after_audio_problem(f, f.tell() + csize + (csize & 1), size, "<", "WAV",
                                                             csize)
            f.seek(csize + (csize & 1), 1)


def header_problem(path: Path, size: int) -> str | None:
    """What is wrong with an AU or WAV file's header, judged by the file's content, whatever its extension; None
    for a sound header, or for another format (:func:`container_problem` reads those).

    libsndfile reads a file by its content: a WAV or AU cut short under a ``.flac`` name decodes to its first part
    as under its own. A file named ``.au``/``.snd`` or ``.wav`` whose content is not that format is refused (named
    as the format it is, or as corrupt); one of these two formats under another extension has the format it is
    named in its problem. A file of another format (WAV, AIFF, FLAC...) behind an ID3v2 tag is refused, named.
    """
    with open(path, "rb") as f:
        head = f.read(AU_HEADER)  # an AU's whole header: the other formats are told by their first 12 bytes
        if tag := _id3v2_length(head):
            behind, at = _behind_id3v2(f, tag)
            if behind not in (None, "MP3"):
                return (f"{_ARTICLE[behind]} {behind} file with an ID3v2 tag in front of its header ({at} bytes): "
                        "ID3v2 tags belong to MP3 files, and libsndfile does not recognise the file behind one; remove "
                        f"the file's first {at} bytes (tail -c +{at + 1} in > out), or write the file again from its "
                        "source")
    actual, named = _actual_format(head), _SUFFIX_FORMAT.get(path.suffix.lower())
    if named in _HEADER and actual != named:
        return _not_this_format(path, head, named)
    if actual == "AU":
        problem = _au_header_problem(head, size)
    elif actual == "WAV":
        problem = _wav_header_problem(path, size)
    else:
        return None
    return problem and problem + _misnamed(path, actual)


ID3_SLACK = 512
"""Bytes either side of where an ID3v2 tag says it ends that are searched for another format's header: a tag whose
size field is off by a few bytes (a faulty tagger) still has its format named."""


def _behind_id3v2(f, tag: int) -> tuple[str | None, int]:
    """The format of what follows an ID3v2 tag of ``tag`` bytes in the open file ``f``, and the byte it begins at:
    where the tag says it ends, else the first header of a known format within :data:`ID3_SLACK` bytes of it."""
    f.seek(tag)
    behind = _actual_format(f.read(12))
    if behind:
        return behind, tag
    start = max(10, tag - ID3_SLACK)
    f.seek(start)
    window = f.read(tag + ID3_SLACK - start + 12)
    found = sorted(i for magic in (AU_MAGIC, b"RIFF", b"RF64", b"FORM", b"fLaC", b"OggS", b"caff", b"riff")
                   if (i := window.find(magic)) >= 0 and _actual_format(window[i:i + 12]))
    return (_actual_format(window[found[0]:found[0] + 12]), start + found[0]) if found else (None, tag)


def _mp3_declares_length(path: Path) -> bool:
    """Whether the first MPEG frame (after an ID3v2 tag) holds a Xing, Info or VBRI header (:data:`MP3_LENGTH_TAGS`)."""
    with open(path, "rb") as f:
        f.seek(_id3v2_length(f.read(10)))
        block = f.read(4096)
    sync = next((i for i in range(len(block) - 1) if block[i] == 0xFF and block[i + 1] & 0xE0 == 0xE0), None)
    # the Xing/Info header follows the side information (offset 13, 21 or 36 of the frame), VBRI sits at 36
    return sync is not None and any(t in block[sync + 4:sync + 44] for t in MP3_LENGTH_TAGS)


def check_mp3_length(path: Path, declared: int, requested: int, decoded: int, sample_rate: int) -> None:
    """Refuse an MP3 cut short: libmpg123 decodes what is there without an error, and only a length header tells.

    Parameters
    ----------
    path : Path
    declared : int
        Samples per channel the stream reports (libsndfile's ``frames``).
    requested : int
        Samples asked for; -1: all.
    decoded : int
        Samples decoded.
    sample_rate : int
        Hz, for the message.

    Raises
    ------
    AudioError
        When the file decodes short of ``min(declared, requested)`` by more than two MPEG frames and 1 %, and its
        first frame holds a length header (:func:`_mp3_declares_length`); without one, the declared length is an
        estimate and a short decode proves nothing.
    """
    expected = declared if requested < 0 else min(declared, requested)
    if expected - decoded > max(2 * MP3_FRAME_SAMPLES, 0.01 * expected) and _mp3_declares_length(path):
        raise AudioError(path, f"truncated: its header declares {declared / sample_rate:.2f} s of audio, "
                               f"the file decodes to {decoded / sample_rate:.2f} s")


def check_mp3_frames(path: Path, requested: int, decoded: int, sample_rate: int) -> None:
    """Refuse an MP3 that holds more audio than libmpg123 decodes of it: without a length header, its length is
    estimated from the first frame's bitrate, and libsndfile reads no further; joined files (``cat a.mp3 b.mp3``)
    decode as the first alone.

    Parameters
    ----------
    path : Path
    requested : int
        Samples per channel asked for; -1: all.
    decoded : int
        Samples per channel decoded.
    sample_rate : int
        Hz, the stream's.

    Raises
    ------
    AudioError
        When the file's frames (:func:`~.containers.mpeg_stream_samples`) hold more than ``decoded`` (or than
        ``requested``, the smaller) by more than four MPEG frames and 1 %: the encoder's delay and padding, and a
        length frame, are a frame or three.
    """
    from mgrfaults.data import containers

    held, rate = containers.mpeg_stream_samples(path.read_bytes(),
                                                enough=None if requested < 0 else requested + 8 * MP3_FRAME_SAMPLES)
    expected = held if requested < 0 else min(held, requested)
    if rate == sample_rate and expected - decoded > max(4 * MP3_FRAME_SAMPLES, 0.01 * expected):
        least = "at least " if requested >= 0 and held >= requested else ""  # counted as far as needed
        raise AudioError(path, f"its MPEG frames hold {least}{held / rate:.2f} s of audio, and the decoder reads "
                               f"{decoded / rate:.2f} s: an MP3 without a length header whose bitrate varies (its "
                               "length is estimated from its first frame), or files joined (`cat a.mp3 b.mp3`: the "
                               "first one's length header declares its own audio alone); write it again whole, e.g. "
                               "`ffmpeg -i in.mp3 out.flac`")


def _read_unseekable(f: sf.SoundFile, frames: int, block: int = 65536) -> np.ndarray:
    """Read ``frames`` frames (-1: all) of a file libsndfile cannot seek in (GSM 6.10, G.721/G.723 ADPCM), which it
    reads only by counts of frames: block by block until a short block ends the file."""
    out, left = [], frames
    while left != 0:
        got = f.read(frames=block if left < 0 else min(block, left), dtype="float32", always_2d=True)
        out.append(got)
        left = left - len(got) if left > 0 else left
        if len(got) < block and (left < 0 or len(got) == 0):
            break
    return np.concatenate(out) if out else np.zeros((0, f.channels), np.float32)


def _read_pcm16(f: sf.SoundFile, path: Path, frames: int) -> np.ndarray:
    """The stored 16-bit integers of ``frames`` frames (-1: all) of a seekable PCM_16 file, shape (n, channels).

    An AU file's samples (GTZAN's format: big-endian after a header that gives their offset) are read by numpy,
    about six times faster than libsndfile's byte swap; any other container's, by libsndfile as integers (converting
    them to float here costs less than its own conversion). The same samples as ``f.read(dtype='float32')`` times
    32768, to the bit: ``frames`` is clipped to the file's, whose count libsndfile took from the same header. An AU
    whose offset points inside its own 24-byte header (:data:`AU_HEADER`) is left to libsndfile, which reads it from
    the header's end: seeking to the offset would read the header's words as samples.
    """
    n = int(f.frames) if frames < 0 else min(frames, int(f.frames))
    if f.format == "AU":
        with open(path, "rb") as raw:
            head = raw.read(8)
            # big-endian; libsndfile also reads a little-endian variant, left to it below
            if head[:4] == AU_MAGIC and (offset := struct.unpack(">I", head[4:8])[0]) >= AU_HEADER:
                raw.seek(offset)
                stored = np.fromfile(raw, dtype=">i2", count=n * f.channels)
                if stored.size == n * f.channels:
                    return stored.astype(np.int16).reshape(n, f.channels)
    return f.read(frames=n, dtype="int16", always_2d=True)


def _pcm16_byte_order(fmt: str, path: Path) -> str | None:
    """The byte order of a 16-bit PCM file's samples as its container fixes it: little-endian in RIFF's (WAV, W64,
    RF64), an AU's by its magic (``.snd`` big-endian, ``dns.`` little); None for the others (AIFF-C may hold either,
    FLAC stores no bytes)."""
    if fmt in ("WAV", "WAVEX", "W64", "RF64"):
        return "<"
    if fmt == "AU":
        with open(path, "rb") as raw:
            return ">" if raw.read(4) == AU_MAGIC else "<"
    return None


UNREADABLE_SUBTYPES = ("DWVW_12", "DWVW_16", "DWVW_24", "DWVW_N")
"""libsndfile's subtypes it opens but cannot read (its DWVW decoder fails on its first seek: "Internal psf_fseek()
failed.")."""
STREAM_FORMATS = {"FLAC": "FLAC", "OGG": "Ogg", "MPEG": "MPEG"}
"""libsndfile's formats whose audio is a coded stream, and their names: a read error there is the stream's damage."""


def read_error_cause(fmt: str, subtype: str) -> str:
    """What a libsndfile error while reading a file it opened means, in words to follow its own (which name no
    cause: "Internal psf_fseek() failed.", "flac decoder lost sync.").

    Parameters
    ----------
    fmt, subtype : str
        libsndfile's format and subtype of the file (``SoundFile.format``, ``.subtype``).

    Returns
    -------
    str
        An encoding libsndfile cannot read (:data:`UNREADABLE_SUBTYPES`): convert it; a coded stream
        (:data:`STREAM_FORMATS`): damaged or cut short, copy or encode it again; else both possibilities, for
        libsndfile's words do not tell them apart.
    """
    if subtype in UNREADABLE_SUBTYPES:
        return f" (its encoding, {fmt} {subtype}, is one libsndfile opens but cannot read: convert it to 16-bit PCM)"
    if fmt in STREAM_FORMATS:
        return (f" (a damaged or truncated {STREAM_FORMATS[fmt]} stream: the file was cut short or some of its bytes "
                "are damaged; copy it again, or encode it again from its source)")
    return (f" (its encoding is {fmt} {subtype}: the file is damaged or cut short, or its encoding is one libsndfile "
            "cannot read; copy it again, or convert it again from its source)")


def _decode_audioread(path: Path, max_duration: float | None) -> tuple[np.ndarray, int]:
    import audioread

    try:
        with audioread.audio_open(str(path)) as f:
            sr, channels = f.samplerate, f.channels
            blocks, n, limit = [], 0, None if max_duration is None else int(max_duration * sr) * channels
            for buf in f:
                block = np.frombuffer(buf, dtype="<i2")
                blocks.append(block)
                n += len(block)
                if limit is not None and n >= limit:
                    break
    except Exception as e:  # audioread raises many backend-specific types, some with no message
        raise AudioError(path, f"cannot decode: {_describe(e)}") from e
    y = np.concatenate(blocks).astype(np.float32) / 32768.0 if blocks else np.zeros(0, np.float32)
    return y.reshape(-1, channels), sr


def _describe(error: Exception) -> str:
    """An exception's message, or its type when it has none (audioread's NoBackendError)."""
    text = str(error).strip()
    name = type(error).__name__
    if name == "NoBackendError":
        return "no decoder recognises the file (corrupt, or not audio)" + (f": {text}" if text else "")
    return text or f"{name} (corrupt, or not audio)"


def check_stream(path, sample_rate: int, channels: int) -> None:
    """Refuse header values no recording has: a sample rate outside [1 kHz, 768 kHz], more than 64 channels.

    Raises
    ------
    AudioError
        Naming the file, the value and the accepted range.
    """
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise AudioError(
            path, f"sample rate {sample_rate} Hz is outside [{MIN_SAMPLE_RATE}, {MAX_SAMPLE_RATE}] Hz (corrupt header?)"
        )
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(path, f"{channels} channels: outside [1, {MAX_CHANNELS}] (corrupt header?)")


ISOLATED_SHARE = 1e-3
"""Share of a float excerpt's samples beyond [-1, 1] up to which they are isolated overs (a decoder's overshoot of a
click, a recorder's transient, a corrupt sample), clipped to [-1, 1], not a hot master, rescaled."""


def limit_peak(path, y: np.ndarray) -> np.ndarray:
    """Samples of float audio must lie in [-1, 1]: finite samples beyond it are brought back, with a warning.

    Float WAV/AU may hold any value; unscaled (+-300) or garbage (+-4e29) samples would overflow the
    features (float16 frames become inf). Where many samples lie beyond [-1, 1] (a hot float master, unscaled
    samples) the excerpt is rescaled to peak 1, which keeps the waveform's shape. Where few do
    (:data:`ISOLATED_SHARE`: a lossy decoder's overshoot of a full-scale click, a float recorder's transient, a
    corrupt sample at 1e6), they are clipped to [-1, 1], as an integer format would hold them: rescaling to them would
    lower the music by their height (to near silence for a corrupt sample). The warning names the file.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32, finite

    Returns
    -------
    np.ndarray, shape (n_samples,), float32 in [-1, 1]
    """
    peak = float(np.max(np.abs(y), initial=0.0))
    if peak <= 1.0:
        return y
    beyond = int(np.count_nonzero(np.abs(y) > 1.0))
    if beyond <= ISOLATED_SHARE * y.size:
        log.warning("%s: %d sample(s) reach %.3g, outside [-1, 1]: clipped to [-1, 1] (%.2g %% of the samples; "
                    "rescaling would lower the music by %.1f dB)", path, beyond, peak, 100 * beyond / y.size,
                    20 * np.log10(peak))
        return np.clip(y, -1.0, 1.0)
    log.warning("%s: samples reach %.3g, outside [-1, 1]: rescaled to peak 1", path, peak)
    return (y.astype(np.float64) / peak).astype(np.float32)


def audio_info(path) -> dict:
    """Header facts of an audio file, without decoding: ``sample_rate`` (Hz), ``duration`` (s), ``channels``.

    Raises
    ------
    AudioError
        Missing, empty, corrupt or truncated file.
    """
    path = Path(path)
    _check_file(path)
    if path.suffix.lower() == ".mp3":
        y, sr = decode(path)
        return {"sample_rate": sr, "duration": len(y) / sr, "channels": 1}
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioError(path, f"cannot read the header: {_describe(e)}") from e
    check_stream(path, int(info.samplerate), int(info.channels))
    return {"sample_rate": int(info.samplerate), "duration": float(info.frames) / info.samplerate, "channels": info.channels}


#: how much longer than ``dataset.max_duration`` a file may be before the data stage and the profile say it was
#: cut: GTZAN's "30 s" excerpts run a little over 30 s (661,794 samples at 22050 Hz, 30.01 s, for most), and a cut
#: of such a margin changes nothing a reader needs to know
CUT_MARGIN = 1.1


def stored_format(path) -> tuple[str, int | None, float | None]:
    """How a file is stored, from its name and header alone (nothing decoded): its format (the extension, lower
    case: ``au``, ``wav``, ``mp3``), its native sample rate in Hz and its duration in seconds (None where no header
    gives them; an MP3's duration is its header's estimate).

    A genre whose files alone are stored one way (all MP3 at 44.1 kHz where the others are WAV at 22.05 kHz) can be
    told apart by that: a production confound the decoded, resampled audio still carries (codec artefacts, a band
    limit). The duration says which files ``dataset.max_duration`` cut.
    """
    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    try:
        info = sf.info(str(path))
        return kind, int(info.samplerate), float(info.frames) / info.samplerate
    except Exception:  # libsndfile without MP3, or a header it cannot read: audioread reads MP3 headers
        pass
    try:
        import audioread

        with audioread.audio_open(str(path)) as f:
            return kind, int(f.samplerate), float(f.duration)
    except Exception:  # audioread raises backend-specific types; the data stage reports undecodable files itself
        return kind, None, None


def _check_file(path: Path) -> None:
    if not path.exists():
        if path.is_symlink():
            raise AudioError(path, f"broken symbolic link (its target {os.readlink(path)!r} is missing, or the links loop)")
        raise AudioError(path, "file not found")
    if not path.is_file():
        raise AudioError(path, "not a regular file")
    if not os.access(path, os.R_OK):
        raise AudioError(path, "permission denied: the file is not readable (check its mode and owner)")
    size = path.stat().st_size
    if size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    problem = header_problem(path, size) or container_problem(path, size)
    if problem:
        raise AudioError(path, problem)


CONTAINER_HEAD = 65536
"""Bytes read to find a container's length fields (its chunks before the audio); an Ogg file is read whole."""


def container_problem(path: Path, size: int) -> str | None:
    """What libsndfile would not say of a file's container: cut short, damaged or joined (:mod:`.containers`).

    Judged by the file's content, whatever its extension: Ogg (every page's checksum, its end), RF64, Wave64,
    AIFF/AIFF-C (the declared audio against the bytes present), FLAC (a header without the stream's length,
    streams joined, frames past the declared length).
    """
    from mgrfaults.data import containers

    with open(path, "rb") as f:
        magic = f.read(28)  # enough to tell the containers apart: an AU or a plain WAV needs no more read here
        if magic[:4] == containers.OGG_CAPTURE:
            return containers.ogg_problem(magic + f.read())
        if magic[:4] not in (b"RF64", b"riff", b"FORM", b"fLaC"):
            return None
        head = magic + f.read(CONTAINER_HEAD - len(magic))
    if head[:4] == b"RF64" and head[8:12] == b"WAVE":
        return containers.rf64_problem(head, size)
    if head[:4] == b"riff" and head[24:28] == b"wave":
        return containers.w64_problem(head, size)
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return containers.aiff_problem(head, size) or _after_aiff_sound(path, head, size)
    if problem := containers.flac_problem(head):
        return problem
    streams, tail = _scan_flac(path)
    return containers.flac_joined_problem(streams) or containers.flac_frames_beyond_problem(head, tail)


FLAC_TAIL = 1 << 20
"""Bytes kept of a FLAC file's end to find its last frames' headers (a frame of 4096 samples of 8 channels at 24
bits, stored verbatim, is 96 KiB)."""


def _after_aiff_sound(path: Path, head: bytes, size: int) -> str | None:
    """What follows an AIFF file's ``SSND`` chunk that its header does not declare
    (:func:`~.containers.chunks_after_audio_problem`), or None; ``head`` as for :func:`container_problem`."""
    from mgrfaults.data import containers

    for cid, csize, pos in containers.iff_chunks(head, ">"):
        if cid == b"SSND" and csize not in UNKNOWN_SIZES:
            with open(path, "rb") as f:  # the chunk's offset and block-size fields are no audio
                return containers.chunks_after_audio_problem(f, pos + 8 + csize + (csize & 1), size, ">", "AIFF",
                                                             max(csize - 8, 0))
    return None


FLAC_SCAN_BLOCK = 1 << 20
"""Bytes read at a time where a FLAC file is searched whole for a second stream (:func:`_scan_flac`)."""


def _scan_flac(path: Path) -> tuple[int, bytes]:
    """How many FLAC streams begin in the file (:func:`~.containers.flac_stream_starts`), and its last
    :data:`FLAC_TAIL` bytes, in one read: more than one stream where files were joined (``cat a.flac b.flac``), which
    libsndfile decodes as the first alone; the tail for :func:`~.containers.flac_frames_beyond_problem`. Read block
    by block (1.6 ms a 2.3-MB file: 30 s of noisy stereo at 44.1 kHz), each block with the 7 bytes before it, so that
    no start is split or counted twice."""
    from mgrfaults.data import containers

    count, tail = 0, b""
    with open(path, "rb") as f:
        while block := f.read(FLAC_SCAN_BLOCK):
            joined = tail[-7:] + block
            count += containers.flac_stream_starts(joined)
            tail = (tail + block)[-FLAC_TAIL:]
    return count, tail


def decode(path, max_duration: float | None = None, judge_content: bool = True) -> tuple[np.ndarray, int]:
    """Decode an audio file at its own sample rate, downmixed to mono.

    Parameters
    ----------
    path : str or Path
    max_duration : float, optional
        Seconds to decode from the start; ``None``: all.
    judge_content : bool
        Whether the samples are judged to hold music (:func:`content_problem`); ``False`` for a file listed in
        ``dataset.trust_audio``, taken as it decodes (the checks are heuristics).

    Returns
    -------
    y : np.ndarray, shape (n_samples,), float32 in [-1, 1]
        Float audio beyond [-1, 1] is rescaled to peak 1 with a logged warning (:func:`limit_peak`).
    sample_rate : int
        Hz, as stored in the file.

    Raises
    ------
    AudioError
        Missing, unreadable, broken-link, empty, corrupt or truncated file; a sample rate or
        channel count no recording has (:func:`check_stream`); non-finite samples; no signal at all
        (:func:`no_signal_problem`) or channels that cancel to a near-silent mix (:func:`channels_cancel_problem`),
        trusted or not.
    NoMusicError
        Near-silence, byte-swapped samples and the like (:func:`content_problem`), channels that cancel to a louder
        leftover, where ``judge_content``.
    """
    path = Path(path)
    _check_file(path)
    opened = None  # (format, subtype) once libsndfile has opened the file: a read error's cause depends on them
    try:
        with sf.SoundFile(str(path)) as f:
            if f.format == "RAW":
                raise AudioError(path, "no recognisable audio header (corrupt file?)")
            sr = int(f.samplerate)
            opened = (f.format, f.subtype)
            check_stream(path, sr, int(f.channels))
            frames = -1 if max_duration is None else int(round(max_duration * sr))
            stored16 = None  # 16-bit PCM's stored integers: the byte-order check reads them
            pcm16_order = None  # their byte order in the file, where its container fixes one
            if f.subtype == "PCM_16" and f.seekable():
                stored16 = _read_pcm16(f, path, frames)
                pcm16_order = _pcm16_byte_order(f.format, path)
                y = stored16 * np.float32(1.0 / 32768.0)  # libsndfile's own scale: exact, 2**-15
            else:
                y = f.read(frames=frames, dtype="float32", always_2d=True) if f.seekable() else _read_unseekable(f, frames)
            # integer samples decode into [-1, 1) and are finite: the float checks below are for float files
            integer = f.subtype.startswith(("PCM_", "ULAW", "ALAW")) or f.subtype in ("DPCM_8", "DPCM_16")
            subtype = f.subtype
            coded = subtype.startswith("PCM_") or subtype in COMPANDED  # what random bytes would decode from
            cut = frames >= 0 and int(f.frames) > frames
            if f.format == "MP3":
                check_mp3_length(path, int(f.frames), frames, y.shape[0], sr)
                check_mp3_frames(path, frames, y.shape[0], sr)
    except AudioError:
        raise
    except sf.LibsndfileError as e:
        if path.suffix.lower() != ".mp3":
            raise AudioError(path, f"cannot decode: {e.error_string}{read_error_cause(*opened) if opened else ''}") from e
        y, sr = _decode_audioread(path, max_duration)
        check_stream(path, sr, y.shape[1])
        stored16, pcm16_order, integer, coded = None, None, False, False
        subtype = None
        cut = max_duration is not None and y.shape[0] >= int(round(max_duration * sr))
    except PermissionError as e:
        raise AudioError(path, "permission denied: the file is not readable (check its mode and owner)") from e
    except (RuntimeError, ValueError, OSError) as e:
        raise AudioError(path, f"cannot decode: {_describe(e)}") from e
    if y.shape[0] == 0:
        raise AudioError(path, "no audio samples")
    mono = y.mean(axis=1, dtype=np.float64).astype(np.float32) if y.shape[1] > 1 else y[:, 0]
    if not integer and not np.all(np.isfinite(mono)):
        raise AudioError(path, "non-finite samples (NaN or inf)")
    # no signal, or channels that cancel to a near-silent mix, is refused whatever a file's trust; the other checks
    # (channels that cancel to a mix above near-silence among them) are heuristics, which a trusted file skips
    cancel = channels_cancel_problem(y, mono)
    if cancel and _swing(mono) < SILENCE_SWING:
        problem, heuristic = cancel, False
    else:
        extremes = float(np.min(mono)), float(np.max(mono))  # one pass, for both checks below
        problem = _no_signal(*extremes, mono.size, NO_SIGNAL_SWING if subtype in SIXTEEN_BITS_OR_FEWER else 0.0)
        heuristic = False
        if not problem and judge_content:
            problem, heuristic = cancel or content_problem(mono, stored16, y if coded else None,
                                                           companded_levels(subtype) if subtype in COMPANDED else None,
                                                           pcm16_order, extremes=extremes), True
    if problem:
        # judged on what the workflow analyses: a long file's silent beginning is all of a short excerpt
        where = f" (in the excerpt analysed: the file's first {max_duration:g} s, dataset.max_duration)" if cut else ""
        raise (NoMusicError if heuristic else AudioError)(path, problem + where)
    return (mono if integer else limit_peak(path, mono)), sr


def roughness(x: np.ndarray) -> float:
    """Mean absolute difference of consecutive samples over the mean absolute sample.

    Parameters
    ----------
    x : ndarray, shape (n_samples,)

    Returns
    -------
    float
        About sqrt(2) for white Gaussian noise, 4/3 for white uniform noise, below 1 for music; 0 for silence.
    """
    x = np.asarray(x, dtype=np.float64)
    level = float(np.mean(np.abs(x))) if x.size else 0.0
    return float(np.mean(np.abs(np.diff(x)))) / level if level > 0 and x.size > 1 else 0.0


def _spread_blocks(x: np.ndarray, block: int = 4096, n_blocks: int = 8) -> list[np.ndarray]:
    """``n_blocks`` blocks of ``block`` samples spread evenly over ``x`` (fewer where ``x`` is short): they measure
    a statistic of a whole excerpt as well as every sample, at a fraction of the cost."""
    starts = np.unique(np.linspace(0, max(x.size - block, 0), n_blocks).astype(int))
    return [x[i:i + block] for i in starts]


RANDOM_BINS = 16
"""Equal groups of a format's codes over which random data's samples fall evenly (:func:`random_data_problem`)."""
RANDOM_P = 1e-6
"""Chi-square p-value against even over :data:`RANDOM_BINS` groups of codes above which a channel's samples are as
even as random data's: random samples fall below it once in a million files; music, saturated noise (tanh of
Gaussian noise spreads its samples nearly evenly: within 0.8 points of 12.5 % in every eighth of full scale) and every
other signal measured fall far below (p < 1e-300 over a 30-s excerpt: ``test_audio.py``)."""
COMPANDED = ("ULAW", "ALAW")
"""libsndfile's subtypes of 8-bit companded codes (G.711 mu-law, A-law): random bytes under them decode to samples
gathered near 0, even over the codes, not over full scale (:func:`companded_levels`)."""


@functools.lru_cache(maxsize=None)
def companded_levels(subtype: str) -> np.ndarray:
    """The values libsndfile decodes the 256 codes of a companded subtype to, sorted (a value twice where two codes
    decode alike: mu-law's two zeros).

    Parameters
    ----------
    subtype : {"ULAW", "ALAW"}

    Returns
    -------
    ndarray of float32, shape (256,)
    """
    levels, _ = sf.read(io.BytesIO(bytes(range(256))), format="RAW", subtype=subtype, samplerate=8000, channels=1,
                        dtype="float32")
    return np.sort(levels)


def code_positions(x: np.ndarray, levels: np.ndarray | None = None) -> np.ndarray:
    """Samples placed on their format's codes, in [-1, 1]: random bytes spread evenly there, whatever the format.

    Parameters
    ----------
    x : ndarray, shape (n_samples,)
        One channel, full scale 1.
    levels : ndarray, shape (n_codes,), optional
        :func:`companded_levels` of a companded format; None for linear PCM, whose codes are full scale itself.

    Returns
    -------
    ndarray of float64, shape (n_samples,)
        ``x`` for linear PCM; else each sample's rank among the codes scaled to [-1, 1] (a value two codes decode to:
        the middle of their ranks).
    """
    x = np.asarray(x, dtype=np.float64)
    if levels is None:
        return x
    rank = (np.searchsorted(levels, x, side="left") + np.searchsorted(levels, x, side="right") - 1) / 2.0
    return rank / ((levels.size - 1) / 2.0) - 1.0


def random_data_problem(x: np.ndarray, levels: np.ndarray | None = None) -> str | None:
    """Whether one channel of integer or companded samples is random data rather than audio, said as the problem.

    Random bytes under a valid audio header decode to samples spread evenly over the format's codes and independent
    of each other: white (:func:`roughness` of their code positions about 4/3, :data:`WHITE_ROUGHNESS`) and even (a
    chi-square test over :data:`RANDOM_BINS` equal groups of codes cannot tell them from even, :data:`RANDOM_P`).
    Music is neither: its energy lies far below the Nyquist frequency and its samples gather near 0; noise music is
    white but not even (Gaussian, or saturated towards the rails). A white-noise test signal spread evenly over full
    scale (``sox synth whitenoise``) is refused too: it holds no music either.

    Parameters
    ----------
    x : ndarray, shape (n_samples,)
        One channel of a file of integer PCM samples (8 to 32 bits) or companded codes, full scale 1.
    levels : ndarray, optional
        :func:`companded_levels` for a mu-law or A-law file; None for linear PCM.

    Returns
    -------
    str or None
    """
    if np.size(x) < 2 * RANDOM_BINS:
        return None
    # the cheap look first, on 32768 samples: music is far from white, and is done there
    rough = float(np.mean([roughness(code_positions(b, levels)) for b in _spread_blocks(np.asarray(x))]))
    if rough < WHITE_ROUGHNESS:
        return None
    positions = code_positions(x, levels)
    def groups(v: np.ndarray) -> np.ndarray:
        return np.clip(((v + 1.0) * (RANDOM_BINS / 2)).astype(int), 0, RANDOM_BINS - 1)

    counts = np.bincount(groups(positions), minlength=RANDOM_BINS)
    # what random codes would give: even over linear codes, by the codes' own spread over the groups where companded
    expected = (np.full(RANDOM_BINS, positions.size / RANDOM_BINS) if levels is None else
                np.bincount(groups(code_positions(levels, levels)), minlength=RANDOM_BINS) * positions.size / levels.size)
    if np.any(counts[expected == 0]):
        return None
    from scipy.stats import chisquare  # here: only a white excerpt gets this far, and scipy.stats takes ~1 s to import

    p_even = float(chisquare(counts[expected > 0], expected[expected > 0]).pvalue)
    if p_even < RANDOM_P:
        return None
    return (f"random data, not audio: its samples are spread evenly over the codes of the format (chi-square p = "
            f"{p_even:.2g} against even over {RANDOM_BINS} groups of codes) and independent of each other (roughness "
            f"{rough:.2f}; music is below 1): no music to analyse. Random bytes under an audio header (a corrupt copy, "
            "other data written under a header) read so, as does a white-noise test signal spread evenly over full scale")


def _int16_blocks(x: np.ndarray) -> list[np.ndarray]:
    """The non-silent blocks of :func:`_spread_blocks` of one channel of 16-bit samples, as int16 (converted from
    float, full scale 1, where given so); none where ``x`` has fewer than 2 samples. Only the blocks measured:
    converting the whole excerpt costs more than the measures."""
    if np.size(x) < 2:
        return []
    blocks = [b if b.dtype == np.int16 else np.rint(np.asarray(b, np.float64) * 32768.0).astype(np.int16)
              for b in _spread_blocks(x)]
    return [b for b in blocks if np.any(b)]  # silent blocks tell nothing


OFFSET_LEVEL = 0.6
"""Mean absolute sample (full scale 1) from which 16-bit samples may be unsigned (offset binary) under a signed
header: their top bit flipped, a sample's size is 1 minus its stored size, exactly, so this is where the stored
samples are 1.5 times louder than the flipped. Music so stored sits near full scale, a square wave at its zero
crossings (the synthetic default's excerpts, peaking at 0.9 to -45 dBFS: 0.74 and more; the test's peaking at 0.9:
0.69); music as it should be is far quieter (unclipped: 0.26 at most; a full-scale sine measures 0.64)."""
OFFSET_PEAK_SHARE = 0.15
"""Share of samples at a block's peak (within 1 step) from which loud stored samples are clipped music, not offset
binary: music clipped at any ceiling sits there (0.23 to 0.91 of the samples at 8x to 25x gain); offset binary only
where the music is exactly 0 (0.001 of music at -20 dBFS, up to 0.11 at -55 dBFS)."""
RAIL_JUMP = 1.5
"""Full scales a step between consecutive samples spans to go from one rail's side to the other's: offset binary
makes one at each zero crossing of the music; music itself makes none (a full-scale tone at 0.4 times the sample
rate would)."""
OFFSET_JUMPS = 1e-3
"""Share of steps from which the stored samples jump rail to rail as offset binary's do at the music's zero
crossings (music crosses zero hundreds of times a second: 1 % of the steps for a 110 Hz tone at 22050 Hz). Their top
bit flipped, the samples must make a tenth of those jumps or fewer: music clipped hard or saturated (tanh) to a
square makes about as many jumps either way."""


OFFSET_CROSSING = 0.5
"""Median step, over the block's peak, of the samples with their top bit flipped where the stored ones jump rail to
rail, from which they jump as a square wave does rather than cross 0 as music does (a 1 kHz tone at 22050 Hz: 0.28;
a square wave: 2)."""


def offset_binary_problem(x: np.ndarray, blocks: list[np.ndarray] | None = None) -> str | None:
    """Whether one channel of 16-bit samples is stored unsigned (offset binary, 0x8000 for silence) under a header
    that declares signed samples, said as the problem, or None.

    Music so stored decodes as a square wave near full scale that carries the music, flipping sign at its zero
    crossings. Their top bit flipped (``x ^ 0x8000``), the samples are a signal (:data:`SMOOTH_ROUGHNESS`) at a
    fraction of the stored level (:data:`OFFSET_LEVEL`); the stored samples jump from rail to rail
    (:data:`RAIL_JUMP`, :data:`OFFSET_JUMPS`) where the flipped ones do not, and do not sit at their peak as
    clipped music does (:data:`OFFSET_PEAK_SHARE`). Music clipped or saturated to a square fails one or more of
    these (the synthetic default's excerpts at 8x to 25x gain, clipped or tanh-saturated: none refused).

    Parameters
    ----------
    x : ndarray, shape (n_samples,)
        The stored integers (int16), or those decoded to float (full scale 1).
    blocks : list of ndarray, optional
        :func:`_int16_blocks` of ``x``, where the caller has them.

    Returns
    -------
    str or None
    """
    blocks = _int16_blocks(x) if blocks is None else blocks
    if not blocks:
        return None
    # the cheap look first (one pass over the blocks joined): music as it should be is done here
    level = float(np.mean(np.abs(np.concatenate(blocks).astype(np.int32)))) / 32768  # |-32768| overflows int16
    if level < OFFSET_LEVEL or level == 1:
        return None
    wide = [b.astype(np.int32) for b in blocks]
    flipped = [b ^ np.int16(-32768) for b in blocks]  # the top bit flipped: int16 ^ int16 stays int16
    at_peak = float(np.mean([np.mean(np.abs(b) >= np.max(np.abs(b)) - 1) for b in wide]))
    if at_peak >= OFFSET_PEAK_SHARE:
        return None

    flipped_steps = [np.abs(np.diff(b.astype(np.int32))) for b in flipped]
    stored_at_jumps = [np.abs(np.diff(b)) > RAIL_JUMP * 32768 for b in wide]
    stored_jumps = float(np.mean([np.mean(at) for at in stored_at_jumps]))
    flipped_jumps = float(np.mean([np.mean(steps > RAIL_JUMP * 32768) for steps in flipped_steps]))
    if stored_jumps < OFFSET_JUMPS or flipped_jumps > 0.1 * stored_jumps:
        return None
    # where the stored samples jump rail to rail, music stored so crosses 0 with its top bit flipped, in a step small
    # beside its own peak; a loud square wave (a chiptune's, its notes decaying) flips into a smaller square, which
    # steps from one of its levels to the other there
    crossing = np.concatenate([steps[at] / max(int(np.max(np.abs(flip.astype(np.int32)))), 1)
                               for steps, at, flip in zip(flipped_steps, stored_at_jumps, flipped) if at.any()])
    if np.median(crossing) > OFFSET_CROSSING:
        return None
    rough = float(np.mean([roughness(b) for b in flipped]))
    if rough > SMOOTH_ROUGHNESS:
        return None
    return (f"16-bit samples stored unsigned (offset binary) under a header that declares them signed: as stored "
            f"they sit near full scale (mean level {100 * level:.0f} % of it, a square wave carrying the "
            f"music), with their top bit flipped a signal (roughness {rough:.2f}) at {100 * (1 - level):.1f} %: "
            "convert the file again from its source, reading its samples as unsigned")


SWAP_LOUDER = 8.0
"""How many times louder (mean absolute sample) the samples must be as stored than with their bytes exchanged to count
as byte-swapped, where they are not rougher: quiet music (peaking at -30 dBFS and below) so stored sits near half of
full scale, its low bytes made high; 16-bit music's bytes exchanged are louder, not quieter (its low bytes made high),
unless it holds 8 bits alone (then of one sign exchanged, or white)."""
SWAP_SPREAD = 160
"""Values of the high byte (of 256) that quiet music byte-swapped takes as stored, its low bytes' (music peaking at -50
dBFS, about 100 steps: some 200)."""
SWAP_LOUD_ROUGHNESS = 0.2
"""Roughness from which samples :data:`SWAP_LOUDER` times louder as stored count as byte-swapped: quiet music's low
bytes made high move by its own steps, 256 times larger (music peaking at -30 to -50 dBFS: 0.29 to 1.2 as stored);
a loud signal of nearly 8 bits (a chiptune's saw, 0x00 or 0xff below its high bytes), 0.04."""
SWAPPED_SIGN_SHARE = 0.05
"""Share of the samples each sign must hold, their bytes exchanged, for them to swing as music does (around 0, a DC
offset and all), not sit on one side of it."""


WIDENED_8BIT_SHARE = 0.99
"""Share of 16-bit samples whose low byte repeats their high byte's 8-bit value from which they are 8-bit samples
widened by repeating it (:func:`_widened_8bit`)."""


def _widened_8bit(samples: np.ndarray) -> bool:
    """Whether 16-bit samples are 8-bit ones widened by repeating their byte, as they sit near 0.

    ``u8 * 257 - 32768`` maps 0-255 onto the whole 16-bit range: the low byte is the unsigned 8-bit sample, the high
    byte the same with its top bit flipped (1 sample in 256 of 16-bit audio is so by chance). Their bytes exchanged,
    such samples are the music with its sign bit flipped: a square near full scale carrying it, as smooth as the
    music, so smoothness cannot tell the byte order; the stored order is the music's where the samples sit near 0.
    """
    words = samples.view(np.uint16)
    repeated = float(np.mean((words & 0xFF) == ((words >> 8) ^ 0x80)))
    level = float(np.mean(np.abs(words.view(np.int16).astype(np.int32)))) / 32768
    return repeated >= WIDENED_8BIT_SHARE and level < OFFSET_LEVEL


def byte_order_problem(x: np.ndarray, blocks: list[np.ndarray] | None = None) -> str | None:
    """Whether one channel of 16-bit samples is stored in the byte order other than its header's, said as the
    problem (after the words "byte-swapped 16-bit samples: "), or None.

    A faulty conversion turns music into white noise at full scale (quiet music: far rougher or louder than it was):
    their bytes exchanged the samples are a signal (:data:`SMOOTH_ROUGHNESS`), as stored white
    (:data:`WHITE_ROUGHNESS`), :data:`SWAP_GAIN` times rougher, or :data:`SWAP_LOUDER` times louder and rough
    (:data:`SWAP_LOUD_ROUGHNESS`, and rougher than exchanged), spread over the high byte's values
    (:data:`SWAP_SPREAD`). A silent channel, or one of noise, tells nothing: None; nor do 8-bit samples widened by
    repeating their byte (:func:`_widened_8bit`).

    Parameters
    ----------
    x : ndarray, shape (n_samples,)
        The stored integers (int16), or those decoded to float (full scale 1, which float32 holds exactly).
    blocks : list of ndarray, optional
        :func:`_int16_blocks` of ``x``, where the caller has them.

    Returns
    -------
    str or None
    """
    blocks = _int16_blocks(x) if blocks is None else blocks
    if not blocks:
        return None
    stored = float(np.mean([roughness(b) for b in blocks]))
    swapped = [b.byteswap().astype(np.float64) for b in blocks]
    exchanged = float(np.mean([roughness(b) for b in swapped]))
    # music with its bytes exchanged back takes both signs, a DC offset and all; a square wave's levels exchanged may
    # sit close together on one side (0.45 and -0.55 of full scale: about -0.8 both), as smooth as a constant (a
    # chiptune's pulse channel), and 8-bit samples stored as 16 bits exchange into one byte's values, 0 to 255
    joined = np.concatenate(swapped)
    signs = min(np.mean(joined > 0), np.mean(joined < 0))
    # quiet music byte-swapped: its low bytes, spread over their values, become the high ones, noise at half of full
    # scale as rough as the music's low bits run (not white, and not 3 times rougher than music with its hiss)
    stored_words = np.concatenate(blocks)
    louder = float(np.mean(np.abs(stored_words.astype(np.float64)))) / max(float(np.mean(np.abs(joined))), 1.0)
    # and spread over the high bytes' values as music's low bytes are, not a loud square's few levels, which exchange
    # into small ones (a chiptune's pulse at full scale: 0x7fff exchanged is -129)
    # and rough as stored, the music's low bits moving, rougher than exchanged: a loud signal of nearly 8 bits (its
    # low bytes 0x00 or 0xff: a chiptune's saw, 8-bit material dithered to 16 bits) has the same bytes the other way
    # round, and is the smoother one as stored (audit 29)
    if louder >= SWAP_LOUDER and (np.unique(stored_words.view(np.uint16) >> 8).size < SWAP_SPREAD
                                  or stored < SWAP_LOUD_ROUGHNESS or stored <= exchanged):
        louder = 0.0
    # a constant (a DC offset) has no roughness either way: it tells nothing
    if 0 < exchanged <= SMOOTH_ROUGHNESS and signs >= SWAPPED_SIGN_SHARE and \
            (stored >= WHITE_ROUGHNESS or stored >= SWAP_GAIN * exchanged or louder >= SWAP_LOUDER) and \
            not _widened_8bit(stored_words):
        looks = ("white noise" if stored >= WHITE_ROUGHNESS else f"{stored / exchanged:.1f} times rougher"
                 if stored >= SWAP_GAIN * exchanged else f"{louder:.0f} times louder")
        return (f"as stored they are {looks} (roughness {stored:.2f}; music is below 1), with the two bytes of each "
                f"sample exchanged a signal ({exchanged:.2f}): the byte order is not the one the header declares; "
                "convert the file again from its source")
    return None


FLOAT_VIEWS = (("32-bit", "f4"), ("64-bit", "f8"))
"""Float sample widths whose bytes a header declaring 16-bit PCM may hold (:func:`float_data_problem`)."""
FLOAT_RANGE = (2.0**-40, 2.0**16)
"""Sizes of float audio read from its bytes: from far below any recording's noise floor to the 16-bit scale
(``y * 32767`` written as floats). Two 16-bit samples' bytes read as one float fall outside wherever the sample that
gives it its sign and exponent lies outside about +-(0.34 to 0.56) of full scale: NaN, inf, 1e38 or 1e-40 (a float
audio writer leaves none of these: exact zeros alone are below the range)."""
FLOAT_SIGN_SHARE = 0.1
"""Share of the samples each sign must hold for floats read from 16-bit samples' bytes to count as audio, which
swings around 0: an int16 signal that stays far above 0 reads as smooth positive floats."""
FLOAT_SPREAD = 2.0
"""Ratio of the 90th to the 10th percentile of the size of the floats in each block (46 ms at 22050 Hz) from which
they swing as audio does (a sine measures 6, Gaussian noise 13): a square wave in 16-bit samples at a float's top's
levels, beside another channel's noise, reads as floats of one size with a random mantissa (or two sizes, where a
block holds one of its jumps)."""
FLOAT_CROSSING = 0.5
"""Size, over its channel's peak in the block, of the median step across 0 from which floats jump sign as a square
wave does rather than cross 0 as audio does (a 1 kHz sine at 22050 Hz steps 0.28 of its peak)."""
MANTISSA_SPREAD = 0.25
"""Share of the words below floats' tops that must lie in the outer half of their range (``|int16| >= 16384``) for them
to be mantissa, spread over their values (half of them there): below a 16-bit channel that reads as floats' tops
lies the next channel's audio, gathered near 0 (Gaussian noise at a quarter of full scale puts 4 % there)."""


def _reads_as_float_top(u16: np.ndarray) -> np.ndarray:
    """Which 16-bit words, shape (n,), could be the top of a 32- or 64-bit float of a size in :data:`FLOAT_RANGE`:
    their exponent bits in range (8 of them in a 32-bit float, 11 in a 64-bit one)."""
    u16 = np.asarray(u16, dtype=np.uint16)
    low, high = (int(np.log2(v)) for v in FLOAT_RANGE)
    e32, e64 = (u16 >> 7) & 0xFF, (u16 >> 4) & 0x7FF
    return ((e32 >= 127 + low) & (e32 <= 127 + high)) | ((e64 >= 1023 + low) & (e64 <= 1023 + high))


def _reads_as_mantissa(below: np.ndarray, sounding: np.ndarray, channels: int, moving: np.ndarray) -> bool:
    """Whether the 16-bit words below floats' tops, shape (n,) uint16 in the floats' order, are mantissa bits (where
    ``sounding``, the floats not 0, of ``channels`` interleaved channels): spread over their values
    (:data:`MANTISSA_SPREAD`), not gathered near 0 as audio is, independent of each other (:data:`WHITE_ROUGHNESS`,
    over the floats ``moving``, not their channel's previous one again), not a signal as a loud channel is, nor
    floats' tops themselves (a square wave or noise at those levels)."""
    words = below.view(np.int16).astype(np.float64)
    outer = np.mean(np.abs(words[sounding]) >= 16384)  # silence's words are 0 alike
    # and independent word to word in each channel of floats (white): beside a loud channel, a hard-panned bass spreads
    # over its range too; a float's words repeat in dual-mono stereo, so each channel is measured on its own, and a
    # float held (a master clipped flat) repeats its words: measured where the floats move
    white = np.mean([roughness(c[m]) for c, m in zip(words.reshape(-1, channels).T, moving.reshape(-1, channels).T)])
    return bool(outer >= MANTISSA_SPREAD and white >= WHITE_ROUGHNESS
                and np.mean(_reads_as_float_top(below[sounding])) < 0.5)


FLOAT_TOP_SHARE = (0.95, 0.6)
"""Shares of a channel's sounding 16-bit samples that read as floats' tops (:func:`_reads_as_float_top`): at least
the first at one place in every two or four samples (a float's first or last word), at most the second at each other
place (its mantissa words: random bits read so about a quarter of the time). Music, whose neighbouring samples are
alike, reads so equally at every place: a square wave or noise at those levels too."""


def _float_tops_alternate(words: np.ndarray, period: int, n_words: int) -> tuple[int, bool] | None:
    """Where in every ``period`` samples of one channel, ``words`` shape (n,) uint16, the samples are floats' tops
    and the rest are not (:data:`FLOAT_TOP_SHARE`): (that place, whether the tops read so with their bytes exchanged,
    a float of the other byte order), or None.

    Float samples stored under a header of 16-bit PCM put one top, sign and exponent, in every ``n_words`` words (2:
    32-bit, 4: 64-bit); in one channel of ``c`` interleaved ones, every ``period = n_words // gcd(n_words, c)``
    samples. The tops must take both signs (:data:`FLOAT_SIGN_SHARE`), as audio's floats do, and the other words
    read as mantissa (spread over many values, or with 0s below a 16-bit sample's bits); where they are all 0
    (floats of quiet 16-bit audio), the tops must take many values (32 or more) and, read as floats, be a signal
    crossing 0 through small values (:data:`FLOAT_CROSSING`).
    """
    n = len(words) // period * period
    if n < 64 * period:
        return None
    places = words[:n].reshape(-1, period)
    for swapped in (False, True):
        view = places.byteswap() if swapped else places
        shares = []
        for p in range(period):
            sounding = view[:, p][places[:, p] != 0]
            shares.append(float(np.mean(_reads_as_float_top(sounding))) if sounding.size >= 32 else 0.0)
        top = int(np.argmax(shares))
        if shares[top] < FLOAT_TOP_SHARE[0]:
            continue
        tops = view[:, top][places[:, top] != 0]
        signs = float(np.mean(tops >= 0x8000))
        if max(shares[:top] + shares[top + 1:]) > FLOAT_TOP_SHARE[1] or min(signs, 1 - signs) < FLOAT_SIGN_SHARE:
            continue
        others = np.delete(view, top, axis=1)
        others = others[others != 0]
        if others.size >= 32:
            # the other words are mantissa: bits spread over their range, or a 16-bit sample's last bits with 0s
            # below them (floats of 16-bit audio, `y / 32768`: its 15 bits end 9 bits into a 32-bit float's second
            # word, 6 into a 64-bit one's), not a signal's small samples (a tone at a quarter of the sample rate, on
            # its peaks: one sample in two at +-A, the others near 0)
            spread = np.mean(np.abs(others.view(np.int16).astype(np.int32)) >= 16384) >= MANTISSA_SPREAD
            # spread, of many values as random bits are (a pure tone at a quarter of the sample rate takes two there)
            if (spread and np.unique(others).size >= 32) or not np.any(others & 0x3F):
                return top, swapped
            continue
        # mantissa all 0 (floats of quiet 16-bit audio): the tops alone, read as floats, are audio, a signal that
        # crosses 0 through small values, not a square jumping between two sizes or a noisy one's samples read so
        # (zero-stuffed, or on the peaks of a tone)
        floats = _top_words_as_floats(view[:, top], n_words)
        if np.unique(tops).size >= 32 and roughness(floats) <= SMOOTH_ROUGHNESS \
                and _crosses_through_small_values([floats[:, None]]):
            return top, swapped
    return None


def _top_words_as_floats(tops: np.ndarray, n_words: int) -> np.ndarray:
    """The values of 16-bit words, shape (n,) uint16, taken as the top word of ``n_words``-word floats (2: 32-bit, 4:
    64-bit), the mantissa below them 0."""
    if n_words == 2:
        return (tops.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return (tops.astype(np.uint64) << 48).view(np.float64)


def _crosses_through_small_values(floats: list[np.ndarray]) -> bool:
    """Whether ``floats``, blocks of shape (n, channels), change sign through small values as audio does
    (:data:`FLOAT_CROSSING`), not jumping between two sizes as a square wave does."""
    steps = []
    for f in floats:
        for channel in f.T:
            if np.any(channel):
                across = np.sign(channel[:-1]) * np.sign(channel[1:]) < 0
                steps.append((np.abs(channel[:-1]) + np.abs(channel[1:]))[across] / np.max(np.abs(channel)))
    steps = np.concatenate(steps) if steps else np.empty(0)
    return bool(steps.size) and float(np.median(steps)) <= FLOAT_CROSSING


def _read_as_audio_floats(floats: list[np.ndarray]) -> tuple[float, float] | None:
    """The roughness and peak of ``floats`` (blocks of shape (n, channels)) where they read as float audio: finite,
    each 0 or of a size in :data:`FLOAT_RANGE`, of both signs (:data:`FLOAT_SIGN_SHARE`), swinging within every block
    that sounds (:data:`FLOAT_SPREAD`) and through 0 (:data:`FLOAT_CROSSING`); else None."""
    joined = np.concatenate(floats).ravel()
    if not np.all(np.isfinite(joined)):
        return None
    size = np.abs(joined)
    sounding = size[size > 0]
    if not sounding.size or sounding.min() < FLOAT_RANGE[0] or sounding.max() > FLOAT_RANGE[1]:
        return None
    if min(np.mean(joined > 0), np.mean(joined < 0)) < FLOAT_SIGN_SHARE:
        return None
    spreads = []
    for f in floats:
        a = np.abs(f[f != 0])
        if a.size >= 16:
            p10, p90 = np.percentile(a, [10, 90])
            spreads.append(p90 / p10)
    if not spreads or min(spreads) < FLOAT_SPREAD:  # in every block: a square wave's one jump spreads its block
        return None
    # audio changes sign through small values; a square wave between two float tops jumps from one size to the other
    if not _crosses_through_small_values(floats):
        return None
    rough = float(np.mean([roughness(f[:, c]) for f in floats for c in range(f.shape[1]) if np.any(f[:, c])]))
    return rough, float(sounding.max())


FLOAT_SCALES_OF_16_BIT_AUDIO = (1.0, 32767.0 / 32768.0)
"""Factors that bring floats of 16-bit audio onto a grid of powers of two: ``y / 32768`` (decoders, and ``y`` itself
or any power-of-two gain of it) and ``y / 32767`` (writers that scale by the positive peak)."""


def _floats_of_16_bit_audio(floats: list[np.ndarray]) -> bool:
    """Whether ``floats`` (blocks of shape (n, channels)), read from 16-bit samples' bytes, are 16-bit samples
    scaled: after a factor of :data:`FLOAT_SCALES_OF_16_BIT_AUDIO`, every one a whole multiple of one power of two,
    at most 65536 of them from 0 (16 bits below the largest one's top), some not 0.

    Such floats' mantissa ends within 16 bits: the words below their tops are a few bits with 0s below them, a
    copy of the top's bits (``y / 32767``), or 0, not spread as :func:`_reads_as_mantissa` asks (stereo 32-bit
    floats of music at -26 dBFS were decoded as music, audit 29; quiet music's ``y / 32767`` and ``y / 65536``,
    audit 41). 16-bit audio read as floats gives values of such a grid only where every sample that gives a float
    its sign and exponent lies in a narrow band (+-(0.44 to 0.5) of full scale and the like) and the next one's
    low bits are 0s."""
    joined = np.concatenate(floats).ravel()
    peak = float(np.max(np.abs(joined))) if joined.size else 0.0
    if not peak > 0.0:
        return False
    step = 2.0 ** (math.floor(math.log2(peak)) - 15)  # 16 bits below the peak's top bit
    for factor in FLOAT_SCALES_OF_16_BIT_AUDIO:
        units = joined * (factor / step)
        # float32 rounding of y / 32767 leaves at most 65536 * 2**-23 of a unit
        if np.all(np.abs(units - np.rint(units)) <= 0.01):
            return True
    return False


_FLOAT_ADVICE = ("each float two or four samples and the file as many times its length; write the file again with a "
                 "header that declares its float samples")


def float_data_problem(pcm16: np.ndarray, byte_order: str | None = None, block: int = 1024,
                       n_blocks: int = 4) -> str | None:
    """Whether a file's 16-bit samples are the bytes of float samples under a header that declares 16-bit PCM, said
    as the problem, or None.

    A float array written under a 16-bit header (``wave`` given ``float32`` bytes, a header copied from another
    file) decodes as noise near half of full scale, two or four samples a float and as many times the file's
    length. Its bytes, read as floats (:data:`FLOAT_VIEWS`, in either byte order), are float audio
    (:func:`_read_as_audio_floats`): a signal (:data:`SMOOTH_ROUGHNESS`) swinging around 0, whose words below each
    float's sign and exponent are mantissa, not another such top (a square wave or noise at those levels). 16-bit
    samples so read are not finite, out of :data:`FLOAT_RANGE`, of one sign or of one size. Samples that are a
    signal as the file stores them, channels interleaved, are not looked at: music ends there at once.

    Parameters
    ----------
    pcm16 : ndarray, shape (n_frames,) or (n_frames, n_channels)
        The stored integers (int16), or those decoded to float (full scale 1); channels in the file's order.
    byte_order : {"<", ">"}, optional
        The byte order of the file's 16-bit samples (its container's); None where it has none (FLAC) or is not
        known: both are tried.
    block, n_blocks : int
        Frames per block and blocks measured, spread evenly over the file.

    Returns
    -------
    str or None
    """
    pcm16 = np.asarray(pcm16).reshape(len(pcm16), -1)
    channels = pcm16.shape[1]
    if len(pcm16) < 2 * block:
        return None
    # at multiples of 4 samples: each block starts at a whole double
    starts = sorted({(len(pcm16) - block) * k // (n_blocks - 1) // 4 * 4 for k in range(n_blocks)})
    blocks = [b if b.dtype == np.int16 else np.rint(np.asarray(b, np.float64) * 32768.0).astype(np.int16)
              for b in (pcm16[i:i + block] for i in starts)]
    # as stored, channels interleaved: a float's two words alternate there whatever the channels (a float's low word
    # repeated in dual-mono stereo halves a channel's own roughness); silence measures 0
    if all(roughness(b.ravel()) <= SMOOTH_ROUGHNESS for b in blocks):
        return None  # a signal as 16-bit samples: done (music as it should be ends here)
    for order in (byte_order,) if byte_order else ("<", ">"):
        raw = [b.astype(f"{order}i2").tobytes() for b in blocks]
        for width, kind in FLOAT_VIEWS:
            for float_order in ("<", ">"):
                with np.errstate(invalid="ignore", over="ignore"):  # 16-bit samples' bytes read as NaN, inf
                    floats = [np.frombuffer(r, dtype=f"{float_order}{kind}").astype(np.float64).reshape(-1, channels)
                              for r in raw]
                if (measured := _read_as_audio_floats(floats)) is None:
                    continue
                rough, peak = measured
                below = np.concatenate([(np.frombuffer(r, dtype=f"{float_order}u{kind[1]}") >> (8 * int(kind[1]) - 32))
                                        .astype(np.uint16) for r in raw])
                sounding = np.concatenate([f.ravel() for f in floats]) != 0
                moving = np.concatenate([np.vstack([np.ones((1, channels), bool), f[1:] != f[:-1]]).ravel()
                                         for f in floats])
                if rough <= SMOOTH_ROUGHNESS and (_reads_as_mantissa(below, sounding, channels, moving)
                                                  or _floats_of_16_bit_audio(floats)):
                    endian = "little" if float_order == "<" else "big"
                    scale = " of full scale" if peak <= 8 else " (floats on the 16-bit scale)"
                    return (f"{width} float samples ({endian}-endian) under a header that declares 16-bit PCM: read as "
                            f"floats its data are a signal (roughness {rough:.2f}, peak {peak:.3g}{scale}), "
                            f"read as the header says noise, {_FLOAT_ADVICE}")
    # floats whose audio is no smooth signal (a brick-walled master, noise music, dither alone in a quiet passage) or
    # whose mantissa is short (floats of 16-bit audio, `y / 32768` as decoders give them): one sample in two or four of
    # each channel is a float's top and the others are not, which no audio's neighbouring samples are
    for c in range(channels):
        words = np.concatenate([b[:, c] for b in blocks]).view(np.uint16)
        for width, n_words in (("32-bit", 2), ("64-bit", 4)):
            period = n_words // math.gcd(n_words, channels)
            if period > 1 and (found := _float_tops_alternate(words, period, n_words)):
                top, swapped = found
                container = byte_order or "<"  # the order the samples were read in (FLAC: either reads so)
                endian = "little" if (container == "<") != swapped else "big"
                where = f" of channel {c + 1}" if channels > 1 else ""
                return (f"{width} float samples ({endian}-endian) under a header that declares 16-bit PCM: one sample "
                        f"in {period}{where} is a float's sign and exponent, the others its mantissa (read as the "
                        f"header says, noise near half of full scale), {_FLOAT_ADVICE}")
    return None


def _swing(y: np.ndarray, axis=None):
    """Half the peak-to-peak range of ``y`` (full scale 1), along ``axis``."""
    return (np.max(y, axis=axis) - np.min(y, axis=axis)) / 2


def no_signal_problem(y: np.ndarray, step: float = 0.0) -> str | None:
    """No signal at all in ``y``, shape (n_samples,): every sample one value, or, where ``step`` is given (full scale
    1; :data:`NO_SIGNAL_SWING` for a file stored in 16 bits or fewer), samples swinging less than that step. Unlike the
    other checks of :func:`content_problem`, which are heuristics, not waived for a file ``dataset.trust_audio``
    names."""
    return _no_signal(float(np.min(y)), float(np.max(y)), y.size, step)


def _no_signal(low: float, high: float, size: int, step: float = 0.0) -> str | None:
    """:func:`no_signal_problem` of samples whose least and greatest are ``low`` and ``high`` (one pass over them,
    shared with :func:`content_problem`'s level checks)."""
    if low == high and (size > 1 or low == 0):  # one sample has no swing: its level is its size
        return f"every sample is {low:g}: digital silence, no music to analyse (an empty recording or a failed conversion)"
    if size > 1 and (high - low) / 2 < step:
        return (f"its samples differ by less than one step of 16-bit audio (they swing {20 * np.log10((high - low) / 2):.1f}"
                " dBFS): digital silence but for a stray bit, no music to analyse (an empty recording or a failed "
                "conversion)")
    return None


def channels_cancel_problem(channels: np.ndarray, mono: np.ndarray) -> str | None:
    """Channels that cancel in the mono mix, the analysed signal: every channel of ``channels``, shape (n_samples,
    n_channels), audible (:data:`SILENCE_SWING` or more) and the mix ``mono``, shape (n_samples,), at
    :data:`CANCEL_RATIO` of the quietest or less, in peak swing and in RMS (about the mean). The analysed signal is then
    a leftover, not the music one hears: refused whatever ``dataset.trust_audio`` says where that leftover is
    near-silence too (:func:`decode`), a heuristic's finding otherwise."""
    if channels.shape[1] < 2:
        return None
    swings = _swing(channels, axis=0)
    if float(np.min(swings)) < SILENCE_SWING or float(_swing(mono)) > CANCEL_RATIO * float(np.min(swings)):
        return None
    levels = np.std(channels, axis=0, dtype=np.float64)  # only here: most files stop at the peaks above
    mix = float(np.std(mono, dtype=np.float64))
    if mix > CANCEL_RATIO * float(np.min(levels)):
        return None  # loud moments in anti-phase (a record's crackle) over music the mix holds
    mixed = f"{20 * np.log10(mix):.1f} dBFS" if mix > 0 else "exactly 0"
    return (f"its {channels.shape[1]} channels cancel when mixed to mono, the analysed signal (RMS: the quietest channel "
            f"{20 * np.log10(float(np.min(levels))):.1f} dBFS, the mix {mixed}), as where one channel is the other with "
            "its polarity inverted; keep one channel, or, where one is the other inverted, invert it")


def content_problem(y: np.ndarray, pcm16: np.ndarray | None = None, channels: np.ndarray | None = None,
                    levels: np.ndarray | None = None, byte_order: str | None = None,
                    extremes: tuple[float, float] | None = None) -> str | None:
    """What makes decoded samples no music to analyse, or None.

    Parameters
    ----------
    y : ndarray, shape (n_samples,)
        Mono float audio, full scale 1.
    pcm16 : ndarray, shape (n_samples,) or (n_samples, n_channels), optional
        The channels of a file that holds 16-bit PCM: its stored integers, or those decoded to float (full scale 1,
        which float32 holds exactly). Each is checked for a byte order other than the header's
        (:func:`byte_order_problem`) and for unsigned samples under a signed header (:func:`offset_binary_problem`),
        and, first, all of them for float samples' bytes (:func:`float_data_problem`); before the random-data
        check: byte-swapped music reads as white noise.
    channels : ndarray, shape (n_samples, n_channels), optional
        The channels of a file of integer PCM samples (any width) or companded codes: each checked for random data
        (:func:`random_data_problem`; one random channel is half of the mono mix).
    levels : ndarray, optional
        :func:`companded_levels` where ``channels`` are companded codes.
    byte_order : {"<", ">"}, optional
        The byte order of ``pcm16`` in its file (:func:`float_data_problem`); None: not known.
    extremes : (float, float), optional
        The least and greatest sample of ``y``, where the caller has them (:func:`decode`).

    Returns
    -------
    str or None
        Silence (:data:`SILENCE_SWING`), mostly digital silence (:data:`MOSTLY_SILENT`), byte-swapped or unsigned
        16-bit samples in any channel (:func:`byte_order_problem`, :func:`offset_binary_problem`), float samples
        under a 16-bit header (:func:`float_data_problem`), random data in any channel (:func:`random_data_problem`).
    """
    y = np.asarray(y)
    low, high = extremes if extremes is not None else (float(np.min(y)), float(np.max(y)))
    if problem := _no_signal(low, high, y.size):
        return problem
    # one sample has no swing: its level is its size
    swing = (high - low) / 2 if y.size > 1 else abs(high)
    if swing < SILENCE_SWING:
        return (f"near-silence: its samples swing {20 * np.log10(swing):.1f} dBFS at most, below "
                f"{20 * np.log10(SILENCE_SWING):.0f} dBFS: no music to analyse (an empty recording or a failed "
                "conversion; music stored at this level: scale it up)")
    zeros = np.count_nonzero(y == 0) / y.size  # a compare and a count of booleans: 5x faster than counting floats
    if y.size > 1 and zeros >= MOSTLY_SILENT:
        return (f"digital silence (samples exactly 0) in {100 * zeros:.0f} % of its length: no music to analyse in "
                f"most of it (at least {100 * MOSTLY_SILENT:.0f} %); cut the silence away or leave the file out")
    if pcm16 is not None and pcm16.size > 1:
        pcm16 = pcm16.reshape(len(pcm16), -1)
        # first: floats' bytes read as 16-bit samples may also turn smooth with their bytes exchanged
        if problem := float_data_problem(pcm16, byte_order):
            return problem
        for c in range(pcm16.shape[1]):  # every channel: a silent or noisy one shows nothing of the byte order
            where = f" (as channel {c + 1} of {pcm16.shape[1]} shows)" if pcm16.shape[1] > 1 else ""
            blocks = _int16_blocks(pcm16[:, c])
            if problem := byte_order_problem(pcm16[:, c], blocks):
                return f"byte-swapped 16-bit samples{where}: {problem}"
            if problem := offset_binary_problem(pcm16[:, c], blocks):
                return problem.replace(":", f"{where}:", 1)
    for c in range(channels.shape[1] if channels is not None else 0):
        if problem := random_data_problem(channels[:, c], levels):
            return problem if channels.shape[1] == 1 else f"channel {c + 1} of {channels.shape[1]}: {problem}"
    return None


LISTED_BUT_GONE = ("file not found: the dataset's metadata lists it, so it was removed or moved after the data stage "
                   "ran; run that stage again (`snakemake --forcerun synth_dataset` for the synthetic dataset, "
                   "`--forcerun scan_audio` for a folder of audio)")
"""What a later stage says of an excerpt the metadata lists whose file is gone (:func:`listed_file_gone`)."""


def listed_file_gone(path) -> bool:
    """Whether an excerpt's file, listed in the dataset's metadata, is gone: no file and no link there. Snakemake sees
    a folder of audio change (the data stage's manifest), not a file removed from the synthetic dataset's."""
    return not os.path.lexists(path)


def load_audio(path, sample_rate: int = _DATASET["sample_rate"], max_duration: float | None = _DATASET["max_duration"],
               judge_content: bool = True) -> np.ndarray:
    """Decode ``path`` to mono float32 at ``sample_rate`` Hz, at most ``max_duration`` seconds.

    Resamples (soxr, high quality, via librosa) only when the file's rate differs.

    Parameters
    ----------
    path : str or Path
        .au, .wav, .flac, .ogg or .mp3; any channel count, integer or float samples.
    sample_rate : int
        Target rate in Hz (GTZAN: 22050).
    max_duration : float or None
        Seconds kept from the start (GTZAN excerpts: 30 s); ``None`` keeps everything.
    judge_content : bool
        Whether the samples are judged to hold music (:func:`decode`).

    Returns
    -------
    np.ndarray, shape (n_samples,), float32

    Raises
    ------
    AudioError
        Missing, empty, corrupt or truncated file, or non-finite samples; the message names the file.
    NoMusicError
        Samples judged to hold no music (:func:`decode`).
    """
    y, sr = decode(path, max_duration, judge_content)
    if sr != sample_rate:
        import librosa

        y = librosa.resample(y, orig_sr=sr, target_sr=sample_rate, res_type="soxr_hq").astype(np.float32)
        if max_duration is not None:
            y = y[: int(round(max_duration * sample_rate))]
    return np.ascontiguousarray(y, dtype=np.float32)


def write_au(path, y: np.ndarray, sample_rate: int = _DATASET["sample_rate"]) -> None:
    """Write mono audio as 16-bit PCM AU (GTZAN's format), clipping to [-1, 1].

    Parameters
    ----------
    path : str or Path
        Target; written through a temporary name and renamed.
    y : np.ndarray, shape (n_samples,)
    sample_rate : int
        Hz.
    """
    from mgrfaults.io import atomic_path

    with atomic_path(path) as tmp:
        sf.write(str(tmp), np.clip(y, -1.0, 1.0), sample_rate, subtype="PCM_16", format="AU")
