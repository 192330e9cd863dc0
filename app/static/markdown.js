/**
 * Render the service's Markdown as DOM nodes, never by parsing HTML.
 *
 * It covers what the service writes: headings, paragraphs, lists, GitHub
 * tables, rules, fenced code, emphasis, code spans and backslash escapes.
 * Every piece of text lands in a text node, so recognised text can never
 * turn into markup; anything else shows as the literal text it is.
 */

const HEADING = /^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/;
const LIST_ITEM = /^\s*([-*+]|\d{1,9}[.)])\s+(.*)$/;
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const TABLE_DELIMITER = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;
// A backslash escape, a code span, strong, then emphasis; delimiters may not
// hug spaces, and underscores do not open or close inside a word.
const INLINE = new RegExp(
  [
    /\\([!-/:-@[-`{-~])/.source,
    /`([^`]+)`/.source,
    /\*\*(?!\s)((?:\\.|[^\\])+?)(?<!\s)\*\*/.source,
    /(?<![\p{L}\p{N}])__(?!\s)((?:\\.|[^\\])+?)(?<!\s)__(?![\p{L}\p{N}])/.source,
    /\*(?!\s)((?:\\.|[^\\*])+?)(?<!\s)\*/.source,
    /(?<![\p{L}\p{N}])_(?!\s)((?:\\.|[^\\_])+?)(?<!\s)_(?![\p{L}\p{N}])/.source,
  ].join("|"),
  "u",
);

/** Return a DocumentFragment holding ``source`` rendered. */
export function renderMarkdown(source, doc = document) {
  const fragment = doc.createDocumentFragment();
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  let at = 0;
  while (at < lines.length) {
    const line = lines[at];
    if (!line.trim()) {
      at += 1;
    } else if (FENCE.test(line)) {
      at = appendFence(fragment, lines, at, doc);
    } else if (HEADING.test(line)) {
      const [, hashes, text] = line.match(HEADING);
      fragment.append(inlineElement(doc, `h${hashes.length}`, text));
      at += 1;
    } else if (RULE.test(line)) {
      fragment.append(doc.createElement("hr"));
      at += 1;
    } else if (startsTable(lines, at)) {
      at = appendTable(fragment, lines, at, doc);
    } else if (LIST_ITEM.test(line)) {
      at = appendList(fragment, lines, at, doc);
    } else {
      at = appendParagraph(fragment, lines, at, doc);
    }
  }
  return fragment;
}

function startsBlock(lines, at) {
  const line = lines[at];
  return !line.trim() || FENCE.test(line) || HEADING.test(line) || RULE.test(line)
    || LIST_ITEM.test(line) || startsTable(lines, at);
}

function startsTable(lines, at) {
  const delimiter = lines[at + 1];
  return lines[at].includes("|") && delimiter !== undefined
    && delimiter.includes("|") && TABLE_DELIMITER.test(delimiter);
}

function appendFence(parent, lines, at, doc) {
  const marker = lines[at].match(FENCE)[1];
  const body = [];
  let next = at + 1;
  while (next < lines.length && !lines[next].trim().startsWith(marker)) {
    body.push(lines[next]);
    next += 1;
  }
  const pre = doc.createElement("pre");
  const code = doc.createElement("code");
  code.textContent = body.join("\n");
  pre.append(code);
  parent.append(pre);
  return next + 1;
}

function appendParagraph(parent, lines, at, doc) {
  const text = [lines[at].trim()];
  let next = at + 1;
  while (next < lines.length && !startsBlock(lines, next)) {
    text.push(lines[next].trim());
    next += 1;
  }
  parent.append(inlineElement(doc, "p", text.join("\n")));
  return next;
}

function appendList(parent, lines, at, doc) {
  const ordered = /\d/.test(lines[at].match(LIST_ITEM)[1]);
  const list = doc.createElement(ordered ? "ol" : "ul");
  if (ordered) {
    list.start = parseInt(lines[at].match(LIST_ITEM)[1], 10);
  }
  let next = at;
  while (next < lines.length && LIST_ITEM.test(lines[next])
         && /\d/.test(lines[next].match(LIST_ITEM)[1]) === ordered) {
    list.append(inlineElement(doc, "li", lines[next].match(LIST_ITEM)[2]));
    next += 1;
  }
  parent.append(list);
  return next;
}

function appendTable(parent, lines, at, doc) {
  const header = splitCells(lines[at]);
  const alignments = splitCells(lines[at + 1]).map(alignmentOf);
  const table = doc.createElement("table");
  const head = table.createTHead().insertRow();
  header.forEach((cell, column) => head.append(tableCell(doc, "th", cell, alignments[column])));
  const body = table.createTBody();
  let next = at + 2;
  while (next < lines.length && lines[next].includes("|") && !startsBlock(lines, next)) {
    const cells = splitCells(lines[next]);
    const row = body.insertRow();
    // GitHub tables take their width from the header row.
    header.forEach((_, column) => row.append(tableCell(doc, "td", cells[column] ?? "", alignments[column])));
    next += 1;
  }
  parent.append(table);
  return next;
}

function tableCell(doc, tag, text, alignment) {
  const cell = inlineElement(doc, tag, text);
  if (alignment) {
    cell.style.textAlign = alignment;
  }
  return cell;
}

function alignmentOf(delimiter) {
  const left = delimiter.startsWith(":");
  const right = delimiter.endsWith(":");
  if (left && right) return "center";
  if (right) return "right";
  return left ? "left" : "";
}

/** Split a table row on pipes that are not escaped; escapes stay for the inline pass. */
function splitCells(line) {
  const cells = [];
  let cell = "";
  const text = line.trim().replace(/^\|/, "");
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] === "\\" && i + 1 < text.length) {
      cell += text[i] + text[i + 1];
      i += 1;
    } else if (text[i] === "|") {
      cells.push(cell.trim());
      cell = "";
    } else {
      cell += text[i];
    }
  }
  if (cell.trim()) {
    cells.push(cell.trim());
  }
  return cells;
}

function inlineElement(doc, tag, text) {
  const element = doc.createElement(tag);
  appendInline(element, text, doc);
  return element;
}

function appendInline(parent, text, doc) {
  let rest = text;
  let match = INLINE.exec(rest);
  while (match) {
    parent.append(rest.slice(0, match.index));
    const [whole, escaped, code, strong, strongUnderscore, emphasis, emphasisUnderscore] = match;
    if (escaped !== undefined) {
      parent.append(escaped);
    } else if (code !== undefined) {
      const span = doc.createElement("code");
      span.textContent = code;
      parent.append(span);
    } else if (strong !== undefined || strongUnderscore !== undefined) {
      parent.append(inlineElement(doc, "strong", strong ?? strongUnderscore));
    } else {
      parent.append(inlineElement(doc, "em", emphasis ?? emphasisUnderscore));
    }
    rest = rest.slice(match.index + whole.length);
    match = INLINE.exec(rest);
  }
  parent.append(rest);
}
