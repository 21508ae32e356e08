"""``emorec extract``: recordings -> a dataset folder.

For each recording: frames decoded at their timestamps and sampled at ``fps``; the largest face
of each frame detected, cropped and embedded (a frame without a face is a gap: counted, no
row); the sound decoded at the speech model's rate and embedded per window of each length
(hop L/2); the result cached (:mod:`emorec.extract.cache`). Then the ratings are aligned to the
frame times (:mod:`emorec.data.label_align`) and the dataset is written whole, with the raw
ratings and the provenance of every setting in its manifest (and fingerprint). The steps:
:mod:`emorec.extract.settings`, :mod:`emorec.extract.ratings`, :mod:`emorec.extract.recordings`,
:mod:`emorec.extract.provenance`, :mod:`emorec.extract.tables`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from emorec.data.dataset import MANIFEST_FILE, Dataset
from emorec.data.manifest import Manifest
from emorec.data.splits import extractor_sessions
from emorec.errors import DataError, EmorecError
from emorec.extract import cache, egemaps, faces, layouts
from emorec.extract.face_model import FaceModel
from emorec.extract.model_loading import resolve_device
from emorec.extract.provenance import provenance, recording_facts, up_to_date
from emorec.extract.ratings import check_rating_times, read_ratings
from emorec.extract.recordings import extract_all, probe, recording_sources
from emorec.extract.settings import Settings, check_settings
from emorec.extract.tables import dataset_tables
from emorec.system.files import read_json, replace_folder

log = logging.getLogger(__name__)

STAND_IN_SIDECAR = "emorec-media.json"   # written by `emorec data synth-media`


@dataclass(frozen=True)
class _Inputs:
    """A run's inputs, every one opened and checked before anything is embedded."""

    recordings: list
    with_audio: bool
    raw: pd.DataFrame            # every recording's ratings, scaled
    label_info: dict             # the labels' facts for the manifest
    probes: dict                 # recording name -> its source frame rate, span, audio offset
    trained_on: tuple[str, ...]  # the sessions the feature extractor was trained on


def extract(input_dir: str | Path, out: str | Path, settings: Settings, *,
            name: str | None = None, extractor_train: str | Path | None = None,
            jobs: int = 1) -> Dataset:
    input_dir, out = Path(input_dir), Path(out)
    check_settings(settings, jobs)
    detector = faces.detector(settings.detector)
    _check_out(out)
    sidecar = _read_sidecar(input_dir / STAND_IN_SIDECAR)
    inputs = _open_inputs(input_dir, settings, extractor_train)
    device = resolve_device(settings.device)
    face_model, voice_model = _models(settings, inputs.with_audio, device)
    made = provenance(settings, face_model, voice_model, detector, device)
    key = cache.settings_hash(made)
    contents = {r.name: cache.content_hash(recording_sources(r)) for r in inputs.recordings}
    extraction = {**made, "labels": inputs.label_info,
                  "recordings": {r.name: recording_facts(contents[r.name], inputs.probes[r.name],
                                                         r, settings)
                                 for r in inputs.recordings}}
    name = name or sidecar.get("name") or input_dir.resolve().name
    if up_to_date(out, extraction, name, inputs.trained_on):
        log.info("%s is up to date (same recordings, ratings and settings): nothing to do", out)
        return Dataset.load(out)

    created = not out.exists()
    cache.mark(out, made)
    try:
        results, entries = extract_all(inputs.recordings, out, key, contents, inputs.probes,
                                       settings, face_model, voice_model, detector, jobs)
    except BaseException:
        _leave_nothing_half_written(out, created)
        raise
    video, audio, counts = dataset_tables(inputs.recordings, results, inputs.raw, settings,
                                          face_model, voice_model)
    manifest = Manifest(
        name=name, origin=sidecar.get("origin", "real"), fps=settings.fps,
        embedding_dim=face_model.dim, audio_dim=voice_model.dim if voice_model else 1,
        audio_windows=tuple(audio), label_scale=inputs.label_info["scale"],
        extractor_train=inputs.trained_on,
        source={"extraction": extraction, "counts": counts,
                **({"stand_in": sidecar} if sidecar else {})})
    dataset = Dataset.create(manifest, video, audio, source=str(out))
    dataset = _with_kept_split(_with_raw(dataset, inputs.raw), out)
    _save(dataset, out, entries)
    return dataset


