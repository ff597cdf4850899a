# Stage: data. Audio on disk plus the metadata table (track_id, path, genre, artist, fault, ...).
# Source `synthetic` renders the GTZAN-like dataset (one job per genre); `gtzan` and `directory`
# read audio from a folder (GTZAN downloaded with its checksum when no local root is given).
import yaml

from mgrfaults import GENRES
from mgrfaults.data.annotations import gtzan_source_problem
from mgrfaults.errors import InputError

GTZAN_SOURCES = yaml.safe_load(open(Path(workflow.basedir) / "resources" / "gtzan_sources.yaml"))
PUBLISHED_LISTS = [f"{part}_{kind}" for kind in ("filtered", "stratified") for part in ("train", "valid", "test")]
# the original GTZAN URL is dead: fail now with what to download, not after a connection wait
if DATASET["source"] == "gtzan" and gtzan_source_problem(DATASET.get("gtzan") or {}):
    raise InputError(gtzan_source_problem(DATASET.get("gtzan") or {}))


if DATASET["source"] == "synthetic":

    rule synth_plan:
        output:
            f"{RESULTS}/dataset/plan.csv",
        params:
            synthetic=DATASET["synthetic"],
            sample_rate=DATASET.get("sample_rate", 22050),
            seed=config["seed"],
        log:
            f"{RESULTS}/logs/data/synth_plan.log",
        conda:
            "../envs/mgrfaults.yaml"
        script:
            "../scripts/synth_plan.py"

    rule synth_genre:
        input:
            f"{RESULTS}/dataset/plan.csv",
        output:
            directory(f"{RESULTS}/dataset/audio/{{genre}}"),
        log:
            f"{RESULTS}/logs/data/synth_{{genre}}.log",
        conda:
            "../envs/mgrfaults.yaml"
        script:
            "../scripts/synth_genre.py"

    rule synth_metadata:
        input:
            plan=f"{RESULTS}/dataset/plan.csv",
            audio=expand(f"{RESULTS}/dataset/audio/{{genre}}", genre=GENRES),
        output:
            metadata=f"{RESULTS}/dataset/metadata.csv",
            bad=f"{RESULTS}/dataset/bad_audio.csv",
        log:
            f"{RESULTS}/logs/data/synth_metadata.log",
        conda:
            "../envs/mgrfaults.yaml"
        script:
            "../scripts/synth_metadata.py"

else:

    rule gtzan_download:
        output:
            directory(f"{RESULTS}/dataset/gtzan_audio"),
        params:
            url=DATASET.get("gtzan", {}).get("url"),
            md5=DATASET.get("gtzan", {}).get("md5"),
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
            source=lambda wc: DATASET["gtzan"].get("index") or GTZAN_SOURCES["index"]["url"],
            sha256=GTZAN_SOURCES["index"]["sha256"],
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
                str(Path(DATASET["gtzan"]["partition_lists"]) / f"{wc.name}.txt")
                if DATASET["gtzan"].get("partition_lists")
                else GTZAN_SOURCES["partition_lists"]["url_base"] + f"{wc.name}.txt"
            ),
            sha256=lambda wc: GTZAN_SOURCES["partition_lists"]["sha256"][f"{wc.name}.txt"],
        log:
            f"{RESULTS}/logs/data/fetch_{{name}}.log",
        conda:
            "../envs/mgrfaults.yaml"
        script:
            "../scripts/fetch.py"

    rule scan_audio:
        input:
            audio_root(),
        output:
            listing=f"{RESULTS}/dataset/listing.csv",
            bad=f"{RESULTS}/dataset/bad_audio.csv",
        params:
            extensions=DATASET.get("directory", {}).get("extensions", ["au", "wav", "mp3", "flac", "ogg"]),
            sample_rate=DATASET.get("sample_rate", 22050),
            max_duration=DATASET.get("max_duration", 30.0),
            on_bad_audio=DATASET.get("on_bad_audio", "error"),
            # a local GTZAN copy (Kaggle or original layout) is found and checked by its ids
            gtzan_root=DATASET["source"] == "gtzan" and bool((DATASET.get("gtzan") or {}).get("root")),
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
                        if DATASET["source"] == "gtzan"
                        else {}
                    ),
                )
            ),
        output:
            f"{RESULTS}/dataset/metadata.csv",
        params:
            source=DATASET["source"],
            annotations=(DATASET.get("directory") or {}).get("annotations"),
        log:
            f"{RESULTS}/logs/data/dataset_metadata.log",
        conda:
            "../envs/mgrfaults.yaml"
        script:
            "../scripts/dataset_metadata.py"
