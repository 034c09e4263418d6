// Loads each page in Debian's Chromium (through playwright-core, never a downloaded browser), takes a
// screenshot at each size, and runs axe-core on it. Input: a JSON job on argv[2]; output: JSON on stdout.
//   {"modules": ".venv/axe/node_modules", "chromium": "/usr/bin/chromium", "flags": [...], "out": "folder",
//    "pages": [{"name": "overview", "url": "http://127.0.0.1:…/dashboard/"}], "sizes": {"desktop": [1280, 900]}}
const path = require("path");
const job = JSON.parse(process.argv[2]);
const { chromium } = require(path.join(job.modules, "playwright-core"));
const axeSource = require("fs").readFileSync(path.join(job.modules, "axe-core", "axe.min.js"), "utf8");

(async () => {
  const browser = await chromium.launch({ executablePath: job.chromium, args: job.flags, headless: true });
  const results = [];
  try {
    for (const [size, [width, height]] of Object.entries(job.sizes)) {
      const context = await browser.newContext({ viewport: { width, height }, isMobile: size === "phone", hasTouch: size === "phone" });
      const page = await context.newPage();
      for (const p of job.pages) {
        const answer = await page.goto(p.url, { waitUntil: "load" });
        const shot = path.join(job.out, `${p.name}-${size}.png`);
        await page.screenshot({ path: shot, fullPage: true });
        await page.addScriptTag({ content: axeSource });
        const axe = await page.evaluate(async () => {
          const r = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } });
          return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
        });
        const layout = await page.evaluate(() => ({
          scrollWidth: document.documentElement.scrollWidth,
          queueVisible: !!document.querySelector("ol.queue") && document.querySelector("ol.queue").getBoundingClientRect().width > 0,
          hiddenCells: [...document.querySelectorAll("table.packages td")].filter((td) => td.getBoundingClientRect().width === 0).length,
        }));
        results.push({ name: p.name, size, status: answer.status(), shot, violations: axe, layout, width });
      }
      await context.close();
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(results));
})().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
