"use strict";
// Bar charts as inline SVG, drawn here (no chart library): one group of bars per
// category, one bar per series, stacked or side by side.
window.RC = window.RC || {};

RC.SVG = "http://www.w3.org/2000/svg";
RC.COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1"];

RC.svg = function (tag, attributes, text) {
  const node = document.createElementNS(RC.SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
};

// categories: ["team-1", ...]; series: [{name, values: [n per category]}];
// fixedMax: the axis' highest value when it is fixed (scores: 100), else the largest bar's.
RC.barChart = function (container, title, categories, series, stacked, fixedMax) {
  RC.clear(container);
  const width = 640, top = 14, legend = 130;
  // Labels wider than their band are slanted, with room below and left for the longest.
  const longest = Math.max(0, ...categories.map((c) => String(c).length));
  const slanted = longest * 6.5 > (width - 44 - legend) / Math.max(1, categories.length);
  const left = slanted ? Math.max(44, Math.min(120, longest * 4.5)) : 44;
  const plotWidth = width - left - legend;
  const bottom = slanted ? 30 + Math.min(150, longest * 5) : 46;
  const height = 234 + bottom, plotHeight = height - top - bottom;
  const totals = categories.map((_, i) =>
    stacked ? series.reduce((sum, s) => sum + s.values[i], 0) : Math.max(0, ...series.map((s) => s.values[i])));
  const max = Math.max(1, fixedMax || 0, ...totals);
  const chart = RC.svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", class: "bar-chart" });
  chart.append(RC.svg("title", {}, title));
  for (let step = 0; step <= 4; step++) {
    const value = Math.round((max * step) / 4), y = top + plotHeight - (plotHeight * value) / max;
    chart.append(RC.svg("line", { x1: left, x2: left + plotWidth, y1: y, y2: y, class: "grid" }));
    chart.append(RC.svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "axis" }, value));
  }
  const band = plotWidth / Math.max(1, categories.length);
  const barWidth = stacked ? band * 0.6 : (band * 0.8) / Math.max(1, series.length);
  categories.forEach((category, i) => {
    let base = 0;
    series.forEach((s, j) => {
      const value = s.values[i], barHeight = (plotHeight * value) / max;
      const x = stacked ? left + band * i + band * 0.2 : left + band * i + band * 0.1 + barWidth * j;
      const y = top + plotHeight - barHeight - (stacked ? (plotHeight * base) / max : 0);
      const bar = RC.svg("rect", { x, y, width: Math.max(1, barWidth - 2), height: barHeight,
        fill: RC.COLOURS[j % RC.COLOURS.length], class: "bar", "data-category": category, "data-series": s.name,
        "data-value": value });
      bar.append(RC.svg("title", {}, `${category}, ${s.name}: ${value}`));
      chart.append(bar);
      if (stacked) base += value;
    });
    const x = left + band * i + band / 2, y = height - bottom + 16;
    chart.append(RC.svg("text", slanted
      ? { x, y, "text-anchor": "end", transform: `rotate(-35 ${x} ${y})`, class: "axis" }
      : { x, y, "text-anchor": "middle", class: "axis" }, category));
  });
  series.forEach((s, j) => {
    const y = top + 14 + j * 18;
    chart.append(RC.svg("rect", { x: width - legend + 10, y: y - 10, width: 12, height: 12,
      fill: RC.COLOURS[j % RC.COLOURS.length] }));
    chart.append(RC.svg("text", { x: width - legend + 28, y, class: "legend" }, s.name));
  });
  container.append(chart);
};
