"""A voice client over real WebRTC (aiortc), as the browser page connects: `POST /session` for a
session token, `POST /start`, then the SDP offer through `/sessions/<id>/api/offer`, RTVI
messages on the data channel, the bot's audio on the peer connection's track.

Used by the voice release tests and the soak benchmark (`bench/soak.py`); nothing here is a
browser, so the numbers are the server's, not Chromium's.
"""

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription

RTVI_LABEL = "rtvi-ai"
RTVI_VERSION = "2.2.0"


def rtvi(kind: str, data: dict[str, Any] | None = None) -> str:
    """One RTVI client message as the data channel carries it."""
    return json.dumps({"label": RTVI_LABEL, "type": kind, "id": uuid.uuid4().hex[:8], "data": data})


@dataclass
class VoiceVisit:
    """What one session heard: the bot's events (RTVI server messages) and audio frames."""

    events: list[dict[str, Any]] = field(default_factory=list)
    audio_frames: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def done_responses(self) -> set[str]:
        return {e["response_id"] for e in self.events if e.get("type") == "done"}

    def text(self) -> str:
        return " ".join(e["text"] for e in self.events if e.get("type") == "text")


async def _count_audio(track: MediaStreamTrack, visit: VoiceVisit) -> None:
    while True:
        await track.recv()
        visit.audio_frames += 1


class WebRTCVoiceClient:
    """One browser-like session against the voice service at `base_url`."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, timeout: float = 30) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.pc = RTCPeerConnection()
        self.visit = VoiceVisit()
        self._tasks: set[asyncio.Task[None]] = set()
        self._channel = self.pc.createDataChannel("chat")
        self._ready = asyncio.Event()
        self.pc.addTransceiver("audio", direction="sendrecv")
        self.pc.on("track", self._on_track)
        self._channel.on("message", self._on_message)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            task = asyncio.create_task(_count_audio(track, self.visit))
            self._tasks.add(task)

    def _on_message(self, message: str | bytes) -> None:
        if not isinstance(message, str) or message.startswith("ping"):
            return
        payload = json.loads(message)
        if payload.get("type") == "bot-ready":
            self._ready.set()
        elif payload.get("type") == "server-message" and isinstance(payload.get("data"), dict):
            self.visit.events.append(payload["data"])
            self.visit.changed.set()

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(self.base_url + path, json=body) as response:
            response.raise_for_status()
            return dict(await response.json())

    async def offer(self) -> str:
        """Get a session and send the SDP offer; returns the runner's session id. The peer
        connection is not complete until `connect`."""
        token = (await self._post("/session", {}))["token"]
        start = await self._post(
            "/start", {"transport": "webrtc", "body": {"session_token": token}}
        )
        session_id = str(start["sessionId"])
        await self.pc.setLocalDescription(await self.pc.createOffer())
        local = self.pc.localDescription
        answer = await self._post(
            f"/sessions/{session_id}/api/offer", {"sdp": local.sdp, "type": local.type}
        )
        self._answer = RTCSessionDescription(sdp=answer["sdp"], type=answer["type"])
        return session_id

    async def connect(self) -> None:
        """Complete the connection and the RTVI handshake (client-ready → bot-ready)."""
        await self.pc.setRemoteDescription(self._answer)
        async with asyncio.timeout(self.timeout):
            while self._channel.readyState != "open":
                await asyncio.sleep(0.02)  # ok-sleep: aiortc has no awaitable for it
            self._channel.send(rtvi("client-ready", {"version": RTVI_VERSION, "about": {}}))
            await self._ready.wait()

    async def say(self, text: str) -> str:
        """Type a turn and wait for its reply to be done; returns what was said back."""
        before = self.visit.done_responses()
        self._channel.send(rtvi("send-text", {"content": text, "options": {}}))
        async with asyncio.timeout(self.timeout):
            while not self.visit.done_responses() - before:
                self.visit.changed.clear()
                await self.visit.changed.wait()
        return self.visit.text()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()
