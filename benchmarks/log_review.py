"""Throughput and peak memory of the lingering-hosts review, against a plain pandas pipeline.

Generates a chosen volume of realistic front-end receive logs (the simulator's generator, hour
files of up to 10 MB, many devices relaying, refusals, TLS and logons), then runs, each in a
fresh process so that peak memory is honest:

- ``review``: the library's review end to end: list the folder, read and parse every file,
  count sessions and facts per host, join with the connectors' RemoteIPRanges;
- ``pandas``: a plain pipeline: each file read with ``pandas.read_csv`` after dropping its
  ``#`` lines (``comment="#"`` would cut fields that contain a ``#``), the same facts counted
  with pandas per file, sessions made distinct with a set.

The review is asked about the period the generated logs cover, so every entry is judged
(active or silent) as in a real review.

Usage::

    python benchmarks/log_review.py                  # 1 GB
    python benchmarks/log_review.py --megabytes 2048 # the 2 GB target run
    python benchmarks/log_review.py --folder /path/to/EX01-logs --skip-pandas

The default volume is large enough that the fixed costs of a run (listing the folder, the
thread pool, building the tables at the end: some 50 ms) stay small beside the reading; at
200 MB they made a tenth of the figure. Peak memory is the child's maximum resident set size
(``ru_maxrss``), interpreter and libraries included. Other work on the machine takes CPU from
both pipelines: the load average is printed before and after the runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SERVER = "EX01"
RELAY = "EX01\\Relay Scanners"
DEFAULT = "EX01\\Default Frontend EX01"
NEEDED = ["date-time", "connector-id", "session-id", "remote-endpoint", "event", "data",
          "context"]


def volume_hosts() -> tuple[Any, list[str]]:
    """Enough devices to write a few MB per hour, and the relay connector's entries."""
    from connector_runbooks.simulated.protocol_logs import SimulatedHost

    hosts = []
    entries = []
    kinds = ("relay", "inbound", "refused", "authenticated", "failed-login")
    for number in range(400):
        address = f"10.{20 + number // 250}.{number % 250}.{number % 7 + 5}"
        on_relay = number % 3 != 0
        kind = "relay" if on_relay else kinds[number % 5]
        hosts.append(SimulatedHost(
            address, f"device{number}.corp.example.com", RELAY if on_relay else DEFAULT,
            kind=kind, sessions_per_day=40, tls=number % 4 == 0, hours=(0, 24),
            user="CORP\\svc-app" if kind in ("authenticated", "failed-login") else None,
            recipients=("helpdesk@corp.example.com", "reports@partner.example.org")))
        if on_relay:
            entries.append(address)
    entries += [f"10.99.0.{n}" for n in range(1, 40)]  # silent entries
    return tuple(hosts), entries


def generate(folder: Path, megabytes: float) -> None:
    from connector_runbooks.simulated.protocol_logs import SimulatedServer, write_receive_logs

    hosts, _ = volume_hosts()
    server = SimulatedServer(SERVER, "ex01.corp.example.com", ("10.0.1.11",), hosts=hosts)
    started = time.perf_counter()
    write_receive_logs(folder / SERVER, server, end=dt.date(2024, 6, 1), days=3000,
                       stop_after_bytes=int(megabytes * 1024 * 1024))
    print(f"generated {folder_size(folder) / 2**20:,.0f} MB in "
          f"{time.perf_counter() - started:.0f} s into {folder}", flush=True)


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def log_span(folder: Path) -> tuple[dt.datetime, dt.datetime]:
    """From the hour of the oldest log file to the end of the hour of the newest, by name."""
    from connector_runbooks.logs.names import parse_log_file_name

    started = [parsed.started for path in (folder / SERVER).rglob("*")
               if (parsed := parse_log_file_name(path.name)) is not None]
    return min(started), max(started) + dt.timedelta(hours=1)


# ---------------------------------------------------------------------------------------------
# The two pipelines, each run in a child process


def run_review(folder: Path, workers: int | None) -> dict[str, Any]:
    from connector_runbooks.logs.review import review_lingering_hosts
    from connector_runbooks.shell import Shell

    _, entries = volume_hosts()

    class BenchShell(Shell):
        transport = "benchmark"

        def _invoke(self, cmdlet: str, parameters: dict[str, Any]):
            if cmdlet == "Get-ReceiveConnector":
                return [{"Identity": RELAY, "Server": SERVER, "Name": "Relay Scanners",
                         "TransportRole": "FrontendTransport", "RemoteIPRanges": entries,
                         "ProtocolLoggingLevel": "Verbose"},
                        {"Identity": DEFAULT, "Server": SERVER, "Name": "Default Frontend EX01",
                         "TransportRole": "FrontendTransport",
                         "RemoteIPRanges": ["0.0.0.0-255.255.255.255"],
                         "ProtocolLoggingLevel": "Verbose"}], []
            if cmdlet == "Get-ExchangeServer":
                return [{"Name": SERVER, "Fqdn": "ex01.corp.example.com",
                         "IPAddresses": ["10.0.1.11"]}], []
            return [{"Identity": SERVER, "ReceiveProtocolLogMaxAge": "30.00:00:00",
                     "ReceiveProtocolLogMaxDirectorySize": None}], []

    start, end = log_span(folder)
    review = review_lingering_hosts(BenchShell(), [SERVER], days=(end - start) / dt.timedelta(
        days=1), log_source=str(folder), end=end, workers=workers)
    return {"hosts": len(review.hosts), "sessions": int(review.hosts["sessions"].sum()),
            "refused": int(review.hosts["recipients_refused"].sum()),
            "silent_entries": len(review.removal_candidates.get(RELAY, []))}


