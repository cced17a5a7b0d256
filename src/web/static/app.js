// roomd's web page: plain JavaScript, no library, nothing fetched from elsewhere.
// Every text from the air is put on the page with textContent, never as HTML.
"use strict";

const params = new URLSearchParams(location.search);
const room = parseInt(params.get("room") || "0", 10) || 0;
const view = location.pathname.replace(/^\//, "") || "board";
const main = document.getElementById("main");
let session = { admin: false };

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const k in attrs || {}) {
    if (k === "text") e.textContent = attrs[k];
    else if (k === "class") e.className = attrs[k];
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), attrs[k]);
    else e.setAttribute(k, attrs[k]);
  }
  for (const c of kids) if (c != null) e.append(c);
  return e;
}
const NS = "http://www.w3.org/2000/svg";
function svg(tag, attrs) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  return e;
}
async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin" });
  return r.json();
}
function when(ts) {
  if (!ts) return "-";
  return new Date(ts * 1000).toISOString().replace("T", " ").replace(/\..*/, " UTC");
}
function link(v) { return "/" + v + "?room=" + room; }

async function header() {
  const sel = document.getElementById("room");
  const rooms = (await getJSON("/api/v1/rooms")).rooms;
  for (const r of rooms) sel.append(el("option", { value: r.index, text: r.index + " " + r.name }));
  sel.value = room;
  sel.addEventListener("change", () => { location.href = "/" + view + "?room=" + sel.value; });
  for (const v of ["board", "members", "channel", "admin"]) {
    const a = document.getElementById("nav-" + v);
    a.href = link(v);
    if (v === view) a.className = "on";
  }
  return rooms;
}

// ---- board ----
function postItem(p, fresh) {
  return el("li", { class: fresh ? "new" : "", "data-id": p.id },
    el("div", { class: "meta" },
      el("span", { class: "name", text: p.name, title: p.author }),
      el("span", { class: "time", text: when(p.ts) }),
      el("span", { class: "id", text: "#" + p.id })),
    el("div", { class: "text", text: p.text }));
}

async function board(rooms) {
  const r = rooms[room] || { name: "?", posts: 0 };
  const list = el("ul", { class: "posts", id: "posts" });
  const more = el("button", { id: "older", text: "Older posts" });
  const count = el("span", { class: "help", id: "count" });
  const q = el("input", { id: "search", type: "search", placeholder: "find text", name: "q" });
  let next = null, find = "";
  async function load(reset) {
    if (reset) { list.textContent = ""; next = null; }
    let url = "/api/v1/posts?room=" + room + "&limit=50";
    if (next) url += "&before=" + next;
    if (find) url += "&q=" + encodeURIComponent(find);
    const d = await getJSON(url);
    for (const p of d.posts) list.append(postItem(p, false));
    next = d.next;
    more.disabled = !next;
    more.textContent = next ? "Older posts" : "No older posts";
    count.textContent = list.children.length + " shown" + (find ? " matching" : "") + " of " + r.posts;
  }
  more.addEventListener("click", () => load(false));
  const form = el("form", { class: "inline", id: "search-form" }, q,
    el("button", { type: "submit", text: "Search" }),
    el("button", { type: "button", text: "Clear", onclick: () => { q.value = ""; find = ""; load(true); } }),
    count);
  form.addEventListener("submit", (e) => { e.preventDefault(); find = q.value; load(true); });
  main.replaceChildren(el("h2", { text: "Board of " + r.name }), el("div", { class: "card" }, form),
    list, more);
  await load(true);
  const live = document.getElementById("live");
  const es = new EventSource("/api/v1/events?room=" + room);
  es.addEventListener("open", () => { live.textContent = "live"; live.className = "live"; });
  es.addEventListener("error", () => { live.textContent = "reconnecting"; live.className = "live off"; });
  es.addEventListener("post", (ev) => {
    const p = JSON.parse(ev.data);
    if (find && !p.text.toLowerCase().includes(find.toLowerCase())) return;
    if (list.querySelector('li[data-id="' + p.id + '"]')) return;
    list.prepend(postItem(p, true));
  });
}

// ---- members ----
async function members(rooms) {
  const d = await getJSON("/api/v1/members?room=" + room);
  const t = el("table", { id: "members" }, el("tr", {},
    ...["name", "key", "role", "last heard", "sync point", "posts waiting", "push", "route"].map(h => el("th", { text: h }))));
  for (const m of d.members) {
    t.append(el("tr", {},
      el("td", { text: m.name || "-" }), el("td", { text: m.key.slice(0, 16) }),
      el("td", { text: m.role }), el("td", { text: when(m.last_heard) }),
      el("td", { text: when(m.sync_since) }), el("td", { class: "num", text: m.waiting }),
      el("td", { text: m.push }),
      el("td", { text: m.hops == null ? "flood (no route)" : m.hops + " hops" })));
  }
  main.replaceChildren(el("h2", { text: "Members of " + (rooms[room] || {}).name + " (" + d.members.length + ")" }), t);
}

