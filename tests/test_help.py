"""The command line explains itself: every verb has a description, every argument has help, and
`emorec models` shows each model's defaults and search space without a slow `--help`."""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

from emorec.cli import HelpFormatter, build_parser, main
from emorec.cli.run_commands import usable_cores
from emorec.models import MODELS

ROOT = Path(__file__).parent.parent


def verb_parsers(parser: argparse.ArgumentParser, prefix: str = "emorec"):
    """(command, parser) for every verb and sub-verb under ``parser``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix} {name}", sub
                yield from verb_parsers(sub, f"{prefix} {name}")


def test_every_verb_has_a_description_and_every_argument_help():
    parser = build_parser()
    verbs = dict(verb_parsers(parser))
    assert {"emorec bench", "emorec tune", "emorec models", "emorec data synth"} <= set(verbs)
    for command, sub in [("emorec", parser), *verbs.items()]:
        assert sub.description, f"{command} has no description"
        formatter = HelpFormatter(command)
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            name = "/".join(action.option_strings) or action.dest
            assert action.help, f"{command} {name} has no help"
            shown = action.nargs != 0 and action.default not in (None, [], argparse.SUPPRESS)
            if shown:
                assert "(default" in formatter._expand_help(action), \
                    f"{command} {name} does not show its default"


def test_bench_jobs_defaults_to_the_usable_cores_and_must_be_positive(capsys):
    args = build_parser().parse_args(["bench", str(ROOT / "benchmarks/quick.toml")])
    assert args.jobs == usable_cores()
    assert main(["bench", str(ROOT / "benchmarks/quick.toml"), "--jobs", "0"]) == 2
    assert "--jobs: must be a whole number at least 1, found '0'" in capsys.readouterr().err


def test_models_json_holds_every_model_with_its_defaults_and_search_space(capsys):
    assert main(["models", "--json"]) == 0
    records = {record["name"]: record for record in json.loads(capsys.readouterr().out)}
    assert set(records) == set(MODELS)
    for name in MODELS:
        spec, record = MODELS.get(name), records[name]
        assert record["description"] == spec.description
        assert record["description"].endswith("."), f"{name}'s description is cut"
        assert record["grid"] == json.loads(json.dumps(spec.grid))
        params = record["params"]
        assert {p: params[p]["default"] for p in params} == spec.defaults
        assert {p for p in params if params[p]["tune"]} == set(spec.tunable)
        shows = [record["columns"], record["offline_when"], record["thesis_names"]]
        assert shows == json.loads(json.dumps([spec.columns, spec.offline_when,
                                               spec.thesis_names]))


def test_models_text_shows_each_models_params_and_tuned_ranges(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"learning_rate +0\.001 +a number > 0 +0\.0001 \.\. 0\.01 \(log\)", out)
    assert "  leaderboard: offline when direction = bidirectional\n" in out
    assert "  leaderboard: columns for window, pooling; the thesis calls it gru_avg, " in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_help_imports_no_torch():
    code = ("import sys\n"
            "from emorec.cli import main\n"
            "for argv in (['--help'], ['bench', '--help'], ['data', 'synth', '--help']):\n"
            "    try:\n"
            "        main(argv)\n"
            "    except SystemExit:\n"
            "        pass\n"
            "print(sorted(m for m in ('torch', 'emorec.models') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert "usage: emorec" in out.stdout
    assert out.stdout.splitlines()[-1] == "[]"
