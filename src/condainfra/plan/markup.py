"""Every value a report puts into Markdown, escaped for the spot it lands in.

A report's values come from config files a fork's pull request edits, from the deployed state and from
`--against` files: data, never markup. Each spot has its own rule:

* ``code(text)``: a code span whose backtick fence is longer than any backtick run inside, padded when the
  text starts or ends with a backtick or a space (CommonMark 6.1); a line break is shown as ``\\n``.
* ``cell(text)``: one GFM table cell: ``|`` escaped (inside code spans too, as GFM requires), no newline.
* ``html(text)``: text inside raw HTML (``<summary>``): entities for ``& < > " '``.
* ``text(text)``: Markdown prose: every ASCII punctuation that could open markup backslash-escaped, ``<``
  and ``&`` as entities, line breaks as spaces.

``@`` followed by a login character is a mention on GitHub wherever it reaches a text node, entities
included (GitHub reads the rendered HTML); outside code it is followed by U+2060 WORD JOINER, which no
login may start with, so the bot never mentions anyone. Inside code GitHub links no mention.
"""

from __future__ import annotations

import html as _html
import re

WORD_JOINER = "\u2060"
_MENTION = re.compile(r"@(?=[A-Za-z0-9_-])")
_TICKS = re.compile(r"`+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# ASCII punctuation that opens or closes inline Markdown (emphasis, code, links, tables, strikethrough,
# quotes); what matters only at a line's start is safe, since prose here never starts a line
_MARKDOWN = re.compile(r"([\\`*_\[\]|~>])")


def no_mention(text: str) -> str:
    return _MENTION.sub("@" + WORD_JOINER, text)


def _one_line(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n").replace("\t", " ")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def code(text: str) -> str:
    """A code span that nothing in ``text`` can close early."""
    text = _one_line(text)
    longest = max((len(run) for run in _TICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith(("`", " ")) or text.endswith(("`", " ")) or not text.strip():
        text = f" {text} "
    return f"{fence}{text}{fence}"


_PIPE = re.compile(r"(\\*)\|")


def cell(markdown: str) -> str:
    """Already-escaped Markdown as one table cell: a ``|`` ends a cell even inside a code span, unless an
    odd run of backslashes precedes it (GFM reads ``\\\\`` as one escaped backslash, then the pipe)."""
    return _PIPE.sub(lambda m: m.group(0) if len(m.group(1)) % 2 else f"{m.group(1)}\\|", markdown)


def html(text: str) -> str:
    return no_mention(_html.escape(_one_line(text), quote=True))


def text(value: str) -> str:
    """``value`` as Markdown prose that renders as exactly these characters."""
    value = _CONTROL.sub(" ", value.replace("\r", " ").replace("\n", " ").replace("\t", " "))
    value = _MARKDOWN.sub(r"\\\1", value)
    value = value.replace("&", "&amp;").replace("<", "&lt;")
    return no_mention(value)
