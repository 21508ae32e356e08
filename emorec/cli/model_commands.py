"""The verb that lists the registered models, or checks one: models."""

from __future__ import annotations

import json
import sys

from emorec.cli.options import add_plugin_option, load_plugins, parse_params
from emorec.errors import EmorecError


def add_parsers(commands) -> None:
    models = commands.add_parser(
        "models", help="list the registered models, their defaults and search spaces",
        description="List every registered model: its family, modality, input view, "
                    "whether it is seed-free (its fit does not depend on the seed: one cell "
                    "for all of a suite's seeds), description and thesis grid, and each "
                    "parameter's default, accepted values and tuned range (the search space "
                    "`emorec tune` samples; '-': not tuned).")
    models.add_argument("--json", action="store_true",
                        help="print the same as JSON: a list of objects with name, family, "
                             "modality, view, source, seeded (false: the fit does not depend "
                             "on the seed, one cell for all seeds), description, params "
                             "{name: {default, accepts, tune}} and grid")
    models.add_argument("--check", metavar="NAME",
                        help="instead of listing, check that model NAME does what emorec needs "
                             "(params validate, the factory takes its declared params and "
                             "seed, fit and predict on every frame of a tiny stand-in, the "
                             "same numbers for the same seed), one line each; exit 2 naming "
                             "every failure. From Python: emorec.models.check.check_model; in "
                             "pytest, each check an item: emorec.models.check."
                             "parametrize_checks")
    models.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="with --check: a parameter value (JSON), e.g. --param epochs=1 "
                             "for a quick check of a net; repeat for several")
    add_plugin_option(models)
    models.set_defaults(handler=_models)


def _models(args) -> int | None:
    from emorec.models import MODELS
    from emorec.models.describe import model_record, render_model

    load_plugins(args)
    if args.param and not args.check:
        raise EmorecError("--param is only used with --check")
    if args.check:
        return _check_model(args.check, parse_params(args.param))
    records = [model_record(MODELS.get(name)) for name in MODELS]
    if args.json:
        print(json.dumps(records, indent=2))
    else:
        print("\n\n".join(render_model(record) for record in records))


def _check_model(name: str, params: dict) -> int:
    """Every check, one line each; a failure's line on stderr, exit 2."""
    from emorec.models.check import ModelChecksFailed, check_model

    try:
        results = check_model(name, params)
    except ModelChecksFailed as error:
        results = error.results
    failed = [result for result in results if result.outcome == "FAILED"]
    print(f"model {name!r} " + (f"fails {len(failed)} of emorec's {len(results)} checks:"
                                if failed else "passes emorec's checks:"))
    print("\n".join(f"  {result}" for result in results if result.outcome != "FAILED"),
          flush=True)
    for result in failed:
        print(f"emorec models --check: model {name!r}: FAILED {result.check}: {result.line}",
              file=sys.stderr)
    return 2 if failed else 0
