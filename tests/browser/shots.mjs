// Screenshots of the analytics pages of a running demo, at desktop and phone width, for a
// human to look at: node shots.mjs URL EMAIL PASSWORD [QUERY]. Output: output/shots-*.png.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, "output");
mkdirSync(out, { recursive: true });
const [url, email, password, query = "range=90"] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--headless", "--no-sandbox"] });
for (const [size, viewport] of Object.entries({ desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } })) {
  const page = await (await browser.newContext({ viewport })).newPage();
  page.on("console", (m) => m.type() === "error" && console.log(`console error: ${m.text()}`));
  await page.goto(url + "/login");
  await page.fill("#email", email);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(url + "/"), page.click("button[type=submit]")]);
  for (const name of ["dora", "prs", "flow"]) {
    await page.goto(`${url}/analytics/${name}?${query}`);
    await page.screenshot({ path: path.join(out, `shots-${name}-${size}.png`), fullPage: true });
  }
}
await browser.close();
console.log(`screenshots in ${out}`);
