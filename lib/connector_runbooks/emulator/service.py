"""The WS-Management shell service: shells, pipelines and the answers queued for each of them.

Each WSMan shell is one psrpcore :class:`~psrpcore.ServerRunspacePool`; each command is a
:class:`~psrpcore.ServerPipeline`. psrpcore packs outgoing fragments for only one target (the
pool, or one pipeline) per ``data_to_send`` call, and pypsrp decodes every stream of a Receive
reply as belonging to the target it asked about, so the answers are kept in one queue per
target and a Receive is answered from its target's queue only.

This module knows nothing of HTTP: :meth:`WSManService.handle` takes a SOAP envelope and
returns the status and envelope to send back.
"""

from __future__ import annotations

import base64
import collections
import logging
import threading
import time
import uuid
from dataclasses import dataclass

from psrpcore import (
    CreatePipelineEvent,
    GetAvailableRunspacesEvent,
    PSRPPayload,
    ResetRunspaceStateEvent,
    ServerPipeline,
    ServerRunspacePool,
    SetMaxRunspacesEvent,
    SetMinRunspacesEvent,
    StreamType,
)
from psrpcore.types import PSInvocationState, RunspacePoolState

from . import soap
from .faults import Fault
from .pipeline import PipelineRunner

logger = logging.getLogger(__name__)

EXCHANGE_RESOURCE_URI = "http://schemas.microsoft.com/powershell/Microsoft.Exchange"

_FINISHED = (PSInvocationState.Completed, PSInvocationState.Failed, PSInvocationState.Stopped)


class OperationTimedOut(Exception):
    """Nothing to answer a Receive with before its operation timeout."""


@dataclass
class Answer:
    """What to send back for one request.

    Args:
        status: the HTTP status (200, or 500 for a fault).
        body: the SOAP envelope.
        fault: a drop or delay fault that fired while the request ran; the HTTP layer loses or
            holds the answer accordingly.
    """

    status: int
    body: bytes
    fault: Fault | None = None


class ShellSession:
    """One open shell: a runspace pool, its pipelines and one answer queue per target.

    Args:
        shell_id: the shell id, which pypsrp sets to its runspace pool id.
        resource_uri: the resource URI the shell was created with.
        runner: runs the pipelines the client creates.
    """

    def __init__(self, shell_id: str, resource_uri: str, runner: PipelineRunner) -> None:
        self.shell_id = shell_id
        self.resource_uri = resource_uri
        self.runner = runner
        self.pool = ServerRunspacePool()
        self.closed = False
        self._queues: dict[uuid.UUID | None, collections.deque[bytes]] = {
            None: collections.deque()
        }
        self._changed = threading.Condition()

    def feed(
        self, data: bytes, pipeline_id: uuid.UUID | None, stream: str = "stdin"
    ) -> Fault | None:
        """Hand received PSRP data to the pool and act on every event it completes.

        Returns:
            A drop or delay fault that fired while a pipeline ran.
        """
        stream_type = StreamType.prompt_response if stream == "pr" else StreamType.default
        with self._changed:
            self.pool.receive_data(PSRPPayload(data, stream_type, pipeline_id))
            try:
                return self._process_events()
            finally:
                self._changed.notify_all()

    def create_pipeline(self, pipeline_id: uuid.UUID, data: bytes) -> Fault | None:
        """A Command request: the pipeline must exist before its first fragment is fed."""
        with self._changed:
            ServerPipeline(self.pool, pipeline_id)
            self._queues[pipeline_id] = collections.deque()
        return self.feed(data, pipeline_id)

    def _process_events(self) -> Fault | None:
        fired: Fault | None = None
        while (event := self.pool.next_event()) is not None:
            if isinstance(event, CreatePipelineEvent):
                pipe = self.pool.pipeline_table[event.pipeline_id]
                logger.debug("pipeline %s: %s", event.pipeline_id, self.runner.cmdlets(pipe))
                fired = self.runner.run(pipe) or fired
            elif isinstance(event, (SetMinRunspacesEvent, SetMaxRunspacesEvent,
                                    ResetRunspaceStateEvent)):
                self.pool.runspace_availability_response(event.ci, True)
            elif isinstance(event, GetAvailableRunspacesEvent):
                self.pool.runspace_availability_response(event.ci, 1)
        return fired

    def _drain(self, budget: int) -> None:
        while (payload := self.pool.data_to_send(budget)) is not None:
            self._queues.setdefault(payload.pipeline_id, collections.deque()).append(payload.data)

    def _finished(self, pipeline_id: uuid.UUID) -> bool:
        pipe = self.pool.pipeline_table.get(pipeline_id)
        return pipe is None or pipe.state in _FINISHED

    def receive(
        self, pipeline_id: uuid.UUID | None, budget: int, timeout: float, stopping: threading.Event
    ) -> tuple[list[bytes], bool]:
        """Wait for data for one target, up to just under ``timeout`` seconds.

        Returns:
            The chunks to send (at most ``budget`` bytes, at least one chunk), and whether the
            pipeline has finished and nothing of it is left to send.

        Raises:
            OperationTimedOut: nothing arrived in time.
        """
        # Answer a little before the client's operation timeout so the fault arrives before
        # its HTTP read timeout does.
        deadline = time.monotonic() + max(0.05, timeout - min(1.0, timeout / 10))
        with self._changed:
            while True:
                self._drain(budget)
                queue = self._queues.get(pipeline_id)
                if queue:
                    chunks = [queue.popleft()]
                    size = len(chunks[0])
                    while queue and size + len(queue[0]) <= budget:
                        size += len(queue[0])
                        chunks.append(queue.popleft())
                    done = pipeline_id is not None and not queue and self._finished(pipeline_id)
                    return chunks, done
                if pipeline_id is not None and self._finished(pipeline_id):
                    return [], True
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.closed or stopping.is_set():
                    raise OperationTimedOut()
                self._changed.wait(min(remaining, 0.5))

    def signal(self, pipeline_id: uuid.UUID, code: str) -> None:
        """Terminate forgets a pipeline; PowerShell's ctrl_c stops a running one."""
        with self._changed:
            pipe = self.pool.pipeline_table.get(pipeline_id)
            if code == soap.SIGNAL_PS_CTRL_C and pipe is not None:
                if pipe.state == PSInvocationState.Running:
                    pipe.stop()
            else:
                self.pool.pipeline_table.pop(pipeline_id, None)
                self._queues.pop(pipeline_id, None)
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self.closed = True
            self.pool.pipeline_table.clear()
            if self.pool.state == RunspacePoolState.Opened:
                self.pool.close()
            self._changed.notify_all()


