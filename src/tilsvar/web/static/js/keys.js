// Keyboard-first work: j/k move through a conversation list, o/Enter open, x select, r reply, n note,
// a assign, e resolve, h hide, / search, u back to the inbox, ? lists them all (a <dialog>).
// Keys are ignored while typing in a field (Esc leaves it) and when a modifier key is held.
(function () {
  "use strict";

  function rows() {
    return Array.from(document.querySelectorAll("[data-keyboard-list] tbody tr[data-conversation-id]"));
  }

  function currentRow() {
    return document.querySelector("[data-keyboard-list] tr.current");
  }

  function setCurrent(row) {
    rows().forEach(function (other) { other.classList.remove("current"); });
    if (!row) return;
    row.classList.add("current");
    sessionStorage.setItem("tilsvar-current", row.dataset.conversationId);
    var link = row.querySelector("td.message a");
    if (link) link.focus();
  }

  function move(step) {
    var list = rows();
    if (!list.length) return;
    var index = list.indexOf(currentRow());
    var next = index < 0 ? 0 : Math.min(Math.max(index + step, 0), list.length - 1);
    setCurrent(list[next]);
  }

  function open(row, then) {
    var link = row && row.querySelector("td.message a");
    if (!link) return;
    window.location.href = link.getAttribute("href") + (then ? "#" + then : "");
  }

  function bulk(buttonId, row) {
    var box = row && row.querySelector("input[type=checkbox][name=conversation_id]");
    var checked = document.querySelectorAll("input[name=conversation_id]:checked");
    if (!checked.length && box) box.checked = true;
    var button = document.getElementById(buttonId);
    if (button) button.click();
  }

  function focusField(selector) {
    var field = document.querySelector(selector);
    if (!field) return false;
    var details = field.closest("details");
    if (details) details.open = true;
    field.scrollIntoView({ block: "center" });
    field.focus();
    return true;
  }

  function clickStatus(value) {
    var input = document.querySelector("#workflow-panel input[name=status][value=" + value + "]");
    var button = input && input.form.querySelector("button[type=submit]");
    if (button) button.click();
  }

  function showShortcuts() {
    var dialog = document.getElementById("shortcuts");
    if (dialog && !dialog.open) dialog.showModal();
  }

  function inConversation() {
    return document.getElementById("thread") !== null;
  }

  var handlers = {
    j: function () { move(1); },
    k: function () { move(-1); },
    o: function () { open(currentRow()); },
    Enter: function () { open(currentRow()); },
    x: function () {
      var box = currentRow() && currentRow().querySelector("input[name=conversation_id]");
      if (box) box.checked = !box.checked;
    },
    r: function () {
      if (inConversation()) focusField("#reply-text"); else open(currentRow(), "reply");
    },
    n: function () {
      if (inConversation()) focusField("#note-text"); else open(currentRow(), "note");
    },
    a: function () {
      if (inConversation()) focusField("#workflow-panel select[name=assignee_id]");
      else bulk("bulk-assign", currentRow());
    },
    e: function () {
      if (inConversation()) clickStatus("resolved"); else bulk("bulk-resolve", currentRow());
    },
    h: function () {
      if (inConversation()) { focusField("#thread details.moderate input[name=reason]"); return; }
      var box = currentRow() && currentRow().querySelector("input[name=conversation_id]");
      if (box && !document.querySelectorAll("input[name=conversation_id]:checked").length) box.checked = true;
      focusField("#bulk-reason");
    },
    "/": function () {  // the page's own search box first, else the top bar's
      if (!focusField("#main input[type=search]")) focusField("#global-search");
    },
    u: function () { window.location.href = "/inbox"; },
    "?": showShortcuts,
  };

  function typing(target) {
    return target instanceof HTMLElement &&
      (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (event.key === "Escape" && typing(target)) { target.blur(); return; }
    if (typing(target)) {
      // Enter in the bulk bar's text fields applies their own action, not the form's first button.
      if (event.key === "Enter" && target.id === "bulk-reason") { event.preventDefault(); bulk("bulk-hide"); }
      if (event.key === "Enter" && target.id === "bulk-tag") { event.preventDefault(); bulk("bulk-tag-button"); }
      return;
    }
    if (document.querySelector("dialog[open]")) return;
    // Enter on a focused link or button keeps its normal meaning.
    if (event.key === "Enter" && target instanceof HTMLElement && target.closest("a, button, summary")) return;
    var handler = handlers[event.key];
    if (!handler) return;
    event.preventDefault();
    handler();
  });

  function restore() {
    var list = rows();
    if (!list.length) return;
    var remembered = sessionStorage.getItem("tilsvar-current");
    var row = list.find(function (r) { return r.dataset.conversationId === remembered; });
    if (row) row.classList.add("current");
  }

  document.addEventListener("DOMContentLoaded", function () {
    restore();
    var opener = document.getElementById("shortcuts-open");
    if (opener) opener.addEventListener("click", showShortcuts);
    if (window.location.hash === "#reply") focusField("#reply-text");
    if (window.location.hash === "#note") setTimeout(function () { focusField("#note-text"); }, 400);
  });
  // The list is re-rendered live: keep the current row marked.
  document.addEventListener("htmx:load", function (event) {
    if (event.detail.elt.id === "inbox-rows") restore();
    if (window.location.hash === "#note" && event.detail.elt.id === "workflow-panel") {
      focusField("#note-text");
      history.replaceState(null, "", window.location.pathname);
    }
  });
})();
