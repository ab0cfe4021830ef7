"""Tables, texts and a plot that show a lingering-hosts review in a notebook."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..display import show
from .review import ENTRY_ACTIVE, ENTRY_SILENT, LingeringHostsReview

_LIST_COLUMNS = ("hosts", "ehlo_names", "tls_versions", "users", "tried_users", "in_entries",
                 "versions")


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists as comma-separated text and times to the second, for display only."""
    shown = frame.copy()
    for column in shown.columns:
        if column in _LIST_COLUMNS:
            shown[column] = shown[column].map(
                lambda v: ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
        elif pd.api.types.is_datetime64_any_dtype(shown[column]) or shown[column].map(
                lambda v: hasattr(v, "strftime")).any():
            shown[column] = shown[column].map(
                lambda v: v.strftime("%Y-%m-%d %H:%M:%S") if hasattr(v, "strftime")
                and not pd.isna(v) else "")
    return shown


def show_warnings(review: LingeringHostsReview) -> None:
    """Each warning as a line to read before acting on the results."""
    if not review.warnings:
        show("No warnings: the logs cover the period asked and every connector logs.")
        return
    show("**Read before acting:**\n\n" + "\n".join(f"- {w}" for w in review.warnings))


def coverage_table(review: LingeringHostsReview) -> pd.DataFrame:
    """Per log folder: what was read and the time it covers."""
    columns = ["server", "folder", "files", "bytes", "covered_from", "last_line",
               "covers_period", "malformed_lines", "versions"]
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
        return "No silent entries: nothing to offer for removal."
    caution = ("" if all(review.covers_period.values()) else
               "\n\n**The logs cover less than the period asked; these entries are not proven "
               "unused.**")
    return ("Silent entries, as input for the relay IP ranges runbook (plan first, and check "
            "with the owners of these addresses):\n\n" + "\n\n".join(parts) + caution)


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
    entries = review.entries
    active = int((entries["state"] == ENTRY_ACTIVE).sum())
    silent = int((entries["state"] == ENTRY_SILENT).sum())
    return (f"Reviewed {len(review.connectors)} connector(s) on {', '.join(review.servers)} over "
            f"{review.days:g} day(s) ({review.start:%Y-%m-%d %H:%M} to "
            f"{review.end:%Y-%m-%d %H:%M} UTC) from {review.log_source}: "
            f"{len(review.hosts)} host(s) seen, {active} entr{'y' if active == 1 else 'ies'} "
            f"active, {silent} silent.")
