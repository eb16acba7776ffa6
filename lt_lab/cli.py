"""``lt-lab``: the command line.

    lt-lab run --dataset fashion_mnist --imbalance-ratio 100 --loss ce --profile quick --seed 0
    lt-lab run --profile smoke --sampler class_balanced --set 'loss_params={"label_smoothing": 0.1}'
    lt-lab grid configs.json      # a JSON list of {"kind": ..., "profile": ..., field: value}
    lt-lab grid configs.json --launcher slurm --partition gpu --gpus-per-task 1 --time 300
    lt-lab grid configs.json --status   # stored, pending, running, failed (SLURM)
    lt-lab grid configs.json --pack 8   # classification runs in packs of 8, one model each
    lt-lab grid configs.json --launcher slurm --runs-per-task 4   # 4 runs per array task
    lt-lab grid configs.json --jobs 2   # 2 worker processes side by side (default: auto)
    lt-lab data check             # which datasets are here, and from where
    lt-lab results                # the stored records, one line each
    lt-lab book execute chapters/00_long_tail.ipynb -p profile paper -p seeds "[1, 2]"
    lt-lab book execute --all && lt-lab book build && lt-lab book check
    lt-lab book freeze chapters/00_long_tail.ipynb   # store the claim verdicts nbval checks
    lt-lab book lock [--amend "reason"]   # lock new claims (book/claims.lock.json)
    lt-lab book set-repo https://github.com/me/lt-book --ref v0.1.0   # Colab: your fork
    lt-lab book build --student   # the site without solutions, in _build/student/
    lt-lab book strip-solutions --output chapters   # a student branch's notebooks
    lt-lab book time --results-dir /tmp/empty   # time `make book` from an empty store
    lt-lab bench                  # throughput: lt_lab's trainer vs a DataLoader pipeline
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from lt_lab.errors import ConfigError, GridError, UserError, check_choice
from lt_lab.io import check_output

FLAGS = {  # config field -> (its type, what it is): a flag --field-name each
    "dataset": (str, "the image dataset (lt-lab data check lists them)"),
    "imbalance_ratio": (float, "ρ: the largest class's training images over the smallest's"),
    "loss": (str, "the training loss: ce, focal, ldam, ..."),
    "sampler": (str, "the training sampler: instance, class_balanced, ..."),
    "model": (str, "the network: small_cnn, mlp, resnet32, ..."),
    "head": (str, "the classifier head: linear, ..."),
    "epochs": (int, "training epochs"),
    "n_max": (int, "training images of the largest class"),
    "seed": (int, "the seed of model initialisation, sampling and augmentation"),
    "subset_seed": (int, "the seed of which images form the long-tailed subset"),
    "device": (str, "the device: auto, cpu, cuda or mps"),
}

# Every LT_LAB_* environment variable lt_lab reads, with what it changes: printed by
# `lt-lab --help` and copied into the README (tests/test_cli_shape.py checks both).
ENVIRONMENT = (
    ("LT_LAB_RESULTS", "the results store's folder (default: data/results/ of a checkout, "
                       "else ~/.cache/lt_lab/results); --results-dir overrides it"),
    ("LT_LAB_DATA", "where datasets are looked for first, and downloaded to (default: ./data)"),
    ("LT_LAB_JOBS", "lt-lab grid's default --jobs: an integer, or auto (the default)"),
    ("LT_LAB_CACHE", "0: every chapter retrains its runs instead of reading stored records"),
    ("LT_LAB_BOOK_BUILD", "a folder whose _build/ replaces the checkout's _build/ (the site, "
                          "the executed chapters, their claims)"),
    ("LT_LAB_CLAIMS_DIR", "set by lt-lab book execute for a chapter's kernel: where it "
                          "publishes its claims (not for users)"),
    ("LT_LAB_BOOK_PARAMETERS", "set by lt-lab book execute for a chapter's kernel: its "
                               "non-default parameters, as JSON (not for users)"),
)


def environment_help() -> str:
    """The ENVIRONMENT table as ``lt-lab --help`` prints it (its epilog)."""
    import textwrap

    width = max(len(name) for name, _ in ENVIRONMENT)
    rows = [textwrap.fill(meaning, 96, initial_indent=f"  {name:<{width}}  ",
                          subsequent_indent=" " * (width + 4)) for name, meaning in ENVIRONMENT]
    return "environment variables:\n" + "\n".join(rows)


def environment_markdown() -> str:
    """The ENVIRONMENT table as the README holds it (a Markdown table)."""
    rows = [f"| `{name}` | {meaning} |" for name, meaning in ENVIRONMENT]
    return "\n".join(["| variable | what it changes |", "| --- | --- |", *rows])


def _parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _overrides(args) -> dict:
    # Flags arrive as text and are read as --set values are, so a bad one ("abc", "inf", 2.5
    # for an integer) is judged by the config's constraints, which name it and what is valid.
    values = {name: getattr(args, name) if kind is str else _parse_value(getattr(args, name))
              for name, (kind, _) in FLAGS.items() if getattr(args, name) is not None}
    for assignment in args.set or []:
        if "=" not in assignment:
            raise ConfigError(f"--set {assignment!r}: expected FIELD=VALUE, e.g. --set epochs=3")
        name, text = assignment.split("=", 1)
        values[name.strip().replace("-", "_")] = _parse_value(text)
    return values


def _store(args):
    from lt_lab.results import ResultsStore

    return ResultsStore(args.results_dir)


def _checkout_store() -> Path | None:
    """``data/results/`` of the git checkout lt_lab runs from; None outside a checkout."""
    checkout = Path(__file__).resolve().parents[1]
    return checkout / "data" / "results" if (checkout / ".git").exists() else None


def _notice_checkout_store(args, store, configs) -> None:
    """One line on stderr when runs about to train would be written, by default (no
    ``--results-dir``, no ``$LT_LAB_RESULTS``), into the checkout's git-tracked store."""
    from lt_lab.results import RESULTS_ENV

    own = _checkout_store()
    if args.results_dir or os.environ.get(RESULTS_ENV) or own is None:
        return
    if store.root.resolve() != own.resolve():
        return
    if not args.no_cache and all(store.path(config.key()).exists() for config in configs):
        return  # every record is stored: nothing is written
    print(f"lt-lab: note: the records go into this repository's git-tracked store {own} "
          f"(the default in a checkout); --results-dir DIR or ${RESULTS_ENV}=DIR chooses "
          "another", file=sys.stderr, flush=True)


