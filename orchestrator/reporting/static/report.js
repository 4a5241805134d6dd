/* pindah HTML report: renders the embedded report model (JSON). Every value from the model reaches the page
   through textContent or a canvas fillText, never as markup. No network access, no external library. */
(function () {
  "use strict";
  var t0 = performance.now();
  var R = JSON.parse(document.getElementById("pindah-data").textContent);
  var S = R.servers;
  var status = document.getElementById("pindah-status");
  var params = new URLSearchParams(location.hash.replace(/^#/, ""));

  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var k in attrs) {
        if (k === "text") node.textContent = attrs[k];
        else if (k === "cls") node.className = attrs[k];
        else node.setAttribute(k, attrs[k]);
      }
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return node;
  }
  function $(id) { return document.getElementById(id); }
  function num(v, digits) {
    if (v === null || v === undefined) return "unknown";
    return Number(v).toLocaleString("en-US", { maximumFractionDigits: digits === undefined ? 1 : digits });
  }
  function money(v) { return v === null || v === undefined ? "unknown" : R.costs.currency + " " + num(v, 0); }
  function table(headers, rows, numeric) {
    var head = el("tr");
    headers.forEach(function (h, i) { head.appendChild(el("th", { text: h, cls: numeric && numeric[i] ? "num" : "" })); });
    var body = el("tbody");
    rows.forEach(function (row) {
      var tr = el("tr");
      row.forEach(function (cell, i) {
        var td = el("td", { cls: numeric && numeric[i] ? "num" : "" });
        if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell === null || cell === undefined ? "" : String(cell);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    return el("table", null, el("thead", null, head), body);
  }

  /* ---------- header and estate overview ---------- */
  function renderMeta() {
    var parts = ["generated " + R.generated_at];
    if (R.plan_id) parts.push("plan " + R.plan_id + " (created " + R.plan_created_at + ")", "input digest " + R.input_digest);
    else parts.push("no plan yet: run 'pindah plan create'");
    $("meta").textContent = parts.join(" · ");
  }
  function card(value, label) { return el("div", { cls: "card" }, el("b", { text: value }), el("span", { text: label })); }
  function bars(title, counts, limit, eolNames) {
    var max = counts.length ? counts[0].servers : 1;
    var list = el("ul", { cls: "bars" });
    counts.slice(0, limit).forEach(function (c) {
      var bar = el("div", { cls: "bar" + (eolNames && eolNames.indexOf(c.name) >= 0 ? " eol" : "") });
      bar.style.width = Math.max(1, 100 * c.servers / max) + "%";
      list.appendChild(el("li", { title: c.name }, el("span", { cls: "name", text: c.name }), el("div", null, bar), el("span", { cls: "n", text: num(c.servers, 0) })));
    });
    var more = counts.length > limit ? el("p", { cls: "muted", text: (counts.length - limit) + " more not shown (see the JSON report)" }) : null;
    return el("div", null, el("h3", { text: title + " (" + counts.length + ")" }), list, more);
  }
  function renderOverview() {
    var E = R.estate;
    var known = E.servers - E.eol_unknown;
    var eolShare = known ? (100 * E.eol_servers / known).toFixed(1) + "%" : "unknown";
    var cards = $("cards");
    [[num(E.servers, 0), "servers"], [num(E.discovered, 0), "discovered (" + E.reachable + " reachable, " + E.unreachable + " unreachable)"],
     [num(E.imported, 0), "imported"], [eolShare, "end-of-life OS (" + E.eol_servers + " servers; OS unknown for " + E.eol_unknown + ")"],
     [String(R.waves.length), "waves"], [String(R.graph.nodes.length), "applications and shared services"],
     [money(R.costs.cloud_monthly), "cloud per month"]].forEach(function (c) { cards.appendChild(card(c[0], c[1])); });
    var grid = $("breakdowns");
    grid.appendChild(bars("Servers by OS (red: end-of-life)", E.by_os, 15, E.eol_os));
    grid.appendChild(bars("By site", E.by_site, 15));
    grid.appendChild(bars("By agency", E.by_agency, 15));
    grid.appendChild(bars("By application", E.by_application, 15));
  }

  /* ---------- dependency graph (canvas) ---------- */
  var G = R.graph, N = G.nodes;
  var canvas = $("graph"), ctx = canvas.getContext("2d");
  var view = { scale: 1, tx: 0, ty: 0 };
  var filt = { app: "", wave: "", site: "", shared: true };
  var expanded = {}, selected = -1, drawn = { nodes: 0, edges: 0, servers: 0 };
  var serverNode = new Array(S.length).fill(-1);
  N.forEach(function (n, i) { n.servers.forEach(function (s) { serverNode[s] = i; }); });
  var linksOf = null;
  var neighbours = N.map(function () { return []; });
  G.edges.forEach(function (e) { neighbours[e.source].push(e.target); neighbours[e.target].push(e.source); });
  var waveColour = {};
  R.waves.forEach(function (w) { waveColour[w.index] = w.risk; });

  function radius(n) { return 5 + Math.min(14, Math.sqrt(n.servers.length) * 2.5); }
  function matches(n) {
    if (filt.app && n.name.toLowerCase().indexOf(filt.app.toLowerCase()) < 0) return false;
    if (filt.wave && String(n.wave) !== filt.wave) return false;
    if (filt.site && n.site !== filt.site) return false;
    return true;
  }
  function visibility() { /* 2: matching, 1: neighbour of a match (context), 0: hidden */
    var vis = new Uint8Array(N.length), any = filt.app || filt.wave || filt.site;
    for (var i = 0; i < N.length; i++) vis[i] = !any || matches(N[i]) ? 2 : 0;
    if (any) for (i = 0; i < N.length; i++) if (vis[i] === 2) neighbours[i].forEach(function (j) { if (!vis[j]) vis[j] = 1; });
    return vis;
  }
  function serverPos(s) {
    var n = N[serverNode[s]], members = n.servers, k = members.indexOf(s);
    var ring = 24 + members.length * 5, a = 2 * Math.PI * k / members.length;
    return [n.x + ring * Math.cos(a), n.y + ring * Math.sin(a)];
  }
  function endpoint(s) { var n = serverNode[s]; return expanded[n] ? serverPos(s) : [N[n].x, N[n].y]; }
  function ensureLinks() {
    if (linksOf) return;
    linksOf = {};
    G.links.forEach(function (l, i) {
      (linksOf[l[0]] = linksOf[l[0]] || []).push(i);
      (linksOf[l[1]] = linksOf[l[1]] || []).push(i);
    });
  }
  function resize() {
    var dpr = window.devicePixelRatio || 1, w = canvas.clientWidth || 900, h = canvas.clientHeight || 560;
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
  }
  function fit(vis) {
    var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    N.forEach(function (n, i) { if (vis[i]) { x0 = Math.min(x0, n.x); y0 = Math.min(y0, n.y); x1 = Math.max(x1, n.x); y1 = Math.max(y1, n.y); } });
    if (x0 === Infinity) { x0 = y0 = 0; x1 = y1 = 1; }
    var w = canvas.clientWidth || 900, h = canvas.clientHeight || 560, pad = 50;
    view.scale = Math.min(2.5, (w - 2 * pad) / Math.max(1, x1 - x0), (h - 2 * pad) / Math.max(1, y1 - y0));
    view.tx = pad - x0 * view.scale + ((w - 2 * pad) - (x1 - x0) * view.scale) / 2;
    view.ty = pad + 14 - y0 * view.scale;
  }
  function line(a, b) { ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); }
  function drawEdges(vis) {
    var count = 0, sharedEdges = [], cross = [], same = [];
    G.edges.forEach(function (e) {
      if (!vis[e.source] || !vis[e.target] || expanded[e.source] || expanded[e.target]) return;
      var t = N[e.target], s = N[e.source];
      if (t.shared || s.shared) { if (filt.shared) sharedEdges.push(e); } else (e.cross_wave ? cross : same).push(e);
    });
    [[sharedEdges, "rgba(224,138,30,0.10)"], [same, "rgba(80,90,110,0.35)"], [cross, "rgba(200,66,59,0.45)"]].forEach(function (g) {
      ctx.beginPath(); ctx.strokeStyle = g[1]; ctx.lineWidth = 1 / view.scale;
      g[0].forEach(function (e) { line([N[e.source].x, N[e.source].y], [N[e.target].x, N[e.target].y]); });
      ctx.stroke(); count += g[0].length;
    });
    return count;
  }
  function drawExpanded(vis) {
    var count = 0, seen = {};
    ensureLinks();
    ctx.beginPath(); ctx.strokeStyle = "rgba(59,125,216,0.55)"; ctx.lineWidth = 1 / view.scale;
    Object.keys(expanded).forEach(function (k) {
      N[k].servers.forEach(function (s) {
        (linksOf[s] || []).forEach(function (i) {
          var l = G.links[i];
          if (seen[i] || !vis[serverNode[l[0]]] || !vis[serverNode[l[1]]]) return;
          seen[i] = 1; line(endpoint(l[0]), endpoint(l[1])); count++;
        });
      });
    });
    ctx.stroke();
    return count;
  }
  function drawNode(n, i, level, labels) {
    var r = radius(n);
    ctx.globalAlpha = level === 2 ? 1 : 0.35;
    ctx.fillStyle = n.shared ? "#e08a1e" : "#3b7dd8";
    ctx.beginPath();
    if (n.shared) { ctx.moveTo(n.x, n.y - r); ctx.lineTo(n.x + r, n.y); ctx.lineTo(n.x, n.y + r); ctx.lineTo(n.x - r, n.y); ctx.closePath(); }
    else ctx.arc(n.x, n.y, r, 0, 2 * Math.PI);
    ctx.fill();
    if (i === selected || expanded[i]) { ctx.lineWidth = 2.5 / view.scale; ctx.strokeStyle = "#1d2330"; ctx.stroke(); }
    if (labels || expanded[i]) {
      ctx.fillStyle = "#1d2330";
      if (expanded[i]) ctx.fillText(n.name, n.x - r, n.y - 30 - n.servers.length * 5);  /* above its server ring */
      else ctx.fillText(n.name, n.x + r + 2, n.y + 3);
    }
    ctx.globalAlpha = 1;
  }
  function drawServers(labels) {
    var count = 0;
    Object.keys(expanded).forEach(function (k) {
      N[k].servers.forEach(function (s) {
        var p = serverPos(s), row = S[s];
        ctx.fillStyle = row.state === "failed" ? "#c8423b" : row.eol ? "#9a6d00" : "#2e9d5b";
        ctx.fillRect(p[0] - 4, p[1] - 4, 8, 8); count++;
        if (labels) { ctx.fillStyle = "#1d2330"; ctx.fillText(row.name, p[0] + 6, p[1] + 3); }
      });
    });
    return count;
  }
  function drawWaveLabels(vis) {
    var cols = {};
    N.forEach(function (n, i) { if (vis[i]) { var c = cols[n.wave] = cols[n.wave] || [Infinity, -Infinity]; c[0] = Math.min(c[0], n.x); c[1] = Math.max(c[1], n.x); } });
    ctx.fillStyle = "#5d6778";
    ctx.font = (12 / view.scale) + "px system-ui, sans-serif";
    var last = -Infinity;
    Object.keys(cols).sort(function (a, b) { return cols[a][0] - cols[b][0]; }).forEach(function (w) {
      var x = (cols[w][0] + cols[w][1]) / 2 - 18 / view.scale;
      if ((x - last) * view.scale < 56) return;  /* no overlapping labels when zoomed out */
      ctx.fillText("wave " + w, x, (18 - view.ty) / view.scale); last = x;  /* pinned to the canvas top */
    });
  }
  function draw() {
    var dpr = window.devicePixelRatio || 1, vis = visibility();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(dpr * view.scale, 0, 0, dpr * view.scale, dpr * view.tx, dpr * view.ty);
    drawWaveLabels(vis);
    var edges = drawEdges(vis) + drawExpanded(vis), nodes = 0, shown = 0;
    for (var i = 0; i < N.length; i++) if (vis[i]) shown++;
    var labels = view.scale > 0.9 || shown < 60;
    ctx.font = (11 / Math.max(view.scale, 0.6)) + "px system-ui, sans-serif";
    N.forEach(function (n, i) { if (vis[i]) { drawNode(n, i, vis[i], labels); nodes++; } });
    drawn = { nodes: nodes, edges: edges, servers: drawServers(view.scale > 0.7) };
    $("graph-count").textContent = nodes + " of " + N.length + " nodes, " + edges + " links drawn";
    status.setAttribute("data-graph-drawn-nodes", nodes);
    status.setAttribute("data-graph-drawn-edges", edges);
    status.setAttribute("data-graph-drawn-servers", drawn.servers);
    status.setAttribute("data-graph-expanded", Object.keys(expanded).length);
  }
  var pending = false;
  function redraw() { if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; draw(); }); } }
  function world(ev) {
    var b = canvas.getBoundingClientRect();
    return [(ev.clientX - b.left - view.tx) / view.scale, (ev.clientY - b.top - view.ty) / view.scale];
  }
  function hit(p) {
    var vis = visibility(), best = -1, bestD = Infinity;
    N.forEach(function (n, i) {
      var d = Math.hypot(n.x - p[0], n.y - p[1]);
      if (vis[i] && d <= radius(n) + 3 / view.scale && d < bestD) { best = i; bestD = d; }
    });
    return best;
  }
  function info(i) {
    var box = $("graph-info"), n = N[i];
    box.textContent = "";
    box.appendChild(el("h3", { text: n.name }));
    box.appendChild(el("p", null, (n.shared ? "shared service" : "application") + " · wave " + n.wave + " · site " + (n.site || "unknown")));
    var rows = n.servers.map(function (s) { return [S[s].name, S[s].os || "unknown OS", S[s].state || ""]; });
    box.appendChild(table(["server", "os", "run state"], rows));
    box.appendChild(el("p", { cls: "muted", text: neighbours[i].length + " linked applications" }));
  }
  function toggle(i) {
    selected = i;
    if (expanded[i]) delete expanded[i]; else expanded[i] = true;
    info(i); redraw();
  }
  function initGraph() {
    var apps = $("apps-list"), waves = $("f-wave"), sites = $("f-site"), siteSet = {};
    N.forEach(function (n) { apps.appendChild(el("option", { value: n.name })); if (n.site) siteSet[n.site] = 1; });
    $("f-shared").checked = params.has("shared") ? params.get("shared") === "1" : N.length <= 200;
    filt.shared = $("f-shared").checked;
    R.waves.forEach(function (w) { waves.appendChild(el("option", { value: String(w.index), text: "wave " + w.index })); });
    Object.keys(siteSet).sort().forEach(function (s) { sites.appendChild(el("option", { value: s, text: s })); });
    function apply() {
      filt.app = $("f-app").value.trim(); filt.wave = waves.value; filt.site = sites.value; filt.shared = $("f-shared").checked;
      fit(visibility()); redraw();
    }
    ["f-app", "f-wave", "f-site", "f-shared"].forEach(function (id) { $(id).addEventListener("input", apply); $(id).addEventListener("change", apply); });
    $("f-reset").addEventListener("click", function () { $("f-app").value = ""; waves.value = ""; sites.value = ""; expanded = {}; apply(); });
    var drag = null, moved = false;
    canvas.addEventListener("mousedown", function (ev) { drag = [ev.clientX, ev.clientY, view.tx, view.ty]; moved = false; });
    window.addEventListener("mouseup", function (ev) {
      if (drag && !moved) { var i = hit(world(ev)); if (i >= 0) toggle(i); }
      drag = null;
    });
    window.addEventListener("mousemove", function (ev) {
      if (!drag) return;
      if (Math.abs(ev.clientX - drag[0]) + Math.abs(ev.clientY - drag[1]) > 3) moved = true;
      view.tx = drag[2] + ev.clientX - drag[0]; view.ty = drag[3] + ev.clientY - drag[1]; redraw();
    });
    canvas.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var b = canvas.getBoundingClientRect(), mx = ev.clientX - b.left, my = ev.clientY - b.top;
      var k = Math.exp(-ev.deltaY * 0.0015), s = Math.max(0.02, Math.min(8, view.scale * k));
      view.tx = mx - (mx - view.tx) * s / view.scale; view.ty = my - (my - view.ty) * s / view.scale; view.scale = s; redraw();
    }, { passive: false });
    window.addEventListener("resize", function () { resize(); redraw(); });
    $("f-app").value = params.get("app") || ""; waves.value = params.get("wave") || ""; sites.value = params.get("site") || "";
    filt.app = $("f-app").value; filt.wave = waves.value; filt.site = sites.value;
    params.getAll("expand").forEach(function (name) {
      N.forEach(function (n, i) { if (n.name === name) { expanded[i] = true; selected = i; info(i); } });
    });
    resize(); fit(visibility()); draw();
    status.setAttribute("data-graph-nodes", N.length);
    status.setAttribute("data-graph-edges", G.edges.length);
  }

  /* ---------- timeline (Gantt) ---------- */
  function renderTimeline() {
    var box = $("timeline"), W = R.waves;
    if (!W.length) { $("timeline-note").textContent = "No plan yet: nothing to schedule."; return 0; }
    var progress = {};
    if (R.runs) R.runs.waves.forEach(function (p) { progress[p.wave] = p; });
    var lo, hi, pos;
    if (R.dated) {
      lo = Math.min.apply(null, W.map(function (w) { return Date.parse(w.start); }));
      hi = Math.max.apply(null, W.map(function (w) { return Date.parse(w.end); }));
      hi = Math.max(hi, lo + 864e5);
      pos = function (w) { var a = Date.parse(w.start), b = Math.max(Date.parse(w.end), a + 864e5 / 2); return [(a - lo) / (hi - lo), (b - a) / (hi - lo)]; };
      $("timeline-note").textContent = "Dates from the plan: " + W[0].start + " to " + W[W.length - 1].end + ".";
    } else {
      pos = function (w, i) { return [i / W.length, 1 / W.length]; };
      $("timeline-note").textContent = "The plan has no dates: bars show the wave order. Colour: risk (green low, amber medium, red high); orange: shared services.";
    }
    var ticks = el("div", { cls: "ticks" }), steps = Math.min(8, W.length);
    for (var t = 0; t <= steps; t++) {
      var f = t / steps, label = R.dated ? new Date(lo + f * (hi - lo)).toISOString().slice(0, 10) : "wave " + (Math.min(W.length, Math.round(f * W.length) + 1));
      if (!R.dated && t === steps) continue;
      var tick = el("span", { text: label }); tick.style.left = (100 * f) + "%"; ticks.appendChild(tick);
    }
    box.appendChild(el("div", { cls: "taxis" }, el("span"), ticks));
    W.forEach(function (w, i) {
      var p = pos(w, i), lane = el("div", { cls: "lane" });
      var bar = el("div", { cls: "tbar " + (w.shared ? "shared" : "risk-" + w.risk), title: "wave " + w.index + ": " + w.servers.length + " servers, risk " + w.risk + (w.start ? ", " + w.start + " to " + w.end : "") }, String(w.servers.length));
      bar.style.left = (100 * p[0]) + "%"; bar.style.width = Math.max(0.6, 100 * p[1]) + "%";
      var pr = progress[w.index];
      if (pr) { var d = el("i", { cls: "done" }); d.style.width = (100 * pr.done / Math.max(1, pr.total)) + "%"; bar.appendChild(d); }
      lane.appendChild(bar);
      box.appendChild(el("div", { cls: "trow" }, el("span", { text: "wave " + w.index + (w.pilot ? " (pilot)" : "") }), lane));
    });
    return W.length;
  }

  /* ---------- waves ---------- */
  function progressCell(wave) {
    var p = R.runs && R.runs.waves.filter(function (x) { return x.wave === wave; })[0];
    return p ? p.done + "/" + p.total + " done" + (p.failed ? ", " + p.failed + " failed" : "") : "not run";
  }
  function serverTable(indexes) {
    return table(["server", "application", "site", "OS", "EOL", "vCPU", "memory MB", "disk GB", "strategy", "flavor", "cost/month", "run state"],
      indexes.map(function (i) {
        var s = S[i];
        return [s.name, s.application, s.site, s.os || "unknown", s.eol === null ? "unknown" : s.eol ? "yes" : "no", s.cpu_count === null ? "unknown" : s.cpu_count,
                s.memory_mb === null ? "unknown" : s.memory_mb, num(s.disk_gb), s.strategy, s.flavor || "", s.monthly_cost === null ? "" : num(s.monthly_cost, 0), s.state || ""];
      }), [0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0]);
  }
  function renderWaves() {
    if (!R.waves.length) { $("waves").textContent = "No plan yet."; return 0; }
    var rows = R.waves.map(function (w) {
      var risk = el("span", { cls: "risk " + w.risk, title: w.risk_reasons.join("; "), text: w.risk });
      return [w.index + (w.pilot ? " pilot" : w.shared ? " shared" : ""), w.start ? w.start + " to " + w.end : "not dated", w.zone || "",
              w.servers.length, w.applications.length, num(w.storage_gb), w.replication_hours === null ? "unknown" : num(w.replication_hours) + " h",
              risk, money(w.monthly_cost), progressCell(w.index)];
    });
    $("waves").appendChild(table(["wave", "dates", "zone", "servers", "applications", "storage GB", "replication", "risk", "cost/month", "progress"], rows,
      [0, 0, 0, 1, 1, 1, 1, 0, 1, 0]));
    var open = params.get("open");
    R.waves.forEach(function (w) {
      var d = el("details", { "data-wave": String(w.index) },
        el("summary", { text: "Wave " + w.index + ": " + w.servers.length + " servers, risk " + w.risk }));
      d.addEventListener("toggle", function () {
        if (!d.open || d.getAttribute("data-rendered")) return;
        d.setAttribute("data-rendered", "1");
        d.appendChild(el("p", { cls: "muted", text: w.reason }));
        d.appendChild(el("p", null, "Risk: " + w.risk_reasons.join("; ")));
        d.appendChild(el("p", { cls: "muted", text: "Replication: " + w.replication_basis + ". Cost: " + w.cost_basis + "." }));
        d.appendChild(serverTable(w.servers));
      });
      $("wave-details").appendChild(d);
      if (open === String(w.index)) d.open = true;
    });
    return R.waves.length;
  }

  /* ---------- sizing and cost ---------- */
  function renderCosts() {
    var C = R.costs, box = $("costs");
    box.appendChild(table(["", "monthly (" + C.currency + ")", "basis"], [
      ["on-premises", money(C.onprem_monthly), C.onprem_basis], ["cloud", money(C.cloud_monthly), C.cloud_basis]], [0, 1, 0]));
    box.appendChild(el("p", null, "Sizing: " + num(C.vcpu, 0) + " vCPU, " + num(C.memory_gb) + " GB memory, " + num(C.disk_gb) + " GB disk declared or discovered; " +
      C.unknown_size + " server(s) miss CPU, memory or disk; " + C.sized_servers + " sized to a flavor, " + C.unsized_servers + " without a fitting flavor."));
    if (C.by_month.length) {
      box.appendChild(el("h3", { text: "Cloud run-rate per month, as the waves move" }));
      box.appendChild(table(["month", "monthly (" + C.currency + ")"], C.by_month.map(function (m) { return [m[0], money(m[1])]; }), [0, 1]));
    }
    if (C.by_flavor.length) box.appendChild(bars("Servers by target flavor", C.by_flavor, 20));
  }

  /* ---------- blockers ---------- */
  function renderBlockers() {
    var B = R.blockers, box = $("blockers"), LIMIT = 200;
    if (!B.length) { box.textContent = "No readiness blockers found."; return; }
    var kinds = {};
    B.forEach(function (b) { kinds[b.kind] = (kinds[b.kind] || 0) + 1; });
    box.appendChild(el("p", null, Object.keys(kinds).sort().map(function (k) { return k + ": " + kinds[k]; }).join(" · ")));
    var holder = el("div");
    function show(n) {
      holder.textContent = "";
      holder.appendChild(table(["kind", "server / application", "wave", "detail"], B.slice(0, n).map(function (b) { return [b.kind, b.subject, b.wave, b.detail]; })));
      if (B.length > n) {
        var more = el("button", { type: "button", text: "Show all " + B.length });
        more.addEventListener("click", function () { show(B.length); });
        holder.appendChild(more);
      }
    }
    show(LIMIT);
    box.appendChild(holder);
  }

  /* ---------- runs ---------- */
  var STATE_COLOURS = { done: "#2e9d5b", failed: "#c8423b", pending: "#c9ced6" };
  function renderRuns() {
    var box = $("runs"), U = R.runs;
    if (!U) { box.textContent = "No runs yet for this plan."; return; }
    box.appendChild(el("p", null, U.done + " of " + U.total + " servers done; " + U.failed.length + " failed."));
    box.appendChild(table(["wave", "progress", "states"], U.waves.map(function (w) {
      var bar = el("div", { cls: "progress" });
      w.states.forEach(function (s) { var i = el("i", { title: s.name + ": " + s.servers }); i.style.width = (100 * s.servers / w.total) + "%"; i.style.background = STATE_COLOURS[s.name] || "#3b7dd8"; bar.appendChild(i); });
      return [w.wave, bar, w.states.map(function (s) { return s.name + " " + s.servers; }).join(", ")];
    })));
    if (U.failed.length) {
      box.appendChild(el("h3", { text: "Failed servers" }));
      box.appendChild(table(["server", "wave", "state", "phase", "last error"], U.failed.map(function (f) { return [f.server, f.wave, f.state, f.phase, f.error]; })));
    }
  }

  renderMeta();
  renderOverview();
  initGraph();
  var barCount = renderTimeline();
  var waveRows = renderWaves();
  renderCosts();
  renderBlockers();
  renderRuns();
  status.setAttribute("data-servers", S.length);
  status.setAttribute("data-timeline-bars", barCount);
  status.setAttribute("data-wave-rows", waveRows);
  status.setAttribute("data-blockers", R.blockers.length);
  status.setAttribute("data-render-ms", Math.round(performance.now() - t0));
  status.setAttribute("data-errors", window.pindahErrors.length);
  status.setAttribute("data-ready", "1");
  /* for tools and benchmarks: what was drawn, the view, and one synchronous redraw (returns its milliseconds) */
  window.pindahReport = { drawn: function () { return drawn; }, view: view,
                          redraw: function () { var t = performance.now(); draw(); return performance.now() - t; } };
})();
