from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_companies_list_prints_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["companies"]) == 0
    out = capsys.readouterr().out
    assert "acme-air\tAcme Air" in out and "bolt-bank" in out


def test_companies_validate_reports_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["companies", "validate"]) == 0
    assert "2 companies, valid" in capsys.readouterr().out


def test_invalid_registry_is_one_clear_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[companies.acme]\nname = "Acme"\nsla_minutes = -1\n[companies.acme.handles]\nx = ["a"]\n')
    assert main(["companies", "validate", "--file", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "'sla_minutes'" in err and str(bad) in err


def test_unknown_verb_and_bad_port_exit_non_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--port", "http"])
    assert exc.value.code == 2 and "--port must be a number" in capsys.readouterr().err


@pytest.mark.parametrize("verb", ["run", "serve", "companies"])
def test_every_verb_has_help(verb: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chalicelib", verb, "--help"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and "usage: python -m chalicelib" in result.stdout