def _print_record(record: dict, cached: bool) -> None:
    # Every field read with a fallback: a stored record may lack one (a hand-edited or older
    # record), and printing it must not fail where the store accepted it.
    config = record.get("config", {})
    wall = record.get("wall_time_s")
    origin = ("stored record" if cached
              else f"trained in {wall:.1f} s" if _is_number(wall) else "trained")
    print(f"{config.get('dataset', '?')} ρ={_number(config.get('imbalance_ratio'), '{:g}')} "
          f"loss={config.get('loss', '?')} sampler={config.get('sampler', '?')} "
          f"seed={config.get('seed', '?')} profile={config.get('profile', '?')} "
          f"({origin}, {record.get('device', '?')})")
    for name, value in record.get("metrics", {}).items():
        shown = ("n/a (empty group)" if value is None else _number(value, "{:.4f}")
                 if name == "ece" else _percent(value))
        print(f"  {name:<16} {shown}")
    rows = [record.get(name) for name in ("class_names", "class_counts", "per_class_acc")]
    if all(isinstance(row, list) for row in rows) and len({len(row) for row in rows}) == 1:
        print("  per class (training images → test accuracy):")
        for label, (name, count, acc) in enumerate(zip(*rows, strict=True)):
            print(f"    {label:>3} {name!s:<14} {count!s:>6}  {_percent(acc)}")
    else:
        print("  per class: n/a (the record has no complete class_names, class_counts and "
              "per_class_acc)")
    print(f"  record: {record.get('key', '?')}.json")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(value, form: str) -> str:
    return form.format(value) if _is_number(value) else "n/a"


