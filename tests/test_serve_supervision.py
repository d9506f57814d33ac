"""A failed dispatcher worker is started again after a pause; /healthz says so meanwhile."""

from __future__ import annotations

import asyncio

from incident_svc.runtime.supervision import supervise
from incident_svc.service_status import ServiceStatus


async def test_a_failing_worker_is_restarted_with_growing_pauses() -> None:
    stop = asyncio.Event()
    status = ServiceStatus(poll_seconds=0.02, dispatch_enabled=True)
    starts: list[float] = []
    seen_while_paused: list[str] = []
    loop = asyncio.get_running_loop()

    async def run(start: int) -> None:
        assert start == len(starts)  # each start has its own number (its own worker id)
        starts.append(loop.time())
        if len(starts) <= 2:
            raise ConnectionError("database went away")
        seen_while_paused.append(status.dispatcher_state())
        await stop.wait()

    task = asyncio.create_task(supervise("dispatcher-0", run, stop=stop, status=status))
    status.workers = [task]
    while len(starts) < 3:
        if status.failing:
            seen_while_paused.append(status.dispatcher_state())
        await asyncio.sleep(0.005)
    stop.set()
    await asyncio.wait_for(task, 1)
    assert status.restarts == 2
    assert "restarting" in seen_while_paused and seen_while_paused[-1] == "alive"
    first_pause, second_pause = starts[1] - starts[0], starts[2] - starts[1]
    assert first_pause >= 0.1 and second_pause >= 0.2  # 5 polls, then doubled
    assert status.failing == set()


async def test_stop_during_a_pause_ends_at_once() -> None:
    stop = asyncio.Event()
    status = ServiceStatus(poll_seconds=10.0, dispatch_enabled=True)

    async def run(start: int) -> None:
        raise ConnectionError("down")

    task = asyncio.create_task(supervise("dispatcher-0", run, stop=stop, status=status))
    await asyncio.sleep(0.05)
    assert status.failing == {"dispatcher-0"}
    stop.set()
    await asyncio.wait_for(task, 1)  # not after the 50 s pause


async def test_the_pause_goes_back_to_the_first_after_a_healthy_run() -> None:
    stop = asyncio.Event()
    status = ServiceStatus(poll_seconds=0.01, dispatch_enabled=True)  # healthy after 0.3 s
    loop = asyncio.get_running_loop()
    starts: list[float] = []
    ends: list[float] = []

    async def run(start: int) -> None:
        starts.append(loop.time())
        if start == 3:
            await stop.wait()
            return
        if start == 2:
            await asyncio.sleep(0.4)  # a healthy stretch, then another blip
        ends.append(loop.time())
        raise ConnectionError("blip")

    task = asyncio.create_task(supervise("dispatcher-0", run, stop=stop, status=status))
    while len(starts) < 4:
        await asyncio.sleep(0.005)
    stop.set()
    await asyncio.wait_for(task, 2)
    pauses = [starts[n + 1] - ends[n] for n in range(3)]
    assert 0.05 <= pauses[0] < 0.09 and 0.1 <= pauses[1] < 0.18  # 5 polls, then doubled
    assert 0.05 <= pauses[2] < 0.09  # not 0.2: the healthy run reset it