// ---- channel and radio ----
function bars(tx, rx) {
  const W = 600, H = 160, n = tx.length, bw = W / n;
  const max = Math.max(1000, ...tx.map((v, i) => v + rx[i]));
  const s = svg("svg", { viewBox: "0 0 " + W + " " + (H + 20), id: "airtime", role: "img" });
  for (let i = 0; i < n; i++) {
    const ht = tx[i] / max * H, hr = rx[i] / max * H;
    s.append(svg("rect", { x: i * bw + 1, y: H - ht, width: bw - 2, height: ht, fill: "#e76f51" }));
    s.append(svg("rect", { x: i * bw + 1, y: H - ht - hr, width: bw - 2, height: hr, fill: "#2a9d8f" }));
  }
  const lab = svg("text", { x: 4, y: H + 15, "font-size": 11, fill: "#556" });
  lab.textContent = "last 60 minutes; top of scale " + (max / 1000).toFixed(1) + " s of airtime per minute";
  s.append(lab);
  return s;
}
function scatter(recent) {
  const W = 600, H = 180;
  const s = svg("svg", { viewBox: "0 0 " + W + " " + (H + 20), id: "signal", role: "img" });
  const rx = recent.filter(p => p.dir === "in");
  const x = (i) => 10 + i * (W - 20) / Math.max(1, rx.length - 1);
  const yr = (v) => H - (Math.min(-20, Math.max(-140, v)) + 140) / 120 * H;  // RSSI -140..-20
  const ys = (v) => H - (Math.min(15, Math.max(-20, v)) + 20) / 35 * H;      // SNR -20..15
  rx.forEach((p, i) => {
    s.append(svg("circle", { cx: x(i), cy: yr(p.rssi), r: 3, fill: "#2a9d8f" }));
    s.append(svg("rect", { x: x(i) - 2.5, y: ys(p.snr) - 2.5, width: 5, height: 5, fill: "#e9c46a" }));
  });
  const lab = svg("text", { x: 4, y: H + 15, "font-size": 11, fill: "#556" });
  lab.textContent = "last " + rx.length + " packets heard: RSSI (circles, -140..-20 dBm), SNR (squares, -20..15 dB)";
  s.append(lab);
  return s;
}
function kv(obj) {
  const t = el("table", {});
  for (const k in obj) t.append(el("tr", {}, el("td", { text: k }), el("td", { class: "num", text: String(obj[k]) })));
  return t;
}
async function channel() {
  const s = await getJSON("/api/v1/stats");
  const types = el("table", { id: "types" }, el("tr", {}, el("th", { text: "type" }), el("th", { text: "in" }), el("th", { text: "out" })));
  const names = new Set([...Object.keys(s.packets.in), ...Object.keys(s.packets.out)]);
  for (const n of [...names].sort())
    types.append(el("tr", {}, el("td", { text: n }), el("td", { class: "num", text: s.packets.in[n] || 0 }),
      el("td", { class: "num", text: s.packets.out[n] || 0 })));
  const m = s.mesh;
  const errors = { tx_failed: m.tx_failed, queue_full: m.queue_full, bad_payload: m.bad_payload, bad_mac: m.bad_mac,
    bad_advert: m.bad_advert, radio_tx_failures: s.radio.tx_failures, radio_link_downs: s.radio.link_downs,
    radio_modem_errors: s.radio.modem_errors, radio_rx_dropped: s.radio.rx_dropped };
  const now = { "queue length": m.queue, "duty cycle this minute (%)": s.duty_cycle_percent,
    "airtime sent (s)": (m.tx_air_ms / 1000).toFixed(1), "airtime heard (s)": (m.rx_air_ms / 1000).toFixed(1),
    "last SNR (dB)": m.last_snr, "last RSSI (dBm)": m.last_rssi, "frames in": m.recv, "frames out": m.sent };
  main.replaceChildren(
    el("h2", { text: "Channel and radio" }),
    el("div", { class: "card" }, el("b", { text: "Radio: " }), el("span", { id: "radio-settings", text: s.radio_settings })),
    el("div", { class: "card" }, el("b", { text: "Airtime per minute " }),
      el("span", { class: "legend" }, el("span", { class: "tx", text: "sent" }), el("span", { class: "rx", text: "heard" })),
      bars(s.airtime_per_minute.tx, s.airtime_per_minute.rx)),
    el("div", { class: "card" }, el("b", { text: "Signal of recent packets" }), scatter(s.recent)),
    el("div", { class: "grid" },
      el("div", { class: "card" }, el("b", { text: "Packets by type" }), types),
      el("div", { class: "card" }, el("b", { text: "Now" }), kv(now)),
      el("div", { class: "card" }, el("b", { text: "Errors" }), kv(errors)),
      ...(s.fed ? [el("div", { class: "card", id: "fed" }, el("b", { text: "Federation" }), kv(s.fed))] : [])));
}