def _percent(value) -> str:
    return f"{100 * value:6.2f} %" if _is_number(value) else "   n/a  "


def cmd_run(args) -> int:
    from lt_lab.config import make_config
    from lt_lab.train import fit

    config = _from_input("", make_config, args.profile, **_overrides(args))
    store = _store(args)
    _notice_checkout_store(args, store, [config])
    result = fit(config, cache=not args.no_cache, store=store, progress=args.progress,
                 checkpoint_every=args.checkpoint_every)
    if args.json:
        print(json.dumps(result.record, indent=1))
    else:
        _print_record(result.record, result.cached)
    return 0


def _from_input(where: str, build, *args, **kwargs):
    """``build(*args, **kwargs)``, a config from what the user typed: a TypeError, ValueError
    or OverflowError there is a bad input too, reported as a ConfigError. ``where`` (the file
    and entry of a grid) prefixes the message; empty for the command line itself."""
    try:
        return build(*args, **kwargs)
    except ConfigError as error:
        if not where:
            raise
        raise ConfigError(f"{where}: {error}") from None
    except (TypeError, ValueError, OverflowError) as error:
        raise ConfigError(f"{where or 'bad input'}: {error}") from None


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

    _check_launcher_options(args)
    entries = _read_grid_file(args.file)
    configs = [_from_input(f"{args.file}, entry {number}", grid_config, entry)
               for number, entry in enumerate(entries, 1)]
    if args.launcher == "local" and args.pack != 1:  # packs of one model; --status too
        import lt_lab.pack  # noqa: F401  (registers the classification packer)
        from lt_lab.grid import with_pack

        configs = with_pack(configs, args.pack)
    store = _store(args)
    if not args.status:
        _notice_checkout_store(args, store, configs)
    if args.status or args.launcher != "local":
        from lt_lab import launch

        return launch.cmd_grid(args, configs, store, _shown(store))
    progress = True if args.progress is None else args.progress
    records = run_grid(configs, cache=not args.no_cache, store=store, progress=progress,
                       jobs=args.jobs)
    for record in records:
        packed = record.get("pack")
        member = f"  [pack member {packed['member'] + 1}/{packed['members']}]" if packed else ""
        print(f"{record['key']}  {_shown(store)(record)}{member}")
    return 0


# The options of `lt-lab grid` that only --launcher slurm reads (lt_lab.launch), each with its
# flag: given with --launcher local, one is an error rather than silently ignored.
SLURM_FLAGS = {
    "partition": "--partition", "time_min": "--time", "gpus_per_task": "--gpus-per-task",
    "cpus_per_task": "--cpus-per-task", "mem_gb": "--mem-gb",
    "array_parallelism": "--array-parallelism", "runs_per_task": "--runs-per-task",
    "job_name": "--job-name", "setup": "--setup", "sbatch": "--sbatch", "wait": "--wait",
    "wait_timeout": "--wait-timeout",
}


def slurm_defaults() -> dict:
    """The default of every SLURM-only option of ``lt-lab grid`` (by its dest)."""
    from lt_lab.launch import add_arguments

    probe = argparse.ArgumentParser(add_help=False)
    add_arguments(probe)
    defaults = vars(probe.parse_args([]))
    return {name: defaults[name] for name in SLURM_FLAGS}


def _check_launcher_options(args) -> None:
    """ConfigError for an option of the other launcher: ``--jobs`` or ``--pack`` (one
    batched model) with SLURM; a SLURM option with ``--launcher local``."""
    if args.launcher != "local":
        for flag, value, default in (("--jobs", args.jobs, None), ("--pack", args.pack, 1)):
            if value != default:
                raise ConfigError(f"{flag} is for --launcher local; --launcher "
                                  f"{args.launcher} spreads runs its own way (--runs-per-task "
                                  "K: K runs one after another in each array task)")
        return
    given = [SLURM_FLAGS[name] for name, default in slurm_defaults().items()
             if getattr(args, name) != default]
    if given and not args.status:
        raise ConfigError(f"{', '.join(given)}: for --launcher slurm only; with --launcher "
                          "local the runs train here (--jobs N: N side by side)")


