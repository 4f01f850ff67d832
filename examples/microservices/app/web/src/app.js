// The page's script: loads the tasks from the API named in config.js and shows them.
import { renderTasks, escapeHtml } from "./render.js";

const config = window.APP_CONFIG || { apiUrl: "/api" };
const list = document.getElementById("tasks");
const form = document.getElementById("new-task");

async function refresh() {
  try {
    const response = await fetch(`${config.apiUrl}/tasks`);
    const body = await response.json();
    list.innerHTML = renderTasks(body.tasks);
  } catch (error) {
    list.innerHTML = `<p class="error">Cannot reach the API: ${escapeHtml(error.message)}</p>`;
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = form.elements.text.value;
  await fetch(`${config.apiUrl}/tasks`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ text }),
  });
  form.reset();
  refresh();
});

refresh();
setInterval(refresh, 5000);
