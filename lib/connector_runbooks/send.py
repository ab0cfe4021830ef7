"""Send connector changes: source transport servers, smart hosts, and retiring a server.

A plan only reads. It holds the list before and after, the values added and removed, the
requested values that change nothing and why, warnings, and the rules the change would break
(blockers). :func:`apply_plan` is the one place that sends Set-SendConnector, always with the
multi-valued property as an ``@{Add=...; Remove=...}`` edit, never a plain list (a plain list
replaces the whole list, and the servers or hosts left out silently stop routing). It checks
that nobody changed the connector since the plan, sends one call, and reads the connector again
to verify.

A Send connector is an organization-wide object addressed by its bare name. It is listed with
Get-SendConnector and matched by name here, never fetched by an Identity that might not exist.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from .connectors import exchange_servers
from .errors import (
    InputError,
    InputErrors,
    VerificationFailed,
)
from .models import ExchangeServer, as_list
from .parameters import unpasted
from .plan import (  # refuse_if_blocked and outcome_of serve every kind of plan
    RECHECK_AFTER_S,
    ApplyResult,
    Unchanged,
    Verification,
    apply_edit,
    outcome_of,  # noqa: F401  (the notebooks call send.outcome_of)
    refuse_if_blocked,
)
from .shell import Shell, powershell_line

logger = logging.getLogger(__name__)

SET_CMDLET = "Set-SendConnector"
SOURCE_TRANSPORT_SERVERS = "SourceTransportServers"
SMART_HOSTS = "SmartHosts"

#: Exchange versions a source server may run, by the major.minor of AdminDisplayVersion.
SUPPORTED_VERSIONS = {(15, 1): "Exchange Server 2016", (15, 2): "Exchange Server 2019"}

_SEPARATORS = re.compile(r"[,;\r\n]+")

_VERSION = re.compile(r"(\d+)\.(\d+)")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_NETBIOS = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,14}")

SERVER_ACCEPTED = "a server name such as EX03, or its FQDN such as ex03.corp.example.com"
SMART_HOST_ACCEPTED = ("a host name (FQDN) such as smtp1.relay.example.net, or an IP address "
                       "such as 203.0.113.25 or [203.0.113.25]")


# ---------------------------------------------------------------------------------------------
# The connector as read


@dataclass
class SendConnector:
    """A Send connector of the organization.

    Args:
        identity: the connector's name, which is its Identity.
        guid: the connector's GUID; delivery queues name it as their NextHopConnector.
        address_spaces: AddressSpaces as Exchange displays them, for example ``SMTP:*;1``.
        source_transport_servers: the names of the servers that may route over it.
        smart_hosts: SmartHosts as displayed; IP addresses in brackets.
        dns_routing_enabled: True when mail goes to the recipient domains' MX hosts, False
            when it goes to the smart hosts.
        enabled: whether the connector routes mail at all.
        record: the full record as read, for display.
        read_at: ``time.monotonic()`` when it was read, to judge how fresh a plan built on
            it is.
    """

    identity: str
    guid: str
    address_spaces: list[str]
    source_transport_servers: list[str]
    smart_hosts: list[str]
    dns_routing_enabled: bool
    enabled: bool
    record: dict[str, Any] = field(default_factory=dict, repr=False)
    read_at: float = field(default=0.0, repr=False)

    @classmethod
    def from_record(cls, record: dict[str, Any], read_at: float = 0.0) -> SendConnector:
        return cls(
            identity=str(record.get("Identity") or record.get("Name", "")),
            guid=str(record.get("Guid", "")),
            address_spaces=as_list(record.get("AddressSpaces")),
            source_transport_servers=as_list(record.get("SourceTransportServers")),
            smart_hosts=as_list(record.get("SmartHosts")),
            dns_routing_enabled=bool(record.get("DNSRoutingEnabled", True)),
            enabled=bool(record.get("Enabled", True)),
            record=dict(record),
            read_at=read_at,
        )


def send_connectors(shell: Shell) -> list[SendConnector]:
    """Every Send connector of the organization."""
    records = shell.invoke("Get-SendConnector")
    read_at = time.monotonic()
    return [SendConnector.from_record(r, read_at) for r in records]


def find_send_connector(
    shell: Shell, identity: str, *, source: str = "parameter connector"
) -> SendConnector:
    """The Send connector named ``identity`` (any letter case), found by listing them all.

    Raises:
        InputError: no connector of that name; the message lists the connectors that exist.
    """
    name = (identity or "").strip()
    connectors = send_connectors(shell)
    for connector in connectors:
        if connector.identity.lower() == name.lower():
            return connector
    known = ", ".join(sorted(c.identity for c in connectors)) or "none"
    problem = "no Send connector of that name" if name else "no Send connector was named"
    raise InputError(identity, problem, source=source, accepted=f"one of: {known}")


def organization_servers(shell: Shell) -> list[ExchangeServer]:
    """Every Exchange server (Edge Subscriptions included); their addresses are not needed
    here, so nothing is asked of DNS."""
    return exchange_servers(shell, resolve_addresses=False)


# ---------------------------------------------------------------------------------------------
# Reading requested values


@dataclass
class Requested:
    """One value a user asked for.

    Args:
        value: the value as it will be sent: a server name, or a smart host without brackets.
        raw: the value exactly as given.
        source: where it came from, for example ``parameter add``.
        line: its position in a list (from 1), or None for a one-value string.
    """

    value: str
    raw: str
    source: str
    line: int | None = None


def _tokens(value: str | Iterable[Any] | None) -> list[tuple[int | None, Any]]:
    """(position, token) for every value: lists by element, text split on commas, semicolons
    and line breaks. A space is not a separator: ``smtp 3.example.net`` is one bad name, not
    two good ones."""
    if value is None:
        return []
    if isinstance(value, str):
        return [(None, t) for t in _SEPARATORS.split(value) if t.strip()]
    tokens: list[tuple[int | None, Any]] = []
    for position, element in enumerate(value, start=1):
        if isinstance(element, str):
            tokens += [(position, t) for t in _SEPARATORS.split(element) if t.strip()]
        else:
            tokens.append((position, element))
    return tokens


def _read_values(
    value: str | Iterable[Any] | None, source: str, parse: Callable[[str], str | None],
    problem: str, accepted: str,
) -> list[Requested]:
    requested: list[Requested] = []
    errors: list[InputError] = []
    for line, token in _tokens(value):
        parsed = parse(unpasted(token)) if isinstance(token, str) else None
        if parsed is None:
            errors.append(InputError(token, problem, source=source, line=line, accepted=accepted))
        else:
            requested.append(Requested(parsed, token, source, line))
    if errors:
        raise InputErrors(errors)
    return requested


def is_fqdn(text: str) -> bool:
    """A host name per RFC 1035: dot-separated labels of letters, digits and inner hyphens."""
    name = text.removesuffix(".")
    return 0 < len(name) <= 253 and all(_LABEL.fullmatch(label) for label in name.split("."))


def _server_name(text: str) -> str | None:
    return text if _NETBIOS.fullmatch(text) or ("." in text and is_fqdn(text)) else None


def _smart_host(text: str) -> str | None:
    """A smart host as it is sent: an IP address in its plain form, or the host name."""
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    if text != bare or not is_fqdn(bare) or bare.replace(".", "").isdigit():
        return None
    return bare.rstrip(".")


def read_server_names(value: str | Iterable[Any] | None, *, source: str) -> list[Requested]:
    """Server names from a parameter: a list, or text separated by commas, semicolons or
    lines. Every malformed name is reported at once.

    Raises:
        InputErrors: naming each value that is not a server name and where it came from.
    """
    return _read_values(value, source, _server_name, "is not a server name", SERVER_ACCEPTED)


def read_smart_hosts(value: str | Iterable[Any] | None, *, source: str) -> list[Requested]:
    """Smart hosts from a parameter: FQDNs (RFC 1035 labels) and IPv4 or IPv6 addresses, with
    or without brackets.

    Raises:
        InputErrors: naming each value that is neither and where it came from.
    """
    return _read_values(value, source, _smart_host, "is neither a host name nor an IP address",
                        SMART_HOST_ACCEPTED)


def smart_host_key(text: str) -> Hashable:
    """What makes two smart hosts the same: the address for IPs, the lower-case name else."""
    bare = text.strip().strip("[]")
    try:
        return ("ip", ipaddress.ip_address(bare))
    except ValueError:
        return ("host", bare.rstrip(".").lower())


def _server_key(text: str) -> Hashable:
    return text.strip().lower()


#: How values of each property are compared: Exchange compares meanings, never texts.
_KEYS: dict[str, Callable[[str], Hashable]] = {
    SOURCE_TRANSPORT_SERVERS: _server_key,
    SMART_HOSTS: smart_host_key,
}


def value_key(property_name: str, text: str) -> Hashable:
    """What makes two values of ``property_name`` the same value to Exchange."""
    return _KEYS[property_name](text)


# ---------------------------------------------------------------------------------------------
# The plan


@dataclass
class SendConnectorPlan:
    """What a change of one multi-valued property would do to one Send connector.

    Args:
        identity: the connector.
        property_name: ``SourceTransportServers`` or ``SmartHosts``.
        before: the values as read, as Exchange displays them.
        after: the values the connector will hold once applied.
        add: values the Set call adds.
        remove: values the Set call removes, as the connector holds them.
        unchanged: requested values that change nothing, and why.
        warnings: things to read before applying; they do not stop the change.
        blockers: broken rules; a plan with blockers cannot be applied.
        dns_routing_before: DNSRoutingEnabled as read (smart host plans only).
        dns_routing_after: DNSRoutingEnabled once applied (smart host plans only).
        read_at: when the connector was read (``time.monotonic()``).
    """

    identity: str
    property_name: str
    before: list[str]
    after: list[str]
    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    unchanged: list[Unchanged] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    dns_routing_before: bool | None = None
    dns_routing_after: bool | None = None
    read_at: float = field(default=0.0, repr=False)

    @property
    def changes_dns_routing(self) -> bool:
        return self.dns_routing_before != self.dns_routing_after

    @property
    def changed(self) -> bool:
        return bool(self.add or self.remove or self.changes_dns_routing)

    @property
    def parameters(self) -> dict[str, Any]:
        """The Set-SendConnector parameters: the property as an Add/Remove dict, and
        DNSRoutingEnabled only when the plan changes it."""
        parameters: dict[str, Any] = {"Identity": self.identity}
        if self.changes_dns_routing:
            parameters["DNSRoutingEnabled"] = self.dns_routing_after
        edit: dict[str, list[str]] = {}
        if self.add:
            edit["Add"] = list(self.add)
        if self.remove:
            edit["Remove"] = list(self.remove)
        if edit:
            parameters[self.property_name] = edit
        return parameters

    @property
    def powershell(self) -> str:
        """The Set call as a line a person can read; empty when nothing changes."""
        if not self.changed:
            return ""
        parameters = dict(self.parameters)
        routing = parameters.pop("DNSRoutingEnabled", None)
        line = powershell_line(SET_CMDLET, parameters)
        if routing is not None:
            # a Boolean parameter, not a switch: it takes its value after a colon
            line += f" -DNSRoutingEnabled:${str(routing).lower()}"
        return line

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("read_at")
        data.update(changed=self.changed, cmdlet=SET_CMDLET if self.changed else None,
                    parameters=self.parameters if self.changed else None,
                    powershell=self.powershell)
        return data


def _plan_edit(plan: SendConnectorPlan, to_add: list[Requested], to_remove: list[Requested],
               noun: str) -> None:
    """Fill add, remove, unchanged and after; removals name the value as the connector holds it.

    Args:
        noun: what one value is, for reasons: ``a source server``, ``a smart host``.
    """
    key = _KEYS[plan.property_name]
    stored = {key(text): text for text in plan.before}

    # A value asked both ways is refused whether or not the connector holds it: which of the
    # two was meant cannot be guessed, and the answer must not depend on the current list.
    asked_to_remove = {key(r.value): r for r in to_remove}
    both: set[Hashable] = set()
    for requested in to_add:
        wanted = key(requested.value)
        if wanted in asked_to_remove and wanted not in both:
            both.add(wanted)
            plan.blockers.append(
                f"{requested.raw} is asked both to be added ({requested.source}) and removed "
                f"({asked_to_remove[wanted].source}); name it in one of them only")

    removing: dict[Hashable, str] = {}
    for requested in to_remove:
        wanted = key(requested.value)
        if wanted in both:
            continue
        if wanted in removing:
            reason = "requested more than once"
        elif wanted not in stored:
            reason = f"not {noun} of {plan.identity}"
        else:
            removing[wanted] = stored[wanted]
            plan.remove.append(stored[wanted])
            continue
        plan.unchanged.append(Unchanged(requested.raw, requested.source, requested.line, reason))

    adding: set[Hashable] = set()
    for requested in to_add:
        wanted = key(requested.value)
        if wanted in both:
            continue
        if wanted in stored:
            reason = f"already {noun} of {plan.identity} as {stored[wanted]}"
        elif wanted in adding:
            reason = "requested more than once"
        else:
            adding.add(wanted)
            plan.add.append(requested.value)
            continue
        plan.unchanged.append(Unchanged(requested.raw, requested.source, requested.line, reason))

    # Exchange shows values added with Add first; order has no meaning beyond display.
    plan.after = plan.add + [text for text in plan.before if key(text) not in removing]


# ---------------------------------------------------------------------------------------------
# Source transport servers


def server_version(server: ExchangeServer) -> tuple[int, int] | None:
    """(major, minor) from AdminDisplayVersion, ``Version 15.2 (Build 1544.4)`` → (15, 2)."""
    match = _VERSION.search(server.version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def source_server_problem(server: ExchangeServer) -> str | None:
    """Why ``server`` cannot be a source server of a Send connector, or None when it can."""
    if not server.is_edge and not server.is_mailbox:
        roles = ", ".join(server.server_role) or "no"
        return (f"{server.name} is a server with role {roles}; only Mailbox servers, or Edge "
                "servers through an Edge Subscription, can be source servers")
    version = server_version(server)
    if version not in SUPPORTED_VERSIONS:
        supported = " or ".join(f"{name} ({major}.{minor})"
                                for (major, minor), name in SUPPORTED_VERSIONS.items())
        return (f"{server.name} runs {server.version or 'an unknown version'}; source servers "
                f"must run {supported}")
    return None


class _Servers:
    """The organization's servers, found by name or FQDN in any letter case."""

    def __init__(self, servers: list[ExchangeServer]) -> None:
        self.servers = servers
        self._by_key = {s.name.lower(): s for s in servers}
        self._by_key.update({s.fqdn.lower(): s for s in servers if s.fqdn})

    def find(self, name: str) -> ExchangeServer | None:
        return self._by_key.get(name.strip().rstrip(".").lower())

    @property
    def names(self) -> str:
        return ", ".join(sorted(s.name for s in self.servers)) or "none"


