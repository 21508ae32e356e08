"""`emorec slurm`: a suite's sweep (or a study's workers) as a Slurm job array, and its state."""

from __future__ import annotations

import re
from pathlib import Path

from emorec.cli.options import SECONDS, SEED, at_least, device_name
from emorec.errors import EmorecError
from emorec.system.program import emorec_command

MEMORY = re.compile(r"[1-9][0-9]*[KMGT]?")
TIME = re.compile(r"([0-9]+-)?[0-9]+(:[0-9]{1,2}){0,2}")
WORD = re.compile(r"[A-Za-z0-9_.,-]+")


def add_parsers(commands) -> None:
    slurm = commands.add_parser(
        "slurm", help="run a suite's sweep as a Slurm job array",
        description="Write (with --submit also submit) a Slurm job array for a suite: task i "
                    "runs `emorec bench SUITE --shard i+1/N` into its own results folder under "
                    "the job folder, shards of near-equal expected fit time; a merge job that "
                    "starts when the array has ended (afterany) merges the shards' rows into "
                    "--results-dir, makes the suite's late-fusion rows and renders the "
                    "leaderboard. A task that is cancelled, times out or is requeued runs only "
                    "its missing cells when it runs again: submit the same command again to "
                    "finish a sweep. --status says per shard how many cells have their row.\n\n"
                    "Tasks on several nodes share the MLflow tracking server and PostgreSQL "
                    "(make servers): a SQLite tracking URI is refused unless --allow-sqlite. "
                    "The job folder, the data, the suite and this installation must be on a "
                    "file system every node reads.\n\n"
                    "With --tune MODEL, each task runs `emorec tune` workers on one shared "
                    "Optuna study instead (--storage: PostgreSQL, or a journal file).")
    slurm.add_argument("suite", type=Path, help="suite file, e.g. benchmarks/sewa.toml")
    slurm.add_argument("--shards", type=at_least(1), default=None,
                       help="array tasks: the suite's cells split into this many shards (with "
                            "--tune: tasks of workers)")
    slurm.add_argument("--status", action="store_true",
                       help="say per shard how many cells have their row (exit status 1 while "
                            "any is missing), from the job folder's result files: it cannot "
                            "tell a running task from one that ended early (squeue and the "
                            "task logs can)")
    slurm.add_argument("--merge", action="store_true",
                       help="the merge job's work (merge.sbatch runs it once the array has "
                            "ended; by hand likewise): merge the shards' rows into the results "
                            "folder, then, when every cell has its row (exit status 1 and the "
                            "--status listing otherwise), make the suite's late-fusion rows and "
                            "render the leaderboard")
    slurm.add_argument("--submit", action="store_true",
                       help="submit the array and the merge job with sbatch (otherwise only "
                            "write them)")
    slurm.add_argument("--job-dir", type=Path, default=None,
                       help="the job folder: scripts, plans, shard results, logs (default: "
                            "runs/slurm/<suite name>)")
    slurm.add_argument("--results-dir", type=Path, default=None,
                       help="folder the shards are merged into (default: the job folder's "
                            "results)")
    slurm.add_argument("--board-dir", type=Path, default=None,
                       help="folder the merged leaderboard is rendered to (default: the job "
                            "folder's board)")
    slurm.add_argument("--costs-from", type=Path, default=Path("leaderboard/results"),
                       help="results folder whose earlier fit times plan the shards")
    resources = slurm.add_argument_group("what each task asks Slurm for")
    resources.add_argument("--parallel", type=at_least(0), default=0, metavar="K",
                           help="at most K tasks at once (--array=...%%K); 0: no limit")
    resources.add_argument("--cpus-per-task", type=at_least(1), default=2,
                           help="CPUs per task; the task's bench runs one cell per CPU")
    resources.add_argument("--mem", default="8G", help="memory per task (sbatch --mem)")
    resources.add_argument("--time", default="04:00:00",
                           help="time limit per task (sbatch --time: minutes, HH:MM:SS, D-HH...)")
    resources.add_argument("--partition", default="", help="partition (default: the cluster's)")
    resources.add_argument("--gpus", type=at_least(0), default=0,
                           help="GPUs per task (--gres=gpu:G); the nets then train on CUDA "
                                "(--device cuda unless --device says otherwise)")
    resources.add_argument("--device", default=None, metavar="DEVICE",
                           help="every task's bench trains the nets on DEVICE (cpu, cuda, "
                                "cuda:N, mps), as emorec bench --device: rows of their own; "
                                "checked on the nodes, not here (default: cuda with --gpus, "
                                "else the suite's)")
    resources.add_argument("--sbatch", action="append", default=[], metavar="LINE",
                           help="an extra #SBATCH line, e.g. --sbatch=--account=lab (with '=' "
                                "when it starts with --; repeatable)")
    stores = slurm.add_argument_group("stores")
    stores.add_argument("--tracking-uri", default=None,
                        help="MLflow store every task logs to, e.g. http://SERVER:5000 (default: "
                             "sqlite:///mlflow.db, refused without --allow-sqlite)")
    stores.add_argument("--tracking-timeout", type=SECONDS, default=10.0, metavar="SECONDS",
                        help="each task stops, before any fit, if the tracking store does not "
                             "answer within this time")
    stores.add_argument("--allow-sqlite", action="store_true",
                        help="accept a SQLite tracking URI (or Optuna storage): only when every "
                             "task runs on this one machine")
    stores.add_argument("--data-dir", type=Path, default=Path("data"),
                        help="where generated stand-ins are kept")
    stores.add_argument("--plugin", action="append", default=[], metavar="MODULE_OR_FILE",
                        help="a plugin every task loads (as emorec bench --plugin)")
    tune = slurm.add_argument_group("with --tune: Optuna workers as array tasks")
    tune.add_argument("--tune", metavar="MODEL", default=None,
                      help="each task runs emorec tune MODEL workers on one shared study")
    tune.add_argument("--trials", type=at_least(1), default=None,
                      help="finished trials the study ends with, all tasks together")
    tune.add_argument("--study", default=None, help="study name")
    tune.add_argument("--storage", default=None,
                      help="the study's storage every task shares: postgresql+psycopg://... "
                           "(make servers) or a journal file on a shared file system")
    tune.add_argument("--seed", type=SEED, default=0, help="sampler and training seed")
    tune.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                      help="hold a parameter fixed (as emorec tune --param)")
    slurm.set_defaults(handler=_slurm)


