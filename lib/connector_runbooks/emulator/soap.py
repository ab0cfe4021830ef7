"""The WS-Management envelopes the emulator reads and writes, without any I/O.

A request is parsed into a :class:`Request` (action, message id, resource URI, selectors and
the sizes and timeouts the client asked for); replies and faults are built as bytes. Every reply
carries ``wsa:RelatesTo`` equal to the request's message id, because pypsrp rejects any reply
whose RelatesTo does not match what it sent.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsman": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "wsmv": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "wst": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "wsmanfault": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "pwsh": "http://schemas.microsoft.com/powershell",
}

for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

_TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
_SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"

CREATE = _TRANSFER + "Create"
DELETE = _TRANSFER + "Delete"
GET = _TRANSFER + "Get"
COMMAND = _SHELL + "Command"
RECEIVE = _SHELL + "Receive"
SEND = _SHELL + "Send"
SIGNAL = _SHELL + "Signal"

#: The resource URI of WinRM's shell listing, which pypsrp's ``is_alive`` asks with Get.
SHELL_RESOURCE_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"

COMMAND_STATE_DONE = _SHELL + "CommandState/Done"
SIGNAL_TERMINATE = _SHELL + "signal/Terminate"
SIGNAL_PS_CTRL_C = "powershell/signal/ctrl_c"

#: ERROR_WSMAN_OPERATION_TIMEDOUT: pypsrp polls again when a Receive ends with this code.
OPERATION_TIMEOUT_CODE = 2150858793
OPERATION_TIMEOUT_TEXT = (
    "The WS-Management service cannot complete the operation within the time specified in "
    "OperationTimeout."
)
#: ERROR_WSMAN_RESOURCE_NOT_FOUND: what plain WinRM answers for Exchange's configuration.
RESOURCE_NOT_FOUND_CODE = 2150858811
#: ERROR_WSMAN_INVALID_SELECTORS: a ShellId that names no open shell.
INVALID_SELECTORS_CODE = 2150858843
INVALID_SELECTORS_TEXT = (
    "The WS-Management service cannot process the request because the request contained "
    "invalid selectors for the resource."
)
#: ERROR_WSMAN_ACTION_NOT_SUPPORTED.
ACTION_NOT_SUPPORTED_CODE = 2150858771


def resource_not_found_text(resource_uri: str) -> str:
    """WinRM's text for a resource URI it does not host."""
    return (
        "The WS-Management service cannot process the request. The resource URI "
        f"({resource_uri}) was not found in the WS-Management catalog."
    )


class SoapError(Exception):
    """A request the emulator cannot read as a WS-Management envelope."""


@dataclass
class Request:
    """One parsed WS-Management request.

    Args:
        action: ``wsa:Action``, for example the Command action URI.
        message_id: ``wsa:MessageID``, echoed as ``wsa:RelatesTo``.
        resource_uri: ``wsman:ResourceURI``.
        max_envelope_size: ``wsman:MaxEnvelopeSize`` in bytes; replies must fit in it.
        operation_timeout: ``wsman:OperationTimeout`` in seconds.
        selectors: ``wsman:SelectorSet`` as name → value (ShellId for everything after Create).
        body: the first child of ``s:Body``, or None for an empty body.
    """

    action: str
    message_id: str
    resource_uri: str
    max_envelope_size: int = 153600
    operation_timeout: float = 20.0
    selectors: dict[str, str] = field(default_factory=dict)
    body: ET.Element | None = None

    @property
    def shell_id(self) -> str | None:
        value = self.selectors.get("ShellId")
        return value.upper() if value else None


_DURATION = re.compile(r"^PT(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$")


def parse_duration(text: str | None, default: float = 20.0) -> float:
    """``PT20S`` or ``PT1M30.5S`` → seconds."""
    match = _DURATION.match((text or "").strip())
    if not match or not any(match.groups()):
        return default
    minutes, seconds = match.groups()
    return float(minutes or 0) * 60 + float(seconds or 0)


def parse_request(data: bytes) -> Request:
    """Read one envelope; raise :class:`SoapError` when it is not one."""
    try:
        envelope = ET.fromstring(data)
    except ET.ParseError as error:
        raise SoapError(f"not XML: {error}") from None
    header = envelope.find("s:Header", NS)
    if header is None:
        raise SoapError("no s:Header")

    def text(path: str) -> str:
        element = header.find(path, NS)
        return (element.text or "").strip() if element is not None else ""

    selectors = {
        sel.attrib.get("Name", ""): (sel.text or "").strip()
        for sel in header.findall("wsman:SelectorSet/wsman:Selector", NS)
    }
    size_text = text("wsman:MaxEnvelopeSize")
    body = envelope.find("s:Body", NS)
    return Request(
        action=text("wsa:Action"),
        message_id=text("wsa:MessageID"),
        resource_uri=text("wsman:ResourceURI"),
        max_envelope_size=int(size_text) if size_text.isdigit() else 153600,
        operation_timeout=parse_duration(text("wsman:OperationTimeout")),
        selectors=selectors,
        body=body[0] if body is not None and len(body) else None,
    )


