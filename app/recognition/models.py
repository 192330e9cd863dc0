"""Prepare the embedded PP-OCRv6 small ONNX models for PaddleOCR.

The ONNX files ship inside the pinned ``rapidocr`` wheel. PaddleOCR's
onnxruntime engine wants a directory holding ``inference.onnx`` and an
``inference.yml``; we build those directories in a cache directory (never in
site-packages) after checking each file's SHA-256, and never touch the network.
"""

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

RAPIDOCR_VERSION = "3.10.0"
# Detection input scaling. PaddleOCR's configs use ImageNet statistics; with
# these PP-OCRv6 weights mean = std = 0.5 (as RapidOCR ships them) measured
# better on all of CER, word F1 and line F1 on the SROIE dev receipts, and over
# every bench_kinds set ImageNet statistics lost forms, phone forms and the
# receipts at every DB threshold tried (README, Accuracy).
_DET_MEAN = [0.5, 0.5, 0.5]
_DET_STD = [0.5, 0.5, 0.5]


class ModelError(RuntimeError):
    """The embedded models are missing or not the files this release was tested with."""


@dataclass(frozen=True)
class EmbeddedModel:
    model_name: str  # PaddleOCR's name for the architecture
    filename: str  # inside rapidocr/models/
    sha256: str


DETECTION = EmbeddedModel(
    "PP-OCRv6_small_det",
    "PP-OCRv6_det_small.onnx",
    "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f",
)
RECOGNITION = EmbeddedModel(
    "PP-OCRv6_small_rec",
    "PP-OCRv6_rec_small.onnx",
    "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
)
TEXTLINE_ORIENTATION = EmbeddedModel(
    "ch_ppocr_mobile_v2.0_cls",
    "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
)


@dataclass(frozen=True)
class PreparedModel:
    model_name: str
    model_dir: str


def rapidocr_models_dir():
    """Locate rapidocr/models without importing rapidocr (its import loads more than we need)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"The rapidocr package (version {RAPIDOCR_VERSION}) that carries the embedded "
            "models is not installed; run 'make install'."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified_model_path(model, cache_dir):
    """Copy ``model`` into its own directory under ``cache_dir`` after checking its SHA-256."""
    source = rapidocr_models_dir() / model.filename
    if not source.is_file():
        raise ModelError(f"Embedded model {source} is missing; reinstall rapidocr=={RAPIDOCR_VERSION}.")
    actual = sha256_of(source)
    if actual != model.sha256:
        raise ModelError(
            f"Embedded model {source} has SHA-256 {actual}, expected {model.sha256}; "
            f"install exactly rapidocr=={RAPIDOCR_VERSION}."
        )
    target = Path(cache_dir) / f"{model.model_name}-{model.sha256[:12]}"
    target.mkdir(parents=True, exist_ok=True)
    onnx_path = target / "inference.onnx"
    if not onnx_path.is_file() or sha256_of(onnx_path) != model.sha256:
        _atomic_copy(source, onnx_path)
    return onnx_path


def prepare_model(model, cache_dir, inference_config):
    """Copy ``model`` into its own directory under ``cache_dir`` beside its inference.yml."""
    target = verified_model_path(model, cache_dir).parent
    config = {"Global": {"model_name": model.model_name}, **inference_config}
    inference_yml = target / "inference.yml"
    text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    # Unchanged files are left alone: the container bakes them into a read-only root.
    if not inference_yml.is_file() or inference_yml.read_text(encoding="utf-8") != text:
        _atomic_write(inference_yml, text)
    return PreparedModel(model.model_name, str(target))


def detection_config():
    """inference.yml body for DB text detection (values are the pipeline's defaults)."""
    return {
        "PreProcess": {
            "transform_ops": [
                {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
                {"DetResizeForTest": {"limit_type": "min", "limit_side_len": 736}},
                {"NormalizeImage": {"mean": _DET_MEAN, "std": _DET_STD, "scale": "1./255.", "order": "hwc"}},
                {"ToCHWImage": None},
            ]
        },
        "PostProcess": {
            "name": "DBPostProcess",
            "thresh": 0.3,
            "box_thresh": 0.6,
            "max_candidates": 1000,
            "unclip_ratio": 1.5,
        },
    }


def recognition_config(onnx_path):
    """inference.yml body for CTC recognition; the character list lives in the ONNX metadata."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    characters = session.get_modelmeta().custom_metadata_map.get("character")
    if not characters:
        raise ModelError(f"{onnx_path} carries no 'character' list in its metadata.")
    return {
        "PreProcess": {
            "transform_ops": [
                {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
                {"RecResizeImg": {"image_shape": [3, 48, 320]}},
            ]
        },
        "PostProcess": {"name": "CTCLabelDecode", "character_dict": characters.split("\n")},
    }


def prepare_embedded_models(cache_dir):
    """Return (detection, recognition) model directories ready for PaddleOCR."""
    detection = prepare_model(DETECTION, cache_dir, detection_config())
    recognition = prepare_model(
        RECOGNITION, cache_dir, recognition_config(rapidocr_models_dir() / RECOGNITION.filename)
    )
    log.info("embedded models ready in %s", cache_dir)
    return detection, recognition


def _atomic_copy(source, target):
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    os.close(fd)
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def _atomic_write(target, text):
    """Write via rename so concurrently starting workers never read half a file."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, target)
