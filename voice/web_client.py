"""The browser client (voice/web, built into voice/web/dist) served by the voice service at `/`.

The build is committed, so running the voice service needs no Node; `npm ci && npm run build`
in voice/web rebuilds it after a change to its sources.
"""

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

DIST = Path(__file__).parent / "web" / "dist"


def add_web_client(app: FastAPI) -> None:
    """Serve the client at `/` (ahead of the runner's redirect to its prebuilt UI, which stays
    at /client/) and its assets at /assets/."""
    if not (DIST / "index.html").exists():
        raise RuntimeError(
            f"the web client is not built: run `npm ci && npm run build` in {DIST.parent}"
        )

    @app.get("/", include_in_schema=False)
    async def web_client() -> FileResponse:
        return FileResponse(DIST / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/assets", StaticFiles(directory=DIST / "assets"), name="web-client-assets")
