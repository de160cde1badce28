"""Parameter inference: what the instruction says about a module's parameters.

``infer(module, instruction, shape)`` returns the parameters the router could read from the
instruction (the expression for ``math.evaluate``, the algorithm for ``crypto.hash``, the
sentence count for ``text.summarize``, the kinds for ``text.extract``, a JMESPath expression for
``data.json_query``: ``chalicelib.router.jmespath_params``) and, when the task has no input,
inline data written into the instruction.
Explicit task params always win over inferred ones (the caller merges them).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from chalicelib.router import arithmetic
from chalicelib.router.jmespath_params import JMES_KEYWORD, WORD, infer_jmespath
from chalicelib.router.shapes import (
    KIND_EMPTY,
    KIND_JSON,
    KIND_TEXT,
    InputShape,
    describe_input,
)

_ALGORITHM = re.compile(
    r"\b(md[\s-]?5|sha+[\s_-]?(?:224|256|384|512|1|2|3(?:[\s_-]?(?:224|256|384|512))?)?"
    r"|blake[\s_-]?2[bs]?)(?:sum)?\b"
)
# What the executor's crypto.hash accepts (its params schema); other digests are refused.
HASH_ALGORITHMS = frozenset({"md5", "sha1", "sha256", "sha512", "blake2b"})
_SMALL_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "single": 1,
    "two": 2,
    "couple": 2,
    "three": 3,
    "few": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_SENTENCES = re.compile(
    r"\b(\d{1,2}|a single|a couple of|a couple|an?|one|two|three|four|five|six|seven|eight|"
    r"nine|ten|few)[\s-]+(?:short\s+|key\s+|main\s+)?(sentences?|lines?|liner)\b"
)
_EXTRACT_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("emails", re.compile(r"e-?mails?|mail\s+addres")),
    ("urls", re.compile(r"\burls?\b|links?\b|websites?|web\s+address|hyperlinks?|domains?")),
    ("phones", re.compile(r"phones?|telephone|mobile\s+numbers?|cell\s+numbers?")),
    ("dates", re.compile(r"\bdates?\b|deadlines?|\bwhen\b|days?\b")),
    ("money", re.compile(r"money|monetary|prices?|dollars?|amounts?|currenc|cost|\$|€|£")),
    ("hashtags", re.compile(r"hashtags?|#\s*tags?|\btags\b")),
    ("mentions", re.compile(r"@|\bmentions\b|\bhandles?\b|\bmention\b(?!ed)")),
)
_QUOTED = re.compile(
    r"\"([^\"]+)\"|“([^”]+)”|(?:^|(?<=[\s:(]))'([^']+)'(?=$|[\s.,;:!?)])|`([^`]+)`"
)
_THE_WORD = re.compile(r"(?<=\bthe\s)(?:word|string|phrase|name)\s+([^\s'\"]+)")
_JMES_TOKEN = re.compile(r"^[\w@*\[\]?.`'\"=!<>&|(),:-]+$")


_SPLIT_SCAN_CHARS = 2000  # inline data is looked for near the start only
_JSON_DECODER = json.JSONDecoder()
_OPENING = re.compile(r"[{\[]")


@dataclass
class Inferred:
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Set when the request asks for something the module does not offer (e.g. sha3-256).
    unsupported: str | None = None


def hash_algorithm(instruction: str) -> str | None:
    match = _ALGORITHM.search(instruction.lower())
    if not match:
        return None
    token = re.sub(r"[\s_-]", "", match.group(1))
    if token.startswith("md"):
        return "md5"
    if token.startswith("blake"):
        return "blake2s" if token.endswith("s") else "blake2b"
    token = re.sub(r"^sha+", "sha", token)
    if token.startswith("sha3") and token not in ("sha384",):
        bits = token[4:] or "256"
        return f"sha3_{bits}" if bits in ("224", "256", "384", "512") else "sha3_256"
    bits = token[3:]
    if bits in ("", "2"):
        return "sha256" if bits == "2" else None
    return {"1": "sha1", "224": "sha224", "256": "sha256", "384": "sha384", "512": "sha512"}.get(
        bits
    )


def sentence_count(instruction: str) -> int | None:
    text = instruction.lower()
    match = _SENTENCES.search(text)
    if not match:
        if re.search(r"\bone[\s-]?liner\b|\bin\s+a\s+nutshell\b", text):
            return 1
        return None
    word = match.group(1)
    if word.isdigit():
        count = int(word)
    else:
        count = _SMALL_NUMBERS.get(word.split()[-1] if word.startswith("a ") else word, 0)
        if word.startswith("a couple"):
            count = 2
    return count if 1 <= count <= 20 else None


def extract_kinds(instruction: str) -> list[str]:
    # Only the request part: inline data after a colon may itself contain "@" or "$".
    text = instruction.split(":", 1)[0].lower()
    return [kind for kind, pattern in _EXTRACT_KINDS if pattern.search(text)]


def inline_json(instruction: str) -> tuple[str, Any] | None:
    """The first JSON object/array embedded in the instruction (at most a few tries; it must
    start near the beginning, though it may run to any length)."""
    decoder = _JSON_DECODER
    tries = 0
    for m in _OPENING.finditer(instruction, 0, _SPLIT_SCAN_CHARS):
        tries += 1
        if tries > 6:
            break
        try:
            value, end = decoder.raw_decode(instruction, m.start())
        except ValueError:
            continue
        if isinstance(value, (dict, list)) and value:
            return instruction[m.start() : end], value
    return None


_REQUEST_WORDS_MAX = 14
# A quote mark or bracket (an apostrophe inside a word, as in "what's", is neither).
_QUOTE_OR_BRACKET = re.compile(r"[{\[\"`“]|(?<![A-Za-z])'|'(?![A-Za-z])")


_STRUCTURED_KIND = re.compile(r"\b(?:csv|tsv|json|table|spreadsheet|dataset|excel|xlsx?)\b")
# Words that describe the work or its result ("data types and missing values", "emails and
# phone numbers", "key findings", "positive or negative", "sha256"), drawn from what the modules
# return and how people ask for it. A colon followed only by such words introduces no data.
_DESCRIPTION_WORDS = frozenset(
    """
    a all also an and any are as at both by each either every for from how i in including is
    it its many me much my of on only or our per please show so the their them there these
    this those to too versus vs what which with would you your
    character characters chars count counts counting frequency frequent length letter letters
    line lines long longest most number numbers often paragraph paragraphs reading sentence
    sentences time times top common word words size
    brief conclusion conclusions finding findings gist highlight highlights idea ideas key main
    outcome outcomes point points recap recommendation recommendations short summary summaries
    takeaway takeaways tl dr tldr
    address addresses amount amounts contact contacts date dates deadline deadlines email emails
    handle handles hashtag hashtags link links mention mentions money name names phone phones
    price prices url urls website websites
    angry emotion emotions feel feeling feelings friendly happy hostile mixed mood negative
    neutral opinion polarity positive score sentiment tone
    average averages blank blanks cell cells column columns data distinct duplicate duplicates
    empty field fields header headers max maximum mean median min minimum missing null nulls
    outlier outliers profile range row rows schema stat stats statistic statistics std sum total
    type types unique value values
    active entries entry id ids item items key keys list nested path paths record records user
    users
    algorithm bytes checksum digest fingerprint hash hex hexdigest blake2b md5 sha1 sha256
    sha512 sha224 sha384
    article document doc email file input message note notes page report review reviews text
    essay letter transcript csv json table dataset spreadsheet
    """.split()  # noqa: SIM905 - a long word list reads better as words
)


_DESCRIPTION_CHARS = 160  # a description of the work is short; longer text is data


def describes_work(text: str) -> bool:
    """True when ``text`` only names what to compute, as in "Analyze this CSV: data types and
    missing values", rather than being the data itself."""
    if len(text) > _DESCRIPTION_CHARS:
        return False
    seen = False
    for match in WORD.finditer(text.lower()):
        word = match.group(0)
        if word not in _DESCRIPTION_WORDS and not word.isdigit():
            return False
        seen = True
    return seen


