"""How a lingering-hosts review is shown in the notebook that is its record."""

from __future__ import annotations

import pandas as pd
from connector_runbooks.logs.display import show_table


def test_tables_are_shown_whole_with_long_text_and_many_rows(capsys):
    long_text = "EX01\\Relay Scanners: " + "x" * 120
    frame = pd.DataFrame({"note": [f"row {n}" for n in range(150)] + [long_text]})

    show_table(frame)

    shown = capsys.readouterr().out
    assert long_text in shown
    assert "row 75" in shown and "..." not in shown
