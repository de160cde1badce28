"""WCAG contrast of the console's design tokens, against the worst backdrop a translucent
panel can sit on (frontend/tokens.css).

The backdrop is the page colour plus radial gradients; behind a panel the worst case is
the page colour or any gradient's strongest stop. Each panel colour is composited over
every such backdrop and each text colour is checked against all of them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TOKENS = Path(__file__).resolve().parents[2] / "frontend" / "tokens.css"
RGB = tuple[float, float, float]


def _blocks() -> dict[str, dict[str, str]]:
    css = TOKENS.read_text()
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)

    def variables(selector_regex: str) -> dict[str, str]:
        match = re.search(selector_regex + r"\s*\{(.*?)\n\s*\}", css, flags=re.S)
        assert match, selector_regex
        return {
            k: " ".join(v.split())
            for k, v in re.findall(r"(--[\w-]+)\s*:\s*(.*?);", match.group(1), flags=re.S)
        }

    light = variables(r"(?m)^:root")
    dark = {**light, **variables(r':root\[data-theme="dark"\]')}
    system_dark = {**light, **variables(r':root:not\(\[data-theme="light"\]\)')}
    assert system_dark == dark, "the system's dark theme must equal the explicit one"
    return {"light": light, "dark": dark}


def _parse(color: str) -> tuple[RGB, float]:
    color = color.strip()
    if color.startswith("#"):
        h = color[1:]
        if len(h) == 3:
            h = "".join(c * 2 for c in h)
        return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)), 1.0
    m = re.fullmatch(r"rgba?\(([^)]*)\)", color)
    assert m, color
    parts = [float(p) for p in re.split(r"[,\s/]+", m.group(1).strip()) if p]
    return (parts[0], parts[1], parts[2]), (parts[3] if len(parts) > 3 else 1.0)


def _over(top: str, bottom: RGB) -> RGB:
    rgb, a = _parse(top)
    return tuple(a * c + (1 - a) * b for c, b in zip(rgb, bottom, strict=True))  # type: ignore[return-value]


def _luminance(rgb: RGB) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: RGB, b: RGB) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _resolve(tokens: dict[str, str], value: str) -> str:
    m = re.fullmatch(r"var\((--[\w-]+)\)", value.strip())
    return _resolve(tokens, tokens[m.group(1)]) if m else value


def _backdrops(tokens: dict[str, str]) -> list[RGB]:
    bg = _parse(tokens["--bg"])[0]
    stops = re.findall(r"rgba\([^)]*\)", tokens["--backdrop"])
    assert stops, "the backdrop has gradient stops"
    return [bg, *(_over(s, bg) for s in stops)]


THEMES = ["light", "dark"]


@pytest.mark.parametrize("theme", THEMES)
def test_text_on_translucent_panels_holds_against_worst_backdrop(theme: str) -> None:
    t = _blocks()[theme]
    panels = [_over(t["--panel"], b) for b in _backdrops(t)]
    for name in ("--text", "--text-muted", "--accent-text"):
        fg = _parse(_resolve(t, t[name]))[0]
        worst = min(_contrast(fg, p) for p in panels)
        assert worst >= 4.5, f"{theme} {name}: {worst:.2f}"
    # Form fields are a second translucent layer on the panel.
    fields = [_over(t["--field"], p) for p in panels]
    text = _parse(t["--text"])[0]
    assert min(_contrast(text, f) for f in fields) >= 4.5


@pytest.mark.parametrize("theme", THEMES)
def test_text_straight_on_the_backdrop(theme: str) -> None:
    """Page headings and breadcrumb links sit on the backdrop itself."""
    t = _blocks()[theme]
    for name in ("--text", "--accent-text"):
        fg = _parse(t[name])[0]
        worst = min(_contrast(fg, b) for b in _backdrops(t))
        assert worst >= 4.5, f"{theme} {name}: {worst:.2f}"


@pytest.mark.parametrize("theme", THEMES)
def test_status_colours_buttons_and_boundaries(theme: str) -> None:
    t = _blocks()[theme]
    opaque = _parse(t["--panel-opaque"])[0]
    for name in [k for k in t if k.startswith("--status-")] + ["--ok", "--warn", "--bad"]:
        ratio = _contrast(_parse(t[name])[0], opaque)
        assert ratio >= 4.5, f"{theme} {name} on badge: {ratio:.2f}"
    for fill in ("--accent-strong", "--danger-fill"):
        button = _contrast(_parse(t["--on-accent"])[0], _parse(t[fill])[0])
        assert button >= 4.5, f"{theme} button text on {fill}: {button:.2f}"
    panels = [_over(t["--panel"], b) for b in _backdrops(t)]
    for name in ("--field-border", "--focus"):
        worst = min(_contrast(_parse(t[name])[0], p) for p in panels)
        assert worst >= 3.0, f"{theme} {name} (non-text, 3:1): {worst:.2f}"


def test_contrast_math_matches_wcag_reference_values() -> None:
    assert _contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert _contrast((118, 118, 118), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)
