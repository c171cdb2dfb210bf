"""environment.yml stays in sync with pyproject.toml; the CI entry point runs the README's command."""

import tomllib

import yaml

from helpers import ROOT


def _pip_section():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    return next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))


def test_every_runtime_dependency_in_environment_yml():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pip = _pip_section()
    assert sorted(deps) == sorted(p for p in pip if not p.startswith("-e"))
    assert any(p.startswith("-e .") for p in pip)


def test_torch_ranges_accept_local_wheels():
    from packaging.requirements import Requirement
    deps = {Requirement(d).name: Requirement(d) for d in
            tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    assert deps["torch"].specifier.contains("2.14.1")
    assert deps["torchvision"].specifier.contains("0.29.1")


def test_ci_runs_readme_test_command():
    assert "make test" in (ROOT / "README.md").read_text()
    assert "make test" in (ROOT / ".ci" / "run").read_text()