def _resolve_additions(
    requested: list[Requested], servers: _Servers
) -> tuple[list[Requested], list[str]]:
    """The requested servers by their names, and the blockers of those that cannot be added."""
    adding: list[Requested] = []
    blockers: list[str] = []
    for wanted in requested:
        server = servers.find(wanted.value)
        if server is None:
            blockers.append(f"{wanted.raw} ({wanted.source}): no Exchange server of that name "
                            f"in the organization (servers: {servers.names})")
            continue
        problem = source_server_problem(server)
        if problem:
            blockers.append(f"{wanted.raw} ({wanted.source}): {problem}")
        # sent as the server's name, which is how the connector lists its source servers
        adding.append(Requested(server.name, wanted.raw, wanted.source, wanted.line))
    return adding, blockers


def _plan_source_servers(
    target: SendConnector, servers: _Servers, to_add: list[Requested],
    to_remove: list[Requested], *, when_empty: str = "Add another source server in the same "
    "change.",
) -> SendConnectorPlan:
    """The plan for one connector from what was already read; sends nothing.

    Args:
        when_empty: what to tell the user when the list would end up empty.
    """
    plan = SendConnectorPlan(target.identity, SOURCE_TRANSPORT_SERVERS,
                             before=list(target.source_transport_servers), after=[],
                             read_at=target.read_at)
    adding, plan.blockers = _resolve_additions(to_add, servers)

    removing: list[Requested] = []
    listed = {s.lower() for s in target.source_transport_servers}
    for requested in to_remove:
        server = servers.find(requested.value)
        name = server.name if server else requested.value
        if server is None and name.lower() not in listed:
            plan.blockers.append(
                f"{requested.raw} ({requested.source}): no Exchange server of that name, and "
                f"not a source server of {target.identity} (source servers: "
                f"{', '.join(target.source_transport_servers) or 'none'})")
            continue
        removing.append(Requested(name, requested.raw, requested.source, requested.line))

    _plan_edit(plan, adding, removing, "a source server")
    if plan.changed:
        _check_source_servers(plan, servers, adding, when_empty)
    return plan


