/**
 * The try-it page: post the form to the OCR endpoint, then show the image (or
 * each page of a PDF) with every segment's box, the segment list, the texts and
 * the timing.
 *
 * Without JavaScript the form posts straight to the API and the browser shows
 * its JSON; this script only adds to that: drop and paste, one source at a
 * time, and the viewer. It is also meant as a recipe for front-end developers.
 */

import { renderMarkdown } from "./markdown.js";
import { BoxOverlay } from "./overlay.js";

const $ = (id) => document.getElementById(id);
const form = $("ocr-form");
const result = $("result");
const image = $("image");
const segmentList = $("segments");
const lowScoreThreshold = Number(result.dataset.lowScoreThreshold);
const sourceInputs = { file: $("file-input"), url: $("url-input"), image_base64: $("base64-input") };

let pinned = null; // the segment chosen by a click, kept while the pointer wanders
let imageUrl = null; // the object URL of the uploaded file, revoked when replaced

// One overlay per page shown: the first page's lies over the picture, the others over blank paper.
const drawnPerPage = [0];
const overlays = [boxOverlay($("overlay"), 0)];

function boxOverlay(canvas, page) {
  return new BoxOverlay(canvas, {
    onPoint: (index) => highlight(index ?? pinned),
    onPick: (index) => pin(index),
    onDraw: (count) => {
      drawnPerPage[page] = count;
      result.dataset.boxesDrawn = drawnPerPage.reduce((sum, drawn) => sum + drawn, 0);
    },
  });
}

useCheckboxForNeedLocation();
keepOneSource();
acceptDropAndPaste();
wireTabs();
form.addEventListener("submit", (event) => {
  event.preventDefault();
  recognise();
});

/** With JavaScript a checkbox can send an explicit false, so it replaces the radio pair. */
function useCheckboxForNeedLocation() {
  $("need-location-flag").replaceWith($("need-location-checkbox").content.cloneNode(true));
}

/** The API takes exactly one source: filling one clears the others. */
function keepOneSource() {
  for (const [name, input] of Object.entries(sourceInputs)) {
    input.addEventListener(name === "file" ? "change" : "input", () => {
      if (!input.value) {
        return;
      }
      for (const [other, otherInput] of Object.entries(sourceInputs)) {
        if (other !== name) {
          otherInput.value = "";
        }
      }
    });
  }
}

function useFiles(files) {
  sourceInputs.file.files = files;
  sourceInputs.file.dispatchEvent(new Event("change"));
}

function acceptDropAndPaste() {
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    const { files } = event.dataTransfer;
    const link = event.dataTransfer.getData("text/uri-list").split("\n")[0].trim();
    if (files.length) {
      useFiles(files);
    } else if (link) {
      // An image dragged from another page arrives as its address.
      sourceInputs.url.value = link;
      sourceInputs.url.dispatchEvent(new Event("input"));
    }
  });
  document.addEventListener("paste", (event) => {
    const pasted = [...event.clipboardData.files].find((file) => file.type.startsWith("image/"));
    if (!pasted) {
      return; // Text pastes into the url and Base64 boxes as usual.
    }
    event.preventDefault();
    const transfer = new DataTransfer();
    transfer.items.add(pasted);
    useFiles(transfer.files);
  });
}

/** The request body: the form as it is, with every flag sent explicitly. */
function formBody() {
  const body = new FormData(form);
  for (const box of form.querySelectorAll("input[type=checkbox]")) {
    body.set(box.name, box.checked ? "true" : "false");
  }
  return body;
}

/** Where the browser can show the image the service is about to read. */
function displayedSource() {
  if (imageUrl) {
    URL.revokeObjectURL(imageUrl);
    imageUrl = null;
  }
  const [file] = sourceInputs.file.files;
  if (file) {
    imageUrl = URL.createObjectURL(file);
    return imageUrl;
  }
  if (sourceInputs.url.value.trim()) {
    return sourceInputs.url.value.trim();
  }
  const base64 = sourceInputs.image_base64.value.replace(/\s+/g, "");
  // Browsers sniff the real image type, so a generic one will do for plain Base64.
  return base64.startsWith("data:") ? base64 : `data:image/png;base64,${base64}`;
}

