// peacepie console: levels system → host → process → actor, an ASK/SEND form,
// live lists, charts and printed lines over one WebSocket (docs/console.md).
"use strict";

const $ = (sel, root) => (root || document).querySelector(sel);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const isAdmin = (name) => /^[^.]+\.[^.]+\.admin$/.test(name);
const failed = (cmd) => cmd === "error" || cmd === "timeout" || cmd === "actor_is_absent" || /_not_/.test(cmd);

// ---- token ---------------------------------------------------------------

const params = new URLSearchParams(location.search);
if (params.get("token")) {
  sessionStorage.setItem("peacepie_token", params.get("token"));
  history.replaceState(null, "", location.pathname + (location.hash || "#/"));
}
const token = sessionStorage.getItem("peacepie_token");

function tokenPage(reason) {
  $("#breadcrumb").textContent = "";
  $("#main").innerHTML = `<div class="card" id="token-page"><h1>Token needed</h1>
    <p>${esc(reason)}</p>
    <p class="muted">Open the URL printed by <code>peacepie run</code>, or paste the token from <code>config/token</code>.</p>
    <label for="token-input">Token</label><input id="token-input" autocomplete="off">
    <button class="primary" id="token-open">Open</button></div>`;
  $("#token-open").onclick = () => {
    sessionStorage.setItem("peacepie_token", $("#token-input").value.trim());
    location.reload();
  };
  $("#token-input").onkeydown = (e) => { if (e.key === "Enter") $("#token-open").click(); };
  $("#token-input").focus();
}

// ---- connection ----------------------------------------------------------

let ws = null, head = "", self = "", nextID = 1; // self: the admin of the process that serves this console
const pending = new Map();   // id → resolve
const watchers = new Map();  // id → onEvent

function setConn(up, text) {
  const c = $("#conn");
  c.textContent = text;
  c.className = "conn " + (up ? "up" : "down");
}

function connect() {
  let opened = false;
  ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws?token=" + encodeURIComponent(token));
  ws.onopen = () => { opened = true; setConn(true, "connected"); route(); };
  ws.onclose = () => {
    setConn(false, "reconnecting…");
    for (const [, resolve] of pending) resolve({ command: "error", body: { message: "the connection was lost" } });
    pending.clear();
    watchers.clear();
    if (opened) { setTimeout(connect, 1000); return; }
    // Refused or unreachable: a system restarted with another token
    // refuses this one, so ask for a token rather than retry forever.
    hello().then((r) => {
      if (r && r.status === 401) { refused(); return; }
      setTimeout(connect, 1000);
    });
  };
  ws.onmessage = (e) => {
    const a = JSON.parse(e.data);
    if (pending.has(a.id)) { pending.get(a.id)(a); pending.delete(a.id); return; }
    if (watchers.has(a.id) && a.command === "event") watchers.get(a.id)(a.body);
  };
}

function call(obj) {
  return new Promise((resolve) => {
    if (!ws || ws.readyState !== WebSocket.OPEN) { resolve({ command: "error", body: { message: "not connected" } }); return; }
    const id = nextID++;
    pending.set(id, resolve);
    ws.send(JSON.stringify(Object.assign({ id }, obj)));
  });
}

const ask = (recipient, command, body, timeout) => call({ type: "ask", recipient, command, body: body === undefined ? null : body, timeout: timeout || 10 });

let viewWatch = null;
function watch(filter, onEvent) {
  unwatch();
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  const id = "view-" + nextID++;
  watchers.set(id, onEvent);
  ws.send(JSON.stringify({ id, type: "watch", filter, stats: true }));
  viewWatch = id;
}
function unwatch() {
  if (viewWatch && ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ id: viewWatch, type: "unwatch" }));
  if (viewWatch) watchers.delete(viewWatch);
  viewWatch = null;
}

// ---- small widgets -------------------------------------------------------

function crumbs(parts) {
  $("#breadcrumb").innerHTML = parts.map(([text, href]) => href ? `<a href="${href}">${esc(text)}</a>` : `<span>${esc(text)}</span>`).join('<span class="sep">›</span>');
}

// A chart of a rate (per second) from a growing counter.
function rateChart(canvas) {
  // points: {t: ms since 1970, v: messages in the second before t}; the
  // last 5 minutes at most, drawn with a y axis (msgs/s) and time labels.
  const points = [];
  let last = null, lastAt = 0;
  const span = 300e3;
  const draw = () => {
    const now = Date.now();
    while (points.length && points[0].t < now - span) points.shift();
    canvas.dataset.rate = points.length ? points[points.length - 1].v : "";
    canvas.dataset.samples = points.length;
    canvas.title = points.length ? `${points[points.length - 1].v} msgs/s` : "";
    const dpr = devicePixelRatio, w = canvas.width = canvas.clientWidth * dpr, h = canvas.height = canvas.clientHeight * dpr;
    const g = canvas.getContext("2d");
    g.clearRect(0, 0, w, h);
    const left = 46 * dpr, right = 8 * dpr, top = 18 * dpr, bottom = 18 * dpr;
    const max = niceMax(Math.max(1, ...points.map((p) => p.v)));
    const x = (t) => left + (w - left - right) * (1 - (now - t) / span), y = (v) => h - bottom - (v / max) * (h - top - bottom);
    g.font = `${10 * dpr}px system-ui`;
    g.strokeStyle = "#e3e6ea"; g.fillStyle = "#6b7280"; g.lineWidth = dpr;
    g.textAlign = "right"; g.textBaseline = "middle";
    for (const f of [0, 0.5, 1]) { // the y axis: 0, half, max
      g.beginPath(); g.moveTo(left, y(max * f)); g.lineTo(w - right, y(max * f)); g.stroke();
      g.fillText(fmtCount(max * f), left - 4 * dpr, y(max * f));
    }
    g.textAlign = "center"; g.textBaseline = "alphabetic";
    for (let m = 0; m <= 5; m++) { // a time label a minute
      const t = now - m * 60e3;
      g.fillText(m === 0 ? "now" : new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }), Math.min(Math.max(x(t), left + 14 * dpr), w - right - 14 * dpr), h - 4 * dpr);
    }
    g.textAlign = "left";
    g.fillText(`msgs/s — ${points.length ? points[points.length - 1].v : 0} now`, left, 11 * dpr);
    g.strokeStyle = "#2f6fdb"; g.lineWidth = 2 * dpr; g.beginPath();
    points.forEach((p, i) => (i ? g.lineTo(x(p.t), y(p.v)) : g.moveTo(x(p.t), y(p.v))));
    g.stroke();
  };
  const chart = (counter) => {
    const now = Date.now();
    if (last !== null && counter >= last) points.push({ t: now, v: Math.round((counter - last) * 1000 / Math.max(1, now - lastAt)) });
    last = counter; lastAt = now;
    draw();
  };
  // seed draws what happened before the page opened: [ms, handled] points
  // of get_history, about one a second.
  chart.seed = (history) => {
    const first = points.length ? points[0].t : Infinity, older = [];
    for (let i = 1; i < history.length; i++) {
      const [t0, c0] = history[i - 1], [t1, c1] = history[i];
      if (c1 >= c0 && t1 > t0 && t1 < first) older.push({ t: t1, v: Math.round((c1 - c0) * 1000 / (t1 - t0)) });
    }
    points.unshift(...older); // before the live points, if any came first
    draw();
  };
  return chart;
}