def run_pandas(folder: Path) -> dict[str, Any]:
    import pandas as pd
    from connector_runbooks.logs.files import local_folders

    sessions: set[tuple[str, str, str]] = set()
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for log_folder in local_folders(SERVER, folder / SERVER):
        for log_file in log_folder.files:
            text = log_file.read().decode("utf-8", "replace")
            fields = NEEDED
            body = []
            for line in text.splitlines():
                if line.startswith("#Fields:"):
                    fields = line[len("#Fields:"):].strip().split(",")
                elif line and not line.startswith("#"):
                    body.append(line)
            frame = pd.read_csv(io.StringIO("\n".join(body)), names=fields, usecols=NEEDED,
                                dtype=str, keep_default_na=False)
            if frame.empty:
                continue
            frame["when"] = pd.to_datetime(frame["date-time"], utc=True, format="ISO8601")
            frame["ip"] = frame["remote-endpoint"].str.rsplit(":", n=1).str[0].str.strip("[]")
            sent = frame["event"] == ">"
            frame["accepted"] = sent & frame["data"].str.startswith("250 2.1.5")
            frame["refused"] = sent & frame["data"].str.match(
                r"(550 5\.7\.54|550 5\.7\.1|530 5\.7\.1) ")
            frame["queued"] = sent & frame["data"].str.startswith("250 2.6.0")
            frame["tarpit"] = (frame["event"] == "*") & frame["data"].str.startswith("Tarpit for")
            sessions.update(zip(frame["connector-id"], frame["ip"], frame["session-id"]))
            grouped = frame.groupby(["connector-id", "ip"]).agg(
                first=("when", "min"), last=("when", "max"), accepted=("accepted", "sum"),
                refused=("refused", "sum"), queued=("queued", "sum"), tarpits=("tarpit", "sum"))
            for key, row in grouped.iterrows():
                total = totals.setdefault(key, {"first": row["first"], "last": row["last"],
                                                "accepted": 0, "refused": 0, "queued": 0,
                                                "tarpits": 0})
                total["first"] = min(total["first"], row["first"])
                total["last"] = max(total["last"], row["last"])
                for name in ("accepted", "refused", "queued", "tarpits"):
                    total[name] += int(row[name])
    return {"hosts": len(totals), "sessions": len(sessions),
            "refused": sum(t["refused"] for t in totals.values())}


def child(pipeline: str, folder: Path, workers: int | None) -> None:
    # The libraries are loaded before the clock starts: the figure is the work on the logs.
    for module in ("pandas", "pyarrow.csv", "connector_runbooks.logs.review"):
        importlib.import_module(module)

    started = time.perf_counter()
    cpu = os.times()
    result = run_review(folder, workers) if pipeline == "review" else run_pandas(folder)
    result["seconds"] = time.perf_counter() - started
    done = os.times()
    result["cpu_seconds"] = done.user + done.system - cpu.user - cpu.system
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def measure(pipeline: str, folder: Path, workers: int | None) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", pipeline, "--folder", str(folder)]
    if workers:
        command += ["--workers", str(workers)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=float, default=1024,
                        help="volume of logs to generate (default 1024)")
    parser.add_argument("--folder", type=Path,
                        help="use logs already here (<folder>/EX01/...) instead of generating")
    parser.add_argument("--keep", action="store_true", help="keep the generated logs")
    parser.add_argument("--skip-pandas", action="store_true", help="time only the review")
    parser.add_argument("--workers", type=int, help="reading threads of the review")
    parser.add_argument("--child", choices=("review", "pandas"), help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.child:
        child(options.child, options.folder, options.workers)
        return

    folder = options.folder
    generated = folder is None
    if generated:
        folder = Path(tempfile.mkdtemp(prefix="log-review-benchmark-"))
        generate(folder, options.megabytes)
    try:
        size = folder_size(folder)
        mb = size / 2**20
        files = sum(1 for p in folder.rglob("*") if p.is_file())
        load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
        print(f"logs: {mb:,.0f} MB in {files} files; {os.cpu_count()} CPU(s); load average "
              f"before the runs {load}", flush=True)
        results = {"review": measure("review", folder, options.workers)}
        if not options.skip_pandas:
            results["pandas"] = measure("pandas", folder, None)
        print(f"{'pipeline':<10}{'seconds':>9}{'MB/s':>8}{'CPU s':>8}{'MB/CPU-s':>10}"
              f"{'peak RSS MB':>13}{'hosts':>7}{'sessions':>10}")
        for name, result in results.items():
            print(f"{name:<10}{result['seconds']:>9.2f}{mb / result['seconds']:>8.0f}"
                  f"{result['cpu_seconds']:>8.2f}{mb / result['cpu_seconds']:>10.0f}"
                  f"{result['peak_rss_mb']:>13.0f}{result['hosts']:>7}{result['sessions']:>10}")
        if "pandas" in results:
            speedup = results["pandas"]["seconds"] / results["review"]["seconds"]
            print(f"review is {speedup:.1f}x the plain pandas pipeline")
        print(f"silent entries found: {results['review']['silent_entries']}; load average "
              f"after the runs {', '.join(f'{value:.2f}' for value in os.getloadavg())}")
    finally:
        if generated and not options.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
