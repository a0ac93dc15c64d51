// Bulwark console: plain JavaScript served by `bulwark serve`, no third-party code. Every
// value from the server is put into the page as text (textContent), never as HTML.
"use strict";

const state = { csrf: null, nodes: [], principals: [], policies: [], scps: [], editing: null, validateSeq: 0, decisionsTimer: null };
const $ = (id) => document.getElementById(id);

/** An element with attributes (`class`, `data-*`, event handlers `on…`) and children (text or nodes). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function say(message, isError = false) {
  const status = $("status");
  status.textContent = message || "";
  status.className = isError ? "error" : "";
}

/** A call to this server: JSON both ways, the CSRF token on every write, 401 back to sign-in. */
async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const response = await fetch(path, { method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (_) { json = null; }
  if (response.status === 401 && !path.startsWith("/console/api/login")) {
    signedOut();
    throw new Error("signed out: sign in again");
  }
  if (!response.ok) {
    const message = json && json.error ? json.error.message : `${method} ${path}: HTTP ${response.status}`;
    throw new Error(message);
  }
  return json;
}

// MARK: Sign-in

async function start() {
  $("login-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);
  wireEditor();
  wireSimulator();
  wireCompare();
  wireDecisions();
  $("new-draft").addEventListener("click", () => openDraft());
  try {
    const session = await api("GET", "/console/api/session");
    if (session.signedIn) { state.csrf = session.csrf; signedIn(); } else { signedOut(); }
  } catch (error) { say(error.message, true); signedOut(); }
}

async function signIn(event) {
  event.preventDefault();
  const input = $("login-token");
  try {
    const session = await api("POST", "/console/api/login", { token: input.value });
    input.value = "";
    state.csrf = session.csrf;
    say("");
    signedIn();
  } catch (error) { say(error.message, true); input.select(); }
}

async function signOut() {
  try { await api("POST", "/console/api/logout", {}); } catch (_) { /* signed out either way */ }
  signedOut();
  say("Signed out.");
}

function signedIn() {
  $("nav").hidden = false;
  $("sign-out").hidden = false;
  if (!location.hash || location.hash === "#/login") location.hash = "#/org"; else route();
}

function signedOut() {
  state.csrf = null;
  $("nav").hidden = true;
  $("sign-out").hidden = true;
  show("login");
  $("login-token").focus();
}

// MARK: Views

function show(name) {
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== `view-${name}`;
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.view === name);
  if (state.decisionsTimer) { clearInterval(state.decisionsTimer); state.decisionsTimer = null; }
}

async function route() {
  if (!state.csrf) return signedOut();
  const name = (location.hash.replace(/^#\//, "") || "org").split("/")[0];
  const views = { org: loadOrganization, policies: loadPolicies, simulate: loadSimulator, compare: loadCompare, decisions: loadDecisions };
  const load = views[name] || views.org;
  show(views[name] ? name : "org");
  try { await load(); } catch (error) { say(error.message, true); }
}

// MARK: Organization

async function loadOrganization() {
  const [org, principals] = await Promise.all([api("GET", "/v1/organization"), api("GET", "/v1/principals")]);
  state.nodes = org.nodes;
  state.principals = principals.principals;
  const tree = $("org-tree");
  tree.replaceChildren();
  const children = (parent) => state.nodes.filter((n) => n.parent === parent).sort((a, b) => a.name.localeCompare(b.name));
  const render = (node) => h("li", {},
    h("span", { class: "kind" }, node.kind),
    h("button", { type: "button", class: "link", "data-testid": "org-node", "data-kind": node.kind, onclick: () => selectNode(node) }, node.name),
    node.scps.map((scp) => h("span", { class: "badge", title: "SCP attached here" }, scp)),
    children(node.name).length ? h("ul", {}, children(node.name).map(render)) : null);
  for (const root of state.nodes.filter((n) => n.parent === null)) tree.append(render(root));
  const first = state.nodes.find((n) => n.kind === "account");
  if (first && !$("principal-list").children.length) selectNode(first);
}

function selectNode(node) {
  for (const button of document.querySelectorAll("#org-tree button")) button.classList.toggle("selected", button.textContent === node.name);
  const list = $("principal-list");
  list.replaceChildren();
  if (node.kind !== "account") {
    $("principals-title").textContent = `${node.kind === "root" ? "Root" : "OU"} ${node.name}`;
    list.append(h("li", { class: "hint" }, `SCPs: ${node.scps.join(", ") || "none"}. Pick an account for its principals.`));
    return;
  }
  $("principals-title").textContent = `Principals of ${node.name} (${node.id})`;
  const mine = state.principals.filter((p) => p.account === node.id || p.account === node.name);
  if (!mine.length) list.append(h("li", { class: "hint" }, "No principals."));
  for (const p of mine) {
    if (p.kind === "group") {
      list.append(h("li", {}, h("span", { class: "kind" }, "group"), p.name));
    } else {
      list.append(h("li", {}, h("span", { class: "kind" }, p.kind),
        h("button", { type: "button", class: "link", "data-testid": "principal", onclick: () => showAccess(p.urn) }, p.name)));
    }
  }
}

async function showAccess(urn) {
  const box = $("principal-access");
  box.replaceChildren(h("p", { class: "hint" }, `Loading ${urn}…`));
  const access = await api("GET", `/console/api/access?principal=${encodeURIComponent(urn)}`);
  box.replaceChildren(h("h3", {}, access.principal), accessTable(access.actions));
  if (access.agencies.length) {
    box.append(h("h3", {}, "Through agencies it can assume"));
    for (const reach of access.agencies) {
      box.append(h("h4", {}, `via ${reach.chain.join(" → ")}${reach.conditional ? " (only under some conditions)" : ""}`), accessTable(reach.actions));
    }
  }
}

/** Actions grouped by service, then by access level, with resources and conditions. */
function accessTable(actions) {
  if (!actions.length) return h("p", { class: "hint" }, "No access.");
  const services = {};
  for (const a of actions) {
    const service = a.action.split(":")[0];
    ((services[service] ||= {})[a.accessLevel] ||= []).push(a);
  }
  const out = h("div", {});
  for (const service of Object.keys(services).sort()) {
    out.append(h("h4", {}, service));
    for (const level of Object.keys(services[service]).sort()) {
      const rows = services[service][level].map((a) => h("tr", {},
        h("td", { class: "mono" }, a.action),
        h("td", {}, a.grants.map((g) => g.resources.join(", ")).join("; ")),
        h("td", {}, a.grants.flatMap((g) => g.conditions).join("; ") || "—"),
        h("td", {}, a.exceptions.length ? `${a.exceptions.length} deny exception(s)` : "")));
      out.append(h("div", { class: "access-level" }, h("strong", {}, level),
        h("table", { class: "table" }, h("tr", {}, h("th", {}, "Action"), h("th", {}, "Resources"), h("th", {}, "Conditions"), h("th", {}, "")), rows)));
    }
  }
  return out;
}

// MARK: Policies and the editor

async function loadPolicies() {
  const [policies, scps, principals] = await Promise.all([api("GET", "/v1/policies"), api("GET", "/v1/scps"), api("GET", "/v1/principals")]);
  state.policies = policies.policies;
  state.scps = scps.scps;
  state.principals = principals.principals;
  const list = (id, items, open) => $(id).replaceChildren(...items.map((item) => h("li", {},
    h("button", { type: "button", class: "link", "data-testid": "policy-item", onclick: () => open(item) }, item.label))));
  list("policy-list", state.policies.map((p) => ({ label: `${p.id} (${p.account}, ${p.defaultVersion})`, p })), (i) => openPolicy(i.p.id));
  list("scp-list", state.scps.filter((s) => s.id !== "FullAccess").map((s) => ({ label: s.id, s })), (i) => openSCP(i.s.id));
  list("trust-list", state.principals.filter((p) => p.kind === "agency").map((p) => ({ label: p.urn, p })), (i) => openTrust(i.p.urn));
  if (!state.editing) openDraft();
}

function pretty(document) { return typeof document === "string" ? document : JSON.stringify(document, null, 2); }

function setEditor(title, type, text, editing) {
  state.editing = editing;
  $("editor-title").textContent = title;
  $("policy-type").value = type;
  $("policy-type").disabled = editing !== null;
  $("policy-editor").value = text;
  $("policy-save").disabled = editing === null;
  $("versions").replaceChildren();
  validateNow();
}

function openDraft() {
  setEditor("Draft (validated, not saved)", $("policy-type").value || "identity",
    '{\n  "Version": "5.0",\n  "Statement": [\n    {\n      "Effect": "Allow",\n      "Action": ["ims:images:get"],\n      "Resource": ["*"]\n    }\n  ]\n}\n', null);
}

async function openPolicy(id) {
  const policy = await api("GET", `/v1/policies/${encodeURIComponent(id)}`);
  setEditor(`Identity policy ${id} (${policy.account})`, "identity", pretty(policy.document), { kind: "policy", id });
  await showVersions(id);
}

async function showVersions(id) {
  const versions = await api("GET", `/v1/policies/${encodeURIComponent(id)}/versions`);
  $("versions").replaceChildren(...versions.versions.map((v) => h("li", { "data-testid": "version" },
    h("span", { class: "mono" }, v.id), ` ${v.createdAt}${v.isDefault ? " (default)" : ""} `,
    h("button", { type: "button", class: "link", onclick: () => viewVersion(id, v.id) }, "open"),
    v.isDefault ? null : h("button", { type: "button", class: "link", "data-testid": "set-default", onclick: () => setDefault(id, v.id) }, "make default (roll back)"))));
}

async function viewVersion(id, version) {
  const v = await api("GET", `/v1/policies/${encodeURIComponent(id)}/versions/${encodeURIComponent(version)}`);
  $("policy-editor").value = pretty(v.document);
  validateNow();
  say(`Showing ${id} ${version}; saving makes it a new version.`);
}

async function setDefault(id, version) {
  await api("PUT", `/v1/policies/${encodeURIComponent(id)}/default-version`, { version });
  say(`${id}: ${version} is the default.`);
  await showVersions(id);
}

async function openSCP(id) {
  const scp = await api("GET", `/v1/scps/${encodeURIComponent(id)}`);
  setEditor(`SCP ${id}`, "scp", pretty(scp.document), { kind: "scp", id });
}

function openTrust(urn) {
  const agency = state.principals.find((p) => p.urn === urn);
  setEditor(`Trust policy of ${urn}`, "trust", agency.trustPolicy ? pretty(agency.trustPolicy) : "", { kind: "trust", urn, agency });
}

async function save() {
  const text = $("policy-editor").value;
  const e = state.editing;
  if (!e) return;
  try {
    if (e.kind === "policy") {
      const answer = await api("POST", `/v1/policies/${encodeURIComponent(e.id)}/versions`, { document: text, setAsDefault: $("set-default").checked });
      say(`Saved ${e.id} as a new version${$("set-default").checked ? ", now the default" : ""}.`);
      await showVersions(e.id);
      return answer;
    }
    if (e.kind === "scp") {
      await api("PUT", `/v1/scps/${encodeURIComponent(e.id)}`, { document: text });
      say(`Saved SCP ${e.id}.`);
    }
    if (e.kind === "trust") {
      await api("PUT", `/v1/principals/${encodeURIComponent(e.urn)}/settings`,
        { tags: e.agency.tags || {}, trustPolicy: text, maxSessionDuration: e.agency.maxSessionDuration ?? undefined });
      say(`Saved the trust policy of ${e.urn}.`);
    }
  } catch (error) { say(error.message, true); }
}

function wireEditor() {
  const editor = $("policy-editor");
  let timer = null;
  editor.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(validateNow, 60); });
  editor.addEventListener("scroll", () => { $("gutter").scrollTop = editor.scrollTop; });
  $("policy-type").addEventListener("change", validateNow);
  $("policy-save").addEventListener("click", save);
}

/** Validates the editor's text on the server; only the newest answer is shown. */
async function validateNow() {
  const text = $("policy-editor").value;
  const seq = ++state.validateSeq;
  const started = performance.now();
  let report;
  try { report = await api("POST", "/v1/validate", { policy: text, type: $("policy-type").value }); } catch (error) { say(error.message, true); return; }
  if (seq !== state.validateSeq) return;
  const ms = performance.now() - started;
  $("validate-time").textContent = `validated in ${ms.toFixed(0)} ms`;
  $("validate-time").dataset.ms = ms.toFixed(1);
  showFindings(text, report.findings);
}

const severityRank = { error: 4, security_warning: 3, warning: 2, suggestion: 1 };

function showFindings(text, findings) {
  const list = $("findings");
  list.replaceChildren(...findings.map((f) => h("li", { "data-testid": "finding", "data-line": f.line, "data-column": f.column, "data-code": f.code },
    h("span", { class: `sev ${f.severity}`, "data-testid": "finding-severity" }, f.severity),
    h("span", { class: "code", "data-testid": "finding-code" }, f.code),
    h("button", { type: "button", class: "link pos", "data-testid": "finding-position", onclick: () => jumpTo(f.line, f.column) }, `line ${f.line}, column ${f.column}`),
    h("span", {}, f.message))));
  if (!findings.length) list.append(h("li", { class: "hint", "data-testid": "no-findings" }, "No findings."));
  // The gutter marks each line with its worst finding.
  const worst = {};
  for (const f of findings) if (!worst[f.line] || severityRank[f.severity] > severityRank[worst[f.line].severity]) worst[f.line] = f;
  const lines = text.split("\n").length;
  const gutter = $("gutter");
  gutter.replaceChildren();
  for (let n = 1; n <= lines; n++) {
    const f = worst[n];
    gutter.append(h("span", { class: f ? f.severity : null, title: f ? `${f.code}: ${f.message}` : null, "data-testid": f ? "gutter-mark" : null }, String(n)));
  }
  gutter.scrollTop = $("policy-editor").scrollTop;
}

/** Puts the caret at a finding's line and column (columns count characters, as the validator does). */
function jumpTo(line, column) {
  const editor = $("policy-editor");
  const lines = editor.value.split("\n");
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  const target = lines[line - 1] || "";
  offset += Array.from(target).slice(0, Math.max(0, column - 1)).join("").length;
  editor.focus();
  editor.setSelectionRange(offset, offset);
}

// MARK: Simulator

async function loadSimulator() {
  const principals = await api("GET", "/v1/principals");
  state.principals = principals.principals;
  $("principal-urns").replaceChildren(...state.principals.filter((p) => p.kind !== "group").map((p) => h("option", { value: p.urn })));
}

function wireSimulator() {
  $("simulate-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try { await simulate(); } catch (error) { say(error.message, true); }
  });
}

