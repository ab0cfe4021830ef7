"""The simulated Exchange organization: the default target of every runbook.

``Organization(path).execute(cmdlet, parameters)`` plays Exchange Server 2016/2019 for the
connector cmdlets, with state kept in a JSON file (:func:`default_state_path`) that
:func:`reset_state` restores to the demo organization described in :mod:`.demo`.
"""

from .organization import Organization, default_state_path, reset_state

__all__ = ["Organization", "default_state_path", "reset_state"]
