"""Progress in a log: one line per finished step, no carriage-return animation."""

import io

from recsys.progress import LineProgress, progress_bar, progress_note


def test_not_a_terminal_gives_one_line_per_step():
    out = io.StringIO()
    with progress_bar(total=3, desc="tune val/like bpr", unit="trial", file=out) as bar:
        assert isinstance(bar, LineProgress)
        bar.update(2)
        bar.set_postfix_str("best ndcg@100 0.0150")
    assert out.getvalue().startswith("tune val/like bpr: 2/3 trial in ")
    assert out.getvalue().endswith(" s (best ndcg@100 0.0150)\n") and "\r" not in out.getvalue()
    items = list(progress_bar([1, 2], desc="rank test", unit="target", file=out))
    assert items == [1, 2] and out.getvalue().splitlines()[-1].startswith("rank test: 2/2 target in ")
    progress_note(bar, "a note")
    assert out.getvalue().splitlines()[-1] == "a note"


def test_disabled_prints_nothing():
    out = io.StringIO()
    with progress_bar(total=3, desc="x", disable=True, file=out) as bar:
        bar.update(3)
    assert out.getvalue() == ""
