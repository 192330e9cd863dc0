"""deploy/kubernetes/, checked offline: each object against the Kubernetes API schemas
(kubernetes-validate ships them), and against the service's own facts: its routes, port,
user, settings, graceful timeout and measured memory. No cluster runs here.
"""

import re

import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser

from app import create_app
from app.config import TestConfig
from tests.servers import ROOT

KUBERNETES = ROOT / "deploy" / "kubernetes"
# An older minor that clusters still run, and the newest the package knows.
VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
# The gunicorn master and the models' page cache, beside the workers.
MASTER_MB = 300


def load(name):
    return yaml.safe_load((KUBERNETES / name).read_text())


@pytest.fixture(scope="module")
def objects():
    """Every object the kustomization applies, by kind."""
    found = {}
    for name in load("kustomization.yaml")["resources"]:
        for document in yaml.safe_load_all((KUBERNETES / name).read_text()):
            found[document["kind"]] = document
    return found


@pytest.fixture(scope="module")
def deployment(objects):
    return objects["Deployment"]


@pytest.fixture(scope="module")
def container(deployment):
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


@pytest.fixture(scope="module")
def settings(objects):
    return objects["ConfigMap"]["data"]


@pytest.fixture(scope="module")
def dockerfile():
    return DockerfileParser(path=str(ROOT / "deploy" / "Dockerfile"))


def test_the_kustomization_applies_every_manifest_of_the_folder():
    listed = load("kustomization.yaml")["resources"]
    on_disk = sorted(path.name for path in KUBERNETES.glob("*.yaml") if path.name != "kustomization.yaml")
    assert sorted(listed) == on_disk


@pytest.mark.parametrize("version", VERSIONS)
def test_every_object_is_valid_against_the_api_schemas(objects, version):
    assert set(objects) == {"ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    for document in objects.values():
        # strict: unknown fields (a typo in a probe, say) are errors too.
        kubernetes_validate.validate(document, version, strict=True)


def test_the_probes_ask_routes_the_service_has(container):
    routes = {rule.rule for rule in create_app(TestConfig()).url_map.iter_rules()}
    probes = {name: container[name]["httpGet"]["path"] for name in ("startupProbe", "readinessProbe", "livenessProbe")}
    assert probes == {"startupProbe": "/readyz", "readinessProbe": "/readyz", "livenessProbe": "/healthz"}
    assert set(probes.values()) <= routes


def test_the_probes_and_the_service_reach_the_port_gunicorn_binds(objects, container, dockerfile):
    (port,) = container["ports"]
    assert dockerfile.envs["OCR_BIND"] == f"0.0.0.0:{port['containerPort']}"
    assert "OCR_BIND" not in objects["ConfigMap"]["data"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["port"] == port["name"]
    (service_port,) = objects["Service"]["spec"]["ports"]
    assert service_port["targetPort"] == port["name"]


def test_the_startup_probe_allows_for_model_load(container):
    probe = container["startupProbe"]
    # README, Performance: about 3 s to /readyz alone; two workers under load take longer.
    assert probe["periodSeconds"] * probe["failureThreshold"] >= 60


def test_every_configmap_key_is_a_setting_the_service_reads(settings):
    read = set()
    for source in (ROOT / "app" / "config.py", ROOT / "deploy" / "gunicorn.conf.py"):
        read |= set(re.findall(r'"(OCR_[A-Z_]+)"', source.read_text()))
    assert set(settings) <= read, f"not read by the service: {sorted(set(settings) - read)}"
    assert all(isinstance(value, str) for value in settings.values())


def test_the_pod_gets_the_configmap(container, objects):
    assert {"configMapRef": {"name": objects["ConfigMap"]["metadata"]["name"]}} in container["envFrom"]


def test_the_pod_runs_as_the_images_user_on_a_read_only_root(deployment, container, dockerfile):
    pod = deployment["spec"]["template"]["spec"]["securityContext"]
    (user,) = [item["value"] for item in dockerfile.structure if item["instruction"] == "USER"]
    assert pod["runAsNonRoot"] is True
    assert f"{pod['runAsUser']}:{pod['runAsGroup']}" == user
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    # gunicorn.conf.py puts /metrics' sample files in a temporary directory under /tmp.
    assert [mount["mountPath"] for mount in container["volumeMounts"]] == ["/tmp"]


def test_the_grace_period_covers_prestop_and_gunicorns_graceful_timeout(deployment, container, settings):
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert grace > int(pre_stop[1]) + int(settings["OCR_GRACEFUL_TIMEOUT"])


def peak_worker_mb():
    """The highest peak per worker in README's Performance tables: over the mixed sets, and on the largest image."""
    performance = (ROOT / "README.md").read_text().split("\n## Performance", 1)[1].split("\n## ", 1)[0]
    mixed = re.findall(r"^\| peak memory per process \(MB\) \| \| (\d+) \|", performance, re.MULTILINE)
    largest = re.findall(r"^\| largest image accepted[^|]*\| (\d+) \|", performance, re.MULTILINE)
    assert mixed and largest, "README's Performance tables give no peak memory per worker"
    return max(int(peak) for peak in mixed + largest)


def mebibytes(quantity):
    units = {"Mi": 1, "Gi": 1024}
    return int(quantity[:-2]) * units[quantity[-2:]]


def test_the_memory_limit_covers_every_worker_at_its_measured_peak(container, settings):
    workers = int(settings["OCR_WORKERS"])
    limit_mb = mebibytes(container["resources"]["limits"]["memory"]) * 1.048576
    assert limit_mb >= workers * peak_worker_mb() + MASTER_MB
    # Requests equal limits: the scheduler places the pod where its peak fits.
    assert container["resources"]["requests"]["memory"] == container["resources"]["limits"]["memory"]


def test_the_autoscaler_scales_this_deployment_on_cpu(objects, deployment):
    hpa = objects["HorizontalPodAutoscaler"]["spec"]
    target = hpa["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert [metric["resource"]["name"] for metric in hpa["metrics"]] == ["cpu"]
    assert 1 <= objects["PodDisruptionBudget"]["spec"]["minAvailable"] < hpa["minReplicas"]


def test_the_commented_queue_metric_example_names_a_metric_the_service_exports():
    text = (KUBERNETES / "hpa.yaml").read_text()
    metrics = (ROOT / "app" / "web" / "metrics.py").read_text()
    (counter,) = set(re.findall(r"\b(ocr_\w+)_total\b", text))
    assert f'"{counter}"' in metrics


def test_selectors_pick_the_pods_of_the_deployment(objects, deployment):
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selectors = [
        deployment["spec"]["selector"]["matchLabels"],
        objects["Service"]["spec"]["selector"],
        objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"],
    ]
    for selector in selectors:
        assert selector.items() <= labels.items()


def test_readme_shows_how_to_apply_it():
    assert "kubectl apply -k deploy/kubernetes" in (ROOT / "README.md").read_text()
