"""Decoding: formats that must work, and bad files that must fail with an error naming them."""

import os
import re

import numpy as np
import pytest
import soundfile as sf

from mgrfaults.data.audio import audio_info, load_audio, write_au
from mgrfaults.errors import AudioError, InputError, NoMusicError

SR = 22050


def sine(seconds=1.0, sr=SR, freq=440.0):
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_au_roundtrip(tmp_path):
    write_au(tmp_path / "a.au", sine())
    y = load_audio(tmp_path / "a.au")
    assert y.dtype == np.float32 and y.shape == (SR,)
    np.testing.assert_allclose(y, sine(), atol=1e-4)
    assert audio_info(tmp_path / "a.au") == {"sample_rate": SR, "duration": 1.0, "channels": 1}


def test_max_duration_cuts(tmp_path):
    write_au(tmp_path / "a.au", sine(3.0))
    assert len(load_audio(tmp_path / "a.au", max_duration=2.0)) == 2 * SR
    assert len(load_audio(tmp_path / "a.au", max_duration=None)) == 3 * SR



@pytest.mark.parametrize("fmt, suffix, au_offset", [("AU", "au", None), ("WAV", "wav", None), ("AIFF", "aiff", None),
                                                    ("FLAC", "flac", None),
                                                    # an AU whose offset field points inside its 24-byte header:
                                                    # libsndfile reads the audio from byte 24
                                                    ("AU", "au", 0), ("AU", "au", 16), ("AU", "au", 23)])
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("max_duration", [None, 1.5, 10.0])
def test_16_bit_pcm_decodes_to_libsndfiles_own_float_samples(tmp_path, fmt, suffix, au_offset, channels, max_duration):
    # decode reads 16-bit integers itself (numpy for AU): its samples must be libsndfile's float ones, to the bit
    import struct

    from mgrfaults.data.audio import decode

    rng = np.random.default_rng(channels)
    y = np.stack([sine(3.0) + 0.02 * rng.standard_normal(3 * SR) for _ in range(channels)], axis=1)
    path = tmp_path / f"x.{suffix}"
    sf.write(path, y * [0.7, 0.4][:channels], SR, subtype="PCM_16", format=fmt)
    frames = -1 if max_duration is None else int(max_duration * SR)
    with sf.SoundFile(path) as f:
        written = f.read(frames=frames, dtype="float32", always_2d=True)
    if au_offset is not None:
        data = bytearray(path.read_bytes())
        assert data[4:8] == struct.pack(">I", 24)  # libsndfile's own: the audio right after the header
        data[4:8] = struct.pack(">I", au_offset)
        path.write_bytes(bytes(data))
    with sf.SoundFile(path) as f:
        expected = f.read(frames=frames, dtype="float32", always_2d=True)
    np.testing.assert_array_equal(expected, written)  # the audio, not the header's words
    got, rate = decode(path, max_duration)
    assert rate == SR and got.dtype == np.float32
    np.testing.assert_array_equal(got, expected.mean(axis=1, dtype=np.float64).astype(np.float32) if channels > 1
                                  else expected[:, 0])

@pytest.mark.parametrize(
    "name, sr, subtype, channels",
    [
        ("stereo.wav", SR, "PCM_16", 2),
        ("cd.wav", 44100, "PCM_16", 1),
        ("eight_bit.wav", SR, "PCM_U8", 1),
        ("float.wav", SR, "FLOAT", 1),
        ("stereo44.flac", 44100, "PCM_24", 2),
    ],
)
def test_other_formats_decode_to_mono_22050(tmp_path, name, sr, subtype, channels):
    y = sine(1.0, sr)
    data = np.stack([y] * channels, axis=1) if channels > 1 else y
    sf.write(tmp_path / name, data, sr, subtype=subtype)
    out = load_audio(tmp_path / name, sample_rate=SR)
    assert out.ndim == 1 and abs(len(out) - SR) <= 1
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(np.argmax(spectrum) * SR / len(out) - 440) < 3  # still a 440 Hz tone


def test_mp3_decodes(tmp_path):
    sf.write(tmp_path / "a.mp3", sine(1.0), SR, format="MP3")
    y = load_audio(tmp_path / "a.mp3")
    assert y.ndim == 1 and len(y) >= SR * 0.9


def id3v2_tag(size=300):
    """An ID3v2.3 tag of ``size`` bytes after its header (syncsafe size), holding padding only."""
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x03\x00\x00" + syncsafe + bytes(size)


