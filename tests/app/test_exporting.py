"""An export that fails says why in words and offers one click to try again (ui/exporting.py)."""

import pytest

import exports
from ui.exporting import failure_reason, made_file


class BrowserClosedError(RuntimeError):
    """Named as choreographer's, raised when the export browser dies mid-file."""


@pytest.mark.parametrize(("error", "said"), [
    (TimeoutError(), "the export browser did not answer in time"),
    (BrowserClosedError(), "the export browser stopped"),
    (BrowserClosedError("Chromium exited with code -9"), "the export browser stopped: Chromium exited with code -9"),
    (RuntimeError(""), "RuntimeError"),
    (ValueError("\n  width must be positive\n  (got -1)"), "width must be positive"),
])
def test_a_failure_reason_is_one_readable_line_never_empty(error, said):
    assert failure_reason(error) == said


def test_a_failed_export_says_why_and_one_click_tries_again(app, monkeypatch):
    def browser_died(*args, **kwargs):
        raise BrowserClosedError()

    monkeypatch.setattr(exports, "to_csv", browser_died)
    made_file.clear()  # files are shared across sessions: a CSV another test made is not this one
    app.selectbox(key="compare.export_format").set_value("csv").run()
    app.button(key="compare.export_make").click().run()
    assert not app.exception
    assert [e.value for e in app.error] == ["Could not make the CSV: the export browser stopped."]
    assert not app.get("download_button")

    monkeypatch.undo()  # the browser is back
    app.button(key="compare.export_retry").click().run()
    assert not app.exception and not app.error
    assert app.session_state["compare.export"][0] == "csv"
    assert app.get("download_button")