function context() {
  const out = {};
  for (const line of $("simulate-context").value.split("\n")) {
    const at = line.indexOf("=");
    if (at < 1) continue;
    const key = line.slice(0, at).trim();
    const value = line.slice(at + 1).trim();
    if (key in out) out[key] = [].concat(out[key], value); else out[key] = value;
  }
  return out;
}

async function simulate() {
  const principal = $("simulate-principal").value.trim();
  const pasted = $("simulate-policies").value.trim();
  const apiCall = $("simulate-api").value.trim().split(/\s+/).filter(Boolean);
  const request = { action: $("simulate-action").value.trim(), resource: $("simulate-resource").value.trim() || "*", context: context() };
  let answer;
  if (!principal && pasted) {
    answer = await api("POST", "/v1/authorize?explain", { identityPolicies: [{ id: "pasted", document: pasted }], request });
    answer = answer.results ? answer.results[0] : answer;
  } else if (apiCall.length === 3) {
    answer = await api("POST", "/v1/simulate", { principal, apiRequest: { service: apiCall[0], method: apiCall[1], path: apiCall[2] } });
  } else {
    answer = await api("POST", "/v1/simulate", { principal, request });
  }
  say("");
  showDecision(answer);
}

function showDecision(answer) {
  const box = $("decision");
  const checks = answer.checks || [];
  const reason = answer.reason || (checks.find((c) => c.decision === answer.decision) || {}).reason || "";
  box.replaceChildren(h("span", { class: answer.decision, "data-testid": "decision-value" }, answer.decision), " — ",
    h("span", { "data-testid": "decision-reason" }, reason));
  const table = $("explanation");
  table.replaceChildren();
  if (checks.length) {
    table.append(h("tr", {}, h("th", {}, "Action"), h("th", {}, "Resource"), h("th", {}, "Decision"), h("th", {}, "Reason"), h("th", {}, "Required by")));
    for (const c of checks) table.append(h("tr", {}, h("td", { class: "mono" }, c.action), h("td", {}, c.resource), h("td", { class: c.decision }, c.decision), h("td", {}, c.reason), h("td", {}, c.requiredBy || "")));
    return;
  }
  const key = (s) => `${s.policy}#${s.statement}@${s.scpLevel}`;
  const determining = new Set((answer.matched || []).map(key));
  table.append(h("tr", {}, h("th", {}, "Policy"), h("th", {}, "Statement"), h("th", {}, "Effect"), h("th", {}, "SCP level"), h("th", {}, "Matched"), h("th", {}, "Why not")));
  for (const s of answer.explanation || []) {
    table.append(h("tr", { class: determining.has(key(s)) ? "determining" : null, "data-testid": determining.has(key(s)) ? "determining" : "statement" },
      h("td", {}, s.policy), h("td", {}, `${s.statement}${s.sid ? ` (${s.sid})` : ""}`), h("td", { class: s.effect === "Deny" ? "deny" : "allow" }, s.effect),
      h("td", {}, s.scpLevel === null || s.scpLevel === undefined ? "identity" : s.scpLevel),
      h("td", {}, s.matched ? "yes" : "no"), h("td", {}, s.failure ? `${s.failure.reason} (line ${s.failure.line}, column ${s.failure.column})` : "")));
  }
}

