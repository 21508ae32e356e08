"""Handing a job folder's scripts to Slurm: the array, then the merge job after it, refused while
a job the folder submitted before is still queued; each job id kept in the folder, and Slurm's
client commands bounded in time and said in one line when they fail."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from emorec.errors import EmorecError

SBATCH_TIMEOUT_SECONDS = 60
# sbatch without SLURM_CONF reads /etc/slurm/slurm.conf, and without that file asks DNS SRV
# records for a cluster: what it says then does not name the cause.
NO_CLUSTER = (" (sbatch found no Slurm cluster: without SLURM_CONF it reads "
              "/etc/slurm/slurm.conf, and without that file looks for one in DNS SRV records; "
              "for make slurm's single-node Slurm, run `source .slurm.env` in this shell first)")
SUBMITTED_FILE = "submitted"   # the job ids of each submission, a line each


def submit(folder: Path, scripts: list[Path]) -> list[str]:
    """Submit the array, then the merge job after it (``afterany``: it runs whatever the
    tasks' end and says what is missing). Refused while a job this folder submitted before is
    still pending or running: two arrays of one folder would race for its shards. Returns the
    job ids, also appended to the folder's ``submitted`` file."""
    sbatch = shutil.which("sbatch")
    if sbatch is None:
        raise EmorecError("emorec slurm --submit: sbatch not found on PATH (Slurm's client "
                          "commands); without --submit the scripts are written only")
    queued = _still_queued(folder)
    if queued:
        raise EmorecError(f"{folder}: its job(s) {', '.join(queued)} submitted before are "
                          "still pending or running; submit again once they have ended (or "
                          "scancel them)")
    ids = []
    for script in scripts:
        command = [sbatch, "--parsable"]
        if ids:
            command.append(f"--dependency=afterany:{ids[0]}")
        done = _slurm_command([*command, str(script)], f"sbatch {script}")
        if done.returncode != 0:
            said = "; ".join(line.strip() for line in done.stderr.splitlines() if line.strip())
            raise EmorecError(f"sbatch {script} refused it: {said}"
                              + (NO_CLUSTER if "DNS SRV" in said else ""))
        ids.append(done.stdout.strip().split(";")[0])
    with (folder / SUBMITTED_FILE).open("a") as handle:
        handle.write(" ".join(ids) + "\n")
    return ids


def _still_queued(folder: Path) -> list[str]:
    """The jobs of earlier submissions of ``folder`` that squeue still lists."""
    path = folder / SUBMITTED_FILE
    ids = path.read_text().split() if path.is_file() else []
    if not ids or shutil.which("squeue") is None:
        return []
    done = _slurm_command(["squeue", "-h", "-o", "%F"], "squeue")   # every job's (array) id
    return sorted(set(done.stdout.split()) & set(ids)) if done.returncode == 0 else []


def _slurm_command(command: list[str], what: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, capture_output=True, text=True,
                              timeout=SBATCH_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise EmorecError(f"{what}: no answer from slurmctld within {SBATCH_TIMEOUT_SECONDS} "
                          "s") from None
