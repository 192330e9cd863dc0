"""The OCR engine: one PaddleOCR pipeline per process, used step by step.

The pipeline object owns the detection and recognition predictors; we call
them ourselves (detect, crop, recognise) so each step is timed and the
detection size policy is ours. This module never imports Flask.
"""

import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from .models import prepare_embedded_models

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DetectionSettings:
    """Detection defaults, in one place.

    ``limit_type="min"`` upscales small images until their short side reaches
    ``limit_side_len`` so tiny text stays readable; ``max_side_limit`` caps the
    long side, which bounds time and memory on large scans.
    """

    limit_side_len: int = 736
    limit_type: str = "min"
    max_side_limit: int = 4000
    thresh: float = 0.3
    box_thresh: float = 0.6
    unclip_ratio: float = 1.5


@dataclass
class Segment:
    """One recognised text segment; ``polygon`` is 4 (x, y) points clockwise from top-left."""

    text: str
    score: float
    polygon: np.ndarray


@dataclass
class Recognition:
    segments: list = field(default_factory=list)
    detection_ms: float = 0.0
    recognition_ms: float = 0.0
    orientation: int = 0


class OcrEngine:
    """Wrap the PaddleOCR pipeline; not thread-safe, so calls are serialised."""

    def __init__(self, config):
        self._config = config
        self._lock = threading.Lock()
        self.ready = False
        self.load_seconds = None
        self.detection = DetectionSettings()
        started = time.perf_counter()
        self._pipeline = self._build_pipeline(config)
        self._det_model = self._pipeline.paddlex_pipeline.text_det_model
        self._rec_model = self._pipeline.paddlex_pipeline.text_rec_model
        from paddlex.inference.pipelines.components import CropByPolys, SortQuadBoxes

        self._crop = CropByPolys(det_box_type="quad")
        self._sort = SortQuadBoxes()
        self.load_seconds = time.perf_counter() - started

    @staticmethod
    def _build_pipeline(config):
        from paddleocr import PaddleOCR

        common = dict(
            use_doc_orientation_classify=False,
            use_doc_unwarping=False,
            use_textline_orientation=False,
            device="cpu",
            text_recognition_batch_size=6,
        )
        if config["DET_MODEL_DIR"] or config["REC_MODEL_DIR"]:
            # Official Paddle-format models chosen by the operator run on the Paddle engine.
            return PaddleOCR(
                text_detection_model_name=config["DET_MODEL_NAME"],
                text_detection_model_dir=config["DET_MODEL_DIR"],
                text_recognition_model_name=config["REC_MODEL_NAME"],
                text_recognition_model_dir=config["REC_MODEL_DIR"],
                cpu_threads=config["INFERENCE_THREADS"] or 1,
                **common,
            )
        detection, recognition = prepare_embedded_models(config["MODEL_CACHE_DIR"])
        engine_config = {"enable_mem_pattern": False}
        if config["INFERENCE_THREADS"]:
            engine_config["intra_op_num_threads"] = config["INFERENCE_THREADS"]
            engine_config["inter_op_num_threads"] = 1
        return PaddleOCR(
            text_detection_model_name=detection.model_name,
            text_detection_model_dir=detection.model_dir,
            text_recognition_model_name=recognition.model_name,
            text_recognition_model_dir=recognition.model_dir,
            engine="onnxruntime",
            engine_config=engine_config,
            **common,
        )

    def warm_up(self):
        """Run one small inference so the first request does not pay for lazy set-up."""
        canvas = np.full((96, 320, 3), 255, dtype=np.uint8)
        canvas[40:56, 20:300] = 0
        self.recognize(canvas)
        self.ready = True

    def recognize(self, pixels, enable_cls=False):
        """Detect and read the text of one BGR page."""
        with self._lock:
            result = Recognition()
            started = time.perf_counter()
            polygons = self._detect(pixels)
            result.detection_ms = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            result.segments = self._read(pixels, polygons)
            result.recognition_ms = (time.perf_counter() - started) * 1000
            return result

    def _detect(self, pixels):
        settings = self.detection
        (output,) = list(
            self._det_model(
                [pixels],
                limit_side_len=settings.limit_side_len,
                limit_type=settings.limit_type,
                max_side_limit=settings.max_side_limit,
                thresh=settings.thresh,
                box_thresh=settings.box_thresh,
                unclip_ratio=settings.unclip_ratio,
            )
        )
        polygons = output["dt_polys"]
        return list(self._sort(polygons)) if len(polygons) else []

    def _read(self, pixels, polygons):
        crops, kept = [], []
        for crop, polygon in zip(self._crop(pixels, polygons), polygons):
            if crop.size:
                crops.append(crop)
                kept.append(np.asarray(polygon, dtype=np.float64))
        if not crops:
            return []
        # Batching crops of similar width wastes less padding.
        order = sorted(range(len(crops)), key=lambda i: crops[i].shape[1] / crops[i].shape[0])
        texts = [None] * len(crops)
        for index, output in zip(order, self._rec_model([crops[i] for i in order])):
            texts[index] = (output["rec_text"], float(output["rec_score"]))
        return [
            Segment(text, score, polygon)
            for (text, score), polygon in zip(texts, kept)
            if text.strip()
        ]
