"""The container files, checked without building (tests/test_container.py builds and runs the image).

deploy/Dockerfile is linted by hadolint and parsed; its build steps are Makefile
targets, run here for real where they need no network; its HEALTHCHECK command
is run against real gunicorn. .dockerignore and deploy/docker-compose.yml are
checked against what the Dockerfile copies and what nginx.conf expects.
"""

import json
import os
import re
import shlex
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from tests.servers import ROOT, running_gunicorn

DOCKERFILE = ROOT / "deploy" / "Dockerfile"
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def dockerfile():
    return DockerfileParser(path=str(DOCKERFILE))


def instructions(dockerfile, name):
    return [item["value"] for item in dockerfile.structure if item["instruction"] == name]


def run_options(run):
    """The --options of a RUN step (--mount=...), and the command after them."""
    words = shlex.split(run)
    options = [word for word in words if word.startswith("--")]
    return options, run.split(options[-1], 1)[1] if options else run


def make_targets(dockerfile):
    """Each `make ...` command line of the RUN steps, as argument lists."""
    commands = []
    for run in instructions(dockerfile, "RUN"):
        for command in re.split(r"&&|\|\||;", run_options(run)[1]):
            words = shlex.split(command)
            if words and words[0] == "make":
                commands.append(words[1:])
    return commands


