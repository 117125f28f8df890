// Tilsvar web UI behaviour: live refresh over server-sent events, the reply character counter and
// inserting knowledge-base answers into the reply.
// Loaded as a file (strict CSP: no inline scripts); htmx does the rest declaratively.
(function () {
  "use strict";

  function debounce(fn, ms) {
    let timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  function refreshRows() {
    const rows = document.getElementById("inbox-rows");
    if (rows && window.htmx) window.htmx.trigger(rows, "refresh");
    const tabs = document.getElementById("inbox-tabs");  // the per-view counts
    if (tabs && window.htmx) window.htmx.trigger(tabs, "refresh");
  }
  const refreshRowsSoon = debounce(refreshRows, 250);

  // An event can arrive while a form inside the thread (hide, undo, reply) is still waiting for its
  // answer, which then replaces the thread with the state before the event; or just after that
  // answer was swapped in, before htmx has wired the new thread up ("htmx-added" until it settles),
  // when a "refresh" would go nowhere. Either way the thread is refreshed once it has settled.
  let threadStale = false;
  const BUSY = ["htmx-request", "htmx-added", "htmx-swapping", "htmx-settling"];
  function refreshThread() {
    const thread = document.getElementById("thread");
    if (!thread || !window.htmx) return;
    const busy = BUSY.some(function (name) { return thread.classList.contains(name); });
    if (busy || thread.querySelector(".htmx-request")) {
      threadStale = true;
      return;
    }
    threadStale = false;
    window.htmx.trigger(thread, "refresh");
  }
  document.addEventListener("htmx:afterSettle", function () {
    if (threadStale) refreshThread();
  });
  // Nor does a refresh (live or the 30-second one) replace the thread while somebody is typing a
  // reason into one of its forms: it would wipe what they typed. It follows once the form is sent.
  function typingIn(element) {
    return Array.from(element.querySelectorAll("input:not([type=hidden]), textarea")).some(
      function (field) { return field.value !== field.defaultValue; }
    );
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    const element = event.detail.elt;
    if (element && element.id === "thread" && typingIn(element)) {
      event.preventDefault();
      threadStale = true;
    }
  });

  function onEvent(event) {
    let data = {};
    try { data = JSON.parse(event.data); } catch (error) { data = {}; }
    refreshRowsSoon();
    const thread = document.getElementById("thread");
    if (thread && String(data.conversation_id) === thread.dataset.conversationId) refreshThread();
    document.body.dataset.lastEvent = event.type;
  }

  function connect() {
    if (!window.EventSource || document.body.dataset.live !== "on") return;
    const status = document.getElementById("live-status");
    const source = new EventSource("/events");
    ["message.received", "conversation.created", "conversation.updated", "reply.queued",
     "delivery.changed", "message.analyzed", "moderation.changed"].forEach(function (type) {
      source.addEventListener(type, onEvent);
    });
    source.onopen = function () { if (status) status.classList.add("on"); };
    source.onerror = function () { if (status) status.classList.remove("on"); };
  }

  function updateCounter(area) {
    const output = document.getElementById(area.dataset.counter);
    if (!output) return;
    const length = Array.from(area.value).length;
    const limit = Number(area.dataset.limit);
    output.textContent = length + " / " + limit;
    output.classList.toggle("over", length > limit);
  }

  document.addEventListener("input", function (event) {
    const target = event.target;
    if (target instanceof HTMLTextAreaElement && target.dataset.limit) updateCounter(target);
  });
  // "Insert answer" on a knowledge-base suggestion: the answer (already fitted to the channel by the
  // server) goes into the reply box; htmx records the use on the same click.
  document.addEventListener("click", function (event) {
    const button = event.target instanceof Element ? event.target.closest("[data-faq-answer]") : null;
    const area = document.getElementById("reply-text");
    if (!button || !area) return;
    const answer = button.getAttribute("data-faq-answer") || "";
    area.value = area.value.trim() ? area.value.replace(/\s+$/, "") + "\n\n" + answer : answer;
    updateCounter(area);
    area.focus();
  });
  document.addEventListener("htmx:load", function (event) {
    event.detail.elt.querySelectorAll("textarea[data-limit]").forEach(updateCounter);
  });
  // Emoji buttons insert their character at the caret of the reply box.
  document.addEventListener("click", function (event) {
    const button = event.target instanceof Element ? event.target.closest("button[data-emoji]") : null;
    if (!button) return;
    const area = document.getElementById("reply-text");
    if (!area) return;
    const start = area.selectionStart, end = area.selectionEnd;
    area.value = area.value.slice(0, start) + button.dataset.emoji + area.value.slice(end);
    area.selectionStart = area.selectionEnd = start + button.dataset.emoji.length;
    area.focus();
    updateCounter(area);
  });
  document.addEventListener("DOMContentLoaded", connect);
})();