def _open_inputs(input_dir: Path, settings: Settings,
                 extractor_train: str | Path | None) -> _Inputs:
    """The recordings of the layout, their ratings and their media, opened and checked."""
    with_audio = settings.audio and settings.layout != "afew-va"
    if settings.audio and not with_audio:
        log.info("layout afew-va: clips without sound; faces only")
    recordings = layouts.discover(input_dir, settings.layout, with_audio)
    raw, label_info, rating_files = read_ratings(input_dir, recordings, settings)
    probes = {r.name: probe(r, settings) for r in recordings}
    check_rating_times(raw, recordings, probes, rating_files)
    trained_on = (extractor_sessions(extractor_train, [r.name for r in recordings])
                  if extractor_train is not None else ())
    return _Inputs(recordings, with_audio, raw, label_info, probes, trained_on)


def _models(settings: Settings, with_audio: bool, device: str) -> tuple:
    """The face model, and the speech model or eGeMAPS (None without sound)."""
    face_model = FaceModel(settings.face_model, device, settings.batch_size)
    voice_model = (egemaps.voice_model(settings.audio_features, settings.audio_pass,
                                       settings.audio_model, device, settings.layer,
                                       settings.batch_size)
                   if with_audio else None)
    return face_model, voice_model


def _leave_nothing_half_written(out: Path, created: bool) -> None:
    """After a failed run: a cache holding no finished recording is removed (and the output
    folder, if this run made it); finished recordings stay for the next run to resume from."""
    import shutil

    folder = out / cache.FOLDER
    finished = list(folder.glob("*.npz")) if folder.is_dir() else []
    if finished:
        log.info("%s: %d finished recordings kept for the next run to resume from", folder,
                 len(finished))
        return
    shutil.rmtree(folder, ignore_errors=True)
    if created and out.is_dir() and not any(out.iterdir()):
        out.rmdir()


def _check_out(out: Path) -> None:
    """Refuse, before any work, a folder that is neither a dataset nor an extraction of ours."""
    if out.exists() and not out.is_dir():
        raise EmorecError(f"{out}: exists and is a file, not a folder")
    if (out.is_dir() and any(out.iterdir()) and not (out / MANIFEST_FILE).is_file()
            and not (out / cache.SETTINGS_FILE).is_file()):
        raise EmorecError(f"{out}: exists, is not empty and holds no {MANIFEST_FILE}; refusing to "
                          "replace it (give a new or empty folder)")


def _read_sidecar(path: Path) -> dict:
    if not path.is_file():
        return {}
    sidecar = read_json(path, "a synth-media sidecar")
    if not isinstance(sidecar, dict) or sidecar.get("origin") != "stand-in":
        raise DataError(path, "not a synth-media sidecar", expected='{"origin": "stand-in", ...}')
    return sidecar


def _with_kept_split(dataset: Dataset, out: Path) -> Dataset:
    """The split file of the dataset ``out`` held before (``emorec data split``), kept when it
    names the same recordings; a warning when it no longer fits and is dropped."""
    from emorec.data.dataset import SPLIT_FILE
    from emorec.data.splits import read_split_file

    path = out / SPLIT_FILE
    if not path.is_file():
        return dataset
    try:
        return dataset.with_split(read_split_file(path), str(path))
    except EmorecError as error:
        log.warning("%s no longer fits the recordings (%s): dropped; make a new one with "
                    "emorec data split", path, error)
        return dataset


def _with_raw(dataset: Dataset, raw: pd.DataFrame) -> Dataset:
    return replace(dataset, labels_raw=raw.reset_index(drop=True))


def _save(dataset: Dataset, out: Path, entries: list[Path]) -> None:
    """The dataset folder, whole, with this run's cache entries carried over."""
    keep_if = MANIFEST_FILE if (out / MANIFEST_FILE).is_file() else cache.SETTINGS_FILE

    def write(folder: Path) -> None:
        dataset._write_files(folder)
        cache.link_into(out, folder, entries)

    replace_folder(out, write, keep_if=keep_if)