def _is_data(head: str, rest: str) -> bool:
    """Whether what follows a colon is data: on its own lines, quoted or fenced, JSON or CSV,
    an expression, or prose that is more than a description of the work."""
    data = rest.strip()
    if rest.lstrip(" \t").startswith(("\n", "\r")) or data[0] in "\"'`\u201c{[":
        return True
    if arithmetic.looks_like_expression(data) or "\n" in data:
        return True  # arithmetic, or several lines (a table, a text)
    if data[0] in "{[" and describe_input(data).kind == KIND_JSON:
        return True
    if _STRUCTURED_KIND.search(head.lower()):
        return False  # "this CSV: <words that are not CSV>" describes the CSV, it is not one
    return not describes_work(data)


def split_inline(instruction: str) -> tuple[str, str] | None:
    """(request, data) when a task without input carries its data in the instruction:

    "sentiment: I love it", "summarize the following\n<text>", "get names from {...}",
    "md5 of 'hello world'". The request part is what gets classified; the data is the input.
    A description is not data: "Analyze this CSV: data types and missing values" has none.
    """
    head, sep, rest = instruction.partition(":")
    data = rest.strip()
    if (
        sep
        and data
        and not _QUOTE_OR_BRACKET.search(head)  # else the colon sits inside the data itself
        and len(WORD.findall(head.lower())) <= _REQUEST_WORDS_MAX
        # "jmespath: [*].id" names a parameter, not data.
        and not (JMES_KEYWORD.search(head.lower()) and _JMES_TOKEN.match(data))
        and _is_data(head, rest)
    ):
        return head.strip(), data
    first, newline, body = instruction.partition("\n")
    if newline and body.strip() and len(WORD.findall(first.lower())) <= _REQUEST_WORDS_MAX:
        return first.strip(), body.strip()
    if found := inline_json(instruction):
        start = instruction.find(found[0])
        request = (instruction[:start] + " " + instruction[start + len(found[0]) :]).strip()
        return request, found[0]
    for pattern in (_QUOTED, _THE_WORD):
        if m := pattern.search(instruction, 0, _SPLIT_SCAN_CHARS):
            data = next(g for g in m.groups() if g is not None)
            if pattern is _THE_WORD and data.lower().rstrip("?.!,") in _DESCRIPTION_WORDS:
                continue  # "the word count", "the name field": words of the request, not data
            request = " ".join((instruction[: m.start()] + " " + instruction[m.end() :]).split())
            if request:
                return request, data
    return None