def _check_source_servers(plan: SendConnectorPlan, servers: _Servers,
                          adding: list[Requested], when_empty: str) -> None:
    """The rules for the list after the change (reference 4.4).

    Args:
        adding: the servers asked to be added, to name each refused one as it was given.
    """
    if not plan.after:
        plan.blockers.append(
            f"removing {', '.join(plan.remove)} would leave {plan.identity} without source "
            f"servers; Exchange refuses an empty list. {when_empty}")
        return

    found = {name: servers.find(name) for name in plan.after}
    for name, server in found.items():
        if server is None:
            plan.warnings.append(f"{name} is listed on {plan.identity} but matches no Exchange "
                                 "server; Exchange skips it")
    _check_roles(plan, servers, adding)

    sites = sorted({s.site for s in found.values() if s is not None and s.site})
    if len(sites) > 1 and plan.add:
        plan.warnings.append(f"{plan.identity} will span the Active Directory sites "
                             f"{_names(sites)}")


def _check_roles(plan: SendConnectorPlan, servers: _Servers, adding: list[Requested]) -> None:
    """A connector keeps the kind of source servers it has.

    Exchange refuses Edge and Mailbox source servers on one connector; beyond that, a connector
    sourced by Edge servers belongs to EdgeSync, which creates and maintains it through the
    Edge Subscription, and an Edge server sends over those connectors only. So these runbooks
    never hand a Mailbox-sourced connector to an Edge server, nor the reverse, not even by
    swapping every source server in one change.
    """
    known = [s for s in map(servers.find, plan.before) if s is not None]
    edge_before = [s.name for s in known if s.is_edge]
    mailbox_before = [s.name for s in known if not s.is_edge]
    added = {r.value: r for r in adding if r.value in plan.add}
    new_edge = [r for name, r in added.items() if _is_edge(servers, name)]
    new_mailbox = [r for name, r in added.items() if not _is_edge(servers, name)]

    mailbox = mailbox_before or [r.value for r in new_mailbox]
    if new_edge and mailbox:
        plan.blockers.append(
            f"{_given(new_edge)}: Edge, but {plan.identity} is sourced by Mailbox servers "
            f"({_names(mailbox)}). "
            "These runbooks never add an Edge server to a Mailbox-sourced connector: an Edge "
            "server sends over the connectors EdgeSync creates for its Edge Subscription, and "
            "Exchange does not mix Edge and Mailbox source servers on one connector.")
    if new_mailbox and edge_before:
        plan.blockers.append(
            f"{_given(new_mailbox)}: Mailbox, but {plan.identity} is sourced by Edge servers "
            f"through an Edge Subscription ({_names(edge_before)}). EdgeSync maintains that "
            "connector, so these runbooks never add a Mailbox server to it, and Exchange does "
            "not mix Edge and Mailbox source servers on one connector.")


