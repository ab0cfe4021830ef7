"""The loopback emulator: the simulated organization served over real WinRM/PSRP.

It speaks what Exchange's ``/PowerShell/`` endpoint speaks (WS-Management shells holding PSRP
runspace pools, configuration ``Microsoft.Exchange``, no-language mode), so the real remote
shell can be tried end to end on 127.0.0.1 before it touches production:

    with serve(port=0, users={"LAB\\\\admin": password}) as emulator:
        shell = connect(emulator.url, auth="ntlm", username="LAB\\\\admin")

Layers, each in its own module: :mod:`.soap` (envelopes), :mod:`.service` (shells, pipelines,
answer queues), :mod:`.pipeline` (running commands against the organization), :mod:`.auth`
(Basic, NTLM and message encryption), :mod:`.server` (HTTP), :mod:`.faults` (injected
failures), :mod:`.command` (the command line).
"""

from .command import main_emulator
from .faults import Fault, Faults
from .server import EmulatorServer, serve

__all__ = ["EmulatorServer", "Fault", "Faults", "main_emulator", "serve"]
