"""YouTube and soundtrack tools: playback state the model can ask about, actions for the client."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from shared.actions import (
    SoundtrackPlay,
    SoundtrackVolume,
    YoutubeControl,
    YoutubePlay,
    YoutubeSeek,
)
from tests.conftest import ToolHarness


class FakeYoutubeApi:
    """The YouTube Data API's `search` endpoint on loopback; records the queries it got."""

    def __init__(self, status: int = 200, title: str = "lofi hip hop radio") -> None:
        self.queries: list[dict[str, list[str]]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                api.queries.append(parse_qs(url.query))
                body = json.dumps(
                    {
                        "items": [
                            {
                                "id": {"kind": "youtube#video", "videoId": "jfKfPfyJRdk"},
                                "snippet": {"title": title},
                            }
                        ]
                    }
                    if status == 200
                    else {"error": {"code": status, "message": "quota"}}
                ).encode()
                self.send_response(status if url.path == "/youtube/v3/search" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/youtube/v3"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def youtube_api() -> Iterator[FakeYoutubeApi]:
    api = FakeYoutubeApi()
    yield api
    api.stop()


async def test_play_without_an_api_key_hands_the_query_to_the_client(tools: ToolHarness) -> None:
    assert await tools("youtube_play", query="lofi beats") == "Playing lofi beats on YouTube."
    assert await tools.actions() == [YoutubePlay(query="lofi beats")]
    youtube = (await tools.ui()).youtube
    assert youtube is not None and youtube.status == "playing"


async def test_play_by_url_needs_no_search(tools: ToolHarness) -> None:
    await tools("youtube_play", query="https://youtu.be/dQw4w9WgXcQ")
    (action,) = await tools.actions()
    assert isinstance(action, YoutubePlay)
    assert action.video_id == "dQw4w9WgXcQ"
    assert action.url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


async def test_play_with_an_api_key_resolves_the_video(
    tools: ToolHarness, youtube_api: FakeYoutubeApi
) -> None:
    tools.ctx.youtube_api_key = SecretStr("yt-key")
    tools.ctx.youtube_api_url = youtube_api.url
    assert await tools("youtube_play", query="lofi") == "Playing lofi hip hop radio on YouTube."
    (action,) = await tools.actions()
    assert isinstance(action, YoutubePlay)
    assert (action.video_id, action.title) == ("jfKfPfyJRdk", "lofi hip hop radio")
    assert youtube_api.queries[0]["q"] == ["lofi"] and youtube_api.queries[0]["key"] == ["yt-key"]


async def test_a_failing_youtube_api_falls_back_to_the_query(
    tools: ToolHarness, caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeYoutubeApi(status=403)
    try:
        tools.ctx.youtube_api_key = SecretStr("yt-secret")
        tools.ctx.youtube_api_url = api.url
        assert await tools("youtube_play", query="jazz") == "Playing jazz on YouTube."
    finally:
        api.stop()
    assert await tools.actions() == [YoutubePlay(query="jazz")]
    assert "status=403" in caplog.text and "yt-secret" not in caplog.text


async def test_youtube_transport_and_seek(tools: ToolHarness) -> None:
    assert await tools("youtube_control", command="pause") == "Error: nothing is playing on YouTube"
    await tools("youtube_play", query="cats")
    assert await tools("youtube_control", command="pause") == "Paused."
    assert await tools("now_playing") == "YouTube is paused cats."
    assert await tools("youtube_control", command="resume") == "Resumed."
    assert await tools("youtube_seek", seconds=90) == "Jumped to 1:30."
    assert await tools("youtube_seek", seconds=-10, relative=True) == "Skipped back 10 seconds."
    assert await tools("youtube_control", command="next") == "Playing the next video."
    assert await tools("youtube_control", command="stop") == "Stopped."
    assert await tools("youtube_seek", seconds=5) == "Error: nothing is playing on YouTube"
    assert (await tools.actions())[1:] == [
        YoutubeControl(command="pause"),
        YoutubeControl(command="resume"),
        YoutubeSeek(seconds=90, relative=False),
        YoutubeSeek(seconds=-10, relative=True),
        YoutubeControl(command="next"),
        YoutubeControl(command="stop"),
    ]


async def test_soundtrack_mood_track_volume_and_mute(tools: ToolHarness) -> None:
    assert await tools("soundtrack_control", command="next") == "Error: no soundtrack is playing"
    assert await tools("soundtrack_play", mood="Focus") == "Playing focus music."
    assert await tools("soundtrack_volume", volume=30) == "Volume set to 30."
    assert await tools("soundtrack_volume", change=-10) == "Volume set to 20."
    assert await tools("soundtrack_volume", mute=True) == "Muted."
    assert await tools("now_playing") == "the soundtrack is playing focus music, muted."
    assert await tools("soundtrack_control", command="pause") == "Music paused."
    assert await tools("soundtrack_play", track="Clair de Lune") == "Playing Clair de Lune."
    actions = await tools.actions()
    assert actions[0] == SoundtrackPlay(mood="focus")
    assert actions[1:4] == [
        SoundtrackVolume(volume=30, muted=False),
        SoundtrackVolume(volume=20, muted=False),
        SoundtrackVolume(volume=20, muted=True),
    ]
    assert actions[-1] == SoundtrackPlay(track="Clair de Lune")


async def test_out_of_range_volume_and_unknown_mood_are_rejected(tools: ToolHarness) -> None:
    assert (await tools("soundtrack_volume", volume=140)).startswith(
        "Error: invalid arguments for soundtrack_volume: "
        "volume: Input should be less than or equal to 100"
    )
    assert "unknown mood 'polka'" in await tools("soundtrack_play", mood="polka")
    assert (
        await tools("soundtrack_volume")
        == "Error: say a volume from 0 to 100, louder or quieter, or mute"
    )
    assert (await tools.ui()).soundtrack.volume == 50
    assert await tools.actions() == []
