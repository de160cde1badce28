"""`make synth` fails on what cdk-nag or CDK report: the reader of their outputs."""

from __future__ import annotations

import json
from pathlib import Path

from aion_infra.build import failed_checks

HEADER = "Rule ID,Resource ID,Compliance,Exception Reason,Rule Level,Rule Info\n"


def test_open_findings_and_synth_errors_are_reported(tmp_path: Path) -> None:
    (tmp_path / "AwsSolutions-aion-dev-web-NagReport.csv").write_text(
        HEADER
        + '"AwsSolutions-S1","aion-dev-web/Console/Resource","Compliant","N/A","Error","x"\n'
        + '"AwsSolutions-S10","aion-dev-web/Logs/Resource","Non-Compliant","N/A","Error","TLS"\n'
        + '"AwsSolutions-IAM5","aion-dev-web/Role/Resource","Suppressed","why","Error","y"\n'
    )
    (tmp_path / "aion-dev-web.metadata.json").write_text(
        json.dumps({"/aion-dev-web/Thing": [{"type": "aws:cdk:error", "data": "broken"}]})
    )
    problems = failed_checks(tmp_path)
    assert problems == [
        "AwsSolutions-S10 aion-dev-web/Logs/Resource: TLS",
        "/aion-dev-web/Thing: broken",
    ]


def test_a_clean_assembly_reports_nothing(tmp_path: Path) -> None:
    (tmp_path / "AwsSolutions-aion-dev-web-NagReport.csv").write_text(
        HEADER + '"AwsSolutions-S1","aion-dev-web/Console/Resource","Compliant","N/A","Error","x"\n'
    )
    (tmp_path / "aion-dev-web.metadata.json").write_text(
        json.dumps({"/aion-dev-web": [{"type": "aws:cdk:warning", "data": "fyi"}]})
    )
    assert failed_checks(tmp_path) == []