// MARK: Compare

async function loadCompare() {
  const [policies, scps] = await Promise.all([api("GET", "/v1/policies"), api("GET", "/v1/scps")]);
  const options = [h("option", { value: "" }, "— paste or pick —")];
  for (const p of policies.policies) for (const v of p.versions) options.push(h("option", { value: `policy:${p.id}:${v}` }, `${p.id} ${v}${v === p.defaultVersion ? " (default)" : ""}`));
  for (const s of scps.scps) options.push(h("option", { value: `scp:${s.id}` }, `SCP ${s.id}`));
  for (const id of ["compare-old-pick", "compare-new-pick"]) $(id).replaceChildren(...options.map((o) => o.cloneNode(true)));
}

function wireCompare() {
  const pick = (select, target) => $(select).addEventListener("change", async () => {
    const [kind, id, version] = $(select).value.split(":");
    try {
      if (kind === "policy") {
        $(target).value = pretty((await api("GET", `/v1/policies/${encodeURIComponent(id)}/versions/${encodeURIComponent(version)}`)).document);
        $("compare-type").value = "identity";
      } else if (kind === "scp") {
        $(target).value = pretty((await api("GET", `/v1/scps/${encodeURIComponent(id)}`)).document);
        $("compare-type").value = "scp";
      }
    } catch (error) { say(error.message, true); }
  });
  pick("compare-old-pick", "compare-old");
  pick("compare-new-pick", "compare-new");
  $("compare-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const diff = await api("POST", "/console/api/diff", { old: $("compare-old").value, new: $("compare-new").value, type: $("compare-type").value });
      say("");
      showDiff(diff);
    } catch (error) { say(error.message, true); }
  });
}