def _jobs(text: str) -> int | str:
    """``--jobs``: ``auto`` or an integer (run_grid judges its range)."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: an integer >= 1 or 'auto'") from None


def _read_grid_file(path: str) -> list:
    """The entries of a grid file; a missing, unreadable or malformed file is a ConfigError
    naming it."""
    try:
        with open(path) as handle:
            entries = json.load(handle)
    except OSError as error:
        raise ConfigError(f"grid file {path}: cannot read it ({error.strerror or error})") \
            from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"grid file {path} is not valid JSON ({error}); expected a JSON "
                          'list of config objects, e.g. [{"profile": "smoke", "seed": 0}]') \
            from None
    if not isinstance(entries, list):
        raise ConfigError(f"grid file {path}: expected a JSON list of config objects, "
                          f"not a {type(entries).__name__}")
    return entries


def cmd_data(args) -> int:
    from lt_lab.data import data_report

    for entry in data_report():
        mark = "yes" if entry["available"] else "no "
        print(f"{entry['dataset']:<14} {mark}  {entry['source'] or ''}  {entry['detail']}")
    return 0


def cmd_results(args) -> int:
    from lt_lab.reproduce import hardware_label

    store = _store(args)
    with warnings.catch_warnings(record=True) as skipped:  # bad records: one line each
        warnings.simplefilter("always")
        records = store.records()
    for warning in skipped:
        print(f"lt-lab: warning: {warning.message}", file=sys.stderr)
    print(f"{len(records)} records in {store.root}")
    for record in records:
        print(f"{record['key']}  {_shown(store)(record)}  [{hardware_label(record)}]")
    machines = Counter(hardware_label(record) for record in records)
    for label, count in machines.most_common():  # which machine's numbers the store holds
        print(f"{count} made on {label}")
    return 0


def _shown(store):
    """:func:`_describe_record`, except for a confirmatory run whose chapter's declared runs
    are not all stored yet: its config without any number (one look, issue 29)."""
    from lt_lab.book.confirmatory.mask import HIDDEN, hidden

    def describe(record: dict) -> str:
        if hidden(record, store):
            return f"{_describe_record({**record, 'metrics': {}})}  [{HIDDEN}]"
        return _describe_record(record)

    return describe


def _describe_record(record: dict) -> str:
    """One line per record, by kind: classification runs, regression runs, simulator runs.

    A field the record lacks (or holds in an odd form) shows as ``?`` or ``n/a``: one odd
    record must not stop a listing."""
    config, metrics = record.get("config") or {}, record.get("metrics") or {}
    kind = record.get("kind")  # every stored record names its kind (the store checks it)
    head = f"{config.get('profile', '?')!s:<6} "
    ratio = config.get("imbalance_ratio")
    ratio = "natural" if ratio is None else _number(ratio, "{:g}")
    if kind == "classification":
        return (head + f"{config.get('dataset', '?')!s:<14} ρ={ratio:<5} "
                f"{config.get('loss', '?')!s:<10} {config.get('sampler', '?')!s:<14} "
                f"seed={config.get('seed', '?')}  acc {_percent(metrics.get('acc'))}")
    if kind == "regression":
        return (head + f"{config.get('dataset', '?')!s:<22} ρ={ratio:<5} "
                f"{config.get('loss', '?')!s:<12} seed={config.get('seed', '?')}  "
                f"MAE {_number(metrics.get('mae'), '{:.3f}')}")
    settings = [f"{name}={value}" for name, value in sorted(config.items())
                if name not in ("profile", "device") and not isinstance(value, list)]
    counts = config.get("class_counts")
    if (isinstance(counts, list) and counts and all(_is_number(n) for n in counts)
            and min(counts) > 0):
        settings.insert(0, f"R={max(counts) / min(counts):g}")
    return head + f"{kind}: {' '.join(settings)}"[:160]


def _kernels_use_store(args) -> None:
    """``--results-dir``: the chapters' kernels inherit it (as ``$LT_LAB_RESULTS``)."""
    from lt_lab.results import RESULTS_ENV

    if args.results_dir:
        os.environ[RESULTS_ENV] = args.results_dir


