"""The relay circuit (pure): when it opens, when it probes, how the interval grows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from incident_svc.domain.relay_circuit import RelayCircuit

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_opens_once_and_probes_every_5_s_rising_to_60() -> None:
    circuit = RelayCircuit(first_probe=5, max_probe=60)
    assert not circuit.is_open and circuit.probe_due(at(0)) is False
    assert circuit.trip(at(0), "refused") is True
    assert circuit.trip(at(1), "refused again") is False  # one outage, one opening
    assert circuit.down_since == at(0) and circuit.last_error == "refused again"
    waits, now = [], 0.0
    while len(waits) < 7:
        assert not circuit.probe_due(at(now + circuit.seconds_to_probe(at(now)) - 0.01))
        now += circuit.seconds_to_probe(at(now))
        assert circuit.probe_due(at(now))
        waits.append(circuit.interval)
        circuit.probe_failed(at(now), "refused")
    assert waits == [5, 10, 20, 40, 60, 60, 60]
    assert circuit.outage_seconds(at(now)) == now
    assert circuit.close(at(now)) == now
    assert not circuit.is_open and circuit.next_probe_at is None


def test_a_new_outage_starts_from_the_first_interval() -> None:
    circuit = RelayCircuit(first_probe=5, max_probe=60)
    circuit.trip(at(0), "x")
    for n in range(5):
        circuit.probe_failed(at(n), "x")
    circuit.close(at(100))
    circuit.trip(at(200), "y")
    assert circuit.next_probe_at == at(205)


@given(
    first=st.floats(0.01, 100),
    ratio=st.floats(1, 100),
    failures=st.integers(0, 50),
    error=st.text(),
)
def test_the_interval_stays_between_first_and_max(
    first: float, ratio: float, failures: int, error: str
) -> None:
    circuit = RelayCircuit(first_probe=first, max_probe=first * ratio)
    circuit.trip(at(0), error)
    previous = 0.0
    for n in range(failures):
        circuit.probe_failed(at(n), error)
        assert first <= circuit.interval <= first * ratio
        assert circuit.interval >= previous  # never shrinks during one outage
        previous = circuit.interval
    assert circuit.is_open and circuit.last_error == error
