from typer.testing import CliRunner

from risk_manager import __version__
from risk_manager.cli.main import app

runner = CliRunner()


def test_version_prints_the_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"risk-manager {__version__}"
    assert __version__ != "0.0.0"


def test_help_lists_the_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "risk manager" in result.stdout.lower()
