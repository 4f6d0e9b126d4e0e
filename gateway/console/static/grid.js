"use strict";
// A decision table (`table:` with one-line rows `- {id: ..., column: value}`) shown and
// edited as a grid: each cell edit rewrites its row's line in the YAML text.
window.RC = window.RC || {};

RC.grid = {
  rows: [], // {line (1-based), number (1-based row of the table), indent, cells: Map column -> text, comment}

  // "a: 1, b: \">= 2\"" -> [["a", "1"], ["b", ">= 2"]], respecting quotes.
  pairs(inner) {
    const parts = [];
    let current = "", quote = "";
    for (const ch of inner) {
      if (quote) {
        current += ch;
        if (ch === quote) quote = "";
      } else if (ch === '"' || ch === "'") {
        quote = ch;
        current += ch;
      } else if (ch === ",") {
        parts.push(current);
        current = "";
      } else current += ch;
    }
    if (current.trim()) parts.push(current);
    return parts.map((part) => {
      const at = part.indexOf(":");
      return [part.slice(0, at).trim(), RC.grid.unquote(part.slice(at + 1).trim())];
    });
  },

  unquote(text) {
    if (/^".*"$/.test(text)) {
      try {
        return JSON.parse(text);
      } catch (error) {
        return text.slice(1, -1);
      }
    }
    if (/^'.*'$/.test(text)) return text.slice(1, -1).replace(/''/g, "'");
    return text;
  },

  quote(text) {
    return /^(-?\d+(\.\d+)?|[A-Za-z_][\w.-]*)$/.test(text) ? text : JSON.stringify(text);
  },

  // The table of the text: its condition columns and its one-line rows, each with its
  // number among all the rows (as the validator counts them: a row written over several
  // lines counts, though the grid does not show it).
  read(source) {
    const lines = source.split("\n");
    const start = lines.findIndex((line) => /^table:\s*(#.*)?$/.test(line));
    if (start < 0) return null;
    let conditions = [];
    const rows = [];
    let itemIndent = null; // the indent of the items of `rows:`
    let number = 0;
    for (let i = start + 1; i < lines.length; i++) {
      const line = lines[i];
      if (/^\S/.test(line)) break; // the next top-level key
      const listed = /^\s+conditions:\s*\[(.*)\]/.exec(line);
      if (listed) conditions = listed[1].split(",").map((c) => c.trim()).filter(Boolean);
      if (/^\s+rows:\s*(#.*)?$/.test(line)) itemIndent = "";
      const item = /^(\s*)- /.exec(line);
      if (item && itemIndent !== null && (itemIndent === "" || item[1] === itemIndent)) {
        itemIndent = item[1];
        number++;
      }
      const row = /^(\s*)- \{(.*)\}(\s*#.*)?$/.exec(line);
      if (row) rows.push({ line: i + 1, number, indent: row[1], cells: new Map(this.pairs(row[2])), comment: row[3] || "" });
    }
    return { conditions, rows };
  },

  columns(table) {
    const columns = ["id", "priority", ...table.conditions];
    for (const row of table.rows) for (const key of row.cells.keys()) if (!columns.includes(key)) columns.push(key);
    return columns;
  },

  lineOf(row, columns) {
    const cells = columns.filter((c) => (row.cells.get(c) || "") !== "").map((c) => c + ": " + this.quote(row.cells.get(c)));
    return row.indent + "- {" + cells.join(", ") + "}" + row.comment;
  },

  // The columns of the grid a diagnostic is about, as the validator names them (a cell's
  // column; a gap's condition columns); none when it is about the whole row.
  columnsOf(diagnostic, columns) {
    return (diagnostic.table_columns || []).filter((c) => columns.includes(c));
  },

  // The grid row a diagnostic is marked at: the row the validator names; a problem of
  // the table itself (a gap) at the row of its line (the first row); another problem on
  // a row's line (a YAML error) at that row.
  rowOf(diagnostic, rows) {
    if (diagnostic.table_row) return rows.find((r) => r.number === diagnostic.table_row) || null;
    return (diagnostic.line && rows.find((r) => r.line === diagnostic.line)) || null;
  },

  // The cell that has the focus (and what is typed in it), to be given back after the
  // grid is drawn again.
  focused() {
    const input = document.activeElement;
    if (!input || !input.matches("#grid input[data-column]")) return null;
    const tr = input.closest("tr[data-row]");
    return { row: tr.dataset.row, column: input.dataset.column, value: input.value,
      start: input.selectionStart, end: input.selectionEnd };
  },

  refocus(kept) {
    if (!kept) return;
    const tr = document.querySelector("#grid tr[data-row='" + kept.row + "']");
    const input = tr && [...tr.querySelectorAll("input[data-column]")].find((i) => i.dataset.column === kept.column);
    if (!input) return;
    input.value = kept.value;
    input.focus();
    try {
      input.setSelectionRange(kept.start, kept.end);
    } catch (error) {
      // not a text input
    }
  },

  // Changes the lines of the text, shows the grid again and validates (the marks of the
  // old lines no longer apply).
  edit(change) {
    const lines = RC.editor.value.split("\n");
    change(lines);
    RC.editor.value = lines.join("\n");
    RC.rules.diagnostics = [];
    this.show();
    RC.rules.scheduleValidation();
  },

  copyRow(table, row, columns) {
    const taken = new Set(table.rows.map((r) => r.cells.get("id")));
    let id = row.cells.get("id") + "_copy";
    for (let n = 2; taken.has(id); n++) id = row.cells.get("id") + "_copy" + n;
    const copy = { ...row, cells: new Map(row.cells), comment: "" };
    copy.cells.set("id", id);
    this.edit((lines) => lines.splice(row.line, 0, this.lineOf(copy, columns)));
  },

  show() {
    const kept = this.focused();
    const container = RC.clear(document.getElementById("grid"));
    const table = this.read(RC.editor.value);
    if (!table || !table.rows.length) {
      container.append(RC.el("p", {}, "This draft has no decision table with one-line rows."));
      return;
    }
    const columns = this.columns(table);
    const severity = (d) => (d.severity === "ERROR" ? "error" : "warning");
    const byRow = new Map(); // grid row -> [diagnostics]
    for (const d of RC.rules.diagnostics || []) {
      const row = this.rowOf(d, table.rows);
      if (!row) continue;
      if (!byRow.has(row)) byRow.set(row, []);
      byRow.get(row).push(d);
    }
    const warnings = RC.el("ul", { class: "grid-diagnostics" });
    const head = RC.el("tr", {}, RC.el("th", {}, "line"),
      ...columns.map((c) => RC.el("th", { class: table.conditions.includes(c) ? "condition" : "" }, c)),
      RC.el("th", {}, "row"));
    const body = RC.el("tbody");
    for (const row of table.rows) {
      const tr = RC.el("tr", { "data-line": String(row.line), "data-row": String(row.number) },
        RC.el("td", {}, String(row.line)));
      const cells = new Map(); // column -> [diagnostics]
      for (const d of byRow.get(row) || []) {
        const at = this.columnsOf(d, columns);
        if (!at.length) {
          tr.classList.add("mark-" + severity(d));
          tr.title = (tr.title ? tr.title + "\n" : "") + d.message;
        }
        for (const column of at) {
          if (!cells.has(column)) cells.set(column, []);
          cells.get(column).push(d);
        }
        const where = d.table_row ? "row " + d.table_row + ", line " + row.line : "table, line " + row.line;
        warnings.append(RC.el("li", { class: severity(d), "data-line": String(row.line) },
          where + (at.length ? " (" + at.join(", ") + ")" : "") + ": " + d.message));
      }
      for (const column of columns) {
        const input = RC.el("input", { "data-column": column, size: "10", value: row.cells.get(column) || "" });
        const td = RC.el("td", {}, input);
        const marks = cells.get(column);
        if (marks) {
          td.classList.add("mark-" + (marks.some((d) => d.severity === "ERROR") ? "error" : "warning"));
          input.title = marks.map((d) => d.message).join("\n");
        }
        input.addEventListener("change", () => {
          row.cells.set(column, input.value.trim());
          const lines = RC.editor.value.split("\n");
          lines[row.line - 1] = this.lineOf(row, columns);
          const kept = [...RC.editor.marks.values()];
          RC.editor.value = lines.join("\n");
          RC.editor.mark(kept);
          RC.rules.scheduleValidation();
        });
        tr.append(td);
      }
      const copy = RC.el("button", { type: "button", class: "copy-row", title: "a copy of this row below it" }, "copy");
      copy.addEventListener("click", () => this.copyRow(table, row, columns));
      const remove = RC.el("button", { type: "button", class: "remove-row", title: "remove this row" }, "remove");
      remove.addEventListener("click", () => this.edit((lines) => lines.splice(row.line - 1, 1)));
      tr.append(RC.el("td", { class: "row-actions" }, copy, " ", remove));
      body.append(tr);
    }
    if (warnings.childElementCount) container.append(warnings);
    container.append(RC.el("table", { class: "grid" }, RC.el("thead", {}, head), body));
    this.refocus(kept);
  },
};