def payload_budget(max_envelope_size: int) -> int:
    """How many bytes of PSRP data fit in a reply to a request with this envelope size.

    The data travels base64-encoded (4 characters per 3 bytes) and the SOAP envelope around it
    needs room, so 4 KiB are kept for the envelope.
    """
    return max(1024, (max_envelope_size - 4096) * 3 // 4)


def rsp(name: str) -> str:
    """The qualified name of an ``rsp:`` element."""
    return f"{{{NS['rsp']}}}{name}"


def _envelope(request_id: str, action: str) -> tuple[ET.Element, ET.Element]:
    envelope = ET.Element(f"{{{NS['s']}}}Envelope")
    header = ET.SubElement(envelope, f"{{{NS['s']}}}Header")
    ET.SubElement(header, f"{{{NS['wsa']}}}Action").text = action
    ET.SubElement(header, f"{{{NS['wsa']}}}MessageID").text = f"uuid:{str(uuid.uuid4()).upper()}"
    ET.SubElement(header, f"{{{NS['wsa']}}}To").text = (
        "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
    )
    ET.SubElement(header, f"{{{NS['wsa']}}}RelatesTo").text = request_id
    body = ET.SubElement(envelope, f"{{{NS['s']}}}Body")
    return envelope, body


def reply(request: Request, *children: ET.Element) -> bytes:
    """The response to ``request``: its action + ``Response``, with ``children`` as the body."""
    envelope, body = _envelope(request.message_id, request.action + "Response")
    for child in children:
        body.append(child)
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=False)


def fault(request: Request | None, code: int, text: str, *, machine: str = "localhost") -> bytes:
    """A WS-Management fault envelope; the caller sends it with HTTP status 500.

    pypsrp reads the code from ``wsmanfault:WSManFault/@Code`` and the text from its Message.
    """
    s = NS["s"]
    envelope, body = _envelope(
        request.message_id if request else "", "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
    )
    soap_fault = ET.SubElement(body, f"{{{s}}}Fault")
    code_element = ET.SubElement(soap_fault, f"{{{s}}}Code")
    ET.SubElement(code_element, f"{{{s}}}Value").text = "s:Receiver"
    subcode = ET.SubElement(code_element, f"{{{s}}}Subcode")
    ET.SubElement(subcode, f"{{{s}}}Value").text = "w:InternalError"
    reason = ET.SubElement(soap_fault, f"{{{s}}}Reason")
    reason_text = ET.SubElement(reason, f"{{{s}}}Text")
    reason_text.text = text
    reason_text.set("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
    detail = ET.SubElement(soap_fault, f"{{{s}}}Detail")
    wsman_fault = ET.SubElement(
        detail, f"{{{NS['wsmanfault']}}}WSManFault", Code=str(code), Machine=machine
    )
    ET.SubElement(wsman_fault, f"{{{NS['wsmanfault']}}}Message").text = text
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=False)


def shell_element(shell_id: str, resource_uri: str) -> ET.Element:
    """``rsp:Shell`` describing an open shell, as Create and Get answer it."""
    shell = ET.Element(rsp("Shell"))
    ET.SubElement(shell, rsp("ShellId")).text = shell_id
    ET.SubElement(shell, rsp("ResourceUri")).text = resource_uri
    ET.SubElement(shell, rsp("State")).text = "Connected"
    ET.SubElement(shell, rsp("InputStreams")).text = "stdin pr"
    ET.SubElement(shell, rsp("OutputStreams")).text = "stdout"
    return shell


def resource_created(endpoint: str, resource_uri: str, shell_id: str) -> ET.Element:
    """``wst:ResourceCreated``; pypsrp copies its selectors for every later request from here."""
    created = ET.Element(f"{{{NS['wst']}}}ResourceCreated")
    ET.SubElement(created, f"{{{NS['wsa']}}}Address").text = endpoint
    parameters = ET.SubElement(created, f"{{{NS['wsa']}}}ReferenceParameters")
    ET.SubElement(parameters, f"{{{NS['wsman']}}}ResourceURI").text = resource_uri
    selector_set = ET.SubElement(parameters, f"{{{NS['wsman']}}}SelectorSet")
    ET.SubElement(selector_set, f"{{{NS['wsman']}}}Selector", Name="ShellId").text = shell_id
    return created
