"""The ``connector-runbooks`` command line.

    connector-runbooks run TASK -f parameters/FILE.yaml [-p NAME VALUE] [--apply] [--records DIR]
    connector-runbooks demo
    connector-runbooks list
    connector-runbooks simulator show | reset | block-port25 SERVER | unblock-port25 SERVER
    connector-runbooks emulator [--port 5985] ...
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, RunbookError
from .records import LOG_LEVEL_ENV

logger = logging.getLogger(__name__)

DEMO_TASK = "receive-connector-ip-ranges"
DEMO_PARAMETERS = "import-file.yaml"


def _value(text: str) -> Any:
    """A ``-p`` value read as YAML, so ``-p allow_risky true`` and ``-p add '[a, b]'`` work."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _print_result(result: Any) -> None:
    print(f"outcome: {result.outcome}")
    if result.error:
        print(f"error:   {result.error}")
    print(f"record:  {result.notebook}")
    print(f"summary: {result.summary}")


def cmd_run(args: argparse.Namespace) -> int:
    from .runner import load_parameters, run

    parameters: dict[str, Any] = {}
    sources = []
    if args.parameters_file:
        parameters.update(load_parameters(args.parameters_file))
        sources.append(args.parameters_file)
    if args.parameter or args.target:
        sources.append("command line")
    for name, value in args.parameter or []:
        parameters[name] = _value(value)
    if args.target:
        parameters["target"] = args.target
    if "apply" in parameters:
        raise InputError(parameters["apply"], "apply is switched on with --apply only, so a "
                         "parameters file can never apply by itself",
                         source=" and ".join(sources), accepted="--apply on the command line")
    result = run(args.task, parameters, apply=args.apply, folder=args.records,
                 parameters_source=" and ".join(sources) or "command line")
    _print_result(result)
    return result.exit_code


def cmd_demo(args: argparse.Namespace) -> int:
    from .runner import load_parameters, notebooks_dir, run

    parameters_file = notebooks_dir().parent / "parameters" / DEMO_PARAMETERS
    parameters = load_parameters(parameters_file)
    print(f"running {DEMO_TASK} with {parameters_file} against the simulated organization "
          "(plan, then apply)", flush=True)
    result = run(DEMO_TASK, parameters, apply=True, folder=args.records,
                 parameters_source=str(parameters_file))
    _print_result(result)
    return result.exit_code


def cmd_list(args: argparse.Namespace) -> int:
    from .runner import available_tasks, notebooks_dir

    for task in available_tasks():
        print(task)
    print(f"({notebooks_dir()})")
    return 0


def cmd_simulator(args: argparse.Namespace) -> int:
    from .simulated import Organization, default_state_path, reset_state

    path = Path(args.state) if args.state else default_state_path()
    if args.action == "reset":
        reset_state(path)
        print(f"simulated organization reset to the demo organization: {path}")
    elif args.action == "show":
        print(f"state file: {path}")
        org = Organization(path)
        for cmdlet in ("Get-ExchangeServer", "Get-ReceiveConnector", "Get-SendConnector"):
            for obj in org.execute(cmdlet, {}).output:
                print(f"  {cmdlet[4:]:<18} {obj.to_string}")
    elif args.action in {"block-port25", "unblock-port25"}:
        if not args.server:
            raise RunbookError(f"simulator {args.action} needs a server name")
        Organization(path).set_port25_blocked(args.server, args.action == "block-port25")
        print(f"{args.server}: outbound port 25 "
              f"{'blocked' if args.action == 'block-port25' else 'open'} ({path})")
    return 0


def cmd_emulator(args: argparse.Namespace) -> int:
    from .emulator import main_emulator

    return main_emulator(args.rest)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="connector-runbooks",
                                     description="Exchange connector runbooks")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="keep a log of each call beside the record (NAME.log)")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a runbook into a change record")
    run.add_argument("task", help="runbook name, for example receive-connector-ip-ranges")
    run.add_argument("-f", "--parameters-file", help="YAML file of parameters")
    run.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                     help="one parameter (value read as YAML); repeatable")
    run.add_argument("--apply", action="store_true", help="apply the plan (default: plan only)")
    run.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                     help="keep a log of each call beside the record (NAME.log)")
    run.add_argument("--target", help="simulated (default), simulated:PATH or an endpoint URL")
    run.add_argument("--records", help="records folder (default: records/)")
    run.set_defaults(func=cmd_run)

    demo = commands.add_parser("demo", help="import a file into the demo relay connector")
    demo.add_argument("--records", help="records folder (default: records/)")
    demo.set_defaults(func=cmd_demo)

    listing = commands.add_parser("list", help="list the runbooks")
    listing.set_defaults(func=cmd_list)

    sim = commands.add_parser("simulator", help="the simulated organization's state")
    sim.add_argument("action", choices=["show", "reset", "block-port25", "unblock-port25"])
    sim.add_argument("server", nargs="?")
    sim.add_argument("--state", help="state file (default: $CONNECTOR_RUNBOOKS_STATE or "
                     "~/.connector-runbooks/simulated-organization.json)")
    sim.set_defaults(func=cmd_simulator)

    emulator = commands.add_parser("emulator", add_help=False,
                                   help="serve the simulated organization over WinRM/PSRP")
    emulator.add_argument("rest", nargs=argparse.REMAINDER)
    emulator.set_defaults(func=cmd_emulator)
    return parser


def main(argv: list[str] | None = None) -> int:
    args, extra = build_parser().parse_known_args(argv)
    if args.command == "emulator":
        args.rest = extra + list(args.rest)
    elif extra:
        build_parser().error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.verbose:
        # the calls are made in the notebook's kernel, which inherits this and keeps the log
        # beside the record
        os.environ[LOG_LEVEL_ENV] = "INFO"
        logging.getLogger("connector_runbooks").setLevel(logging.INFO)
    try:
        return args.func(args)
    except RunbookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