def _is_edge(servers: _Servers, name: str) -> bool:
    server = servers.find(name)
    return server is not None and server.is_edge


def _given(requested: list[Requested]) -> str:
    """The values as the user gave them, with where: ``EDGE01 (parameter add)``."""
    return _names(f"{r.raw} ({r.source})" for r in requested)


def _warn_reach(plan: SendConnectorPlan, target: SendConnector) -> None:
    """What the added servers must reach once applied; only for a plan that can be applied."""
    if not plan.add or plan.blockers:
        return
    plan.warnings.append(
        f"Once applied, {_names(plan.add)} route{'s' if len(plan.add) == 1 else ''} mail over "
        f"{plan.identity} and must reach {next_hops(target)} on port "
        f"{target.record.get('Port', 25)}. A firewall or antivirus product that blocks it "
        "leaves the mail in Retry queues until it expires; the queue check after apply looks "
        "for it.")


def _names(values: Iterable[str]) -> str:
    return ", ".join(values)


def next_hops(connector: SendConnector) -> str:
    """Where the connector delivers, in words: its smart hosts, or the MX hosts."""
    if not connector.dns_routing_enabled and connector.smart_hosts:
        return _names(connector.smart_hosts)
    spaces = [space.split(":", 1)[-1].split(";", 1)[0] for space in connector.address_spaces]
    if "*" in spaces:  # every domain: no reader thinks of "the MX hosts of *"
        return "the internet's MX hosts"
    return f"the MX hosts of {_names(spaces) or 'the recipient domains'}"


