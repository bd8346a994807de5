// hybridbot's browser client: connect over WebRTC (Pipecat's SmallWebRTC transport), talk or
// type, and watch the desktop act. Every bot event the voice service receives from Redis is
// forwarded as an RTVI server message (`{type: "text" | "done" | "status" | "action", ...}`),
// so the transcript and desktop show exactly what the routers and workers published. The voice
// service's own word to the user (e.g. that speech output is off) is `{type: "notice", text}`.
import { PipecatClient } from "@pipecat-ai/client-js";
import { SmallWebRTCTransport, WavMediaManager } from "@pipecat-ai/small-webrtc-transport";
import { appendTaskText, applyAction, applyTaskStatus } from "./desktop.js";
import "./style.css";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const profile = params.get("profile") || "default";
const ACCESS = "hybridbot-access";
const SESSION = "hybridbot-session-token";

// The access token (needed when the service listens beyond loopback): from the link's fragment
// (#token=..., then removed from the address bar), else the one kept from last time. It travels
// as a same-site cookie, so every request the Pipecat client makes carries it.
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get("token")) {
  localStorage.setItem(ACCESS, fragment.get("token"));
  history.replaceState(null, "", location.pathname + location.search);
}
function useAccessToken(token) {
  document.cookie = `hybridbot_access=${encodeURIComponent(token)}; path=/; SameSite=Strict`;
}
if (localStorage.getItem(ACCESS)) useAccessToken(localStorage.getItem(ACCESS));

// The server issues sessions: it returns our session (resumed with the token it gave us last
// time, so we hear what we missed) and a new token for next time.
async function openSession() {
  for (let attempt = 0; attempt < 2; attempt++) {
    const response = await fetch("/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: localStorage.getItem(SESSION), profile }),
    });
    if (response.status === 401 && attempt === 0) {
      const token = prompt("This assistant needs its access token:");
      if (!token) break;
      localStorage.setItem(ACCESS, token.trim());
      useAccessToken(token.trim());
      continue;
    }
    if (!response.ok) throw new Error(`session refused (HTTP ${response.status})`);
    const session = await response.json();
    localStorage.setItem(SESSION, session.token);
    return session;
  }
  throw new Error("an access token is needed");
}

let client = null;
let micOn = false;
const botLines = new Map(); // response_id → transcript line

function setStatus(state, text) {
  $("status").dataset.state = state;
  $("status").textContent = text;
}

function addLine(who, text, responseId) {
  const line = document.createElement("li");
  line.className = who;
  line.textContent = text;
  if (responseId) line.dataset.response = responseId;
  $("transcript").append(line);
  line.scrollIntoView({ block: "end" });
  return line;
}

function botSays(event) {
  let line = botLines.get(event.response_id);
  if (!line) {
    line = addLine(event.origin === "turn" ? "bot" : `bot ${event.origin}`, "", event.response_id);
    botLines.set(event.response_id, line);
  }
  line.textContent = `${line.textContent} ${event.text}`.trim();
}

function onBotEvent(event) {
  switch (event.type) {
    case "text":
      botSays(event);
      if (event.origin === "task") appendTaskText(event);
      break;
    case "done":
      botLines.get(event.response_id)?.classList.add("done");
      break;
    case "status":
      applyTaskStatus(event);
      break;
    case "action":
      applyAction(event.action);
      break;
    case "notice":
      addLine("notice", event.text);
      break;
  }
}

function setConnected(connected) {
  $("connect").textContent = connected ? "Disconnect" : "Connect";
  $("mute").disabled = !connected;
  $("text").disabled = !connected;
  $("say").querySelector("button").disabled = !connected;
  if (connected) $("text").focus();
}

async function connect() {
  let session;
  try {
    session = await openSession();
  } catch (error) {
    setStatus("error", `could not connect: ${error?.message ?? error}`);
    return;
  }
  client = new PipecatClient({
    // The default media manager loads Daily's call machine from the internet; this one is
    // plain Web Audio, so the page works offline.
    transport: new SmallWebRTCTransport({ mediaManager: new WavMediaManager() }),
    enableMic: false,
    enableCam: false,
    callbacks: {
      onConnected: () => setStatus("connecting", "connecting…"),
      onBotReady: () => {
        setStatus("ready", `connected · session ${session.session_id.slice(0, 14)}`);
        setConnected(true);
      },
      onDisconnected: () => {
        setStatus("idle", "not connected");
        setConnected(false);
      },
      onError: (message) => setStatus("error", `error: ${message?.data?.message ?? "unknown"}`),
      onServerMessage: onBotEvent,
      onUserTranscript: (data) => {
        if (data.final) addLine("user", data.text);
      },
      onTrackStarted: (track, participant) => {
        if (track.kind === "audio" && !participant?.local) {
          $("bot-audio").srcObject = new MediaStream([track]);
        }
      },
    },
  });
  setStatus("connecting", "connecting…");
  try {
    await client.startBotAndConnect({
      endpoint: "/start",
      requestData: { transport: "webrtc", body: { session_token: session.token } },
    });
  } catch (error) {
    setStatus("error", `could not connect: ${error?.message ?? error}`);
    client = null;
  }
}

$("connect").addEventListener("click", async () => {
  if (client?.connected) {
    await client.disconnect();
    client = null;
  } else {
    await connect();
  }
});

$("mute").addEventListener("click", () => {
  micOn = !micOn;
  client?.enableMic(micOn);
  $("mute").textContent = micOn ? "Mic on" : "Mic off";
});

$("say").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text || !client) return;
  $("text").value = "";
  addLine("user", text);
  await client.sendText(text);
});

if (params.get("connect") === "1") connect();
