/**
 * Segment boxes drawn on a canvas laid over the displayed image.
 *
 * Coordinates in the API are pixels of the image as recognised; the canvas
 * takes the image's displayed size, so every point is scaled on each draw and
 * the boxes follow the image when the page is resized or zoomed.
 */

const STROKE = "rgba(0, 102, 255, 0.9)";
const LOW_STROKE = "rgba(214, 69, 0, 0.95)";
const ACTIVE_STROKE = "rgba(190, 120, 0, 1)";
const ACTIVE_FILL = "rgba(255, 200, 0, 0.35)";
const LABEL_FILL = "rgba(20, 20, 20, 0.85)";

export class BoxOverlay {
  /**
   * ``onPoint(index | null)`` follows the pointer, ``onPick(index | null)`` a
   * click or tap, ``onDraw(count)`` reports how many boxes are on the canvas.
   */
  constructor(canvas, { onPoint, onPick, onDraw }) {
    this.canvas = canvas;
    this.onDraw = onDraw;
    this.boxes = [];
    this.frame = { width: 1, height: 1 };
    this.active = null;
    this.labels = false;
    canvas.addEventListener("mousemove", (event) => onPoint(this.indexAt(event)));
    canvas.addEventListener("mouseleave", () => onPoint(null));
    canvas.addEventListener("click", (event) => onPick(this.indexAt(event)));
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  /**
   * Show ``boxes`` ({index, points, low, words}) given in a ``width`` x ``height`` image;
   * with ``labels`` each box also shows its words, for a page with no picture behind it.
   */
  show(boxes, width, height, { labels = false } = {}) {
    this.boxes = boxes;
    this.frame = { width, height };
    this.active = null;
    this.labels = labels;
    this.draw();
  }

  setActive(index) {
    this.active = index;
    this.draw();
  }

  draw() {
    const { canvas } = this;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(canvas.clientWidth * ratio);
    canvas.height = Math.round(canvas.clientHeight * ratio);
    const context = canvas.getContext("2d");
    context.clearRect(0, 0, canvas.width, canvas.height);
    const scaleX = canvas.width / this.frame.width;
    const scaleY = canvas.height / this.frame.height;
    let drawn = 0;
    let activeBox = null;
    for (const box of this.boxes) {
      if (box.index === this.active) {
        activeBox = box;
        continue;
      }
      if (this.labels) {
        writeWords(context, box, scaleX, scaleY);
      }
      tracePolygon(context, box.points, scaleX, scaleY);
      context.setLineDash(box.low ? [4 * ratio, 3 * ratio] : []);
      context.lineWidth = 1.5 * ratio;
      context.strokeStyle = box.low ? LOW_STROKE : STROKE;
      context.stroke();
      drawn += 1;
    }
    // The highlighted box goes last so no neighbour covers it.
    if (activeBox) {
      tracePolygon(context, activeBox.points, scaleX, scaleY);
      context.setLineDash([]);
      context.fillStyle = ACTIVE_FILL;
      context.fill();
      context.lineWidth = 3 * ratio;
      context.strokeStyle = ACTIVE_STROKE;
      context.stroke();
      drawn += 1;
    }
    this.onDraw(drawn);
  }

  /** The index of the box under the pointer; the smallest wins where boxes overlap. */
  indexAt(event) {
    const rect = this.canvas.getBoundingClientRect();
    if (!rect.width || !rect.height) {
      return null;
    }
    const x = ((event.clientX - rect.left) * this.frame.width) / rect.width;
    const y = ((event.clientY - rect.top) * this.frame.height) / rect.height;
    let found = null;
    let foundArea = Infinity;
    for (const box of this.boxes) {
      const area = polygonArea(box.points);
      if (area < foundArea && containsPoint(box.points, x, y)) {
        found = box.index;
        foundArea = area;
      }
    }
    return found;
  }
}

/** The box's words along its top edge, as tall as the box (it may be turned with its page). */
function writeWords(context, box, scaleX, scaleY) {
  const [topLeft, topRight, , bottomLeft] = box.points.map(({ x, y }) => ({ x: x * scaleX, y: y * scaleY }));
  const width = Math.hypot(topRight.x - topLeft.x, topRight.y - topLeft.y);
  const height = Math.hypot(bottomLeft.x - topLeft.x, bottomLeft.y - topLeft.y);
  if (!box.words || width < 1 || height < 1) {
    return;
  }
  context.save();
  context.translate(topLeft.x, topLeft.y);
  context.rotate(Math.atan2(topRight.y - topLeft.y, topRight.x - topLeft.x));
  context.font = `${Math.max(1, height * 0.8)}px sans-serif`;
  context.textBaseline = "middle";
  context.fillStyle = LABEL_FILL;
  context.fillText(box.words, 0, height / 2, width);
  context.restore();
}

function tracePolygon(context, points, scaleX, scaleY) {
  context.beginPath();
  points.forEach(({ x, y }, i) => {
    if (i === 0) {
      context.moveTo(x * scaleX, y * scaleY);
    } else {
      context.lineTo(x * scaleX, y * scaleY);
    }
  });
  context.closePath();
}

/** Even-odd ray casting: the boxes are quadrilaterals, possibly rotated. */
function containsPoint(points, x, y) {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i, i += 1) {
    const a = points[i];
    const b = points[j];
    if ((a.y > y) !== (b.y > y) && x < ((b.x - a.x) * (y - a.y)) / (b.y - a.y) + a.x) {
      inside = !inside;
    }
  }
  return inside;
}

function polygonArea(points) {
  let twice = 0;
  for (let i = 0, j = points.length - 1; i < points.length; j = i, i += 1) {
    twice += (points[j].x + points[i].x) * (points[j].y - points[i].y);
  }
  return Math.abs(twice) / 2;
}
