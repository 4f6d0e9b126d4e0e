"use strict";
// The overview for managers and ops: each chart with its table and a CSV download.
window.RC = window.RC || {};

RC.overview = {
  stars: null,
  complaints: null,

  tables: {}, // name -> {header, rows, file} for the CSV downloads

  thisMonth() {
    const today = new Date();
    return today.getFullYear() + "-" + String(today.getMonth() + 1).padStart(2, "0");
  },

  async load() {
    const error = document.getElementById("overview-error");
    error.textContent = "";
    const may = RC.session.may;
    const by = document.getElementById("stars-by").value;
    const measure = document.getElementById("stars-measure").value;
    const period = document.getElementById("period");
    if (!period.value) period.value = this.thisMonth();
    const parts = [];
    const part = (name, allowed, path, show) => {
      RC.show(name + "-panel", allowed);
      if (allowed) parts.push([name, RC.api("GET", path), show]);
    };
    const p = encodeURIComponent(period.value.trim());
    part("stars", may.ListCustomers, "overview/customers?by=" + by + "&measure=" + measure, (d) => this.showStars(d));
    part("complaints", may.ListComplaints, "overview/complaints", (d) => this.showComplaints(d));
    part("teams", may.GetTeamOverview, "overview/teams?period=" + p, (d) => this.showTeams(d));
    part("items", may.ListVisitCards, "overview/items?period=" + p, (d) => this.showItems(d));
    part("supervision", may.ListFindings, "overview/supervision?period=" + p, (d) => this.showSupervision(d));
    const settled = await Promise.allSettled(parts.map(([, call]) => call));
    const problems = [];
    settled.forEach((outcome, i) => {
      const [name, , show] = parts[i];
      if (outcome.status === "fulfilled") show(outcome.value);
      else problems.push(name + ": " + outcome.reason.message);
    });
    error.textContent = problems.join("; ");
  },

  table(name, header, rows, file) {
    this.tables[name] = { header, rows, file };
    RC.fillTable(document.getElementById(name + "-table"), header, rows);
  },

  showTeams(data) {
    const p = data.period;
    document.getElementById("teams-period").textContent =
      "Period " + p.id + " (" + p.starts_on + " to " + p.ends_on + "), " + p.state.toLowerCase() + ", " + p.runs + " run(s)";
    const teams = data.teams.map((t) => t.team);
    RC.barChart(document.getElementById("visits-chart"), "Visits and omissions per team", teams, [
      { name: "visits", values: data.teams.map((t) => t.visits) },
      { name: "with omissions", values: data.teams.map((t) => t.visits_with_omissions) },
      { name: "omissions", values: data.teams.map((t) => t.omissions) },
    ], false);
    RC.barChart(document.getElementById("scores-chart"), "Team score (latest run)", teams,
      [{ name: "team score", values: data.teams.map((t) => t.score === null ? 0 : t.score) }], false, 100);
    RC.barChart(document.getElementById("bands-chart"), "Members by score band", teams,
      data.bands.map((band) => ({ name: band, values: data.teams.map((t) => t.score_bands[band]) })), true);
    const header = ["team", "name", "customers", "visits", "visits with omissions", "omission rate", "omissions",
      "open complaints", "overdue complaints", "team score", "grade", "members scored", ...data.bands, "missing"];
    const rows = data.teams.map((t) => [t.team, t.name, t.customers, t.visits, t.visits_with_omissions,
      (100 * t.omission_rate).toFixed(1) + "%", t.omissions, t.open_complaints, t.overdue_complaints,
      t.score === null ? "not graded" : t.score, t.grade, t.members.length,
      ...data.bands.map((band) => t.score_bands[band]), t.missing_parts.join(", ")]);
    this.table("teams", header, rows, "teams-" + p.id + ".csv");
    document.getElementById("teams-unknown").textContent = data.unknown_teams.length
      ? "Teams of market zones that evaluation does not know: " + data.unknown_teams.join(", ") : "";
  },

  showSupervision(data) {
    const teams = data.teams.map((t) => t.team);
    RC.barChart(document.getElementById("findings-chart"), "Findings per team by state", teams,
      data.states.map((state) => ({ name: state, values: data.teams.map((t) => t[state]) })), true);
    this.table("findings", ["team", ...data.states], data.teams.map((t) => [t.team, ...data.states.map((s) => t[s])]),
      "findings-per-team.csv");
    RC.barChart(document.getElementById("items-chart"), "Commitments checked and broken per item",
      data.items.map((i) => i.service), [
        { name: "checked", values: data.items.map((i) => i.checked) },
        { name: "broken", values: data.items.map((i) => i.broken) },
      ], false);
    this.table("items", ["item", "checked", "broken"], data.items.map((i) => [i.service, i.checked, i.broken]),
      "commitments-per-item.csv");
    RC.barChart(document.getElementById("zones-chart"), "Return visits per zone", data.zones.map((z) => z.zone), [
      { name: "tasks", values: data.zones.map((z) => z.tasks) },
      { name: "answered", values: data.zones.map((z) => z.answered) },
      { name: "overdue", values: data.zones.map((z) => z.overdue) },
    ], false);
    this.table("zones", ["zone", "tasks", "answered", "coverage", "mean satisfaction (1-5)", "overdue"],
      data.zones.map((z) => [z.zone, z.tasks, z.answered, (100 * z.coverage).toFixed(1) + "%",
        z.satisfaction === null ? "" : z.satisfaction, z.overdue]),
      "return-visits-" + (data.period || "none") + ".csv");
    RC.fillTable(document.getElementById("recent-table"),
      ["found", "team", "staff", "customer", "item", "kind", "state"],
      data.recent.map((f) => [RC.when(f.found_at), f.team, f.staff, f.licence_number, f.service, f.kind, f.state]));
  },

  truncated(part, data, what) {
    const note = document.getElementById(part + "-truncated");
    note.textContent = data.truncated
      ? "Counted over the first " + data.most_counted.toLocaleString("en") + " " + what + " only: there are more."
      : "";
    note.hidden = !data.truncated;
  },

  showStars(data) {
    const label = (l) => (data.measure === "star" ? l + " star" : "grade " + l);
    const header = [data.by, ...data.levels.map(label)];
    const rows = data.groups.map((g) => [g, ...data.levels.map((l) => data.counts[g][l])]);
    const what = data.measure === "star" ? "star-level" : "grade";
    this.stars = { header, rows, name: "customers-by-" + what + "-per-" + data.by + ".csv" };
    const series = data.levels.map((l) => ({ name: label(l), values: data.groups.map((g) => data.counts[g][l]) }));
    RC.barChart(document.getElementById("stars-chart"), "Customers by " + what + " per " + data.by, data.groups,
      series, true);
    RC.fillTable(document.getElementById("stars-table"), header, rows);
    this.truncated("stars", data, "customers");
  },

  showItems(data) {
    const rate = (item, period) => {
      const row = data.rows.find((r) => r.item === item && r.period === period);
      return row ? Math.round(1000 * row.omission_rate) / 10 : 0;
    };
    RC.barChart(document.getElementById("items-rate-chart"), "Omission rate (%) per item and period", data.items,
      data.periods.map((period) => ({ name: period, values: data.items.map((item) => rate(item, period)) })), false, 100);
    this.table("item-periods", ["item", "period", "visit cards", "visits with the item", "omissions", "omission rate"],
      data.rows.map((r) => [r.item, r.period, r.cards, r.visits, r.omissions, (100 * r.omission_rate).toFixed(1) + "%"]),
      "omissions-per-item.csv");
  },

  showComplaints(data) {
    const header = ["team", "open", "due soon (" + data.due_soon_days + " days)", "overdue"];
    const rows = data.teams.map((t) => [t.team, t.open, t.due_soon, t.overdue]);
    this.complaints = { header, rows, name: "open-complaints-per-team.csv" };
    const teams = data.teams.map((t) => t.team);
    const series = [
      { name: "open", values: data.teams.map((t) => t.open) },
      { name: "due soon", values: data.teams.map((t) => t.due_soon) },
      { name: "overdue", values: data.teams.map((t) => t.overdue) },
    ];
    RC.barChart(document.getElementById("complaints-chart"), "Open complaints per team", teams, series, false);
    RC.fillTable(document.getElementById("complaints-table"), header, rows);
    this.truncated("complaints", data, "open complaints");
    RC.fillTable(document.getElementById("deadlines-table"),
      ["deadline", "overdue", "team", "customer", "category", "state", "complaint"],
      data.nearest.map((c) => [RC.when(c.deadline_at), c.overdue ? "overdue" : "", c.team, c.licence_number,
        c.category, c.state.replace(/_/g, " "), c.id]));
  },

  bind() {
    document.getElementById("stars-by").addEventListener("change", () => this.load());
    document.getElementById("stars-measure").addEventListener("change", () => this.load());
    document.getElementById("period-show").addEventListener("click", () => this.load());
    for (const name of ["teams", "item-periods", "findings", "items", "zones"]) {
      document.getElementById(name + "-csv").addEventListener("click", () => {
        const t = this.tables[name];
        if (t) RC.downloadCsv(t.file, t.header, t.rows);
      });
    }
    document.getElementById("stars-csv").addEventListener("click", () => {
      if (this.stars) RC.downloadCsv(this.stars.name, this.stars.header, this.stars.rows);
    });
    document.getElementById("complaints-csv").addEventListener("click", () => {
      if (this.complaints) RC.downloadCsv(this.complaints.name, this.complaints.header, this.complaints.rows);
    });
  },
};
