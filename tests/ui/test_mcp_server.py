"""The app launched with MCP on 127.0.0.1, driven over HTTP by the ``mcp`` client package:
the tools are listed with their docstrings, segment cuts the clicked object of a shared
GrabCut photo, stylize repaints it and leaves every pixel outside the region unchanged."""

from __future__ import annotations

import asyncio
import base64
import io

import numpy as np
import pytest
from PIL import Image

from tests.support.server import launch_app

pytestmark = pytest.mark.server

TOOLS = {"list_paintings", "segment", "detect", "stylize", "stylize_clip"}


def data_url(path) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(path.read_bytes()).decode()


def image_of(result) -> np.ndarray:
    assert not result.isError, result.content
    content = [item for item in result.content if item.type == "image"]
    assert content, result.content
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(content[0].data))))


async def drive(url: str, photo: str, box: list[float], click: list[float]) -> dict:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async with streamablehttp_client(url) as (read, write, _), ClientSession(read, write) as session:
        await session.initialize()
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        mask = image_of(await session.call_tool("segment", {"image": photo, "points": [[*click, 1]], "box": box}))
        png = "data:image/png;base64," + base64.b64encode(_png(mask)).decode()
        regions = [{"mask": png, "style": "starry_night", "strength": 1.0, "feather": 0}]
        painted = image_of(await session.call_tool("stylize", {"image": photo, "regions": regions,
                                                               "engine": "fast", "max_size": 256}))
        paintings = await session.call_tool("list_paintings", {})
        bad = await session.call_tool("segment", {"image": photo, "points": [[99999, 5, 1]]})
        return {"tools": tools, "mask": mask, "painted": painted, "paintings": paintings, "bad": bad}


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_mcp_tools_segment_and_stylize_a_shared_photo(shared_dir):
    name = "124080"
    photo_path = shared_dir / "eval" / "grabcut" / "images" / f"{name}.jpg"
    truth = np.asarray(Image.open(shared_dir / "eval" / "grabcut" / "masks" / f"{name}.bmp").convert("L")) > 128
    ys, xs = np.nonzero(truth)
    box = [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]
    inside = np.argwhere(truth)[len(ys) // 2]
    click = [float(inside[1]) + 0.5, float(inside[0]) + 0.5]
    with launch_app(env={"GRADIO_MCP_SERVER": "True"}) as app:
        answers = asyncio.run(drive(app.url + "gradio_api/mcp/", data_url(photo_path), box, click))
    tools = answers["tools"]
    assert set(tools) >= TOOLS
    for tool in TOOLS:  # real docstrings: what it does, its arguments with units and frames, what it returns
        assert "Returns" in tools[tool].description
    assert "x to the right, y down" in tools["segment"].inputSchema["properties"]["points"]["description"]
    mask = answers["mask"] >= 128
    assert mask.shape == truth.shape and mask[int(click[1]), int(click[0])]
    covered = (mask & truth).sum() / truth.sum()
    precision = (mask & truth).sum() / mask.sum()
    assert covered > 0.6 and precision > 0.6, (covered, precision)
    original = np.asarray(Image.open(photo_path).convert("RGB"))
    painted = answers["painted"][:, :, :3]
    assert painted.shape == original.shape
    assert np.array_equal(painted[~mask], original[~mask])  # outside the region: the photo's own pixels
    assert (painted[mask] != original[mask]).any(axis=1).mean() > 0.5
    assert "starry_night" in answers["paintings"].content[0].text
    assert answers["bad"].isError and "outside" in answers["bad"].content[0].text
