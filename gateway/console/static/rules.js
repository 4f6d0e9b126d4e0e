"use strict";
// Rule sets: the list per service, a rule set's versions, audit and diffs, and a draft
// editor that validates (with the embedded tests), dry-runs, publishes and rolls back.
window.RC = window.RC || {};

RC.rules = {
  current: null, // the opened rule set's name
  versions: [],

  async load() {
    const answer = await RC.api("GET", "rule-sets");
    const body = RC.clear(document.querySelector("#rule-set-table tbody"));
    for (const summary of answer.rule_sets) {
      const open = RC.el("a", { href: "#", "data-rule-set": summary.name }, summary.name);
      open.addEventListener("click", (event) => {
        event.preventDefault();
        RC.rules.open(summary.name);
      });
      body.append(
        RC.el("tr", {}, RC.el("td", {}, summary.service), RC.el("td", {}, open),
          RC.el("td", { class: "active-version" }, String(summary.active_version)),
          RC.el("td", {}, String(summary.latest_version)))
      );
    }
  },

  async open(name) {
    this.current = name;
    document.getElementById("rule-set-title").textContent = name;
    RC.show("rule-set-detail", true);
    RC.clear(document.getElementById("diagnostics"));
    document.getElementById("outcome").textContent = "";
    await this.refresh(true);
  },

  async refresh(loadDraft) {
    const name = this.current;
    const [versions, audit] = await Promise.all([
      RC.api("GET", "rule-sets/" + encodeURIComponent(name) + "/versions"),
      RC.api("GET", "rule-sets/" + encodeURIComponent(name) + "/audit"),
    ]);
    this.versions = versions.versions;
    this.showVersions();
    RC.fillTable(document.getElementById("audit-table"), null,
      audit.entries.map((e) => [e.at || "", e.action, String(e.version), e.actor, e.comment]));
    const active = this.versions.find((v) => v.active);
    if (loadDraft && active) {
      const answer = await RC.api("GET", "rule-sets/" + encodeURIComponent(name) + "/versions/" + active.version);
      RC.editor.value = answer.version.source;
      if (document.getElementById("grid-view").open) RC.grid.show();
    }
    await RC.rules.load();
  },

  showVersions() {
    const body = RC.clear(document.querySelector("#version-table tbody"));
    const from = RC.clear(document.getElementById("diff-from"));
    const to = RC.clear(document.getElementById("diff-to"));
    for (const v of this.versions) {
      const view = RC.el("button", { type: "button" }, "open in editor");
      view.addEventListener("click", () => this.loadVersion(v.version));
      const activate = RC.el("button", { type: "button", class: "activate" }, "activate");
      activate.disabled = v.active || !RC.session.may.ActivateRuleSetVersion;
      activate.addEventListener("click", () => this.activate(v.version));
      body.append(RC.el("tr", { "data-version": String(v.version), class: v.active ? "active" : "" },
        RC.el("td", {}, String(v.version)), RC.el("td", {}, v.active ? "active" : ""),
        RC.el("td", {}, v.author), RC.el("td", {}, v.comment), RC.el("td", {}, v.created_at || ""),
        RC.el("td", { class: "checksum", title: v.checksum }, v.checksum.slice(0, 12)),
        RC.el("td", {}, view, " ", activate)));
      from.append(RC.el("option", { value: String(v.version) }, String(v.version)));
      to.append(RC.el("option", { value: String(v.version) }, String(v.version)));
    }
    if (this.versions.length > 1) from.selectedIndex = 1;
    document.getElementById("roll-back").disabled = !this.previousVersion() || !RC.session.may.ActivateRuleSetVersion;
  },

  previousVersion() {
    const active = this.versions.find((v) => v.active);
    const older = this.versions.filter((v) => active && v.version < active.version);
    return older.length ? older[0].version : null; // versions come newest first
  },

  async loadVersion(version) {
    const answer = await RC.api("GET", "rule-sets/" + encodeURIComponent(this.current) + "/versions/" + version);
    RC.editor.value = answer.version.source;
    if (document.getElementById("grid-view").open) RC.grid.show();
  },

  say(text, kind) {
    const outcome = document.getElementById("outcome");
    outcome.textContent = text;
    outcome.className = kind || "";
  },

  failed(error) {
    this.say(error.message, "error");
    const list = RC.clear(document.getElementById("diagnostics"));
    for (const v of error.violations || []) list.append(RC.el("li", { class: "error" }, v.field + ": " + v.description));
  },

  showDiagnostics(diagnostics) {
    const list = RC.clear(document.getElementById("diagnostics"));
    const marks = [];
    for (const d of diagnostics) {
      const severity = d.severity === "ERROR" ? "error" : "warning";
      const where = d.line ? "line " + d.line : "document";
      list.append(RC.el("li", { class: severity, "data-line": String(d.line) },
        where + (d.rule_id ? " (" + d.rule_id + ")" : "") + ": " + d.message));
      if (d.line) marks.push({ line: d.line, severity, message: d.message });
    }
    RC.editor.mark(marks);
    if (marks.length) RC.editor.reveal(marks[0].line);
    if (document.getElementById("grid-view").open) RC.grid.show();
  },

  async validate() {
    try {
      const answer = await RC.api("POST", "rule-sets/validate", { source: RC.editor.value, editing: this.current });
      this.showDiagnostics(answer.diagnostics);
      const errors = answer.diagnostics.filter((d) => d.severity === "ERROR").length;
      if (answer.valid) this.say("valid; " + answer.tests_passed + " embedded test(s) passed", "ok");
      else this.say("invalid: " + errors + " error(s)", "error");
      return answer.valid;
    } catch (error) {
      this.failed(error);
      return false;
    }
  },

  async dryRun() {
    let facts;
    try {
      facts = JSON.parse(document.getElementById("facts").value || "{}");
    } catch (error) {
      this.say("facts are not JSON: " + error.message, "error");
      return;
    }
    try {
      const answer = await RC.api("POST", "rule-sets/dry-run", { source: RC.editor.value, facts, editing: this.current });
      this.showDiagnostics(answer.diagnostics);
      const d = answer.decision;
      this.say("fired: " + (d.fired_rules.join(", ") || "none") + "; outputs: " + JSON.stringify(d.outputs), "ok");
    } catch (error) {
      this.failed(error);
    }
  },

  async preview() {
    RC.show("impact", false);
    try {
      const answer = await RC.api("POST", "rule-sets/preview", { source: RC.editor.value });
      this.say("impact of the draft computed", "ok");
      document.getElementById("impact-summary").textContent =
        answer.changed + " of " + answer.customers + " customers would change (" + answer.rule_set + ")";
      const transitions = [
        ...answer.star_transitions.map((t) => ["star level", t.from, t.to, t.customers]),
        ...answer.grade_transitions.map((t) => ["grade", t.from, t.to, t.customers]),
        ...answer.service_changes.map((s) => ["service " + s.service, "lost " + s.lost, "gained " + s.gained,
          s.parameters_changed + " changed"]),
      ];
      RC.fillTable(document.getElementById("impact-transitions"), ["what", "from", "to", "customers"], transitions);
      RC.fillTable(document.getElementById("impact-sample"), ["example customer", "grade", "star level"],
        answer.sample.map((c) => [c.licence_number, c.before.grade + " -> " + c.after.grade,
          c.before.star_level + " -> " + c.after.star_level]));
      RC.show("impact", true);
    } catch (error) {
      this.failed(error);
    }
  },

  async publish() {
    if (!(await this.validate())) return;
    try {
      const comment = document.getElementById("comment").value;
      const answer = await RC.api("POST", "rule-sets/publish", { source: RC.editor.value, comment });
      this.say("published version " + answer.version.version + " of " + answer.version.rule_set, "ok");
      if (answer.version.rule_set !== this.current) await this.open(answer.version.rule_set);
      else await this.refresh(false);
    } catch (error) {
      this.failed(error);
    }
  },

  async activate(version) {
    const result = document.getElementById("activate-result");
    try {
      const comment = document.getElementById("comment").value || "activated in the console";
      const answer = await RC.api("POST", "rule-sets/" + encodeURIComponent(this.current) + "/activate",
        { version, comment });
      result.textContent = "version " + answer.version.version + " active (was " + answer.previous_version + ")";
      result.className = "ok";
      await this.refresh(true);
    } catch (error) {
      result.textContent = error.message;
      result.className = "error";
    }
  },

  async diff() {
    const from = document.getElementById("diff-from").value;
    const to = document.getElementById("diff-to").value;
    const output = RC.clear(document.getElementById("diff-output"));
    try {
      const answer = await RC.api("GET",
        "rule-sets/" + encodeURIComponent(this.current) + "/diff?from=" + from + "&to=" + to);
      for (const line of answer.unified_diff.split("\n")) {
        const kind = line.startsWith("+") ? "added" : line.startsWith("-") ? "removed" : "";
        output.append(RC.el("div", { class: kind }, line || " "));
      }
    } catch (error) {
      output.append(RC.el("div", { class: "error" }, error.message));
    }
  },

  bind() {
    RC.editor = new RC.Editor(document.getElementById("editor"));
    document.getElementById("validate").addEventListener("click", () => this.validate());
    document.getElementById("grid-view").addEventListener("toggle", (event) => {
      if (event.target.open) RC.grid.show();
    });
    document.getElementById("dry-run").addEventListener("click", () => this.dryRun());
    document.getElementById("preview").addEventListener("click", () => this.preview());
    document.getElementById("publish").addEventListener("click", () => this.publish());
    document.getElementById("diff").addEventListener("click", () => this.diff());
    document.getElementById("roll-back").addEventListener("click", () => this.activate(this.previousVersion()));
  },

  allow(may) {
    const refuse = (id, method) => {
      const button = document.getElementById(id);
      button.disabled = !may[method];
      button.title = may[method] ? "" : "your role may not call " + method;
    };
    refuse("validate", "ValidateRuleSet");
    refuse("dry-run", "DryRunRuleSet");
    refuse("preview", "PreviewRuleSetImpact");
    refuse("publish", "PublishRuleSet");
    refuse("roll-back", "ActivateRuleSetVersion");
  },
};
