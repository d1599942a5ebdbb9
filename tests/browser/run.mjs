// Headless Chromium against the real demo (service + simulators on loopback).
// Prints "N passed, N failed" and exits non-zero on any failure. Screenshots: output/.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const bin = process.env.PULSE_BIN ?? path.join(root, "target/debug/pulse-etl");
const out = path.join(here, "output");
mkdirSync(out, { recursive: true });

const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const VIEWPORTS = { desktop: { width: 1280, height: 860 }, phone: { width: 390, height: 844 } };

function startDemo() {
  const dataDir = mkdtempSync(path.join(tmpdir(), "pulse-browser-"));
  const child = spawn(bin, ["demo", "--bind", "127.0.0.1:0", "--data-dir", dataDir, "--json"],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LOG_LEVEL: "warn" } });
  child.stderr.on("data", (d) => process.stderr.write(d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("demo did not print its URL within 60 s")), 60_000);
    createInterface({ input: child.stdout }).once("line", (line) => {
      clearTimeout(timer);
      resolve({ child, dataDir, info: JSON.parse(line) });
    });
    child.once("exit", (code) => reject(new Error(`demo exited early with ${code}`)));
  });
}

const results = [];
async function check(name, fn) {
  try {
    await fn();
    results.push([name, true]);
    console.log(`ok   ${name}`);
  } catch (e) {
    results.push([name, false]);
    console.log(`FAIL ${name}\n     ${e.stack ?? e}`);
  }
}
function assert(cond, message) { if (!cond) throw new Error(message); }

/** A page that records console errors, page errors and failed requests. */
async function watchedPage(browser, viewport, expected = []) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !expected.some((re) => re.test(m.text()))) problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  // ERR_ABORTED is a request cancelled by the page navigating away, not a failure.
  page.on("requestfailed", (r) => {
    if (r.failure()?.errorText !== "net::ERR_ABORTED") problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  return { context, page, problems };
}

async function login(page, url, email, password) {
  await page.goto(url + "/");
  assert(new URL(page.url()).pathname === "/login", `expected the login page, got ${page.url()}`);
  await page.fill("#email", email);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(url + "/"), page.click("button[type=submit]")]);
}