def plan_source_servers(
    shell: Shell,
    connector: str | SendConnector,
    *,
    add: str | Iterable[str] | None = None,
    remove: str | Iterable[str] | None = None,
) -> SendConnectorPlan:
    """Plan a SourceTransportServers change; only Get- cmdlets are sent.

    Every added server must exist and be a Mailbox server of Exchange 2016 or 2019 (or an Edge
    server through an Edge Subscription, on a connector already sourced by Edge servers: a
    connector never changes between the two kinds here), and the list must not end up empty;
    a plan that breaks a rule carries blockers naming the value.

    Args:
        shell: where to read from.
        connector: the Send connector's name, or a fresh read of it (from
            :func:`find_send_connector`), which saves a call.
        add: servers to add, by name or FQDN (a list, or text separated by commas).
        remove: servers to remove.
    """
    to_add, to_remove = _read_both(add, remove, read_server_names)
    target = (connector if isinstance(connector, SendConnector)
              else find_send_connector(shell, connector))
    logger.info("planning SourceTransportServers of %s", target.identity)
    plan = _plan_source_servers(target, _Servers(organization_servers(shell)), to_add, to_remove)
    _warn_reach(plan, target)
    return plan


def _read_both(
    add: Any, remove: Any, read: Callable[..., list[Requested]]
) -> tuple[list[Requested], list[Requested]]:
    """Read both parameters before anything is sent, reporting every bad value of both."""
    errors: list[InputError] = []
    results: list[list[Requested]] = []
    for value, source in ((add, "parameter add"), (remove, "parameter remove")):
        try:
            results.append(read(value, source=source))
        except InputErrors as failure:
            errors.extend(failure.errors)
            results.append([])
    if errors:
        raise InputErrors(errors)
    return results[0], results[1]


