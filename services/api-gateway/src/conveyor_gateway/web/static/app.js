// Conveyor dashboard: live refresh from the event stream, the log viewer, keyboard navigation.
// Hand-written, no build step. Text from the server is only ever inserted with textContent.
"use strict";
(function () {
  const root = document.body.dataset.root || "/ui/";
  const live = document.body.dataset.live || "";

  // ---- live updates: re-render #live from the server when an event arrives ------------------
  const JOB_EVENTS = ["job.submitted", "job.queued", "job.cancel_requested", "job.cancelled", "job.assigned",
    "job.started", "job.succeeded", "job.failed", "job.retry_scheduled", "job.released", "job.timed_out",
    "job.blocked", "job.dependencies_set", "job.pause_requested", "job.resume_requested", "job.start_requested",
    "job.reset_requested", "job.delete_requested", "job.task_reported", "job.rolled_up", "job.edited"];
  let pending = null;
  let lastRefresh = 0;
  function refresh() {
    pending = null;
    lastRefresh = Date.now();
    fetch(location.href, { credentials: "same-origin", headers: { "X-Conveyor-Refresh": "1" } })
      .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
      .then((html) => {
        const doc = new DOMParser().parseFromString(html, "text/html");
        const fresh = doc.getElementById("live");
        const current = document.getElementById("live");
        if (!fresh || !current) return;
        const checked = new Set([...current.querySelectorAll("input[name=id]:checked")].map((i) => i.value));
        const before = new Map([...current.querySelectorAll("tr[data-id]")].map((tr) => [tr.dataset.id, tr.textContent]));
        current.replaceWith(fresh);
        fresh.querySelectorAll("input[name=id]").forEach((i) => { i.checked = checked.has(i.value); });
        fresh.querySelectorAll("tr[data-id]").forEach((tr) => {
          if (before.get(tr.dataset.id) !== tr.textContent) tr.classList.add("changed");
        });
        bindRows();
      })
      .catch(() => {});
  }
  function schedule() {
    if (pending) return;
    const wait = Math.max(300, 1000 - (Date.now() - lastRefresh));
    pending = setTimeout(refresh, wait);
  }
  if (live) {
    const query = live.startsWith("job:") ? "?job=" + encodeURIComponent(live.slice(4)) : "";
    const source = new EventSource(root + "api/events/stream" + query);
    const dot = document.getElementById("live-dot");
    source.onopen = () => dot && dot.classList.add("on");
    source.onerror = () => dot && dot.classList.remove("on");
    JOB_EVENTS.forEach((t) => source.addEventListener(t, schedule));
    source.onmessage = schedule;
    if (live === "all") setInterval(schedule, 15000); // worker heartbeats are not events
    window.addEventListener("pagehide", () => source.close());
  }

  // ---- ANSI SGR -> spans with classes (no inline style under the CSP) ---------------------------
  const sgr = { b: false, i: false, u: false, f: -1, g: -1 };
  function applySgr(codes) {
    const list = codes === "" ? [0] : codes.split(";").map((c) => parseInt(c, 10) || 0);
    for (let k = 0; k < list.length; k++) {
      const c = list[k];
      if (c === 0) { sgr.b = sgr.i = sgr.u = false; sgr.f = sgr.g = -1; }
      else if (c === 1) sgr.b = true; else if (c === 3) sgr.i = true; else if (c === 4) sgr.u = true;
      else if (c === 22) sgr.b = false; else if (c === 23) sgr.i = false; else if (c === 24) sgr.u = false;
      else if (c >= 30 && c <= 37) sgr.f = c - 30; else if (c >= 90 && c <= 97) sgr.f = c - 90;
      else if (c === 39) sgr.f = -1;
      else if (c >= 40 && c <= 47) sgr.g = c - 40; else if (c >= 100 && c <= 107) sgr.g = c - 100;
      else if (c === 49) sgr.g = -1;
      else if (c === 38 || c === 48) k += list[k + 1] === 5 ? 2 : 4; // 256/true colour: skipped
    }
  }
  function sgrClass() {
    const parts = [];
    if (sgr.b) parts.push("a-b"); if (sgr.i) parts.push("a-i"); if (sgr.u) parts.push("a-u");
    if (sgr.f >= 0) parts.push("a-f" + sgr.f); if (sgr.g >= 0) parts.push("a-b" + sgr.g);
    return parts.join(" ");
  }
  const ESC = /\x1b\[([0-9;]*)([A-Za-z])/g;
  function segments(text) {
    const out = [];
    let last = 0;
    let m;
    ESC.lastIndex = 0;
    while ((m = ESC.exec(text))) {
      if (m.index > last) out.push([text.slice(last, m.index), sgrClass()]);
      if (m[2] === "m") applySgr(m[1]);
      last = ESC.lastIndex;
    }
    if (last < text.length) out.push([text.slice(last), sgrClass()]);
    return out;
  }

  // ---- the log viewer: the tail first, earlier pieces on demand, then live -------------------
  const logBox = document.getElementById("log");
  if (logBox) {
    const job = logBox.dataset.job;
    const pre = document.getElementById("log-text");
    const status = document.getElementById("log-status");
    const follow = document.getElementById("log-follow");
    const search = document.getElementById("log-search");
    const hits = document.getElementById("log-hits");
    const TAIL = 256 * 1024;
    const KEEP = 4 * 1024 * 1024; // characters kept in the page; older ones are dropped (load again)
    let start = 0, end = 0, text = "";
    const url = root + "api/jobs/" + job + "/log";
    const say = (s) => { status.textContent = s; };
    function render() {
      pre.textContent = "";
      const q = search.value;
      if (q) {
        const lines = text.split("\n").filter((l) => l.toLowerCase().includes(q.toLowerCase()));
        hits.textContent = lines.length + " matching line" + (lines.length === 1 ? "" : "s");
        for (const line of lines) {
          const plain = line.replace(ESC, "");
          const at = plain.toLowerCase().indexOf(q.toLowerCase());
          pre.append(plain.slice(0, at));
          const mark = document.createElement("mark");
          mark.textContent = plain.slice(at, at + q.length);
          pre.append(mark, plain.slice(at + q.length) + "\n");
        }
        return;
      }
      hits.textContent = "";
      sgr.b = sgr.i = sgr.u = false; sgr.f = sgr.g = -1;
      append(text, false);
    }
    function append(piece, keep) {
      if (keep) {
        text += piece;
        if (text.length > KEEP) { start += text.length - KEEP; text = text.slice(-KEEP); return render(); }
        if (search.value) return render();
      }
      const frag = document.createDocumentFragment();
      for (const [s, cls] of segments(piece)) {
        if (!cls) { frag.append(s); continue; }
        const span = document.createElement("span");
        span.className = cls;
        span.textContent = s;
        frag.append(span);
      }
      pre.append(frag);
      if (follow.checked) pre.scrollTop = pre.scrollHeight;
    }
    function range(from, to) {
      return fetch(url, { credentials: "same-origin", headers: { Range: "bytes=" + from + "-" + to } });
    }
    function sizeOf(r) {
      const m = /\/(\d+)$/.exec(r.headers.get("Content-Range") || "");
      return m ? parseInt(m[1], 10) : 0;
    }
    function tailFirst() {
      return fetch(url, { credentials: "same-origin", headers: { Range: "bytes=-" + TAIL } }).then((r) => {
        if (r.status === 416) return "";
        if (!r.ok) throw new Error("log: " + r.status);
        end = r.status === 206 ? sizeOf(r) : parseInt(r.headers.get("Content-Length") || "0", 10);
        return r.text();
      }).then((body) => {
        const bytes = new TextEncoder().encode(body).length;
        start = Math.max(0, end - bytes);
        text = "";
        append(body, true);
        say(start > 0 ? "showing the last " + Math.round((end - start) / 1024) + " KiB of " + Math.round(end / 1024) + " KiB" : "");
      });
    }
    document.getElementById("log-earlier").addEventListener("click", () => {
      if (start <= 0) return say("this is the beginning of the log");
      const from = Math.max(0, start - TAIL);
      range(from, start - 1).then((r) => r.text()).then((body) => {
        text = body + text;
        start = from;
        render();
        say(start > 0 ? "from byte " + start : "the whole log");
      });
    });
    search.addEventListener("input", render);
    function followLive() {
      const source = new EventSource(url + "/stream?offset=" + end);
      source.onmessage = (e) => {
        const piece = JSON.parse(e.data);
        if (piece.offset < end) return; // already shown
        end = piece.offset + new TextEncoder().encode(piece.text).length;
        append(piece.text, true);
      };
      source.addEventListener("end", (e) => {
        const info = JSON.parse(e.data);
        say("the job ended: " + info.state.replace("_", " ") + (info.truncated ? " (log truncated)" : ""));
        logBox.dataset.ended = info.state;
        source.close();
      });
    }
    tailFirst().then(followLive).catch((err) => say(String(err)));
  }

  // ---- tables, selection and keys ------------------------------------------------------------
  let cursor = -1;
  function rows() { return [...document.querySelectorAll("tr[data-href]")]; }
  function bindRows() {
    const all = document.getElementById("select-all");
    if (all) all.addEventListener("change", () => {
      document.querySelectorAll("#jobs-table input[name=id]").forEach((i) => { i.checked = all.checked; });
    });
  }
  bindRows();
  function move(by) {
    const list = rows();
    if (!list.length) return;
    if (list[cursor]) list[cursor].classList.remove("cursor");
    cursor = Math.min(list.length - 1, Math.max(0, cursor + by));
    list[cursor].classList.add("cursor");
    list[cursor].scrollIntoView({ block: "nearest" });
  }
  const sections = { o: "overview", j: "jobs", w: "workers", p: "projects", h: "hooks" };
  let prefix = false;
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if (t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement) {
      if (e.key === "Escape") t.blur();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (prefix) { prefix = false; if (sections[e.key]) location.href = root + sections[e.key]; return; }
    const list = rows();
    if (e.key === "/") { const f = document.getElementById("filter-text") || document.getElementById("log-search"); if (f) { e.preventDefault(); f.focus(); } }
    else if (e.key === "j") move(1);
    else if (e.key === "k") move(-1);
    else if (e.key === "Enter" && list[cursor]) location.href = list[cursor].dataset.href;
    else if (e.key === "x" && list[cursor]) { const box = list[cursor].querySelector("input[type=checkbox]"); if (box) box.checked = !box.checked; }
    else if (e.key === "g") prefix = true;
  });
})();
