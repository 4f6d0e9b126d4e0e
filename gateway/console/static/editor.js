"use strict";
// A YAML text editor: a textarea over a highlighted copy of its text, with line numbers
// that can be marked (validation errors and warnings at their line).
window.RC = window.RC || {};

RC.Editor = class {
  constructor(container) {
    this.gutter = RC.el("div", { class: "gutter", "aria-hidden": "true" });
    this.highlight = RC.el("pre", { class: "highlight", "aria-hidden": "true" });
    this.text = RC.el("textarea", { id: "source", spellcheck: "false", wrap: "off", "aria-label": "rule set YAML" });
    container.append(this.gutter, RC.el("div", { class: "stack" }, this.highlight, this.text));
    this.marks = new Map();
    this.onEdit = null; // called after each edit by the user (validation as you type)
    this.text.addEventListener("input", () => {
      this.render();
      if (this.onEdit) this.onEdit();
    });
    this.text.addEventListener("scroll", () => {
      this.highlight.scrollTop = this.gutter.scrollTop = this.text.scrollTop;
      this.highlight.scrollLeft = this.text.scrollLeft;
    });
  }

  get value() {
    return this.text.value;
  }

  set value(source) {
    this.text.value = source;
    this.marks.clear();
    this.render();
  }

  // marks: [{line, severity: "error" | "warning", message}]; several on a line are
  // merged (an error outweighs a warning).
  mark(marks) {
    this.marks = new Map();
    for (const m of marks) {
      const seen = this.marks.get(m.line);
      if (!seen) this.marks.set(m.line, { ...m });
      else {
        seen.message += "\n" + m.message;
        if (m.severity === "error") seen.severity = "error";
      }
    }
    this.render();
  }

  // Scrolls so that the line is in view, a few lines from the top.
  reveal(line) {
    const height = parseFloat(getComputedStyle(this.text).lineHeight) || 20;
    this.text.scrollTop = Math.max(0, (line - 4) * height);
    this.text.dispatchEvent(new Event("scroll"));
  }

  render() {
    const lines = this.text.value.split("\n");
    RC.clear(this.gutter);
    RC.clear(this.highlight);
    lines.forEach((line, index) => {
      const number = index + 1;
      const mark = this.marks.get(number);
      const gutterLine = RC.el("div", { "data-line": String(number) }, String(number));
      const codeLine = RC.el("div", { "data-line": String(number) }, ...RC.highlightYaml(line));
      if (mark) {
        for (const node of [gutterLine, codeLine]) node.classList.add("mark-" + mark.severity);
        gutterLine.title = mark.message;
      }
      this.gutter.append(gutterLine);
      this.highlight.append(codeLine);
    });
  }
};

// One line of YAML as spans: comments, keys, quoted strings, numbers and the rest.
RC.highlightYaml = function (line) {
  const parts = [];
  const span = (kind, text) => parts.push(RC.el("span", { class: "y-" + kind }, text));
  let rest = line;
  const comment = rest.search(/(^|\s)#/);
  let tail = "";
  if (comment >= 0 && !/["']/.test(rest.slice(0, comment))) {
    tail = rest.slice(comment);
    rest = rest.slice(0, comment);
  }
  const key = /^(\s*(?:-\s+)?)([\w.-]+)(:)(\s|$)/.exec(rest);
  if (key) {
    parts.push(document.createTextNode(key[1]));
    span("key", key[2]);
    parts.push(document.createTextNode(":"));
    rest = rest.slice(key[1].length + key[2].length + 1);
  }
  for (const token of rest.split(/("[^"]*"|'[^']*'|\b-?\d+(?:\.\d+)?\b)/)) {
    if (!token) continue;
    if (/^["']/.test(token)) span("string", token);
    else if (/^-?\d/.test(token)) span("number", token);
    else parts.push(document.createTextNode(token));
  }
  if (tail) span("comment", tail);
  return parts;
};