# ---------------------------------------------------------------------------------------------
# Smart hosts


def plan_smart_hosts(
    shell: Shell,
    connector: str | SendConnector,
    *,
    add: str | Iterable[str] | None = None,
    remove: str | Iterable[str] | None = None,
    dns_routing_enabled: bool | None = None,
) -> SendConnectorPlan:
    """Plan a SmartHosts change, and DNSRoutingEnabled with it; only Get- cmdlets are sent.

    Smart hosts are used only while DNS routing is off. Adding them to a DNS-routed connector
    is refused unless ``dns_routing_enabled`` is False, which turns DNS routing off in the same
    Set call; removing the last smart host while DNS routing stays off is refused, as is
    turning DNS routing on while smart hosts remain.

    Args:
        shell: where to read from.
        connector: the Send connector's name, or a fresh read of it (from
            :func:`find_send_connector`), which saves a call.
        add: smart hosts to add: FQDNs and IP addresses.
        remove: smart hosts to remove.
        dns_routing_enabled: None keeps DNSRoutingEnabled as it is; False turns DNS routing
            off (mail goes to the smart hosts); True turns it on (mail goes to MX hosts).
    """
    to_add, to_remove = _read_both(add, remove, read_smart_hosts)
    if dns_routing_enabled is not None and not isinstance(dns_routing_enabled, bool):
        raise InputError(dns_routing_enabled, "is not true or false",
                         source="parameter dns_routing_enabled",
                         accepted="true, false, or nothing to keep it as it is")
    target = (connector if isinstance(connector, SendConnector)
              else find_send_connector(shell, connector))
    logger.info("planning SmartHosts of %s", target.identity)
    plan = SendConnectorPlan(target.identity, SMART_HOSTS, before=list(target.smart_hosts),
                             after=[], dns_routing_before=target.dns_routing_enabled,
                             read_at=target.read_at)
    plan.dns_routing_after = (target.dns_routing_enabled if dns_routing_enabled is None
                              else dns_routing_enabled)
    _plan_edit(plan, to_add, to_remove, "a smart host")
    if plan.changed:
        _check_smart_hosts(plan, target, asked_routing=dns_routing_enabled)
    return plan


def _check_smart_hosts(plan: SendConnectorPlan, target: SendConnector,
                       asked_routing: bool | None) -> None:
    """Smart hosts need DNS routing off, and DNS routing off needs a smart host (4.5 rules 2-3)."""
    spaces = _names(target.address_spaces) or "its address spaces"
    if plan.dns_routing_after and plan.add:
        if asked_routing is None:
            plan.blockers.append(
                f"{plan.identity} uses DNS routing (DNSRoutingEnabled is True): it sends mail "
                "to the MX hosts of the recipient domains and ignores smart hosts. To send "
                f"through {_names(plan.add)} instead, set dns_routing_enabled to false; the "
                "plan then turns DNS routing off in the same change.")
        else:
            plan.blockers.append(
                f"smart hosts cannot be added to {plan.identity} while DNS routing stays on "
                "(dns_routing_enabled is true); set it to false to route through them")
    elif plan.dns_routing_after and plan.after:
        plan.blockers.append(
            f"turning DNS routing on for {plan.identity} needs every smart host removed in the "
            f"same change; still listed: {_names(plan.after)}")
    if not plan.dns_routing_after and not plan.after:
        if plan.changes_dns_routing:
            plan.blockers.append(
                f"DNS routing can be turned off for {plan.identity} only together with at "
                "least one smart host to add")
        else:
            plan.blockers.append(
                f"removing {_names(plan.remove)} would leave {plan.identity} without smart "
                "hosts while DNS routing is off (DNSRoutingEnabled is False), so it could not "
                "deliver mail; add the replacement in the same change, or set "
                "dns_routing_enabled to true to send to the MX hosts instead")

    if plan.changes_dns_routing and not plan.blockers:
        if plan.dns_routing_after:
            plan.warnings.append(
                f"DNS routing will be turned on: mail for {spaces} goes to the MX hosts of the "
                "recipient domains, no longer to smart hosts")
        else:
            plan.warnings.append(
                f"DNS routing will be turned off (DNSRoutingEnabled $false): mail for {spaces} "
                f"goes to {_names(plan.after)}, no longer to the MX hosts of the recipient "
                "domains")
    if plan.add and not plan.dns_routing_after and not plan.blockers:
        plan.warnings.append(
            f"{_names(target.source_transport_servers)} must reach {_names(plan.add)} on port "
            f"{target.record.get('Port', 25)}; the queue check after apply looks for mail "
            "stuck in Retry")


# ---------------------------------------------------------------------------------------------
# Applying and verifying