// niceMax rounds a chart's top up to 1, 2 or 5 times a power of ten.
function niceMax(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  return [1, 2, 5, 10].map((k) => k * p).find((k) => k >= v);
}

function fmtCount(v) {
  return v >= 1e6 ? (v / 1e6).toFixed(v % 1e6 ? 1 : 0) + "M" : v >= 1e3 ? (v / 1e3).toFixed(v % 1e3 ? 1 : 0) + "k" : String(Number.isInteger(v) ? v : Number(v.toFixed(1)));
}

function linesPanel(el) {
  const add = (text) => {
    const atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - 4;
    el.textContent += text + "\n";
    const all = el.textContent.split("\n");
    if (all.length > 300) el.textContent = all.slice(-300).join("\n");
    if (atEnd) el.scrollTop = el.scrollHeight;
  };
  // earlier puts lines printed before the page opened above the live ones.
  add.earlier = (texts) => {
    if (!texts.length) return;
    el.textContent = texts.join("\n") + "\n" + el.textContent;
    el.scrollTop = el.scrollHeight;
  };
  return add;
}

function showFailure(el, a) {
  el.innerHTML = `<pre class="bad">${esc(JSON.stringify(a, null, 2))}</pre>`;
}

// ---- views ---------------------------------------------------------------

// renderSeq counts the views rendered; a view checks it after each await
// (and in its timers) so that a view the user has left does not write into
// the page, or take over its watch, when its answer comes late.
let renderSeq = 0;
const staleCheck = () => { const seq = renderSeq; return () => seq !== renderSeq; };

async function systemView() {
  crumbs([["system", null]]);
  const seq = renderSeq;
  const a = await ask(head, "get_hosts");
  if (seq !== renderSeq) return;
  const main = $("#main");
  if (a.command !== "hosts") { showFailure(main, a); return; }
  main.innerHTML = `<h1>System</h1>
    <div class="card"><table id="hosts"><thead><tr><th>host</th><th>state</th><th>processes</th><th></th></tr></thead><tbody>
    ${a.body.hosts.map((h) => `<tr data-name="${esc(h.name)}" data-state="${esc(h.state || "up")}"><td><a href="#/host/${encodeURIComponent(h.name)}">${esc(h.name)}</a></td>
      <td class="${h.state === "gone" ? "error" : ""}" title="${esc(h.reason || "")}">${esc(h.state || "up")}</td>
      <td class="num">${h.processes.length}</td><td>${h.head ? '<span class="badge">head</span>' : ""}</td></tr>`).join("")}
    </tbody></table></div>
    <h2>Head admin</h2><div class="card"><a id="head-admin" href="#/actor/${encodeURIComponent(head)}">${esc(head)}</a>
    <span class="muted">— create actors and processes, stop the system</span></div>
    <h2>Messages per second</h2><canvas id="chart"></canvas>
    <h2>Actors of the system</h2><div class="card"><p><a id="top-link" href="#/top">the busiest actors (top)</a> · <a id="picture-link" href="#/picture">a picture of the system</a></p><table id="all-actors"><thead><tr><th>name</th><th>class</th><th>package</th><th>process</th></tr></thead><tbody></tbody></table>
    <div class="muted" id="all-actors-note"></div></div>`;
  const chart = rateChart($("#chart"));
  // The chart is this host's head's: it starts with its last minutes.
  ask(self, "get_history").then((past) => { if (seq === renderSeq && past.command === "history") chart.seed(past.body.points); });
  // Every actor of every process (get_actors {"all": true}); the first 200.
  const loadAll = async () => {
    const l = await ask(head, "get_actors", { all: true, limit: 200 });
    if (seq !== renderSeq) return;
    if (l.command !== "actors") { showFailure($("#all-actors tbody"), l); return; }
    const list = l.body.actors, total = l.body.total === undefined ? list.length : l.body.total;
    $("#all-actors tbody").innerHTML = list.slice(0, 200).map((x) => `<tr data-name="${esc(x.name)}"><td><a href="#/actor/${encodeURIComponent(x.name)}">${esc(x.name)}</a></td>
      <td>${esc(x.class)}</td><td>${esc(x.package)}@${esc(x.version)}</td><td><a href="#/process/${encodeURIComponent(x.node)}">${esc(x.node)}</a></td></tr>`).join("");
    $("#all-actors-note").textContent = (total > 200 ? `the first 200 of ${total} actors` : `${total} actors`) +
      (l.body.unreachable ? "; not answering: " + l.body.unreachable.map((u) => u.node).join(", ") : "");
  };
  loadAll();
  let reload = null;
  // Hosts and their processes come and go: draw the list again when they do.
  watch("", (e) => {
    // The stats of the head this console is served by (the watch has no
    // filter: they are its only stats events). On another host than the
    // first their node is not head, the system's.
    if (e.kind === "stats" && !e.actor && e.handled !== undefined) chart(e.handled);
    else if ((e.kind === "process_created" || e.kind === "process_gone") && seq === renderSeq) route();
    else if (e.kind === "created" || e.kind === "removed" || e.kind === "moved") { clearTimeout(reload); reload = setTimeout(loadAll, 300); }
    else if ((e.kind === "head_changed" || e.kind === "head_lost") && seq === renderSeq) newHead();
  });
}

// bytes shows a size in KiB below a MiB, in MiB above.
function bytes(n) {
  return n < 1048576 ? (n / 1024).toFixed(1) + " KiB" : (n / 1048576).toFixed(1) + " MiB";
}

// uptime shows seconds as "3 d 4 h", "2 h 5 min", "4 min 2 s" or "9 s".
function uptime(s) {
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60, sec = Math.floor(s % 60);
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : m ? `${m} min ${sec} s` : `${sec} s`;
}

