// The harmony playground: plain JavaScript, no build step. It talks to the
// server's JSON endpoints (relative URLs, so the page works where the app
// is mounted): GET harmony/special-tokens, POST harmony/render, POST harmony/parse.
"use strict";

const $ = (id) => document.getElementById(id);
const meanings = new Map(); // special token text -> what it means

const EXAMPLES = {
  conversation: {
    messages: [
      { role: "system", content: [{ type: "system_content", model_identity: "You are ChatGPT, a large language model trained by OpenAI.",
        reasoning_effort: "Low", conversation_start_date: "2026-12-06", knowledge_cutoff: "2024-06",
        channel_config: { valid_channels: ["analysis", "commentary", "final"], channel_required: true } }] },
      { role: "developer", content: [{ type: "developer_content", instructions: "Answer briefly.",
        tools: { functions: { name: "functions", tools: [{ name: "get_weather", description: "Current weather for a city.",
          parameters: { type: "object", properties: { city: { type: "string" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
            required: ["city"] } }] } } }] },
      { role: "user", content: [{ type: "text", text: "What is the weather in Oslo?" }] },
    ],
  },
  chat: {
    model: "gpt-oss",
    messages: [
      { role: "system", content: "Answer briefly." },
      { role: "user", content: "What is the weather in Oslo?" },
    ],
    tools: [{ type: "function", function: { name: "get_weather", description: "Current weather for a city.",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }],
    reasoning_effort: "low",
  },
};

const SAMPLE_COMPLETION =
  "<|channel|>analysis<|message|>The user wants the weather in Oslo. Call the tool.<|end|>" +
  "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>" +
  '{"city": "Oslo"}<|call|>';

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

async function post(path, body) {
  const reply = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const doc = await reply.json();
  if (!reply.ok) throw new Error(doc.error ? doc.error.message : `HTTP ${reply.status}`);
  return doc;
}

function tokenTitle(token) {
  let title = `id ${token.id}`;
  if (token.special) title += ` · ${token.text}: ${meanings.get(token.text) || "a reserved special token"}`;
  else title += ` · ${JSON.stringify(token.text)}`;
  if (token.bytes) title += ` · bytes ${token.bytes} (part of a character)`;
  return title;
}

function tokenSpans(container, tokens, showIds) {
  container.textContent = "";
  const fragment = document.createDocumentFragment();
  tokens.forEach((token, i) => {
    const span = document.createElement("span");
    span.className = token.special ? "tok special" : "tok";
    span.textContent = token.text;
    span.title = tokenTitle(token);
    span.dataset.index = i;
    span.dataset.id = token.id;
    if (showIds) {
      const id = document.createElement("span");
      id.className = "id";
      id.textContent = token.id;
      span.appendChild(id);
    }
    fragment.appendChild(span);
  });
  container.appendChild(fragment);
}

// --- rendering ---------------------------------------------------------------

let lastRender = null;

async function render() {
  let doc;
  try {
    doc = JSON.parse($("conversation").value);
  } catch (error) {
    showError(`The conversation is not valid JSON: ${error.message}`);
    return;
  }
  const source = $("source").value;
  const body = source === "chat" ? { chat: doc } : doc;
  body.syntax = $("syntax").value;
  try {
    lastRender = await post("harmony/render", body);
  } catch (error) {
    showError(error.message);
    return;
  }
  showError("");
  drawRender();
}

function drawRender() {
  if (!lastRender) return;
  $("token-count").textContent = `${lastRender.count} tokens, ${lastRender.special_count} special`;
  tokenSpans($("tokens"), lastRender.tokens, $("show-ids").checked);
  $("grammar").textContent = lastRender.grammar || `(no grammar: ${lastRender.grammar_error})`;
}

function loadExample() {
  $("conversation").value = JSON.stringify(EXAMPLES[$("source").value], null, 2);
  render();
}

// --- parsing -------------------------------------------------------------------

let lastParse = null;

function completionBody() {
  const raw = $("completion").value;
  const body = { role: $("role").value || null, strict: $("strict").checked };
  const trimmed = raw.trim();
  if (trimmed.startsWith("[")) {
    try {
      body.ids = JSON.parse(trimmed);
      return body;
    } catch (error) {
      // not a list of ids: parse it as text
    }
  }
  body.text = raw;
  return body;
}

async function parse() {
  try {
    lastParse = await post("harmony/parse", completionBody());
  } catch (error) {
    showError(error.message);
    return;
  }
  showError(lastParse.error ? `Parse error at token ${lastParse.error.position}: ${lastParse.error.message}` : "");
  const steps = lastParse.steps;
  tokenSpans($("completion-tokens"), steps, $("show-ids").checked);
  $("step").max = Math.max(steps.length - 1, 0);
  $("step").value = Math.max(steps.length - 1, 0);
  drawStep();
}

function drawStep() {
  if (!lastParse) return;
  const steps = lastParse.steps;
  const at = Number($("step").value);
  const step = steps[at];
  const last = at === steps.length - 1;
  $("step-label").textContent = steps.length ? `token ${at + 1} of ${steps.length}` : "no tokens";
  for (const span of $("completion-tokens").children) {
    const i = Number(span.dataset.index);
    span.classList.toggle("current", i === at);
    span.classList.toggle("future", i > at);
  }
  const rows = step
    ? [
        ["token", `${step.id} ${JSON.stringify(step.text)}`],
        ["state", step.state],
        ["role", step.role ?? "—"],
        ["channel", step.channel ?? "—"],
        ["recipient", step.recipient ?? "—"],
        ["content type", step.content_type ?? "—"],
        ["delta", step.delta == null ? "—" : JSON.stringify(step.delta)],
        ["events", step.events.map((e) => e.type + (e.text != null ? ` ${JSON.stringify(e.text)}` : "")).join(", ") || "—"],
      ]
    : [];
  const body = $("step-info").tBodies[0];
  body.textContent = "";
  for (const [name, value] of rows) {
    const tr = body.insertRow();
    const th = document.createElement("th");
    th.textContent = name;
    tr.appendChild(th);
    tr.insertCell().textContent = value;
  }
  // The messages completed up to this token; at the last one, all of them
  // (the end of the completion closes the message in progress).
  const messages = last
    ? lastParse.messages
    : steps.slice(0, at + 1).flatMap((s) => s.events.filter((e) => e.type === "MessageCompleted").map((e) => e.message));
  $("messages").textContent = messages.length ? JSON.stringify(messages, null, 2) : "(none yet)";
  const repairs = lastParse.repairs.filter((r) => last || r.position <= at);
  const list = $("repairs");
  list.textContent = "";
  for (const r of repairs) {
    const li = document.createElement("li");
    li.textContent = `token ${r.position}: ${r.kind}: ${r.detail}`;
    list.appendChild(li);
  }
  if (!repairs.length) {
    const li = document.createElement("li");
    li.textContent = "(none)";
    list.appendChild(li);
  }
}

function move(to) {
  const slider = $("step");
  slider.value = Math.min(Math.max(to, 0), Number(slider.max));
  drawStep();
}

// --- wiring --------------------------------------------------------------------

let timer = null;
function debounced(fn) {
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, 400);
  };
}

async function start() {
  try {
    const reply = await fetch("harmony/special-tokens");
    for (const t of (await reply.json()).tokens) meanings.set(t.text, t.meaning);
  } catch (error) {
    showError(`Could not load the special tokens: ${error.message}`);
  }
  $("render").addEventListener("click", render);
  $("example").addEventListener("click", loadExample);
  $("source").addEventListener("change", loadExample);
  $("syntax").addEventListener("change", render);
  $("conversation").addEventListener("input", debounced(render));
  $("show-ids").addEventListener("change", () => {
    drawRender();
    if (lastParse) {
      tokenSpans($("completion-tokens"), lastParse.steps, $("show-ids").checked);
      drawStep();
    }
  });
  $("parse").addEventListener("click", parse);
  $("sample").addEventListener("click", () => {
    $("completion").value = SAMPLE_COMPLETION;
    parse();
  });
  $("step").addEventListener("input", drawStep);
  $("first").addEventListener("click", () => move(0));
  $("prev").addEventListener("click", () => move(Number($("step").value) - 1));
  $("next").addEventListener("click", () => move(Number($("step").value) + 1));
  $("last").addEventListener("click", () => move(Number($("step").max)));
  $("conversation").value = JSON.stringify(EXAMPLES.conversation, null, 2);
  $("completion").value = SAMPLE_COMPLETION;
  await render();
  await parse();
  document.body.dataset.ready = "true";
}

start();