@dataclass
class SendVerification(Verification):
    """The connector as read after applying, compared with the plan, DNS routing included.

    Args:
        property_name: ``SourceTransportServers`` or ``SmartHosts``.
        before: the values as read for the plan, so the record shows what was removed.
        dns_routing_before: DNSRoutingEnabled as read for the plan (smart host plans only).
        dns_routing_expected: DNSRoutingEnabled as planned (smart host plans only).
        dns_routing_actual: DNSRoutingEnabled as read after applying (smart host plans only).
    """

    property_name: str = ""
    before: list[str] = field(default_factory=list)
    dns_routing_before: bool | None = None
    dns_routing_expected: bool | None = None
    dns_routing_actual: bool | None = None

    @property
    def ok(self) -> bool:
        routing_ok = (self.dns_routing_expected is None
                      or self.dns_routing_expected == self.dns_routing_actual)
        return super().ok and routing_ok


def _state(connector: SendConnector, plan: SendConnectorPlan) -> tuple[set[Hashable], Any]:
    """What apply compares: the property's values by meaning, and DNS routing when planned."""
    key = _KEYS[plan.property_name]
    values = {key(v) for v in getattr(connector, _ATTRIBUTES[plan.property_name])}
    routing = connector.dns_routing_enabled if plan.dns_routing_before is not None else None
    return values, routing


_ATTRIBUTES = {SOURCE_TRANSPORT_SERVERS: "source_transport_servers", SMART_HOSTS: "smart_hosts"}


def verify(shell: Shell, plan: SendConnectorPlan) -> SendVerification:
    """Read the connector again and compare it with the planned after-state."""
    current = find_send_connector(shell, plan.identity)
    actual = getattr(current, _ATTRIBUTES[plan.property_name])
    key = _KEYS[plan.property_name]
    expected_keys = {key(v): v for v in plan.after}
    actual_keys = {key(v): v for v in actual}
    routing = plan.dns_routing_before is not None
    return SendVerification(
        identity=plan.identity,
        expected=list(plan.after),
        actual=list(actual),
        missing=[v for k, v in expected_keys.items() if k not in actual_keys],
        unexpected=[v for k, v in actual_keys.items() if k not in expected_keys],
        property_name=plan.property_name,
        before=list(plan.before),
        dns_routing_before=plan.dns_routing_before,
        dns_routing_expected=plan.dns_routing_after if routing else None,
        dns_routing_actual=current.dns_routing_enabled if routing else None,
    )


def apply_plan(
    shell: Shell, plan: SendConnectorPlan, *, recheck_after_s: float = RECHECK_AFTER_S
) -> ApplyResult:
    """Send the plan as one Set-SendConnector call, then verify (see
    :func:`connector_runbooks.plan.apply_edit` for the checks and the errors)."""

    def unchanged_since_plan() -> tuple[bool, Any]:
        current = find_send_connector(shell, plan.identity)
        planned = ({_KEYS[plan.property_name](v) for v in plan.before}, plan.dns_routing_before)
        return (_state(current, plan) == planned,
                getattr(current, _ATTRIBUTES[plan.property_name]))

    def mismatch(verification: SendVerification) -> VerificationFailed:
        unexpected = list(verification.unexpected)
        if verification.dns_routing_expected != verification.dns_routing_actual:
            unexpected.append(f"DNSRoutingEnabled {verification.dns_routing_actual}")
        return VerificationFailed(plan.identity, verification.missing, unexpected)

    return apply_edit(shell, plan, SET_CMDLET, unchanged_since_plan=unchanged_since_plan,
                      verify=lambda: verify(shell, plan), mismatch=mismatch,
                      recheck_after_s=recheck_after_s)


# ---------------------------------------------------------------------------------------------
# Retiring a server


@dataclass
class DecommissionPlan:
    """Removing one server from every Send connector that lists it.

    Args:
        server: the server being retired, by its name.
        steps: one SourceTransportServers plan per connector that lists the server.
        not_listed: connectors that do not list it (nothing to do there).
        replace_with: servers added where the retired server is the only source server.
        problems: blockers of the whole plan, for example an unknown server.
    """

    server: str
    steps: list[SendConnectorPlan] = field(default_factory=list)
    not_listed: list[str] = field(default_factory=list)
    replace_with: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def blockers(self) -> list[str]:
        """Every broken rule; one refused connector refuses the whole plan, so no connector
        is left half-done while the server is switched off."""
        every = self.problems + [b for step in self.steps for b in step.blockers]
        return list(dict.fromkeys(every))

    @property
    def warnings(self) -> list[str]:
        return [w for step in self.steps for w in step.warnings]

    @property
    def changed(self) -> bool:
        return any(step.changed for step in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {"server": self.server, "steps": [s.to_dict() for s in self.steps],
                "not_listed": list(self.not_listed), "replace_with": list(self.replace_with),
                "blockers": self.blockers, "warnings": self.warnings, "changed": self.changed}


@dataclass
class DecommissionResult:
    """How each connector's change ended, in the order applied."""

    outcome: str
    steps: dict[str, ApplyResult] = field(default_factory=dict)

    @property
    def verifications(self) -> list[SendVerification]:
        return [r.verification for r in self.steps.values()
                if isinstance(r.verification, SendVerification)]

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome,
                "steps": {identity: r.to_dict() for identity, r in self.steps.items()}}


