"""`qabot demo` plays its script end to end and says what happened."""

from bot import cli


def test_demo_plays_the_allocation_slice(capsys):
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    for line in (
        "→ posted to DM to Amira Auditor: New audit for you: QA-2027-01-001",
        "buttons: [Accept]  [Can't take this one]",
        "→ only they see: Only the auditor allocated to QA-2027-01-001 can accept",
        "→ updated in place for DM to Amira Auditor: QA-2027-01-001: accepted by Amira Auditor on 4 Jan 2027, 09:14.",
        "→ only they see: QA-2027-01-001 has already been accepted",
        "→ posted to #qa-team: QA-2027-01-003 was passed back by Amira Auditor and needs reallocating.",
        "→ posted to DM to Oliver Other: Reminder: audit QA-2027-01-002",
        "(nothing new is sent)",
        "→ posted to #qa-team: QA-2027-01-002 has not been accepted by Oliver Other after 4 working days.",
        "QA-2027-01-001  click refused: not the auditor   Oliver Other",
    ):
        assert line in out
    assert "CS-100" not in out.split("The trail")[0].split("#qa-team")[-1]
    assert out.count("accepted by Amira Auditor") == 1