function showDiff(diff) {
  $("compare-verdict").textContent = `${diff.result}: ${diff.added.length} region(s) only the new one allows, ${diff.removed.length} only the old one allows`;
  const region = (r, side) => h("li", { class: `region ${side}`, "data-testid": "diff-region", "data-side": side },
    h("strong", {}, side === "added" ? "+ allowed only by the new one: " : "− allowed only by the old one: "),
    h("span", { class: "mono" }, r.actions.join(", ")), h("div", {}, `resource: ${r.resource}`),
    r.conditions.length ? h("div", {}, `when: ${r.conditions.join("; ")}`) : null,
    h("div", { class: "hint" }, `example: ${r.example.action} on ${r.example.resource}${Object.keys(r.example.context || {}).length ? " with " + JSON.stringify(r.example.context) : ""}`));
  $("diff").replaceChildren(...diff.added.map((r) => region(r, "added")), ...diff.removed.map((r) => region(r, "removed")),
    ...(diff.undecided || []).map((u) => h("li", { class: "hint" }, `undecided: ${u.action} (${u.reason})`)));
}

// MARK: Decisions

async function loadDecisions() {
  await refreshDecisions();
  state.decisionsTimer = setInterval(() => refreshDecisions().catch(() => {}), 3000);
}

function wireDecisions() {
  for (const id of ["filter-principal", "filter-action", "filter-outcome"]) $(id).addEventListener("input", () => refreshDecisions().catch((e) => say(e.message, true)));
  $("decision-filter").addEventListener("submit", (event) => event.preventDefault());
}

async function refreshDecisions() {
  // Percent-encoded (not form-encoded): the server reads + as a plus, as everywhere else.
  const query = Object.entries({ principal: $("filter-principal").value, action: $("filter-action").value, outcome: $("filter-outcome").value, limit: "200" })
    .map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join("&");
  const answer = await api("GET", `/console/api/decisions?${query}`);
  const table = $("decision-log");
  table.replaceChildren(h("tr", {}, ["Time", "Principal", "Action", "Resource", "Decision", "Reason", "Endpoint"].map((t) => h("th", {}, t))));
  for (const d of answer.decisions) {
    table.append(h("tr", { "data-testid": "decision-row" }, h("td", {}, d.time), h("td", {}, d.principal || "(inline policies)"), h("td", { class: "mono" }, d.action),
      h("td", {}, d.resource), h("td", { class: d.decision }, d.decision), h("td", {}, d.reason), h("td", {}, d.endpoint)));
  }
  if (!answer.decisions.length) table.append(h("tr", {}, h("td", { colspan: 7, class: "hint" }, "No decisions yet (or none match).")));
}

document.addEventListener("DOMContentLoaded", start);
