/* Tilsvar web chat widget: one <script src=".../widget/<key>.js" async></script> on a brand's page.
   Plain JavaScript, no framework, no requests to anyone but the Tilsvar server that served it.
   Every text is shown with textContent, never parsed as markup. Styles are set through the CSSOM in a
   shadow root, so neither the page's CSS nor its Content-Security-Policy for inline <style> interferes. */
(function () {
  "use strict";
  var config = /*TILSVAR_CONFIG*/ {};
  if (!config.key || window["tilsvarChat_" + config.key]) { return; }
  window["tilsvarChat_" + config.key] = true;

  var base = config.base + "/api/widget/" + encodeURIComponent(config.key);
  var api = base + "/messages";
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
  // FAQ articles for what the visitor is typing: a short list above the input, and one article
  // read in place (opening one is counted; not writing afterwards is a deflected contact).
  var faq = el("div", {
    display: "none", "border-top": "1px solid #ddd", padding: "6px 10px", background: "#f7fafc",
    "max-height": "45%", "overflow-y": "auto"
  }, { part: "faq", "aria-live": "polite", "data-tilsvar-faq": "" });
  var faqLabel = el("div", { "font-size": "12px", color: "#555", "margin-bottom": "4px" });
  faqLabel.textContent = "Maybe this answers your question:";
  var faqList = el("ul", { margin: "0", padding: "0", "list-style": "none" });
  var reader = el("article", { display: "none" }, { "data-tilsvar-article": "" });
  var readerTitle = el("h2", { font: "600 14px " + font, margin: "0 0 4px" });
  var readerBody = el("div", { "white-space": "pre-wrap", "overflow-wrap": "anywhere", "font-size": "13px" });
  var readerLink = el("a", { display: "none", "font-size": "13px", color: "#1f5f8b" },
    { target: "_blank", rel: "noopener noreferrer" });
  readerLink.textContent = "Read more";
  var back = el("button", {
    border: "0", background: "none", color: "#1f5f8b", padding: "4px 0", cursor: "pointer", font: "13px " + font
  }, { type: "button" });
  back.textContent = "Back";
  reader.appendChild(readerTitle);
  reader.appendChild(readerBody);
  reader.appendChild(readerLink);
  reader.appendChild(el("br"));
  reader.appendChild(back);
  faq.appendChild(faqLabel);
  faq.appendChild(faqList);
  faq.appendChild(reader);
  form.appendChild(input);
  form.appendChild(send);
  panel.appendChild(header);
  panel.appendChild(list);
  panel.appendChild(faq);
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
    (message.attachments || []).forEach(function (file) {
      // A file the agent attached: a download link to our own server only, its name as text.
      if (typeof file.url !== "string" || file.url.indexOf(config.base + "/files/") !== 0) { return; }
      var link = el("a", { display: "block", "text-decoration": "underline" },
                    { href: file.url, rel: "noopener noreferrer", target: "_blank", download: "" });
      link.textContent = "📎 " + String(file.filename || "file");
      item.appendChild(link);
    });
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

  var faqTimer = null;
  var settledTimer = null;
  var faqAsked = "";
  var faqSequence = 0;
  var language = (document.documentElement.getAttribute("lang") || "").slice(0, 16);

  function hideFaq() {
    faqSequence++;
    faqAsked = "";
    faq.style.setProperty("display", "none");
    reader.style.setProperty("display", "none");
    while (faqList.firstChild) { faqList.removeChild(faqList.firstChild); }
  }

  function showSuggestions(items) {
    while (faqList.firstChild) { faqList.removeChild(faqList.firstChild); }
    reader.style.setProperty("display", "none");
    faqLabel.style.setProperty("display", "block");
    faqList.style.setProperty("display", "block");
    items.forEach(function (item) {
      var entry = el("li", { margin: "2px 0" });
      var pick = el("button", {
        border: "0", background: "none", color: "#1f5f8b", padding: "2px 0", cursor: "pointer",
        "text-align": "left", font: "13px " + font, "text-decoration": "underline"
      }, { type: "button", title: item.snippet || "" });
      pick.textContent = item.title;
      pick.addEventListener("click", function () { openArticle(item.article_id); });
      entry.appendChild(pick);
      faqList.appendChild(entry);
    });
    faq.style.setProperty("display", items.length ? "block" : "none");
  }

  function openArticle(articleId) {
    request("POST", base + "/faq/" + encodeURIComponent(articleId) + "/open", {}).then(function (article) {
      faqLabel.style.setProperty("display", "none");
      faqList.style.setProperty("display", "none");
      readerTitle.textContent = article.title;
      readerBody.textContent = article.body;  // plain text from the server, never parsed as HTML
      if (article.url && /^[a-z]+:\/\//i.test(article.url)) {
        readerLink.setAttribute("href", article.url);
        readerLink.style.setProperty("display", "inline");
      } else {
        readerLink.style.setProperty("display", "none");
      }
      reader.style.setProperty("display", "block");
      faq.style.setProperty("display", "block");
    }).catch(function () { /* the chat still works without the article */ });
  }

  // Two asks per pause in typing: at once (lexical, fast) and, when the pause lasts, "settled"
  // (ranked with sentence vectors on the server; slower, more accurate).
  function askFaq(settled) {
    var text = input.value.trim();
    if (text.length < 3) { hideFaq(); return; }
    var asking = (settled ? "settled:" : "keystroke:") + text;
    if (asking === faqAsked) { return; }
    faqAsked = asking;
    var mine = ++faqSequence;
    var url = base + "/faq?q=" + encodeURIComponent(text.slice(0, 500)) +
      (language ? "&language=" + encodeURIComponent(language) : "") +
      (settled ? "&mode=settled" : "");
    request("GET", url).then(function (data) {
      if (mine === faqSequence) { showSuggestions(data.suggestions || []); }
    }).catch(function () { /* suggestions are a help, not a must */ });
  }

  back.addEventListener("click", function () {
    reader.style.setProperty("display", "none");
    faqLabel.style.setProperty("display", "block");
    faqList.style.setProperty("display", "block");
    input.focus();
  });

  input.addEventListener("input", function () {
    window.clearTimeout(faqTimer);
    window.clearTimeout(settledTimer);
    faqTimer = window.setTimeout(function () { askFaq(false); }, 200);  // on a pause, not every key
    settledTimer = window.setTimeout(function () { askFaq(true); }, 600);
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    send.disabled = true;
    request("POST", api, { text: text, client_id: randomId(12) }).then(function (data) {
      input.value = "";
      hideFaq();
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
