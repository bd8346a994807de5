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
const sessionId =
  params.get("session") ||
  localStorage.getItem("hybridbot-session") ||
  `web-${crypto.randomUUID().slice(0, 12)}`;
localStorage.setItem("hybridbot-session", sessionId);
const profile = params.get("profile") || "default";

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
  client = new PipecatClient({
    // The default media manager loads Daily's call machine from the internet; this one is
    // plain Web Audio, so the page works offline.
    transport: new SmallWebRTCTransport({ mediaManager: new WavMediaManager() }),
    enableMic: false,
    enableCam: false,
    callbacks: {
      onConnected: () => setStatus("connecting", "connecting…"),
      onBotReady: () => {
        setStatus("ready", `connected · session ${sessionId}`);
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
      requestData: { transport: "webrtc", body: { session_id: sessionId, profile } },
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
