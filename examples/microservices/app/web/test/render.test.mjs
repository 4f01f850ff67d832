import assert from "node:assert/strict";
import { test } from "node:test";
import { describeResult, escapeHtml, renderTasks } from "../src/render.js";

test("escapeHtml escapes markup", () => {
  assert.equal(escapeHtml(`<a href="x">&'</a>`), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
});

test("describeResult summarises the worker's result", () => {
  assert.equal(describeResult({ words: 3, sentences: 1, top_words: ["cat", "dog"] }), "3 words, 1 sentences; top: cat, dog");
  assert.equal(describeResult(null), "");
});

test("renderTasks lists pending and done tasks, escaped", () => {
  const html = renderTasks([
    { id: 1, text: "<b>hi</b>", status: "pending", result: null },
    { id: 2, text: "done one", status: "done", result: { words: 2, sentences: 1, top_words: [] } },
  ]);
  assert.match(html, /<li class="pending"><span class="text">&lt;b&gt;hi&lt;\/b&gt;<\/span> <span class="status">pending<\/span><\/li>/);
  assert.match(html, /<li class="done">.*2 words, 1 sentences<\/span>/);
});

test("renderTasks says when there is nothing", () => {
  assert.equal(renderTasks([]), '<p class="empty">No tasks yet.</p>');
});