def classification_view(instruction: str, value: Any) -> tuple[str, InputShape, str | None]:
    """(request text, input shape, inline data): what the classifier reads, for training and
    for decisions alike. Without an input, data written into the instruction becomes the input.
    """
    shape = describe_input(value)
    if shape.kind == KIND_EMPTY and (parts := split_inline(instruction)):
        return parts[0], describe_input(parts[1]), parts[1]
    return instruction, shape, None


# --- per module -------------------------------------------------------------------------


def expression_params(expression: str, value: float | int) -> Inferred:
    """``math.evaluate``'s parameters for an expression, with its value as a note."""
    return Inferred({"expression": expression}, [f"{expression} = {arithmetic.display(value)}"])


def infer(module: str, instruction: str, shape: InputShape) -> Inferred:
    """Parameters for ``module`` read from the request words (and the input, for JSON paths)."""
    result = Inferred()
    if module == "math.evaluate":
        source = shape.text if shape.kind == KIND_TEXT else ""
        found = arithmetic.find_expression_value(source) or arithmetic.find_expression_value(
            instruction
        )
        if found:
            return expression_params(*found)
    elif module == "crypto.hash":
        if algorithm := hash_algorithm(instruction):
            result.params["algorithm"] = algorithm
            if algorithm not in HASH_ALGORITHMS:
                offered = ", ".join(sorted(HASH_ALGORITHMS))
                result.unsupported = f"crypto.hash does not offer {algorithm} (offers {offered})"
    elif module == "text.summarize":
        if (count := sentence_count(instruction)) is not None:
            result.params["sentences"] = count
    elif module == "text.extract":
        if kinds := extract_kinds(instruction):
            result.params["kinds"] = kinds
    elif module == "data.json_query":
        # The module needs an expression; without one, a person (or the LLM) must read it.
        if expression := infer_jmespath(instruction, shape.json_value):
            result.params["expression"] = expression
        else:
            result.unsupported = "no JMESPath expression could be read from the instruction"
    return result