// ---- admin ----
function status(id) { return el("div", { class: "status", id: id }); }
function say(st, ok, text) { st.className = "status " + (ok ? "ok" : "err"); st.textContent = text; }
function adminForm(action, fields, button, onDone) {
  const st = status("st-" + action);
  const f = el("form", { class: "inline", id: "form-" + action, method: "post", action: "/api/v1/admin/" + action },
    el("input", { type: "hidden", name: "csrf", value: session.csrf }),
    el("input", { type: "hidden", name: "room", value: room }), ...fields,
    el("button", { type: "submit", text: button }));
  f.addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = await fetch(f.action, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(new FormData(f)) });
    const d = await r.json();
    say(st, r.ok && d.ok, d.reply || d.error || r.statusText);
    if (onDone) onDone(r.ok && d.ok);
  });
  return el("div", {}, f, st);
}
async function admin(rooms) {
  session = await getJSON("/api/v1/session");
  if (!session.admin || session.room !== room) {
    const st = status("login-status");
    const pw = el("input", { type: "password", id: "password", name: "password", autocomplete: "current-password" });
    const f = el("form", { class: "inline", id: "login-form" }, el("label", { text: "Admin password of " + (rooms[room] || {}).name + " " }), pw,
      el("button", { type: "submit", id: "login", text: "Log in" }));
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      const r = await fetch("/api/v1/login", { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ room: room, password: pw.value }) });
      const d = await r.json();
      if (r.ok) { location.reload(); return; }
      say(st, false, d.error || r.statusText);
    });
    main.replaceChildren(el("h2", { text: "Admin" }), el("div", { class: "card" }, f, st));
    return;
  }
  const sets = (await getJSON("/api/v1/settings?room=" + room)).settings;
  const t = el("table", { id: "settings" }, el("tr", {}, el("th", { text: "setting" }), el("th", { text: "value" }), el("th", { text: "help" })));
  for (const s of sets) {
    const input = el("input", { name: "value", value: s.value == null ? "" : s.value, "aria-label": s.key,
      type: s.secret ? "password" : "text", placeholder: s.secret ? "(not shown)" : "" });
    t.append(el("tr", { "data-key": s.key }, el("td", { text: s.key + (s.scope === "node" ? " (radio node)" : "") }),
      el("td", {}, adminForm("set", [el("input", { type: "hidden", name: "key", value: s.key }), input], "Save")),
      el("td", { class: "help", text: s.help + (s.range ? " (" + s.range + ")" : "") })));
  }
  const bans = el("pre", { id: "bans" });
  async function loadBans() {
    const r = await fetch("/api/v1/admin/bans?room=" + room, { credentials: "same-origin", headers: { "X-CSRF-Token": session.csrf } });
    const d = await r.json();
    bans.textContent = d.reply || d.error;
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
  main.replaceChildren(
    el("h2", { text: "Admin of " + (rooms[room] || {}).name }),
    el("div", { class: "card" }, el("b", { text: "Moderation" }),
      adminForm("post-delete", [el("input", { name: "id", placeholder: "post id (#)", size: 10 })], "Delete post"),
      adminForm("ban", [el("input", { name: "key", placeholder: "key or prefix (8+ hex)", size: 24 }),
        el("input", { name: "reason", placeholder: "reason", size: 24 })], "Ban", loadBans),
      adminForm("unban", [el("input", { name: "key", placeholder: "key or prefix", size: 24 })], "Unban", loadBans),
      el("b", { text: "Bans" }), bans),
    el("div", { class: "card" }, el("b", { text: "Rooms and backup" }),
      adminForm("room-add", [el("input", { name: "name", placeholder: "new room name", size: 24 })], "Add a room"),
      adminForm("backup", [el("input", { name: "path", size: 48, value: session.data_dir + "/backup-" + stamp + ".db" })], "Take a backup")),
    el("div", { class: "card" }, el("b", { text: "Settings" }),
      el("p", { class: "help", text: "Each change goes through the same 'set' command as the console and the radio." }), t),
    el("div", { class: "card" }, adminForm("logout", [], "Log out", () => location.reload())));
  loadBans();
}

(async function () {
  const rooms = await header();
  if (view === "members") await members(rooms);
  else if (view === "channel") { await channel(); setInterval(channel, 2000); }
  else if (view === "admin") await admin(rooms);
  else await board(rooms);
})();
