"""A reader for the block-style YAML that CloudFormation templates are written in (standard library
only, so the lint runs wherever python3 does).

What it reads: block mappings and sequences (including `- key: value` items and sequences at their
key's indentation), plain, 'single'- and "double"-quoted scalars, flow sequences `[a, [b], !Ref c]`,
literal `|` and folded `>` block scalars, comments, and CloudFormation's short-form tags (`!Ref`,
`!GetAtt`, `!Sub`, ...), which become their long form (`{"Ref": ...}`, `{"Fn::GetAtt": [...]}`).

What it refuses, with the line number, rather than guess: flow mappings `{...}`, anchors and
aliases, multi-line quoted or flow scalars, several documents, tabs in indentation, duplicate keys,
unknown tags. Scalars stay text (`true`, `3`), as CloudFormation reads most of them.
"""

import re

TAGS = {
    "!Ref": "Ref", "!Condition": "Condition", "!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub",
    "!Join": "Fn::Join", "!Select": "Fn::Select", "!Split": "Fn::Split", "!If": "Fn::If",
    "!Equals": "Fn::Equals", "!Not": "Fn::Not", "!And": "Fn::And", "!Or": "Fn::Or",
    "!FindInMap": "Fn::FindInMap", "!GetAZs": "Fn::GetAZs", "!ImportValue": "Fn::ImportValue",
    "!Base64": "Fn::Base64", "!Cidr": "Fn::Cidr", "!Transform": "Fn::Transform",
    "!ToJsonString": "Fn::ToJsonString", "!Length": "Fn::Length",
}

_BLOCK_SCALAR = re.compile(r"^([|>])([+-]?)$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", '"': '"', "\\": "\\", "/": "/", " ": " "}


class YamlError(ValueError):
    def __init__(self, line, message):
        super().__init__(f"line {line}: {message}")
        self.line = line


def tagged(tag, value, line):
    if tag not in TAGS:
        raise YamlError(line, f"unknown tag {tag}; known: {', '.join(sorted(TAGS))}")
    if tag == "!GetAtt" and isinstance(value, str):
        resource, dot, attribute = value.partition(".")
        if not dot:
            raise YamlError(line, f"!GetAtt {value}: expected Resource.Attribute")
        value = [resource, attribute]
    return {TAGS[tag]: value}


def strip_comment(text):
    """Text without a trailing comment (a # at the start or after a space, outside quotes)."""
    quote = None
    for index, char in enumerate(text):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"" and (index == 0 or text[index - 1] in " [,:"):
            quote = char
        elif char == "#" and (index == 0 or text[index - 1] in " \t"):
            return text[:index].rstrip()
    return text.rstrip()


def split_key(text, line):
    """('key', 'rest') for a `key: rest` line, or None when it is not a mapping entry."""
    if text[:1] in "'\"":
        quote = text[0]
        end = text.find(quote, 1)
        while quote == "'" and end != -1 and text[end + 1:end + 2] == "'":
            end = text.find(quote, end + 2)
        if end == -1:
            raise YamlError(line, "unclosed quoted key")
        after = text[end + 1:]
        if after == ":" or after.startswith(": "):
            return scalar(text[:end + 1], line), after[1:].strip()
        return None
    match = re.match(r"^([^\s#\[\]{},&*!|>'\"%@`][^#]*?)\s*:(?:\s+|$)(.*)$", text)
    if not match:
        return None
    return match.group(1), match.group(2)


def scalar(text, line):
    """A quoted or plain scalar on one line."""
    if text.startswith('"'):
        out, index = [], 1
        while index < len(text):
            char = text[index]
            if char == "\\":
                code = text[index + 1:index + 2]
                if code == "u":
                    out.append(chr(int(text[index + 2:index + 6], 16)))
                    index += 6
                    continue
                if code not in _ESCAPES:
                    raise YamlError(line, f"unknown escape \\{code}")
                out.append(_ESCAPES[code])
                index += 2
            elif char == '"':
                if text[index + 1:].strip():
                    raise YamlError(line, f"unexpected text after the closing quote: {text[index + 1:]}")
                return "".join(out)
            else:
                out.append(char)
                index += 1
        raise YamlError(line, "a double-quoted scalar must close on its line (multi-line quotes are not read)")
    if text.startswith("'"):
        match = re.match(r"^'((?:[^']|'')*)'\s*$", text)
        if not match:
            raise YamlError(line, "a single-quoted scalar must close on its line (multi-line quotes are not read)")
        return match.group(1).replace("''", "'")
    if text[:1] in "&*":
        raise YamlError(line, "anchors and aliases are not read by this linter")
    if text[:1] in "{":
        raise YamlError(line, "flow mappings {...} are not read by this linter; write a block mapping")
    if re.search(r":(\s|$)", text):
        raise YamlError(line, f"a plain scalar cannot contain ': ' (quote it): {text}")
    return text