def _slurm(args) -> int | None:
    from emorec.sweep.suites import load_suite

    suite = load_suite(args.suite)
    default = suite.name if not args.tune else f"{suite.name}-tune-{args.study}"
    folder = (args.job_dir or Path("runs") / "slurm" / default).resolve()
    if args.status:
        return _status(folder, args.suite)
    if args.merge:
        return _merge(folder, args.suite)
    if args.shards is None:
        raise EmorecError("emorec slurm: give --shards N (or --status)")
    job = _job(args, suite, folder)
    from emorec.sweep.slurm.job_folder import prepare
    from emorec.sweep.slurm.submit import submit

    scripts = prepare(job)
    print(f"emorec slurm: wrote {', '.join(str(s) for s in scripts)}")
    if not args.submit:
        print("submit with the same command and --submit"
              + (" (or sbatch them: the merge job with --dependency=afterany:<array job id>)"
                 if len(scripts) > 1 else " (or sbatch it)"))
        return None
    ids = submit(folder, scripts)
    what = ["array job " + ids[0]] + (["merge job " + ids[1]] if len(ids) > 1 else [])
    print(f"emorec slurm: submitted {' and '.join(what)}; state: {emorec_command()} slurm "
          f"{args.suite} --status --job-dir {folder}")
    return None