// topView lists the busiest actors of the system, every 2 s: messages per
// second (from the change of their handled counts between two polls of
// get_actors {"all": true}), busy % (CPU), memory (what each Lua state
// holds, measured), mailbox, handled and refused; a column's header sorts
// by it. The first 100 are shown.
async function topView() {
  crumbs([["system", "#/"], ["top", null]]);
  const seq = renderSeq;
  const cols = [["rate", "msgs/s"], ["busy", "busy %"], ["mem_bytes", "memory"], ["mailbox", "mailbox"], ["handled", "handled"], ["refused", "refused"]];
  $("#main").innerHTML = `<h1>Top actors</h1><div class="card"><p class="muted" id="top-note">asking every process…</p>
    <table id="top"><thead><tr><th>name</th><th>process</th><th>package</th>${cols.map(([k, t]) => `<th class="sort num" data-sort="${k}">${t}</th>`).join("")}</tr></thead>
    <tbody></tbody></table></div>`;
  let sortKey = "rate", rows = [];
  const prev = new Map();
  let prevAt = 0;
  // The rows are drawn anew each poll (their order changes): not while a
  // button is held on the table, or the click would be lost.
  let pressed = false, held = false;
  $("#top").onpointerdown = () => { pressed = true; };
  document.onpointerup = document.onpointercancel = () => { pressed = false; if (held && seq === renderSeq) { held = false; setTimeout(draw, 0); } };
  const draw = () => {
    if (pressed) { held = true; return; }
    for (const th of document.querySelectorAll("#top th.sort")) th.classList.toggle("sorted", th.dataset.sort === sortKey);
    const list = [...rows].sort((a, b) => (b[sortKey] || 0) - (a[sortKey] || 0) || a.name.localeCompare(b.name)).slice(0, 100);
    $("#top tbody").innerHTML = list.map((x) => `<tr data-name="${esc(x.name)}" data-rate="${x.rate === null ? "" : x.rate.toFixed(1)}">
      <td><a href="#/actor/${encodeURIComponent(x.name)}">${esc(x.name)}</a></td><td><a href="#/process/${encodeURIComponent(x.node)}">${esc(x.node)}</a></td>
      <td>${esc(x.package)}@${esc(x.version)}</td><td class="num rate">${x.rate === null ? "—" : x.rate.toFixed(1)}</td>
      <td class="num busy">${x.busy === null ? "—" : x.busy.toFixed(0)}</td><td class="num mem">${x.mem_bytes === undefined ? "—" : bytes(x.mem_bytes)}</td><td class="num">${x.mailbox}</td><td class="num">${x.handled}</td><td class="num">${x.refused || 0}</td></tr>`).join("");
  };
  for (const th of document.querySelectorAll("#top th.sort")) th.onclick = () => { sortKey = th.dataset.sort; draw(); };
  const poll = async () => {
    if (seq !== renderSeq) return;
    const l = await ask(head, "get_actors", { all: true });
    if (seq !== renderSeq) return;
    if (l.command !== "actors") { showFailure($("#top-note"), l); setTimeout(poll, 2000); return; }
    const now = performance.now(), first = prevAt === 0, dt = (now - prevAt) / 1000;
    rows = l.body.actors.map((x) => {
      const key = x.node + " " + x.name, before = prev.get(key), ok = before !== undefined && dt > 0;
      return Object.assign({}, x, {
        rate: ok && x.handled >= before.handled ? (x.handled - before.handled) / dt : null,
        busy: ok && x.busy_ms >= before.busy ? Math.min(100, (x.busy_ms - before.busy) / 10 / dt) : null, // % of the time
      });
    });
    prev.clear();
    for (const x of l.body.actors) prev.set(x.node + " " + x.name, { handled: x.handled, busy: x.busy_ms || 0 });
    prevAt = now;
    const among = l.body.total !== undefined && l.body.total > rows.length ? ` (the first ${rows.length} by name of ${l.body.total})` : "";
    $("#top-note").textContent = `${rows.length} actors${among}; messages per second ${first ? "from the next poll, in 2 s" : "over the last " + dt.toFixed(1) + " s"}` +
      (l.body.unreachable ? "; not answering: " + l.body.unreachable.map((u) => u.node).join(", ") : "");
    draw();
    setTimeout(poll, 2000);
  };
  poll();
}

// pictureView draws the system: each host a column of its processes (with
// their actors and messages handled per second), and a line between two
// processes linked to each other, as thick as the frames per second on
// their link (get_metrics of every process, every 2 s).
async function pictureView() {
  crumbs([["system", "#/"], ["picture", null]]);
  const seq = renderSeq;
  $("#main").innerHTML = `<h1>The system</h1><div class="card"><p class="muted" id="picture-note">asking every process…</p><div id="picture"></div></div>`;
  const prev = new Map(); // node → {at, handled, links: peer → frames}
  const poll = async () => {
    if (seq !== renderSeq) return;
    const hs = await ask(head, "get_hosts");
    if (seq !== renderSeq) return;
    if (hs.command !== "hosts") { showFailure($("#picture-note"), hs); setTimeout(poll, 2000); return; }
    const hosts = hs.body.hosts.filter((h) => (h.state || "up") === "up");
    const nodes = hosts.flatMap((h) => h.processes || []);
    const answers = await Promise.all(nodes.map((n) => ask(n, "get_metrics", null, 3)));
    if (seq !== renderSeq) return;
    const now = performance.now(), info = new Map(), edges = new Map();
    answers.forEach((a, i) => {
      const node = nodes[i], was = prev.get(node), m = a.command === "metrics" ? a.body : null;
      const dt = was ? (now - was.at) / 1000 : 0;
      const rate = (v, w) => (was && dt > 0 && v >= w ? (v - w) / dt : null);
      info.set(node, { actors: m ? m.actors : "?", asleep: m ? m.hibernating || 0 : 0, rate: m && was ? rate(m.handled, was.handled) : null, up: !!m });
      const links = new Map();
      for (const l of (m && m.links) || []) {
        const frames = l.frames_in + l.frames_out;
        links.set(l.peer, frames);
        if (!nodes.includes(l.peer)) continue;
        const key = [node, l.peer].sort().join(" "), r = was && was.links.has(l.peer) ? rate(frames, was.links.get(l.peer)) : null;
        edges.set(key, Math.max(edges.has(key) ? edges.get(key) : -1, r === null ? -1 : r));
      }
      if (m) prev.set(node, { at: now, handled: m.handled, links });
    });
    drawPicture(hosts, info, edges);
    $("#picture-note").textContent = `${hosts.length} host${hosts.length === 1 ? "" : "s"}, ${nodes.length} processes; rates over the last 2 s` + (answers.some((a) => a.command !== "metrics") ? "; some processes did not answer" : "");
    setTimeout(poll, 2000);
  };
  poll();
}