class _Flow:
    """A flow sequence `[...]` on one line, items possibly tagged or nested."""

    def __init__(self, text, line):
        self.text, self.pos, self.line = text, 0, line

    def error(self, message):
        raise YamlError(self.line, f"{message} in {self.text}")

    def skip_space(self):
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def node(self):
        self.skip_space()
        if self.text.startswith("!", self.pos):
            end = self.pos
            while end < len(self.text) and self.text[end] not in " ,]":
                end += 1
            tag = self.text[self.pos:end]
            self.pos = end
            return tagged(tag, self.node(), self.line)
        if self.text.startswith("[", self.pos):
            return self.sequence()
        if self.text.startswith("{", self.pos):
            self.error("flow mappings {...} are not read by this linter")
        if self.text[self.pos:self.pos + 1] in ("'", '"'):
            quote = self.text[self.pos]
            end = self.pos + 1
            while True:
                end = self.text.find(quote, end)
                if end == -1:
                    self.error("unclosed quote")
                if quote == "'" and self.text[end + 1:end + 2] == "'":
                    end += 2
                    continue
                if quote == '"' and self.text[end - 1] == "\\":
                    end += 1
                    continue
                break
            value = scalar(self.text[self.pos:end + 1], self.line)
            self.pos = end + 1
            return value
        end = self.pos
        while end < len(self.text) and self.text[end] not in ",]":
            end += 1
        value = self.text[self.pos:end].strip()
        self.pos = end
        if not value:
            self.error("empty item")
        return scalar(value, self.line)

    def sequence(self):
        self.pos += 1  # [
        items = []
        self.skip_space()
        if self.text.startswith("]", self.pos):
            self.pos += 1
            return items
        while True:
            items.append(self.node())
            self.skip_space()
            char = self.text[self.pos:self.pos + 1]
            self.pos += 1
            if char == "]":
                return items
            if char != ",":
                self.error("expected , or ] (a flow sequence must close on its line)")

    def whole(self):
        value = self.node()
        self.skip_space()
        if self.pos != len(self.text):
            self.error(f"unexpected text {self.text[self.pos:]!r}")
        return value


