from click.testing import CliRunner

from recsys.cli import main


def test_generate_writes_validates_and_reports(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_DATA_DIR", str(tmp_path / "root"))
    monkeypatch.setenv("RECSYS_SIZE", "tiny")
    result = CliRunner().invoke(main, ["generate", "--seed", "42"])
    assert result.exit_code == 0, result.output
    assert "1,000,000 listens" in result.output
    assert (tmp_path / "root/flat/tiny/multi_event.parquet").exists()
    again = CliRunner().invoke(main, ["generate", "--seed", "7"])
    assert again.exit_code != 0 and "--force" in again.output
