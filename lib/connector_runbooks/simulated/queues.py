"""Get-Queue: the queues of a server, and what a blocked port 25 does to them.

Queues follow reference sections 4.7 and 6. For every Send connector a server is a source
server of:

- when the organization marks the server as unable to reach port 25
  (``Organization.set_port25_blocked``) and the connector uses port 25, a delivery queue
  ``<SERVER>\\<n>`` in status ``Retry`` holds the messages routed over it, with the 441 4.4.1
  LastError Exchange writes for a failed TCP connection, retry times on the
  OutboundConnectionFailureRetryInterval schedule (10 minutes on Mailbox servers, 30 on Edge),
  and messages expiring after MessageExpirationTimeout (2 days);
- otherwise a smart-host connector has an empty ``Ready`` queue and a DNS-routed connector has
  no queue at all (a delivery queue disappears once it stays empty; both are what a healthy
  server shows).

Every server also has its ``<SERVER>\\Submission`` queue.

``OldestMessageReceived`` is the simulator's own property: the time the oldest message in the
queue arrived. A real server gives it through ``Get-Message -Queue <identity>`` (DateReceived),
which the simulator does not offer; a client computes the message age and the time left
before expiry from it.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from typing import Any

from . import binding as b
from .binding import Parameter
from .failures import CmdletFailure, not_found
from .registry import Call, cmdlet
from .servers import transport_settings
from .state import OrgState
from .values import format_datetime
from .wire import WireObject

TYPE_NAMES = [
    "Microsoft.Exchange.Data.QueueViewer.PropertyBagBasedQueueInfo",
    "Microsoft.Exchange.Data.QueueViewer.ExtensibleQueueInfo",
    "Microsoft.Exchange.Data.QueueViewer.PagedDataObject",
    "System.Object",
]

#: The first number the simulator gives a delivery queue on each server.
FIRST_QUEUE_NUMBER = 3

#: One message is taken to arrive for a blocked queue every this many seconds.
MESSAGE_INTERVAL = 420

_CONNECT_FAILED = (
    '441 4.4.1 Error encountered while communicating with primary target IP address: "Failed '
    'to connect. Winsock error code: 10060, Win32 error code: 10060." Attempted failover to '
    "alternate host, but that did not succeed. Either there are no alternate hosts, or delivery "
    "failed to all alternate hosts. The last endpoint attempted was {ip}:{port}"
)


def _queue(identity: str, **properties: Any) -> dict[str, Any]:
    queue: dict[str, Any] = {
        "Identity": identity,
        "QueueIdentity": identity,
        "DeliveryType": "Undefined",
        "NextHopDomain": "",
        "TlsDomain": None,
        "NextHopConnector": "00000000-0000-0000-0000-000000000000",
        "Status": "Ready",
        "MessageCount": 0,
        "LastError": None,
        "RetryCount": 0,
        "FirstRetryTime": None,
        "LastRetryTime": None,
        "NextRetryTime": None,
        "OldestMessageReceived": None,
        "DeferredMessageCount": 0,
        "LockedMessageCount": 0,
        "RiskLevel": "Normal",
        "OutboundIPPool": 0,
        "NextHopCategory": "Internal",
        "IncomingRate": 0,
        "OutgoingRate": 0,
        "Velocity": 0,
        "IsValid": True,
    }
    queue.update(properties)
    return queue


def _target(state: OrgState, connector: dict[str, Any]) -> tuple[str, str, str, str]:
    """(delivery type, next hop domain, FQDN, IP) of the host a connector delivers to last."""
    if not connector["DNSRoutingEnabled"]:
        last = connector["SmartHosts"][-1]
        if last.startswith("["):
            fqdn, address = "", last[1:-1]
        else:
            fqdn, address = last, state.host_address(last)
        return "SmartHostConnectorDelivery", ",".join(connector["SmartHosts"]), fqdn, address
    space = connector["AddressSpaces"][0].split(":", 1)[-1].rsplit(";", 1)[0]
    # A wildcard address space sends to many domains; one of them stands for all.
    domain = space.lstrip("*.") or "example.com"
    mx = state.data.get("MxHosts", {}).get(domain.lower(), f"mail.{domain}")
    return "DnsConnectorDelivery", domain, mx, state.host_address(mx)


def server_queues(state: OrgState, server: dict[str, Any], now: dt.datetime) -> list[dict]:
    """Every queue of ``server`` at ``now``, in stored form (times as datetimes)."""
    name = server["Name"]
    queues = [_queue(f"{name}\\Submission", NextHopDomain="Submission")]
    blocked_since = state.faults.get("Port25Blocked", {}).get(name)
    start = dt.datetime.fromisoformat(blocked_since) if blocked_since else None
    settings = transport_settings(server)
    interval = settings["OutboundConnectionFailureRetryInterval"]
    if server["ServerRole"] == "Edge":
        interval = 30 * 60
    expiration = dt.timedelta(seconds=settings["MessageExpirationTimeout"])

    number = FIRST_QUEUE_NUMBER
    for connector in state.send_connectors:
        sources = {s.lower() for s in connector["SourceTransportServers"]}
        if name.lower() not in sources or not connector["Enabled"]:
            continue
        delivery, next_hop, fqdn, address = _target(state, connector)
        identity = f"{name}\\{number}"
        common = {"DeliveryType": delivery, "NextHopDomain": next_hop,
                  "NextHopConnector": connector["Guid"], "NextHopCategory": "External"}
        if start is not None and start <= now and connector["Port"] == 25:
            elapsed = (now - start).total_seconds()
            retries = int(elapsed // interval)
            last_retry = start + dt.timedelta(seconds=retries * interval)
            oldest = max(start, now - expiration)
            waiting = 1 + int((now - oldest).total_seconds() // MESSAGE_INTERVAL)
            led = _CONNECT_FAILED.format(ip=address, port=connector["Port"])
            queues.append(_queue(
                identity, **common, Status="Retry", MessageCount=waiting,
                LastError=(f"[{{LRT={format_datetime(last_retry)}}};{{LED={led}}};"
                           f"{{FQDN={fqdn}}};{{IP={address}}}]"),
                RetryCount=retries, FirstRetryTime=start, LastRetryTime=last_retry,
                NextRetryTime=last_retry + dt.timedelta(seconds=interval),
                OldestMessageReceived=oldest))
            number += 1
        elif delivery == "SmartHostConnectorDelivery":
            queues.append(_queue(identity, **common))
            number += 1
    return queues


def render(queue: dict[str, Any]) -> WireObject:
    return WireObject(list(TYPE_NAMES), queue["Identity"], dict(queue))


# ---------------------------------------------------------------------------------------------
# -Filter: "Property -op Value" clauses joined by -and

_CLAUSE = re.compile(
    r"\s*(\w+)\s+-(eq|ne|gt|ge|lt|le|like|notlike)\s+('([^']*)'|\"([^\"]*)\"|(\S+))\s*", re.I)


_COMPARE = {
    "eq": lambda left, right: left == right,
    "ne": lambda left, right: left != right,
    "gt": lambda left, right: left > right,
    "ge": lambda left, right: left >= right,
    "lt": lambda left, right: left < right,
    "le": lambda left, right: left <= right,
    "like": lambda left, right: fnmatch.fnmatchcase(str(left), str(right)),
    "notlike": lambda left, right: not fnmatch.fnmatchcase(str(left), str(right)),
}


def _matches(queue: dict[str, Any], text: str) -> bool:
    """Whether ``queue`` passes the filter ``text``.

    Raises:
        CmdletFailure: FilterParsingException (the simulator's own name) for a clause that is
            not ``Property -op Value`` on a queue property.
    """
    properties = {name.lower(): name for name in queue}
    for clause in re.split(r"\s+-and\s+", text.strip(), flags=re.I):
        match = _CLAUSE.fullmatch(clause)
        if match is None or match.group(1).lower() not in properties:
            raise CmdletFailure("FilterParsingException",
                                f"The filter \"{text}\" isn't valid: \"{clause}\" isn't a "
                                "comparison of a queue property.", target=text)
        actual = queue[properties[match.group(1).lower()]]
        wanted = next(g for g in match.group(4, 5, 6) if g is not None)
        if isinstance(actual, int) and not isinstance(actual, bool) and re.fullmatch(
                r"-?\d+", wanted):
            left, right = actual, int(wanted)
        else:
            left, right = str(actual if actual is not None else "").lower(), wanted.lower()
        if not _COMPARE[match.group(2).lower()](left, right):
            return False
    return True


@cmdlet("Get-Queue", Parameter("Identity", b.anything), Parameter("Server", b.text),
        Parameter("Filter", b.text), Parameter("ResultSize", b.integer(1, 2**31 - 1,
                                                                       unlimited=True)),
        namespace="QueueViewerTasks")
def get_queue(call: Call) -> None:
    """The queues of one server: -Server, the server of -Identity, or the local server."""
    state = call.state
    identity, server_name = call.get("Identity"), call.get("Server")
    if identity is not None and server_name is not None:
        raise b.ambiguous_parameter_set()
    if identity is not None:
        server_name = str(identity).split("\\", 1)[0]
    server = state.server(server_name or state.endpoint_server)
    if server is None:
        raise not_found(server_name, state.domain_controller)

    queues = server_queues(state, server, call.now)
    if identity is not None:
        queues = [q for q in queues if q["Identity"].lower() == str(identity).lower()]
        if not queues:
            raise CmdletFailure("ManagementObjectNotFoundException",
                                f"The queue '{identity}' couldn't be found on server "
                                f"'{server['Name']}'.", target=str(identity))
    if call.get("Filter"):
        queues = [q for q in queues if _matches(q, call.get("Filter"))]
    if call.get("ResultSize") is not None:
        queues = queues[: call.get("ResultSize")]
    call.output.extend(render(q) for q in queues)
