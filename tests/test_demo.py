"""`qabot demo` plays its script end to end, from a staff CSV and an Annex A workbook, and says what happened."""

import re

from bot import cli
from bot.demo import TRAIL


def test_demo_plays_the_month_from_allocation_to_a_dispute(capsys):
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    for line in (
        "Imported 14 people: 14 added.",
        "→ posted to DM to Mo Moderator: ",
        "→ posted to #qa-team: It's the first working day of January 2027.",
        "List 7 (child protection): 2 rows",
        "1 case has a worker who matches nobody in the staff directory: 'Agency Worker' (1).",
        "January 2027: 5 case(s) drawn from 10 on the list (seed 23)",
        "→ only they see: Only the QA team can allocate audits.",
        "→ a form opens: Monthly allocation",
        "[x] 100234 · Child protection  —  Priya Practitioner → Oliver Other",
        "→ posted to #qa-team: January 2027 is allocated: 4 audits across 2 teams. 1 case is held back",
        "→ posted to DM to Sara Service: 4 of your service's cases will be audited in January 2027",
        "→ only they see: Only the auditor allocated to QA-2027-01-003 can accept",
        "→ updated in place for DM to Oliver Other: QA-2027-01-003: accepted by Oliver Other on 4 Jan 2027, 11:02.",
        "→ only they see: QA-2027-01-003 has already been accepted",
        "→ posted to #qa-team: QA-2027-01-004 was passed back by Amira Auditor and is now with Oliver Other.",
        "→ posted to DM to Oliver Other: New audit for you: QA-2027-01-004",
        # The reminders arrive in each person's one digest of the day, with the buttons that answer them.
        "→ posted to DM to Nina Nearby: Your reminders for Wednesday 6 January 2027: one thing needs you.",
        "· :inbox_tray: QA-2027-01-001 — this audit is waiting for you: please accept it, or tell us you can't take "
        "it, by Wednesday 6 January 2027.\n     buttons: [Accept]  [Can't take this one]",
        "(nothing new is sent)",
        "→ posted to #qa-team: QA-2027-01-001 has not been accepted by Nina Nearby after 4 working days.",
        "QA-2027-01-003  click refused: not the auditor",
        "→ posted to DM to Oliver Other: QA-2027-01-003: meeting saved for 8 Jan 2027, 10:30",
        "buttons: [Record family feedback]  [Complete the audit]",
        "→ posted to DM to Priya Practitioner: Your reminders for Thursday 7 January 2027: 2 things need you.\n"
        "     · :handshake: QA-2027-01-003 — the audit meeting is on 8 Jan 2027, 10:30.\n"
        "     · :memo: QA-2027-01-003 — please complete your self-assessment by Thursday 7 January 2027",
        "buttons: [Complete self-assessment]",
        "Priya Practitioner has completed their self-assessment. Please read it before your meeting",
        'the form refuses it on the field — "Please remove the phone number (07700 900123)',
        "Oliver Other has recorded the child's and family's feedback for QA-2027-01-003.",
        'step "Overall and safeguarding" saved',
        "→ posted to DM to Priya Practitioner: QA-2027-01-003: audit completed, overall Requires Improvement.",
        "Priya Practitioner: An action from the audit of QA-2027-01-003 is yours, due Friday 22 January",
        "audit submitted for moderation",
        # Step 6: Mo moderates (a changed grade needs its rationale) and the three people have the outcome.
        "→ a form opens: Moderation",
        'without saying why: the form refuses it on the field — "You changed this grade: please say why',
        "→ posted to DM to Priya Practitioner: QA-2027-01-003: moderated, overall Requires Improvement (agreed); "
        "1 domain grade changed.",
        "→ posted to DM to Tom Teamlead: QA-2027-01-003: moderated, overall Requires Improvement (agreed); "
        "1 domain grade changed.",
        "→ posted to DM to Oliver Other: QA-2027-01-003: moderated, overall Requires Improvement (agreed); "
        "1 domain grade changed.",
        "buttons: [Dispute this grade]",
        "→ updated in place for DM to Priya Practitioner: QA-2027-01-003: audit completed by Oliver Other. "
        "Moderated: Requires Improvement (agreed).",
        "→ updated in place for DM to Mo Moderator: QA-2027-01-003: your moderation was recorded on 12 Jan 2027",
        "Management Oversight & Supervision: Requires Improvement (changed from Good) — Supervision records",
        # The dispute: the QA Head is asked, Tom's click on his button is refused, a meeting, then an upgrade.
        "→ posted to DM to Quentin Quality: Priya Practitioner (practitioner) disputes the moderated grade of "
        "QA-2027-01-003 (Requires Improvement).",
        "buttons: [Uphold]  [Change the grade]  [Arrange a meeting]",
        "→ only they see: Only a QA Head of Service can decide the dispute on QA-2027-01-003.",
        "→ posted to DM to Mo Moderator: Quentin Quality (QA Head of Service) has arranged a meeting about the "
        "disputed grade of QA-2027-01-003 for 20 Jan 2027, 14:00.",
        "→ updated in place for DM to Quentin Quality: QA-2027-01-003: the dispute was decided by Quentin Quality "
        "on 20 Jan 2027, 15:35 — the grade was changed from Requires Improvement to Good.",
        # Oliver's own "submitted" message follows the moderation and the dispute; the outcome leads with the grade
        # that stands.
        "→ updated in place for DM to Oliver Other: QA-2027-01-003 is submitted (overall Requires Improvement, 1 "
        "action). Moderated: Requires Improvement (agreed).",
        "→ updated in place for DM to Oliver Other: QA-2027-01-003 is submitted (overall Requires Improvement, 1 "
        "action). Moderated: Requires Improvement (agreed); on dispute the QA Head of Service changed it to Good.",
        "→ updated in place for DM to Priya Practitioner: QA-2027-01-003: overall Good after a dispute (moderated "
        "Requires Improvement; 1 domain grade changed).",
        # Priya's action drifts: Sara, then Helen, then Ada is asked; Helen's late click is refused; Ada resolves.
        "→ posted to DM to Sara Service: An action from the audit of QA-2027-01-003 for Priya Practitioner was due "
        "Friday 22 January 2027 and is still open. It was not done in time, so it has come to you to decide.",
        "→ posted to DM to Priya Practitioner: Your action from the audit of QA-2027-01-003, due Friday 22 January "
        "2027, is overdue, so it has been escalated to Sara Service (service manager).",
        "→ posted to DM to Helen Head: An action from the audit of QA-2027-01-003 for Priya Practitioner was due "
        "Friday 22 January 2027 and is still open. Nobody below you decided in time, so it has come up to you.",
        "→ posted to DM to Ada Director: An action from the audit of QA-2027-01-003 for Priya Practitioner was due "
        "Friday 22 January 2027 and is still open. Nobody below you decided in time, so it has come up to you. "
        "Please resolve it or give it a new date by 15 Feb 2027, 17:30.",
        "→ only they see: The escalation on QA-2027-01-003 is with Ada Director now",
        "→ updated in place for DM to Ada Director: The action from the audit of QA-2027-01-003 for Priya Practitioner"
        ", due Friday 22 January 2027: escalation closed — resolved by Ada Director (10 Feb 2027, 11:05).",
        "→ posted to DM to Priya Practitioner: Your action from the audit of QA-2027-01-003, due Friday 22 January "
        "2027: escalation closed — resolved by Ada Director.",
    ):
        assert line in out, line
    # Children We Care For's free cases are drawn, not 100777, whose worker the directory does not have.
    assert "100512" in out and "100513" in out and "100777" not in out
    for person in ("Sara Service", "Helen Head"):
        assert (
            f"→ posted to DM to {person}: The action from the audit of QA-2027-01-003 for Priya Practitioner, due "
            "Friday 22 January 2027: escalation closed — resolved by Ada Director."
        ) in out, person
    decided = (
        "QA-2027-01-003: Quentin Quality (QA Head of Service) has changed the grade from Requires Improvement to Good."
    )
    for person in ("Priya Practitioner", "Tom Teamlead", "Oliver Other", "Mo Moderator"):
        assert f"→ posted to DM to {person}: {decided}" in out, person
    trail = out.split("The trail")[1].splitlines()
    for label, who in (
        ("moderated: outcome sent", "Mo Moderator"),
        ("moderated grade disputed", "Priya Practitioner"),
        ("QA Head of Service asked to decide", "qabot"),
        ("click refused: not a QA Head of Service", "Tom Teamlead"),
        ("dispute meeting arranged", "Quentin Quality"),
        ("dispute decided: grade changed", "Quentin Quality"),
        ("overdue action escalated: SM asked", "qabot"),
        ("click refused: not at this level", "Helen Head"),
        ("escalation resolved", "Ada Director"),
    ):
        assert any("QA-2027-01-003" in line and label in line and line.endswith(who) for line in trail), label
    # Every event on the trail reads in words: none is left as its raw kind ("dispute.raised").
    assert not [line for line in trail if re.search(r"\b[a-z_]+\.[a-z_]+\b", line)]
    assert all(len(label) <= 40 for label in TRAIL.values())
    # Nina works in Priya's team: she is never asked to audit Priya's or Pete's cases.
    assert "Priya Practitioner → Nina" not in out and "Pete Practitioner → Nina" not in out
    # Case-system ids never reach a channel, and demographics never leave the workbook.
    channel_lines = [line for line in out.splitlines() if "#qa-team" in line]
    assert not any("1002" in line or "1005" in line for line in channel_lines)
    # Grades, moderation outcomes and disputes go by DM only, never to the QA channel.
    assert not any(grade in line for line in channel_lines for grade in ("Good", "Requires Improvement", "disput"))
    assert "WBRI" not in out and "Female" not in out
    assert out.count("accepted by Oliver Other on") == 1
    # It ends with a learning highlight (a phone number in it refused first) and the report of the quarter so far.
    for line in (
        'the form answers "Please remove the phone number (07700 900456)',
        "→ posted to #practice-learning: Learning highlight: Plans written with the family (shared by Quinn QA)",
        "→ posted to #qa-team: Quarterly QA report, January to March 2027 (so far): 1 of 4 allocated audits completed",
        "→ attached in #qa-team: QA report figures, January to March 2027 (so far), Overall grades by month,",
        "Agreement between auditor and moderator on the overall grade (Cohen's kappa): 1.00 (n = 1).",
        "1 escalation of overdue work; the highest level each reached: Assistant Director 1.",
        "Learning highlights by theme: Plans written with the family 1.",
    ):
        assert line in out, line
    assert "07700 900456" not in out.split("→ posted to #practice-learning")[1]
    finale = out.split("Quinn QA picks the shortcut")[1].split("The trail")[0]
    shared = [line for line in finale.splitlines() if "#practice-learning" in line or line.startswith("     ")]
    assert len(shared) > 20
    assert not any(re.search(r"QA-2027|\b100\d{3}\b|Priya|Oliver|Tom Teamlead", line) for line in shared)
    assert any("learning highlight posted" in line and line.endswith("Quinn QA") for line in trail)
    assert any("QA report posted to the QA channel" in line and line.endswith("Quinn QA") for line in trail)
    # What the child and family said is stored, and never reaches Slack in a message.
    assert "wants more time with dad" not in out and "07700 900123" not in out.split("The trail")[1]
