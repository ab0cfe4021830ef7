"""Tables, texts and a plot that show a lingering-hosts review in a notebook.

The executed notebook is the record of the review, so tables are shown whole: every row and
every character of every cell (:func:`show_table`), never pandas' shortened view.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..display import show
from .review import (
    ENTRY_ACTIVE,
    ENTRY_KEPT,
    ENTRY_SILENT,
    LingeringHostsReview,
    duration_text,
)

_LIST_COLUMNS = ("hosts", "ehlo_names", "tls_versions", "users", "tried_users", "in_entries",
                 "versions", "other_type_files", "unreadable_files", "unrecognised_names")


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists as comma-separated text and times to the second, for display only."""
    shown = frame.copy()
    for column in shown.columns:
        if column in _LIST_COLUMNS:
            shown[column] = shown[column].map(
                lambda v: ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
        elif pd.api.types.is_datetime64_any_dtype(shown[column]) or any(
                hasattr(v, "strftime") for v in shown[column]):
            shown[column] = shown[column].map(
                lambda v: v.strftime("%Y-%m-%d %H:%M:%S") if hasattr(v, "strftime")
                and not pd.isna(v) else "")
    return shown


def show_table(frame: pd.DataFrame) -> None:
    """Display a table whole: all rows, all columns, no cell text cut short.

    Args:
        frame: the table, usually from one of the ``*_table`` functions here.
    """
    with pd.option_context("display.max_rows", None, "display.min_rows", None,
                           "display.max_columns", None, "display.max_colwidth", None,
                           "display.width", None):
        show(frame)


def show_warnings(review: LingeringHostsReview) -> None:
    """Each warning as a line to read before acting on the results."""
    if not review.warnings:
        show("No warnings: the logs cover the period asked and every connector logs.")
        return
    show("**Read before acting:**\n\n" + "\n".join(f"- {w}" for w in review.warnings))


def coverage_table(review: LingeringHostsReview) -> pd.DataFrame:
    """Per log folder: what was read and the time it covers."""
    columns = ["server", "folder", "role", "files", "bytes", "first_line", "last_line",
               "covered_from", "covered_until", "overlap", "malformed_lines",
               "duplicate_lines", "other_type_files", "versions"]
    return _readable(review.coverage[[c for c in columns if c in review.coverage]])


def connectors_table(review: LingeringHostsReview) -> pd.DataFrame:
    """Per connector: logging level, status and how many entries are active or silent."""
    return _readable(review.connectors)


def entries_table(review: LingeringHostsReview, connector: str | None = None) -> pd.DataFrame:
    """Per RemoteIPRanges entry: active (with its hosts) or silent.

    Args:
        connector: only this connector's entries (an identity); all when None.
    """
    entries = review.entries
    if connector is not None:
        entries = entries[entries["connector"].str.lower() == connector.lower()]
    return _readable(entries)


def hosts_table(review: LingeringHostsReview) -> pd.DataFrame:
    """Per (connector, remote address): sessions, names, TLS, logons, recipients."""
    columns = ["connector", "remote_address", "sessions", "first_seen", "last_seen",
               "ehlo_names", "tls_sessions", "tls_versions", "users", "anonymous_sessions",
               "recipients_accepted", "recipients_refused", "messages_queued", "tarpits",
               "logon_failures", "in_entries", "exchange_server"]
    return _readable(review.hosts[columns])


def removal_text(review: LingeringHostsReview) -> str:
    """The silent entries, ready for the relay IP ranges runbook's ``remove`` parameter."""
    parts = []
    for connector, silent in review.removal_candidates.items():
        if not silent:
            continue
        lines = "\n".join(f"  - {entry}" for entry in silent)
        parts.append(f"```yaml\n# receive-connector-ip-ranges\nconnector: {connector}\n"
                     f"remove:\n{lines}\n```")
    if not parts:
        return ("No entry to offer for removal: an entry is offered only when its connector "
                "logs and the logs cover the whole period, and no host inside it was seen.")
    return ("Silent entries, as input for the relay IP ranges runbook (plan first, and check "
            "with the owners of these addresses):\n\n" + "\n\n".join(parts))


def plot_sessions_per_day(review: LingeringHostsReview, *, connector: str | None = None,
                          top: int = 40) -> Any:
    """A heat map of sessions per day, one row per host, most active hosts first.

    A monthly job shows as a single mark; a device that stopped sending shows where its row
    ends. Days without a session are blank.

    Args:
        connector: only this connector's hosts; all reviewed connectors when None.
        top: at most this many hosts (by sessions).

    Returns:
        The matplotlib figure, or None when there is nothing to plot.
    """
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import LogNorm

    daily = review.daily
    if connector is not None:
        daily = daily[daily["connector"].str.lower() == connector.lower()]
    if daily.empty:
        show("No sessions to plot.")
        return None
    labels = daily["remote_address"] + "  " + daily["connector"].str.rpartition("\\")[2]
    table = daily.assign(host=labels).pivot_table(index="host", columns="day",
                                                  values="sessions", aggfunc="sum")
    total = len(table)
    order = table.sum(axis=1).sort_values(ascending=False).index[:top]
    table = table.loc[order]
    days = pd.date_range(review.start.date(), review.end.date(), freq="D").date
    table = table.reindex(columns=days)

    height = max(2.5, 0.28 * len(table) + 1.2)
    figure, axes = plt.subplots(figsize=(12, height))
    values = table.to_numpy(dtype=float)
    # A log scale keeps a device with one session a day visible next to a busy gateway.
    image = axes.imshow(np.ma.masked_invalid(values), aspect="auto", cmap="viridis",
                        interpolation="nearest",
                        norm=LogNorm(vmin=1, vmax=max(2.0, float(np.nanmax(values)))))
    axes.set_yticks(range(len(table)), labels=list(table.index), fontsize=8)
    step = max(1, len(days) // 15)
    axes.set_xticks(range(0, len(days), step),
                    labels=[d.strftime("%m-%d") for d in days[::step]], fontsize=8)
    axes.set_xlabel("day (UTC)")
    shown = f"all {total} hosts" if len(table) == total else \
        f"the {len(table)} most active of {total} hosts"
    axes.set_title(f"Sessions per day per host ({shown})")
    figure.colorbar(image, ax=axes, label="sessions")
    figure.tight_layout()
    return figure


def summary_text(review: LingeringHostsReview) -> str:
    """One paragraph: what was reviewed and what came out."""
    states = review.entries["state"]
    counts = [f"{int((states == ENTRY_ACTIVE).sum())} active",
              f"{int((states == ENTRY_SILENT).sum())} silent (offered for removal)"]
    kept = int((states == ENTRY_KEPT).sum())
    if kept:
        counts.append(f"{kept} silent but kept (connectors Exchange setup creates, or entries "
                      f"for every address)")
    unknown = int(states.str.startswith("unknown").sum())
    if unknown:
        counts.append(f"{unknown} unknown (no logs of the whole period, or logging off)")
    no_data = int(review.connectors["status"].str.startswith("no data").sum())
    return (f"Reviewed {len(review.connectors)} connector(s) on {', '.join(review.servers)} over "
            f"{duration_text(review.end - review.start)} ({review.start:%Y-%m-%d %H:%M} to "
            f"{review.end:%Y-%m-%d %H:%M} UTC) from {review.log_source}: "
            f"{review.lines_read:,} log line(s) of the period read, {len(review.hosts)} host(s) "
            f"seen; entries: {', '.join(counts)}."
            + (f" {no_data} connector(s) have no data." if no_data else ""))