function drawPicture(hosts, info, edges) {
  const colW = 240, boxW = 200, boxH = 46, gap = 18, top = 36;
  const pos = new Map();
  let height = 0;
  hosts.forEach((h, i) => (h.processes || []).forEach((n, j) => {
    pos.set(n, { x: 20 + i * colW + (colW - boxW) / 2 - 20, y: top + j * (boxH + gap) });
    height = Math.max(height, top + (j + 1) * (boxH + gap));
  }));
  const fmtRate = (r) => (r === null || r < 0 ? "…" : r >= 10 ? Math.round(r) : r.toFixed(1));
  const parts = [];
  for (const [key, r] of edges) {
    const [a, b] = key.split(" "), pa = pos.get(a), pb = pos.get(b);
    if (!pa || !pb) continue;
    const x1 = pa.x + boxW / 2, y1 = pa.y + boxH / 2, x2 = pb.x + boxW / 2, y2 = pb.y + boxH / 2;
    const w = r > 0 ? Math.min(8, 1 + Math.log10(1 + r) * 2) : 1;
    parts.push(`<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="#2f6fdb" stroke-opacity=".45" stroke-width="${w}" data-from="${esc(a)}" data-to="${esc(b)}" data-rate="${r < 0 ? "" : r.toFixed(1)}"><title>${esc(a)} ↔ ${esc(b)}: ${fmtRate(r)} frames/s</title></line>`);
    parts.push(`<text x="${(x1 + x2) / 2}" y="${(y1 + y2) / 2 - 4}" class="edge-label">${fmtRate(r)}/s</text>`);
  }
  hosts.forEach((h, i) => {
    parts.push(`<text x="${20 + i * colW}" y="20" class="host-label">host ${esc(h.name)}${h.head ? " (head)" : ""}</text>`);
    for (const n of h.processes || []) {
      const p = pos.get(n), inf = info.get(n) || {};
      parts.push(`<a href="#/process/${encodeURIComponent(n)}"><rect x="${p.x}" y="${p.y}" width="${boxW}" height="${boxH}" rx="6" class="proc${inf.up ? "" : " down"}" data-node="${esc(n)}"></rect>
        <text x="${p.x + 8}" y="${p.y + 18}" class="proc-name">${esc(n)}</text>
        <text x="${p.x + 8}" y="${p.y + 36}" class="proc-figures">${esc(inf.actors)} actors${inf.asleep ? ` (${esc(inf.asleep)} asleep)` : ""} · ${fmtRate(inf.rate)} msgs/s</text></a>`);
    }
  });
  const width = Math.max(1, hosts.length) * colW + 20;
  $("#picture").innerHTML = `<svg width="${width}" height="${height + 10}" viewBox="0 0 ${width} ${height + 10}">${parts.join("")}</svg>`;
}

// newHead asks the console's host again which admin heads the system (a
// survivor took the root's role), and draws the view again if another
// does: after head_lost the host still names the lost one until it has
// joined the one that took over (head_changed).
async function newHead() {
  const r = await hello();
  if (!r || !r.ok) return;
  const node = (await r.json()).node;
  if (node === head) return;
  head = node;
  route();
}

async function hostView(hostName) {
  crumbs([["system", "#/"], ["host " + hostName, null]]);
  const seq = renderSeq;
  // Processes come and go: draw the list again when they do.
  watch("", (e) => {
    if ((e.kind === "process_created" || e.kind === "process_gone") && seq === renderSeq) route();
    else if ((e.kind === "head_changed" || e.kind === "head_lost") && seq === renderSeq) newHead();
  });
  const a = await ask(head, "get_hosts");
  if (seq !== renderSeq) return;
  const main = $("#main");
  if (a.command !== "hosts") { showFailure(main, a); return; }
  const h = a.body.hosts.find((x) => x.name === hostName);
  if (!h) { main.innerHTML = `<div class="card error">There is no host ${esc(hostName)}. <a href="#/">..</a></div>`; return; }
  main.innerHTML = `<h1>Host ${esc(hostName)}</h1><p><a href="#/">..</a></p>
    <div class="card"><table id="processes"><thead><tr><th>process admin</th><th></th></tr></thead><tbody>
    ${h.processes.map((n) => `<tr data-name="${esc(n)}"><td><a href="#/process/${encodeURIComponent(n)}">${esc(n)}</a></td>
      <td>${n === head ? '<span class="badge">head</span>' : ""}</td></tr>`).join("")}</tbody></table></div>`;
}

