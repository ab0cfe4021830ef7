"""Mail-queue health of a Send connector: is mail leaving, or piling up until it expires?

After a source server or a smart host changes, mail routed over the connector can sit in a
Retry queue (for example when a firewall blocks the new server's outbound port 25) and expire
after two days. The check reads ``Get-Queue -Server`` on each source server, keeps the queues
that deliver over the connector, and recognises the errors Exchange writes when it cannot
connect (reference ``exchange-connectors.md`` 6.2 and 6.3). It only reads.

A delivery queue exists only while mail waits for its next hop, so a healthy connector can have
no queue at all: an absent queue is not an error.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import ExchangeError, RunbookError
from .plan import ApplyResult
from .send import (
    SOURCE_TRANSPORT_SERVERS,
    DecommissionPlan,
    DecommissionResult,
    SendConnector,
    SendConnectorPlan,
    find_send_connector,
    read_server_names,
)
from .shell import Shell
from .values import parse_timespan

logger = logging.getLogger(__name__)

#: Exchange's default MessageExpirationTimeout (Set-TransportService), used where a server's own
#: value cannot be read (Edge servers are not listed by Get-TransportService).
DEFAULT_MESSAGE_EXPIRATION = dt.timedelta(days=2)

#: Queues that carry mail for a Send connector (reference 4.7).
CONNECTOR_DELIVERY = frozenset({"DnsConnectorDelivery", "SmartHostConnectorDelivery"})
RELAY_TO_SOURCE_SERVERS = "SmtpRelayToConnectorSourceServers"

#: Statuses in which a queue is not delivering.
STUCK = frozenset({"Retry", "Suspended", "Connecting"})

_LAST_ERROR_PART = re.compile(r"\{(LRT|LED|FQDN|IP)=(.*?)\}(?=;\{|\]\s*$)", re.DOTALL)
_CONNECT_FAILED = re.compile(r"441 4\.4\.1 .*?Failed to connect\. Winsock error code: (\d+)",
                             re.DOTALL)
_RESPONDED = re.compile(r"451 4\.4\.0 .*?responded with: \"(.*?)\.?\"", re.DOTALL)
_UNREACHABLE_REPLY = re.compile(r"Unable to connect|Connection timed out", re.IGNORECASE)
_ENDPOINT = re.compile(r"The last endpoint attempted was (\S+):(\d+)")

#: What the Winsock error codes in a 441 4.4.1 error mean, in words.
WINSOCK_ERRORS = {
    10060: "the connection timed out",
    10061: "the connection was refused",
    10051: "the network is unreachable",
    10065: "there is no route to the host",
}


class QueueCheckFailed(RunbookError):
    """The queue check found mail that is not leaving.

    Args:
        problems: one plain sentence per problem, naming server, host and port.
    """

    def __init__(self, problems: list[str], *, after_applied_change: bool = False) -> None:
        self.problems = list(problems)
        self.after_applied_change = after_applied_change
        # After an applied change the outcome is still "failed", so a scheduler notices; the
        # first words say the change itself went through, so nobody runs it again.
        opening = APPLIED_BUT_QUEUES_FAILED if after_applied_change else "queue check failed:"
        super().__init__(opening + "\n" + "\n".join(f"  - {p}" for p in problems))


APPLIED_BUT_QUEUES_FAILED = "The change was applied and verified, but the queue check failed:"


# ---------------------------------------------------------------------------------------------
# Reading LastError


def parse_last_error(text: str | None) -> dict[str, str]:
    """``[{LRT=..};{LED=..};{FQDN=..};{IP=..}]`` → its keys; plain text → ``{"LED": text}``."""
    if not text:
        return {}
    parts = {key: value.strip() for key, value in _LAST_ERROR_PART.findall(text)}
    return parts or {"LED": text.strip()}


@dataclass
class ConnectionFailure:
    """A queue whose server could not connect to the next hop.

    Args:
        server: the server whose queue it is.
        queue: the queue identity, ``SERVER\\n``.
        host: the host it tried last: its FQDN when Exchange names one, else the address.
        address: the IP address it tried last, when known.
        port: the port it tried, from the last endpoint (or the connector's port).
        reason: what went wrong, in words.
        detail: Exchange's codes for it, for example ``441 4.4.1, Winsock error 10060``.
        failover_failed: Exchange says it tried the alternate hosts too, in vain.
    """

    server: str
    queue: str
    host: str
    address: str
    port: int
    reason: str
    detail: str
    failover_failed: bool = False


def connection_failure(server: str, queue: dict[str, Any], port: int) -> ConnectionFailure | None:
    """The connection failure a queue's LastError shows (reference 6.3), or None.

    Args:
        server: the queue's server.
        queue: the Get-Queue record.
        port: the connector's port, used when LastError does not name the endpoint (older
            builds leave the endpoint out).
    """
    parts = parse_last_error(queue.get("LastError"))
    led = parts.get("LED", "")
    failed = _CONNECT_FAILED.search(led)
    if failed:
        winsock = int(failed.group(1))
        reason = WINSOCK_ERRORS.get(winsock, "the connection failed")
        detail = f"441 4.4.1, Winsock error {winsock}"
    else:
        replied = _RESPONDED.search(led)
        if not replied or not _UNREACHABLE_REPLY.search(replied.group(1)):
            return None
        reason, detail = "the connection failed", f"451 4.4.0, \"{replied.group(1)}\""

    endpoint = _ENDPOINT.search(led)
    address = parts.get("IP", "")
    if endpoint:
        address = address or endpoint.group(1).strip("[]")
        port = int(endpoint.group(2))
    host = parts.get("FQDN") or address or str(queue.get("NextHopDomain", ""))
    return ConnectionFailure(server, str(queue.get("Identity", "")), host, address, port,
                             reason, detail, "Attempted failover" in led)


# ---------------------------------------------------------------------------------------------
# The check


@dataclass
class QueueRow:
    """One queue of a source server that serves the connector, or a server with none.

    Args:
        queue: the queue identity; None when the server has no queue for the connector.
        last_error: the error text (LED) of the last attempt, without the LRT/FQDN/IP keys.
        oldest_message_age: how long the oldest message has waited; None when none waits.
        expires_in: how long until the oldest message expires under the server's
            MessageExpirationTimeout; None when none waits.
        problem: the plain sentence that makes this queue fail the check, if any.
        note: what could not be read about this queue (for example the age of its oldest
            message); it does not fail the check, but the record keeps it.
    """

    server: str
    queue: str | None
    delivery_type: str | None = None
    next_hop: str | None = None
    status: str = "no queue"
    message_count: int = 0
    last_error: str | None = None
    oldest_message_age: dt.timedelta | None = None
    expires_in: dt.timedelta | None = None
    problem: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("oldest_message_age", "expires_in"):
            value = data[name]
            data[name] = None if value is None else value.total_seconds()
        return data


@dataclass
class QueueHealth:
    """What the queues of a connector's servers showed at one moment.

    Args:
        connector: the Send connector checked.
        servers: the servers whose queues were read.
        checked_at: when (UTC).
        expiration: each server's MessageExpirationTimeout.
        rows: one per queue serving the connector, and one per server that has none.
        failures: the connection failures recognised.
        notes: what could not be read for the check as a whole (for example a server's
            MessageExpirationTimeout); each queue's own notes are on its row.
    """

    connector: str
    servers: list[str]
    checked_at: dt.datetime
    expiration: dict[str, dt.timedelta] = field(default_factory=dict)
    rows: list[QueueRow] = field(default_factory=list)
    failures: list[ConnectionFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [row.problem for row in self.rows if row.problem]

    @property
    def all_notes(self) -> list[str]:
        """The check's notes, then each queue's."""
        return list(self.notes) + [row.note for row in self.rows if row.note]

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def verdict(self) -> str:
        # Something unread does not fail the check, but the verdict must not hide it.
        notes = self.all_notes
        unread = f" Not everything could be read: {' '.join(notes)}" if notes else ""
        if self.passed:
            waiting = sum(row.message_count for row in self.rows)
            return (f"Passed: no queue of {', '.join(self.servers) or 'no server'} is stuck "
                    f"delivering over {self.connector} ({waiting} message(s) waiting).{unread}")
        return (f"Failed: {len(self.problems)} queue(s) of {self.connector} are not "
                f"delivering.{unread}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "connector": self.connector,
            "servers": list(self.servers),
            "checked_at": self.checked_at.isoformat(timespec="seconds"),
            "expiration": {s: e.total_seconds() for s, e in self.expiration.items()},
            "rows": [row.to_dict() for row in self.rows],
            "failures": [asdict(f) for f in self.failures],
            "problems": self.problems,
            "notes": self.all_notes,
            "passed": self.passed,
            "verdict": self.verdict,
        }


def check_queues(
    shell: Shell,
    connector: str | SendConnector,
    *,
    servers: str | Iterable[str] | None = None,
    now: dt.datetime | None = None,
) -> QueueHealth:
    """Read the queues that deliver over ``connector`` on its source servers; only reads.

    Args:
        shell: where to read from.
        connector: the Send connector's name, or a read of it.
        servers: the servers to check (default: the connector's source servers), for example
            only the servers a change just added.
        now: the time to measure ages against (default: now, UTC).
    """
    names = [r.value for r in read_server_names(servers, source="parameter servers")]
    target = (connector if isinstance(connector, SendConnector)
              else find_send_connector(shell, connector))
    names = names or list(target.source_transport_servers)
    moment = now or dt.datetime.now(dt.UTC)
    health = QueueHealth(target.identity, names, moment)
    logger.info("checking the queues of %s on %s", target.identity, ", ".join(names))
    health.expiration = _expiration_timeouts(shell, names, health.notes)

    port = int(target.record.get("Port") or 25)
    for server in names:
        try:
            queues = shell.invoke("Get-Queue", Server=server)
        except ExchangeError as error:
            health.rows.append(QueueRow(
                server, None, status="unreadable",
                problem=f"The queues of {server} could not be read: {error.message}"))
            continue
        serving = [q for q in queues if _serves(q, target)]
        if not serving:
            # a delivery queue disappears once it has stayed empty: nothing waits
            health.rows.append(QueueRow(server, None))
        for queue in serving:
            health.rows.append(_row(shell, health, target, server, queue, port))
    return health


def raise_if_failed(*checks: QueueHealth, after: Any = None) -> None:
    """Make a run fail (and a scheduled one exit non-zero) when mail is not leaving.

    Args:
        checks: the queue checks made.
        after: the apply result the checks follow, if any; when its outcome is ``applied``
            (every applied step was verified), the error says the change went through.
    """
    problems = [problem for health in checks for problem in health.problems]
    if problems:
        applied = after is not None and getattr(after, "outcome", None) == "applied"
        raise QueueCheckFailed(problems, after_applied_change=applied)


def check_after_apply(
    shell: Shell,
    plan: SendConnectorPlan | DecommissionPlan,
    result: ApplyResult | DecommissionResult | None,
) -> list[QueueHealth]:
    """The queue checks an applied change calls for, one per connector; only reads.

    Added source servers have their queues checked on the connector they joined; added smart
    hosts have every source server of the connector checked. Nothing is checked when nothing
    was applied or nothing was added.
    """
    if result is None:
        return []
    if isinstance(plan, DecommissionPlan) and isinstance(result, DecommissionResult):
        pairs = [(step, result.steps.get(step.identity)) for step in plan.steps]
    elif isinstance(plan, SendConnectorPlan) and isinstance(result, ApplyResult):
        pairs = [(plan, result)]
    else:
        raise TypeError(f"a {type(result).__name__} does not belong to a "
                        f"{type(plan).__name__}")
    checks = []
    for step, applied in pairs:
        if applied is None or applied.outcome != "applied" or not step.add:
            continue
        servers = step.add if step.property_name == SOURCE_TRANSPORT_SERVERS else None
        checks.append(check_queues(shell, step.identity, servers=servers))
    return checks


def _serves(queue: dict[str, Any], connector: SendConnector) -> bool:
    if str(queue.get("DeliveryType")) == RELAY_TO_SOURCE_SERVERS:
        return str(queue.get("NextHopDomain", "")).lower() == connector.identity.lower()
    return (str(queue.get("DeliveryType")) in CONNECTOR_DELIVERY
            and str(queue.get("NextHopConnector", "")).lower() == connector.guid.lower())


def _expiration_timeouts(shell: Shell, servers: list[str],
                         notes: list[str]) -> dict[str, dt.timedelta]:
    """Each server's MessageExpirationTimeout; two days where it cannot be read.

    Args:
        notes: gets a sentence for each value that is there but cannot be read.
    """
    configured = {}
    for service in shell.invoke("Get-TransportService"):
        name = str(service.get("Name") or service.get("Identity", ""))
        value = service.get("MessageExpirationTimeout")
        try:
            timeout = parse_timespan(value)
        except ValueError:
            note = (f"The MessageExpirationTimeout of {name} ({value!r}) is not a time span; "
                    f"the default of {duration_text(DEFAULT_MESSAGE_EXPIRATION)} is assumed.")
            logger.warning("%s", note)
            notes.append(note)
            continue
        if timeout is not None:
            configured[name.lower()] = timeout
    return {s: configured.get(s.lower(), DEFAULT_MESSAGE_EXPIRATION) for s in servers}


def _row(shell: Shell, health: QueueHealth, connector: SendConnector, server: str,
         queue: dict[str, Any], port: int) -> QueueRow:
    count = int(queue.get("MessageCount") or 0)
    row = QueueRow(
        server=server,
        queue=str(queue.get("Identity", "")),
        delivery_type=str(queue.get("DeliveryType", "")),
        next_hop=str(queue.get("NextHopDomain", "")),
        status=str(queue.get("Status", "")),
        message_count=count,
        last_error=parse_last_error(queue.get("LastError")).get("LED"),
    )
    oldest, row.note = _oldest_message(shell, queue) if count else (None, None)
    if oldest is not None:
        row.oldest_message_age = max(health.checked_at - oldest, dt.timedelta(0))
        row.expires_in = health.expiration[server] - row.oldest_message_age

    if row.status not in STUCK:
        return row
    failure = connection_failure(server, queue, port)
    if failure is not None:
        health.failures.append(failure)
        row.problem = _unreachable_sentence(failure, connector, row)
    elif count:
        row.problem = (f"{row.queue} ({server}, over {connector.identity}) is in {row.status} "
                       f"with {count} message(s){_waiting(row)}: {row.last_error or 'no error'}")
    return row


def _unreachable_sentence(failure: ConnectionFailure, connector: SendConnector,
                          row: QueueRow) -> str:
    """``EX03 cannot reach smtp1.relay.example.net (203.0.113.10) on port 25: ...``."""
    target = failure.host
    if failure.address and failure.address != failure.host:
        target += f" ({failure.address})"
    sentence = (f"{failure.server} cannot reach {target} on port {failure.port}: "
                f"{failure.reason} ({failure.detail})")
    others = [h for h in connector.smart_hosts if h.strip("[]") not in (failure.host,
                                                                          failure.address)]
    if failure.failover_failed and others and row.delivery_type == "SmartHostConnectorDelivery":
        sentence += f", and failover to {', '.join(others)} failed too"
    sentence += (f". {row.message_count} message(s) for {connector.identity} wait in "
                 f"{failure.queue}{_waiting(row)}.")
    if failure.port == 25:
        sentence += (f" Check that no firewall or antivirus product blocks outbound port 25 on "
                     f"{failure.server}.")
    return sentence


def _waiting(row: QueueRow) -> str:
    if row.oldest_message_age is None or row.expires_in is None:
        return ""
    if row.expires_in <= dt.timedelta(0):
        return f", the oldest for {duration_text(row.oldest_message_age)}, already expiring"
    return (f", the oldest for {duration_text(row.oldest_message_age)}; it expires in "
            f"{duration_text(row.expires_in)}")


def _oldest_message(shell: Shell, queue: dict[str, Any]
                    ) -> tuple[dt.datetime | None, str | None]:
    """When the oldest waiting message arrived, or why that is unknown.

    The simulated organization states it on the queue (``OldestMessageReceived``); a real
    server tells it through Get-Message, sorted by arrival, first message only.

    Returns:
        The arrival time (None when unknown) and, when it could not be read, a sentence
        saying why.
    """
    identity = str(queue.get("Identity", ""))
    if "OldestMessageReceived" in queue:
        value = queue["OldestMessageReceived"]
    else:
        try:
            messages = shell.invoke("Get-Message", Queue=identity, SortOrder="+DateReceived",
                                    ResultSize=1)
        except ExchangeError as error:
            note = (f"The messages of {identity} could not be read ({error.message}); the age "
                    f"of its oldest message is unknown.")
            logger.warning("%s", note)
            return None, note
        value = messages[0].get("DateReceived") if messages else None
    try:
        return parse_time(value), None
    except ValueError:
        note = (f"The oldest message of {identity} arrived at {value!r}, which is not a date "
                f"and time; its age is unknown.")
        logger.warning("%s", note)
        return None, note


# ---------------------------------------------------------------------------------------------
# Times as Exchange writes them

def parse_time(value: Any) -> dt.datetime | None:
    """A datetime or ISO-8601 text as an aware UTC datetime; None when absent.

    Raises:
        ValueError: the text is not ISO 8601.
    """
    if value is None or value == "":
        return None
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def duration_text(span: dt.timedelta) -> str:
    """``1 d 21 h``, ``3 h 05 min``, ``12 min``: as precise as a person needs."""
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"
