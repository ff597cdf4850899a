"""Audio decoding: .au/.wav/.flac/.ogg through libsndfile, .mp3 through libsndfile or audioread.

Every failure is an :class:`~mgrfaults.errors.AudioError` naming the file and the problem.
libsndfile silently reads a truncated file up to where it ends, and opens random bytes with
an .au name as header-less raw audio; both are real in GTZAN-like collections (jazz.00054),
so the headers of AU and WAV files are checked here before decoding.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import soundfile as sf

from mgrfaults.errors import AudioError

AU_MAGIC = b".snd"
AU_UNKNOWN_SIZE = 0xFFFFFFFF


def _check_au_header(path: Path, size: int) -> None:
    with open(path, "rb") as f:
        header = f.read(24)
    if len(header) < 24 or header[:4] != AU_MAGIC:
        raise AudioError(path, "not an AU file: the '.snd' header is missing (corrupt file?)")
    offset, data_size = struct.unpack(">II", header[4:12])
    if data_size != AU_UNKNOWN_SIZE and offset + data_size > size:
        raise AudioError(
            path, f"truncated: the header promises {data_size} bytes of audio, the file holds {max(size - offset, 0)}"
        )


def _check_wav_header(path: Path, size: int) -> None:
    with open(path, "rb") as f:
        riff = f.read(12)
        if len(riff) < 12 or riff[:4] not in (b"RIFF", b"RF64") or riff[8:12] != b"WAVE":
            raise AudioError(path, "not a WAV file: the RIFF/WAVE header is missing (corrupt file?)")
        if riff[:4] == b"RF64":
            return  # 64-bit sizes live in a ds64 chunk; libsndfile checks those
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                raise AudioError(path, "truncated: no 'data' chunk")
            cid, csize = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"data":
                available = size - f.tell()
                if csize > available and csize != AU_UNKNOWN_SIZE:
                    raise AudioError(
                        path, f"truncated: the header promises {csize} bytes of audio, the file holds {available}"
                    )
                return
            f.seek(csize + (csize & 1), 1)


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
    except Exception as e:  # audioread raises many backend-specific types
        raise AudioError(path, f"cannot decode: {e}") from e
    y = np.concatenate(blocks).astype(np.float32) / 32768.0 if blocks else np.zeros(0, np.float32)
    return y.reshape(-1, channels), sr


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
    info = sf.info(str(path))
    return {"sample_rate": int(info.samplerate), "duration": float(info.frames) / info.samplerate, "channels": info.channels}


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioError(path, "file not found")
    size = path.stat().st_size
    if size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    suffix = path.suffix.lower()
    if suffix in (".au", ".snd"):
        _check_au_header(path, size)
    elif suffix == ".wav":
        _check_wav_header(path, size)


def decode(path, max_duration: float | None = None) -> tuple[np.ndarray, int]:
    """Decode an audio file at its own sample rate, downmixed to mono.

    Parameters
    ----------
    path : str or Path
    max_duration : float, optional
        Seconds to decode from the start; ``None``: all.

    Returns
    -------
    y : np.ndarray, shape (n_samples,), float32 in [-1, 1]
    sample_rate : int
        Hz, as stored in the file.
    """
    path = Path(path)
    _check_file(path)
    try:
        with sf.SoundFile(str(path)) as f:
            if f.format == "RAW":
                raise AudioError(path, "no recognisable audio header (corrupt file?)")
            sr = int(f.samplerate)
            frames = -1 if max_duration is None else int(round(max_duration * sr))
            y = f.read(frames=frames, dtype="float32", always_2d=True)
    except AudioError:
        raise
    except sf.LibsndfileError as e:
        if path.suffix.lower() != ".mp3":
            raise AudioError(path, f"cannot decode: {e.error_string}") from e
        y, sr = _decode_audioread(path, max_duration)
    except (RuntimeError, ValueError) as e:
        raise AudioError(path, f"cannot decode: {e}") from e
    if y.shape[0] == 0:
        raise AudioError(path, "no audio samples")
    mono = y.mean(axis=1, dtype=np.float64).astype(np.float32) if y.shape[1] > 1 else y[:, 0]
    if not np.all(np.isfinite(mono)):
        raise AudioError(path, "non-finite samples (NaN or inf)")
    return mono, sr


def load_audio(path, sample_rate: int = 22050, max_duration: float | None = 30.0) -> np.ndarray:
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

    Returns
    -------
    np.ndarray, shape (n_samples,), float32

    Raises
    ------
    AudioError
        Missing, empty, corrupt or truncated file, or non-finite samples; the message names the file.
    """
    y, sr = decode(path, max_duration)
    if sr != sample_rate:
        import librosa

        y = librosa.resample(y, orig_sr=sr, target_sr=sample_rate, res_type="soxr_hq").astype(np.float32)
        if max_duration is not None:
            y = y[: int(round(max_duration * sample_rate))]
    return np.ascontiguousarray(y, dtype=np.float32)


def write_au(path, y: np.ndarray, sample_rate: int = 22050) -> None:
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