def makefile_variable(name):
    (value,) = re.findall(rf"^{name} :?= (.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    return value.strip()


def test_hadolint_finds_nothing():
    linted = subprocess.run(
        [str(VENV_BIN / "hadolint"), "--no-color", str(DOCKERFILE)], capture_output=True, text=True
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_image_is_debian_12_with_its_python_3_11(dockerfile):
    assert dockerfile.baseimage == "debian:bookworm-slim"
    (apt,) = [run for run in instructions(dockerfile, "RUN") if "apt-get install" in run]
    assert "python3 " in apt and "python3-venv" in apt
    (install,) = [words for words in make_targets(dockerfile) if words[0] == "install"]
    assert "PYTHON=python3.11" in install


def test_make_base_image_makes_the_image_the_dockerfile_starts_from(dockerfile):
    """Where no registry is reachable, `make base-image` imports it under the FROM name."""
    name = f"docker.io/library/{dockerfile.baseimage}"
    assert makefile_variable("BASE_IMAGE") == name
    recipe = " ".join(make_dry_run(["base-image"]))
    assert "mmdebstrap --quiet --variant=minbase bookworm" in recipe
    assert re.search(rf"import .* build/debian-bookworm\.tar {re.escape(name)}\b", recipe)


def test_the_install_step_takes_the_wheelhouse_make_fills_and_only_it(dockerfile):
    (run,) = [run for run in instructions(dockerfile, "RUN") if "make install" in run]
    options, _ = run_options(run)
    (mount,) = options
    fields = dict(field.split("=", 1) for field in mount.removeprefix("--mount=").split(","))
    assert fields["type"] == "bind"  # bound for the step: the wheels never land in a layer
    assert fields["source"] == makefile_variable("WHEELHOUSE_DIR")
    assert not ignored(f"{fields['source']}/pip-26.3-py3-none-any.whl")
    (install,) = [words for words in make_targets(dockerfile) if words[0] == "install"]
    assert f"WHEELHOUSE={fields['target']}" in install
    (pip_install,) = [line for line in make_dry_run(install) if "-r .venv/requirements.txt" in line]
    assert f"--no-index --find-links {fields['target']}" in pip_install


def test_service_runs_as_a_user_of_its_own(dockerfile):
    users = instructions(dockerfile, "USER")
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(f"--uid {users[-1].split(':')[0]}" in run for run in instructions(dockerfile, "RUN"))


def test_gunicorn_is_pid_1_with_the_deploy_config(dockerfile):
    (entrypoint,) = instructions(dockerfile, "ENTRYPOINT")
    # Exec form: no shell in between, gunicorn receives the stop signal itself.
    assert json.loads(entrypoint) == ["gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"]


def test_the_exposed_port_is_the_one_gunicorn_binds(dockerfile):
    (exposed,) = instructions(dockerfile, "EXPOSE")
    assert dockerfile.envs["OCR_BIND"] == f"0.0.0.0:{exposed}"


def make_dry_run(words):
    """The commands make would run for ``words``, remaking everything."""
    dry = subprocess.run(["make", "--dry-run", "--always-make", *words], cwd=ROOT, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    return dry.stdout.splitlines()


def requirements(*extras):
    listing = [sys.executable, "deploy/requirements.py", *extras]
    return subprocess.run(listing, cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()


def test_every_build_step_is_a_make_target_make_knows(dockerfile):
    targets = make_targets(dockerfile)
    assert [words[0] for words in targets] == ["install", "models", "official-models"]
    for words in targets:
        assert make_dry_run(words)


def test_the_image_installs_the_pinned_requirements_without_test_tools(dockerfile):
    (install,) = [words for words in make_targets(dockerfile) if words[0] == "install"]
    (listing,) = [line for line in make_dry_run(install) if "deploy/requirements.py" in line]
    image_requirements = requirements(*shlex.split(listing.split(">")[0])[2:])
    everything = requirements("test")
    assert image_requirements and set(image_requirements) < set(everything)
    assert all("==" in requirement for requirement in image_requirements)
    assert not any(requirement.startswith("pytest") for requirement in image_requirements)


def test_model_steps_bake_the_models_without_network(dockerfile, tmp_path):
    """Run the image's model steps here: the embedded models land where the image's config looks."""
    models = tmp_path / "models"
    env = {**os.environ, "OCR_MODEL_CACHE_DIR": str(models), "OCR_DET_MODEL_NAME": "", "OCR_REC_MODEL_NAME": ""}
    for words in make_targets(dockerfile):
        if words[0] == "models":
            # The venv exists already: never reinstall from a test.
            make = ["make", "--old-file=.venv/.installed", *words]
            subprocess.run(make, cwd=ROOT, env=env, check=True, capture_output=True)
    baked = sorted(path.name for path in models.glob("*/*"))
    # Detection and recognition with their inference.yml, and the line-orientation classifier.
    assert baked == ["inference.onnx"] * 3 + ["inference.yml"] * 2
    assert "OCR_MODEL_CACHE_DIR" in dockerfile.envs


def test_official_models_run_only_when_named_and_refuse_no_name(dockerfile):
    """Without a model name the target stops with an error saying what to set, rather than doing nothing;
    the image's step skips it then (the embedded models are used)."""
    env = {**os.environ, "OCR_DET_MODEL_NAME": "", "OCR_REC_MODEL_NAME": ""}
    make = ["make", "--old-file=.venv/.installed", "official-models"]
    refused = subprocess.run(make, cwd=ROOT, env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "set OCR_DET_MODEL_NAME" in refused.stderr
    (step,) = [run for run in instructions(dockerfile, "RUN") if "official-models" in run]
    skipped = subprocess.run(["sh", "-c", step], cwd=ROOT, env=env, capture_output=True, text=True)
    assert skipped.returncode == 0 and not skipped.stdout + skipped.stderr


def healthcheck_command(dockerfile):
    (healthcheck,) = instructions(dockerfile, "HEALTHCHECK")
    assert "--start-period=" in healthcheck
    return json.loads(healthcheck.split("CMD", 1)[1])


def run_healthcheck(dockerfile, base_url):
    # As in the image: the venv first on PATH, OCR_BIND naming gunicorn's port.
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", "OCR_BIND": base_url.removeprefix("http://")}
    command = healthcheck_command(dockerfile)
    return subprocess.run(command, env=env, capture_output=True, timeout=30).returncode


@pytest.mark.slow
def test_healthcheck_passes_once_the_engine_is_warm(dockerfile, tmp_path):
    with running_gunicorn(workers=1, env={"OCR_MODEL_CACHE_DIR": str(tmp_path / "models")}) as (_, base_url):
        assert run_healthcheck(dockerfile, base_url) == 0


@pytest.mark.slow
def test_healthcheck_fails_while_the_engine_is_not_loaded(dockerfile):
    env = {"OCR_LOAD_ENGINE": "0"}
    with running_gunicorn(workers=1, env=env, ready_path="/healthz") as (_, base_url):
        assert run_healthcheck(dockerfile, base_url) != 0


# --- .dockerignore ------------------------------------------------------------


def dockerignore_patterns():
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(path):
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    decision = False
    for pattern in dockerignore_patterns():
        negated = pattern.startswith("!")
        pattern = pattern.removeprefix("!")
        if pattern.startswith("**/"):
            matched = any(fnmatch(part, pattern[3:]) for part in parts)
        else:
            matched = any(fnmatch(prefix, pattern) for prefix in prefixes)
        if matched:
            decision = not negated
    return decision


def test_the_build_context_holds_what_the_dockerfile_copies(dockerfile):
    for copy in instructions(dockerfile, "COPY"):
        for source in copy.split()[:-1]:
            path = ROOT / source
            files = [source] if path.is_file() else [str(p.relative_to(ROOT)) for p in path.rglob("*.py")]
            assert files, f"COPY {source}: nothing there"
            assert not [name for name in files if ignored(name)], f"COPY {source} is in .dockerignore"


@pytest.mark.parametrize(
    "path",
    [".git/config", ".venv/bin/python", "tests/test_nginx.py", "app/__pycache__/config.cpython-311.pyc", ".ci/run"],
)
def test_the_build_context_leaves_out_the_rest(path):
    assert ignored(path)


# --- docker-compose.yml -------------------------------------------------------


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_compose_builds_this_dockerfile_from_the_repository_root(compose):
    build = compose["ocr"]["build"]
    assert (COMPOSE.parent / build["context"]).resolve() == ROOT
    assert (ROOT / build["dockerfile"]).resolve() == DOCKERFILE
    assert "healthcheck" not in compose["ocr"]  # the image's HEALTHCHECK on /readyz applies


def test_nginx_waits_for_a_healthy_service_and_is_checked_itself(compose):
    nginx = compose["nginx"]
    assert nginx["depends_on"]["ocr"]["condition"] == "service_healthy"
    assert nginx["healthcheck"]["test"]


def test_nginx_gets_the_server_block_as_a_template_with_both_placeholders(compose, dockerfile):
    nginx = compose["nginx"]
    (volume,) = nginx["volumes"]
    source, target, _ = volume.split(":")
    assert (COMPOSE.parent / source).resolve() == ROOT / "deploy" / "nginx.conf"
    assert target.startswith("/etc/nginx/templates/") and target.endswith(".conf.template")
    placeholders = set(re.findall(r"\$\{(\w+)\}", (ROOT / "deploy" / "nginx.conf").read_text()))
    assert placeholders == set(nginx["environment"])
    host, port = nginx["environment"]["OCR_UPSTREAM"].split(":")
    assert host == "ocr" and dockerfile.envs["OCR_BIND"].endswith(f":{port}")


def test_the_nginx_image_substitution_leaves_nginx_variables_alone(compose):
    """The official image runs envsubst with every variable of the container defined."""
    environment = {"PATH": "/usr/bin", "HOME": "/root", "HOSTNAME": "nginx", **compose["nginx"]["environment"]}
    defined = " ".join(f"${{{name}}}" for name in environment)
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    substituted = subprocess.run(
        ["envsubst", defined], input=text, env=environment, capture_output=True, text=True, check=True
    )
    filled = substituted.stdout
    expected = text
    for name, value in compose["nginx"]["environment"].items():
        expected = expected.replace(f"${{{name}}}", value)
    assert directives(filled) == directives(expected)


def directives(text):
    """The lines nginx reads: comments may be substituted, they change nothing."""
    return [line for line in text.splitlines() if not line.lstrip().startswith("#")]