def _parameters(args) -> dict:
    """The ``-p NAME VALUE`` pairs, each VALUE read as JSON when it can be."""
    return {name: _parse_value(value) for name, value in args.parameter or []}


def book_execute(args) -> int:
    """``lt-lab book execute``: chapters run by papermill, into the site or a variant folder."""
    from papermill import PapermillExecutionError

    from lt_lab import book

    _kernels_use_store(args)
    parameters = _parameters(args)
    notebooks = book.chapter_notebooks() if args.all else args.notebooks
    if not notebooks:
        raise ConfigError("book execute: name a notebook, or pass --all")
    for notebook in notebooks:  # every one checked before the first runs
        book.check_notebook_parameters(Path(notebook), parameters)
    check_output(args.output, "--output", folder=True)
    for notebook in notebooks:
        print(f"executing {notebook} {parameters or ''}", flush=True)
        output_dir = _destination(notebook, parameters, args.output)
        try:
            print(f"  -> {book.execute(notebook, parameters, output_dir=output_dir)}")
        except PapermillExecutionError as error:
            if error.ename not in user_error_names():
                raise  # a bug, the chapter's or lt_lab's: the message holds the cell's traceback
            raise ConfigError(f"{notebook} stopped in cell [{error.exec_count}]: "
                              f"{error.ename}: {error.evalue}") from None
    return 0


def _destination(notebook, parameters: dict, output) -> Path:
    """Where ``book execute`` writes ``notebook``'s executed copy, said when it is not the
    site, or when non-default parameters go into the site."""
    from lt_lab import book

    output_dir, claims_dir = book.destination(notebook, parameters, output)
    if output_dir.resolve() != (book.paths.STAGE / "chapters").resolve():
        print(f"  not the site: the executed copy goes to {output_dir}, its claims to "
              f"{claims_dir}; the site and the ledger are untouched", flush=True)
    elif book.non_default(Path(notebook).resolve(), parameters):
        print("  warning: non-default parameters into the site: the page and its "
              "ledger rows are marked as such", flush=True)
    return output_dir


def user_error_names() -> set[str]:
    """The class names of :func:`user_errors` and their subclasses loaded here: a chapter's
    kernel reports its exception by name only."""
    names, pending = set(), list(user_errors())
    while pending:
        kind = pending.pop()
        names.add(kind.__name__)
        pending.extend(kind.__subclasses__())
    return names


def book_time(args) -> int:
    """``lt-lab book time``: ``make book`` timed chapter by chapter, into a JSON record."""
    from lt_lab import book

    _kernels_use_store(args)
    parameters = _parameters(args)
    notebooks = [Path(nb) for nb in args.notebooks] or None
    for notebook in notebooks or []:
        book.check_notebook_parameters(notebook, parameters)
    check_output(args.output or book.paths.ROOT / "data" / "bench" / "book.json", "--output")
    record = book.time_book(None, parameters, notebooks=notebooks, build=not args.no_build,
                            output=args.output)
    print(book.format_book_time(record))
    print(f"record: {record['path']}")
    return 0


def book_build(args) -> int:
    """``lt-lab book build``: the Jupyter Book site (or its student edition)."""
    from lt_lab import book

    site = book.build_site(strict=not args.no_strict, student=args.student)
    print(f"site{' (student edition)' if args.student else ''}: {site / 'index.html'}")
    return 0


