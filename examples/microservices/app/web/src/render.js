// Pure rendering helpers, shared by the page (app.js) and the tests.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

export function describeResult(result) {
  if (!result) return "";
  const top = result.top_words && result.top_words.length ? `; top: ${result.top_words.join(", ")}` : "";
  return `${result.words} words, ${result.sentences} sentences${top}`;
}

export function renderTasks(tasks) {
  if (!tasks.length) return '<p class="empty">No tasks yet.</p>';
  const rows = tasks.map(
    (t) =>
      `<li class="${t.status === "done" ? "done" : "pending"}">` +
      `<span class="text">${escapeHtml(t.text)}</span> ` +
      `<span class="status">${t.status === "done" ? escapeHtml(describeResult(t.result)) : "pending"}</span></li>`,
  );
  return `<ul class="tasks">${rows.join("")}</ul>`;
}
