/* Tilsvar web chat widget: one <script src=".../widget/<key>.js" async></script> on a brand's page.
   Plain JavaScript, no framework, no requests to anyone but the Tilsvar server that served it.
   Every text is shown with textContent, never parsed as markup. Styles are set through the CSSOM in a
   shadow root, so neither the page's CSS nor its Content-Security-Policy for inline <style> interferes. */
(function () {
  "use strict";
  var config = /*TILSVAR_CONFIG*/ {};
  if (!config.key || window["tilsvarChat_" + config.key]) { return; }
  window["tilsvarChat_" + config.key] = true;

  var api = config.base + "/api/widget/" + encodeURIComponent(config.key) + "/messages";
  var storageKey = "tilsvar-chat-" + config.key;
  var token = null;
  try { token = window.localStorage.getItem(storageKey); } catch (e) { token = null; }
  if (!token || !/^[A-Za-z0-9_-]{32,128}$/.test(token)) {
    token = randomId(24);
    try { window.localStorage.setItem(storageKey, token); } catch (e) { /* private mode: per page */ }
  }
  var seen = {};
  var pollTimer = null;
  var open = false;

  function randomId(bytes) {
    var data = new Uint8Array(bytes);
    window.crypto.getRandomValues(data);
    var out = "";
    for (var i = 0; i < data.length; i++) { out += ("0" + data[i].toString(16)).slice(-2); }
    return out;
  }

  function el(tag, styles, attributes) {
    var node = document.createElement(tag);
    var name;
    for (name in styles || {}) { node.style.setProperty(name, styles[name]); }
    for (name in attributes || {}) { node.setAttribute(name, attributes[name]); }
    return node;
  }

  var host = el("div", { position: "fixed", right: "20px", bottom: "20px", "z-index": "2147483000" },
    { "data-tilsvar-chat": config.key });
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var font = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

  var button = el("button", {
    font: "600 15px " + font, color: "#fff", background: "#1f5f8b", border: "0",
    "border-radius": "24px", padding: "12px 18px", cursor: "pointer",
    "box-shadow": "0 2px 8px rgba(0,0,0,.25)"
  }, { type: "button", "aria-expanded": "false", part: "button" });
  button.textContent = config.title || "Chat with us";

  var panel = el("section", {
    display: "none", width: "320px", "max-width": "calc(100vw - 40px)", height: "420px",
    "max-height": "calc(100vh - 100px)", background: "#fff", color: "#1b1b1b", font: "14px/1.4 " + font,
    "border-radius": "12px", "box-shadow": "0 4px 24px rgba(0,0,0,.3)", "margin-bottom": "10px",
    "flex-direction": "column", overflow: "hidden"
  }, { role: "dialog", "aria-label": config.title || "Chat" });
  var header = el("header", { background: "#1f5f8b", color: "#fff", padding: "10px 14px", "font-weight": "600" });
  header.textContent = config.title || "Chat with us";
  var list = el("ol", {
    flex: "1", margin: "0", padding: "10px", "overflow-y": "auto", "list-style": "none",
    display: "flex", "flex-direction": "column", gap: "6px"
  }, { "aria-live": "polite", part: "messages" });
  var form = el("form", { display: "flex", "border-top": "1px solid #ddd", margin: "0" });
  var input = el("textarea", {
    flex: "1", border: "0", padding: "10px", font: "14px " + font, resize: "none", height: "44px"
  }, { "aria-label": "Message", maxlength: "2000", rows: "2", part: "input" });
  var send = el("button", {
    border: "0", background: "#1f5f8b", color: "#fff", padding: "0 14px", cursor: "pointer", font: "600 14px " + font
  }, { type: "submit", part: "send" });
  send.textContent = "Send";
  var status = el("div", { color: "#a40000", padding: "0 10px", "font-size": "12px" }, { role: "status" });
  form.appendChild(input);
  form.appendChild(send);
  panel.appendChild(header);
  panel.appendChild(list);
  panel.appendChild(status);
  panel.appendChild(form);
  root.appendChild(panel);
  root.appendChild(button);

  function show(message) {
    if (seen[message.id]) { return; }
    seen[message.id] = true;
    var mine = message.direction === "in";
    var item = el("li", {
      "align-self": mine ? "flex-end" : "flex-start", background: mine ? "#dcebf5" : "#f1f1f1",
      padding: "7px 10px", "border-radius": "10px", "max-width": "85%", "white-space": "pre-wrap",
      "overflow-wrap": "anywhere"
    }, { "data-direction": mine ? "customer" : "brand" });
    item.textContent = message.text;  // text only, never parsed as HTML: it is the customer's or an agent's
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
  }

  function request(method, url, body) {
    return window.fetch(url, {
      method: method,
      mode: "cors",
      credentials: "omit",
      headers: body ? { "Content-Type": "application/json", "X-Visitor-Token": token }
                    : { "X-Visitor-Token": token },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    });
  }

  function poll() {
    // The latest messages every time (a reply queued before the customer's last line may be sent
    // after it, so an "after id" cursor could skip it); show() ignores what is already shown.
    request("GET", api).then(function (data) {
      (data.messages || []).forEach(show);
      status.textContent = "";
    }).catch(function () {
      status.textContent = "Reconnecting…";
    }).then(function () {
      pollTimer = window.setTimeout(poll, open ? 2000 : 15000);
    });
  }

  button.addEventListener("click", function () {
    open = !open;
    panel.style.setProperty("display", open ? "flex" : "none");
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      input.focus();
      window.clearTimeout(pollTimer);
      poll();
    }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    send.disabled = true;
    request("POST", api, { text: text, client_id: randomId(12) }).then(function (data) {
      input.value = "";
      show({ id: data.id, direction: "in", text: text });
      status.textContent = "";
    }).catch(function () {
      status.textContent = "Your message could not be sent. Please try again.";
    }).then(function () { send.disabled = false; });
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : send.click();
    }
  });

  function start() { document.body.appendChild(host); poll(); }
  if (document.body) { start(); } else { document.addEventListener("DOMContentLoaded", start); }
}());
