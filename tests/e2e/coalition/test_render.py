"""A render-style tree through the façade: a shot with two layers of frames (each layer with its
own affinity), a comp that depends on both layers, run to FINISHED by two stock workers."""

import asyncio

from .conftest import Stack
from .stock_worker import StockWorker

FRAMES = 100  # per layer: 200 frames in all


async def _layer(stack: Stack, shot: int, name: str, affinity: str) -> tuple[int, list[int]]:
    api = stack.farm  # as the stock client and workers call: host and port, no credentials
    layer = (await api.put("/api/jobs", json={"parent": shot, "title": name, "affinity": affinity})).json()

    async def frame(n: int) -> int:
        body = {"parent": layer, "title": f"{name} {n}", "command": f"render --frame {n}", "priority": n % 7}
        response = await api.put("/api/jobs", json=body)
        assert response.status_code == 200, response.text
        return int(response.json())

    frames: list[int] = []
    for start in range(0, FRAMES, 25):
        frames += await asyncio.gather(*(frame(n) for n in range(start, min(FRAMES, start + 25))))
    return layer, frames


async def _work(worker: StockWorker, comp: int, stack: Stack) -> None:
    while True:
        if await worker.run_one() is None:
            if (await stack.farm.get(f"/api/jobs/{comp}")).json()["state"] == "FINISHED":
                return
            await asyncio.sleep(0.02)  # the stock worker sleeps between empty picks too


async def test_a_shot_of_200_frames_runs_to_finished(stack: Stack) -> None:
    api = stack.farm  # as the stock client and workers call: host and port, no credentials
    shot = (await api.put("/api/jobs", json={"title": "shot-010", "priority": 200, "user": "artist"})).json()
    (cpu_layer, cpu_frames), (gpu_layer, gpu_frames) = await asyncio.gather(
        _layer(stack, shot, "beauty", "render"), _layer(stack, shot, "volumes", "render,gpu")
    )
    comp_body = {"parent": shot, "title": "comp", "command": "comp shot-010", "dependencies": [cpu_layer, gpu_layer]}
    comp = (await api.put("/api/jobs", json=comp_body)).json()
    assert (await api.get(f"/api/jobs/{comp}")).json()["state"] == "PENDING"
    layers = sorted([cpu_layer, gpu_layer])
    assert [d["id"] for d in (await api.get(f"/api/jobs/{comp}/dependencies")).json()] == layers
    await api.post(
        "/api/workers", json={"render-cpu": {"affinity": "render"}, "render-gpu": {"affinity": "render\ngpu"}}
    )
    cpu, gpu = StockWorker(api, "render-cpu"), StockWorker(api, "render-gpu")
    await asyncio.wait_for(asyncio.gather(_work(cpu, comp, stack), _work(gpu, comp, stack)), 120)
    root = (await api.get(f"/api/jobs/{shot}")).json()
    assert (root["state"], root["total"], root["total_finished"], root["total_errors"]) == (
        "FINISHED",
        2 * FRAMES + 1,
        2 * FRAMES + 1,
        0,
    )
    assert (root["finished"], root["progress"], root["user"]) == (3, 1.0, "artist")
    layer = (await api.get(f"/api/jobs/{gpu_layer}")).json()
    assert (layer["total"], layer["total_finished"], layer["affinity"]) == (FRAMES, FRAMES, "render,gpu")
    assert not set(gpu_frames) & set(cpu.ran)  # gpu frames only on the worker with gpu
    assert sorted(cpu.ran + gpu.ran) == sorted([*cpu_frames, *gpu_frames, comp])
    last = cpu if comp in cpu.ran else gpu
    assert last.ran[-1] == comp or comp not in last.ran[:-1]  # comp after every frame its worker ran
    children = (await api.get(f"/api/jobs/{shot}/children")).json()
    assert [c["id"] for c in children] == [*layers, comp]
    deps = (await api.get(f"/api/jobs/{shot}/childrendependencies")).json()
    assert deps[-1] == {"id": comp, "dependencies": layers}
