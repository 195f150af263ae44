"""Pictures drawn in text: bars and heat-map shades.

With ``unicode=True`` bars are drawn in block characters (█ plus eighths for
the remainder) and shades as ░▒▓█; with ``unicode=False`` they fall back to
``#`` and ``.:*#`` so a plain ASCII terminal or a mail still reads them.
"""
from __future__ import annotations

EIGHTHS = " ▏▎▍▌▋▊▉"
SHADES_UNICODE = "░▒▓█"
SHADES_ASCII = ".:*#"


def bar(value, top, width: int = 30, unicode: bool = True) -> str:
    """A bar ``width`` columns long at ``top``; a positive value shows at least a sliver."""
    if value is None or top is None or top <= 0 or value <= 0:
        return ""
    cells = float(value) / float(top) * width
    if unicode:
        eighths = int(round(cells * 8))
        full, rest = divmod(max(eighths, 1), 8)
        return "█" * full + (EIGHTHS[rest] if rest else "")
    return "#" * max(int(round(cells)), 1)


def shade(fraction, unicode: bool = True) -> str:
    """One character for a fraction in [0, 1]: blank at 0, then four steps up to full."""
    if fraction is None or fraction <= 0:
        return " "
    shades = SHADES_UNICODE if unicode else SHADES_ASCII
    step = min(int(fraction * 4), 3) if fraction < 1 else 3
    return shades[step]


def heat_cell(fraction, unicode: bool = True) -> str:
    """A shaded percentage, e.g. ``▓  60%``; empty when the fraction is undefined."""
    if fraction is None:
        return ""
    return f"{shade(fraction, unicode)} {fraction * 100:4.0f}%"
