"""The shell over pypsrp: WinRM/PSRP to Exchange's remote PowerShell endpoint.

One runspace pool serves a whole run: it opens on the first call, every call reuses it, and
:meth:`RemoteShell.close` closes it. Cmdlets go out only as commands with parameters
(``add_cmdlet``/``add_parameter``), because the endpoint runs in no-language mode and refuses
script text. A dict parameter travels as a Hashtable, which is how ``@{Add=...; Remove=...}``
reaches a multi-valued property.

What comes back is made into the plain records the simulated organization gives:

- properties are read from the adapted properties first, then the extended ones; remoting's
  own members (``PSComputerName``, ``RunspaceId``, ``PSShowComputerName``) are left out;
- multi-valued properties, which pypsrp 0.9.1 does not recognise and hands over as a raw
  ``<LST>`` CLIXML string, become lists of strings;
- sizes and flags go through :func:`connector_runbooks.shell.plain_record`.

Error records become :class:`~connector_runbooks.errors.ExchangeError`, including the
non-terminating ones pypsrp does not count in ``had_errors``; warnings go to the transcript.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from pypsrp.complex_objects import GenericComplexObject, PSInvocationState
from pypsrp.exceptions import AuthenticationError as PypsrpAuthenticationError
from pypsrp.exceptions import WinRMTransportError, WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import SelectorSet, WSMan

from .credentials import Credentials, credentials_for
from .errors import (
    AuthenticationError,
    ExchangeError,
    InputError,
    OutcomeUnknown,
    TransportError,
)
from .shell import Shell, is_mutating, plain_record

logger = logging.getLogger(__name__)


EXCHANGE_CONFIGURATION = "Microsoft.Exchange"
AUTH_METHODS = ("kerberos", "negotiate", "ntlm", "basic", "certificate")
#: Methods that give a session key, so plain HTTP can encrypt every message.
ENCRYPTING_METHODS = frozenset({"kerberos", "negotiate", "ntlm"})

#: Members PowerShell remoting adds to every object; not Exchange properties.
REMOTING_PROPERTIES = frozenset({"PSComputerName", "RunspaceId", "PSShowComputerName"})

#: System.Management.Automation.ErrorCategory, by number.
ERROR_CATEGORIES = (
    "NotSpecified", "OpenError", "CloseError", "DeviceError", "DeadlockDetected",
    "InvalidArgument", "InvalidData", "InvalidOperation", "InvalidResult", "InvalidType",
    "MetadataError", "NotImplemented", "NotInstalled", "ObjectNotFound", "OperationStopped",
    "OperationTimeout", "SyntaxError", "ParserError", "PermissionDenied", "ResourceBusy",
    "ResourceExists", "ResourceUnavailable", "ReadError", "WriteError", "FromStdErr",
    "SecurityError", "ProtocolError", "ConnectionError", "AuthenticationError",
    "LimitsExceeded", "QuotaExceeded", "NotEnabled",
)

#: WS-Management fault: the resource URI (the configuration) is not hosted there.
RESOURCE_NOT_FOUND = 2150858811

_OPTION_NAMES = (
    "auth", "username", "cert_validation", "ca_bundle", "connection_timeout",
    "operation_timeout", "read_timeout", "configuration_name", "allow_insecure_basic",
    "interactive", "negotiate_hostname_override", "negotiate_service", "negotiate_delegate",
    "negotiate_send_cbt", "certificate_pem", "certificate_key_pem",
)


# ---------------------------------------------------------------------------------------------
# Values


_ESCAPE_RUN = re.compile(r"(?:_x[0-9A-Fa-f]{4}_)+")


def decode_clixml_string(text: str | None) -> str:
    """Undo CLIXML's ``_xHHHH_`` escapes (control characters, ``_x`` itself, surrogates).

    Consecutive escapes are decoded together, so a surrogate pair written as two escapes
    becomes one character.
    """
    if not text:
        return ""

    def decode(match: re.Match[str]) -> str:
        units = bytes.fromhex("".join(re.findall(r"_x([0-9A-Fa-f]{4})_", match.group(0))))
        return units.decode("utf-16-be", errors="surrogatepass")

    return _ESCAPE_RUN.sub(decode, text)


_PRIMITIVE_TAGS = frozenset({"S", "URI", "Version", "G", "C", "B", "DT", "TS", "By", "SB", "U16",
                             "I16", "U32", "I32", "U64", "I64", "Sg", "Db", "D", "XD", "SBK"})


def _element_text(element: ET.Element, objects: dict[str, str | None]) -> str | None:
    """One list element as its display string; None for ``<Nil/>``."""
    tag = element.tag
    if tag == "Nil":
        return None
    if tag in _PRIMITIVE_TAGS:
        return decode_clixml_string(element.text)
    if tag == "Ref":
        return objects.get(element.attrib.get("RefId", ""))
    if tag == "Obj":
        text: str | None = None
        to_string = element.find("ToString")
        if to_string is not None:
            text = decode_clixml_string(to_string.text)
        else:
            # An object without ToString: an IPRange-like bag with an Expression property.
            expression = element.find("*/*[@N='Expression']")
            if expression is not None:
                text = decode_clixml_string(expression.text)
        objects[element.attrib.get("RefId", "")] = text
        return text
    return decode_clixml_string(element.text)


def parse_lst(xml: str) -> list[str]:
    """A raw ``<LST>…</LST>`` CLIXML string as a list of strings (``<Nil/>`` elements dropped).

    pypsrp 0.9.1 hands multi-valued properties over this way (Exchange's
    ``MultiValuedProperty`` is not a type it knows).
    """
    root = ET.fromstring(xml)
    objects: dict[str, str | None] = {}
    values = [_element_text(element, objects) for element in root]
    return [value for value in values if value is not None]


def _raw_list(value: GenericComplexObject) -> str | None:
    for item in value.property_sets:
        if isinstance(item, str) and item.lstrip().startswith("<LST"):
            return item
    return None


def plain_value(value: Any) -> Any:
    """One deserialized value as plain Python."""
    if isinstance(value, GenericComplexObject):
        raw = _raw_list(value)
        if raw is not None:
            return parse_lst(raw)
        if value.to_string is not None:
            return str(value.to_string)
        return plain_properties(value)
    if isinstance(value, (list, tuple)):
        return [plain_value(item) for item in value]
    if isinstance(value, dict):
        return {key: plain_value(item) for key, item in value.items()}
    return value


_CLIXML_DATETIME = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$"
)


def parse_clixml_datetime(text: str | None) -> dt.datetime | str | None:
    """A CLIXML ``<DT>`` value (.NET's round-trip form, up to 7 fractional digits).

    Returns the text unchanged when it is not in that form.
    """
    match = _CLIXML_DATETIME.match((text or "").strip())
    if not match:
        return text
    moment, fraction, zone = match.groups()
    value = moment + ("." + fraction[:6].ljust(6, "0") if fraction else "")
    if zone:
        value += "+00:00" if zone == "Z" else zone
    return dt.datetime.fromisoformat(value)


def _datetime_properties(obj: GenericComplexObject) -> dict[str, Any]:
    """The DateTime properties of ``obj``, as datetimes.

    pypsrp 0.9.1 gives a ``<DT>`` value as its text, indistinguishable from a string, so they
    are read again from the object's CLIXML, which pypsrp keeps in ``_xml``.
    """
    xml = getattr(obj, "_xml", None)
    if not isinstance(xml, str) or "<DT" not in xml:
        return {}
    root = ET.fromstring(xml)
    found: dict[str, Any] = {}
    for element in [*root.findall("Props/DT"), *root.findall("MS/DT")]:
        name = decode_clixml_string(element.attrib.get("N"))
        found.setdefault(name, parse_clixml_datetime(element.text))
    return found


def plain_properties(obj: GenericComplexObject) -> dict[str, Any]:
    """Adapted properties, then extended ones not already seen, without remoting's members."""
    properties: dict[str, Any] = {}
    for source in (obj.adapted_properties, obj.extended_properties):
        for name, value in source.items():
            if name not in properties and name not in REMOTING_PROPERTIES:
                properties[name] = plain_value(value)
    properties.update({name: value for name, value in _datetime_properties(obj).items()
                       if name in properties})
    return properties


def record_from_output(obj: Any) -> dict[str, Any]:
    """One output object as a plain record, the same shape the simulated shell returns."""
    if isinstance(obj, GenericComplexObject):
        return plain_record(plain_properties(obj))
    return {"Value": plain_value(obj)}


def category_name(number: Any) -> str:
    """An ErrorCategory number as its name."""
    try:
        return ERROR_CATEGORIES[int(number)]
    except (TypeError, ValueError, IndexError):
        return "NotSpecified"


def exchange_error(record: Any, cmdlet: str, *, terminating: bool) -> ExchangeError:
    """The shell's exception for one pypsrp error record."""
    message = str(record) or ""
    if not message and isinstance(getattr(record, "exception", None), GenericComplexObject):
        message = str(record.exception.adapted_properties.get("Message", ""))
    target = record.target_name or None
    target_object = getattr(record, "target_object", None)
    if not target and target_object is not None:
        target = str(plain_value(target_object))
    return ExchangeError(
        message or str(record.message or ""),
        cmdlet=cmdlet,
        category=category_name(record.category),
        reason=record.reason or "",
        target=target,
        fully_qualified_error_id=record.fq_error or "",
        terminating=terminating,
    )


def _wire(value: Any) -> Any:
    """A parameter value as pypsrp serializes it: lists as arrays, dicts as Hashtables."""
    if isinstance(value, (tuple, set, frozenset)):
        return [_wire(item) for item in value]
    if isinstance(value, list):
        return [_wire(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _wire(item) for key, item in value.items()}
    return value


# ---------------------------------------------------------------------------------------------
# Endpoint


@dataclass(frozen=True)
class Endpoint:
    """Where the endpoint is.

    Args:
        server: the host name (the Mailbox server's FQDN, which Kerberos needs) or address.
        port: 80 or 443 for Exchange's IIS endpoint.
        path: the URL path without its leading slash, normally ``PowerShell/``.
        ssl: HTTPS rather than HTTP.
    """

    server: str
    port: int
    path: str = "PowerShell/"
    ssl: bool = True

    @property
    def url(self) -> str:
        host = f"[{self.server}]" if ":" in self.server else self.server
        return f"{'https' if self.ssl else 'http'}://{host}:{self.port}/{self.path}"

    @property
    def is_loopback(self) -> bool:
        if self.server.lower() == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.server).is_loopback
        except ValueError:
            return False

    @classmethod
    def parse(cls, target: str) -> Endpoint:
        """``https://ex01.corp.example.com/PowerShell/`` → Endpoint.

        Raises:
            InputError: not an http(s) URL with a host, or a URL carrying credentials.
        """
        parts = urlsplit(target.strip())
        if parts.password is not None or parts.username is not None:
            raise InputError("<target with credentials>", "credentials never go in the target",
                             source="target", accepted="https://SERVER/PowerShell/")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(target, "not an http(s) URL with a server name", source="target",
                             accepted="https://SERVER/PowerShell/ or http://SERVER/PowerShell/")
        if parts.query or parts.fragment:
            raise InputError(target, "a query or fragment has no meaning here", source="target")
        ssl = parts.scheme == "https"
        try:
            port = parts.port or (443 if ssl else 80)
        except ValueError:
            raise InputError(target, "the port is not a number", source="target") from None
        # pypsrp builds scheme://server:port/ + path, so the path goes without its first slash.
        path = parts.path.lstrip("/") or "PowerShell/"
        return cls(parts.hostname, port, path, ssl)


def _checked_options(options: dict[str, Any]) -> dict[str, Any]:
    """The options given (None counts as not given); no password, nothing unknown."""
    options = {name: value for name, value in options.items() if value is not None}
    if any(name.lower() in ("password", "passwd", "secret") for name in options):
        raise InputError("<hidden>", "a password is never passed as an option",
                         source="password",
                         accepted="CONNECTOR_RUNBOOKS_PASSWORD, the keyring, or a prompt")
    unknown = sorted(set(options) - set(_OPTION_NAMES))
    if unknown:
        raise InputError(unknown[0], "unknown option for a remote target", source="options",
                         accepted=", ".join(_OPTION_NAMES))
    return options


def _encryption(endpoint: Endpoint, auth: str, allow_insecure_basic: bool) -> str:
    """pypsrp's encryption setting; refuses combinations that would expose the password."""
    if endpoint.ssl:
        return "auto"  # TLS protects the messages
    if auth == "certificate":
        raise InputError(endpoint.url, "certificate authentication needs HTTPS", source="target")
    if auth != "basic":
        return "auto"  # Kerberos, Negotiate and NTLM encrypt every message over HTTP
    if not (allow_insecure_basic and endpoint.is_loopback):
        raise InputError(endpoint.url, "Basic authentication over HTTP would send the password "
                         "in clear text", source="target",
                         accepted="https://… with auth='basic', or auth='kerberos', "
                         "'negotiate' or 'ntlm' over HTTP")
    logger.warning("Basic authentication without encryption to %s (tests only)", endpoint.url)
    return "never"


def _timeouts(options: dict[str, Any]) -> dict[str, float]:
    timeouts = {name: options.get(name, default) for name, default in
                (("connection_timeout", 30), ("operation_timeout", 20), ("read_timeout", 30))}
    for name, value in timeouts.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise InputError(value, "must be a positive number of seconds", source=name)
    if timeouts["read_timeout"] <= timeouts["operation_timeout"]:
        raise InputError(timeouts["read_timeout"], "must exceed operation_timeout, because a "
                         "Receive waits up to the operation timeout", source="read_timeout")
    return timeouts


# ---------------------------------------------------------------------------------------------
# The shell


class RemoteShell(Shell):
    """Runs cmdlets on Exchange's remote PowerShell endpoint over WinRM/PSRP.

    Build it with :meth:`from_target`, which checks the options and finds the credentials.

    Args:
        endpoint: where the endpoint is.
        credentials: who the session runs as.
        auth: ``kerberos``, ``negotiate``, ``ntlm``, ``basic`` or ``certificate``.
        encryption: pypsrp's message encryption: ``auto`` encrypts every message over HTTP,
            ``never`` (Basic on loopback, tests only).
        cert_validation: verify the server certificate (True), against a CA bundle (a path),
            or not at all (False, tests only).
        connection_timeout: seconds to wait for a TCP connection.
        operation_timeout: seconds the server may take before answering a poll.
        read_timeout: seconds to wait for an HTTP answer; more than ``operation_timeout``.
        configuration_name: the PSSession configuration, ``Microsoft.Exchange``.
        transport_options: further pypsrp WSMan options (negotiate_* and certificate_*).
    """

    transport = "remote"

    def __init__(
        self,
        endpoint: Endpoint,
        credentials: Credentials,
        *,
        auth: str = "kerberos",
        encryption: str = "auto",
        cert_validation: bool | str = True,
        connection_timeout: float = 30,
        operation_timeout: int = 20,
        read_timeout: float = 30,
        configuration_name: str = EXCHANGE_CONFIGURATION,
        transport_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.endpoint = endpoint
        self.credentials = credentials
        self.auth = auth
        self.encryption = encryption
        self.cert_validation = cert_validation
        self.connection_timeout = connection_timeout
        self.operation_timeout = operation_timeout
        self.read_timeout = read_timeout
        self.configuration_name = configuration_name
        self.transport_options = dict(transport_options or {})
        self._wsman: WSMan | None = None
        self._pool: RunspacePool | None = None
        self._lost_pool_ids: list[str] = []
        self.transcript.session.update({
            "endpoint": endpoint.url,
            "configuration_name": configuration_name,
            "auth": auth,
            "encryption": "TLS" if endpoint.ssl else "message" if encryption != "never" else "none",
            "username": credentials.username,
            "credentials_from": credentials.source,
            "runspace_pools": [],
        })

    # --- construction -----------------------------------------------------------------------

    @classmethod
    def from_target(cls, target: str, **options: Any) -> RemoteShell:
        """A shell for ``target``, for example ``https://ex01.corp.example.com/PowerShell/``.

        Args:
            target: the endpoint URL. HTTPS is the normal form; HTTP only with message
                encryption (Kerberos, Negotiate, NTLM).
            options: ``auth`` (``kerberos`` by default, ``negotiate``, ``ntlm``, ``basic``,
                ``certificate``), ``username`` (else ``CONNECTOR_RUNBOOKS_USERNAME``),
                ``cert_validation`` (True), ``ca_bundle`` (a CA file), ``connection_timeout``
                (30), ``operation_timeout`` (20), ``read_timeout`` (30),
                ``configuration_name`` (``Microsoft.Exchange``), ``interactive`` (allow a
                password prompt; by default only when a person is there),
                ``allow_insecure_basic`` (Basic over HTTP to loopback, for tests),
                ``negotiate_hostname_override``, ``negotiate_service``, ``negotiate_delegate``,
                ``negotiate_send_cbt``, ``certificate_pem``, ``certificate_key_pem``. Options
                given as None count as not given. The password is never an option: see
                :mod:`connector_runbooks.credentials`.

        Raises:
            InputError: an unknown option or an unsafe combination.
            AuthenticationError: no password could be found for a method that needs one.
        """
        options = _checked_options(options)
        endpoint = Endpoint.parse(target)
        auth = str(options.get("auth", "kerberos")).lower()
        if auth not in AUTH_METHODS:
            raise InputError(auth, "unknown authentication method", source="auth",
                             accepted=", ".join(AUTH_METHODS))
        encryption = _encryption(endpoint, auth, bool(options.get("allow_insecure_basic")))

        cert_validation: bool | str = bool(options.get("cert_validation", True))
        if options.get("ca_bundle"):
            cert_validation = str(options["ca_bundle"])
        if endpoint.ssl and cert_validation is False:
            logger.warning("certificate validation is off for %s", endpoint.url)

        timeouts = _timeouts(options)
        credentials = credentials_for(auth, options.get("username"),
                                      interactive=options.get("interactive"))
        transport_options = {name: value for name, value in options.items()
                             if name.startswith(("negotiate_", "certificate_"))}
        return cls(
            endpoint,
            credentials,
            auth=auth,
            encryption=encryption,
            cert_validation=cert_validation,
            connection_timeout=timeouts["connection_timeout"],
            operation_timeout=timeouts["operation_timeout"],
            read_timeout=timeouts["read_timeout"],
            configuration_name=str(options.get("configuration_name", EXCHANGE_CONFIGURATION)),
            transport_options=transport_options,
        )

    # --- session ----------------------------------------------------------------------------

    @property
    def runspace_pool_ids(self) -> list[str]:
        """Every runspace pool this shell opened, in order."""
        return list(self.transcript.session["runspace_pools"])

    def _new_wsman(self) -> WSMan:
        password = self.credentials.password
        return WSMan(
            self.endpoint.server,
            port=self.endpoint.port,
            path=self.endpoint.path,
            ssl=self.endpoint.ssl,
            auth=self.auth,
            username=self.credentials.username,
            password=password.reveal() if password is not None else None,
            cert_validation=self.cert_validation,
            encryption=self.encryption,
            connection_timeout=self.connection_timeout,
            operation_timeout=self.operation_timeout,
            read_timeout=self.read_timeout,
            # An environment proxy must not intercept a loopback emulator.
            no_proxy=self.endpoint.is_loopback,
            **self.transport_options,
        )

    def _open(self) -> RunspacePool:
        """Open the run's runspace pool (again, after a lost connection)."""
        wsman = self._new_wsman()
        self._forget_lost_pools(wsman)
        pool = RunspacePool(wsman, configuration_name=self.configuration_name)
        try:
            pool.open()
        except Exception as error:
            wsman.close()
            raise self._transport_failure(error) from error
        self._wsman, self._pool = wsman, pool
        self.transcript.session["runspace_pools"].append(pool.id)
        logger.info("runspace pool %s open on %s as %s", pool.id, self.endpoint.url,
                    self.credentials.describe())
        return pool

    def _lose(self) -> None:
        """Forget the pool after its connection failed; the next call opens a new one."""
        if self._pool is not None:
            self._lost_pool_ids.append(self._pool.id)
        if self._wsman is not None:
            self._wsman.close()
        self._pool = self._wsman = None

    def _forget_lost_pools(self, wsman: WSMan) -> None:
        """Ask the server to drop pools whose connection was lost, over the new connection."""
        resource_uri = f"http://schemas.microsoft.com/powershell/{self.configuration_name}"
        while self._lost_pool_ids:
            pool_id = self._lost_pool_ids.pop()
            selectors = SelectorSet()
            selectors.add_option("ShellId", pool_id)
            try:
                wsman.delete(resource_uri, selector_set=selectors)
            except Exception as error:  # noqa: BLE001 - only tidying up on the server
                logger.debug("could not close lost pool %s: %s", pool_id, type(error).__name__)

    def reconnect(self) -> None:
        """Close the runspace pool and open a new one (after a lost connection)."""
        logger.info("reconnecting to %s", self.endpoint.url)
        self._close_pool()
        self._open()

    def _close_pool(self) -> None:
        pool, wsman = self._pool, self._wsman
        self._pool = self._wsman = None
        if pool is not None:
            try:
                pool.close()
                logger.info("runspace pool %s closed", pool.id)
            except Exception as error:  # noqa: BLE001 - closing must not hide the run's result
                logger.warning("runspace pool %s did not close cleanly: %s", pool.id,
                               self._transport_failure(error))
        if wsman is not None:
            wsman.close()

    def close(self) -> None:
        """Close the run's runspace pool."""
        self._close_pool()
        self._lost_pool_ids.clear()

    # --- calls ------------------------------------------------------------------------------

    def _invoke(
        self, cmdlet: str, parameters: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], list[str]]:
        pool = self._pool or self._open()
        ps = PowerShell(pool)
        ps.add_cmdlet(cmdlet)
        for name, value in parameters.items():
            ps.add_parameter(name, _wire(value))
        sent = False
        try:
            ps.begin_invoke()
            sent = True
            ps.end_invoke()
        except Exception as error:
            self._lose()
            failure = self._transport_failure(error)
            if is_mutating(cmdlet) and (sent or self._may_have_run(error)):
                raise OutcomeUnknown(cmdlet, failure) from error
            raise failure from error
        self._release(ps)

        errors = list(ps.streams.error)
        if errors:
            failed = ps.had_errors or ps.state == PSInvocationState.FAILED
            # A failed pipeline's own record arrives last, in its PipelineState message.
            record = errors[-1] if failed else errors[0]
            error = exchange_error(record, cmdlet, terminating=failed)
            error.others = [exchange_error(other, cmdlet, terminating=False)
                            for other in errors if other is not record]
            raise error
        warnings = [str(w.message) for w in ps.streams.warning]
        return [record_from_output(obj) for obj in ps.output], warnings

    def _release(self, ps: PowerShell) -> None:
        """Let the server forget the finished pipeline; a failure here loses no result."""
        try:
            ps.close()
        except Exception as error:  # noqa: BLE001
            logger.debug("pipeline close failed: %s", type(error).__name__)
            self._lose()

    @staticmethod
    def _may_have_run(error: BaseException) -> bool:
        """Whether a failure while sending the call may still have let it run."""
        if isinstance(error, (PypsrpAuthenticationError, WSManFaultError, requests.ConnectTimeout)):
            return False
        if isinstance(error, requests.ConnectionError):
            # A refused new connection carried nothing; a dropped one may have.
            return "NewConnectionError" not in repr(error)
        return True

    def _transport_failure(self, error: BaseException) -> TransportError:
        """Any pypsrp, requests or pyspnego failure as the shell's exception; no secret."""
        where = self.endpoint.url
        if isinstance(error, TransportError):
            return error
        if isinstance(error, PypsrpAuthenticationError) or type(error).__module__.startswith(
            "spnego"
        ):
            who = self.credentials.username or "the current Kerberos ticket"
            return AuthenticationError(
                f"{where} refused the credentials of {who} ({self.auth} authentication, "
                f"password from {self.credentials.source}). Check the user name and password, "
                "and that the endpoint accepts this method."
            )
        if isinstance(error, WSManFaultError):
            text = f"{where}: WS-Management fault {error.code}: {error.reason}"
            if error.code == RESOURCE_NOT_FOUND:
                text += (f" (is this Exchange's /PowerShell/ endpoint? plain WinRM does not "
                         f"host {self.configuration_name})")
            return TransportError(text)
        if isinstance(error, requests.exceptions.SSLError):
            return TransportError(f"{where}: TLS failed ({error}); a private CA needs ca_bundle=")
        if isinstance(error, requests.Timeout):
            return TransportError(f"{where}: no answer in time ({type(error).__name__})")
        if isinstance(error, requests.ConnectionError):
            return TransportError(f"{where}: connection failed or dropped ({_first_line(error)})")
        if isinstance(error, WinRMTransportError):
            return TransportError(f"{where}: HTTP {error.code} from the endpoint")
        if "gssapi" in str(error).lower() or "krb5" in str(error).lower():
            return TransportError(
                f"{where}: {self.auth} authentication needs Kerberos support on this machine "
                "(on Linux and macOS: the system's Kerberos libraries, then `pip install "
                "pyspnego[kerberos]`, and a ticket from kinit; Windows has it built in), or "
                f"use auth='ntlm' ({_first_line(error)})")
        return TransportError(f"{where}: {type(error).__name__}: {_first_line(error)}")


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