function imageLoaded() {
  return new Promise((resolve) => {
    if (image.complete) {
      resolve(image.naturalWidth > 0);
      return;
    }
    image.addEventListener("load", () => resolve(true), { once: true });
    image.addEventListener("error", () => resolve(false), { once: true });
  });
}

async function recognise() {
  const body = formBody();
  setState("loading", "Recognising…");
  result.dataset.wordsResultNum = "";
  showPages([], {});
  $("submit-button").disabled = true;
  image.src = displayedSource();
  const started = performance.now();
  try {
    const response = await fetch(form.action, { method: "POST", body });
    const answer = await readAnswer(response);
    const roundTripMs = performance.now() - started;
    if (response.ok) {
      await showResult(answer, roundTripMs);
    } else {
      showError(answer.code, answer.message, response.status);
    }
  } catch (error) {
    showError("NETWORK_ERROR", `The request did not complete: ${error.message}`);
  } finally {
    $("submit-button").disabled = false;
  }
}

/** The JSON body; a proxy in front of the service may answer with something else. */
async function readAnswer(response) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return { code: `HTTP_${response.status}`, message: text.slice(0, 300) || response.statusText };
  }
}

function setState(state, status) {
  result.dataset.state = state;
  result.setAttribute("aria-busy", String(state === "loading"));
  $("status").textContent = status;
  $("error").hidden = state !== "error";
  for (const id of ["viewer", "timing", "tabs"]) {
    $(id).hidden = state !== "done";
  }
}

function showError(code, message, status) {
  $("error-code").textContent = code || "ERROR";
  $("error-message").textContent = message || "The service gave no message.";
  setState("error", status ? `The service answered ${status}.` : "");
}

async function showResult(answer, roundTripMs) {
  const segments = answer.words_result || [];
  result.dataset.wordsResultNum = answer.words_result_num;
  pinned = null;
  renderSegments(segments);
  renderTiming(answer.timing || {}, roundTripMs);
  renderTexts(answer);
  // A PDF is never shown as a picture: its pages are drawn as their boxes and words.
  const shown = answer.image.format !== "PDF" && (await imageLoaded());
  image.hidden = !shown;
  setState("done", summaryOf(answer));
  showPages(answer.pages || [], answer, shown);
}

/** Each page as a stage: its boxes, on the picture (the first page of an image) or on blank paper. */
function showPages(pages, answer, pictured = false) {
  const segments = answer.words_result || [];
  const extra = pages.slice(1).map(() => {
    const stage = document.createElement("div");
    stage.className = "stage paper";
    const canvas = document.createElement("canvas");
    canvas.setAttribute("aria-label", "Boxes of the page's segments; point at one to find its text");
    stage.append(canvas);
    return stage;
  });
  $("more-pages").replaceChildren(...extra.flatMap((stage, k) => [caption(pages[k + 1], pages.length), stage]));
  overlays.length = 1;
  drawnPerPage.length = 1;
  for (const stage of extra) {
    drawnPerPage.push(0);
    overlays.push(boxOverlay(stage.querySelector("canvas"), overlays.length));
  }
  const first = $("first-page-caption");
  first.hidden = !(pages.length > 1 || answer.image?.format === "PDF");
  first.textContent = pages.length ? caption(pages[0], pages.length).textContent : "";
  pages.forEach((page, number) => {
    const stage = number === 0 ? $("stage") : extra[number - 1];
    // Without the picture (a PDF, a url the browser cannot reach) the boxes go on blank paper.
    const paper = number > 0 || !pictured;
    stage.classList.toggle("paper", paper);
    stage.style.aspectRatio = paper ? `${page.width} / ${page.height}` : "";
    const boxes = boxesOf(segments).filter((box) => segments[box.index].page === number);
    overlays[number].show(boxes, page.width, page.height, { labels: paper });
  });
  if (!pages.length) {
    overlays[0].show([], 1, 1);
  }
}

function caption(page, count) {
  const line = document.createElement("p");
  line.className = "page-caption";
  const how = page.source === "text_layer" ? "read from its text layer" : "recognised";
  const dpi = page.dpi ? ` at ${page.dpi} dpi` : "";
  line.textContent = `Page ${page.page + 1} of ${count}: ${page.width} × ${page.height}${dpi}, ${how}`;
  return line;
}