const PAGE = 50;
async function processView(node) {
  const stale = staleCheck();
  const hostName = node.split(".")[0];
  crumbs([["system", "#/"], ["host " + hostName, "#/host/" + encodeURIComponent(hostName)], [node, null]]);
  const main = $("#main");
  main.innerHTML = `<h1>Process ${esc(node)}</h1><p><a href="#/host/${encodeURIComponent(hostName)}">..</a></p>
    <div class="card"><div class="toolbar"><input id="filter" placeholder="filter by name or class">
      <button id="prev">‹</button><span id="page" class="muted"></span><button id="next">›</button></div>
    <table id="actors"><thead><tr><th>name</th><th>class</th><th>package</th><th>memory</th><th>mailbox</th><th>handled</th><th>refused</th></tr></thead><tbody></tbody></table></div>
    <div class="card" id="create-card"><h2 style="margin-top:0">Create an actor here</h2>
      <div class="row"><div><label for="create-package">Package</label><input id="create-package" list="create-packages" autocomplete="off"><datalist id="create-packages"></datalist></div>
        <div><label for="create-version">Version</label><select id="create-version"></select></div>
        <div><label for="create-class">Class</label><input id="create-class" list="create-classes" autocomplete="off"><datalist id="create-classes"></datalist></div>
        <div><label for="create-name">Name</label><input id="create-name" autocomplete="off"></div></div>
      <label for="create-params">Params (a JSON object, filled with the class's declared defaults; empty: the defaults)</label><textarea id="create-params" style="height:3em"></textarea>
      <button class="primary" id="create-run">create</button><span id="create-status" class="muted"></span></div>
    <div class="card" id="runtime"><dl><dt>memory (RSS)</dt><dd id="rt-rss">…</dd><dt>Go heap</dt><dd id="rt-heap">…</dd>
      <dt>collections</dt><dd id="rt-gc">…</dd><dt>GC pauses</dt><dd id="rt-gc-pause" title="the time its Go collections stopped the world, in all and the last one">…</dd><dt>goroutines</dt><dd id="rt-goroutines">…</dd><dt>OS threads</dt><dd id="rt-threads">…</dd>
      <dt>late replies</dt><dd id="rt-late">…</dd></dl></div>
    <div class="row"><div><h2>Messages per second</h2><canvas id="chart"></canvas></div>
    <div><h2>Printed lines and log</h2><div class="lines" id="lines"></div></div></div>`;
  createForm(node, stale);
  const mib = (n) => (n / 1048576).toFixed(1) + " MiB";
  const runtimeFigures = async () => {
    if (stale()) return;
    const m = await ask(node, "get_metrics");
    if (stale()) return;
    if (m.command === "metrics") {
      const b = m.body;
      $("#rt-rss").textContent = b.rss_bytes ? mib(b.rss_bytes) : "—";
      $("#rt-heap").textContent = mib(b.go_heap_bytes);
      $("#rt-gc").textContent = b.go_gc_cycles;
      $("#rt-gc-pause").textContent = `${(b.go_gc_pause_ns / 1e6).toFixed(1)} ms in all, the last ${(b.go_gc_last_pause_ns / 1e3).toFixed(0)} µs`;
      $("#rt-goroutines").textContent = b.goroutines;
      $("#rt-threads").textContent = b.os_threads + " (Go code on " + b.go_threads + ")";
      $("#rt-late").textContent = b.late_replies;
    }
    setTimeout(runtimeFigures, 2000);
  };
  runtimeFigures();
  // The process lists one page at a time (get_actors {offset, limit,
  // filter}: a process of a million actors answers a page at once).
  let actors = [], total = 0, page = 0;
  const draw = () => {
    const f = $("#filter").value.trim();
    const rows = actors;
    $("#page").textContent = total ? `${page * PAGE + 1}–${page * PAGE + rows.length} of ${total}` : (f ? "no actor matches" : "no actors");
    // The same rows: their figures change in place (a row drawn anew
    // under the pointer between press and release loses the click).
    const body = $("#actors tbody"), key = rows.map((x) => `${x.name} ${x.class} ${x.package}@${x.version}`).join("\n");
    if (body.dataset.key === key) {
      for (const tr of body.querySelectorAll("tr[data-i]")) {
        const x = rows[Number(tr.dataset.i)];
        tr.querySelector(".mem").textContent = x.mem_bytes === undefined ? "—" : bytes(x.mem_bytes);
        tr.querySelector(".mailbox").textContent = x.mailbox;
        tr.querySelector(".handled").textContent = x.handled;
        tr.querySelector(".refused").textContent = x.refused || 0;
      }
      return;
    }
    body.dataset.key = key;
    body.innerHTML = `<tr data-name="${esc(node)}"><td><a href="#/actor/${encodeURIComponent(node)}">${esc(node)}</a></td><td>Admin</td><td class="muted">peacepie</td><td></td><td></td><td></td><td></td></tr>` +
      rows.map((x, i) => `<tr data-name="${esc(x.name)}" data-i="${i}"><td><a href="#/actor/${encodeURIComponent(x.name)}">${esc(x.name)}</a></td>
        <td>${esc(x.class)}${x.hibernating ? ' <span class="muted" title="hibernating: its Lua state is given up until its next message">asleep</span>' : ""}</td><td>${esc(x.package)}@${esc(x.version)}</td><td class="num mem">${x.mem_bytes === undefined ? "—" : bytes(x.mem_bytes)}</td><td class="num mailbox">${x.mailbox}</td><td class="num handled">${x.handled}</td><td class="num refused">${x.refused || 0}</td></tr>`).join("");
  };
  let loading = 0;
  const load = async () => {
    const seq = ++loading;
    const a = await ask(node, "get_actors", { offset: page * PAGE, limit: PAGE, filter: $("#filter").value.trim() });
    if (stale() || seq !== loading) return; // a newer page was asked for meanwhile
    if (a.command !== "actors") { delete $("#actors tbody").dataset.key; showFailure($("#actors tbody"), a); return; }
    total = a.body.total === undefined ? a.body.actors.length : a.body.total;
    if (a.body.actors.length === 0 && page > 0 && total > 0) { // the page emptied: the last one
      page = Math.max(0, Math.ceil(total / PAGE) - 1);
      return load();
    }
    actors = a.body.actors;
    draw();
  };
  let typing = null;
  // (A page asked for before the filter changed is dropped when it comes.)
  $("#filter").oninput = () => { page = 0; loading++; clearTimeout(typing); typing = setTimeout(load, 200); };
  $("#prev").onclick = () => { if (page > 0) { page--; load(); } };
  $("#next").onclick = () => { if ((page + 1) * PAGE < total) { page++; load(); } };
  await load();
  if (stale()) return;
  const chart = rateChart($("#chart")), lines = linesPanel($("#lines"));
  // The lines and the rates of before the page opened, beside what comes live.
  ask(node, "get_lines", { n: 100 }).then((earlier) => {
    if (!stale() && earlier.command === "lines") lines.earlier(earlier.body.lines.map((l) => l.actor + ": " + l.line));
  });
  ask(node, "get_history").then((past) => { if (!stale() && past.command === "history") chart.seed(past.body.points); });
  let reload = null;
  watch(node, (e) => {
    if (e.kind === "created" || e.kind === "removed" || e.kind === "moved") { clearTimeout(reload); reload = setTimeout(load, 150); }
    if (e.kind === "printed" || e.kind === "log") lines((e.actor ? e.actor + ": " : "") + e.line);
    if (e.kind === "memory_exceeded" || e.kind === "mailbox_full") lines(`${e.actor}: ${e.kind}: ${e.line}`);
    if (e.kind === "exiting") lines("— the system is exiting —");
    if (e.kind === "stats" && e.handled !== undefined) { // a child's first stats may be pending
      chart(e.handled);
      for (const s of e.each || []) {
        const x = actors.find((y) => y.name === s.name);
        if (x) { x.mailbox = s.mailbox; x.handled = s.handled; x.refused = s.refused; }
      }
      if (e.each) draw();
    }
  });
}

// actorState says whether an actor hibernates, and why one that may not
// stays awake.
function actorState(d) {
  if (d.hibernating) return "hibernating (its state is rebuilt by its next message)";
  return d.stays_awake ? "awake: " + d.stays_awake : "awake";
}

