# Stage: data. Audio on disk plus the metadata table (track_id, path, genre, artist, fault, ...).
# Source `synthetic` renders the GTZAN-like dataset (one job, a process per genre); `gtzan` and `directory`
# read audio from a folder (GTZAN downloaded with its checksum when no local root is given).
from dataclasses import asdict

import yaml

from mgrfaults import GENRES
from mgrfaults.data.annotations import gtzan_source_problem
from mgrfaults.data.dataset import audio_manifest, trusted_file_names
from mgrfaults.errors import InputError

GTZAN_SOURCES = yaml.safe_load(open(Path(workflow.basedir) / "resources" / "gtzan_sources.yaml"))
PUBLISHED_LISTS = [f"{part}_{kind}" for kind in ("filtered", "stratified") for part in ("train", "valid", "test")]
ANNOTATIONS = DATASET.directory["annotations"]  # a directory dataset's annotations CSV, or None
# its bytes digested: a rerun trigger for annotations replaced by a copy with an older time (and the report's check)
ANNOTATIONS_DIGEST = content_digest([ANNOTATIONS]) if DATASET.source == "directory" and ANNOTATIONS else None
# the original GTZAN URL is dead: fail now with what to download, not after a connection wait
if DATASET.source == "gtzan" and gtzan_source_problem(DATASET.gtzan):
    raise InputError(gtzan_source_problem(DATASET.gtzan))

# every audio file the scan reads under a user's root (relative path, size, mtime), stat'ed once per invocation:
# as a param, any change reruns the data stage. scan_audio's input, the root folder, is `ancient`: its own mtime
# misses a file rewritten in place or added to a genre folder, and changes with any file written beside the
# genre folders (a .DS_Store, a README, a log where the root is the working folder), which the scan never reads.
# A downloaded GTZAN is the workflow's own, checksummed output, and the synthetic dataset the workflow's: none
AUDIO_MANIFEST = (audio_manifest(DATASET.root, DATASET.directory["extensions"], gtzan=DATASET.source == "gtzan")
                  if DATASET.source != "synthetic" and DATASET.root else "")
# dataset.trust_audio as the files it names (mgrfaults.data.dataset.trusted_file_names), so that the same files named
# otherwise rerun nothing; as written where the audio is still to be downloaded (the scan resolves it)
TRUSTED_AUDIO = (trusted_file_names(DATASET.root, DATASET.trust_audio, DATASET.directory["extensions"],
                                    gtzan=DATASET.source == "gtzan")
                 if DATASET.trust_audio and DATASET.root else list(DATASET.trust_audio))


if DATASET.source == "synthetic":

    rule synth_dataset:
        """The synthetic dataset: its plan (every excerpt's label, artist, fault and seeds), every genre's
        audio (a process per genre, up to the job's threads) and the metadata table. One job, not one per
        genre: Snakemake jobs cost ~1-3 s each here, a tiny preset's genre renders in less."""
        output:
            plan=f"{RESULTS}/dataset/plan.csv",
            audio=[directory(f"{RESULTS}/dataset/audio/{genre}") for genre in GENRES],
            metadata=f"{RESULTS}/dataset/metadata.csv",
            bad=f"{RESULTS}/dataset/bad_audio.csv",
        params:
            synthetic=asdict(DATASET.synthetic),  # SyntheticSpec: preset applied, defaults filled
            sample_rate=DATASET.sample_rate,
            seed=RESOLVED.seed,
        log:
            f"{RESULTS}/logs/data/synth_dataset.log",
        threads: len(GENRES)  # Snakemake lowers it to --cores
        conda:
            "../envs/mgrfaults.yaml"
        script:
            "../scripts/synth_dataset.py"

