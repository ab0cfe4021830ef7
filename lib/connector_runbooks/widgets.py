"""ipywidgets views for a person driving a runbook in Jupyter.

The editor only ever plans: it reads the connector, parses what is typed, and shows the plan as
it would be applied. Applying stays with the runbook's Apply step, so the executed notebook
remains the one record of what was changed.
"""

from __future__ import annotations

import ipywidgets as w
from IPython.display import Markdown, display

from . import display as views
from .errors import RunbookError
from .plan import plan_remote_ip_ranges
from .shell import Shell


class RangesEditor(w.VBox):
    """Type entries to add and remove, press Plan, read the plan.

    Args:
        shell: the connected shell; only Get- cmdlets are sent.
        connector: the Receive connector, ``SERVER\\Name``.
    """

    def __init__(self, shell: Shell, connector: str) -> None:
        self.shell = shell
        self.connector = connector
        self.to_add = w.Textarea(description="Add", placeholder="10.0.0.5\n10.0.1.0/28",
                                 layout=w.Layout(width="45%", height="8em"))
        self.to_remove = w.Textarea(description="Remove", placeholder="10.0.0.9",
                                    layout=w.Layout(width="45%", height="8em"))
        self.allow_risky = w.Checkbox(description="allow risky ranges", value=False)
        self.plan_button = w.Button(description="Plan", button_style="info",
                                    tooltip="Read the connector and show the plan")
        self.output = w.Output()
        self.plan_button.on_click(lambda _: self.refresh())
        super().__init__([
            w.HTML(f"<b>{connector}</b>: type entries, one or more a line, then press Plan. "
                   "Nothing is applied from here; copy the entries into the parameters to apply."),
            w.HBox([self.to_add, self.to_remove]),
            w.HBox([self.allow_risky, self.plan_button]),
            self.output,
        ])

    def refresh(self) -> None:
        """Plan what the text boxes hold and show it (or the input errors)."""
        self.output.clear_output()
        with self.output:
            try:
                plan = plan_remote_ip_ranges(self.shell, self.connector,
                                             add=self.to_add.value, remove=self.to_remove.value,
                                             allow_risky=self.allow_risky.value)
            except RunbookError as error:
                display(Markdown(f"**Not accepted:**\n\n```\n{error}\n```"))
                return
            views.show_plan(plan)
