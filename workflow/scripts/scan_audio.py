"""List and decode every audio file of a dataset folder; bad files fail or are skipped and listed."""

from mgrfaults.data.dataset import list_audio_files, scan_audio
from mgrfaults.data.download import find_genre_root
from mgrfaults.io import write_csv_atomic
from mgrfaults.logs import setup_script_logging

log = setup_script_logging(snakemake.log)
if snakemake.params.gtzan_copy:
    from mgrfaults.data.annotations import check_gtzan_copy, gtzan_genre_root

    genre_root, layout = gtzan_genre_root(snakemake.input[0])
    log.info("GTZAN copy in the %s layout: %s", layout, genre_root)
    files = list_audio_files(genre_root, snakemake.params.extensions, gtzan=True)  # misplaced or twice: refused
    # ids by stem, whatever the extension; a partial copy (dataset.gtzan.partial) has its missing ids logged
    check_gtzan_copy(snakemake.input[0], files["track_id"], partial=snakemake.params.gtzan_copy == "partial",
                     paths=dict(zip(files["track_id"], files["path"])))
else:
    extensions = snakemake.params.extensions
    files = list_audio_files(find_genre_root(snakemake.input[0], extensions), extensions)
listing, bad = scan_audio(
    files,
    sample_rate=snakemake.params.sample_rate,
    max_duration=snakemake.params.max_duration,
    on_bad_audio=snakemake.params.on_bad_audio,
)
write_csv_atomic(bad, snakemake.output.bad)
write_csv_atomic(listing, snakemake.output.listing)
log.info("%d files decoded, %d skipped", len(listing), len(bad))
if snakemake.params.gtzan_copy and len(bad):
    from mgrfaults.data.annotations import track_id_from_path

    log.warning("GTZAN excerpts that do not decode: %s", sorted(track_id_from_path(p) for p in bad["path"]))
