"""Whether one ELB route glob matches every string another matches.

Two places judge that a listener rule can never see traffic because an earlier rule
takes all of it: the config, which refuses such [[services]] routes, and `check`
(FA210), which reports them in any template. Both use this one judgement (ELB's
host-header and path-pattern globs: `*` any run of characters, `?` exactly one), so a
route the config accepts is never a finding of `check`, and the reverse. It lives below
both because the config may import neither `check` nor the reading layer.
"""

from __future__ import annotations

from functools import cache


def glob_covers(general: str, specific: str) -> bool:
    """True when every string the glob `specific` matches, the glob `general` matches.

    `specific`'s own wildcards are treated as symbols: a `*` of `general` absorbs any run
    of them, a `?` of `general` takes one literal or one `?`, and a literal only the same
    literal. That is sound (never True for a pair that is not covered) and exact for the
    patterns routes use; the rare pairs it misses (`*?` against `?*`) only cost a finding.
    """

    @cache
    def match(i: int, j: int) -> bool:
        if i == len(general):
            return j == len(specific)
        symbol = general[i]
        if symbol == "*":
            # Absorb nothing, or one more symbol of `specific` and stay on this `*`.
            return match(i + 1, j) or (j < len(specific) and match(i, j + 1))
        if j == len(specific):
            return False
        other = specific[j]
        if symbol == "?":
            return other != "*" and match(i + 1, j + 1)
        return other == symbol and match(i + 1, j + 1)

    return match(0, 0)
