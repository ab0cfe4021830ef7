"""SMTP receive protocol logs for the simulated organization, generated deterministically.

The files have the shapes that real Exchange 2016/2019 front-end receive logs show (see the
reference page on protocol logs, section 6): hour-stamped upper-case names
(``RECVyyyymmddhh-N.LOG``), the five header lines at the top of every file, CRLF line ends
without a byte order mark, the banner quoted because its date has a comma, the EHLO reply with
two spaces after ``250``, the permissions line, STARTTLS with its certificate and TLS lines for
some clients, interleaved sessions, and sessions that run over the hour and so continue in the
next file.

Only connectors whose ProtocolLoggingLevel is ``Verbose`` leave lines, as on a real server:
hosts that use a connector with logging ``None`` send mail but nothing is written.

The same seed, hosts, servers and window always give byte-identical files.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import itertools
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

FIELDS = ("date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,"
          "event,data,context")

#: Exchange's default ReceiveProtocolLogMaxFileSize: a file rolls over to ``-N+1`` past it.
DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024

_EHLO_EXTENSIONS = ("SIZE 37748736 PIPELINING DSN ENHANCEDSTATUSCODES STARTTLS X-ANONYMOUSTLS "
                    "AUTH NTLM X-EXPS GSSAPI NTLM 8BITMIME BINARYMIME CHUNKING XRDST")
_EHLO_EXTENSIONS_TLS = ("SIZE 37748736 PIPELINING DSN ENHANCEDSTATUSCODES AUTH NTLM LOGIN "
                        "X-EXPS GSSAPI NTLM 8BITMIME BINARYMIME CHUNKING XRDST")
_PERMISSIONS_ANONYMOUS = ("SMTPSubmit SMTPAcceptAnySender SMTPAcceptAuthoritativeDomainSender "
                          "AcceptRoutingHeaders")
_PERMISSIONS_RELAY = ("SMTPSubmit SMTPAcceptAnyRecipient SMTPAcceptAnySender "
                      "SMTPAcceptAuthoritativeDomainSender AcceptRoutingHeaders")
_PERMISSIONS_AUTHENTICATED = ("SMTPSubmit SMTPAcceptAnyRecipient SMTPAcceptAnySender "
                              "SMTPAcceptAuthoritativeDomainSender BypassAntiSpam "
                              "AcceptRoutingHeaders")
_TLS_RESULT = ("TLS protocol SP_PROT_TLS1_2_SERVER negotiation succeeded using bulk encryption "
               "algorithm CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA_384 "
               "with strength 384 bits and key exchange algorithm CALG_ECDH_EPHEM with strength "
               "384 bits")
_CERTIFICATE_CONTEXT = ("Sending certificate Subject Issuer name Serial number Thumbprint "
                        "Not before Not after Subject alternate names")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: What a host does in each session.
KINDS = ("relay", "refused", "inbound", "authenticated", "failed-login")


@dataclass(frozen=True)
class SimulatedHost:
    """A client that connects to one Receive connector on a schedule.

    Args:
        address: the client's IP address, as the connector sees it.
        ehlo: the name the client sends in EHLO (or HELO when ``helo`` is set).
        connector: the connector's identity, ``SERVER\\Name``, as the log writes it.
        kind: what a session does: ``relay`` (anonymous relay accepted), ``refused``
            (relay refused with 550 5.7.54), ``inbound`` (mail for the organization's own
            domains), ``authenticated`` (AUTH LOGIN, then relay), ``failed-login`` (AUTH
            refused after a tarpit).
        sessions_per_day: the average number of sessions on a day the host is active.
        days_of_month: when set, the host is active only on these days (a monthly job).
        tls: whether the client uses STARTTLS.
        helo: greet with HELO instead of EHLO, as some old devices do.
        user: the account an ``authenticated`` or ``failed-login`` host logs on with.
        hours: the UTC hours of the day the host is active, start inclusive, end exclusive.
        recipients: recipient addresses the host writes to, used in turn.
    """

    address: str
    ehlo: str
    connector: str
    kind: str = "relay"
    sessions_per_day: float = 4.0
    days_of_month: tuple[int, ...] | None = None
    tls: bool = False
    helo: bool = False
    user: str | None = None
    hours: tuple[int, int] = (6, 19)
    recipients: tuple[str, ...] = ("helpdesk@corp.example.com",)


@dataclass(frozen=True)
class SimulatedServer:
    """The Exchange server whose front-end receive log is written.

    Args:
        name: the short server name, as in connector identities (``EX01``).
        fqdn: the name the server greets with.
        addresses: its IPv4 address and optionally an IPv6 address; the local endpoint.
        utc_offset_minutes: the server's time zone, used only in the banner text, which
            shows local time as real banners do.
        hosts: the clients whose sessions are written.
    """

    name: str
    fqdn: str
    addresses: tuple[str, ...]
    utc_offset_minutes: int = 60
    hosts: tuple[SimulatedHost, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------------------------------------
# Sessions


@dataclass
class _Session:
    start_ms: int
    host: SimulatedHost
    split_over_hour: bool = False
    session_id: str = ""
    port: int = 0


def _csv_field(text: str) -> str:
    if "," in text or '"' in text:
        return '"' + text.replace('"', '""') + '"'
    return text


_DAY_TEXT: dict[int, str] = {}


def _timestamp(ms: int) -> str:
    """Milliseconds since 1970 as the log writes them: ``2024-05-06T08:15:02.121Z``."""
    day, rest = divmod(ms, 86_400_000)
    prefix = _DAY_TEXT.get(day)
    if prefix is None:
        prefix = (_dt.date(1970, 1, 1) + _dt.timedelta(days=day)).isoformat()
        _DAY_TEXT[day] = prefix
    seconds, millis = divmod(rest, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{prefix}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


def _banner_date(ms: int, offset_minutes: int) -> str:
    local = _dt.datetime(1970, 1, 1) + _dt.timedelta(milliseconds=ms, minutes=offset_minutes)
    sign = "+" if offset_minutes >= 0 else "-"
    offset = f"{sign}{abs(offset_minutes) // 60:02d}{abs(offset_minutes) % 60:02d}"
    return (f"{_WEEKDAYS[local.weekday()]}, {local.day} {_MONTHS[local.month - 1]} {local.year} "
            f"{local:%H:%M:%S} {offset}")


def _endpoint(address: str, port: int) -> str:
    # .NET writes an IPv6 endpoint as [address]:port.
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _session_events(server: SimulatedServer, session: _Session, rng: random.Random
                    ) -> list[tuple[int, str, str, str]]:
    """The (offset ms, event, data, context) lines of one session, in order."""
    host = session.host
    fqdn = server.fqdn
    t = 0
    lines: list[tuple[int, str, str, str]] = []

    def add(event: str, data: str = "", context: str = "", step: int | None = None) -> None:
        nonlocal t
        t += rng.randint(1, 40) if step is None else step
        lines.append((t, event, data, context))

    greeting = "HELO" if host.helo else "EHLO"
    add("+", step=0)
    add(">", f"220 {fqdn} Microsoft ESMTP MAIL Service ready at "
             f"{_banner_date(session.start_ms, server.utc_offset_minutes)}")
    add("<", f"{greeting} {host.ehlo}")
    hello = f"[{host.address}]"
    add(">", f"250  {fqdn} Hello {hello} {_EHLO_EXTENSIONS}")
    if host.tls:
        add("<", "STARTTLS")
        add(">", "220 2.0.0 SMTP server ready")
        add("*", f" CN={fqdn}, OU=IT, O=Contoso Ltd, L=Zurich, C=CH CN=Contoso Issuing CA 1, "
                 f"DC=corp, DC=example, DC=com 4F00000012A3B4C5D6E7F800000000012A "
                 f"8D2C4B1E7A90F3C6D5B4A39281706F5E4D3C2B1A 2024-01-15T09:12:00.000Z "
                 f"2026-01-14T09:12:00.000Z {fqdn};autodiscover.corp.example.com",
            _CERTIFICATE_CONTEXT)
        add("*", "", _TLS_RESULT)
        add("*", "", "Client certificate chain validation status: 'EmptyCertificate'")
        add("*", "", "TlsDomainCapabilities='None'; Status='NoRemoteCertificate'")
        add("<", f"{greeting} {host.ehlo}")
        add(">", f"250  {fqdn} Hello {hello} {_EHLO_EXTENSIONS_TLS}")
    if session.split_over_hour:
        # A slow client: the session stays open over the hour, so the file rolls over in the
        # middle of it and the rest lands in the next hour's file.
        t += 4000

    if host.kind in ("authenticated", "failed-login"):
        add("<", "AUTH LOGIN" if rng.random() < 0.7 else "AUTH login")
        add(">", "334 <authentication response>")
        add(">", "334 <authentication response>")
        if host.kind == "failed-login":
            add("*", "", "Inbound AUTH LOGIN failed because of LogonDenied")
            add("*", "", f"User Name: {host.user or 'unknown'}")
            add("*", "Tarpit for '0.00:00:05' due to '535 5.7.3 Authentication unsuccessful'")
            add(">", "535 5.7.3 Authentication unsuccessful", step=5000)
            add("-", "", "Remote(ConnectionReset)", step=rng.randint(5, 300))
            return lines
        add("*", host.user or "", "authenticated")
        add(">", "235 2.7.0 Authentication successful")

    sender = f"{host.ehlo.split('.')[0]}@corp.example.com"
    add("<", f"MAIL FROM:<{sender}>" + (" SIZE=10240" if rng.random() < 0.5 else ""))
    permissions = {"relay": _PERMISSIONS_RELAY, "authenticated": _PERMISSIONS_AUTHENTICATED
                   }.get(host.kind, _PERMISSIONS_ANONYMOUS)
    add("*", permissions, "Set Session Permissions")
    add("*", f"{session.session_id};{_timestamp(session.start_ms)};1", "receiving message")
    add(">", "250 2.1.0 Sender OK")

    count = 1 + (rng.random() < 0.3) + (rng.random() < 0.1)
    recipients = [host.recipients[(session.port + i) % len(host.recipients)]
                  for i in range(count)]
    accepted = 0
    for recipient in recipients:
        add("<", f"RCPT TO:<{recipient}>")
        if host.kind == "refused":
            add(">", "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain")
        else:
            add(">", "250 2.1.5 Recipient OK")
            accepted += 1
    if accepted:
        size = rng.randint(2_000, 900_000)
        seconds = size / rng.randint(150_000, 2_000_000)
        add("<", "DATA")
        add(">", "354 Start mail input; end with <CRLF>.<CRLF>")
        add("*", "", f"Proxy destination(s) obtained from OnProxyInboundMessage event. "
                     f"Correlation Id:{_guid(rng)}")
        add(">", f"250 2.6.0 <{_guid(rng)}@{fqdn}> [InternalId={rng.randint(10**12, 10**13)}, "
                 f"Hostname={fqdn}] {size} bytes in {seconds:.3f}, "
                 f"{size / 1024 / max(seconds, 0.001):.3f} KB/sec Queued mail for delivery",
            step=int(seconds * 1000) + rng.randint(5, 60))
    add("<", "QUIT")
    add(">", "221 2.0.0 Service closing transmission channel")
    add("-", "", "Local")
    return lines


def _guid(rng: random.Random) -> str:
    digits = f"{rng.getrandbits(128):032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _active_today(host: SimulatedHost, day: _dt.date) -> bool:
    return host.days_of_month is None or day.day in host.days_of_month


def _sessions_of_day(server: SimulatedServer, day: _dt.date, seed: int) -> list[_Session]:
    day_ms = int(_dt.datetime(day.year, day.month, day.day).replace(
        tzinfo=_dt.timezone.utc).timestamp() * 1000)
    sessions: list[_Session] = []
    for host in server.hosts:
        if not _active_today(host, day):
            continue
        rng = random.Random(f"{seed}|{server.name}|{host.connector}|{host.address}|{day}")
        # Spread the expected count over the day: a Poisson-like count without numpy.
        mean = host.sessions_per_day
        count = int(mean) + (rng.random() < mean - int(mean))
        if mean >= 3:
            count += rng.choice((-1, 0, 0, 0, 1))
        first, last = host.hours
        for _ in range(count):
            start = day_ms + rng.randint(first * 3_600_000, last * 3_600_000 - 1)
            sessions.append(_Session(start, host))
        if count and host.kind == "relay" and rng.random() < 0.25:
            # Now and then a session starts just before the hour and continues in the next
            # hour's file.
            hour = rng.randint(first + 1, max(first + 1, last - 1))
            sessions.append(_Session(day_ms + hour * 3_600_000 - 1_500, host,
                                     split_over_hour=True))
    return sessions


# ---------------------------------------------------------------------------------------------
# Files


class _FileWriter:
    """Writes lines into hour files, rolling over to ``-N+1`` past the size limit."""

    def __init__(self, folder: Path, max_file_size: int, log_type: str = "Receive") -> None:
        self.folder = folder
        self.max_file_size = max_file_size
        self.log_type = log_type
        self.prefix = "RECV" if log_type == "Receive" else "SEND"
        self.written: list[Path] = []
        self.bytes_written = 0

    def _header(self, first_ms: int) -> bytes:
        return ("#Software: Microsoft Exchange Server\r\n"
                "#Version: 15.0.0.0\r\n"
                f"#Log-type: SMTP {self.log_type} Protocol Log\r\n"
                f"#Date: {_timestamp(first_ms)}\r\n"
                f"#Fields: {FIELDS}\r\n").encode()

    def write_hour(self, hour_ms: int, lines: list[tuple[int, int, str]]) -> None:
        """Write one hour's lines, given as (time ms, order, text without the line end)."""
        lines.sort()
        stamp = _timestamp(hour_ms)
        name_stem = f"{self.prefix}{stamp[0:4]}{stamp[5:7]}{stamp[8:10]}{stamp[11:13]}"
        number = 1
        start = 0
        while start < len(lines):
            header = self._header(lines[start][0])
            chunk: list[str] = []
            size = len(header)
            end = start
            while end < len(lines) and (size < self.max_file_size or end == start):
                text = lines[end][2]
                chunk.append(text)
                size += len(text) + 2
                end += 1
            path = self.folder / f"{name_stem}-{number}.LOG"
            body = ("\r\n".join(chunk) + "\r\n").encode()
            path.write_bytes(header + body)
            self.written.append(path)
            self.bytes_written += len(header) + len(body)
            number += 1
            start = end