const { child, dataDir, info } = await startDemo();
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_ARGS });
try {
  for (const [size, viewport] of Object.entries(VIEWPORTS)) {
    await check(`${size}: admin logs in and sees both job cards`, async () => {
      const { context, page, problems } = await watchedPage(browser, viewport);
      await page.goto(info.url + "/");
      await page.screenshot({ path: path.join(out, `login-${size}.png`), fullPage: true });
      await login(page, info.url, "admin@example.com", "pulse-admin");
      assert(await page.locator(".job-card").count() === 2, "two job cards");
      assert(await page.locator("[data-job=jira_sync] [data-status]").count() === 1, "jira badge");
      assert(await page.locator("[data-job=github_sync] [data-status]").count() === 1, "github badge");
      await page.screenshot({ path: path.join(out, `dashboard-admin-${size}.png`), fullPage: true });
      assert(problems.length === 0, problems.join("\n"));
      await context.close();
    });
  }

  await check("admin saves the schedule with htmx: errors beside the field, then saved, no reload", async () => {
    // The browser logs the 422 of the invalid submission; that one is expected.
    const { context, page, problems } = await watchedPage(browser, VIEWPORTS.desktop, [/status of 422/]);
    await login(page, info.url, "admin@example.com", "pulse-admin");
    await page.evaluate(() => { window.__noReload = true; });
    await page.fill("#interval_minutes", "0");
    await page.click("#orchestrator-panel button[type=submit]");
    await page.waitForSelector("#interval_minutes-error");
    await page.fill("#interval_minutes", "45");
    await page.click("#orchestrator-panel button[type=submit]");
    await page.waitForSelector("#orchestrator-panel .notice");
    assert(await page.evaluate(() => window.__noReload === true), "the page was reloaded");
    const api = await page.evaluate(async () => (await fetch("/api/v1/orchestrator/settings")).json());
    assert(api.interval_minutes === 45, `saved interval is ${api.interval_minutes}`);
    assert(problems.length === 0, problems.join("\n"));
    await context.close();
  });

  await check("admin sees the demo integrations, and a bad form keeps its input with errors", async () => {
    const { context, page, problems } = await watchedPage(browser, VIEWPORTS.desktop, [/status of 422/]);
    await login(page, info.url, "admin@example.com", "pulse-admin");
    await page.click("nav >> text=Integrations");
    await page.waitForURL(info.url + "/integrations");
    const rows = await page.locator("#integrations-table tbody tr").count();
    assert(rows === 3, `three demo integrations (Jira, GitHub, GitLab), got ${rows}`);
    assert(await page.locator("#integrations-table .badge-ok", { hasText: "passed" }).count() === 3, "all three tested ok");
    await page.screenshot({ path: path.join(out, "integrations-desktop.png"), fullPage: true });
    await page.click("text=Add GitHub");
    await page.fill("#name", "Broken");
    await page.fill("#base_url", "ftp://github.example.com"); // passes the browser's URL check, not ours
    await page.fill("#secret", "x");
    await page.click(".integration-form button[type=submit]");
    await page.waitForSelector("#base_url-error");
    assert(await page.inputValue("#name") === "Broken", "input kept");
    await page.screenshot({ path: path.join(out, "integration-form-errors.png"), fullPage: true });
    assert(problems.length === 0, problems.join("\n"));
    await context.close();
  });

  await check("admin watches a sync go RUNNING → FINISHED live, and the page survives a dropped socket", async () => {
    const { context, page, problems } = await watchedPage(browser, VIEWPORTS.desktop);
    await login(page, info.url, "admin@example.com", "pulse-admin");
    await page.waitForFunction(() => document.body.getAttribute("data-live") === "on", null, { timeout: 15000 });
    // The demo's first cycle (started at launch: Jira, then the Git job) finishes on its own;
    // then start from a fresh page. "Nothing running" alone is also true for a moment between
    // the two jobs; the Git job then ran with the latency below and the Jira start waited
    // behind its first full GitLab sync for minutes.
    const idle = () => page.waitForFunction(async () => {
      const s = await (await fetch("/api/v1/jobs/status")).json();
      return s.jobs.every((j) => j.status !== "RUNNING" && j.status !== "PENDING")
        && s.jobs.find((j) => j.job_type === "github_sync").status === "FINISHED";
    }, null, { timeout: 180000, polling: 500 });
    await idle();
    await page.waitForTimeout(3000); // still idle a moment later: no job queued in between
    await idle();
    await page.reload();
    await page.waitForFunction(() => document.body.getAttribute("data-live") === "on", null, { timeout: 15000 });
    await page.evaluate(() => {
      window.__noReload = true;
      window.__seen = [];
      const record = () => {
        const s = document.querySelector('[data-job="jira_sync"] [data-status]');
        if (s && window.__seen[window.__seen.length - 1] !== s.dataset.status) window.__seen.push(s.dataset.status);
      };
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    // A sync that finds nothing new finishes in a fraction of a second, faster than the page
    // renders its answer to the click, so RUNNING could never be on screen. Upstream latency
    // (as real Jira has) makes the run last a few seconds; the knobs go back afterwards. GitLab's
    // per-minute limit is lifted meanwhile: the demo's first GitLab sync spends most of a
    // minute's 2,000 requests, and a Git job started again within that minute waits for it,
    // which kept the Jira start queued behind it past the timeout.
    const simConfig = info.sim.admin + "/sim/config";
    const knobs = await (await fetch(simConfig)).json();
    const slow = await fetch(simConfig, { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...knobs, latency_ms: 400, gitlab_per_minute: 0 }) });
    assert(slow.ok, `sim config: ${slow.status}`);
    try {
      await page.click('[data-job="jira_sync"] button[data-action="start"]');
      // RUNNING (or PENDING) appears after the click, then FINISHED, without a reload.
      await page.waitForFunction(() => {
        const s = window.__seen;
        const i = Math.max(s.indexOf("RUNNING"), s.indexOf("PENDING"));
        return i >= 0 && s.lastIndexOf("FINISHED") > i;
      }, null, { timeout: 120000 }).catch(async (e) => {
        const jobs = await page.evaluate(async () => (await (await fetch("/api/v1/jobs/status")).json()).jobs
          .map((j) => `${j.job_type} ${j.status} ${j.progress}% ${j.message ?? ""} ${j.last_error ?? ""}`));
        throw new Error(`${e.message}; the card showed ${await page.evaluate(() => window.__seen)}; jobs: ${jobs.join(" | ")}`);
      });
    } finally {
      await fetch(simConfig, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(knobs) });
    }
    const seen = await page.evaluate(() => window.__seen);
    assert(seen[seen.length - 1] === "FINISHED", `saw ${seen}`);
    await page.waitForFunction(() => document.querySelector('[data-job="jira_sync"] [data-status]').dataset.status === "FINISHED");
    assert(await page.evaluate(() => window.__noReload === true), "no reload");
    await page.screenshot({ path: path.join(out, "dashboard-after-sync.png"), fullPage: true });
    await page.evaluate(() => window.pulseLive.disconnect());
    await page.waitForSelector(`#connection-banner:not([hidden])`, { timeout: 5000 });
    await page.screenshot({ path: path.join(out, "dashboard-disconnected.png"), fullPage: true });
    await page.waitForFunction(() => window.pulseLive.isConnected(), null, { timeout: 15000 });
    await page.waitForSelector(`#connection-banner[hidden]`, { state: "attached", timeout: 5000 });
    assert(problems.length === 0, problems.join("\n"));
    await context.close();
  });

  await check("viewer sees the dashboard read-only", async () => {
    const { context, page, problems } = await watchedPage(browser, VIEWPORTS.desktop);
    await login(page, info.url, "viewer@example.com", "pulse-viewer");
    assert(await page.locator("#orchestrator-panel button[type=submit]").count() === 0, "no save button");
    assert(await page.locator("#orchestrator-panel fieldset[disabled]").count() === 1, "disabled fieldset");
    await page.screenshot({ path: path.join(out, "dashboard-viewer-desktop.png"), fullPage: true });
    await page.goto(info.url + "/integrations");
    assert(await page.locator("#integrations-table tbody tr").count() === 3, "viewers read integrations");
    assert(await page.locator("td.actions").count() === 0, "but get no actions");
    assert(problems.length === 0, problems.join("\n"));
    await context.close();
  });

  await check("logout from the user menu returns to the login page", async () => {
    const { context, page, problems } = await watchedPage(browser, VIEWPORTS.desktop);
    await login(page, info.url, "admin@example.com", "pulse-admin");
    await page.click(".usermenu summary");
    await Promise.all([page.waitForURL(/\/login\?logged_out=1/), page.click(".usermenu-panel button[type=submit]")]);
    await page.goto(info.url + "/");
    assert(new URL(page.url()).pathname === "/login", "logged out");
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name.endsWith("pulse_session"));
    assert(!session || session.httpOnly, "session cookie is HttpOnly");
    assert(problems.length === 0, problems.join("\n"));
    await context.close();
  });
  // Analytics: once the demo's first syncs finish, the three pages show numbers and SVG charts
  // (desktop and phone), without console errors. Screenshots: output/analytics-*.png.
  await check("analytics pages render charts from the demo's data", async () => {
    for (const [size, viewport] of Object.entries(VIEWPORTS)) {
      const { context, page, problems } = await watchedPage(browser, viewport);
      await login(page, info.url, "viewer@example.com", "pulse-viewer");
      const deadline = Date.now() + 120_000;
      for (;;) {
        const status = await (await page.request.get(info.url + "/api/v1/jobs/status")).json();
        // Settled, and each job has succeeded at least once (a later run may have failed).
        const settled = status.jobs.every((j) => j.status !== "RUNNING" && j.status !== "PENDING");
        if (settled && status.jobs.every((j) => j.last_success_at)) break;
        assert(Date.now() < deadline, `syncs did not finish: ${JSON.stringify(status.jobs.map((j) => [j.status, j.last_error]))}`);
        await page.waitForTimeout(1000);
      }
      for (const name of ["dora", "prs", "flow"]) {
        await page.goto(`${info.url}/analytics/${name}?range=90`);
        const charts = await page.locator("figure.chart svg[role=img]").count();
        assert(charts >= 3, `${name}: ${charts} charts`);
        const labelled = await page.locator("figure.chart svg[role=img] > title").count();
        assert(labelled === charts, `${name}: every chart has a <title>`);
        const values = await page.locator(".metric-value:not(.na)").count();
        assert(values >= 4, `${name}: ${values} numbers shown`);
        await page.screenshot({ path: path.join(out, `analytics-${name}-${size}.png`), fullPage: true });
      }
      assert(problems.length === 0, problems.join("\n"));
      await context.close();
    }
  });

  await check("flow: admin deletes a mapping, sees it unmapped, maps it in one click, and deletes a step through the reassign dialog", async () => {
    const { context, page, problems } = await watchedPage(browser, VIEWPORTS.desktop);
    await login(page, info.url, "admin@example.com", "pulse-admin");
    await page.click("nav >> text=Flow");
    await page.waitForURL(info.url + "/flow");
    assert(await page.locator("#flow-steps tbody tr").count() >= 8, "the default steps are listed");
    await page.screenshot({ path: path.join(out, "flow-desktop.png"), fullPage: true });
    await page.evaluate(() => { window.__flowNoReload = true; });
    // Delete the "Blocked" status mapping: the dialog shows the impact first.
    await page.click('#status-mappings tr[data-status="Blocked"] >> text=Delete…');
    await page.waitForSelector("dialog.flow-dialog #flow-removal");
    await page.screenshot({ path: path.join(out, "flow-dialog-status.png") });
    await page.click("dialog.flow-dialog button[type=submit]");
    await page.waitForSelector('#unmapped-table tr[data-unmapped-status="Blocked"]');
    // The dashboard says so, linking back here.
    const fresh = await context.newPage();
    await fresh.goto(info.url + "/");
    assert(await fresh.locator("#flow-unmapped").count() === 1, "the dashboard reports the unmapped status");
    await fresh.close();
    // One click maps it again.
    await page.selectOption('#unmapped-table tr[data-unmapped-status="Blocked"] select', { label: "Waiting (Waiting)" });
    await page.click('#unmapped-table tr[data-unmapped-status="Blocked"] button[type=submit]');
    await page.waitForSelector("#unmapped", { state: "detached" });
    assert(await page.locator('#status-mappings tr[data-status="Blocked"]').count() === 1, "mapped again");
    // Delete a step that mappings use: choose where they go.
    await page.click('#flow-steps tr[data-step="Code Review"] >> text=Delete…');
    await page.waitForSelector('dialog.flow-dialog [data-impact="status_mappings"]');
    const moving = await page.getAttribute('dialog.flow-dialog [data-impact="status_mappings"]', "data-count");
    assert(Number(moving) >= 2, `mappings that move: ${moving}`);
    await page.screenshot({ path: path.join(out, "flow-dialog-step.png") });
    await page.selectOption("dialog.flow-dialog #reassign_to", { label: "In Progress (In progress)" });
    await page.click("dialog.flow-dialog button[type=submit]");
    await page.waitForSelector('#flow-steps tr[data-step="Code Review"]', { state: "detached" });
    assert(await page.locator("dialog.flow-dialog").count() === 0, "the dialog closed");
    assert(await page.locator('#status-mappings tr[data-status="In Review"] >> text=In Progress').count() === 1, "its mappings moved");
    assert(await page.evaluate(() => window.__flowNoReload === true), "htmx swapped without a reload");
    const phone = await context.newPage();
    await phone.setViewportSize(VIEWPORTS.phone);
    await phone.goto(info.url + "/flow");
    await phone.screenshot({ path: path.join(out, "flow-phone.png"), fullPage: true });
    await phone.close();
    assert(problems.length === 0, problems.join("\n"));
    await context.close();
  });

  // Every page, as admin and as viewer, desktop and phone: no console errors or failed
  // requests, a screenshot each, and basic accessibility (labelled inputs, no skipped heading
  // levels, badge text contrast ≥ 4.5:1, no sideways scrolling). Screenshots: output/walk-<role>-<size>-<page>.png.
  const PAGES = ["/", "/jobs/jira_sync", "/jobs/github_sync", "/integrations", "/flow",
    "/analytics/dora", "/analytics/prs", "/analytics/flow", "/logout"];
  const ADMIN_PAGES = ["/integrations/new?kind=jira", "/integrations/new?kind=github",
    "/integrations/1/edit", "/integrations/1/delete", "/flow/steps/1/edit", "/flow/steps/1/delete"];
  for (const [role, email, password, pages] of [
    ["admin", "admin@example.com", "pulse-admin", [...PAGES, ...ADMIN_PAGES]],
    ["viewer", "viewer@example.com", "pulse-viewer", PAGES],
  ]) {
    for (const [size, viewport] of Object.entries(VIEWPORTS)) {
      await check(`${role}, ${size}: every page renders cleanly and accessibly`, async () => {
        const { context, page, problems } = await watchedPage(browser, viewport);
        await login(page, info.url, email, password);
        const issues = [];
        const seen = { inputs: 0, headings: 0, badges: 0 };
        for (const p of pages) {
          const res = await page.goto(info.url + p);
          if (!res || res.status() !== 200) issues.push(`${p}: status ${res && res.status()}`);
          const name = p.replace(/[^a-z0-9]+/gi, "_").replace(/^_|_$/g, "") || "dashboard";
          await page.screenshot({ path: path.join(out, `walk-${role}-${size}-${name}.png`), fullPage: true });
          const found = await page.evaluate(() => {
            const out = [];
            const counts = { inputs: 0, headings: 0, badges: 0 };
            const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
            for (const el of document.querySelectorAll("input, select, textarea")) {
              if (["hidden", "submit", "button", "reset"].includes(el.type)) continue;
              counts.inputs++;
              const named = el.labels?.length || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby") || el.title;
              if (!named) out.push(`unlabelled ${el.tagName.toLowerCase()}#${el.id || el.name}`);
            }
            if (document.documentElement.scrollWidth > window.innerWidth + 1) {
              out.push(`page is ${document.documentElement.scrollWidth} px wide in a ${window.innerWidth} px viewport`);
            }
            let last = 0;
            for (const h of document.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
              if (!visible(h)) continue;
              counts.headings++;
              const level = Number(h.tagName[1]);
              if (level > last + 1) out.push(`heading h${level} after h${last}: "${h.textContent.trim().slice(0, 40)}"`);
              last = level;
            }
            const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
            const lum = ([r, g, b]) => {
              const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
              return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
            };
            const background = (el) => {
              for (let e = el; e; e = e.parentElement) {
                const c = rgb(getComputedStyle(e).backgroundColor);
                if (c.length >= 3 && (c.length < 4 || c[3] > 0)) return c;
              }
              return [255, 255, 255];
            };
            for (const b of document.querySelectorAll(".badge")) {
              if (!visible(b)) continue;
              counts.badges++;
              const fg = lum(rgb(getComputedStyle(b).color)), bg = lum(background(b));
              const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
              if (ratio < 4.5) out.push(`badge "${b.textContent.trim()}" (${b.className}) contrast ${ratio.toFixed(2)}`);
            }
            return { out, counts };
          });
          issues.push(...found.out.map((f) => `${p}: ${f}`));
          for (const k of Object.keys(seen)) seen[k] += found.counts[k];
        }
        // The checks had something to check.
        assert(seen.inputs > 5 && seen.headings > pages.length && seen.badges > 5, `checked ${JSON.stringify(seen)}`);
        console.log(`     ${role}, ${size}: ${pages.length} pages, ${JSON.stringify(seen)}`);
        assert(issues.length === 0, issues.join("\n"));
        assert(problems.length === 0, problems.join("\n"));
        await context.close();
      });
    }
  }
} finally {
  await browser.close();
  child.kill("SIGTERM");
  rmSync(dataDir, { recursive: true, force: true });
}

const failed = results.filter(([, ok]) => !ok).length;
console.log(`browser: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
