"""cdk-nag (AwsSolutions) and cfn-lint on everything `make synth` produces."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from conftest import STACK_PARTS, STAGES, Synth

CFN_LINT = Path(sys.executable).parent / "cfn-lint"
ACCEPTED_WARNINGS = {
    # CloudFront's standard logs are delivered through the log bucket's ACL (LogDeliveryWrite).
    ("W3045", "-web.template.json"): "CloudFront standard logging needs bucket ACLs",
}


def test_every_stack_was_checked_by_cdk_nag_with_no_open_finding(synth: Synth) -> None:
    reports = sorted(synth.outdir.glob("AwsSolutions-*-NagReport.csv"))
    assert len(reports) == len(STAGES) * len(STACK_PARTS)
    open_findings, suppressed = [], 0
    for report in reports:
        with report.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row["Compliance"] == "Non-Compliant":
                    open_findings.append((row["Rule ID"], row["Resource ID"]))
                if row["Compliance"] == "Suppressed":
                    suppressed += 1
                    assert len(row["Exception Reason"]) >= 20, row
    assert open_findings == []
    assert suppressed > 0  # the reports do record suppressions (and their reasons)


def test_every_suppression_in_the_templates_carries_a_reason(synth: Synth) -> None:
    count = 0
    for name, template in synth.templates():
        for logical_id, resource in template.get("Resources", {}).items():
            rules = resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
            for rule in rules:
                count += 1
                assert rule["id"].startswith("AwsSolutions-"), (name, logical_id)
                assert len(rule.get("reason", "")) >= 20, (name, logical_id, rule)
    assert count > 0


def test_cfn_lint_finds_no_errors_in_any_template(synth: Synth) -> None:
    templates = sorted(str(p) for p in synth.outdir.glob("*.template.json"))
    assert len(templates) == len(STAGES) * len(STACK_PARTS)
    proc = subprocess.run(  # noqa: S603 - the venv's cfn-lint on files we wrote, no shell
        [str(CFN_LINT), "--format", "parseable", "--", *templates],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    # cfn-lint's exit code is a bit mask: 2 = errors, 4 = warnings, 8 = informational.
    errors = [line for line in proc.stdout.splitlines() if ":E" in line]
    report = proc.stdout[-4000:] + proc.stderr[-2000:]
    assert errors == [], report
    assert proc.returncode & 2 == 0, report
    assert proc.returncode & 1 == 0, proc.stderr[-2000:]  # 1 = cfn-lint itself failed
    # Warnings from our own resources count too (CDK's singleton providers excepted), except
    # those accepted here with their reason.
    ours = [
        line
        for line in proc.stdout.splitlines()
        if ":W" in line
        and "CustomResourceProvider" not in line
        and "CDKBucketDeployment" not in line
        and not any(rule in line and stack in line for rule, stack in ACCEPTED_WARNINGS)
    ]
    assert ours == [], "\n".join(ours)
