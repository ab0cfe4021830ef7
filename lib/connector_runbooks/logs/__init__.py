"""SMTP protocol logs: reading them, and the facts the lingering-hosts review is built on."""

from .endpoints import split_endpoint
from .facts import FactsBuilder, LogFacts, read_facts
from .files import LogFile, LogFolder, local_folders
from .names import LogFileName, parse_log_file_name
from .reader import MalformedLine, ParsedLog, parse_log, read_log

__all__ = [
    "FactsBuilder",
    "LogFacts",
    "LogFile",
    "LogFileName",
    "LogFolder",
    "MalformedLine",
    "ParsedLog",
    "local_folders",
    "parse_log",
    "parse_log_file_name",
    "read_facts",
    "read_log",
    "split_endpoint",
]
