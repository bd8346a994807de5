// The desktop: renders each UI action and task status event the assistant publishes.
// Every function here takes an event as the voice service forwards it (see docs/actions.md)
// and changes the page; unknown action names are ignored, as the protocol asks.

const $ = (id) => document.getElementById(id);

const windows = new Map(); // window_id → element

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function focusWindow(id) {
  for (const [windowId, node] of windows) node.classList.toggle("focused", windowId === id);
  const node = windows.get(id);
  if (node) {
    node.dataset.state = node.dataset.state === "minimized" ? "normal" : node.dataset.state;
    $("windows").append(node); // last is on top
  }
}

function show(id) {
  $(id).hidden = false;
}

const handlers = {
  "window.open": (a) => {
    const node = el("article", { class: "window", "data-app": a.app, "data-window": a.window_id, "data-state": "normal" });
    node.append(el("h2", {}, a.title || a.app));
    windows.set(a.window_id, node);
    $("windows").append(node);
    focusWindow(a.window_id);
    if (a.app === "notes") show("notes");
  },
  "window.close": (a) => {
    const node = windows.get(a.window_id);
    if (node?.dataset.app === "notes") $("notes").hidden = true;
    node?.remove();
    windows.delete(a.window_id);
  },
  "window.focus": (a) => focusWindow(a.window_id),
  "window.state": (a) => {
    const node = windows.get(a.window_id);
    if (node) node.dataset.state = a.state;
  },
  "windows.arrange": (a) => {
    $("windows").dataset.layout = a.layout;
    for (const id of [...a.window_ids].reverse()) {
      const node = windows.get(id);
      if (node) $("windows").append(node);
    }
    if (a.window_ids.length) focusWindow(a.window_ids[0]);
  },
  "note.show": (a) => {
    show("notes");
    $("notes").dataset.noteId = a.note_id;
    $("note-title").textContent = a.title;
    $("note-text").textContent = a.text;
    $("note-position").textContent = `${a.position} of ${a.count}`;
    $("note-list").replaceChildren();
  },
  "note.removed": (a) => {
    if ($("notes").dataset.noteId === a.note_id) {
      $("note-title").textContent = "";
      $("note-text").textContent = "";
      $("note-position").textContent = "";
    }
  },
  "notes.list": (a) => {
    show("notes");
    $("note-list").replaceChildren(...a.titles.map((title) => el("li", {}, title)));
  },
  "youtube.play": (a) => {
    show("now-playing");
    $("youtube").textContent = `YouTube: ${a.title || a.query}`;
    $("youtube").dataset.state = "playing";
  },
  "youtube.control": (a) => {
    $("youtube").dataset.state = a.command;
    if (a.command === "stop") $("youtube").textContent = "";
  },
  "youtube.seek": (a) => {
    $("youtube").dataset.seek = `${a.relative && a.seconds > 0 ? "+" : ""}${a.seconds}s`;
  },
  "soundtrack.play": (a) => {
    show("now-playing");
    $("soundtrack").textContent = `Soundtrack: ${a.track || a.mood || "music"}`;
    $("soundtrack").dataset.state = "playing";
  },
  "soundtrack.control": (a) => {
    $("soundtrack").dataset.state = a.command;
  },
  "soundtrack.volume": (a) => {
    $("soundtrack").dataset.volume = a.muted ? "muted" : String(a.volume);
  },
  "sprite.set": (a) => {
    $("sprite").textContent = a.visible ? `${a.sprite} (${a.animation})` : "hidden";
  },
  "view.switch": (a) => {
    $("view").textContent = a.view;
    $("desktop").dataset.view = a.view;
  },
  "profile.switch": (a) => {
    $("profile").textContent = a.profile;
  },
  "timer.start": (a) => {
    show("timers");
    const ends = new Date(a.ends_at * 1000).toLocaleTimeString();
    $("timers").querySelector("ul").append(el("li", { "data-timer": a.timer_id }, `${a.label} until ${ends}`));
  },
  "timer.end": (a) => {
    $("timers").querySelector(`[data-timer="${CSS.escape(a.timer_id)}"]`)?.remove();
  },
};

export function applyAction(action) {
  const handler = handlers[action.name];
  if (handler) handler(action);
}

/** A delegated task's card: its status, its progress message and, when done, its answer. */
export function taskCard(event) {
  show("tasks");
  const list = $("tasks").querySelector("ul");
  let card = list.querySelector(`[data-task="${CSS.escape(event.response_id)}"]`);
  if (!card) {
    card = el("li", { class: "task", "data-task": event.response_id });
    card.append(el("b", { class: "label" }), el("span", { class: "status" }), el("p", { class: "message" }), el("p", { class: "result" }));
    list.prepend(card);
  }
  return card;
}

export function applyTaskStatus(event) {
  const card = taskCard(event);
  const running = ["queued", "started", "progress"].includes(event.status);
  card.dataset.status = running ? "running" : event.status;
  card.querySelector(".label").textContent = event.label;
  card.querySelector(".status").textContent = event.status === "progress" ? "running" : event.status;
  if (event.message) card.querySelector(".message").textContent = event.message;
}

export function appendTaskText(event) {
  const result = taskCard(event).querySelector(".result");
  result.textContent = `${result.textContent} ${event.text}`.trim();
}