def book_set_repo(args) -> int:
    """``lt-lab book set-repo URL --ref REF``: the repository and ref readers' Colab gets."""
    from lt_lab.book.colab import set_repo

    for path in set_repo(args.repository, args.ref):
        print(f"set-repo: rewrote {path}")
    return 0


def book_slides(args) -> int:
    """``lt-lab book slides``: a teaching deck per chapter from its cells tagged for slides
    (:mod:`lt_lab.book.slides`), and with ``--check`` every slide in headless Chromium."""
    from lt_lab.book import slides

    argv = [*args.notebooks, *(["--source", args.source] if args.source else []),
            *(["--output", args.output] if args.output else []),
            *(["--check"] if args.check else [])]
    return slides.main(argv)


def book_strip_solutions(args) -> int:
    """``lt-lab book strip-solutions``: the chapters without their solutions."""
    from lt_lab import book
    from lt_lab.book.edition import strip_solutions

    target = Path(args.output or book.paths.BUILD / "student" / "chapters")
    check_output(target, "--output", folder=True)
    for notebook in [Path(n) for n in args.notebooks] or book.chapter_notebooks():
        removed = strip_solutions(notebook, target / notebook.name)
        print(f"{notebook.name}: {removed} solution(s) left out -> {target / notebook.name}")
    return 0


def book_freeze(args) -> int:
    """``lt-lab book freeze``: store the claim verdicts that nbval checks."""
    from lt_lab import book

    for notebook in args.notebooks:
        print(f"{notebook}: froze cells {book.freeze(notebook)}")
    return 0


def book_lock(args) -> int:
    """``lt-lab book lock``: new claims into book/claims.lock.json."""
    from lt_lab.book.lock import lock_command

    print(lock_command(amend=args.amend))
    return 0


def book_check(args) -> int:
    """``lt-lab book check``: the built site in headless Chromium; 1 when a page fails."""
    from lt_lab import book

    report = book.check_site(strict=args.all_checks)
    for finding in report.excused:
        print(f"site check (not failing): {finding}", file=sys.stderr)
    for problem in report.problems:
        print(f"site check: {problem}", file=sys.stderr)
    if report.problems:
        return 1
    print(f"site check: every page renders with its figures and tables; screenshots in "
          f"{book.BUILD / 'screenshots'}")
    return 0


def cmd_bench(args) -> int:
    """``lt-lab bench``: its output place (or ``--paper-run``'s store) checked first, so a
    read-only place fails now rather than after minutes of measuring."""
    if args.paper_run and args.results_dir:
        check_output(args.results_dir, "--results-dir", folder=True)
    elif not args.paper_run:
        from lt_lab.bench.harness import default_output

        check_output(args.output or default_output(_cpu()), "--output")
    return args.bench(args)


def _cpu():
    import torch

    return torch.device("cpu")


RESULTS_DIR_HELP = "where records live (default: $LT_LAB_RESULTS, else data/results)"


