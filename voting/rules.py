"""The majority rules: whether a count meets a rule, and the rule in words.

Exact integer arithmetic throughout: `votes / base > num / den` is decided as
`votes * den > num * base`, so 2/3 of 6,300 is never a rounding question.
"""

from __future__ import annotations

from phonghop.voting.model import Rule


def meets(rule: Rule, votes: int, base_count: int) -> bool:
    """Whether `votes` reach the rule's fraction of `base_count` (an empty base never does)."""
    if base_count <= 0:
        return False
    if rule.strict:
        return votes * rule.den > rule.num * base_count
    return votes * rule.den >= rule.num * base_count


def needed(rule: Rule, base_count: int) -> int:
    """The fewest votes that meet the rule for this base (for showing "cần N phiếu")."""
    if base_count <= 0:
        return 1
    # strict: smallest v with v*den > num*base; at least: smallest v with v*den >= num*base
    floor = (rule.num * base_count) // rule.den
    if rule.strict:
        return floor + 1
    return floor if floor * rule.den == rule.num * base_count else floor + 1


_BASE_WORDS = {
    "members": ("tổng số thành viên", "of all members"),
    "present": ("số thành viên có mặt", "of the members present"),
    "cast": ("số phiếu biểu quyết", "of the votes cast"),
}


def describe(rule: Rule) -> dict[str, str]:
    """The rule in words, as the result and the minutes state it: {vi, en}."""
    base_vi, base_en = _BASE_WORDS[rule.base]
    if rule.num * 2 == rule.den and rule.strict:
        return {"vi": f"Quá nửa {base_vi}", "en": f"More than half {base_en}"}
    lead_vi, lead_en = ("Trên", "More than") if rule.strict else ("Ít nhất", "At least")
    return {"vi": f"{lead_vi} {rule.num}/{rule.den} {base_vi}",
            "en": f"{lead_en} {rule.num}/{rule.den} {base_en}"}
