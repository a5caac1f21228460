// logthread dev page: polls the dev server for the stand-in's conversation and sends
// what the person does (commands, clicks, log lines, alarms) back to it. The dev server
// signs Slack's requests; this page never sees the signing secret.
"use strict";

const $ = (sel) => document.querySelector(sel);
const ui = {
  channel: "",
  state: null,
  lastJson: "",
  acks: [], // the ingress's immediate answers: Slack shows them only to the person
  collapsed: new Set(),
  previews: new Map(), // file id -> first lines
};

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

function showError(message) {
  $("#error").textContent = message || "";
}

function when(ts) {
  const d = new Date(Number(ts) * 1000);
  return isNaN(d) ? "" : d.toLocaleTimeString();
}

function messageHtml(m, channel, threadTs) {
  const body = m.blocks && m.blocks.length
    ? BlockKit.blocks(m.blocks)
    : `<div class="bk-text">${BlockKit.mrkdwn(m.text || "")}</div>`;
  const files = (m.files || []).map(BlockKit.file).join("");
  const edited = m.edited ? ' <span class="dim">(edited)</span>' : "";
  return `<article class="message" data-ts="${BlockKit.escapePlain(m.ts)}" data-channel="${BlockKit.escapePlain(channel)}" data-thread-ts="${BlockKit.escapePlain(threadTs || "")}">` +
    `<div class="author"><b>logthread</b> <span class="app">APP</span> <span class="dim">${when(m.ts)}</span>${edited}` +
    ` <button class="shortcut" data-shortcut="find-logs" title="Message shortcut: search the ids in this message">⋯ Find logs</button></div>` +
    `<div class="body">${body}${files}</div></article>`;
}

function ephemeralHtml(e) {
  const body = e.blocks && e.blocks.length ? BlockKit.blocks(e.blocks) : BlockKit.mrkdwn(e.text || "");
  return `<article class="message ephemeral"><div class="author"><b>logthread</b> <span class="app">APP</span>` +
    ` <span class="dim">Only visible to you</span></div><div class="body">${body}</div></article>`;
}

function render() {
  const s = ui.state;
  if (!s) return;
  $("#mode").innerHTML = s.mode === "slack"
    ? `Posting to <b>your Slack workspace</b>. Request URL for a tunnel:<br><code>${BlockKit.escapePlain(s.ingress_url)}</code>`
    : `Slack stand-in · ingress <code>${BlockKit.escapePlain(s.ingress_url)}</code>`;
  // The AWS side: the monitoring account the bot runs in, and the accounts linked to it.
  const linked = (s.accounts && s.accounts.linked) || [];
  $("#mode").innerHTML += `<br>AWS account <code>${BlockKit.escapePlain(s.accounts ? s.accounts.monitoring : "")}</code>` +
    (linked.length ? ` · linked: ${linked.map((a) =>
      `${BlockKit.escapePlain(a.name || "account")} <code>${BlockKit.escapePlain(a.id)}</code>`).join(", ")}` : "");
  $("#linked-form").hidden = linked.length === 0;
  const ids = Object.keys(s.channels);
  if (!ui.channel || !s.channels[ui.channel]) ui.channel = s.default_channel in s.channels ? s.default_channel : ids[0];
  $("#channels").innerHTML = ids.map((id) =>
    `<li><a href="#" data-channel="${BlockKit.escapePlain(id)}" class="${id === ui.channel ? "active" : ""}"># ${BlockKit.escapePlain(s.channels[id].name)}</a></li>`).join("");
  const fixtures = $("#fixtures");
  if (fixtures.options.length !== s.fixtures.length) {
    fixtures.innerHTML = s.fixtures.map((f) => `<option>${BlockKit.escapePlain(f)}</option>`).join("");
  }
  $("#fixture-form").hidden = s.fixtures.length === 0;
  $("#notes").innerHTML = s.notes.slice(-6).map((n) => `<div>${BlockKit.escapePlain(n.text)}</div>`).join("");
  const pending = s.deliveries.filter((d) => !d.done).length;
  const failed = s.deliveries.filter((d) => d.error);
  $("#activity").textContent = (pending ? `worker busy (${pending})` : "worker idle") +
    (failed.length ? ` · ${failed.length} failed: ${failed[failed.length - 1].error}` : "");

  const channel = s.channels[ui.channel] || { name: ui.channel, messages: [] };
  $("#channel-title").textContent = `# ${channel.name}`;
  const parts = channel.messages.map((m) => {
    const replies = m.replies || [];
    let thread = "";
    if (replies.length) {
      const open = !ui.collapsed.has(m.ts);
      thread = `<div class="thread" data-thread-ts="${BlockKit.escapePlain(m.ts)}">` +
        `<a href="#" class="toggle" data-toggle="${BlockKit.escapePlain(m.ts)}">${replies.length} repl${replies.length === 1 ? "y" : "ies"}${open ? "" : " ▸"}</a>` +
        (open ? replies.map((r) => messageHtml(r, ui.channel, m.ts)).join("") : "") + "</div>";
    }
    return `<div class="entry">${messageHtml(m, ui.channel, "")}${thread}</div>`;
  });
  const mine = s.ephemerals.filter((e) => e.channel === ui.channel).map(ephemeralHtml);
  const acks = ui.acks.filter((a) => a.channel === ui.channel).map(ephemeralHtml);
  const list = $("#messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.innerHTML = parts.join("") + mine.join("") + acks.join("") ||
    '<p class="dim empty">No messages yet. Fire an alarm, or type /logsearch below.</p>';
  for (const el of list.querySelectorAll(".file")) loadPreview(el);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

async function loadPreview(el) {
  const id = el.dataset.fileId;
  if (!id) return;
  if (!ui.previews.has(id)) {
    ui.previews.set(id, "");
    const response = await fetch(`/api/file/${encodeURIComponent(id)}`);
    const text = response.ok ? await response.text() : "";
    const lines = text.split("\n");
    ui.previews.set(id, lines.slice(0, 8).join("\n") + (lines.length > 8 ? `\n… ${lines.length - 8} more lines` : ""));
    ui.lastJson = ""; // draw again with the preview
  }
  el.querySelector(".file-preview").textContent = ui.previews.get(id);
}

async function poll() {
  try {
    const state = await api("/api/state");
    const json = JSON.stringify(state);
    if (json !== ui.lastJson) {
      ui.lastJson = json;
      ui.state = state;
      render();
    }
  } catch (err) {
    showError(`dev server unreachable: ${err.message}`);
  }
}

function ackFrom(result, channel) {
  const body = result.body;
  if (result.status !== 200) {
    ui.acks.push({ channel, text: `The app answered HTTP ${result.status}.` });
  } else if (body && typeof body === "object" && (body.text || body.blocks)) {
    ui.acks.push({ channel, text: body.text || "", blocks: body.blocks });
  } else if (typeof body === "string" && body) {
    ui.acks.push({ channel, text: body });
  }
}

async function act(fn) {
  showError("");
  try {
    await fn();
  } catch (err) {
    showError(err.message);
  }
  ui.lastJson = "";
  await poll();
}

$("#composer").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = $("#command");
  const text = input.value.trim();
  if (!text) return;
  const channel = ui.channel;
  act(async () => {
    const result = await api("/api/command", { text, channel });
    input.value = "";
    ackFrom(result, channel);
  });
});

