// defines: web_page, as one raw string.
#include "ftmamba/serve/web_page.h"

namespace ftmamba::serve {

const std::string& web_page() {
  static const std::string page = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ftmamba recommendations</title>
<style>
  body { font-family: "DejaVu Sans", sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
  h1 { font-size: 1.5em; margin-bottom: 0.2em; }
  .version { color: #666; font-size: 0.85em; }
  fieldset { border: 1px solid #ccc; margin: 1em 0; padding: 0.8em 1em; }
  label { display: inline-block; min-width: 9em; }
  .feature label { min-width: 15em; }
  .feature { margin: 0.2em 0; }
  input, select, button { font: inherit; padding: 0.2em 0.4em; }
  button { margin-top: 0.6em; }
  .columns { display: flex; gap: 2em; align-items: flex-start; }
  .columns > section { flex: 1; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 0.2em 0.6em; border-bottom: 1px solid #eee; }
  td.score { font-family: "DejaVu Sans Mono", monospace; text-align: right; }
  .error { color: #a00; white-space: pre-wrap; }
  ul.history { max-height: 30em; overflow-y: auto; padding-left: 1.2em; }
</style>
</head>
<body>
<h1>ftmamba recommendations</h1>
<div class="version" id="version">loading&hellip;</div>
<form id="ask">
  <fieldset>
    <legend>Who</legend>
    <div><label><input type="radio" name="mode" value="known" checked> a known user</label>
      <select id="user"></select> <input id="user-typed" placeholder="or type an id" size="14"></div>
    <div><label><input type="radio" name="mode" value="new"> a new user</label> with these features:</div>
    <div id="features"></div>
  </fieldset>
  <label for="k">items</label> <input id="k" type="number" min="1" value="10" size="5">
  <label><input type="checkbox" id="exclude-seen" checked> leave out what the user has seen</label>
  <div><button type="submit" id="submit">Recommend</button></div>
</form>
<div class="error" id="error"></div>
<div class="columns">
  <section><h2>History</h2><div id="history-note"></div><ul class="history" id="history"></ul></section>
  <section><h2>Recommendations</h2><table id="recs" data-count="0"><thead><tr><th>#</th><th>item</th>
    <th>score</th></tr></thead><tbody></tbody></table></section>
</div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let info = null;

function text(tag, value) { const e = document.createElement(tag); e.textContent = value; return e; }

async function call(method, path, body) {
  const options = { method: method, headers: {} };
  if (body !== undefined) { options.headers["Content-Type"] = "application/json"; options.body = JSON.stringify(body); }
  const res = await fetch(path, options);
  const data = await res.json();
  if (!res.ok) throw new Error(data.error + (data.field ? " (field: " + data.field + ")" : ""));
  return data;
}

function featureInputs(features) {
  const box = $("features");
  for (const kind of ["numerical", "categorical", "multi_valued"]) {
    for (const name of features[kind]) {
      const row = document.createElement("div");
      row.className = "feature";
      const label = text("label", name);
      const input = document.createElement("input");
      input.dataset.feature = name;
      input.dataset.kind = kind;
      input.placeholder = kind === "numerical" ? "a number" : (kind === "multi_valued" ? "a|b|c" : "a value");
      row.append(label, input);
      box.append(row);
    }
  }
}

function showHistory(user) {
  const list = $("history");
  list.replaceChildren();
  $("history-note").textContent = "";
  if (!user) { $("history-note").textContent = "a new user: no history"; return; }
  call("GET", "/users/" + encodeURIComponent(user)).then((h) => {
    $("history-note").textContent = h.seen_count + " items";
    for (const item of h.history) list.append(text("li", item));
  }).catch((e) => { $("history-note").textContent = e.message; });
}

function showRecommendations(r) {
  const body = $("recs").tBodies[0];
  body.replaceChildren();
  for (const it of r.items) {
    const row = document.createElement("tr");
    const score = text("td", it.score.toFixed(4));
    score.className = "score";
    row.append(text("td", it.rank), text("td", it.item_id), score);
    body.append(row);
  }
  $("recs").dataset.count = r.items.length;
  $("version").textContent = "model " + r.model_version + ", index " + r.index + (r.cold_start ? ", new user" : "");
}

async function ask(event) {
  if (event) event.preventDefault();
  $("error").textContent = "";
  const known = document.querySelector("input[name=mode]:checked").value === "known";
  const request = { k: Number($("k").value), exclude_seen: $("exclude-seen").checked };
  let user = null;
  if (known) {
    user = $("user-typed").value.trim() || $("user").value;
    request.user_id = user;
  } else {
    request.features = {};
    for (const input of document.querySelectorAll("#features input")) {
      if (input.value.trim() === "") continue;
      request.features[input.dataset.feature] = input.dataset.kind === "numerical" ? input.value.trim() : input.value;
    }
  }
  try {
    const r = await call("POST", "/recommend", request);
    showRecommendations(r);
    showHistory(r.cold_start ? null : user);
  } catch (e) {
    $("error").textContent = e.message;
    $("recs").dataset.count = 0;
  }
}

async function start() {
  try {
    info = await call("GET", "/info");
  } catch (e) { $("error").textContent = "cannot read /info: " + e.message; return; }
  $("version").textContent = "model " + info.model_version + ", index " + info.index + ", " + info.items +
      " items, " + info.users + " users";
  for (const id of info.user_sample) { const o = text("option", id); o.value = id; $("user").append(o); }
  featureInputs(info.user_features);
  $("ask").addEventListener("submit", ask);
  const params = new URLSearchParams(location.search);
  if (params.get("k")) $("k").value = params.get("k");
  if (params.get("user")) { $("user-typed").value = params.get("user"); await ask(null); }
}
start();
</script>
</body>
</html>
)HTML";
  return page;
}

}  // namespace ftmamba::serve
