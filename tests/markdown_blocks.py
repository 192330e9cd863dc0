"""Read Markdown back with markdown-it-py, so tests check what a renderer sees, not strings."""

from dataclasses import dataclass, field

from markdown_it import MarkdownIt

# CommonMark plus GitHub's tables: what GitHub, GitLab and most renderers read.
_PARSER = MarkdownIt("commonmark").enable("table")
_KINDS = {"heading_open": "title", "paragraph_open": "paragraph", "bullet_list_open": "list", "table_open": "table"}


@dataclass
class ParsedBlock:
    kind: str  # title, paragraph, list, table or rule
    level: int = 0  # heading level
    text: str = ""  # title and paragraph
    items: list = field(default_factory=list)  # list: item texts; table: rows of cell texts


def inline_text(token):
    """The plain text of an inline token; fail when recognised text turned into formatting."""
    parts = []
    for child in token.children:
        if child.type == "text":
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        else:
            raise AssertionError(f"text was read as Markdown {child.type}: {token.content!r}")
    return "".join(parts)


def parse_blocks(markdown):
    """The top-level blocks a renderer sees; fail on anything the service never writes."""
    blocks = []
    for token in _PARSER.parse(markdown):
        if token.level == 0:
            if token.nesting == 1:
                if token.type not in _KINDS:
                    raise AssertionError(f"unexpected Markdown block {token.type} at line {token.map}")
                level = len(token.markup) if token.type == "heading_open" else 0
                blocks.append(ParsedBlock(_KINDS[token.type], level=level))
            elif token.type == "hr":
                blocks.append(ParsedBlock("rule"))
            elif token.nesting == 0:
                raise AssertionError(f"unexpected Markdown block {token.type} at line {token.map}")
            continue
        block = blocks[-1]
        if token.type == "tr_open":
            block.items.append([])
        elif token.type == "inline":
            if block.kind == "table":
                block.items[-1].append(inline_text(token))
            elif block.kind == "list":
                block.items.append(inline_text(token))
            else:
                block.text = inline_text(token)
        elif token.nesting == 1 and token.type not in ("list_item_open", "paragraph_open") and block.kind != "table":
            raise AssertionError(f"unexpected Markdown {token.type} inside a {block.kind}")
    return blocks