def build_parser() -> argparse.ArgumentParser:
    """The ``lt-lab`` parser: one subcommand each, each with only its own options."""
    parser = argparse.ArgumentParser(prog="lt-lab", description=__doc__,
                                     epilog=environment_help(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run(commands)
    _add_grid(commands)
    data = commands.add_parser("data", help="datasets")
    data.add_argument("action", choices=["check"],
                      help="check: which datasets are here, and from where")
    data.set_defaults(func=cmd_data)
    results = commands.add_parser("results", help="list the stored run records")
    results.add_argument("--results-dir", default=None, help=RESULTS_DIR_HELP)
    results.set_defaults(func=cmd_results)
    _add_book(commands)
    bench = commands.add_parser("bench", help="trainer throughput against a DataLoader recipe")
    from lt_lab.bench import add_arguments, run_from_args

    add_arguments(bench)
    bench.set_defaults(func=cmd_bench, bench=run_from_args)
    return parser


def _add_training_options(sub) -> None:
    """The options ``run`` and ``grid`` share: the cache, the progress bars, the store."""
    sub.add_argument("--no-cache", action="store_true", help="retrain even if stored")
    sub.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="progress bars (default: run: when the terminal shows them; grid: "
                          "on)")
    sub.add_argument("--results-dir", default=None, help=RESULTS_DIR_HELP)


def _add_run(commands) -> None:
    """``lt-lab run``: one classification config."""
    from lt_lab.config import PROFILES

    run = commands.add_parser("run", help="train one config (or read its stored record)")
    names = list(PROFILES)
    run.add_argument("--profile", default="quick", metavar="PROFILE",
                     help=f"{', '.join(names[:-1])} or {names[-1]}: the settings the other "
                          "options change (default: quick)")
    for name, (_, meaning) in FLAGS.items():  # read as text: see _overrides
        run.add_argument("--" + name.replace("_", "-"), dest=name, default=None,
                         metavar=name.upper(), help=f"{meaning} (default: the profile's)")
    run.add_argument("--set", action="append", metavar="FIELD=VALUE",
                     help="any config field; VALUE is parsed as JSON when it can be (a bad "
                          "value, in any option, is refused with the valid ones)")
    run.add_argument("--json", action="store_true", help="print the whole record as JSON")
    run.add_argument("--checkpoint-every", type=int, default=None, metavar="EPOCHS",
                     help="checkpoint every EPOCHS epochs (0: never; default: after any epoch "
                          "that ends a minute or more after the last checkpoint)")
    _add_training_options(run)
    run.set_defaults(func=cmd_run)


def _add_grid(commands) -> None:
    """``lt-lab grid``: a JSON list of configs, here or on SLURM."""
    from lt_lab.launch import add_arguments as add_launch_arguments

    grid = commands.add_parser("grid", help="run a JSON list of configs of any kind "
                               "(classification, regression, ufm), skipping stored ones")
    grid.add_argument("file", help='a JSON list of {"kind": ..., "profile": ..., field: value} '
                      "(kind classification and profile quick when not given)")
    grid.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                      help="--launcher local: N worker processes train side by side, or "
                           "'auto': the cores over the threads a run pins (default: "
                           "$LT_LAB_JOBS, else auto); 1: one after another here")
    grid.add_argument("--pack", type=int, default=1, metavar="K",
                      help="--launcher local: classification runs that share data, model and "
                           "schedule train in packs of up to K as one batched model (pack=K "
                           "is then in their configs and keys; default 1: each alone)")
    add_launch_arguments(grid)
    _add_training_options(grid)
    grid.set_defaults(func=cmd_grid)


def _add_book(commands) -> None:
    """``lt-lab book ACTION``: one subcommand per action, each with only its own options."""
    book = commands.add_parser("book", help="execute chapters, build and check the site")
    actions = book.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, (help_text, run, options) in BOOK_ACTIONS.items():
        sub = actions.add_parser(name, help=help_text, description=help_text)
        for flags, settings in options:
            sub.add_argument(*flags, **settings)
        sub.set_defaults(func=run)


def _option(*flags, **settings) -> tuple[tuple, dict]:
    """One ``add_argument`` call, as data."""
    return flags, settings


