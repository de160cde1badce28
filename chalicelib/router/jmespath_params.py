"""JMESPath inference: the ``data.json_query`` expression an instruction asks for.

``infer_jmespath(instruction, data)`` reads an expression the user wrote ("query: users[*].name")
or builds one from the instruction's words and the JSON's own keys ("users with age over 30" ->
``users[?age>`30`]``); None when neither gives a valid expression.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import islice
from typing import Any, NamedTuple

import jmespath

# Words that announce an expression ("query: ...", "jmespath ..."); chalicelib.router.params
# also uses them to tell an expression written inline from data.
JMES_KEYWORD = re.compile(
    r"\b(?:jmespath|jmes\s*path|json\s*path|expression|query|path|jq)\b\s*(?:expression\s*)?:?\s*"
)
# Lower-case words as the router compares them (chalicelib.router.params too).
WORD = re.compile(r"[a-z0-9_]+")
_COUNT_WORDS = re.compile(r"\b(?:how\s+many|count|number\s+of)\b")
_BLANKS = re.compile(r"\s+")

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
    if m := JMES_KEYWORD.search(instruction):
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
    words = set(map(_singular, WORD.findall(text)))
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
