"""cdk-nag suppressions: each one names the rule, why it does not apply, and (where the rule
reports several findings) exactly which finding it covers."""

from __future__ import annotations

from collections.abc import Sequence

from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import IConstruct


def suppress(
    construct: IConstruct,
    rule: str,
    reason: str,
    *,
    applies_to: Sequence[str] = (),
    applies_to_regex: Sequence[str] = (),
    children: bool = True,
) -> None:
    """Suppress ``AwsSolutions-<rule>`` on ``construct`` (and its children) with a reason."""
    applies: list[str | RegexAppliesTo] = [*applies_to]
    applies.extend(RegexAppliesTo(regex=r) for r in applies_to_regex)
    NagSuppressions.add_resource_suppressions(
        construct,
        [
            NagPackSuppression(
                id=f"AwsSolutions-{rule}",
                reason=reason,
                applies_to=applies or None,
            )
        ],
        apply_to_children=children,
    )