function isLow(segment) {
  return segment.score < lowScoreThreshold;
}

function boxesOf(segments) {
  return segments
    .map((segment, index) => ({ index, points: segment.vertexes_location, low: isLow(segment), words: segment.words }))
    .filter((box) => Array.isArray(box.points) && box.points.length >= 3);
}

function summaryOf(answer) {
  const segments = answer.words_result || [];
  const low = segments.filter(isLow).length;
  const parts = [`${answer.words_result_num} segments`];
  // lines and blocks come from the layout step; older services do not send them.
  if (Array.isArray(answer.lines)) parts.push(`${answer.lines.length} lines`);
  if (Array.isArray(answer.blocks)) parts.push(`${answer.blocks.length} blocks`);
  parts.push(`${low} below ${lowScoreThreshold} confidence`);
  const { width, height, format } = answer.image;
  parts.push(`${width} × ${height} ${format}`);
  if (!answer.need_location) parts.push("no boxes: need_location is false");
  return parts.join(" · ");
}

function renderSegments(segments) {
  const items = segments.map((segment, index) => {
    const item = document.createElement("li");
    item.className = isLow(segment) ? "segment low" : "segment";
    item.dataset.index = index;
    item.tabIndex = 0;
    const words = document.createElement("span");
    words.className = "words";
    words.textContent = segment.words;
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = segment.score.toFixed(4);
    score.title = isLow(segment) ? `Low confidence: below ${lowScoreThreshold}` : "Confidence";
    item.append(words, score);
    item.addEventListener("mouseenter", () => highlight(index));
    item.addEventListener("mouseleave", () => highlight(pinned));
    item.addEventListener("focus", () => highlight(index));
    item.addEventListener("click", () => pin(index));
    return item;
  });
  segmentList.replaceChildren(...items);
}

function pin(index) {
  pinned = index === pinned ? null : index;
  highlight(pinned);
}

/** Light up one segment in both places, the list and the canvas. */
function highlight(index) {
  result.dataset.activeIndex = index ?? "";
  for (const item of segmentList.querySelectorAll(".active")) {
    item.classList.remove("active");
  }
  for (const pageOverlay of overlays) {
    pageOverlay.setActive(index);
  }
  const item = index === null ? null : segmentList.children[index];
  if (item) {
    item.classList.add("active");
    scrollIntoList(item);
  }
}

/** Scroll the list, not the page, to show ``item``. */
function scrollIntoList(item) {
  const top = item.offsetTop - segmentList.offsetTop;
  if (top < segmentList.scrollTop) {
    segmentList.scrollTop = top;
  } else if (top + item.offsetHeight > segmentList.scrollTop + segmentList.clientHeight) {
    segmentList.scrollTop = top + item.offsetHeight - segmentList.clientHeight;
  }
}

function renderTiming(timing, roundTripMs) {
  const rows = [...Object.entries(timing), ["round trip (browser)", roundTripMs]];
  $("timing").replaceChildren(
    ...rows.map(([name, ms]) => {
      const pair = document.createElement("div");
      const term = document.createElement("dt");
      term.textContent = name;
      const value = document.createElement("dd");
      value.textContent = `${Math.round(ms)} ms`;
      pair.append(term, value);
      return pair;
    }),
  );
}

function renderTexts(answer) {
  $("panel-text").textContent = answer.text;
  $("panel-plain-text").textContent = answer.plain_text ?? "This service did not send plain_text.";
  const markdown = $("panel-markdown");
  if (typeof answer.markdown === "string") {
    markdown.replaceChildren(renderMarkdown(answer.markdown));
  } else {
    const note = document.createElement("p");
    note.className = "hint";
    note.textContent = "Tick return_markdown to get Markdown.";
    markdown.replaceChildren(note);
  }
  $("panel-json").textContent = JSON.stringify(answer, null, 2);
}

function wireTabs() {
  const tabs = [...document.querySelectorAll("[role=tab]")];
  for (const tab of tabs) {
    tab.addEventListener("click", () => {
      for (const other of tabs) {
        const selected = other === tab;
        other.setAttribute("aria-selected", String(selected));
        $(other.getAttribute("aria-controls")).hidden = !selected;
      }
    });
  }
}