else:

    rule gtzan_download:
        output:
            directory(f"{RESULTS}/dataset/gtzan_audio"),
        params:
            url=DATASET.gtzan["url"],
            md5=DATASET.gtzan["md5"],
            archive=f"{RESULTS}/dataset/gtzan.tar.gz",
        log:
            f"{RESULTS}/logs/data/gtzan_download.log",
        conda:
            "../envs/mgrfaults.yaml"
        script:
            "../scripts/gtzan_download.py"

    rule fetch_gtzan_index:
        output:
            f"{RESULTS}/dataset/GTZANindex.txt",
        params:
            source=lambda wc: DATASET.gtzan["index"] or GTZAN_SOURCES["index"]["url"],
            sha256=GTZAN_SOURCES["index"]["sha256"],
            local_key="dataset.gtzan.index (a local GTZANindex.txt)",
        log:
            f"{RESULTS}/logs/data/fetch_gtzan_index.log",
        conda:
            "../envs/mgrfaults.yaml"
        script:
            "../scripts/fetch.py"

    rule fetch_partition_list:
        output:
            f"{RESULTS}/dataset/partition_lists/{{name}}.txt",
        wildcard_constraints:
            name="|".join(PUBLISHED_LISTS),
        params:
            source=lambda wc: (
                str(Path(DATASET.gtzan["partition_lists"]) / f"{wc.name}.txt")
                if DATASET.gtzan["partition_lists"]
                else GTZAN_SOURCES["partition_lists"]["url_base"] + f"{wc.name}.txt"
            ),
            sha256=lambda wc: GTZAN_SOURCES["partition_lists"]["sha256"][f"{wc.name}.txt"],
            # a function: a plain string param would be formatted with the wildcards
            local_key=lambda wc: "dataset.gtzan.partition_lists (a local folder of {train,valid,test}_{filtered,stratified}.txt)",
        log:
            f"{RESULTS}/logs/data/fetch_{{name}}.log",
        conda:
            "../envs/mgrfaults.yaml"
        script:
            "../scripts/fetch.py"

    rule scan_audio:
        input:
            ancient(audio_root()),
        output:
            listing=f"{RESULTS}/dataset/listing.csv",
            bad=f"{RESULTS}/dataset/bad_audio.csv",
        params:
            extensions=DATASET.directory["extensions"],
            sample_rate=DATASET.sample_rate,
            max_duration=DATASET.max_duration,
            # where dataset.trust_audio names files, the scan's keyword arguments for them too (mgrfaults.data.dataset.
            # scan_audio): a parameter of their own would rerun every results folder's data stage, and all after it
            on_bad_audio=DATASET.on_bad_audio if not DATASET.trust_audio else dict(
                on_bad_audio=DATASET.on_bad_audio, trust_audio=TRUSTED_AUDIO, root=audio_root()
            ),
            # a local GTZAN copy (Kaggle or original layout) is found and checked by its ids: False (none), True (a
            # whole copy: every id present), "partial" (dataset.gtzan.partial: the ids it holds); a whole copy's value
            # is the one it had before partial copies existed, so its results do not rerun
            gtzan_copy=DATASET.source == "gtzan" and bool(DATASET.gtzan["root"]) and (
                "partial" if DATASET.gtzan["partial"] else True
            ),
            audio_manifest=AUDIO_MANIFEST,
        log:
            f"{RESULTS}/logs/data/scan_audio.log",
        conda:
            "../envs/mgrfaults.yaml"
        script:
            "../scripts/scan_audio.py"

    rule dataset_metadata:
        input:
            unpack(
                lambda wc: dict(
                    listing=f"{RESULTS}/dataset/listing.csv",
                    **(
                        dict(
                            index=f"{RESULTS}/dataset/GTZANindex.txt",
                            lists=expand(f"{RESULTS}/dataset/partition_lists/{{name}}.txt", name=PUBLISHED_LISTS),
                        )
                        if DATASET.source == "gtzan"
                        else {}
                    ),
                    # an input, not a parameter: an annotations file edited in place reruns the stage
                    **({"annotations": ANNOTATIONS} if DATASET.source == "directory" and ANNOTATIONS else {}),
                )
            ),
        output:
            f"{RESULTS}/dataset/metadata.csv",
        params:
            source=DATASET.source,
            # the same path as the input; kept, as the script reads it, so that results folders made before the
            # input existed (GTZAN's among them) do not rerun the whole pipeline for a changed parameter
            annotations=ANNOTATIONS,
            # not read by the script: a rerun trigger for annotations replaced by a copy with an older time
            **({"annotations_sha256": ANNOTATIONS_DIGEST} if ANNOTATIONS_DIGEST else {}),
        log:
            f"{RESULTS}/logs/data/dataset_metadata.log",
        conda:
            "../envs/mgrfaults.yaml"
        script:
            "../scripts/dataset_metadata.py"
