"""Loading the face and speech models, from a local folder or a hub id through transformers:
the device they run on, a user error for a folder without weights or a hub id that cannot be
fetched (offline at once when the hub cannot be reached), a check that the model takes the input
it is given, and the provenance of what was loaded (id, revision, sha256 of the weight and
config files).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from emorec.errors import DataError, EmorecError

log = logging.getLogger(__name__)

WEIGHT_FILES = ("*.safetensors", "*.bin", "*.pt", "*.pth")


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise EmorecError("--device cuda: no CUDA device is available to torch here (use "
                          "--device auto or cpu)")
    if name not in ("cpu", "cuda"):
        raise EmorecError(f"--device: expected auto, cpu or cuda, found {name!r}")
    return name


def quiet_transformers() -> None:
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def load_model(reference: str, what: str, loader):
    """``loader(reference)`` with a user error for a folder without weights or a hub id that
    cannot be fetched."""
    folder = Path(reference).expanduser()
    local = is_local(reference)
    if local:
        if not (folder / "config.json").is_file():
            raise DataError(folder, f"no {what} model here", expected="a folder saved with "
                            "save_pretrained (config.json and model.safetensors)",
                            found=_listing(folder))
        if not any(next(folder.glob(pattern), None) for pattern in WEIGHT_FILES):
            raise DataError(folder, f"{what} model folder without weights",
                            expected="model.safetensors or pytorch_model.bin beside config.json",
                            found=_listing(folder))
    elif reference.startswith((".", "/", "~")) or reference.count("/") != 1:
        raise DataError(reference, f"{what} model not found",
                        expected="a local model folder or a hub id like org/name")
    elif not _offline() and not _hub_reachable():
        _go_offline()
    from safetensors import SafetensorError

    try:
        return loader(loadable(reference))
    except (OSError, ValueError, SafetensorError, RuntimeError) as error:
        if local:
            raise DataError(folder, f"cannot load the {what} model ({_first_line(error)})",
                            expected="a folder saved with save_pretrained") from None
        raise DataError(reference, f"cannot get the {what} model from the hub"
                        + (" (no network here, and it is not in the local cache)" if _offline()
                           else " (no network?)"),
                        expected="a hub id reachable from here, or pass a local path to a "
                                 "folder saved with save_pretrained") from None


def is_local(reference: str) -> bool:
    """A model folder on this machine (else a hub id)."""
    return Path(reference).expanduser().exists()


def loadable(reference: str) -> str:
    """What transformers loads: the folder's expanded path, or the hub id."""
    return str(Path(reference).expanduser()) if is_local(reference) else reference


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE) or os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the hub's host accepts a connection within ``timeout`` seconds (one try, instead
    of huggingface_hub's retries of every request)."""
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _go_offline() -> None:
    """Use the local hub cache only, for the rest of this process."""
    from huggingface_hub import constants

    log.warning("the model hub cannot be reached from here: hub ids are read from the local "
                "cache only (pass a local model folder, or set HF_HUB_OFFLINE=1 to skip this "
                "check)")
    os.environ["HF_HUB_OFFLINE"] = "1"
    constants.HF_HUB_OFFLINE = True


def _listing(folder: Path) -> str:
    names = sorted(p.name for p in folder.iterdir())[:6] if folder.is_dir() else []
    return ", ".join(names) or "an empty folder" if folder.is_dir() else "a file"


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__


def provenance(reference: str, model) -> dict:
    """The model's id, resolved revision and the sha256 of its weight and config files; a local
    folder is named by its folder name (so that its place on disk does not change the
    fingerprint) and identified by the hashes."""
    folder = Path(reference).expanduser()
    revision = getattr(model.config, "_commit_hash", None)
    local = is_local(reference)
    if not local:
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(reference, revision=revision, local_files_only=True))
    files = sorted({p for pattern in (*WEIGHT_FILES, "config.json", "preprocessor_config.json")
                    for p in folder.glob(pattern) if p.is_file()})
    return {"id": f"local:{folder.resolve().name}" if local else reference,
            "revision": revision, "class": type(model).__name__,
            "sha256": {p.name: sha256_file(p) for p in files}}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_inputs(reference: str, model, what: str, wanted: str, kind: str) -> None:
    found = getattr(model, "main_input_name", None)
    if found != wanted:
        raise DataError(reference, f"not a {what} model: {type(model).__name__} takes "
                        f"{found}", expected=f"{kind} (taking {wanted})")
