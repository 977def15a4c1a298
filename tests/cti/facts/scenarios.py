"""Facts shared by the tests: one of every kind, with known values."""

from __future__ import annotations

from cti import facts as f


def emit_one_of_each_kind(writer: f.FactWriter) -> None:
    """Emit one fact of every kind in the catalogue, about calls c1 to c4 and agent 3."""
    writer.call_started(call_uuid="c1", direction="inbound", caller="13800000000", callee="95555")
    writer.queue_entered(call_uuid="c1", queue="sales", position=2, entered_at=100.0)
    writer.queue_exited(
        call_uuid="c1", queue="sales", entered_at=100.0, outcome="answered", agent_id=3, at=112.5
    )
    writer.call_abandoned(call_uuid="c2", queue="sales", entered_at=50.0, position=4, at=80.0)
    writer.leg_ended(
        leg_uuid="l1", call_uuid="c1", party="agent", number="1001", started_at=110.0,
        hangup_cause="NORMAL_CLEARING", answered_at=112.5, agent_id=3, at=200.0,
    )  # fmt: skip
    writer.agent_state_changed(agent_id=3, old="ready", new="talking", duration=42.0)
    writer.recording_saved(call_uuid="c1", path="/r/c1.wav", duration=87.5, size=1400, channels=2)
    writer.survey_scored(call_uuid="c1", score=4, agent_id=3, queue="sales")
    writer.ivr_path(
        call_uuid="c1", flow="hotline", started_at=95.0, nodes=["welcome", "menu"],
        digits={"menu": "1"}, variables={"lang": "zh"}, exit="queue:sales",
    )  # fmt: skip
    writer.supervisor_action(
        supervisor_id=9, action="whisper", result="ok", target_agent_id=3, target_call_uuid="c1"
    )
    writer.voicemail_left(call_uuid="c3", path="/vm/c3.wav", duration=12.0, group_id=2)
    writer.failover_ended(
        call_uuid="c4", caller="13900000000", callee="95555", started_at=300.0,
        answered_at=305.0, hangup_cause="ORIGINATOR_CANCEL", talk_seconds=20.0, at=330.0,
    )  # fmt: skip
    writer.call_ended(
        call_uuid="c1", direction="inbound", caller="13800000000", callee="95555",
        started_at=95.0, answered_at=112.5, hangup_cause="NORMAL_CLEARING", queue="sales",
        agent_id=3, at=200.0,
    )  # fmt: skip
