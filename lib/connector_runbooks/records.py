"""Change records: where they go, what they are called, and the JSON summary beside them.

A run of a runbook leaves two files in the records folder under one name made of the time, the
task and the connector: the executed notebook (written by papermill) and a JSON summary with the
parameters, operator, target, plan, transcript, verification and outcome. The summary is saved
after every step, so a run that fails halfway still says how far it got and that it failed.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import json
import logging
import os
import re
import socket
import time
from pathlib import Path
from typing import Any

from .parameters import check_flags, check_no_secrets
from .shell import Shell, redact

logger = logging.getLogger(__name__)

DEFAULT_RECORDS_DIR = "records"
RECORDS_ENV = "CONNECTOR_RUNBOOKS_RECORDS"

#: When set (INFO, DEBUG), the library's log of a run is kept beside its record as NAME.log.
LOG_LEVEL_ENV = "CONNECTOR_RUNBOOKS_LOG_LEVEL"

#: Outcomes a record can end with.
OUTCOMES = ("running", "planned", "no-op", "applied", "unknown", "failed", "passed")


def records_dir(value: str | os.PathLike[str] | None = None) -> Path:
    """The records folder: the parameter, else $CONNECTOR_RUNBOOKS_RECORDS, else ``records``."""
    return Path(value or os.environ.get(RECORDS_ENV) or DEFAULT_RECORDS_DIR)


def slug(text: str) -> str:
    """A file-name-safe form of an identity: ``EX01\\Relay Scanners`` → ``EX01-Relay-Scanners``."""
    cleaned = re.sub(r"[^A-Za-z0-9._]+", "-", text or "").strip("-.")
    return cleaned[:80] or "organization"


def record_name(task: str, subject: str | None = None,
                when: _dt.datetime | None = None) -> str:
    """``20261203T190512Z_receive-connector-ip-ranges_EX02-Relay-Scanners``."""
    stamp = (when or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}_{task}_{slug(subject or '')}"


def operator() -> str:
    """Who ran the change, as the operating system knows them, and from where."""
    try:
        user = getpass.getuser()
    except Exception:  # getuser raises several types when no name can be found
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return _jsonable(value.to_dict())
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    return str(value)


class ChangeRecord:
    """The JSON summary of one run, saved after each step.

    Args:
        task: the runbook, for example ``receive-connector-ip-ranges``.
        parameters: the run's parameters; secret-looking names are redacted.
        subject: what the run changes or reviews (a connector identity), for the name.
        folder: the records folder.
        name: the record's base name; the runner passes the one it gave the notebook.
        target: where the run connected.
    """

    def __init__(
        self,
        task: str,
        parameters: dict[str, Any],
        *,
        subject: str | None = None,
        folder: str | os.PathLike[str] | None = None,
        name: str | None = None,
        target: str | None = None,
    ) -> None:
        check_flags(parameters)
        check_no_secrets(parameters)
        self.folder = records_dir(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.name = name or record_name(task, subject)
        self.path = self.folder / f"{self.name}.json"
        self._keep_log()
        self.shells: list[Shell] = []
        self.data: dict[str, Any] = {
            "task": task,
            "subject": subject,
            "record": self.name,
            "operator": operator(),
            "target": target,
            "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "finished": None,
            "parameters": redact(dict(parameters)),
            "outcome": "running",
            "steps": [],
            "plan": None,
            "apply": None,
            "verification": None,
            "results": {},
            "warnings": [],
            "error": None,
            "transcript": None,
        }
        self.save()

    def _keep_log(self) -> None:
        self._log_handler: logging.Handler | None = None
        level = os.environ.get(LOG_LEVEL_ENV, "").upper()
        if not level:
            return
        handler = logging.FileHandler(self.folder / f"{self.name}.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        library = logging.getLogger("connector_runbooks")
        library.addHandler(handler)
        library.setLevel(level)
        self._log_handler = handler

    def _close(self) -> None:
        """Release what the run holds: its sessions (a runspace pool left open counts against
        the user's session limit on Exchange) and its log file."""
        for shell in self.shells:
            try:
                shell.close()
            except Exception as error:  # closing is best effort; the outcome is already kept
                logger.warning("closing the %s session failed: %s", shell.transport, error)
        if self._log_handler is not None:
            logging.getLogger("connector_runbooks").removeHandler(self._log_handler)
            self._log_handler.close()
            self._log_handler = None

    # -- steps ------------------------------------------------------------------------------

    def attach(self, shell: Shell) -> Shell:
        """Keep ``shell``'s transcript in the record."""
        self.shells.append(shell)
        self.save()
        return shell

    def step(self, name: str, **facts: Any) -> None:
        """Note that a step finished, with any facts worth keeping."""
        self.data["steps"].append({"step": name, **_jsonable(facts)})
        self.save()

    def set(self, key: str, value: Any) -> None:
        """Store a result (plan, apply, verification or a named result) and save."""
        if key in self.data and key not in {"task", "record", "operator", "started"}:
            self.data[key] = _jsonable(value)
        else:
            self.data["results"][key] = _jsonable(value)
        self.save()

    def warn(self, text: str) -> None:
        self.data["warnings"].append(text)
        self.save()

    def finish(self, outcome: str) -> None:
        """Close the record with ``outcome`` (one of :data:`OUTCOMES`)."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        self.data["outcome"] = outcome
        self.data["finished"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self.save()
        logger.info("record %s: %s", self.path, outcome)
        self._close()

    def fail(self, error: BaseException, outcome: str = "failed") -> None:
        """Close the record as failed (or ``unknown``), keeping the error's text and type."""
        self.data["error"] = {"type": type(error).__name__, "message": str(error)}
        if hasattr(error, "to_dict"):
            self.data["error"]["details"] = _jsonable(error)
        evidence = getattr(error, "reread", None) or getattr(error, "verification", None)
        if evidence is not None:
            # the write was sent: what was read back afterwards is the best evidence
            self.data["verification"] = _jsonable(evidence)
        self.finish(outcome)

    # -- files ------------------------------------------------------------------------------

    def save(self) -> None:
        if self.shells:
            transcripts = [s.transcript.to_dict() for s in self.shells]
            self.data["transcript"] = transcripts[0] if len(transcripts) == 1 else transcripts
        text = json.dumps(self.data, indent=2, ensure_ascii=False)
        temporary = self.path.with_suffix(".json.tmp")
        temporary.write_text(text, encoding="utf-8")
        replace_file(temporary, self.path)

    def fail_on_cell_error(self) -> None:
        """In a notebook, close the record as failed as soon as a cell raises.

        Papermill stops at the first failing cell; without this hook a run that fails
        halfway would leave a summary that still says ``running``.
        """
        try:
            from IPython import get_ipython
        except ImportError:
            return
        ip = get_ipython()
        if ip is None:
            return

        def on_cell(result: Any) -> None:
            error = result.error_in_exec or result.error_before_exec
            if error is not None and self.data["outcome"] == "running":
                self.fail(error, "unknown" if type(error).__name__ == "OutcomeUnknown"
                          else "failed")

        ip.events.register("post_run_cell", on_cell)


def replace_file(source: Path, target: Path, attempts: int = 6) -> None:
    """``os.replace``, retried for a moment: on Windows a virus scanner, the search indexer or
    a sync client may hold the target open, and the replace fails until it lets go."""
    for attempt in range(attempts):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * 2**attempt)


def load_summary(path: str | os.PathLike[str]) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))
