"use strict";
// Building DOM nodes: text always goes in as textContent, never as HTML.
window.RC = window.RC || {};

RC.el = function (tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
};

RC.clear = function (node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
};

RC.show = function (id, visible) {
  document.getElementById(id).hidden = !visible;
};

RC.fillTable = function (table, header, rows) {
  const head = table.querySelector("thead");
  if (header && head) {
    RC.clear(head).append(RC.el("tr", {}, ...header.map((h) => RC.el("th", {}, h))));
  }
  const body = RC.clear(table.querySelector("tbody"));
  for (const row of rows) {
    body.append(RC.el("tr", {}, ...row.map((cell) => RC.el("td", {}, cell))));
  }
};

RC.downloadCsv = function (name, header, rows) {
  const quote = (value) => {
    // A text a spreadsheet would take for a formula is kept as text.
    // Figures are passed as numbers, so a negative one is not touched.
    const text = (typeof value === "string" && /^[=+\-@\t\r]/.test(value) ? "'" : "") + String(value);
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  };
  const text = [header, ...rows].map((row) => row.map(quote).join(",")).join("\n") + "\n";
  const link = RC.el("a", { href: URL.createObjectURL(new Blob([text], { type: "text/csv" })), download: name });
  document.body.append(link);
  link.click();
  link.remove();
};

// A moment of the API (RFC 3339, UTC) in the browser's local time, minutes precision.
RC.when = function (stamp) {
  if (!stamp) return "";
  const moment = new Date(stamp);
  if (Number.isNaN(moment.getTime())) return stamp;
  const pad = (n) => String(n).padStart(2, "0");
  return moment.getFullYear() + "-" + pad(moment.getMonth() + 1) + "-" + pad(moment.getDate()) + " " +
    pad(moment.getHours()) + ":" + pad(moment.getMinutes());
};