async function actorView(name) {
  const stale = staleCheck();
  const admin = isAdmin(name);
  let node = admin ? name : "";
  const main = $("#main");
  main.innerHTML = `<h1>${admin ? "Admin" : "Actor"} ${esc(name)}</h1><p><a id="up" href="#/">..</a></p>
    <div class="row"><div class="card" id="details">…</div><div class="card"><h2 style="margin-top:0">Params</h2><div id="params" class="muted">…</div>
      <button id="reload-params">reload</button></div></div>
    <div class="card"><form id="form" onsubmit="return false">
      <label for="command">Command</label><input id="command" autocomplete="off"><div id="commands" class="chips"></div>
      <label for="body">Body (JSON)</label><textarea id="body" placeholder="empty for no body"></textarea>
      <label for="recipient">Recipient</label><input id="recipient" value="${esc(name)}">
      <label for="timeout">Timeout (seconds)</label><input id="timeout" value="10">
      <button class="primary" id="ask" type="button" disabled>ASK</button><button id="send" type="button" disabled>SEND</button>
      <div class="error" id="form-error"></div></form>
      <h2>Reply</h2><div id="reply" class="muted">nothing sent yet</div>
      <h2>History</h2><ol class="history" id="history"></ol></div>
    <div class="row"><div><h2>Messages per second</h2><canvas id="chart"></canvas></div>
      <div><h2>Printed lines and log</h2><div class="lines" id="lines"></div></div></div>
    <div class="card" id="manage-card"><h2 style="margin-top:0">Manage</h2>
      <div class="toolbar"><button id="restart" data-label="restart">restart</button>
        <input id="upgrade-to" placeholder="package==version: restart with another version (empty: the same)" style="width:26em"></div>
      <div class="toolbar"><button id="move" data-label="move to">move to</button><select id="move-to"></select></div>
      <div class="toolbar"><button id="remove" data-label="remove">remove</button></div>
      <div id="manage-status" class="muted">each button asks for a second click to confirm</div></div>
    <div class="card" id="profile-card"><h2 style="margin-top:0">Lua profile</h2>
      <div class="toolbar"><label for="profile-seconds" style="margin:0">seconds</label><input id="profile-seconds" value="5" style="width:5em">
        <button id="profile-run" disabled>profile</button><span id="profile-status" class="muted">which Lua functions this actor runs, sampled every millisecond</span>
        <a id="profile-download" hidden>collapsed stacks</a></div>
      <div id="flame" class="flame"></div></div>`;
  if (admin) {
    $("#profile-card").remove();
    $("#manage-card").remove();
    $("#details").innerHTML = `<dl><dt>role</dt><dd>admin of ${esc(name.split(".").slice(0, 2).join("."))}</dd></dl>`;
    $("#params").textContent = "an admin has no params";
    $("#reload-params").remove();
  } else {
    const a = await ask(head, "get_actor", { name });
    if (stale()) return;
    if (a.command === "actor") {
      const d = a.body;
      node = d.node;
      manageActor(name, d, stale);
      $("#details").innerHTML = `<dl><dt>class</dt><dd>${esc(d.class)}</dd><dt>package</dt><dd>${esc(d.package)}@${esc(d.version)}${d.commit ? "@" + esc(d.commit.slice(0, 12)) : ""}</dd>
        <dt>node</dt><dd>${esc(d.node)}</dd><dt>mailbox</dt><dd id="d-mailbox">${d.mailbox}</dd><dt>handled</dt><dd id="d-handled">${d.handled}</dd>
        <dt>busy</dt><dd id="d-busy" title="time in its handlers, estimated from the 20 ms watchdog tick">${(d.busy_ms / 1000).toFixed(1)} s</dd>
        <dt>memory</dt><dd id="d-mem" title="what its Lua state reaches, measured by a walk between its messages">${d.mem_bytes === undefined ? "—" : bytes(d.mem_bytes)}</dd>
        <dt>uptime</dt><dd id="d-uptime">${uptime(d.uptime_s)}</dd>
        <dt>state</dt><dd id="d-state">${esc(actorState(d))}</dd></dl>`;
      // Busy time, memory and uptime change without an event: asked again every 5 s.
      const refresh = async () => {
        await new Promise((r) => setTimeout(r, 5000));
        if (stale()) return;
        const again = await ask(head, "get_actor", { name });
        if (stale()) return;
        if (again.command !== "actor") { refresh(); return; } // moving, or the connection is back soon: again
        $("#d-busy").textContent = (again.body.busy_ms / 1000).toFixed(1) + " s";
        $("#d-mem").textContent = again.body.mem_bytes === undefined ? "—" : bytes(again.body.mem_bytes);
        $("#d-uptime").textContent = uptime(again.body.uptime_s);
        $("#d-state").textContent = actorState(again.body);
        refresh();
      };
      refresh();
    } else {
      $("#details").innerHTML = `<span class="error">${esc(a.command)}: this actor does not exist (any more)</span>`;
    }
    const loadParams = async () => {
      const p = await ask(name, "get_params");
      if (stale()) return;
      $("#params").innerHTML = p.command === "params"
        ? (p.body.params.length ? `<dl>${p.body.params.map((x) => `<dt>${esc(x.name)}</dt><dd>${esc(JSON.stringify(x.value))}</dd>`).join("")}</dl>` : "no params")
        : `<span class="error">${esc(p.command)}</span>`;
    };
    $("#reload-params").onclick = loadParams;
    loadParams();
  }
  const hostName = (node || head).split(".")[0];
  // An admin's page is its process's: its name once, not twice.
  crumbs(node && name === node
    ? [["system", "#/"], ["host " + hostName, "#/host/" + encodeURIComponent(hostName)], [name, "#/process/" + encodeURIComponent(node)]]
    : [["system", "#/"], ["host " + hostName, "#/host/" + encodeURIComponent(hostName)],
      [node || "?", node ? "#/process/" + encodeURIComponent(node) : null], [name, null]]);
  $("#up").href = node ? "#/process/" + encodeURIComponent(node) : "#/";

  const key = "peacepie_history_" + name;
  const past = JSON.parse(sessionStorage.getItem(key) || "[]");
  const drawHistory = () => {
    $("#history").innerHTML = past.map((r, i) => `<li><code>${esc(r.type.toUpperCase())} ${esc(r.command)} ${esc(r.body || "")} → ${esc(r.recipient)}</code>
      <button data-i="${i}" class="resend">re-send</button></li>`).join("");
    for (const b of document.querySelectorAll(".resend")) b.onclick = () => { const r = past[b.dataset.i]; fill(r); submit(r.type); };
  };
  const fill = (r) => { $("#command").value = r.command; $("#body").value = r.body || ""; $("#recipient").value = r.recipient; $("#timeout").value = r.timeout; };
  const submit = async (type) => {
    const err = $("#form-error");
    err.textContent = "";
    const command = $("#command").value.trim();
    if (!command) { err.textContent = "The command is empty: type one, for example tick."; return; }
    const bodyText = $("#body").value.trim();
    let body = null;
    if (bodyText) {
      try { body = JSON.parse(bodyText); } catch (e) { err.textContent = "The body is not valid JSON: " + e.message; return; }
    }
    let recipient = $("#recipient").value.trim();
    if (!recipient) { err.textContent = "The recipient is empty."; return; }
    if (recipient.startsWith("{")) {
      try { recipient = JSON.parse(recipient); } catch (e) { err.textContent = "The recipient is not valid JSON: " + e.message; return; }
    }
    const timeout = Number($("#timeout").value);
    if (!(timeout > 0 && timeout <= 3600)) { err.textContent = "The timeout must be a number of seconds above 0 and at most 3600."; return; }
    const entry = { type, command, body: bodyText, recipient: $("#recipient").value.trim(), timeout: $("#timeout").value };
    past.unshift(entry);
    past.splice(20);
    sessionStorage.setItem(key, JSON.stringify(past));
    drawHistory();
    const started = performance.now();
    $("#reply").innerHTML = '<span class="muted">waiting…</span>';
    const a = await call({ type, command, body, recipient, timeout });
    if (stale()) return;
    const ms = Math.round(performance.now() - started);
    $("#reply").innerHTML = `<pre class="${failed(a.command) ? "bad" : ""}" id="reply-json">${esc(JSON.stringify(a, null, 2))}</pre><span class="muted" id="reply-time">${ms} ms</span>`;
  };
  // Enabled once wired: a click before would be lost.
  $("#ask").onclick = () => submit("ask");
  $("#send").onclick = () => submit("send");
  $("#ask").disabled = $("#send").disabled = false;
  drawHistory();
  if (!admin) { // enabled once it knows where the actor lives
    $("#profile-run").onclick = () => profileActor(name, node, stale);
    $("#profile-run").disabled = false;
  }

  const chart = rateChart($("#chart")), lines = linesPanel($("#lines"));
  // What it printed before the page opened (above what comes live).
  ask(node || head, "get_lines", { actor: name, n: 100 }).then((earlier) => {
    if (!stale() && earlier.command === "lines") lines.earlier(earlier.body.lines.map((l) => l.line));
  });
  // The commands it understands, to pick from.
  ask(name, "get_commands").then((c) => {
    if (stale() || c.command !== "commands") return;
    $("#commands").innerHTML = c.body.commands.map((x) => `<button type="button" class="chip" data-command="${esc(x)}">${esc(x)}</button>`).join("");
    for (const b of document.querySelectorAll("#commands .chip")) b.onclick = () => { $("#command").value = b.dataset.command; $("#command").focus(); };
  });
  watch(name, (e) => {
    if (e.kind === "stats" && e.handled !== undefined) {
      chart(e.handled);
      if ($("#d-handled")) { $("#d-handled").textContent = e.handled; $("#d-mailbox").textContent = e.mailbox; }
    }
    if (e.kind === "printed" || e.kind === "log") lines(e.line);
    if (e.kind === "removed" && e.actor === name) lines("— this actor was removed —");
  });
}

