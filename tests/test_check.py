"""``python -m sdwidget check`` says steering is exact here, and says it is not when it is not."""

import subprocess
import sys

import sdwidget
from sdwidget import check


def test_check_reports_every_family_exact(capsys):
    assert check.main([]) == 0
    out = capsys.readouterr().out
    for family in ("SD ", "SDXL", "SD3", "Flux"):
        assert f"{family:5s} exact" in out
    assert "NOT" not in out and "Steering is exact here" in out


class OffByOne(sdwidget.Runner):
    """Steering one step late: every guidance schedule shifted by a step."""

    def start(self, prompt, **kwargs):
        schedule = kwargs.get("guidance_schedule")
        if schedule is not None:
            kwargs["guidance_schedule"] = schedule[1:] + schedule[-1:]
        return super().start(prompt, **kwargs)


def test_check_reports_broken_steering_as_not_exact(monkeypatch):
    monkeypatch.setattr(sdwidget, "Runner", OffByOne)
    lines = []
    outcomes = check.run_checks(lines.append)
    steered = [o for o in outcomes if "→" in o.what]
    assert {o.name for o in steered} == {"SD", "SDXL", "SD3", "Flux"}
    assert not any(o.exact for o in steered) and all(o.exact for o in outcomes if o not in steered)
    assert "max difference" in steered[0].detail
    assert lines[-1].startswith("Steering is NOT exact here for SD, SDXL, SD3, Flux")


def test_the_command_is_wired_and_refuses_arguments():
    done = subprocess.run([sys.executable, "-m", "sdwidget", "check", "--bogus"], capture_output=True, text=True)
    assert done.returncode == 2 and "usage: python -m sdwidget check" in done.stdout
