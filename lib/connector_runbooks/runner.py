"""Run a runbook notebook headless with papermill, into a change record.

The runner checks the parameters against the notebook's tagged parameters cell before anything
runs, names the record, executes the notebook into the records folder, and makes sure the JSON
summary beside it ends with an outcome: if the notebook failed before it could say so itself,
the runner says ``failed``.
"""

from __future__ import annotations

import ast
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, RunbookError
from .parameters import check_flags, check_no_secrets
from .records import ChangeRecord, load_summary, record_name, records_dir

logger = logging.getLogger(__name__)

#: Environment variable naming the folder that holds the runbook notebooks.
NOTEBOOKS_ENV = "CONNECTOR_RUNBOOKS_NOTEBOOKS"

#: Parameters a runbook takes that name what the run is about, in order of preference.
SUBJECT_PARAMETERS = ("connector", "subject", "servers", "server")

#: Parameters ending so are paths; relative ones are resolved against the parameters file.
PATH_SUFFIXES = ("_file", "_folder", "_path")



@dataclass
class RunResult:
    """Where a run's record is and how it ended."""

    notebook: Path
    summary: Path
    outcome: str
    error: str | None = None

    @property
    def exit_code(self) -> int:
        return 0 if self.outcome in {"planned", "no-op", "applied", "passed"} else 1