def _job(args, suite, folder: Path):
    from emorec.sweep.slurm.job import Resources, SlurmJob, Tune, check_tracking
    from emorec.tracking.mlflow_store import DEFAULT_TRACKING_URI, connect

    _check_numbers(args)
    tracking_uri = args.tracking_uri or DEFAULT_TRACKING_URI
    check_tracking(tracking_uri, args.allow_sqlite)
    connect(tracking_uri, args.tracking_timeout)   # every task would stop on it otherwise
    tune = None
    if args.tune:
        storage = _tune_storage(args)

        tune = Tune(args.tune, args.trials, args.study, storage, args.seed, tuple(args.param))
    elif any((args.trials is not None, args.study, args.storage, args.param)):
        raise EmorecError("--trials, --study, --storage and --param are only used with --tune")
    if args.device and tune:
        raise EmorecError("--device is for a sweep's bench tasks; a tuning task's nets train "
                          "where their device param says (CUDA when present)")
    device = args.device or ("cuda" if args.gpus and not tune else None)
    if device:
        device_name(device)
        if device.startswith("cuda") and not args.gpus:
            raise EmorecError(f"--device {device}: the tasks would ask Slurm for no GPU; give "
                              "--gpus G as well")
    return SlurmJob(
        folder=folder, suite_file=args.suite.resolve(), shards=args.shards,
        results_dir=(args.results_dir or folder / "results").resolve(),
        board_dir=(args.board_dir or folder / "board").resolve(),
        tracking_uri=tracking_uri, tracking_timeout=args.tracking_timeout,
        data_dir=args.data_dir.resolve(), costs_from=args.costs_from.resolve(),
        plugins=tuple(str(Path(p).resolve()) if p.endswith(".py") else p for p in args.plugin),
        tune=tune,
        resources=Resources(args.cpus_per_task, args.mem, args.time, args.partition, args.gpus,
                            args.parallel, tuple(args.sbatch)),
        device=device)


def _tune_storage(args) -> str:
    """The shared study storage of ``--tune``, checked as every task would: the model tunable,
    its fixed params valid, the storage reachable. Journal files by absolute path."""
    from emorec.cli.options import parse_params
    from emorec.models import MODELS
    from emorec.tuning.space import require_search_space
    from emorec.tuning.storage import open_storage

    missing = [name for name in ("trials", "study", "storage") if getattr(args, name) is None]
    if missing:
        raise EmorecError(f"emorec slurm --tune needs --{', --'.join(missing)}")
    spec = MODELS.get(args.tune)
    require_search_space(spec)
    spec.params(parse_params(args.param))
    if args.storage.startswith("sqlite") and not args.allow_sqlite:
        raise EmorecError(
            f"emorec slurm: --storage {args.storage}: a SQLite study storage is one file that "
            "the tasks, on several nodes, would write at once; give the PostgreSQL storage "
            "(make servers: postgresql+psycopg://...), a journal file on a shared file "
            "system, or --allow-sqlite when every task runs on this one machine")
    storage = args.storage if "://" in args.storage else str(Path(args.storage).resolve())
    open_storage(storage, args.tracking_timeout)
    return storage


def _check_numbers(args) -> None:
    checks = [(bool(MEMORY.fullmatch(args.mem)), "--mem must be a size such as 8G or 4000M",
               args.mem),
              (bool(TIME.fullmatch(args.time)),
               "--time must be minutes, HH:MM:SS or D-HH:MM:SS", args.time)]
    for ok, message, value in checks:
        if not ok:
            raise EmorecError(f"{message}, found {value!r}")
    for line in args.sbatch:
        if "\n" in line or not line.strip():
            raise EmorecError(f"--sbatch takes one #SBATCH line, found {line!r}")
    for option, value in (("--partition", args.partition), ("--study", args.study or "")):
        if value and not WORD.fullmatch(value):
            raise EmorecError(f"{option} must be letters, digits and . _ - only (it goes into "
                              f"the #SBATCH lines), found {value!r}")


def _job_of(folder: Path, suite_file: Path) -> dict:
    """The job folder's ``job.json``, refused when it is another suite's."""
    from emorec.sweep.slurm.job import load_job

    job = load_job(folder)
    if Path(job["suite_file"]) != suite_file.resolve():
        raise EmorecError(f"{folder}: the job folder of {job['suite_file']}, not {suite_file} "
                          "(give --job-dir for this suite's folder)")
    return job