class _Parser:
    def __init__(self, text):
        if text.startswith("\ufeff"):
            text = text[1:]
        self.lines = text.split("\n")
        self.index = 0

    # -- lines --------------------------------------------------------------------------------
    def significant(self):
        """Index of the next line with content (not blank, not a comment), or None."""
        index = self.index
        while index < len(self.lines):
            raw = self.lines[index]
            stripped = raw.strip()
            if stripped and not stripped.startswith("#"):
                if raw[:len(raw) - len(raw.lstrip())].count("\t"):
                    raise YamlError(index + 1, "tabs cannot indent YAML")
                if stripped in ("---", "...") and raw.startswith(stripped):
                    if index == 0 or not any(l.strip() and not l.strip().startswith("#") for l in self.lines[:index]):
                        self.index = index + 1
                        return self.significant()
                    raise YamlError(index + 1, "several documents are not read by this linter")
                if stripped.startswith("%"):
                    raise YamlError(index + 1, "directives are not read by this linter")
                return index
            index += 1
        return None

    @staticmethod
    def indent_of(raw):
        return len(raw) - len(raw.lstrip(" "))

    @staticmethod
    def is_item(text):
        return text == "-" or text.startswith("- ")

    # -- nodes --------------------------------------------------------------------------------
    def document(self):
        start = self.significant()
        if start is None:
            return None
        value = self.block(self.indent_of(self.lines[start]))
        rest = self.significant()
        if rest is not None:
            raise YamlError(rest + 1, "unexpected indentation or text after the document")
        return value

    def block(self, indent):
        start = self.significant()
        text = self.lines[start].strip()
        if self.is_item(text):
            return self.sequence(indent)
        if split_key(strip_comment(text), start + 1) is not None:
            return self.mapping(indent)
        self.index = start + 1
        return self.inline(strip_comment(text), start + 1, indent)

    def mapping(self, indent):
        result = {}
        while True:
            at = self.significant()
            if at is None:
                return result
            raw = self.lines[at]
            current = self.indent_of(raw)
            if current < indent:
                return result
            text = strip_comment(raw.strip())
            if current > indent:
                raise YamlError(at + 1, f"unexpected indentation (expected {indent} spaces): {text}")
            if self.is_item(text):
                return result
            entry = split_key(text, at + 1)
            if entry is None:
                raise YamlError(at + 1, f"expected 'key: value': {text}")
            key, rest = entry
            if key in result:
                raise YamlError(at + 1, f"duplicate key {key}")
            self.index = at + 1
            result[key] = self.value(rest, at + 1, indent, allow_same_indent_sequence=True)

    def sequence(self, indent):
        result = []
        while True:
            at = self.significant()
            if at is None:
                return result
            raw = self.lines[at]
            current = self.indent_of(raw)
            text = raw.strip()
            if current < indent or (current == indent and not self.is_item(text)):
                return result
            if current > indent:
                raise YamlError(at + 1, f"unexpected indentation (expected {indent} spaces): {text}")
            if not self.is_item(text):
                return result
            content = text[1:].lstrip(" ")
            column = current + (len(text) - len(content))
            if content and (self.is_item(content) or split_key(strip_comment(content), at + 1) is not None):
                # `- key: value` (a mapping whose keys line up with `key`) or `- - item` (a
                # sequence whose items line up with the inner dash).
                self.lines[at] = " " * column + content
                self.index = at
                result.append(self.block(column))
                continue
            self.index = at + 1
            result.append(self.value(strip_comment(content), at + 1, indent, allow_same_indent_sequence=False))

    def value(self, rest, line, indent, allow_same_indent_sequence):
        """The value after `key:` or `-`: inline, a block scalar, or a block on the next lines."""
        tag = None
        if rest.startswith("!"):
            tag, _, rest = rest.partition(" ")
            rest = rest.strip()
        if _BLOCK_SCALAR.match(rest):
            value = self.block_scalar(rest, line, indent)
        elif rest:
            value = self.inline(rest, line, indent)
        else:
            value = self.nested(indent, allow_same_indent_sequence)
        return tagged(tag, value, line) if tag else value

    def nested(self, indent, allow_same_indent_sequence):
        at = self.significant()
        if at is None:
            return ""
        current = self.indent_of(self.lines[at])
        if current > indent:
            return self.block(current)
        if allow_same_indent_sequence and current == indent and self.is_item(self.lines[at].strip()):
            return self.sequence(indent)
        return ""

    def inline(self, text, line, indent):
        if text.startswith("!"):
            tag, _, rest = text.partition(" ")
            rest = rest.strip()
            value = self.inline(rest, line, indent) if rest else self.nested(indent, False)
            return tagged(tag, value, line)
        if text.startswith("["):
            return _Flow(text, line).whole()
        return scalar(text, line)

    def block_scalar(self, header, line, indent):
        style, chomp = _BLOCK_SCALAR.match(header).groups()
        lines = []
        content_indent = None
        index = self.index
        while index < len(self.lines):
            raw = self.lines[index]
            if raw.strip():
                current = self.indent_of(raw)
                if current <= indent:
                    break
                if content_indent is None:
                    content_indent = current
                if current < content_indent:
                    raise YamlError(index + 1, "a block scalar line is indented less than its first line")
                lines.append(raw[content_indent:])
            else:
                lines.append("")
            index += 1
        self.index = index
        while lines and not lines[-1]:
            lines.pop()
            index -= 1
        if style == "|":
            text = "\n".join(lines)
        else:
            # Folding: a line break between two text lines becomes a space, a run of n blank
            # lines n line breaks; more-indented lines keep their breaks.
            text, blanks, previous = "", 0, None
            for item in lines:
                if not item:
                    blanks += 1
                    continue
                if previous is not None:
                    if blanks:
                        text += "\n" * blanks
                    elif item.startswith(" ") or previous.startswith(" "):
                        text += "\n"
                    else:
                        text += " "
                text += item
                blanks, previous = 0, item
        if chomp == "-" or not text:
            return text
        return text + "\n"


def loads(text):
    """Reads one YAML document in the subset described above."""
    return _Parser(text).document()


def load(path):
    with open(path, encoding="utf-8") as f:
        return loads(f.read())