def notebooks_dir() -> Path:
    """The folder of runbooks: $CONNECTOR_RUNBOOKS_NOTEBOOKS, else ``notebooks/`` of the
    checkout this package was installed from."""
    configured = os.environ.get(NOTEBOOKS_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "notebooks"


def available_tasks() -> list[str]:
    return sorted(p.stem for p in notebooks_dir().glob("*.ipynb"))


def notebook_for(task: str) -> Path:
    path = notebooks_dir() / f"{task}.ipynb"
    if not path.is_file():
        raise InputError(task, "no runbook of that name", source="task",
                         accepted=", ".join(available_tasks()) or "none found")
    return path


def load_parameters(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML parameters file; errors name the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise InputError(str(path), f"cannot read the parameters file: {error.strerror}",
                         source="--parameters-file") from error
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line = mark.line + 1 if mark is not None else None
        bad = text.splitlines()[mark.line] if mark is not None and text else text
        raise InputError(bad, f"not valid YAML: {error.problem}", source=str(path),
                         line=line) from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(text.strip()[:60], "a parameters file must be a mapping of "
                         "name: value", source=str(path), line=1)
    # A file named in a parameters file is found beside it, wherever the command runs from.
    for name, value in data.items():
        if name.endswith(PATH_SUFFIXES) and isinstance(value, str) and value:
            if os.sep == "/" and "\\" in value and not value.startswith("\\\\"):
                value = value.replace("\\", "/")  # .\list.txt written on Windows
            candidate = Path(value).expanduser()
            if not candidate.is_absolute():
                data[name] = str((path.parent / candidate).resolve())
    return data


def _subject(parameters: dict[str, Any], declared: dict[str, Any]) -> str | None:
    """What the run is about, for the record's name: the first subject parameter given, or
    its default in the notebook."""
    for name in SUBJECT_PARAMETERS:
        value = parameters.get(name)
        if value is None and name in declared:
            try:
                value = ast.literal_eval(declared[name].get("default") or "None")
            except (ValueError, SyntaxError):
                value = None
        if value:
            return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return None


def check_parameters(
    notebook: Path, parameters: dict[str, Any], *, source: str = "parameters"
) -> dict[str, Any]:
    """Refuse unknown names, secrets, and switches that are not true or false, before
    anything runs; return what the notebook declares."""
    import papermill

    check_no_secrets(parameters, source=source)
    declared = papermill.inspect_notebook(str(notebook))
    for name in parameters:
        if name not in declared:
            raise InputError(name, f"{notebook.name} has no such parameter", source=source,
                             accepted=", ".join(sorted(declared)))
    check_flags(parameters, source=source)
    return declared


def run(
    task: str,
    parameters: dict[str, Any] | None = None,
    *,
    apply: bool = False,
    folder: str | os.PathLike[str] | None = None,
    parameters_source: str = "parameters",
) -> RunResult:
    """Execute the runbook ``task`` into the records folder and return where the record is.

    Nothing runs unless the parameters pass every check; whatever happens after that, the
    summary ends with an outcome and the notebook opens with it.
    """
    notebook = notebook_for(task)
    parameters = dict(parameters or {})
    declared = _checked(task, notebook, parameters, apply, parameters_source)

    out_dir = _records_folder(folder or parameters.get("records_dir"))
    subject = _subject(parameters, declared) or task
    name = _reserve_name(out_dir, record_name(task, subject))
    parameters.update(records_dir=str(out_dir), record_name=name)
    output = out_dir / f"{name}.ipynb"
    summary = out_dir / f"{name}.json"

    logger.info("running %s into %s", task, output)
    error = _execute(notebook, output, parameters)
    outcome = _close_summary(summary, error, task, parameters, subject)
    if output.exists():
        _mark_outcome(output, load_summary(summary))
    return RunResult(output, summary, outcome, error)


def _checked(
    task: str, notebook: Path, parameters: dict[str, Any], apply: bool, source: str
) -> dict[str, Any]:
    """Check the parameters, settle ``apply``, and return what the notebook declares."""
    declared = check_parameters(notebook, parameters, source=source)
    if "apply" in declared:
        parameters["apply"] = apply or parameters.get("apply", False)
    elif apply:
        raise InputError("--apply", f"{task} changes nothing, so it has no apply step",
                         source="command line")
    if parameters.get("apply"):
        # A change is made only to what the user named, never to a notebook's default.
        named = [p for p in SUBJECT_PARAMETERS if p in declared]
        if named and not any(parameters.get(p) for p in named):
            raise InputError("--apply", f"name the {named[0]} to change; applying to the "
                             "notebook's default is refused", source=source,
                             accepted=f"-p {named[0]} VALUE, or {named[0]}: in the file")
    return declared


def _records_folder(folder: str | os.PathLike[str] | None) -> Path:
    out_dir = records_dir(folder).resolve()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(str(folder or out_dir), f"cannot be the records folder: "
                         f"{error.strerror}", source="--records",
                         accepted="a folder, existing or not") from error
    return out_dir


def _execute(notebook: Path, output: Path, parameters: dict[str, Any]) -> str | None:
    """Run the notebook with papermill; return the error that stopped it, if any."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(notebook), str(output), parameters=parameters, cwd=os.getcwd(),
            progress_bar=False, log_output=False, kernel_name="python3",
            # The kernel's own start-up and shutdown chatter is not the user's business; a
            # failing cell still reaches the record and the exit code.
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
        )
    except PapermillExecutionError as failure:
        return f"{failure.ename}: {failure.evalue}"
    except Exception as failure:  # the kernel died or the notebook could not be written
        return f"{type(failure).__name__}: {failure}"
    return None


def _close_summary(
    summary: Path, error: str | None, task: str, parameters: dict[str, Any], subject: str
) -> str:
    """Make sure the summary ends with an outcome: if the notebook failed before it could
    say so itself (or never opened its record), say ``failed``. Returns the outcome."""
    data = load_summary(summary) if summary.exists() else None
    outcome = data.get("outcome", "failed") if data is not None else "failed"
    if data is not None and outcome != "running" and (not error or outcome in {"failed",
                                                                              "unknown"}):
        return outcome
    record = ChangeRecord(task, parameters, subject=subject, folder=summary.parent,
                          name=summary.stem)
    if data is not None:
        record.data.update(data)
    record.fail(RunbookError(error or "the notebook ended without closing its record"),
                outcome if outcome in {"failed", "unknown"} else "failed")
    return record.data["outcome"]


def _reserve_name(folder: Path, base: str) -> str:
    """Claim a record name no other run has, by creating its summary exclusively: two runs
    started in the same second must never overwrite each other's record."""
    name, suffix = base, 1
    while True:
        try:
            with open(folder / f"{name}.json", "x", encoding="utf-8") as claim:
                json.dump({"record": name, "outcome": "running"}, claim)
            return name
        except FileExistsError:
            suffix += 1
            name = f"{base}-{suffix}"


def _mark_outcome(notebook: Path, summary: dict[str, Any]) -> None:
    """Put the outcome at the top of the executed notebook, with the failing step if any, so
    whoever opens the change record sees first how it ended."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    failing = None
    heading = None
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("## "):
            heading = cell.source.lstrip()[3:].splitlines()[0].strip()
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            failing = heading
            break
    target = summary.get("target") or "simulated"
    kind = ("the simulated organization" if str(target).startswith("simulated")
            else "a remote endpoint")
    lines = [
        f"**Change record: outcome `{summary.get('outcome')}`**",
        "",
        "| | |",
        "|---|---|",
        f"| task | {summary.get('task')} |",
        f"| subject | {summary.get('subject') or ''} |",
        f"| target | {target} ({kind}) |",
        f"| operator | {summary.get('operator')} |",
        f"| started, finished (UTC) | {summary.get('started')}, {summary.get('finished')} |",
        f"| summary | {notebook.with_suffix('.json').name} |",
    ]
    error = summary.get("error")
    if error:
        lines.append(f"| failed at step | {failing or 'before the first step'} |")
        lines += ["", f"{error.get('type')}:", "", "```", str(error.get("message", "")), "```"]
    cell = nbformat.v4.new_markdown_cell("\n".join(lines), metadata={"tags": ["outcome"]})
    nb.cells.insert(0, cell)
    nbformat.write(nb, notebook)