NOTEBOOKS = _option("notebooks", nargs="*", help="chapter notebooks (default: every one)")
PARAMETER = _option("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                    help="a notebook parameter; VALUE is parsed as JSON when it can be")
KERNELS_STORE = _option("--results-dir", default=None, help=RESULTS_DIR_HELP + "; the "
                        "chapters' kernels read and write their runs there")

# action -> (help, what runs it, its options): `lt-lab book ACTION` accepts these only.
BOOK_ACTIONS = {
    "execute": ("run chapters with papermill", book_execute, [
        _option("notebooks", nargs="*", help="chapter notebooks"),
        _option("--all", action="store_true", help="every chapter"),
        PARAMETER,
        _option("--output", default=None, help="the folder of the executed copies (their "
                "claims in its claims/; default: the site at the defaults, "
                "_build/variants/<parameters>/ otherwise)"),
        KERNELS_STORE]),
    "build": ("the Jupyter Book site, into _build/html", book_build, [
        _option("--no-strict", action="store_true", help="warnings are not errors"),
        _option("--student", action="store_true",
                help="the student edition, without solutions (_build/student/)")]),
    "freeze": ("store the claim verdicts nbval checks", book_freeze, [
        _option("notebooks", nargs="+", help="chapter notebooks")]),
    "check": ("the built site in headless Chromium", book_check, [
        _option("--all-checks", action="store_true",
                help="pages listed as known exceptions fail too")]),
    "time": ("time `make book`, chapter by chapter", book_time, [
        NOTEBOOKS, PARAMETER,
        _option("--no-build", action="store_true", help="the chapters only"),
        _option("--output", default=None,
                help="the JSON record (default: data/bench/book-<device>-<time>.json)"),
        KERNELS_STORE]),
    "lock": ("lock new claims (book/claims.lock.json)", book_lock, [
        _option("--amend", default=None, metavar="REASON",
                help="record changed or withdrawn claims as amendments, with why")]),
    "set-repo": ("the repository and ref Colab readers get", book_set_repo, [
        _option("repository", help="its URL, e.g. https://github.com/me/lt-book"),
        _option("--ref", required=True,
                help="the tag or branch readers get (Colab buttons and cells)")]),
    "slides": ("teaching decks from the cells tagged for slides, into _build/html/slides",
               book_slides, [
                   NOTEBOOKS,
                   _option("--source", default=None, help="the executed chapters' folder "
                           "(default: _build/src/chapters)"),
                   _option("--output", default=None,
                           help="the decks' folder (default: _build/html/slides)"),
                   _option("--check", action="store_true", help="then open every slide in "
                           "headless Chromium: fail on an empty slide or overflowing text")]),
    "strip-solutions": ("the chapters without solutions", book_strip_solutions, [
        NOTEBOOKS,
        _option("--output", default=None, help="the folder of the notebooks without "
                "solutions (default: _build/student/chapters; chapters rewrites them in "
                "place)")]),
}


# User errors defined in modules the CLI does not import up front, caught only once loaded
# (an error of a module never imported cannot have been raised).
ELSEWHERE = {"lt_lab.results": "StoreError", "lt_lab.book.site": "BookBuildError"}


def user_errors() -> tuple[type[BaseException], ...]:
    """The errors a user's input causes (a config, a file, a record, a dataset, a results
    folder, a chapter that does not build): one line and exit status 2. GridError too: each
    failed run was reported as it failed. Anything else is a bug and keeps its traceback."""
    loaded = [getattr(sys.modules[module], name) for module, name in ELSEWHERE.items()
              if module in sys.modules]
    return (UserError, GridError, *loaded)


def main(argv: list[str] | None = None) -> int:
    """``lt-lab``: the exit status (2 for a usage error or a user's mistake)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help (0), or a usage error argparse has printed (2)
        return exit_.code if isinstance(exit_.code, int) else 2
    try:
        with terminated_as_interrupt():
            code = args.func(args)
            sys.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
            return code
    except KeyboardInterrupt as interrupt:
        print(f"lt-lab: {'terminated' if isinstance(interrupt, Terminated) else 'interrupted'}"
              ". A training run resumes from its last checkpoint when started again with the "
              "same config.", file=sys.stderr)
        return 143 if isinstance(interrupt, Terminated) else 130
    except BrokenPipeError:  # lt-lab results | head -1: the reader has what it wanted
        _silence_stdout()
        return 141
    except user_errors() as error:
        print(f"lt-lab: error: {error}", file=sys.stderr)
        return 2


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, SLURM's time limit, a shutdown), stopping the command as Ctrl-C
    does: temporary files removed, the last checkpoint kept for a resume."""


@contextmanager
def terminated_as_interrupt():
    """Within the block, SIGTERM raises :class:`Terminated` (in the main thread only)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush into a closed pipe does
    not print a second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor (a test's captured stdout)
        pass


if __name__ == "__main__":
    sys.exit(main())
