"""SMTP protocol logs: reading them, and the lingering-hosts review built on them.

- :func:`read_log` / :func:`parse_log`: one file into an Arrow table, malformed lines reported.
- :func:`read_facts`: log folders into facts per (server, connector, remote address).
- :func:`review_lingering_hosts`: the facts joined with the connectors' configuration.
- :func:`open_log_source`: where the logs come from (``simulated``, ``smb`` or a folder).
"""

from .endpoints import split_endpoint
from .facts import FactsBuilder, LogFacts, read_facts
from .files import LogFile, LogFolder, local_folders
from .names import LogFileName, parse_log_file_name
from .reader import MalformedLine, ParsedLog, parse_log, read_log
from .review import LingeringHostsReview, review_lingering_hosts
from .sources import (
    LocalLogSource,
    LogSource,
    SimulatedLogSource,
    SmbLogSource,
    admin_share_path,
    open_log_source,
)

__all__ = [
    "FactsBuilder",
    "LingeringHostsReview",
    "LocalLogSource",
    "LogFacts",
    "LogFile",
    "LogFileName",
    "LogFolder",
    "LogSource",
    "MalformedLine",
    "ParsedLog",
    "SimulatedLogSource",
    "SmbLogSource",
    "admin_share_path",
    "local_folders",
    "open_log_source",
    "parse_log",
    "parse_log_file_name",
    "read_facts",
    "read_log",
    "review_lingering_hosts",
    "split_endpoint",
]