@pytest.mark.parametrize("tagged", [False, True])
def test_a_truncated_mp3_is_refused_where_its_header_declares_its_length(tmp_path, tagged):
    """libmpg123 decodes a cut MP3 to what is left without an error; its Xing/Info header's frame count tells."""
    sf.write(tmp_path / "whole.mp3", sine(3.0), SR, format="MP3")
    data = (id3v2_tag() if tagged else b"") + (tmp_path / "whole.mp3").read_bytes()
    (tmp_path / "whole.mp3").write_bytes(data)
    (tmp_path / "cut.mp3").write_bytes(data[:len(data) // 3])
    assert abs(len(load_audio(tmp_path / "whole.mp3", max_duration=None)) - 3 * SR) <= 1
    with pytest.raises(AudioError, match=r"cut\.mp3: truncated: its header declares 3\.00 s of audio, the file "
                                         r"decodes to 0\.[0-9]+ s"):
        load_audio(tmp_path / "cut.mp3", max_duration=None)
    # what the run keeps of it is there: a cut beyond max_duration is no loss
    assert len(load_audio(tmp_path / "cut.mp3", max_duration=0.25)) == SR // 4


def test_an_mp3_without_a_length_header_is_not_called_truncated(tmp_path):
    """Without a Xing/Info/VBRI header libsndfile's length is an estimate from the file's size: no verdict from it."""
    from mgrfaults.data.audio import check_mp3_length

    frame_header = b"\xff\xf3\x80\xc4"  # MPEG-2 Layer III, 64 kbit/s, 22050 Hz
    (tmp_path / "plain.mp3").write_bytes(frame_header + bytes(204))
    (tmp_path / "tagged.mp3").write_bytes(id3v2_tag() + frame_header + bytes(9) + b"Info" + bytes(191))
    check_mp3_length(tmp_path / "plain.mp3", declared=3 * SR, requested=-1, decoded=SR, sample_rate=SR)
    with pytest.raises(AudioError, match="tagged.mp3: truncated"):
        check_mp3_length(tmp_path / "tagged.mp3", declared=3 * SR, requested=-1, decoded=SR, sample_rate=SR)
    # short by less than two MPEG frames, or not short of what was asked for: whole
    check_mp3_length(tmp_path / "tagged.mp3", declared=3 * SR, requested=-1, decoded=3 * SR - 2000, sample_rate=SR)
    check_mp3_length(tmp_path / "tagged.mp3", declared=3 * SR, requested=SR, decoded=SR, sample_rate=SR)


def test_an_mp3_holding_more_than_it_decodes_is_refused(tmp_path):
    """libmpg123 takes a length header's count, or without one an estimate from the first frame's bitrate, and
    libsndfile reads no further: joined files and a variable bitrate without its Xing frame decode short (audit 44)."""
    for name, seed in (("a", 1), ("b", 2)):
        sf.write(tmp_path / f"{name}.mp3", music_like(3.0, seed=seed), SR, format="MP3")
    (tmp_path / "joined.mp3").write_bytes((tmp_path / "a.mp3").read_bytes() + (tmp_path / "b.mp3").read_bytes())
    assert abs(len(load_audio(tmp_path / "a.mp3", max_duration=None)) - 3 * SR) <= 1
    with pytest.raises(AudioError, match=r"joined\.mp3: its MPEG frames hold 6\.[0-9]+ s of audio, and the decoder "
                                         r"reads 3\.00 s: .*files joined"):
        load_audio(tmp_path / "joined.mp3", max_duration=None)
    assert len(load_audio(tmp_path / "joined.mp3", max_duration=2.0)) == 2 * SR  # all that is asked for is read
    # dense frames first, then sparse ones, and the Xing frame removed: the estimate is a quarter of the length
    rng = np.random.default_rng(0)
    dense = np.clip(music_like(2.0) + 0.2 * rng.standard_normal(2 * SR), -1, 1).astype(np.float32)
    y = np.concatenate([dense, 0.3 * np.sin(2 * np.pi * 220 * np.arange(10 * SR) / SR).astype(np.float32)])
    with sf.SoundFile(tmp_path / "vbr.mp3", "w", SR, 1, format="MP3", subtype="MPEG_LAYER_III",
                      bitrate_mode="VARIABLE", compression_level=0.0) as f:
        f.write(y)
    data = (tmp_path / "vbr.mp3").read_bytes()
    first = data.index(b"\xff")
    second = next(i for i in range(first + 4, len(data) - 1) if data[i:i + 2] == data[first:first + 2])
    assert b"Xing" in data[first:second] or b"Info" in data[first:second]
    (tmp_path / "vbr_plain.mp3").write_bytes(data[:first] + data[second:])
    assert abs(len(load_audio(tmp_path / "vbr.mp3", max_duration=None)) - 12 * SR) <= 1
    with pytest.raises(AudioError, match=r"vbr_plain\.mp3: its MPEG frames hold 12\.[0-9]+ s of audio, and the "
                                         r"decoder reads [0-9.]+ s: an MP3 without a length header"):
        load_audio(tmp_path / "vbr_plain.mp3", max_duration=None)


def test_mpeg_frames_are_counted_through_tags_and_not_made_of_other_bytes():
    from mgrfaults.data.containers import mpeg_frame, mpeg_stream_samples

    frame = b"\xff\xf3\x80\xc4" + bytes(204)  # MPEG-2 Layer III, 64 kbit/s, 22050 Hz: 72 * 64000 / 22050 bytes
    assert mpeg_frame(frame) == (208, 576, 22050)
    assert mpeg_frame(b"\xff\xfb\x90\x64") == (417, 1152, 44100)  # MPEG-1 Layer III, 128 kbit/s: 144 * 128000 / 44100
    assert mpeg_frame(b"\xff\xf3\xf0\xc4") is None and mpeg_frame(b"\xff\xf3\x8c\xc4") is None  # bad bitrate, rate
    # two frames, a joined file's ID3v2 tag, then bytes that are no frame holding one lone header, then three frames
    junk = bytes(range(1, 200)) + b"\xff\xf3\x80\xc4" + bytes(10)
    data = id3v2_tag() + 2 * frame + id3v2_tag(50) + junk + 3 * frame + b"TAG" + bytes(125)
    assert mpeg_stream_samples(data) == (5 * 576, 22050)
    assert mpeg_stream_samples(data, enough=600) == (2 * 576, 22050)  # counted as far as asked
    assert mpeg_stream_samples(bytes(1000)) == (0, 0)


def _wav_declaring(path, samples, declared_share):
    """A 16-bit WAV of ``samples`` whose data chunk (and RIFF size) declare ``declared_share`` of them."""
    import struct

    sf.write(path, samples, SR, subtype="PCM_16")
    raw = bytearray(path.read_bytes())
    at, size = raw.index(b"data"), int(declared_share * len(samples)) * 2
    struct.pack_into("<I", raw, at + 4, size)
    struct.pack_into("<I", raw, 4, at + 4 + size)
    path.write_bytes(bytes(raw))


def test_a_wav_or_aiff_header_declaring_less_than_follows_is_refused(tmp_path):
    """libsndfile reads a data or SSND chunk's declared bytes: the rest of a recording whose header was written
    early, or two files joined, would be left out without a word (audit 44)."""
    import struct

    a, b = music_like(3.0, seed=1), music_like(3.0, seed=2)
    _wav_declaring(tmp_path / "early.wav", a, 1 / 6)
    with pytest.raises(AudioError, match=r"early\.wav: its WAV header declares 22050 bytes of audio, and 110250 bytes "
                                         r"after them are no chunk: a wrong header"):
        load_audio(tmp_path / "early.wav")
    for name, y in (("a", a), ("b", b)):
        sf.write(tmp_path / f"{name}.wav", y, SR, subtype="PCM_16")
        sf.write(tmp_path / f"{name}.aiff", y, SR, subtype="PCM_16")
    for ext in ("wav", "aiff"):
        (tmp_path / f"joined.{ext}").write_bytes((tmp_path / f"a.{ext}").read_bytes() + (tmp_path / f"b.{ext}").read_bytes())
        with pytest.raises(AudioError, match=rf"joined\.{ext}: 2 {ext.upper()} files one after another \(files joined, "
                                             rf"as `cat a\.{ext} b\.{ext}` joins them\)"):
            load_audio(tmp_path / f"joined.{ext}")
    raw = bytearray((tmp_path / "a.aiff").read_bytes())
    at = raw.index(b"SSND")
    struct.pack_into(">I", raw, at + 4, 8 + SR // 2 * 2)
    (tmp_path / "early.aiff").write_bytes(bytes(raw))
    with pytest.raises(AudioError, match=r"early\.aiff: its AIFF header declares 22050 bytes of audio"):
        load_audio(tmp_path / "early.aiff")
    # what may follow the audio: chunks (a LIST, one cut short at the end), a sector's zero padding, an ID3v1 tag
    whole = (tmp_path / "a.wav").read_bytes()
    listed = whole + b"LIST" + struct.pack("<I", 26) + b"INFOISFT" + struct.pack("<I", 14) + b"mgr-faults 0\x00\x00"
    id3v2 = b"ID3\x03\x00\x00\x00\x00\x7f\x76" + bytes(range(256)) * 64  # a 16374-byte tag of cover art
    endings = {"listed": listed, "cut_chunk": whole + b"id3 " + struct.pack("<I", 10**6) + bytes(300),
               "padded": whole + bytes(20000), "padded_ff": whole + b"\xff" * 5000, "tagged": whole + b"TAG" + bytes(125),
               "id3v2_appended": whole + id3v2[:16384], "odd": whole + bytes(7),
               # TagLib's upper-case tag chunk (not a raw ID3v2 tag: no version byte), an APEv2 tag with a footer only
               "id3_chunk": whole + b"ID3 " + struct.pack("<I", 20000) + bytes(range(256)) * 78 + bytes(32),
               "ape_footer": whole + bytes(range(256)) * 120 + b"APETAGEX" + struct.pack("<4I", 2000, 30752, 1, 0)
                             + bytes(8)}
    for name, data in endings.items():
        (tmp_path / f"{name}.wav").write_bytes(data)
        assert len(load_audio(tmp_path / f"{name}.wav")) == 3 * SR, name
    # a whole chunk of any printable id (SoundEdit's SFX!), a known trailer cut short: the audio is whole; a chunk
    # no writer puts there that runs past the end with more than 4 KiB of it present is refused (audit 47)
    aiff = (tmp_path / "a.aiff").read_bytes()
    (tmp_path / "sfx.aiff").write_bytes(aiff + b"SFX!" + struct.pack(">I", 16) + bytes(16) + b"APPL"
                                        + struct.pack(">I", 20000) + bytes(range(256)) * 78 + bytes(32))
    assert len(load_audio(tmp_path / "sfx.aiff")) == 3 * SR
    (tmp_path / "cut_minf.wav").write_bytes(whole + b"minf" + struct.pack("<I", 60000) + bytes(range(256)) * 40)
    assert len(load_audio(tmp_path / "cut_minf.wav")) == 3 * SR
    (tmp_path / "cut_other.wav").write_bytes(whole + b"Zq9x" + struct.pack("<I", 60000) + bytes(range(256)) * 40)
    with pytest.raises(AudioError, match=r"cut_other\.wav: its WAV header declares 132300 bytes of audio, and after "
                                         r"them come 10248 bytes that begin with 'Zq9x', which as a chunk would run "
                                         r"49760 bytes past the file's end"):
        load_audio(tmp_path / "cut_other.wav")
    # 8-bit audio near its middle value reads as letters: past a header declaring a third, not taken for a chunk
    sf.write(tmp_path / "early8.wav", a, SR, subtype="PCM_U8")
    raw = bytearray((tmp_path / "early8.wav").read_bytes())
    at = raw.index(b"data")
    struct.pack_into("<I", raw, at + 4, SR)
    (tmp_path / "early8.wav").write_bytes(bytes(raw))
    with pytest.raises(AudioError, match=r"early8\.wav: its WAV header declares 22050 bytes of audio, and "):
        load_audio(tmp_path / "early8.wav")
    # an odd-sized data chunk whose pad byte its writer left out, a chunk of cover art after it (audit 45)
    sf.write(tmp_path / "odd.wav", a[:3 * SR - 1], SR, subtype="PCM_U8")
    art = b"id3 " + struct.pack("<I", 19968) + bytes(range(256)) * 78
    odd = (tmp_path / "odd.wav").read_bytes()
    assert len(odd) % 2 == 0  # libsndfile writes the pad byte: the file without it is the faulty writer's
    (tmp_path / "unpadded.wav").write_bytes(odd[:-1] + art)
    assert len(load_audio(tmp_path / "unpadded.wav")) == 3 * SR - 1
    # the same with a chunk whose body begins with zeros, so that both readings look like chunks (audit 48)
    dbmd = b"dbmd" + struct.pack("<I", 6004) + bytes(4) + bytes(range(256)) * 23 + bytes(112)
    (tmp_path / "unpadded_dbmd.wav").write_bytes(odd[:-1] + dbmd)
    assert len(load_audio(tmp_path / "unpadded_dbmd.wav")) == 3 * SR - 1
    # zeros between a chunk and an appended ID3v2 tag; an APEv2 tag cut inside its header (a broken download)
    (tmp_path / "zeros_then_tag.wav").write_bytes(listed + bytes(2048) + id3v2[:16384])
    assert len(load_audio(tmp_path / "zeros_then_tag.wav")) == 3 * SR
    for cut in (11, 15):
        (tmp_path / "ape_cut.wav").write_bytes(whole + (b"APETAGEX" + struct.pack("<2I", 2000, 30000))[:cut])
        assert len(load_audio(tmp_path / "ape_cut.wav")) == 3 * SR


def test_a_flac_whose_frames_run_past_its_declared_length_is_refused(tmp_path):
    """libsndfile stops at STREAMINFO's count of samples; the last frames' headers tell how far the audio goes."""
    from mgrfaults.data.containers import _crc8

    assert _crc8(b"123456789") == 0xF4  # the CRC-8 (polynomial 0x07) check value
    for seconds in (3.0, 0.1):
        sf.write(tmp_path / "whole.flac", music_like(seconds), SR, format="FLAC")
        assert len(load_audio(tmp_path / "whole.flac")) == int(seconds * SR)
    sf.write(tmp_path / "whole.flac", music_like(3.0), SR, format="FLAC")
    raw = bytearray((tmp_path / "whole.flac").read_bytes())
    fields = int.from_bytes(raw[21:26], "big")
    raw[21:26] = (fields - (fields & 0xFFFFFFFFF) + SR // 2).to_bytes(5, "big")  # total samples: 0.5 s
    (tmp_path / "short.flac").write_bytes(bytes(raw))
    with pytest.raises(AudioError, match=r"short\.flac: its FLAC header declares 11025 samples \(0\.50 s\), and its "
                                         r"frames run on past 2\.[0-9]+ s: a wrong header"):
        load_audio(tmp_path / "short.flac")


def test_corrupt_au_names_the_file(tmp_path):
    path = tmp_path / "jazz.00054.au"
    path.write_bytes(b"\0" + os.urandom(4095))  # random bytes, not another format's magic number
    with pytest.raises(AudioError, match="jazz.00054.au") as err:
        load_audio(path)
    assert isinstance(err.value, InputError) and "header" in str(err.value)


def test_random_bytes_as_wav(tmp_path):
    path = tmp_path / "noise.wav"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(AudioError, match="noise.wav"):
        load_audio(path)


@pytest.mark.parametrize("actual, named, message", [
    ("WAV", "au", r"a WAV file named as AU \(\.au\): rename it"),
    ("FLAC", "wav", r"a FLAC file named as WAV \(\.wav\): rename it"),
    ("AU", "wav", r"an AU file named as WAV"),
])
def test_audio_under_another_formats_extension_is_named_as_what_it_is(tmp_path, actual, named, message):
    path = tmp_path / f"blues.00001.{named}"
    sf.write(path, sine(0.2), SR, format=actual, subtype="PCM_16")
    with pytest.raises(AudioError, match=message) as err:
        load_audio(path)
    assert "blues.00001" in str(err.value) and "corrupt" not in str(err.value)


@pytest.mark.parametrize("ext", ["au", "wav"])
def test_truncated_file(tmp_path, ext):
    full = tmp_path / f"full.{ext}"
    sf.write(full, sine(1.0), SR, subtype="PCM_16", format=ext.upper())
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(AudioError, match=r"cut\.%s: truncated" % ext):
        load_audio(cut)


@pytest.mark.parametrize("fmt", ["WAV", "AU"])
@pytest.mark.parametrize("suffix, named", [(".flac", "as FLAC \\(\\.flac\\)"), (".ogg", "as Ogg \\(\\.ogg\\)"),
                                           (".mp3", "as MP3 \\(\\.mp3\\)"), (".aiff", "as AIFF \\(\\.aiff\\)")])
def test_a_truncated_wav_or_au_under_another_extension_is_refused_naming_what_it_is(tmp_path, fmt, suffix, named):
    # libsndfile reads a file by its content: the header checks go by it too, whatever the name says
    import struct

    sf.write(tmp_path / "whole", music_like(3.0), SR, subtype="PCM_16", format=fmt)
    data = (tmp_path / "whole").read_bytes()
    whole = tmp_path / f"whole{suffix}"
    whole.write_bytes(data)
    assert load_audio(whole).shape == (3 * SR,)  # whole, it decodes as what it is
    article = "an" if fmt == "AU" else "a"
    (tmp_path / f"cut{suffix}").write_bytes(data[:len(data) // 2])
    with pytest.raises(AudioError, match=rf"cut{re.escape(suffix)}: truncated: the header promises 132300 bytes of "
                                         rf"audio, the file holds \d+ \(it is {article} {fmt} file, named {named}: "
                                         r"rename it with its format's extension\)$"):
        load_audio(tmp_path / f"cut{suffix}")
    if fmt == "AU":  # a header declaring 30 % of the audio that follows
        part = bytearray(data)
        part[8:12] = struct.pack(">I", 39690)
        (tmp_path / f"part{suffix}").write_bytes(bytes(part))
        with pytest.raises(AudioError, match=rf"part{re.escape(suffix)}: its header declares 39690 bytes of audio, "
                                             r"and 132300 bytes follow it: a wrong header .*\(it is an AU file"):
            load_audio(tmp_path / f"part{suffix}")


def test_au_headers_that_libsndfile_reads_as_no_audio_are_named_for_what_they_are(tmp_path):
    import struct

    write_au(tmp_path / "x.au", music_like(2.0))
    data = bytearray((tmp_path / "x.au").read_bytes())
    for name, offset, size, message in [
        # the audio put past the end: libsndfile reads no sample ("no audio samples") or fails ("internal error")
        ("past_end.au", len(data) + 100, 0xFFFFFFFF, rf"its header puts the audio at byte {len(data) + 100}, past "
                                                     rf"the file's end \({len(data)} bytes\): a corrupt header"),
        ("past_end_0.au", len(data) + 100, 0, r"its header puts the audio at byte \d+, past the file's end"),
        ("far.au", 0x80000000, 0xFFFFFFFF, r"its header puts the audio at byte 2147483648, past the file's end"),
        # an 'unknown' size libsndfile adds to the offset as signed 32-bit integers: 0 samples for 2 s of audio
        ("unknown.au", 24, 0x7FFFFFFF, r"its header declares 2147483647 bytes of audio \(0x7FFFFFFF, which writers "
                                       r"streaming to a pipe leave for 'unknown'\), and 88200 bytes follow: libsndfile "
                                       r"reads no sample of them under that size; set the size field"),
    ]:
        data[4:12] = struct.pack(">II", offset, size)
        (tmp_path / name).write_bytes(bytes(data))
        with pytest.raises(AudioError, match=rf"{re.escape(name)}: {message}"):
            load_audio(tmp_path / name)
    data[4:12] = struct.pack(">II", 24, 0x7FFFF000)  # an 'unknown' libsndfile reads: the audio that follows
    (tmp_path / "streamed.au").write_bytes(bytes(data))
    assert load_audio(tmp_path / "streamed.au").shape == (2 * SR,)


@pytest.mark.parametrize("fmt, suffix", [("AIFF", "wav"), ("AIFF", "au"), ("CAF", "wav"), ("CAF", "au"),
                                         ("W64", "wav")])
def test_aiff_caf_or_wave64_under_a_wav_or_au_name_is_named_as_what_it_is(tmp_path, fmt, suffix):
    path = tmp_path / f"blues.00001.{suffix}"
    sf.write(path, sine(0.2), SR, format=fmt, subtype="PCM_16")
    kind = {"AIFF": "an AIFF", "CAF": "a CAF", "W64": "a Wave64"}[fmt]
    with pytest.raises(AudioError, match=rf"blues\.00001\.{suffix}: {kind} file named as {suffix.upper()} "
                                         rf"\(\.{suffix}\): rename it") as err:
        load_audio(path)
    assert "corrupt" not in str(err.value)


@pytest.mark.parametrize("fmt, exact", [("WAV", True), ("WAV", False), ("FLAC", True), ("AIFF", True)])
def test_audio_behind_an_id3v2_tag_is_named_as_such(tmp_path, fmt, exact):
    # an ID3v2 tag belongs to MP3; libsndfile does not recognise another format behind one (not: "an MP3 file")
    sf.write(tmp_path / "plain", music_like(1.0), SR, format=fmt, subtype="PCM_16")
    tag = id3v2_tag(300 if exact else 303)  # a tagger's size 3 bytes too large: the header is found all the same
    path = tmp_path / f"tagged.{fmt.lower()}"
    path.write_bytes(tag[:-3] + (tmp_path / "plain").read_bytes() if not exact else tag + (tmp_path / "plain").read_bytes())
    start = 310
    with pytest.raises(AudioError, match=rf"tagged\.{fmt.lower()}: an? {fmt} file with an ID3v2 tag in front of its "
                                         rf"header \({start} bytes\): ID3v2 tags belong to MP3 files.*remove the file's "
                                         rf"first {start} bytes \(tail -c \+{start + 1} in > out\)"):
        load_audio(path)
    # an MP3 behind its tag is an MP3
    sf.write(tmp_path / "x.mp3", music_like(1.0), SR, format="MP3")
    (tmp_path / "x.mp3").write_bytes(tag + (tmp_path / "x.mp3").read_bytes())
    assert load_audio(tmp_path / "x.mp3").size > 0.9 * SR


def test_an_au_cut_short_whose_offset_points_inside_its_header_is_truncated(tmp_path):
    # libsndfile reads its audio from byte 24: the bytes it holds are counted from there, not from the offset field
    import struct

    write_au(tmp_path / "x.au", sine(1.0))
    data = bytearray((tmp_path / "x.au").read_bytes())
    data[4:8] = struct.pack(">I", 16)
    (tmp_path / "cut.au").write_bytes(bytes(data[:-100]))
    with pytest.raises(AudioError, match=r"cut\.au: truncated: the header promises 44100 bytes of audio, the file "
                                         r"holds 44000"):
        load_audio(tmp_path / "cut.au")


@pytest.mark.parametrize("fmt", ["AU", "WAV"])
def test_a_size_field_that_counts_the_header_or_is_a_frame_off_is_no_truncation(tmp_path, fmt):
    # audit 50: some writers store the whole file's size in an AU's size field, or a data size 2 bytes off; the file
    # is whole and libsndfile reads every sample, but it was refused as truncated
    import struct

    sf.write(tmp_path / "x", music_like(1.0), SR, subtype="PCM_16", format=fmt)
    data = bytearray((tmp_path / "x").read_bytes())
    field = 8 if fmt == "AU" else data.index(b"data") + 4
    pack = ">I" if fmt == "AU" else "<I"
    audio = struct.unpack(pack, data[field:field + 4])[0]
    header = len(data) - audio
    for declared in (len(data), audio + 2):  # the whole file, and a frame more than follows
        data[field:field + 4] = struct.pack(pack, declared)
        (tmp_path / f"x.{fmt.lower()}").write_bytes(bytes(data))
        assert load_audio(tmp_path / f"x.{fmt.lower()}").shape == (SR,)
    # more missing than a header's length is a file cut short
    data[field:field + 4] = struct.pack(pack, audio + header + 2)
    (tmp_path / f"x.{fmt.lower()}").write_bytes(bytes(data))
    with pytest.raises(AudioError, match=rf"truncated: the header promises {audio + header + 2} bytes"):
        load_audio(tmp_path / f"x.{fmt.lower()}")


def test_empty_and_missing_file(tmp_path):
    (tmp_path / "empty.au").write_bytes(b"")
    with pytest.raises(AudioError, match="empty.au: empty file"):
        load_audio(tmp_path / "empty.au")
    with pytest.raises(AudioError, match="not found"):
        load_audio(tmp_path / "missing.wav")


def music_like(seconds=3.0, sr=SR, level=0.5, seed=0, noise=0.05):
    """Tones with a decaying envelope and a little noise: correlated samples, as music's are."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    y = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) / k for k, f in enumerate((110, 220, 330, 1760, 5000), 1))
    y = y * (0.6 + 0.4 * np.cos(2 * np.pi * 2 * t)) + noise * rng.standard_normal(t.size)
    return (level * y / np.max(np.abs(y))).astype(np.float32)


@pytest.mark.parametrize("samples, problem", [
    (np.zeros(3 * SR), r"every sample is 0: digital silence"),
    (np.full(3 * SR, 0.25), r"every sample is 0\.25: digital silence"),
    # the dither of an empty 16-bit recording: a few steps
    (np.random.default_rng(0).integers(-2, 3, 3 * SR) / 32768, r"near-silence: its samples swing -84\.3 dBFS at most, "
                                                               r"below -60 dBFS"),
])
def test_silence_is_refused_naming_the_file(tmp_path, samples, problem):
    sf.write(tmp_path / "blank.au", samples.astype(np.float32), SR, subtype="PCM_16")
    with pytest.raises(AudioError, match=rf"blank\.au: {problem}"):
        load_audio(tmp_path / "blank.au")


@pytest.mark.parametrize("channels", [1, 2])
def test_byte_swapped_samples_are_refused_naming_the_file(tmp_path, channels):
    # the bytes of each 16-bit sample exchanged (a faulty conversion) under a header that declares the other order:
    # music decodes as white noise at full scale
    pcm = np.rint(music_like() * 32767).astype(np.int16)
    pcm = np.stack([pcm] * channels, axis=1)
    sf.write(tmp_path / "swapped.wav", pcm.byteswap(), SR, subtype="PCM_16")
    with pytest.raises(AudioError, match=r"swapped\.wav: byte-swapped 16-bit samples( \(as channel 1 of 2 shows\))?: "
                                         r"as stored they are white noise "
                                         r"\(roughness 1\.[2-4]\d; music is below 1\), with the two bytes of each "
                                         r"sample exchanged a signal \(0\.\d\d\)"):
        load_audio(tmp_path / "swapped.wav")
    sf.write(tmp_path / "right.wav", pcm, SR, subtype="PCM_16")
    assert load_audio(tmp_path / "right.wav").shape == (3 * SR,)
    # quieter music keeps its low bytes' slow steps, byte-swapped: not white, but far rougher than exchanged; quieter
    # still, with hiss, not so much rougher either, but far louder as stored (audit 26: quiet classical, peaking at
    # -30 to -45 dBFS, 20 of 20 byte-swapped files accepted)
    for level_db in (-20, -30, -40, -50):
        quiet = np.rint(music_like(level=10 ** (level_db / 20)) * 32767).astype(np.int16)
        sf.write(tmp_path / "quiet_swapped.wav", np.stack([quiet] * channels, axis=1).byteswap(), SR, subtype="PCM_16")
        with pytest.raises(AudioError, match=r"quiet_swapped\.wav: byte-swapped 16-bit samples"):
            load_audio(tmp_path / "quiet_swapped.wav")


@pytest.mark.parametrize("level", [0.05, 0.1, 0.3])
def test_8_bit_samples_widened_by_repeating_their_byte_are_not_called_byte_swapped(tmp_path, level):
    # u8 * 257 - 32768 maps 0-255 onto the whole 16-bit range; exchanged, the bytes are the music with its sign bit
    # flipped, a square near full scale as smooth as the music: drum loops were refused as byte-swapped (audit 26)
    t = np.arange(3 * SR) / SR
    rng = np.random.default_rng(2)
    hits = rng.standard_normal(t.size) * np.exp(-(np.arange(t.size) % (SR // 4)) / 300)  # drums, silent between
    kick = np.sin(2 * np.pi * 55 * t) * np.exp(-(np.arange(t.size) % (SR // 2)) / 2000)
    u8 = np.clip(np.rint(128 + 127 * level * (0.5 * hits + kick)), 0, 255).astype(np.int32)
    pcm = (u8 * 257 - 32768).astype(np.int16)
    sf.write(tmp_path / "drums8.wav", pcm, SR, subtype="PCM_16")
    assert load_audio(tmp_path / "drums8.wav").shape == (t.size,)


@pytest.mark.parametrize("container", ["WAV", "AU"])
@pytest.mark.parametrize("other", ["silent", "hiss", "dc"])
@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_byte_swapped_stereo_is_named_whichever_channel_holds_the_music(tmp_path, container, other, noise):
    # channel 1 silent, a few steps of hiss, or a constant: the music on channel 2 tells the byte order; with a
    # little noise in the music, byte-swapped it is spread evenly over full scale, as random data is: the byte order
    # is the cause to name
    rng = np.random.default_rng(5)
    music = np.rint(music_like(noise=noise) * 32767).astype(np.int16)
    first = {"silent": np.zeros_like(music), "hiss": np.rint(3 * rng.standard_normal(music.size)).astype(np.int16),
             "dc": np.full_like(music, 300)}[other]
    path = tmp_path / f"swapped.{container.lower()}"
    sf.write(path, np.stack([first, music], axis=1).byteswap(), SR, subtype="PCM_16", format=container)
    with pytest.raises(AudioError, match=r"swapped\.\w+: byte-swapped 16-bit samples \(as channel 2 of 2 shows\): as "
                                         r"stored they are white noise"):
        load_audio(path)
    # as it should be, with its constant or hiss channel: music
    sf.write(path, np.stack([first, music], axis=1), SR, subtype="PCM_16", format=container)
    assert load_audio(path).shape == (music.size,)


def offset_binary(pcm):
    """16-bit samples as an unsigned writer stores them (0x8000 for silence), read as signed: the top bit flipped."""
    return (pcm.view(np.uint16) ^ 0x8000).view(np.int16)


@pytest.mark.parametrize("container", ["WAV", "AU"])
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("level_db", [-1, -20, -45])
def test_unsigned_16_bit_samples_under_a_signed_header_are_refused_naming_it(tmp_path, container, channels, level_db):
    # music stored unsigned decodes as a full-scale square wave carrying the music: "music" to every later check
    pcm = np.rint(music_like(level=10 ** (level_db / 20)) * 32767).astype(np.int16)
    path = tmp_path / f"unsigned.{container.lower()}"
    sf.write(path, np.stack([offset_binary(pcm)] * channels, axis=1), SR, subtype="PCM_16", format=container)
    where = r" \(as channel 1 of 2 shows\)" if channels == 2 else ""
    with pytest.raises(AudioError, match=rf"unsigned\.\w+: 16-bit samples stored unsigned \(offset binary\) under a "
                                         rf"header that declares them signed{where}: as stored they sit near full "
                                         r"scale \(mean level ([6-9]\d|100) % of it, .* convert the file again from its source, reading its samples as "
                                         r"unsigned"):
        load_audio(path)


@pytest.mark.parametrize("name", ["clipped_8x", "clipped_25x", "clipped_below_full_scale", "saturated_tanh_10x",
                                  "full_scale_sine", "full_scale_square", "loud_music", "decaying_square"])
def test_music_loud_clipped_or_saturated_to_a_square_is_not_called_unsigned(tmp_path, name):
    music = music_like(level=0.9).astype(np.float64)
    t = np.arange(3 * SR) / SR
    samples = {"clipped_8x": np.clip(8 * music, -1, 1), "clipped_25x": np.clip(25 * music, -1, 1),
               "clipped_below_full_scale": np.clip(25 * music, -0.97, 0.97),
               "saturated_tanh_10x": np.tanh(10 * music) / np.tanh(9),
               "full_scale_sine": 0.99997 * np.sin(2 * np.pi * 440 * t),
               "full_scale_square": 0.9 * np.sign(np.sin(2 * np.pi * 110 * t)),
               # a chiptune's notes: a square from full scale down to 0.6 each quarter second (audit 25: 108 of 144
               # such files were refused as unsigned)
               "decaying_square": np.sign(np.sin(2 * np.pi * 220 * t)) * (0.6 + 0.4 * np.exp(-(t % 0.25) / 0.1)),
               "loud_music": music}[name]
    sf.write(tmp_path / f"{name}.wav", samples.astype(np.float32), SR, subtype="PCM_16")
    assert load_audio(tmp_path / f"{name}.wav").shape == (3 * SR,)


def with_16_bit_header(path, data: bytes, channels: int, container: str) -> None:
    """``data`` under a header that declares 16-bit PCM: what ``wave`` writes when handed a float array's bytes."""
    if container == "WAV":
        import wave

        with wave.open(str(path), "wb") as w:
            w.setnchannels(channels), w.setsampwidth(2), w.setframerate(SR), w.writeframes(data)
    else:
        path.write_bytes(b".snd" + np.array([24, len(data), 3, SR, channels], dtype=">u4").tobytes() + data)


@pytest.mark.parametrize("container, dtype, endian", [("WAV", "<f4", "little"), ("WAV", "<f8", "little"),
                                                      ("AU", ">f4", "big"), ("AU", "<f4", "little"),
                                                      ("AU", ">f8", "big")])
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("noise", [0.0, 0.2])
def test_float_samples_under_a_16_bit_header_are_refused_naming_them(tmp_path, container, dtype, endian, channels,
                                                                     noise):
    # decoded as the header says: noise near half of full scale, twice (four times) as long; nothing refused it
    music = np.stack([music_like(noise=noise, seed=c) for c in range(channels)], axis=1)
    path = tmp_path / f"floats.{container.lower()}"
    with_16_bit_header(path, music.astype(dtype).tobytes(), channels, container)
    width = {"f4": "32", "f8": "64"}[dtype[1:]]
    with pytest.raises(AudioError, match=rf"floats\.\w+: {width}-bit float samples \({endian}-endian\) under a header "
                                         r"that declares 16-bit PCM: read as floats its data are a signal \(roughness "
                                         r"0\.\d\d, peak 0\.\d+ of full scale\), read as the header says noise, .* "
                                         r"write the file again with a header that declares its float samples"):
        load_audio(path)
    # the same music as 16-bit samples, as the header says: music
    pcm = np.rint(music * 32767).astype("<i2" if container == "WAV" else ">i2")  # the header's byte order
    with_16_bit_header(path, pcm.tobytes(), channels, container)
    assert load_audio(path).shape == (music.shape[0],)


@pytest.mark.parametrize("container, dtype", [("WAV", "<f4"), ("AU", ">f4"), ("AU", ">f8")])
@pytest.mark.parametrize("case", ["dual_mono", "16_bit_scale", "quiet", "after_silence"])
def test_float_samples_under_a_16_bit_header_are_refused_however_written(tmp_path, container, dtype, case):
    # a mono track saved as stereo (each float's low word repeated halved a channel's roughness), `y * 32767`
    # written as floats, quiet music (-56 dBFS), 5 s of digital silence first: all were decoded as music (audit 24)
    music = music_like(noise=0.05).astype(np.float64)
    samples = {"dual_mono": np.stack([music, music], axis=1), "16_bit_scale": 32767 * music[:, None],
               "quiet": 0.003 * music[:, None],
               "after_silence": np.concatenate([np.zeros(5 * SR), music])[:, None]}[case]
    path = tmp_path / f"floats.{container.lower()}"
    with_16_bit_header(path, samples.astype(dtype).tobytes(), samples.shape[1], container)
    with pytest.raises(AudioError, match=r"floats\.\w+: (32|64)-bit float samples \((little|big)-endian\) under "):
        load_audio(path)


@pytest.mark.parametrize("container, dtype, channels, case", [
    *[(container, dtype, 1, case) for container, dtype in [("WAV", "<f4"), ("AU", ">f4"), ("AU", "<f4"), ("AU", ">f8"),
                                                           ("WAV", "<f8")]
      for case in ["brick_walled", "quiet_16_bit", "noise_music"]],
    ("AU", ">f8", 2, "quiet_16_bit"), ("WAV", "<f8", 2, "quiet_16_bit"),
    *[(container, dtype, 2, case) for container, dtype in [("WAV", "<f4"), ("AU", ">f4"), ("AU", "<f4")]
      for case in ["brick_walled", "quiet_16_bit"]]])
def test_floats_of_16_bit_audio_or_of_no_smooth_signal_under_a_16_bit_header_are_refused(tmp_path, container, dtype,
                                                                                        case, channels):
    # floats as a decoder gives 16-bit audio (`y / 32768`: a short mantissa, all 0 below -42 dBFS), a master clipped
    # flat at full scale, noise music: their floats are no smooth signal, or their mantissa no spread of bits, and
    # such files were decoded as music (audit 26: 20 of 20 quiet classical excerpts, 20 of 20 brick-walled metal).
    # One sample in two or four of a channel is a float's top there; stereo 32-bit floats put every top in one
    # channel, as a square wave panned there would be, and are told by their floats, a smooth signal on 16-bit
    # audio's grid (audit 29: accepted before). Stereo 32-bit floats of noise music, and stereo 64-bit ones of a
    # brick-walled master or noise music (their tops beside words of 0, as a noisy signal zero-stuffed would put
    # them), are still decoded as music
    rng = np.random.default_rng(5)
    music = np.stack([music_like(seed=c).astype(np.float64) for c in range(channels)], axis=1)
    samples = {"brick_walled": np.clip(8 * music, -1, 1), "quiet_16_bit": 0.02 * music,
               "noise_music": np.tanh(3 * rng.standard_normal(music.shape))}[case]
    samples = np.clip(np.rint(samples * 32768), -32768, 32767) / 32768  # what a decoder gives of 16-bit audio
    path = tmp_path / f"floats.{container.lower()}"
    with_16_bit_header(path, samples.astype(dtype).tobytes(), channels, container)
    with pytest.raises(AudioError, match=r"floats\.\w+: (32|64)-bit float samples \((little|big)-endian\) under a "
                                         r"header that declares 16-bit PCM: "):
        load_audio(path)
    # as the 16-bit samples the header declares: music
    pcm = np.clip(np.rint(samples * 32768), -32768, 32767).astype("<i2" if container == "WAV" else ">i2")
    with_16_bit_header(path, pcm.tobytes(), channels, container)
    if case != "noise_music":  # (white noise at full scale is refused as random data)
        assert load_audio(path).shape == (music.shape[0],)


@pytest.mark.parametrize("name", ["quarter_rate_tone", "quarter_rate_tone_dithered", "zero_stuffed_noisy_square",
                                  "8_bit_grid_dithered"])
@pytest.mark.parametrize("channels", [1, 2])
def test_signals_with_a_float_tops_or_byte_swap_look_are_music(tmp_path, name, channels):
    # a tone at a quarter of the sample rate on its peaks (one sample in two at +-A, the others smaller), a square
    # at -6 dBFS with zeros stuffed between its samples: called floats (audits 28, 29); loud music on an 8-bit grid
    # with +-1 step of dither, as an editor exports 8-bit material to 16 bits: called byte-swapped (audit 29)
    rng = np.random.default_rng(4)
    n = 3 * SR
    k = np.arange(n)
    square = 0.5 * np.sign(np.sin(2 * np.pi * 110 * k / SR)) + rng.normal(0, 0.002, n)
    grid = np.rint(music_like(level=0.95).astype(np.float64) * 128) / 128
    tpdf = np.rint(rng.uniform(-0.5, 0.5, n) + rng.uniform(-0.5, 0.5, n)) / 32768  # -1, 0 or +1 step
    samples = {"quarter_rate_tone": 0.5 * np.sin(np.pi * k / 2 + 0.1),
               "quarter_rate_tone_dithered": 0.5 * np.sin(np.pi * k / 2 + 0.3) + rng.integers(-1, 2, n) / 32768,
               "zero_stuffed_noisy_square": np.where(k % 2 == 0, square, 0.0),
               "8_bit_grid_dithered": grid + tpdf}[name]
    samples = np.clip(np.stack([samples] * channels, axis=1), -1, 32767 / 32768)
    sf.write(tmp_path / f"{name}.wav", samples, SR, subtype="PCM_16")
    assert load_audio(tmp_path / f"{name}.wav").shape == (n,)


@pytest.mark.parametrize("container", ["WAV", "AU"])
@pytest.mark.parametrize("levels", [(0.5, -0.5), (0.47, -0.5), (0.4, -0.5), (0.45, -0.55)])
@pytest.mark.parametrize("jitter", [0.0, 0.001, 0.003])
def test_a_square_wave_at_float_levels_beside_another_channel_is_not_called_floats(tmp_path, container, levels,
                                                                                      jitter):
    # chiptune: a square bass at about -6 dBFS in one channel, noise drums in the other; read the other byte order,
    # or the channels the other way round, each square sample is a float's top above the drums' sample: 120 of 216
    # such files were refused (audit 24). Floats of two sizes, jumping sign, their lower words gathered near 0
    rng = np.random.default_rng(11)
    t = np.arange(3 * SR) / SR
    square = np.where(np.sin(2 * np.pi * 110 * t) > 0, *levels) + rng.uniform(-jitter, jitter, t.size)
    drums = 0.25 * rng.standard_normal(t.size) * np.exp(-(np.arange(t.size) % (SR // 8)) / 100)
    order = "<i2" if container == "WAV" else ">i2"
    for channels in ([square, drums], [drums, square]):
        pcm = np.clip(np.rint(np.stack(channels, axis=1) * 32767), -32768, 32767).astype(order)
        path = tmp_path / f"chiptune.{container.lower()}"
        with_16_bit_header(path, pcm.tobytes(), 2, container)
        assert load_audio(path).shape == (t.size,)


@pytest.mark.parametrize("container", ["WAV", "AU"])
@pytest.mark.parametrize("lead_left", [True, False])
def test_a_hard_panned_lead_at_float_levels_beside_a_loud_bass_is_not_called_floats(tmp_path, container, lead_left):
    # a square lead at 0.45-0.55 of full scale with a tremolo on one side, a bass at -3 dBFS on the other: the bass's
    # samples below the lead's read as a mantissa spread over its range, but they are a signal, not white (audit 25)
    t = np.arange(3 * SR) / SR
    lead = np.sign(np.sin(2 * np.pi * 440 * t)) * (0.5 + 0.05 * np.sin(2 * np.pi * 6 * t))
    bass = 0.7 * np.sin(2 * np.pi * 55 * t) * (0.6 + 0.4 * np.cos(2 * np.pi * 2 * t))
    order = "<i2" if container == "WAV" else ">i2"
    pcm = np.rint(np.stack([lead, bass] if lead_left else [bass, lead], axis=1) * 32767).astype(order)
    path = tmp_path / f"panned.{container.lower()}"
    with_16_bit_header(path, pcm.tobytes(), 2, container)
    assert load_audio(path).shape == (t.size,)


@pytest.mark.parametrize("offset", [0.0, 0.5, 1.0])
def test_byte_swapped_music_with_a_dc_offset_is_still_refused(tmp_path, offset):
    # music's bytes exchanged back swing around 0 or not, with a DC offset; they take both signs (audit 25: an offset
    # of 0.7 of the music's mean level or more let the file through)
    music = music_like(level=0.3).astype(np.float64)
    pcm = np.rint((music + offset * np.mean(np.abs(music))) * 32767).astype(np.int16)
    sf.write(tmp_path / "swapped.wav", pcm.byteswap(), SR, subtype="PCM_16")
    with pytest.raises(AudioError, match=r"swapped\.wav: byte-swapped 16-bit samples"):
        load_audio(tmp_path / "swapped.wav")


@pytest.mark.parametrize("name", ["square_at_float_levels", "noise_at_float_levels", "nyquist_square_stereo",
                                  "positive_noise", "white_noise"])
def test_16_bit_samples_at_the_levels_of_a_floats_top_are_not_called_floats(tmp_path, name):
    # 16-bit samples of about +0.47 and -0.5 of full scale read, two at a time, as floats of about +-0.5: a square
    # wave there is smooth as stored (not looked at), noise there reads as floats whose lower half is such a
    # sample again, not mantissa; only samples there give floats within full scale
    rng = np.random.default_rng(3)
    t = np.arange(3 * SR) / SR
    levels = np.where(np.sin(2 * np.pi * 3 * t) > 0, 0.47, -0.5) + rng.uniform(-0.003, 0.003, t.size)
    samples = {"square_at_float_levels": np.stack([levels, levels[::-1]], axis=1),
               "noise_at_float_levels": np.stack([levels, rng.permutation(levels)], axis=1),
               "nyquist_square_stereo": np.stack([0.5 * np.sign(np.sin(2 * np.pi * SR / 2 * t + 0.1))] * 2, axis=1),
               "positive_noise": np.clip(0.5 + 0.25 * rng.standard_normal(t.size), 0, 1)[:, None],
               "white_noise": rng.uniform(-0.5, 0.5, t.size)[:, None]}[name]
    path = tmp_path / f"{name}.wav"
    with_16_bit_header(path, np.rint(samples * 32767).astype("<i2").tobytes(), samples.shape[1], "WAV")
    assert load_audio(path).shape == (3 * SR,)


@pytest.mark.parametrize("subtype, container", [("PCM_16", "WAV"), ("PCM_16", "AU"), ("PCM_24", "WAV"),
                                              ("PCM_U8", "WAV"), ("PCM_S8", "AU"), ("ULAW", "AU"), ("ALAW", "WAV")])
@pytest.mark.parametrize("channels", [1, 2])
def test_random_bytes_under_a_valid_header_are_refused_naming_the_file(tmp_path, subtype, container, channels):
    path = tmp_path / f"random.{container.lower()}"
    sf.write(path, np.zeros((3 * SR, channels), np.float32), SR, subtype=subtype, format=container)
    data_size = 3 * SR * channels * {"PCM_16": 2, "PCM_24": 3}.get(subtype, 1)  # even: no pad byte after the data
    stored = path.read_bytes()
    # the samples are the file's last bytes (silence: 0 in signed PCM, 0x80 unsigned 8-bit, 0xff mu-law, 0xd5 A-law)
    assert len(stored) > data_size and len(set(stored[-data_size:])) == 1
    # the header kept, what follows it random bytes
    path.write_bytes(stored[:-data_size] + np.random.default_rng(0).bytes(data_size))
    with pytest.raises(AudioError, match=rf"random\.{container.lower()}: (channel 1 of 2: )?random data, not audio: its "
                                         r"samples are spread evenly over the codes of the format \(chi-square p = "):
        load_audio(path)


def test_random_data_in_any_channel_is_refused_naming_it(tmp_path):
    rng = np.random.default_rng(4)
    random_channel = rng.integers(-32768, 32768, 3 * SR) / 32768
    sf.write(tmp_path / "half.wav", np.stack([music_like(), random_channel], axis=1), SR, subtype="PCM_16")
    with pytest.raises(AudioError, match=r"half\.wav: channel 2 of 2: random data, not audio"):
        load_audio(tmp_path / "half.wav")
    # music on mu-law and A-law codes, and noise, are read
    for subtype in ("ULAW", "ALAW"):
        sf.write(tmp_path / "coded.wav", music_like(), SR, subtype=subtype)
        assert load_audio(tmp_path / "coded.wav").shape == (3 * SR,)
        sf.write(tmp_path / "coded_noise.wav", np.tanh(3 * rng.standard_normal(3 * SR)), SR, subtype=subtype)
        assert load_audio(tmp_path / "coded_noise.wav").shape == (3 * SR,)


@pytest.mark.parametrize("name, samples", [
    # noise music: saturated Gaussian noise spreads its samples nearly evenly (0.8 % off per eighth of full scale)
    ("saturated_noise", np.tanh(0.8 * np.random.default_rng(2).standard_normal(3 * SR)) / np.tanh(2.4)),
    ("uniform_half_scale", np.random.default_rng(3).uniform(-0.5, 0.5, 3 * SR)),  # even, but not over the range
    ("white_noise", np.random.default_rng(1).standard_normal(3 * SR) * 0.2),  # noise is noise either way
    ("quiet_music", music_like(level=10 ** (-50 / 20))),                       # peaking at -50 dBFS
    ("late_entry", np.concatenate([np.zeros(2 * SR), music_like(1.0)])),       # two seconds of silence first
    ("one_sample", np.array([0.1])),
])
def test_quiet_noisy_or_late_audio_is_not_called_silent_or_swapped(tmp_path, name, samples):
    sf.write(tmp_path / f"{name}.au", np.asarray(samples, np.float32), SR, subtype="PCM_16")
    assert load_audio(tmp_path / f"{name}.au").size == len(samples)


def test_silence_is_skipped_and_listed_under_on_bad_audio_skip(tmp_path):
    from mgrfaults.data.dataset import list_audio_files, scan_audio

    for genre in ("blues", "rock"):
        (tmp_path / genre).mkdir()
        for i in range(2):
            write_au(tmp_path / genre / f"{genre}.{i:05d}.au", music_like(seed=i))
    write_au(tmp_path / "rock" / "rock.00009.au", np.zeros(SR, np.float32))
    files = list_audio_files(tmp_path)
    with pytest.raises(AudioError, match=r"rock\.00009\.au: every sample is 0: digital silence.*dataset\.on_bad_audio: "
                                         r"error; with skip"):
        scan_audio(files)
    listing, bad = scan_audio(files, on_bad_audio="skip")
    assert sorted(listing["track_id"]) == ["blues.00000", "blues.00001", "rock.00000", "rock.00001"]
    assert bad["path"].str.endswith("rock.00009.au").tolist() == [True]
    assert bad["reason"].str.startswith("every sample is 0: digital silence").tolist() == [True]


def test_files_named_by_trust_audio_are_taken_as_they_decode(tmp_path, caplog):
    """A file the content checks refuse is taken where dataset.trust_audio names it, by its id, its path below the
    root, its absolute path or a pattern; what the checks say is logged; a file that does not decode is still
    refused, and an entry naming no file is refused."""
    from mgrfaults.data.dataset import list_audio_files, scan_audio
    from mgrfaults.data.metadata import TRUSTED_COLUMN, audio_trusted
    from mgrfaults.errors import NoMusicError

    for genre in ("blues", "rock"):
        for i in range(2):
            write_au(tmp_path / genre / f"{genre}.{i:05d}.au", music_like(seed=i))
    quiet = music_like(level=10 ** (-65 / 20))  # music below the near-silence floor, -60 dBFS
    write_au(tmp_path / "rock" / "rock.00009.au", quiet)
    files = list_audio_files(tmp_path)
    with pytest.raises(NoMusicError, match=r"rock\.00009\.au: near-silence.*list it in dataset\.trust_audio"):
        scan_audio(files)
    listing, _ = scan_audio(files, on_bad_audio="skip")
    assert TRUSTED_COLUMN not in listing.columns  # a run without the key: its listing as before
    for entry in ("rock.00009", "rock/rock.00009.au", str(tmp_path / "rock" / "rock.00009.au"), "rock/*9.au",
                  "./rock/rock.00009.au", "rock\\rock.00009.au"):
        caplog.clear()
        listing, bad = scan_audio(files, trust_audio=[entry], root=tmp_path)
        assert bad.empty and audio_trusted(listing).tolist() == [False] * 4 + [True], entry
        assert "taken as it decodes (dataset.trust_audio names it), though the content checks say: near-silence" \
            in caplog.text
    assert load_audio(tmp_path / "rock" / "rock.00009.au", judge_content=False) == pytest.approx(quiet, abs=2 ** -15)
    # the data stage's parameter where the key is set: the keyword arguments in one mapping (data.smk)
    listing, _ = scan_audio(files, on_bad_audio={"on_bad_audio": "error", "trust_audio": ["rock.00009"],
                                                 "root": str(tmp_path)})
    assert audio_trusted(listing).sum() == 1
    with pytest.raises(InputError, match=r"dataset\.trust_audio: 'rock\.0009' names no audio file of the dataset"):
        scan_audio(files, trust_audio=["rock.00009", "rock.0009"], root=tmp_path)
    with pytest.raises(InputError, match=r"dataset\.trust_audio: 'rock/' names a genre folder, no audio file: "
                                         r"'rock/\*' trusts every file in it"):
        scan_audio(files, trust_audio=["rock/"], root=tmp_path)
    (tmp_path / "rock" / "rock.00010.au").write_bytes(b"not audio at all")
    with pytest.raises(AudioError, match=r"rock\.00010\.au: .*dataset\.on_bad_audio: error") as refused:
        scan_audio(list_audio_files(tmp_path), trust_audio=["rock/*"], root=tmp_path)
    assert "list it in dataset.trust_audio" not in str(refused.value)  # no advice to trust what does not decode
    assert "dataset.trust_audio names this file, but it waives the heuristic checks alone" in str(refused.value)
    # no signal at all, or channels that cancel, is no heuristic's finding: refused trusted or not, saying so
    (tmp_path / "rock" / "rock.00010.au").unlink()
    stray_bit = np.zeros(SR)
    stray_bit[100] = 2 ** -15  # digital silence and one step of 16 bits (audit 32)
    for name, samples, problem in (("rock.00011.au", np.zeros(SR), "every sample is 0: digital silence"),
                                   ("rock.00013.au", stray_bit, "its samples differ by less than one step of 16-bit "
                                                                "audio (they swing -96.3 dBFS): digital silence but"),
                                   ("rock.00012.wav", np.stack([music_like(), -music_like()], axis=1),  # a step apart
                                    "its 2 channels cancel when mixed to mono")):
        sf.write(tmp_path / "rock" / name, samples, SR, subtype="PCM_16")
        with pytest.raises(AudioError, match=re.escape(f"{name}: {problem}")) as refused:
            scan_audio(list_audio_files(tmp_path), trust_audio=[f"rock/{name}", "rock.00009"], root=tmp_path)
        assert not isinstance(refused.value, NoMusicError)
        assert "dataset.trust_audio names this file, but it waives the heuristic checks alone" in str(refused.value)
        (tmp_path / "rock" / name).unlink()


def test_trust_audio_entries_name_files_as_written_before_as_patterns(tmp_path):
    """A name holding [ or * names that file alone; a pattern is matched against ids and relative paths (against
    absolute paths only where it is absolute): a root folder's name does not match; names compare in NFC form; a
    GTZAN copy's files go by their path below the folder of genre folders as well as below the root."""
    from mgrfaults.data.dataset import list_audio_files, trusted_files

    genres = tmp_path / "live" / "Data" / "genres_original"
    names = ["song[1].wav", "song1.wav", "a*b.wav", "aXb.wav", "cafe\u0301.wav", "song [live].wav"]
    for name in names:
        sf.write(genres / "rock" / name if (genres / "rock").exists() else (genres / "rock").mkdir(parents=True)
                 or genres / "rock" / name, music_like(0.2), SR, subtype="PCM_16")
    files = list_audio_files(genres)
    by_name = list(files["path"].map(lambda p: p.rsplit("/", 1)[1]))

    def named(entry, root=tmp_path / "live"):
        return sorted(n for n, t in zip(by_name, trusted_files(files, [entry], root)) if t)

    assert named("rock/song[1].wav") == ["song[1].wav"] and named("rock/a*b.wav") == ["a*b.wav"]
    assert named("rock/song [live].wav") == ["song [live].wav"]
    assert named("rock/song[12].wav") == ["song1.wav"]  # no such file: a pattern
    assert named("rock/café.wav") == ["cafe\u0301.wav"]  # typed in NFC, stored in NFD
    assert named("*live*") == ["song [live].wav"]  # not every file below the folder `live`
    assert named(str(tmp_path / "live") + "/*/rock/a*") == ["a*b.wav", "aXb.wav"]  # absolute: absolute paths
    assert named("Data/genres_original/rock/aXb.wav") == named("rock/aXb.wav") == named("aXb") == ["aXb.wav"]
    with pytest.raises(InputError, match=r"'rock/song2\.wav' names no audio file.* such as 'rock/a\*b\.wav'"):
        named("rock/song2.wav")


def test_trust_audio_entries_name_files_of_a_root_given_relatively(tmp_path, monkeypatch):
    """A root given as ../audio: a file goes by its path as the refusal names it, ``..`` and all, and by its absolute
    path; an id beginning with ``~`` is an id before it is a home folder (audit 32)."""
    from mgrfaults.data.dataset import list_audio_files, trusted_files

    (tmp_path / "audio" / "jazz").mkdir(parents=True)
    (tmp_path / "work").mkdir()
    for name in ("q.wav", "~news.wav"):
        sf.write(tmp_path / "audio" / "jazz" / name, music_like(0.2), SR, subtype="PCM_16")
    monkeypatch.chdir(tmp_path / "work")
    files = list_audio_files("../audio")
    for entry in ("../audio/jazz/q.wav", str(tmp_path / "audio" / "jazz" / "q.wav"), "jazz/q.wav", "q",
                  str(tmp_path / "audio") + "/*/q*"):
        assert trusted_files(files, [entry], "../audio").tolist() == [True, False], entry
    assert trusted_files(files, ["~news"], "../audio").tolist() == [False, True]


def test_trust_audio_resolves_to_the_files_it_names_for_the_data_stages_parameter(tmp_path):
    """The data stage's parameter is the files the entries name, not the entries: an id, a path and a pattern naming
    one file are one parameter; a GTZAN copy resolves below its genre folders; where the folder cannot be listed yet
    (GTZAN to download) the entries stay as written, for the scan; a typo is refused as the run is planned."""
    from mgrfaults.data.dataset import trusted_file_names

    genres = tmp_path / "kaggle" / "Data" / "genres_original"
    for genre in ("jazz", "rock"):
        (genres / genre).mkdir(parents=True)
        for i in range(2):
            sf.write(genres / genre / f"{genre}.{i:05d}.wav", music_like(0.2), SR, subtype="PCM_16")
    root = tmp_path / "kaggle"
    for gtzan, given in ((False, root / "Data"), (True, root)):  # a directory dataset's root holds genres/ at most
        below = genres.relative_to(given).as_posix()
        listed = {tuple(trusted_file_names(given, entries, gtzan=gtzan))
                  for entries in (["jazz.00001"], ["jazz/jazz.00001.wav"], ["jazz/*1.wav"], ["*/jazz.00001*", "jazz.00001"],
                                  [str(genres / "jazz" / "jazz.00001.wav")], [f"{below}/jazz/jazz.00001.wav"])}
        assert listed == {("jazz/jazz.00001.wav",)}, gtzan
    assert trusted_file_names(root, ["*.00000", "rock.00001"], gtzan=True) == [
        "jazz/jazz.00000.wav", "rock/rock.00000.wav", "rock/rock.00001.wav"]
    assert trusted_file_names(tmp_path / "to_download", ["jazz.00054", "rock/*"], gtzan=True) == ["jazz.00054", "rock/*"]
    with pytest.raises(InputError, match=r"'jazz\.0001' names no audio file of the dataset"):
        trusted_file_names(root / "Data", ["jazz.00001", "jazz.0001"])
    # a genre folder that cannot be listed is named, and gives no example (its row has no id: audit 35)
    (genres / "blues").symlink_to(tmp_path / "gone", target_is_directory=True)
    with pytest.raises(InputError, match=r"'blues\.00001' names no audio file of the dataset \(an entry is a track id, "
                                         r"such as 'jazz\.00000', .*such as 'jazz/\*'\); 1 genre folder\(s\) could not "
                                         r"be listed, their files unknown: \['.*genres_original/blues'\]"):
        trusted_file_names(root / "Data", ["blues.00001"])
    with pytest.raises(InputError, match=r"'blues\*' names no audio file .*1 genre folder\(s\) could not be listed"):
        trusted_file_names(root / "Data", ["blues*"])  # the folder's row is no file a pattern takes (audit 36)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
def test_stereo_channels_that_cancel_in_the_mono_mix_are_named_as_such(tmp_path, subtype):
    # one channel the other inverted, as float written to integers: the mix is 0, or a leftover of one step; refused
    # trusted or not (the analysed mix is not what one hears)
    left = music_like()
    sf.write(tmp_path / "inverted.wav", np.stack([left, -left], axis=1), SR, subtype=subtype)
    for judged in (True, False):
        with pytest.raises(AudioError, match=r"inverted\.wav: its 2 channels cancel when mixed to mono, the analysed "
                                             r"signal \(RMS: the quietest channel -\d+\.\d dBFS, the mix (-\d+\.\d dBFS|"
                                             r"exactly 0)\), as where one channel is the other with its polarity "
                                             r"inverted; keep one channel") as refused:
            load_audio(tmp_path / "inverted.wav", judge_content=judged)
        assert not isinstance(refused.value, NoMusicError)


def test_channels_that_cancel_to_a_louder_leftover_or_in_moments_alone(tmp_path):
    """A mix 20 dB down but above near-silence (a lossy codec's leftover of inverted channels) is a heuristic's
    finding, waived for a trusted file; loud anti-phase clicks over quiet music (a record's crackle) cancel in the
    peaks alone, not in the RMS, and are music (audit 33)."""
    music = music_like(level=0.5)
    leftover = music_like(level=0.5 * 10 ** (-30 / 20), seed=7)  # what a codec leaves of L + R, 30 dB down
    sf.write(tmp_path / "coded.wav", np.stack([music + leftover, -music + leftover], axis=1), SR, subtype="PCM_16")
    with pytest.raises(NoMusicError, match=r"coded\.wav: its 2 channels cancel when mixed to mono"):
        load_audio(tmp_path / "coded.wav")
    assert load_audio(tmp_path / "coded.wav", judge_content=False).size == music.size
    quiet = music_like(level=10 ** (-26 / 20))
    click = np.zeros_like(quiet)
    click[SR: SR + 33] = 0.95 * np.hanning(33)  # 1.5 ms at full scale, in anti-phase
    sf.write(tmp_path / "crackle.wav", np.stack([quiet + click, quiet - click], axis=1), SR, subtype="PCM_16")
    assert load_audio(tmp_path / "crackle.wav").size == quiet.size


@pytest.mark.parametrize("subtype", ["PCM_24", "PCM_32", "FLOAT"])
def test_music_below_one_step_of_16_bits_in_a_finer_format_is_near_silence(tmp_path, subtype):
    # a 24-bit, 32-bit or float file resolves music at -93 dBFS: near-silence, which trust_audio waives (audit 33)
    sf.write(tmp_path / "faint.wav", music_like(level=10 ** (-93 / 20)), SR, subtype=subtype)
    with pytest.raises(NoMusicError, match=r"faint\.wav: near-silence"):
        load_audio(tmp_path / "faint.wav")
    assert load_audio(tmp_path / "faint.wav", judge_content=False).size == 3 * SR


@pytest.mark.parametrize("right", ["silent", "another song", "the same, 6 dB down"])
def test_stereo_channels_that_do_not_cancel_are_not_said_to(tmp_path, right):
    # a quiet song beside a silent channel, or beside another: near-silence, not inverted channels (audit 32)
    left = music_like(level=10 ** (-57 / 20))
    other = {"silent": np.zeros_like(left), "another song": music_like(level=10 ** (-57 / 20), seed=5),
             "the same, 6 dB down": -0.5 * left}[right]
    sf.write(tmp_path / "quiet.wav", np.stack([left, other], axis=1), SR, subtype="PCM_24")
    with pytest.raises(NoMusicError, match=r"quiet\.wav: near-silence"):
        load_audio(tmp_path / "quiet.wav")


def test_a_click_in_digital_silence_is_refused(tmp_path):
    samples = np.zeros(3 * SR, np.float32)
    samples[1000:1008] = 0.8
    sf.write(tmp_path / "click.au", samples, SR, subtype="PCM_16")
    with pytest.raises(AudioError, match=r"click\.au: digital silence \(samples exactly 0\) in 100 % of its length"):
        load_audio(tmp_path / "click.au")
    # a song that ends halfway through the excerpt keeps its half
    tail = np.concatenate([music_like(1.5), np.zeros(int(1.5 * SR), np.float32)])
    sf.write(tmp_path / "ending.au", tail, SR, subtype="PCM_16")
    assert load_audio(tmp_path / "ending.au").size == tail.size


def test_a_silent_beginning_cut_to_the_excerpt_says_so(tmp_path):
    # the checks judge the excerpt analysed: a long file's silent lead-in is all of a 1-s excerpt
    samples = np.concatenate([np.zeros(int(1.5 * SR), np.float32), music_like(2.0)])
    sf.write(tmp_path / "lead_in.au", samples, SR, subtype="PCM_16")
    with pytest.raises(AudioError, match=r"lead_in\.au: every sample is 0: digital silence.* \(in the excerpt analysed: "
                                         r"the file's first 1 s, dataset\.max_duration\)$"):
        load_audio(tmp_path / "lead_in.au", max_duration=1.0)
    assert load_audio(tmp_path / "lead_in.au", max_duration=30.0).size == samples.size


@pytest.mark.parametrize("rate", [SR, 44100, 8000])
def test_files_cut_at_max_duration_are_named_in_the_data_stage_log(tmp_path, caplog, rate):
    from mgrfaults.data.dataset import list_audio_files, scan_audio

    for genre in ("blues", "rock"):
        (tmp_path / genre).mkdir()
    # 1.05 s is within the margin a "30 s" excerpt runs over (not named); 3 s and 5 s were cut to 1 s
    for name, seconds in (("blues/a", 1.05), ("blues/b", 3.0), ("rock/c", 5.0), ("rock/d", 0.5)):
        sf.write(tmp_path / f"{name}.wav", music_like(seconds, sr=rate, seed=len(name)), rate, subtype="PCM_16")
    with caplog.at_level("WARNING", logger="mgrfaults"):
        listing, _ = scan_audio(list_audio_files(tmp_path), max_duration=1.0)
    assert listing["duration"].max() <= 1.0
    cut = [r.getMessage() for r in caplog.records if "dataset.max_duration" in r.getMessage()]
    assert len(cut) == 1 and cut[0].startswith("2 of 4 files are longer than dataset.max_duration (1 s) and were cut "
                                                "to their first 1 s (the longest, ")
    assert "c.wav, holds 5.0 s; first: " in cut[0] and "b.wav" in cut[0] and "a.wav" not in cut[0]


# ---- containers cut short, damaged or joined: libsndfile decodes what is there without an error ------------------


def _cut(path, share):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * share)])


def _ogg_pages(data):
    """(offset, size) of each page of an intact Ogg file."""
    pos, pages = 0, []
    while pos < len(data):
        n = data[pos + 26]
        size = 27 + n + sum(data[pos + 27:pos + 27 + n])
        pages.append((pos, size))
        pos += size
    return pages


def _restamp(data, pos, size):
    """``data`` with the Ogg page at ``pos`` given its right checksum again."""
    from mgrfaults.data.containers import ogg_crc

    page = bytearray(data[pos:pos + size])
    page[22:26] = bytes(4)
    page[22:26] = ogg_crc(bytes(page)).to_bytes(4, "little")
    return data[:pos] + bytes(page) + data[pos + size:]


@pytest.mark.parametrize("subtype, rate", [("VORBIS", SR), ("OPUS", 48000)])
def test_ogg_cut_damaged_or_joined_is_refused(tmp_path, subtype, rate):
    whole = tmp_path / "whole.ogg"
    sf.write(whole, music_like(6.0, sr=rate), rate, format="OGG", subtype=subtype)
    assert load_audio(whole).shape == (6 * SR,)  # an intact file decodes whole
    data = whole.read_bytes()
    (tmp_path / "tagged.ogg").write_bytes(data + b"TAG" + bytes(125))  # an ID3v1 tag appended: read whole
    assert load_audio(tmp_path / "tagged.ogg").shape == (6 * SR,)
    pages = _ogg_pages(data)
    cases = {
        "cut.ogg": data[:len(data) // 2],
        "zeroed.ogg": data[:len(data) // 3] + bytes(len(data) // 6) + data[len(data) // 3 + len(data) // 6:],
        "flipped.ogg": data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 0xFF]) + data[len(data) // 2 + 1:],
        "joined.ogg": data + data,
        # the last page without its end-of-stream flag, its checksum right: cut exactly at a page's end
        "no_end.ogg": _restamp(data[:pages[-1][0] + 5] + bytes([data[pages[-1][0] + 5] & ~0x04])
                               + data[pages[-1][0] + 6:], *pages[-1]),
    }
    messages = {
        "cut.ogg": r"truncated: the Ogg page at byte \d+ runs past the end of the file",
        "zeroed.ogg": r"damaged: (\d+ bytes at byte \d+ are no Ogg page|Ogg page \d+ \(at byte \d+\) fails its checksum)",
        "flipped.ogg": r"damaged: Ogg page \d+ \(at byte \d+\) fails its checksum: the decoder skips it",
        "joined.ogg": r"2 Ogg streams one after another \(files joined",
        "no_end.ogg": r"truncated: its last Ogg page does not end the stream",
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(AudioError, match=rf"{name}: {messages[name]}"):
            load_audio(tmp_path / name)


@pytest.mark.parametrize("fmt, subtype, suffix, kind", [
    ("RF64", "PCM_16", ".wav", "RF64"),
    ("W64", "PCM_16", ".w64", "Wave64"),
    ("AIFF", "PCM_16", ".aiff", "AIFF"),
    ("AIFF", "ULAW", ".aifc", "AIFF"),
])
def test_containers_with_64_bit_or_big_endian_sizes_cut_short_are_refused(tmp_path, fmt, subtype, suffix, kind):
    path = tmp_path / f"x{suffix}"
    sf.write(path, music_like(4.0), SR, format=fmt, subtype=subtype)
    assert load_audio(path).shape == (4 * SR,)
    _cut(path, 0.5)
    with pytest.raises(AudioError, match=rf"x{re.escape(suffix)}: truncated: its {kind} header promises \d+ bytes of "
                                         r"audio, the file holds \d+"):
        load_audio(path)


def test_a_flac_without_its_length_is_named_as_such(tmp_path):
    path = tmp_path / "piped.flac"
    sf.write(path, music_like(2.0), SR, format="FLAC")
    data = bytearray(path.read_bytes())
    data[21] &= 0xF0  # STREAMINFO's total samples (the low 36 bits of bytes 18-25): 0, as a pipe's writer leaves it
    data[22:26] = bytes(4)
    path.write_bytes(bytes(data))
    with pytest.raises(AudioError, match=r"piped\.flac: its FLAC header gives no length \(0 samples: a stream written "
                                         r"to a pipe"):
        load_audio(path)


def test_a_header_that_declares_no_audio_or_a_fraction_of_it_is_named(tmp_path):
    import struct

    write_au(tmp_path / "zero.au", music_like(2.0))
    data = bytearray((tmp_path / "zero.au").read_bytes())
    data[8:12] = struct.pack(">I", 0)
    (tmp_path / "zero.au").write_bytes(bytes(data))
    with pytest.raises(AudioError, match=r"zero\.au: its header declares 0 bytes of audio, and 88200 bytes follow: "
                                         r"a header never completed"):
        load_audio(tmp_path / "zero.au")
    data[8:12] = struct.pack(">I", 1000)
    (tmp_path / "small.au").write_bytes(bytes(data))
    with pytest.raises(AudioError, match=r"small\.au: its header declares 1000 bytes of audio, and 88200 bytes follow "
                                         r"it: a wrong header"):
        load_audio(tmp_path / "small.au")
    sf.write(tmp_path / "w.wav", music_like(2.0), SR, subtype="PCM_16")
    data = bytearray((tmp_path / "w.wav").read_bytes())
    at = data.find(b"data") + 4
    data[at:at + 4] = struct.pack("<I", 0)
    (tmp_path / "zero.wav").write_bytes(bytes(data))
    with pytest.raises(AudioError, match=r"zero\.wav: its header declares 0 bytes of audio, and 88200 bytes follow"):
        load_audio(tmp_path / "zero.wav")
    # 0x7FFFFFFF: what writers streaming to a pipe leave for "unknown"; the samples there are read
    data[at:at + 4] = struct.pack("<I", 0x7FFFFFFF)
    (tmp_path / "streamed.wav").write_bytes(bytes(data))
    assert load_audio(tmp_path / "streamed.wav").shape == (2 * SR,)


def test_a_float_file_with_a_few_overs_is_clipped_a_hot_one_rescaled(tmp_path, caplog):
    music = music_like(3.0)
    glitch = music.copy()
    glitch[1000] = 1e6  # a corrupt sample: rescaled to it, the music would be near silence
    glitch[2000:2044] = 1.4  # a transient beyond full scale, as a float recorder or a lossy decoder's overshoot has it
    sf.write(tmp_path / "glitch.wav", glitch, SR, subtype="FLOAT")
    with caplog.at_level("WARNING", logger="mgrfaults"):
        y = load_audio(tmp_path / "glitch.wav")
    assert "45 sample(s) reach 1e+06, outside [-1, 1]: clipped to [-1, 1]" in caplog.text
    np.testing.assert_array_equal(np.delete(y, [1000, *range(2000, 2044)]), np.delete(music, [1000, *range(2000, 2044)]))
    assert y[1000] == 1.0 and np.all(y[2000:2044] == 1.0)  # the music keeps its level
    sf.write(tmp_path / "hot.wav", music * 3.0, SR, subtype="FLOAT")  # peaks at 1.5 throughout: a hot float master
    caplog.clear()
    with caplog.at_level("WARNING", logger="mgrfaults"):
        y = load_audio(tmp_path / "hot.wav")
    assert np.isclose(np.max(np.abs(y)), 1.0) and "rescaled to peak 1" in caplog.text


@pytest.mark.parametrize("fmt, subtype, rate", [("WAV", "GSM610", 8000), ("AU", "G721_32", SR), ("AIFF", "GSM610", 8000)])
def test_encodings_libsndfile_cannot_seek_in_are_read_whole(tmp_path, fmt, subtype, rate):
    # libsndfile reads GSM 6.10 and G.721 by counts of frames only ("frames must be specified for non-seekable files")
    path = tmp_path / f"x.{fmt.lower()}"
    sf.write(path, music_like(2.0, sr=rate), rate, format=fmt, subtype=subtype)
    expected = sf.info(str(path)).frames
    assert abs(len(load_audio(path, sample_rate=rate)) - expected) <= 1
    assert len(load_audio(path, sample_rate=rate, max_duration=1.0)) == rate


def test_an_encoding_libsndfile_opens_but_cannot_read_is_named(tmp_path):
    sf.write(tmp_path / "x.aiff", music_like(1.0), SR, format="AIFF", subtype="DWVW_16")
    with pytest.raises(AudioError, match=r"x\.aiff: cannot decode: .*\(its encoding, AIFF DWVW_16, is one libsndfile "
                                         r"opens but cannot read: convert it to 16-bit PCM\)"):
        load_audio(tmp_path / "x.aiff")


@pytest.mark.parametrize("damage", ["cut", "zeroed"])
def test_a_damaged_or_truncated_flac_is_named_as_such_not_as_an_unreadable_encoding(tmp_path, damage):
    path = tmp_path / f"{damage}.flac"
    sf.write(path, music_like(10.0), SR, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    if damage == "cut":
        data = data[:len(data) // 2]
    else:
        data[len(data) // 2:len(data) // 2 + 4000] = bytes(4000)
    path.write_bytes(bytes(data))
    with pytest.raises(AudioError, match=rf"{damage}\.flac: cannot decode: .*\(a damaged or truncated FLAC stream: "
                                         r"the file was cut short or some of its bytes are damaged; copy it again") as err:
        load_audio(path, max_duration=None)
    assert "convert it to 16-bit PCM" not in str(err.value)


@pytest.mark.parametrize("block", [None, 5, 8, 4096])
def test_flac_files_joined_are_refused_naming_it(tmp_path, monkeypatch, block):
    # libsndfile decodes `cat a.flac b.flac` as a.flac alone; any block size of the search finds each stream once
    from mgrfaults.data import audio

    if block:
        monkeypatch.setattr(audio, "FLAC_SCAN_BLOCK", block)
    sf.write(tmp_path / "a.flac", music_like(2.0, seed=1), SR, subtype="PCM_16")
    sf.write(tmp_path / "b.flac", music_like(2.0, seed=2), SR, subtype="PCM_16")
    a, b = (tmp_path / "a.flac").read_bytes(), (tmp_path / "b.flac").read_bytes()
    assert load_audio(tmp_path / "a.flac").shape == (2 * SR,)
    for n, data in ((2, a + b), (3, a + b + a)):
        (tmp_path / "joined.flac").write_bytes(data)
        with pytest.raises(AudioError, match=rf"joined\.flac: {n} FLAC streams one after another \(files joined, as "
                                             r"`cat a\.flac b\.flac` joins them\): the decoder reads the first only"):
            load_audio(tmp_path / "joined.flac")


@pytest.mark.parametrize("container, dtype", [("WAV", "<f4"), ("AU", ">f4")])
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("scale", [32767.0, 65536.0, 1.0])
def test_floats_of_quiet_16_bit_audio_at_other_scales_under_a_16_bit_header_are_refused(tmp_path, container, dtype,
                                                                                       channels, scale):
    # 16-bit audio as floats by y / 32767 (a writer scaling by the positive peak), y / 65536 (y / 32768 after a
    # -6 dB gain) or y itself (the 16-bit scale): their mantissa ends within 16 bits (or repeats its top's bits), so
    # its lower words are no spread of bits; at -30 dBFS such files were decoded as music (audit 41)
    music = np.stack([music_like(seed=c).astype(np.float64) for c in range(channels)], axis=1)
    pcm = np.rint(0.03 * music * 32768)
    path = tmp_path / f"floats.{container.lower()}"
    with_16_bit_header(path, (pcm / scale).astype(dtype).tobytes(), channels, container)
    with pytest.raises(AudioError, match=r"floats\.\w+: 32-bit float samples \((little|big)-endian\) under a header "
                                         r"that declares 16-bit PCM: "):
        load_audio(path)
