// Renders math fragments with KaTeX and reports the ones it refuses (used by tests/test_markdown.py).
// stdin: a JSON list of {"tex": "...", "display": true|false, "where": "file: line"}
// stdout: {"katex": version, "rendered": n, "errors": [{"where", "tex", "message"}]}
"use strict";
const katex = require("katex");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const errors = [];
  let rendered = 0;
  for (const fragment of JSON.parse(input)) {
    try {
      katex.renderToString(fragment.tex, {
        displayMode: Boolean(fragment.display),
        throwOnError: true,
        strict: "error", // what LaTeX would accept but KaTeX only tolerates counts as an error too
        trust: false,
        macros: {}, // no macros of our own: only what every KaTeX (and GitHub's MathJax) knows
      });
      rendered += 1;
    } catch (error) {
      errors.push({ where: fragment.where, tex: fragment.tex, message: String(error.message || error) });
    }
  }
  process.stdout.write(JSON.stringify({ katex: katex.version, rendered, errors }) + "\n");
});
