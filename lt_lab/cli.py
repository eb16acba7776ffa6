"""``lt-lab``: the command line.

    lt-lab run --dataset fashion_mnist --imbalance-ratio 100 --loss ce --profile quick --seed 0
    lt-lab run --profile smoke --sampler class_balanced --set 'loss_params={"label_smoothing": 0.1}'
    lt-lab grid configs.json      # a JSON list of {"kind": ..., "profile": ..., field: value}
    lt-lab data check             # which datasets are here, and from where
    lt-lab results                # the stored records, one line each
    lt-lab book execute chapters/00_long_tail.ipynb -p profile paper -p seeds "[1, 2]"
    lt-lab book execute --all && lt-lab book build && lt-lab book check
    lt-lab book freeze chapters/00_long_tail.ipynb   # store the claim verdicts nbval checks
    lt-lab book time --results-dir /tmp/empty   # time `make book` from an empty store
    lt-lab bench                  # throughput: lt_lab's trainer vs a DataLoader pipeline
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from lt_lab.errors import ConfigError, DataUnavailableError, TrainingDivergedError, check_choice

FLAGS = {  # flag -> (config field, type)
    "dataset": str, "imbalance_ratio": float, "loss": str, "sampler": str, "model": str,
    "head": str, "epochs": int, "n_max": int, "seed": int, "subset_seed": int, "device": str,
}


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _overrides(args) -> dict:
    values = {name: getattr(args, name) for name in FLAGS if getattr(args, name) is not None}
    for assignment in args.set or []:
        if "=" not in assignment:
            raise ConfigError(f"--set {assignment!r}: expected FIELD=VALUE, e.g. --set epochs=3")
        name, text = assignment.split("=", 1)
        values[name.strip().replace("-", "_")] = _parse_value(text)
    return values


def _store(args):
    from lt_lab.results import ResultsStore

    return ResultsStore(args.results_dir)


def _print_record(record: dict, cached: bool) -> None:
    config = record["config"]
    origin = "stored record" if cached else f"trained in {record['wall_time_s']:.1f} s"
    print(f"{config['dataset']} ρ={config['imbalance_ratio']:g} loss={config['loss']} "
          f"sampler={config['sampler']} seed={config['seed']} profile={config['profile']} "
          f"({origin}, {record['device']})")
    for name, value in record["metrics"].items():
        shown = "n/a (empty group)" if value is None else f"{100 * value:6.2f} %"
        if name == "ece":
            shown = f"{value:.4f}"
        print(f"  {name:<16} {shown}")
    print("  per class (training images → test accuracy):")
    for label, (name, count, acc) in enumerate(
        zip(record["class_names"], record["class_counts"], record["per_class_acc"], strict=True)
    ):
        print(f"    {label:>3} {name:<14} {count:>6}  {100 * acc:6.2f} %")
    print(f"  record: {record['key']}.json")


def cmd_run(args) -> int:
    from lt_lab.config import make_config
    from lt_lab.train import fit

    config = make_config(args.profile, **_overrides(args))
    result = fit(config, cache=not args.no_cache, store=_store(args), progress=args.progress)
    if args.json:
        print(json.dumps(result.record, indent=1))
    else:
        _print_record(result.record, result.cached)
    return 0


def grid_config(entry: dict):
    """The config of one ``lt-lab grid`` entry: ``{"kind": ..., "profile": ..., field: value}``
    (kind ``classification`` and profile ``quick`` when not given)."""
    from lt_lab.config import KINDS

    if not isinstance(entry, dict):
        raise ConfigError(f"grid entry {entry!r}: expected a JSON object of config fields")
    fields = dict(entry)
    kind = fields.pop("kind", "classification")
    check_choice("kind", kind, KINDS)
    return KINDS[kind].make(fields.pop("profile", "quick"), **fields)


def cmd_grid(args) -> int:
    from lt_lab.grid import run_grid

    with open(args.file) as handle:
        entries = json.load(handle)
    if not isinstance(entries, list):
        raise ConfigError(f"{args.file}: expected a JSON list of config objects")
    configs = [grid_config(entry) for entry in entries]
    progress = True if args.progress is None else args.progress
    records = run_grid(configs, cache=not args.no_cache, store=_store(args), progress=progress)
    for record in records:
        print(f"{record['key']}  {_describe_record(record)}")
    return 0


def cmd_data(args) -> int:
    from lt_lab.data import data_report

    for entry in data_report():
        mark = "yes" if entry["available"] else "no "
        print(f"{entry['dataset']:<14} {mark}  {entry['source'] or ''}  {entry['detail']}")
    return 0


def cmd_results(args) -> int:
    store = _store(args)
    records = store.records()
    print(f"{len(records)} records in {store.root}")
    for record in records:
        print(f"{record['key']}  {_describe_record(record)}")
    return 0


def _describe_record(record: dict) -> str:
    """One line per record, by kind: classification runs, regression runs, simulator runs."""
    config, metrics = record["config"], record["metrics"]
    kind = record["kind"]  # every stored record names its kind (the store checks it)
    head = f"{config.get('profile', '?'):<6} "
    if kind == "classification":
        return (head + f"{config['dataset']:<14} ρ={config['imbalance_ratio']:<5g} "
                f"{config['loss']:<10} {config['sampler']:<14} seed={config['seed']}  "
                f"acc {100 * metrics['acc']:6.2f} %")
    if kind == "regression":
        return (head + f"{config['dataset']:<22} ρ={config['imbalance_ratio']:<5g} "
                f"{config['loss']:<12} seed={config['seed']}  MAE {metrics['mae']:.3f}")
    settings = [f"{name}={value}" for name, value in sorted(config.items())
                if name not in ("profile", "device") and not isinstance(value, list)]
    counts = config.get("class_counts")
    if counts:
        settings.insert(0, f"R={max(counts) / min(counts):g}")
    return head + f"{kind}: {' '.join(settings)}"[:160]


def cmd_book(args) -> int:
    from lt_lab import book
    from lt_lab.results import RESULTS_ENV

    if args.results_dir:  # the chapters' kernels inherit it
        os.environ[RESULTS_ENV] = args.results_dir

    if args.action == "execute":
        parameters = {name: _parse_value(value) for name, value in args.parameter or []}
        notebooks = book.chapter_notebooks() if args.all else args.notebooks
        if not notebooks:
            raise ConfigError("book execute: name a notebook, or pass --all")
        from papermill import PapermillExecutionError

        for notebook in notebooks:
            print(f"executing {notebook} {parameters or ''}", flush=True)
            try:
                print(f"  -> {book.execute(notebook, parameters)}")
            except PapermillExecutionError as error:
                raise ConfigError(f"{notebook} stopped in cell [{error.exec_count}]: "
                                  f"{error.ename}: {error.evalue}") from None
    elif args.action == "time":
        parameters = {name: _parse_value(value) for name, value in args.parameter or []}
        notebooks = [Path(nb) for nb in args.notebooks] or None
        record = book.time_book(None, parameters, notebooks=notebooks,
                                build=not args.no_build, output=args.output)
        print(book.format_book_time(record))
        print(f"record: {record['path']}")
    elif args.action == "build":
        print(f"site: {book.build_site(strict=not args.no_strict) / 'index.html'}")
    elif args.action == "freeze":
        for notebook in args.notebooks:
            print(f"{notebook}: froze cells {book.freeze(notebook)}")
    elif args.action == "check":
        problems = book.check_site()
        for problem in problems:
            print(f"site check: {problem}", file=sys.stderr)
        if problems:
            return 1
        print(f"site check: every page renders with its figures and tables; screenshots in "
              f"{book.BUILD / 'screenshots'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lt-lab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="train one config (or read its stored record)")
    run.add_argument("--profile", default="quick", help="smoke, quick (default) or paper")
    for name, kind in FLAGS.items():
        run.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=None)
    run.add_argument("--set", action="append", metavar="FIELD=VALUE",
                     help="any config field; VALUE is parsed as JSON when it can be")
    run.add_argument("--json", action="store_true", help="print the whole record as JSON")
    run.set_defaults(func=cmd_run)

    grid = commands.add_parser("grid", help="run a JSON list of configs of any kind "
                               "(classification, regression, ufm), skipping stored ones")
    grid.add_argument("file")
    grid.set_defaults(func=cmd_grid)

    for sub in (run, grid):
        sub.add_argument("--no-cache", action="store_true", help="retrain even if stored")
        sub.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)

    data = commands.add_parser("data", help="datasets")
    data.add_argument("action", choices=["check"])
    data.set_defaults(func=cmd_data)

    results = commands.add_parser("results", help="list the stored run records")
    results.set_defaults(func=cmd_results)

    book = commands.add_parser("book", help="execute chapters, build and check the site")
    book.add_argument("action", choices=["execute", "build", "freeze", "check", "time"])
    book.add_argument("notebooks", nargs="*", help="chapter notebooks (execute, freeze, time)")
    book.add_argument("--all", action="store_true", help="every chapter (execute)")
    book.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                      help="a notebook parameter; VALUE is parsed as JSON when it can be")
    book.add_argument("--no-strict", action="store_true", help="build: warnings are not errors")
    book.add_argument("--no-build", action="store_true", help="time: the chapters only")
    book.add_argument("--output", default=None,
                      help="time: the JSON record (default: data/bench/book-<device>-<time>.json)")
    book.set_defaults(func=cmd_book)

    bench = commands.add_parser("bench", help="trainer throughput against a DataLoader recipe")
    from lt_lab.bench import add_arguments, run_from_args

    add_arguments(bench)
    bench.set_defaults(func=run_from_args)

    for sub in (run, grid, results, book):
        sub.add_argument("--results-dir", default=None,
                         help="where records live (default: $LT_LAB_RESULTS or data/results)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, DataUnavailableError, TrainingDivergedError, RuntimeError) as error:
        print(f"lt-lab: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
