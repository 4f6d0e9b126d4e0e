"use strict";
// Rule sets: the list per service, a rule set's versions, audit and diffs, and a draft
// editor that validates (with the embedded tests), dry-runs, publishes and rolls back.
window.RC = window.RC || {};

RC.rules = {
  current: null, // the opened rule set's name
  versions: [],
  diagnostics: [], // the latest validation's, as the API gave them

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
          RC.el("td", {}, String(summary.latest_version)),
          RC.el("td", { class: "scheduled-versions" },
            summary.scheduled.map((a) => "v" + a.version + " at " + RC.when(a.activate_at)).join(", ")))
      );
    }
  },

  async open(name) {
    this.current = name;
    document.getElementById("rule-set-title").textContent = name;
    RC.show("rule-set-detail", true);
    RC.clear(document.getElementById("diagnostics"));
    document.getElementById("outcome").textContent = "";
    this.jobToken = (this.jobToken || 0) + 1;
    for (const id of ["job", "tests-table", "dry-run-result", "impact"]) RC.show(id, false);
    await this.refresh(true);
    await this.showLatestJob();
  },

  async refresh(loadDraft) {
    const name = this.current;
    const [versions, audit, scheduled] = await Promise.all([
      RC.api("GET", "rule-sets/" + encodeURIComponent(name) + "/versions"),
      RC.api("GET", "rule-sets/" + encodeURIComponent(name) + "/audit"),
      RC.api("GET", "rule-sets/" + encodeURIComponent(name) + "/scheduled"),
    ]);
    this.versions = versions.versions;
    this.scheduled = scheduled.activations;
    this.watchScheduled();
    this.showVersions();
    this.showScheduled(scheduled.activations);
    RC.fillTable(document.getElementById("audit-table"), null,
      audit.entries.map((e) => [RC.when(e.at), e.action, String(e.version), e.actor, e.comment]));
    const active = this.versions.find((v) => v.active);
    if (loadDraft && active) {
      const answer = await RC.api("GET", "rule-sets/" + encodeURIComponent(name) + "/versions/" + active.version);
      RC.editor.value = answer.version.source;
      this.diagnostics = [];
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
        RC.el("td", {}, String(v.version)),
        RC.el("td", {}, v.active ? "active" : (this.scheduled || []).some((a) => a.version === v.version) ? "scheduled" : ""),
        RC.el("td", {}, v.author), RC.el("td", {}, v.comment),
        RC.el("td", { title: v.created_at || "" }, RC.when(v.created_at)),
        RC.el("td", { class: "checksum", title: v.checksum }, v.checksum.slice(0, 12)),
        RC.el("td", {}, view, " ", activate)));
      from.append(RC.el("option", { value: String(v.version) }, String(v.version)));
      to.append(RC.el("option", { value: String(v.version) }, String(v.version)));
    }
    if (this.versions.length > 1) from.selectedIndex = 1;
    document.getElementById("roll-back").disabled = !this.previousVersion() || !RC.session.may.ActivateRuleSetVersion;
  },

  showScheduled(activations) {
    const body = RC.clear(document.querySelector("#scheduled-table tbody"));
    for (const a of activations) {
      const cancel = RC.el("button", { type: "button", class: "cancel" }, "cancel");
      cancel.disabled = !RC.session.may.CancelScheduledActivation;
      cancel.title = cancel.disabled ? "your role may not call CancelScheduledActivation" : "";
      cancel.addEventListener("click", () => this.cancel(a.version));
      body.append(RC.el("tr", { "data-version": String(a.version) }, RC.el("td", {}, String(a.version)),
        RC.el("td", { title: a.activate_at }, RC.when(a.activate_at)), RC.el("td", {}, a.author),
        RC.el("td", {}, a.comment), RC.el("td", {}, cancel)));
    }
    RC.show("scheduled-table", activations.length > 0);
    RC.show("scheduled-none", activations.length === 0);
  },

  async cancel(version) {
    const result = document.getElementById("activate-result");
    try {
      const comment = document.getElementById("comment").value || "cancelled in the console";
      await RC.api("POST", "rule-sets/" + encodeURIComponent(this.current) + "/cancel", { version, comment });
      result.textContent = "the scheduled activation of version " + version + " is cancelled";
      result.className = "ok";
      await this.refresh(false);
    } catch (error) {
      result.textContent = error.message;
      result.className = "error";
    }
  },

  // While a version waits for its scheduled activation, asks for the rule set's active
  // version now and then (at the moment it is due, else every 30 s; every 5 s once it is
  // due, until the owning service has activated it); when another version has become
  // active, shows the rule set again and follows the reclassification job it started.
  async watchScheduled() {
    const token = (this.watchToken = (this.watchToken || 0) + 1);
    const name = this.current;
    const active = (this.versions.find((v) => v.active) || {}).version;
    if (!(this.scheduled || []).length) return;
    const since = await this.latestJobId();
    while (token === this.watchToken && name === this.current) {
      const due = Math.min(...this.scheduled.map((a) => new Date(a.activate_at).getTime()));
      const wait = due > Date.now() ? Math.min(30000, Math.max(2000, due - Date.now() + 500)) : 5000;
      await new Promise((resolve) => setTimeout(resolve, wait));
      if (token !== this.watchToken || name !== this.current) return;
      if (!sessionStorage.getItem(RC.TOKEN_KEY)) return; // signed out
      let now;
      try {
        const answer = await RC.api("GET", "rule-sets/" + encodeURIComponent(name) + "/versions");
        now = (answer.versions.find((v) => v.active) || {}).version;
      } catch (error) {
        if (error.status === 401 || error.status === 403) return;
        continue; // asked again at the next turn
      }
      if (now === active || token !== this.watchToken || name !== this.current) continue;
      const scheduled = (this.scheduled || []).some((a) => a.version === now);
      document.getElementById("activate-result").textContent =
        "version " + now + " became active" + (scheduled ? " at its scheduled moment" : "");
      document.getElementById("activate-result").className = "ok";
      await this.refresh(false); // starts a new watch when another version still waits
      this.followJob(now, since);
      return;
    }
  },

  // On opening a rule set: its active version's job, followed while it runs.
  async showLatestJob() {
    const active = this.versions.find((v) => v.active);
    if (!active || !RC.session.may.GetReclassificationJob) return;
    try {
      const answer = await RC.api("GET", "rule-sets/" + encodeURIComponent(this.current) + "/job");
      if (answer.job && answer.job.version === active.version) {
        this.followJob(active.version, Number(answer.job.id) - 1);
      }
    } catch (error) {
      // no job to show
    }
  },

  // The id of the rule set's latest reclassification job (0: none, or no such job).
  async latestJobId() {
    try {
      const answer = await RC.api("GET", "rule-sets/" + encodeURIComponent(this.current) + "/job");
      return answer.job ? Number(answer.job.id) : 0;
    } catch (error) {
      return 0;
    }
  },

  // Follows the reclassification job that the activation of the version started (one
  // newer than job `since`), until it has finished or another activation replaced it.
  async followJob(version, since) {
    if (!RC.session.may.GetReclassificationJob) return;
    const token = (this.jobToken = (this.jobToken || 0) + 1);
    const name = this.current;
    const progress = document.getElementById("job-progress");
    const status = document.getElementById("job-status");
    const deadline = Date.now() + 10 * 60 * 1000;
    const startBy = Date.now() + 30 * 1000; // a job starts within the services' poll interval
    RC.show("job", false);
    while (token === this.jobToken && name === this.current && Date.now() < deadline) {
      let answer;
      try {
        answer = await RC.api("GET", "rule-sets/" + encodeURIComponent(name) + "/job");
      } catch (error) {
        status.textContent = "job progress: " + error.message;
        status.className = "error";
        RC.show("job", true);
        return;
      }
      if (!answer.reclassifies) return;
      const job = answer.job;
      if (job && Number(job.id) > since && job.version !== version) {
        status.textContent = "a newer activation (version " + job.version + ") started its own reclassification";
        status.className = "warning";
        RC.show("job", true);
        return;
      }
      if ((!job || Number(job.id) <= since) && Date.now() > startBy) {
        status.textContent = "no reclassification started for version " + version +
          " (classification runs none when its reclassification_batch_size is 0)";
        status.className = "warning";
        status.dataset.state = "none";
        return;
      }
      if (!job || Number(job.id) <= since) {
        status.textContent = "waiting for the reclassification of version " + version + " to start";
        status.className = "";
        status.dataset.state = "waiting";
        RC.show("job", true);
      } else {
        progress.max = Math.max(1, job.total);
        progress.value = job.done;
        status.textContent = "version " + job.version + ": " + job.done + " of " + job.total + " customers, " +
          job.changed + " changed, " + job.failed + " failed (" + job.state + ")";
        status.className = job.state === "completed" ? "ok" : job.state === "running" ? "" : "warning";
        status.dataset.state = job.state;
        status.dataset.version = String(job.version);
        RC.show("job", true);
        if (job.state !== "running") return;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  },

  previousVersion() {
    const active = this.versions.find((v) => v.active);
    const older = this.versions.filter((v) => active && v.version < active.version);
    return older.length ? older[0].version : null; // versions come newest first
  },

  async loadVersion(version) {
    const answer = await RC.api("GET", "rule-sets/" + encodeURIComponent(this.current) + "/versions/" + version);
    RC.editor.value = answer.version.source;
    this.diagnostics = [];
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

  // Validation as you type: a while after the last keystroke, if the role may validate.
  scheduleValidation() {
    clearTimeout(this.typing);
    if (!RC.session.may.ValidateRuleSet || !this.current) return;
    this.typing = setTimeout(() => this.validate(true), 700);
  },

  showDiagnostics(diagnostics, quiet) {
    this.diagnostics = diagnostics;
    const list = RC.clear(document.getElementById("diagnostics"));
    const marks = [];
    for (const d of diagnostics) {
      const severity = d.severity === "ERROR" ? "error" : "warning";
      const where = d.line ? "line " + d.line : "document";
      const cell = d.table_row || (d.table_columns || []).length
        ? ", table " + (d.table_row ? "row " + d.table_row : "") +
          ((d.table_columns || []).length ? (d.table_row ? " " : "") + "column " + d.table_columns.join(", ") : "")
        : "";
      list.append(RC.el("li", { class: severity, "data-line": String(d.line) },
        where + (d.rule_id ? " (" + d.rule_id + ")" : "") + cell + ": " + d.message));
      if (d.line) marks.push({ line: d.line, severity, message: d.message });
    }
    RC.editor.mark(marks);
    if (marks.length && !quiet) RC.editor.reveal(marks[0].line);
    if (document.getElementById("grid-view").open) RC.grid.show();
  },

  // quiet: while typing (no scrolling to the first mark). Only the latest call's answer
  // is shown.
  async validate(quiet) {
    clearTimeout(this.typing);
    const call = (this.validations = (this.validations || 0) + 1);
    try {
      const answer = await RC.api("POST", "rule-sets/validate", { source: RC.editor.value, editing: this.current });
      if (call !== this.validations) return answer.valid;
      this.showDiagnostics(answer.diagnostics, quiet);
      const errors = answer.diagnostics.filter((d) => d.severity === "ERROR").length;
      this.showTests(answer);
      if (answer.valid) this.say("valid; " + answer.tests_passed + " embedded test(s) passed", "ok");
      else this.say("invalid: " + errors + " error(s)", "error");
      return answer.valid;
    } catch (error) {
      if (call === this.validations) this.failed(error);
      return false;
    }
  },

  // The draft's embedded tests as the service ran them, each passed or failed with the
  // values that differ (as `retailcare rules test` prints them). None ran when the draft
  // does not read or compile: the list of the last run stays, marked "not run".
  showTests(answer) {
    const table = document.getElementById("tests-table");
    const tests = answer.tests || [];
    if (!tests.length && answer.valid) {
      RC.show("tests-table", false); // the draft has no tests
      return;
    }
    if (!tests.length) {
      table.querySelectorAll("tbody tr").forEach((tr) => {
        tr.className = "";
        tr.cells[2].textContent = "not run";
        tr.cells[3].textContent = "";
      });
      return;
    }
    RC.fillTable(table, null, tests.map((t) => [t.name, String(t.line), t.passed ? "passed" : "failed",
      t.failures.join("; ")]));
    table.querySelectorAll("tbody tr").forEach((tr, i) => {
      tr.className = tests[i].passed ? "ok" : "error";
      tr.dataset.test = tests[i].name;
      tr.dataset.line = String(tests[i].line);
    });
    RC.show("tests-table", true);
  },

  async dryRunForCustomer() {
    const licence = document.getElementById("dry-run-customer").value.trim();
    try {
      const answer = await RC.api("GET", "rule-sets/" + encodeURIComponent(this.current) +
        "/customer-facts?licence=" + encodeURIComponent(licence));
      document.getElementById("facts").value = JSON.stringify(answer.facts);
      await this.dryRun("customer " + answer.licence_number);
    } catch (error) {
      this.failed(error);
    }
  },

  async dryRun(whose) {
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
      document.getElementById("dry-run-facts").textContent =
        "Decided " + (typeof whose === "string" ? whose + "'s" : "the") + " facts " + JSON.stringify(facts) + ":";
      RC.fillTable(document.getElementById("dry-run-table"), ["", "value"], [
        ["rules fired, in order", d.fired_rules.join(", ") || "none"],
        ...Object.entries(d.outputs).map(([name, value]) => [name, JSON.stringify(value)]),
      ]);
      RC.show("dry-run-result", true);
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
    const at = document.getElementById("activate-at").value;
    const body = { source: RC.editor.value, comment: document.getElementById("comment").value };
    if (at) {
      const moment = new Date(at);
      if (Number.isNaN(moment.getTime())) {
        this.say("activate at: not a date and time", "error");
        return;
      }
      body.activate_at = moment.toISOString();
    }
    if (!(await this.validate())) return;
    try {
      const since = await this.latestJobId();
      const answer = await RC.api("POST", "rule-sets/publish", body);
      const v = answer.version;
      this.say(at ? "version " + v.version + " of " + v.rule_set + " stored; it activates at " + RC.when(body.activate_at)
        : "published version " + v.version + " of " + v.rule_set, "ok");
      document.getElementById("activate-at").value = "";
      if (v.rule_set !== this.current) await this.open(v.rule_set);
      else await this.refresh(false);
      if (v.active) this.followJob(v.version, since);
    } catch (error) {
      this.failed(error);
    }
  },

  async activate(version) {
    const result = document.getElementById("activate-result");
    try {
      const comment = document.getElementById("comment").value || "activated in the console";
      const since = await this.latestJobId();
      const answer = await RC.api("POST", "rule-sets/" + encodeURIComponent(this.current) + "/activate",
        { version, comment });
      result.textContent = "version " + answer.version.version + " active (was " + answer.previous_version + ")";
      result.className = "ok";
      await this.refresh(true);
      this.followJob(answer.version.version, since);
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
    RC.editor.onEdit = () => this.scheduleValidation();
    // A diagnostic (below the editor or above the grid) shows its line when clicked.
    for (const id of ["diagnostics", "grid", "tests-table"]) {
      document.getElementById(id).addEventListener("click", (event) => {
        const item = event.target.closest("li[data-line], #tests-table tr[data-line]");
        if (item && Number(item.dataset.line)) RC.editor.reveal(Number(item.dataset.line));
      });
    }
    document.getElementById("validate").addEventListener("click", () => this.validate());
    document.getElementById("grid-view").addEventListener("toggle", (event) => {
      if (event.target.open) RC.grid.show();
    });
    document.getElementById("dry-run").addEventListener("click", () => this.dryRun());
    document.getElementById("dry-run-for-customer").addEventListener("click", () => this.dryRunForCustomer());
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
    refuse("dry-run-for-customer", may.GetCustomer ? "DryRunRuleSet" : "GetCustomer");
    refuse("preview", "PreviewRuleSetImpact");
    refuse("publish", "PublishRuleSet");
    refuse("roll-back", "ActivateRuleSetVersion");
  },
};