def write_receive_logs(
    folder: Path | str,
    server: SimulatedServer,
    *,
    end: _dt.date,
    days: int,
    seed: int = 1,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    stop_after_bytes: int | None = None,
    since: _dt.datetime | None = None,
    until: _dt.datetime | None = None,
) -> list[Path]:
    """Write ``server``'s front-end receive log for the ``days`` days before ``end``.

    Args:
        folder: the log folder to write into (the server's SmtpReceive folder); created.
        server: the server and the hosts that talk to it.
        end: the first day not covered; the log runs from ``end - days`` to ``end`` (UTC).
        days: how many days of log to write.
        seed: the same seed gives the same files, byte for byte.
        max_file_size: ReceiveProtocolLogMaxFileSize; a file past it continues in ``-N+1``.
        stop_after_bytes: stop at the end of the first day that brings the total past this,
            for generating a chosen volume.
        since: drop the hours before this moment, as Exchange deletes files past
            ReceiveProtocolLogMaxAge.
        until: drop the lines from this moment on: the log as it is at that time.

    Returns:
        The files written, in the order Exchange would have written them.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    writer = _FileWriter(folder, max_file_size)
    local = {4: server.addresses[0], 6: next((a for a in server.addresses if ":" in a),
                                            server.addresses[0])}
    # Session ids count up from a per-server base, as Exchange's do.
    base = (int.from_bytes(server.name.encode(), "big") * 7919 + seed) % (1 << 28)
    counter = 0x6C1A00000000 + base
    pending: dict[int, list[tuple[int, int, str]]] = {}
    order = itertools.count()
    since_hour = int(since.timestamp()) // 3600 if since else None
    until_ms = int(until.timestamp() * 1000) if until else None
    first_day = end - _dt.timedelta(days=days)
    logger.info("writing %d day(s) of %s receive log into %s", days, server.name, folder)

    for offset in range(days):
        day = first_day + _dt.timedelta(days=offset)
        sessions = _sessions_of_day(server, day, seed)
        sessions.sort(key=lambda s: (s.start_ms, s.host.address, s.host.connector))
        rng = random.Random(f"{seed}|{server.name}|lines|{day}")
        for session in sessions:
            counter += 1 + rng.randint(0, 3)
            session.session_id = f"08DC{counter & 0xFFFFFFFFFFFF:012X}"
            session.port = rng.randint(49152, 65535)
            host = session.host
            version = ipaddress.ip_address(host.address).version
            local_endpoint = _endpoint(local[version], 25)
            remote_endpoint = _endpoint(host.address, session.port)
            prefix = f"{_csv_field(host.connector)},{session.session_id},"
            middle = f",{local_endpoint},{remote_endpoint},"
            for sequence, (offset_ms, event, data, context) in enumerate(
                    _session_events(server, session, rng)):
                when = session.start_ms + offset_ms
                if until_ms is not None and when >= until_ms:
                    break
                text = (f"{_timestamp(when)},{prefix}{sequence}{middle}{event},"
                        f"{_csv_field(data)},{_csv_field(context)}")
                pending.setdefault(when // 3_600_000, []).append((when, next(order), text))

        # Every hour before the next day is complete: later sessions start later.
        next_day_hour = (int(_dt.datetime(day.year, day.month, day.day, tzinfo=_dt.timezone.utc)
                             .timestamp()) // 3600) + 24
        for hour in sorted(h for h in pending if h < next_day_hour):
            lines = pending.pop(hour)
            if since_hour is None or hour >= since_hour:
                writer.write_hour(hour * 3_600_000, lines)
        if stop_after_bytes is not None and writer.bytes_written >= stop_after_bytes:
            break

    for hour in sorted(pending):
        lines = pending.pop(hour)
        if since_hour is None or hour >= since_hour:
            writer.write_hour(hour * 3_600_000, lines)
    logger.info("wrote %d file(s), %d bytes", len(writer.written), writer.bytes_written)
    return writer.written


# ---------------------------------------------------------------------------------------------
# The demo organization's traffic


def _addresses_of(entry: str) -> list[str]:
    """A few client addresses inside one RemoteIPRanges entry as Exchange displays it."""
    text = entry.strip()
    if "-" in text:
        low, high = (ipaddress.ip_address(part.strip()) for part in text.split("-", 1))
        span = int(high) - int(low)
        return [str(low), str(ipaddress.ip_address(int(low) + span // 2))]
    if "/" in text:
        network = ipaddress.ip_network(text, strict=False)
        hosts = list(network.hosts()) if network.num_addresses > 2 else [network.network_address]
        return [str(hosts[0]), str(hosts[min(3, len(hosts) - 1)])]
    return [str(ipaddress.ip_address(text))]


def _printer_name(address: str, index: int) -> str:
    last = address.replace(":", ".").split(".")[-1] or "0"
    family = ("mfp", "scan", "prn", "copier")[index % 4]
    return f"{family}-{last}.corp.example.com"


def _is_default(connector: dict) -> bool:
    name = str(connector.get("Identity", "")).rpartition("\\")[2]
    return name.startswith(("Default ", "Client ", "Outbound Proxy "))


def demo_hosts(
    connectors: Sequence[dict],
    *,
    seed: int = 1,
    active_share: float = 0.6,
    refused_address: str = "10.20.9.77",
    ipv6_address: str = "fd00:10::50",
) -> list[SimulatedHost]:
    """The demo organization's clients for one server's Receive connectors.

    On each relay connector (a connector that setup did not create, with its own
    RemoteIPRanges), a share of the entries still has a device that sends; the others are
    silent. On the connector with most entries, one entry belongs to a monthly job that
    sends only on the first day of the month. The ``Default Frontend`` connector gets mail
    from the internal mail gateway (TLS), an application that authenticates, a device whose
    logon fails (tarpit), an IPv6 client, and a printer whose address is in no relay range,
    so its relay attempts are refused with 550 5.7.54.

    Args:
        connectors: ``Get-ReceiveConnector`` records of one server (plain dicts).
        seed: picks which entries are active.
        active_share: the share of relay entries that still have traffic.
    """
    hosts: list[SimulatedHost] = []
    relays = [c for c in connectors if c.get("RemoteIPRanges") and not _is_default(c)]
    largest = max(relays, key=lambda c: len(c.get("RemoteIPRanges") or []), default=None)
    rng = random.Random(f"{seed}|demo-hosts")
    for relay in relays:
        entries = [str(e) for e in relay["RemoteIPRanges"]]
        monthly = entries[len(entries) // 3] if relay is largest and entries else None
        for index, entry in enumerate(entries):
            # The IPv6 entry is always in use, so the demo always shows an IPv6 endpoint.
            if entry != monthly and ":" not in entry and rng.random() >= active_share:
                continue
            for number, address in enumerate(_addresses_of(entry)):
                if number and rng.random() < 0.5:
                    continue
                hosts.append(SimulatedHost(
                    address=address,
                    ehlo=_printer_name(address, index),
                    connector=str(relay["Identity"]),
                    kind="relay",
                    sessions_per_day=1.0 if entry == monthly else rng.choice((2.0, 5.0, 12.0)),
                    days_of_month=(1,) if entry == monthly else None,
                    tls=rng.random() < 0.3,
                    helo=rng.random() < 0.1,
                    hours=(2, 3) if entry == monthly else (6, 19),
                    recipients=("helpdesk@corp.example.com", "scans@corp.example.com",
                                "reports@partner.example.org"),
                ))
    default = next((c for c in connectors if str(c.get("Identity", "")).rpartition("\\")[2]
                    .startswith("Default Frontend")), None)
    if default is not None:
        identity = str(default["Identity"])
        hosts += [
            SimulatedHost("10.10.0.25", "mailgw01.corp.example.com", identity, "inbound", 40.0,
                          tls=True, hours=(0, 24),
                          recipients=("anna.meier@corp.example.com", "sales@corp.example.com")),
            SimulatedHost("10.45.0.15", "erp01.corp.example.com", identity, "authenticated", 6.0,
                          tls=True, user="CORP\\svc-erp",
                          recipients=("orders@partner.example.org", "billing@corp.example.com")),
            SimulatedHost("10.45.0.31", "hr-app.corp.example.com", identity, "failed-login", 3.0,
                          tls=True, user="svc-hr@corp.example.com"),
            SimulatedHost(ipv6_address, "monitor01.corp.example.com", identity, "inbound", 8.0,
                          recipients=("ops@corp.example.com",)),
            SimulatedHost(refused_address, f"[{refused_address}]", identity, "refused", 3.0,
                          recipients=("someone@partner.example.org",)),
        ]
    return hosts


def logging_connectors(connectors: Iterable[dict]) -> set[str]:
    """Identities of the connectors that write protocol log lines."""
    return {str(c.get("Identity")) for c in connectors
            if str(c.get("ProtocolLoggingLevel", "None")).lower() == "verbose"}


def logged_hosts(hosts: Iterable[SimulatedHost], connectors: Iterable[dict]
                 ) -> tuple[SimulatedHost, ...]:
    """The hosts whose sessions leave lines: those on connectors with logging ``Verbose``."""
    logging_on = {identity.lower() for identity in logging_connectors(connectors)}
    return tuple(h for h in hosts if h.connector.lower() in logging_on)