class WSManService:
    """Answers WS-Management requests for the shells of one emulator.

    Args:
        runner: runs the pipelines.
        endpoint: the URL clients reach the service at, echoed in Create replies.
        resource_uri: the only configuration served (Exchange's).
        stopping: set when the emulator stops, so long polls end at once.
    """

    def __init__(
        self,
        runner: PipelineRunner,
        endpoint: str,
        *,
        resource_uri: str = EXCHANGE_RESOURCE_URI,
        stopping: threading.Event | None = None,
    ) -> None:
        self.runner = runner
        self.endpoint = endpoint
        self.resource_uri = resource_uri
        self.stopping = stopping or threading.Event()
        self.shells: dict[str, ShellSession] = {}
        self._lock = threading.Lock()

    def handle(self, data: bytes) -> Answer:
        """Answer one SOAP envelope."""
        try:
            request = soap.parse_request(data)
        except soap.SoapError as error:
            logger.warning("unreadable request: %s", error)
            return Answer(400, b"")
        if request.action == soap.GET and request.resource_uri == soap.SHELL_RESOURCE_URI:
            return self._get(request)
        if request.resource_uri.lower() != self.resource_uri.lower():
            logger.info("resource URI %s not served", request.resource_uri)
            return Answer(500, soap.fault(request, soap.RESOURCE_NOT_FOUND_CODE,
                                          soap.resource_not_found_text(request.resource_uri)))
        if request.action == soap.CREATE:
            return self._create(request)
        shell = self.shells.get(request.shell_id or "")
        if shell is None:
            return Answer(500, soap.fault(request, soap.INVALID_SELECTORS_CODE,
                                          soap.INVALID_SELECTORS_TEXT))
        handler = {
            soap.COMMAND: self._command,
            soap.SEND: self._send,
            soap.RECEIVE: self._receive,
            soap.SIGNAL: self._signal,
            soap.DELETE: self._delete,
            soap.GET: self._get,
        }.get(request.action)
        if handler is None:
            return Answer(500, soap.fault(request, soap.ACTION_NOT_SUPPORTED_CODE,
                                          f"The action {request.action} is not supported."))
        return handler(request, shell)

    def close(self) -> None:
        """Close every shell (the emulator is stopping)."""
        with self._lock:
            shells, self.shells = list(self.shells.values()), {}
        for shell in shells:
            shell.close()

    # --- actions -------------------------------------------------------------------------

    def _create(self, request: soap.Request) -> Answer:
        body = request.body
        creation = body.find("pwsh:creationXml", soap.NS) if body is not None else None
        if body is None or creation is None or not (creation.text or "").strip():
            return Answer(500, soap.fault(request, soap.ACTION_NOT_SUPPORTED_CODE,
                                          "A PowerShell shell needs creationXml."))
        shell_id = (body.attrib.get("ShellId") or str(uuid.uuid4())).upper()
        shell = ShellSession(shell_id, request.resource_uri, self.runner)
        with self._lock:
            self.shells[shell_id] = shell
        logger.info("runspace pool %s opened", shell_id)
        fault = shell.feed(base64.b64decode(creation.text), None)
        return Answer(200, soap.reply(
            request,
            soap.resource_created(self.endpoint, request.resource_uri, shell_id),
            soap.shell_element(shell_id, request.resource_uri),
        ), fault)

    def _command(self, request: soap.Request, shell: ShellSession) -> Answer:
        line = request.body
        command_id = line.attrib.get("CommandId") if line is not None else None
        if line is None or not command_id:
            return Answer(500, soap.fault(request, soap.ACTION_NOT_SUPPORTED_CODE,
                                          "A PowerShell command needs a CommandId."))
        arguments = line.find("rsp:Arguments", soap.NS)
        data = base64.b64decode((arguments.text or "") if arguments is not None else "")
        fault = shell.create_pipeline(uuid.UUID(command_id), data)
        response = soap.ET.Element(soap.rsp("CommandResponse"))
        soap.ET.SubElement(response, soap.rsp("CommandId")).text = command_id
        return Answer(200, soap.reply(request, response), fault)

    def _send(self, request: soap.Request, shell: ShellSession) -> Answer:
        fault = None
        streams = request.body.findall("rsp:Stream", soap.NS) if request.body is not None else []
        for stream in streams:
            command_id = stream.attrib.get("CommandId")
            pipeline_id = uuid.UUID(command_id) if command_id else None
            data = base64.b64decode(stream.text or "")
            fault = shell.feed(data, pipeline_id, stream.attrib.get("Name", "stdin")) or fault
        return Answer(200, soap.reply(request, soap.ET.Element(soap.rsp("SendResponse"))), fault)

    def _receive(self, request: soap.Request, shell: ShellSession) -> Answer:
        body = request.body
        desired = body.find("rsp:DesiredStream", soap.NS) if body is not None else None
        command_id = desired.attrib.get("CommandId") if desired is not None else None
        pipeline_id = uuid.UUID(command_id) if command_id else None
        try:
            chunks, done = shell.receive(
                pipeline_id,
                soap.payload_budget(request.max_envelope_size),
                request.operation_timeout,
                self.stopping,
            )
        except OperationTimedOut:
            return Answer(500, soap.fault(request, soap.OPERATION_TIMEOUT_CODE,
                                          soap.OPERATION_TIMEOUT_TEXT))
        response = soap.ET.Element(soap.rsp("ReceiveResponse"))
        for chunk in chunks:
            stream = soap.ET.SubElement(response, soap.rsp("Stream"), Name="stdout")
            if command_id:
                stream.set("CommandId", command_id)
            stream.text = base64.b64encode(chunk).decode()
        if done and command_id:
            state = soap.ET.SubElement(response, soap.rsp("CommandState"), CommandId=command_id,
                                       State=soap.COMMAND_STATE_DONE)
            soap.ET.SubElement(state, soap.rsp("ExitCode")).text = "0"
        return Answer(200, soap.reply(request, response))

    def _signal(self, request: soap.Request, shell: ShellSession) -> Answer:
        signal = request.body
        command_id = signal.attrib.get("CommandId") if signal is not None else None
        code = signal.find("rsp:Code", soap.NS) if signal is not None else None
        if command_id:
            code_text = (code.text or "").strip() if code is not None else ""
            shell.signal(uuid.UUID(command_id), code_text)
        return Answer(200, soap.reply(request, soap.ET.Element(soap.rsp("SignalResponse"))))

    def _delete(self, request: soap.Request, shell: ShellSession) -> Answer:
        with self._lock:
            self.shells.pop(shell.shell_id, None)
        shell.close()
        logger.info("runspace pool %s closed", shell.shell_id)
        return Answer(200, soap.reply(request))

    def _get(self, request: soap.Request, shell: ShellSession | None = None) -> Answer:
        """Only pypsrp's ``is_alive`` asks this: whether the shell still exists."""
        shell = shell or self.shells.get(request.shell_id or "")
        if shell is None:
            return Answer(500, soap.fault(request, soap.INVALID_SELECTORS_CODE,
                                          soap.INVALID_SELECTORS_TEXT))
        description = soap.shell_element(shell.shell_id, shell.resource_uri)
        return Answer(200, soap.reply(request, description))
