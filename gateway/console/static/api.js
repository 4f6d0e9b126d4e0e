"use strict";
// The console's JSON API. The token lives in sessionStorage (this tab only) and goes in
// the Authorization header of every request; there are no cookies.
window.RC = window.RC || {};

RC.TOKEN_KEY = "retailcare.console.token";

RC.ApiError = class extends Error {
  constructor(status, body) {
    super((body && body.error) || "HTTP " + status);
    this.status = status;
    this.violations = (body && body.violations) || [];
  }
};

RC.api = async function (method, path, body) {
  const headers = { Authorization: "Bearer " + (sessionStorage.getItem(RC.TOKEN_KEY) || "") };
  const options = { method, headers, credentials: "omit", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch("/console/api/" + path, options);
  const answer = await response.json().catch(() => null);
  if (!response.ok) throw new RC.ApiError(response.status, answer);
  return answer;
};