def _merge(folder: Path, suite_file: Path) -> int:
    """The merge job: says what it merged from which shards, then what is missing, or the
    late fusion and the pages it rendered."""
    from emorec import plugins
    from emorec.sweep.slurm.shards import merge_shards

    job = _job_of(folder, suite_file)
    if job.get("tune"):
        raise EmorecError(f"{folder}: a tuning job, whose tasks share one study: there is "
                          "nothing to merge (--status says its trials)")
    plugins.load_installed()
    for name in job["plugins"]:
        plugins.load(name)
    merged = merge_shards(folder)
    read = ", ".join(f"{dataset}: {kept} cells there now"
                     for dataset, (_, kept) in merged.items()) or "no rows yet"
    print(f"merge job: the rows of the {job['shards']} shards in {folder / 'shards'} merged "
          f"into {job['results_dir']} ({read})")
    if _status(folder, suite_file):
        print("merge job: late fusion and the leaderboard wait until every cell has its row")
        return 1
    board = Path(job["board_dir"])
    pages = _fuse_and_render(job)
    print(f"merge job: leaderboard rendered to {board} "
          f"({', '.join(str(page.relative_to(board)) for page in pages)})")
    return 0


def _fuse_and_render(job: dict) -> list[Path]:
    """The merge job's last step, once every cell has its row: the suite's late-fusion rows
    from the kept predictions (no cell is fitted), then the leaderboard. Returns its pages."""
    from emorec.data.dataset import Dataset
    from emorec.report.pages import render_all
    from emorec.sweep.runner import fuse_suite
    from emorec.sweep.suites import load_suite
    from emorec.system.files import folder_lock

    suite = load_suite(job["suite_file"])
    out = Path(job["results_dir"])
    with folder_lock(out, "emorec slurm --merge"):
        for one in suite.each_dataset():
            if one.fusions:
                dataset = Dataset.load(one.dataset_path(Path(job["data_dir"])))
                fuse_suite(one, dataset.name, out, job["tracking_uri"], job["tracking_timeout"])
    return render_all(out, Path(job["board_dir"]))


def _status(folder: Path, suite_file: Path) -> int:
    from emorec.sweep.slurm.shards import status

    job = _job_of(folder, suite_file)
    if job.get("tune"):
        return _tune_status(job["tune"])
    shards, merged = status(folder)
    print(f"emorec slurm {job['suite_file']} ({folder}): {job['shards']} shards")
    for state in shards:
        print(f"  {state.dataset} shard {state.index}/{job['shards']}: {state.done}/"
              f"{state.total} cells done (expected {state.expected_seconds:.0f} core-s)")
    for dataset, (kept, total) in merged.items():
        print(f"  {dataset} merged into {job['results_dir']}: {kept}/{total} cells")
    missing = sum(s.total - s.done for s in shards)
    if missing:
        print(f"{missing} cells have no row yet: the array is still fitting them, or a task "
              "ended early (cancelled, timed out, failed: its log in logs/ says which); once "
              "the array has ended, submit the same emorec slurm command again to fit only "
              "those")
        return 1
    print("every cell has its row")
    return 0


def _tune_status(tune: dict) -> int:
    """A study's state is its storage's: trials by state, against the trials asked for."""
    from emorec.tuning.storage import load_existing_study

    try:
        study = load_existing_study(tune["study"], tune["storage"], "emorec slurm --status")
    except EmorecError:
        print(f"study {tune['study']} ({tune['storage']}): not created yet (no task has "
              f"started); 0/{tune['trials']} trials ended")
        return 1
    states: dict[str, int] = {}
    for trial in study.trials:
        states[trial.state.name] = states.get(trial.state.name, 0) + 1
    ended = states.get("COMPLETE", 0) + states.get("PRUNED", 0)
    print(f"study {tune['study']} ({tune['storage']}): {ended}/{tune['trials']} trials ended "
          f"{states}")
    return 0 if ended >= tune["trials"] else 1