def plan_decommission(
    shell: Shell,
    server: str,
    *,
    replace_with: str | Iterable[str] | None = None,
) -> DecommissionPlan:
    """Plan removing ``server`` from every Send connector that lists it; only reads.

    Where the server is a connector's only source server, the list would end up empty and the
    plan is refused for that connector, unless ``replace_with`` names servers to add there in
    the same Set call. An Edge server is refused: it is retired with Remove-EdgeSubscription,
    and the connectors EdgeSync maintains for it are not edited here.

    Args:
        shell: where to read from.
        server: the server being retired, by name or FQDN.
        replace_with: servers to add where ``server`` is the only source server.
    """
    retiring = read_server_names(server, source="parameter server")
    replacements = read_server_names(replace_with, source="parameter replace_with")
    if len(retiring) != 1:
        raise InputError(server, "name exactly one server", source="parameter server",
                         accepted=SERVER_ACCEPTED)
    logger.info("planning the removal of %s from every Send connector", server)
    servers = _Servers(organization_servers(shell))
    found = servers.find(retiring[0].value)
    name = found.name if found else retiring[0].value
    plan = DecommissionPlan(name, replace_with=[r.value for r in replacements])
    # checked here too, so a bad replacement is refused even where no connector needs it
    plan.problems += _resolve_additions(replacements, servers)[1]

    listing = []
    for connector in send_connectors(shell):
        if name.lower() in {s.lower() for s in connector.source_transport_servers}:
            listing.append(connector)
        else:
            plan.not_listed.append(connector.identity)
    if found is None and not listing:
        plan.problems.append(f"{server} (parameter server): no Exchange server of that name, "
                             f"and no Send connector lists it (servers: {servers.names})")
    if found is not None and found.is_edge:
        # Its connectors belong to EdgeSync; handing them to a Mailbox server would be wrong.
        plan.problems.append(
            f"{name} is an Edge Transport server. An Edge server is retired by removing its "
            f"Edge Subscription (Remove-EdgeSubscription {name}), not by editing the Send "
            f"connectors EdgeSync maintains for it ({_names(c.identity for c in listing)}); "
            "this runbook retires Mailbox servers only.")
        return plan
    for connector in listing:
        only = len(connector.source_transport_servers) == 1
        plan.steps.append(_plan_source_servers(
            connector, servers, replacements if only else [], retiring,
            when_empty=f"Name a server in replace_with to take over from {name} there, or "
                       "change that connector first."))
    if not plan.blockers:  # a refused plan says nothing about what applying it would do
        for connector, step in zip(listing, plan.steps, strict=True):
            _warn_reach(step, connector)
    return plan


def apply_decommission(
    shell: Shell,
    plan: DecommissionPlan,
    on_applied: Callable[[SendConnectorPlan, ApplyResult], None] | None = None,
    *,
    recheck_after_s: float = RECHECK_AFTER_S,
) -> DecommissionResult:
    """Apply the plan connector by connector, verifying each before the next.

    Args:
        on_applied: called after each connector is changed and verified, so a record keeps
            what was done even when a later connector fails.
        recheck_after_s: as :func:`apply_plan`, for each connector.

    Raises:
        PlanRefused: any connector's plan is refused; nothing was sent anywhere.
        ConcurrentChange, OutcomeUnknown, VerificationFailed: as :func:`apply_plan`, for the
            connector being changed; the connectors before it stay changed.
    """
    refuse_if_blocked(plan)
    result = DecommissionResult("no-op")
    for step in plan.steps:
        applied = apply_plan(shell, step, recheck_after_s=recheck_after_s)
        result.steps[step.identity] = applied
        if applied.outcome == "applied":
            result.outcome = "applied"
        if on_applied is not None:
            on_applied(step, applied)
    return result


# ---------------------------------------------------------------------------------------------
# After the change

#: How the error of a failed queue check after an applied change opens: the record's first
#: line (the command line's error, the notebook's top cell) must not read as if the change
#: itself had failed.
