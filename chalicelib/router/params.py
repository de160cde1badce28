"""Parameter inference: what the instruction says about a module's parameters.

``infer(module, instruction, shape)`` returns the parameters the router could read from the
instruction (the expression for ``math.evaluate``, the algorithm for ``crypto.hash``, the
sentence count for ``text.summarize``, the kinds for ``text.extract``, a JMESPath expression for
``data.json_query``) and, when the task has no input, inline data written into the instruction.
Explicit task params always win over inferred ones (the caller merges them).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from typing import Any, NamedTuple

from chalicelib.router import arithmetic
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
_JMES_KEYWORD = re.compile(
    r"\b(?:jmespath|jmes\s*path|json\s*path|expression|query|path|jq)\b\s*(?:expression\s*)?:?\s*"
)
_JMES_TOKEN = re.compile(r"^[\w@*\[\]?.`'\"=!<>&|(),:-]+$")
_COUNT_WORDS = re.compile(r"\b(?:how\s+many|count|number\s+of)\b")
_WORD = re.compile(r"[a-z0-9_]+")
_BLANKS = re.compile(r"\s+")


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
    for match in _WORD.finditer(text.lower()):
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
        and len(_WORD.findall(head.lower())) <= _REQUEST_WORDS_MAX
        # "jmespath: [*].id" names a parameter, not data.
        and not (_JMES_KEYWORD.search(head.lower()) and _JMES_TOKEN.match(data))
        and _is_data(head, rest)
    ):
        return head.strip(), data
    first, newline, body = instruction.partition("\n")
    if newline and body.strip() and len(_WORD.findall(first.lower())) <= _REQUEST_WORDS_MAX:
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


# --- JMESPath ---------------------------------------------------------------------------

_KEY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # keys a plain JMESPath identifier can name
_ORDINALS = {"first": "0", "second": "1", "third": "2", "last": "-1"}
_AGGREGATES = (
    (re.compile(r"\b(?:max|maximum|highest|largest|biggest|oldest)\b"), "max"),
    (re.compile(r"\b(?:min|minimum|lowest|smallest|youngest)\b"), "min"),
    (re.compile(r"\b(?:average|avg|mean)\b"), "avg"),
    (re.compile(r"\b(?:sum|total)\b"), "sum"),
)
_AGGREGATE_CALLS = ("max(", "min(", "avg(", "sum(")
_QUESTION = re.compile(r"\s*(?:which|what|who|whose|where|when|why|how)\b")
_COMPARISONS = {
    "over": ">",
    "above": ">",
    "greater than": ">",
    "more than": ">",
    "under": "<",
    "below": "<",
    "less than": "<",
    "is not": "!=",
    "not": "!=",
}
_FILTER = re.compile(
    r"\b(?:where|with|whose|having|have|has|by)\s+(\w+)\s+"
    r"(is\s+not|is|=+|equals?|of|over|above|greater\s+than|more\s+than|under|below|less\s+than)?"
    r"\s*([\w.@-]+)"
)
_NOT_VALUES = {"and", "or", "the", "to", "then", "a", "an", "in", "from", "of", "for", "it"}


@lru_cache(maxsize=4096)  # words and key names recur across requests
def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "uses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 2:
        return word[:-1]
    return word


@lru_cache(maxsize=4096)
def _key_leaf(key: str) -> str | None:
    """A key as instruction words are compared (lower-case, singular); None when a plain
    JMESPath identifier cannot name it."""
    return _singular(key.lower()) if _KEY_NAME.fullmatch(key) else None


class _KeyPath(NamedTuple):  # a NamedTuple: built dozens of times per decision, cheaply
    base: str  # the list the key lives in, e.g. "users" or "" for a top-level list
    in_list: bool  # True when the key belongs to the objects of a list
    path: str  # full projection, e.g. "users[*].name" or "total"
    rel: str  # path relative to a list item, e.g. "name" or "owner.login"
    sample: Any
    leaf: str  # the last key, lower-case and singular, as instruction words are compared


def _key_paths(data: Any) -> list[_KeyPath]:
    """Every key path up to depth 3, with the list (if any) whose items hold it."""
    out: list[_KeyPath] = []

    def walk(value: Any, prefix: str, base: str | None, rel: str, depth: int) -> None:
        if depth > 3 or len(out) > 80:
            return
        if isinstance(value, list):
            if base is None:
                sample = next((v for v in value[:5] if isinstance(v, dict)), None)
                if sample is not None:
                    walk(sample, prefix + "[*]", prefix, "", depth + 1)
            return
        if not isinstance(value, dict):
            return
        in_list = base is not None
        for key, child in islice(value.items(), 40):
            if not isinstance(key, str) or (leaf := _key_leaf(key)) is None:
                continue
            path = f"{prefix}.{key}" if prefix else key
            child_rel = f"{rel}.{key}" if rel else key
            out.append(_KeyPath(base or "", in_list, path, child_rel, child, leaf))
            if isinstance(child, (dict, list)):  # a scalar has no keys below it
                walk(child, path, base, child_rel if in_list else "", depth + 1)

    walk(data, "", None, "", 0)
    return out


_NUMBER_LITERAL = re.compile(r"-?\d+(?:\.\d+)?")
_NAMES_SOMETHING = re.compile(r"[A-Za-z_@*\[]")
_JMESPATH_CACHE_SIZE = 512
_jmespath_checked: dict[str, bool] = {}


def _literal(raw: str) -> str:
    if raw in ("true", "false", "null") or _NUMBER_LITERAL.fullmatch(raw):
        return f"`{raw}`"
    return "'" + raw.replace("'", "") + "'"


def _valid_jmespath(expression: str) -> bool:
    if len(expression) > 200 or not _NAMES_SOMETHING.search(expression):
        return False
    known = _jmespath_checked.get(expression)
    if known is not None:
        return known
    import jmespath  # botocore's dependency: present wherever boto3 is; imported only here

    try:
        jmespath.compile(expression)
        valid = True
    except Exception:  # jmespath raises several parse error types
        valid = False
    # jmespath keeps only 128 parsed expressions and evicts at random; the verdict is all the
    # router needs, so it keeps its own (bounded) memo of it.
    if len(_jmespath_checked) >= _JMESPATH_CACHE_SIZE:
        _jmespath_checked.clear()
    _jmespath_checked[expression] = valid
    return valid


_ON_DATA = re.compile(r"\s+(?:on|from|in|against|over)\s+[{\[]")
_PATH_CHAR = re.compile(r"[A-Za-z*@]")
_PATH_PUNCTUATION = re.compile(r"[\[\].(*@`?]")


def _explicit_jmespath(instruction: str, data: Any) -> str | None:
    """An expression the user wrote: after 'jmespath'/'query'/'expression', or path-like."""
    candidates = []
    if m := _JMES_KEYWORD.search(instruction):
        rest = instruction[m.end() :].strip()
        rest = _ON_DATA.split(rest)[0].strip()
        candidates.append(rest.rstrip("?.!").strip())
    candidates.extend(
        tok.rstrip("?.,!")
        for tok in instruction.split()
        if ("[" in tok or "." in tok.strip(".") or "(" in tok) and _PATH_CHAR.search(tok)
    )
    for candidate in candidates:
        if not candidate or (" " in candidate and "[" not in candidate and "(" not in candidate):
            continue
        path_like = _PATH_PUNCTUATION.search(candidate)
        if not path_like and not (isinstance(data, dict) and candidate in data):
            continue
        if not _valid_jmespath(candidate):
            continue
        if isinstance(data, list) and not candidate.startswith(("[", "@", "length(")):
            candidate = "[*]." + candidate  # "owner.login" over a top-level list
        return candidate
    return None


def _filter_for(text: str, words: set[str], paths: list[_KeyPath], data: Any) -> str | None:
    """``base[?key op value]`` from "where key is value"-style words or a value-only mention."""
    list_paths = [kp for kp in paths if kp.in_list and "." not in kp.rel]
    for m in _FILTER.finditer(text):
        key, op_word, raw = m.group(1), (m.group(2) or "is").strip(), m.group(3)
        if raw in _NOT_VALUES:
            continue
        for kp in list_paths:
            if kp.rel.lower() != key:
                continue
            rel = kp.rel
            if isinstance(kp.sample, dict):
                # "where owner is kim" with owner = {"login": "kim"}: compare the field of the
                # object that holds such values, never the object itself.
                field_rel = _field_holding(data, kp, raw, paths)
                if field_rel is None:
                    continue
                rel = field_rel
            op = _COMPARISONS.get(_BLANKS.sub(" ", op_word), "==")
            return f"{kp.base}[?{rel}{op}{_literal(raw)}]"
    # A string value named in the instruction ("the open issues", "closed items").
    for kp in list_paths:
        if not isinstance(kp.sample, str):
            continue
        values = _list_values(data, kp)
        for value in values:
            if value.lower() in words and value.lower() not in _NOT_VALUES:
                return f"{kp.base}[?{kp.rel}=={_literal(value)}]"
    # A boolean key used as an adjective of the list's name ("active users", "inactive users").
    for kp in list_paths:
        if isinstance(kp.sample, bool):
            container = _singular(kp.base.rsplit(".", 1)[-1].lower()) if kp.base else ""
            noun_named = container in words or not kp.base
            key = kp.rel.lower()
            # (``key in text`` first: the regex can only match where the key occurs.)
            if noun_named and key in text and re.search(rf"\b(?:in|non-?|not\s+|un)?{key}\b", text):
                negated = re.search(rf"\b(?:in|non-?|not\s+|un){key}\b", text)
                return f"{kp.base}[?{'!' if negated else ''}{kp.rel}]"
    return None


def _field_holding(data: Any, kp: _KeyPath, raw: str, paths: list[_KeyPath]) -> str | None:
    """The scalar field inside the objects at ``kp`` whose values include ``raw`` (or the only
    scalar field there is), relative to the list item; None when there is none."""
    fields = [
        other
        for other in paths
        if other.in_list
        and other.base == kp.base
        and other.rel.startswith(kp.rel + ".")
        and other.rel.count(".") == kp.rel.count(".") + 1
        and not isinstance(other.sample, (dict, list))
    ]
    wanted = raw.lower()
    for other in fields:
        if any(str(v).lower() == wanted for v in _list_values(data, other, scalars=True)):
            return other.rel
    return fields[0].rel if len(fields) == 1 else None


def _list_values(data: Any, kp: _KeyPath, *, scalars: bool = False) -> set[Any]:
    """The values of ``kp.rel`` (a dotted path inside each list item) in the first items: the
    strings, or with ``scalars`` every non-container value."""
    items: Any = data
    if kp.base:
        for part in kp.base.split("."):
            items = items.get(part) if isinstance(items, dict) else None
    if not isinstance(items, list):
        return set()
    if not scalars and "." not in kp.rel:  # the common case, in one pass
        rel = kp.rel
        return {
            item[rel]
            for item in items[:20]
            if isinstance(item, dict) and isinstance(item.get(rel), str)
        }
    values: set[Any] = set()
    for item in items[:20]:
        value: Any = item
        for part in kp.rel.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str) or (scalars and isinstance(value, (int, float, bool))):
            values.add(value)
    return values


_FILTER_KEYS = re.compile(r"[?!]*([\w.]+)\s*(?:[=!<>]|\])")
_PATH_STEPS = re.compile(r"\[\*\]\.?|\.")


def infer_jmespath(instruction: str, data: Any) -> str | None:
    explicit = _explicit_jmespath(instruction, data)
    if explicit:
        return explicit
    if not isinstance(data, (dict, list)):
        return None
    text = instruction.lower()
    words = set(map(_singular, _WORD.findall(text)))
    paths = _key_paths(data)
    filtered = _filter_for(text, words, paths, data)
    matches = [kp for kp in paths if kp.leaf in words]
    counting = bool(_COUNT_WORDS.search(text))
    if filtered:
        base = filtered[: filtered.index("[?")]
        filter_keys = {part for key in _FILTER_KEYS.findall(filtered) for part in key.split(".")}
        leaves = [
            kp.rel
            for kp in matches
            if kp.in_list and kp.base == base and kp.rel.split(".")[0] not in filter_keys
        ]
        expression = filtered + (("." + leaves[0]) if len(leaves) == 1 else "")
        if len(leaves) > 1:
            expression += ".{" + ", ".join(f"{r.replace('.', '_')}: {r}" for r in leaves) + "}"
    elif matches:
        # Prefer paths whose every key was named, then the deepest such path.
        def named(kp: _KeyPath) -> int:
            return sum(1 for k in _PATH_STEPS.split(kp.path) if _singular(k.lower()) in words)

        def rank(kp: _KeyPath) -> tuple[int, bool, int]:
            # "how many stars": when counting, a number that answers it beats a name.
            numeric = counting and isinstance(kp.sample, (int, float))
            return (named(kp), numeric, kp.path.count("."))

        best = max(matches, key=rank)
        siblings = [
            kp
            for kp in matches
            if kp.in_list
            and best.in_list
            and kp.base == best.base
            and kp.rel != best.rel
            and "." not in kp.rel
            and "." not in best.rel
        ]
        if siblings:
            rels = [best.rel, *(kp.rel for kp in siblings)]
            rels.sort(key=lambda r: text.find(r.lower()[:-1] if len(r) > 3 else r))
            expression = f"{best.base}[*].{{" + ", ".join(f"{r}: {r}" for r in rels) + "}"
        else:
            expression = best.path
            container = isinstance(best.sample, (list, dict))
            asks_more = _QUESTION.match(text) or any(p.search(text) for p, _ in _AGGREGATES)
            if container and asks_more and not counting:
                # "which items are out of stock", "total quantity of items": only the list's
                # name was recognised; returning the whole list would not answer it.
                return None
        ordinal = next((_ORDINALS[w] for w in _ORDINALS if w in words), None)
        if ordinal is not None and best.in_list and expression.count("[*]") == 1:
            expression = expression.replace("[*]", f"[{ordinal}]")
        elif best.in_list and "[*]" in expression and isinstance(best.sample, (int, float)):
            for pattern, fn in _AGGREGATES:
                if pattern.search(text):
                    expression = f"{fn}({expression})"
                    break
    elif counting and isinstance(data, list):
        return "length(@)"
    else:
        return None
    if counting and not expression.startswith(_AGGREGATE_CALLS):
        if not filtered and matches and isinstance(best.sample, (int, float)):
            # The count is a value in the data: "how many stars" -> stars, "how many commits
            # in total" -> sum(contributors[*].commits).
            return f"sum({expression})" if "[*]" in expression else expression
        if "[?" in expression:
            return f"length({expression[: expression.index(']') + 1]})"
        target = expression.split("[*]")[0] if "[*]" in expression else expression
        return f"length({target or '@'})"
    return expression


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