// createForm wires the process page's form that creates an actor there:
// the package from the ones the process knows (get_classes), its version,
// the class from that version's manifest, a name and params (a JSON
// object, optional).
async function createForm(node, stale) {
  const pkgs = await ask(node, "get_classes");
  if (stale()) return;
  if (pkgs.command !== "packages") { $("#create-status").innerHTML = `<span class="error">${esc(pkgs.command)}: ${esc((pkgs.body && pkgs.body.message) || "")}</span>`; return; }
  const byName = new Map(pkgs.body.packages.map((p) => [p.name, p]));
  $("#create-packages").innerHTML = pkgs.body.packages.map((p) => `<option value="${esc(p.name)}">${esc(p.source)}</option>`).join("");
  const loadClasses = async () => {
    const name = $("#create-package").value.trim(), p = byName.get(name);
    $("#create-version").innerHTML = p ? `<option value="">highest</option>` + p.versions.map((v) => `<option value="${esc(v)}">${esc(v)}</option>`).join("") : "";
    $("#create-classes").innerHTML = "";
    if (!p) return;
    const c = await ask(node, "get_classes", { package: name, version: $("#create-version").value }, 60);
    if (stale() || $("#create-package").value.trim() !== name) return;
    if (c.command !== "classes") { $("#create-status").innerHTML = `<span class="error">${esc(c.command)}: ${esc((c.body && c.body.message) || "")}</span>`; return; }
    $("#create-classes").innerHTML = c.body.classes.map((x) => `<option value="${esc(x)}"></option>`).join("");
    if (c.body.classes.length === 1) { $("#create-class").value = c.body.classes[0]; loadParams(); }
  };
  // The class's declared defaults fill the params, unless the operator
  // has written something else there.
  let prefilled = "";
  const loadParams = async () => {
    const name = $("#create-package").value.trim(), version = $("#create-version").value, cls = $("#create-class").value.trim();
    if (!byName.has(name) || !cls) return;
    const c = await ask(node, "get_classes", { package: name, version, class: cls }, 60);
    if (stale() || $("#create-class").value.trim() !== cls) return;
    const box = $("#create-params");
    if (c.command !== "class_params") { $("#create-status").innerHTML = `<span class="error">${esc(c.command)}: ${esc((c.body && c.body.message) || "")}</span>`; return; }
    if (box.value.trim() !== "" && box.value !== prefilled) return;
    prefilled = Object.keys(c.body.params).length ? JSON.stringify(c.body.params, null, 1).replace(/\n\s*/g, " ") : "";
    box.value = prefilled;
  };
  $("#create-package").onchange = loadClasses;
  $("#create-version").onchange = loadClasses;
  $("#create-class").onchange = loadParams;
  $("#create-run").onclick = async () => {
    const status = $("#create-status");
    const pkg = $("#create-package").value.trim(), version = $("#create-version").value, cls = $("#create-class").value.trim(), name = $("#create-name").value.trim();
    if (!pkg || !cls || !name) { status.innerHTML = '<span class="error">a package, a class and a name are needed</span>'; return; }
    let params = null;
    const text = $("#create-params").value.trim();
    if (text) {
      try { params = JSON.parse(text); } catch (e) { status.innerHTML = `<span class="error">the params are not valid JSON: ${esc(e.message)}</span>`; return; }
    }
    const body = { class_desc: { requires_dist: version ? `${pkg}==${version}` : pkg, class: cls }, name };
    if (params !== null) body.params = params;
    status.textContent = "creating…";
    const a = await ask(node, "create_actor", body, 60);
    if (stale()) return;
    status.innerHTML = `<span class="${failed(a.command) ? "error" : ""}" id="create-reply">${esc(a.command)}${a.body && (a.body.error || a.body.message) ? ": " + esc(a.body.error || a.body.message) : ""}</span>`;
  };
}

// ---- managing an actor ---------------------------------------------------

