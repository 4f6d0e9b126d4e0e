"use strict";
// Sign-in and navigation. What the role may do comes from the gateway's permission table.
window.RC = window.RC || {};

RC.session = { role: "", may: {} };

RC.page = function (name) {
  for (const page of ["sign-in", "rules", "overview"]) RC.show(page, page === name);
  if (name === "rules") RC.rules.load().catch((error) => RC.rules.say(error.message, "error"));
  if (name === "overview") RC.overview.load();
};

RC.signIn = async function () {
  try {
    RC.session = await RC.api("GET", "session");
  } catch (error) {
    sessionStorage.removeItem(RC.TOKEN_KEY);
    RC.show("nav", false);
    RC.page("sign-in");
    if (error.status !== 401 || document.getElementById("token").value) {
      document.getElementById("sign-in-error").textContent = error.message;
    }
    return;
  }
  document.getElementById("sign-in-error").textContent = "";
  document.getElementById("who").textContent = RC.session.actor + " (" + RC.session.role + ")";
  RC.show("nav", true);
  RC.show("nav-rules", RC.session.may.ListRuleSets);
  const may = RC.session.may;
  RC.show("nav-overview", may.ListCustomers || may.ListComplaints || may.GetTeamOverview || may.ListFindings);
  RC.rules.allow(RC.session.may);
  RC.page(RC.session.may.ListRuleSets ? "rules" : "overview");
};

document.addEventListener("DOMContentLoaded", () => {
  RC.rules.bind();
  RC.overview.bind();
  document.getElementById("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(RC.TOKEN_KEY, document.getElementById("token").value.trim());
    RC.signIn();
  });
  document.getElementById("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(RC.TOKEN_KEY);
    document.getElementById("token").value = "";
    RC.show("nav", false);
    RC.page("sign-in");
  });
  document.getElementById("nav-rules").addEventListener("click", () => RC.page("rules"));
  document.getElementById("nav-overview").addEventListener("click", () => RC.page("overview"));
  if (sessionStorage.getItem(RC.TOKEN_KEY)) RC.signIn();
  else RC.page("sign-in");
});