$("#messages").addEventListener("click", (ev) => {
  const toggle = ev.target.closest("[data-toggle]");
  if (toggle) {
    ev.preventDefault();
    const ts = toggle.dataset.toggle;
    ui.collapsed.has(ts) ? ui.collapsed.delete(ts) : ui.collapsed.add(ts);
    render();
    return;
  }
  const shortcut = ev.target.closest("[data-shortcut]");
  if (shortcut) {
    const message = shortcut.closest(".message");
    const channel = message.dataset.channel;
    act(async () => {
      const result = await api("/api/shortcut", {
        channel,
        ts: message.dataset.ts,
        thread_ts: message.dataset.threadTs,
      });
      ackFrom(result, channel);
    });
    return;
  }
  const button = ev.target.closest("button.bk-button");
  if (!button) return;
  const message = button.closest(".message");
  const channel = message.dataset.channel;
  button.disabled = true;
  act(async () => {
    const result = await api("/api/click", {
      channel,
      ts: message.dataset.ts,
      thread_ts: message.dataset.threadTs,
      action_id: button.dataset.actionId,
      index: Number(button.dataset.index),
    });
    ackFrom(result, channel);
  });
});

$("#channels").addEventListener("click", (ev) => {
  const link = ev.target.closest("[data-channel]");
  if (!link) return;
  ev.preventDefault();
  ui.channel = link.dataset.channel;
  render();
});

$("#alarm-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  act(() => api("/api/alarm", {
    function: form.get("function"),
    state: form.get("state"),
    with_failure: form.get("with_failure") === "on",
  }));
});

$("#linked-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  act(() => api("/api/alarm", {
    account: form.get("account"),
    via: form.get("via"),
    state: form.get("state"),
    with_failure: form.get("with_failure") === "on",
  }));
});

$("#second-kind-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  act(() => api("/api/logs", { second_kind: true }));
});

$("#fixture-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  act(() => api("/api/logs", { fixture: new FormData(ev.target).get("fixture") }));
});

$("#log-file").addEventListener("change", async (ev) => {
  const file = ev.target.files[0];
  if (file) $("#logs-form textarea").value = await file.text();
});

$("#logs-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  act(async () => {
    await api("/api/logs", { log_group: form.get("log_group"), text: form.get("text") });
    ev.target.querySelector("textarea").value = "";
  });
});

poll();
setInterval(poll, 1000);
