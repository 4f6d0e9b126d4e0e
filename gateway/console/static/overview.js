"use strict";
// The overview for managers and ops: each chart with its table and a CSV download.
window.RC = window.RC || {};

RC.overview = {
  stars: null,
  complaints: null,

  async load() {
    const error = document.getElementById("overview-error");
    error.textContent = "";
    const by = document.getElementById("stars-by").value;
    const [stars, complaints] = await Promise.allSettled([
      RC.api("GET", "overview/customers?by=" + by),
      RC.api("GET", "overview/complaints"),
    ]);
    const problems = [];
    if (stars.status === "fulfilled") this.showStars(stars.value);
    else problems.push("customers: " + stars.reason.message);
    if (complaints.status === "fulfilled") this.showComplaints(complaints.value);
    else problems.push("complaints: " + complaints.reason.message);
    error.textContent = problems.join("; ");
  },

  showStars(data) {
    const header = [data.by, ...data.levels.map((l) => l + " star")];
    const rows = data.groups.map((g) => [g, ...data.levels.map((l) => data.counts[g][String(l)])]);
    this.stars = { header, rows, name: "customers-by-star-level-per-" + data.by + ".csv" };
    const series = data.levels.map((l) => ({ name: l + " star", values: data.groups.map((g) => data.counts[g][String(l)]) }));
    RC.barChart(document.getElementById("stars-chart"), "Customers by star level per " + data.by, data.groups, series, true);
    RC.fillTable(document.getElementById("stars-table"), header, rows);
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
  },

  bind() {
    document.getElementById("stars-by").addEventListener("change", () => this.load());
    document.getElementById("stars-csv").addEventListener("click", () => {
      if (this.stars) RC.downloadCsv(this.stars.name, this.stars.header, this.stars.rows);
    });
    document.getElementById("complaints-csv").addEventListener("click", () => {
      if (this.complaints) RC.downloadCsv(this.complaints.name, this.complaints.header, this.complaints.rows);
    });
  },
};