// confirmed makes button act on a second click within 5 s (the first one
// turns it into "confirm …?").
function confirmed(button, act) {
  let armed = null;
  button.onclick = () => {
    if (!armed) {
      button.textContent = "confirm " + button.dataset.label + "?";
      button.classList.add("armed");
      armed = setTimeout(() => { armed = null; button.textContent = button.dataset.label; button.classList.remove("armed"); }, 5000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    button.textContent = button.dataset.label;
    button.classList.remove("armed");
    act();
  };
}

// manageActor wires the actor page's restart, move and remove buttons (d:
// its get_actor answer); each answer is shown under them.
async function manageActor(name, d, stale) {
  const status = () => $("#manage-status");
  const show = (a, ok) => {
    if (stale()) return;
    const bad = failed(a.command);
    status().innerHTML = `<span class="${bad ? "error" : ""}" id="manage-reply">${esc(a.command)}${a.body && (a.body.error || a.body.message) ? ": " + esc(a.body.error || a.body.message) : ""}</span>`;
    if (!bad && ok) ok(a);
  };
  confirmed($("#restart"), async () => {
    const body = { entity: name };
    const to = $("#upgrade-to").value.trim();
    if (to) body.class_desc = { requires_dist: to, class: d.class };
    status().textContent = "restarting…";
    show(await ask(head, "recreate_actor", body, 60), () => route());
  });
  confirmed($("#move"), async () => {
    const to = $("#move-to").value;
    if (!to) { status().innerHTML = '<span class="error">no other process to move it to: create one first</span>'; return; }
    status().textContent = "moving to " + to + "…";
    show(await ask(head, "recreate_actor", { entity: name, node: to }, 60), () => route());
  });
  confirmed($("#remove"), async () => {
    status().textContent = "removing…";
    show(await ask(head, "remove_actor", { name }, 30), () => { location.hash = "#/process/" + encodeURIComponent(d.node); });
  });
  const hosts = await ask(head, "get_hosts");
  if (stale() || hosts.command !== "hosts") return;
  const nodes = [];
  for (const h of hosts.body.hosts) for (const n of h.processes || []) if (n !== d.node) nodes.push(n);
  $("#move-to").innerHTML = nodes.map((n) => `<option value="${esc(n)}">${esc(n)}</option>`).join("");
}

// ---- Lua profile ---------------------------------------------------------

// profileActor runs profile_lua on the actor for the chosen seconds and
// draws the collapsed stacks it answers as a flame graph (click a frame to
// zoom in, the bottom frame to zoom out); the stacks can be downloaded as
// they are (speedscope, flamegraph.pl).
async function profileActor(name, node, stale) {
  const status = $("#profile-status"), seconds = Number($("#profile-seconds").value);
  if (!(seconds > 0 && seconds <= 60)) { status.innerHTML = '<span class="error">seconds: a number above 0 and at most 60</span>'; return; }
  $("#profile-run").disabled = true;
  status.textContent = `sampling for ${seconds} s…`;
  const a = await call({ type: "ask", command: "profile_lua", body: { actor: name, seconds }, recipient: node || head, timeout: seconds + 10 });
  if (stale()) return;
  $("#profile-run").disabled = false;
  if (a.command !== "lua_profile") { status.innerHTML = `<span class="error">${esc(a.command)}: ${esc((a.body && (a.body.message || a.body.error)) || "")}</span>`; return; }
  status.textContent = `${a.body.samples} samples in ${a.body.seconds} s` + (a.body.hibernating ? " (it hibernated throughout: nothing ran)" : "");
  const link = $("#profile-download");
  link.href = URL.createObjectURL(new Blob([a.body.collapsed], { type: "text/plain" }));
  link.download = name + ".folded";
  link.hidden = false;
  const root = { name: "all", n: 0, kids: new Map() };
  for (const line of a.body.collapsed.split("\n")) {
    const at = line.lastIndexOf(" ");
    if (at < 0) continue;
    const n = Number(line.slice(at + 1));
    let node = root;
    root.n += n;
    for (const frame of line.slice(0, at).split(";")) {
      if (!node.kids.has(frame)) node.kids.set(frame, { name: frame, n: 0, kids: new Map(), up: node });
      node = node.kids.get(frame);
      node.n += n;
    }
  }
  drawFlame(root, root);
}

function drawFlame(root, top) {
  const flame = $("#flame"), rowH = 18, parts = [], drawn = [];
  let depth = 0;
  const put = (node, left, width, level) => {
    depth = Math.max(depth, level + 1);
    const pct = (100 * node.n / root.n).toFixed(1);
    parts.push(`<div class="frame" style="left:${left}%;width:${width}%;top:${level * rowH}px" data-level="${level}" data-i="${drawn.length}" title="${esc(node.name)} — ${node.n} samples (${pct} %)">${esc(node.name)}</div>`);
    drawn.push(node);
    let x = left;
    for (const kid of [...node.kids.values()].sort((a, b) => b.n - a.n)) {
      const w = width * kid.n / node.n;
      if (w >= 0.05) put(kid, x, w, level + 1);
      x += w;
    }
  };
  put(top, 0, 100, 0);
  flame.style.height = depth * rowH + "px";
  flame.innerHTML = root.n ? parts.join("") : '<span class="muted">no samples: the actor ran no Lua code meanwhile</span>';
  for (const el of flame.querySelectorAll(".frame")) {
    el.onclick = () => { const n = drawn[el.dataset.i]; drawFlame(root, n === top && top.up ? top.up : n); };
  }
}

// ---- routing -------------------------------------------------------------

function route() {
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  renderSeq++;
  unwatch();
  const parts = (location.hash.replace(/^#\/?/, "") || "").split("/").map(decodeURIComponent);
  switch (parts[0]) {
    case "host": return hostView(parts[1]);
    case "process": return processView(parts[1]);
    case "actor": return actorView(parts[1]);
    case "top": return topView();
    case "picture": return pictureView();
    default: return systemView();
  }
}

window.addEventListener("hashchange", route);

// hello checks the token with GET /api/hello: the response, or null when
// the system does not answer.
const hello = () => fetch("/api/hello", { headers: { Authorization: "Bearer " + token }, cache: "no-store" }).catch(() => null);

function refused() {
  sessionStorage.removeItem("peacepie_token");
  renderSeq++;
  unwatch();
  tokenPage("The token was refused.");
  setConn(false, "no token");
}

(async function start() {
  if (!token) { tokenPage("This console needs the system's token."); setConn(false, "no token"); return; }
  const r = await hello();
  if (!r) { setConn(false, "unreachable"); $("#main").innerHTML = '<div class="card error">The system does not answer.</div>'; return; }
  if (r.status === 401) { refused(); return; }
  if (!r.ok) { setConn(false, "error"); $("#main").innerHTML = `<div class="card error">The system answered HTTP ${r.status}.</div>`; return; }
  const h = await r.json();
  head = h.node;
  self = h.self;
  if (!location.hash) history.replaceState(null, "", "#/");
  connect();
})();
