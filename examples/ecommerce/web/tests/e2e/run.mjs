// Browser end-to-end tests of the web UI against a running eventshop-ecommerce
// (started by scripts/web-e2e.sh). Environment:
//   E2E_BASE_URL     the UI, e.g. http://127.0.0.1:3000 (required)
//   E2E_SCREENSHOTS  directory for page screenshots (default: none taken)
//   E2E_ONLY         comma-separated substrings of test names to run
import fs from "node:fs";
import path from "node:path";
import { assert, runSuite, test, waitFor } from "./harness.mjs";

const baseUrl = process.env.E2E_BASE_URL;
if (!baseUrl) {
  console.error("e2e: set E2E_BASE_URL to the UI's URL (scripts/web-e2e.sh does)");
  process.exit(2);
}
const shotsDir = process.env.E2E_SCREENSHOTS;
const only = process.env.E2E_ONLY ? process.env.E2E_ONLY.split(",") : undefined;

const config = await (await fetch(new URL("/config.json", baseUrl))).json();

async function screenshot(page, name) {
  if (!shotsDir) return;
  fs.mkdirSync(shotsDir, { recursive: true });
  await page.screenshot({ path: path.join(shotsDir, `${name}.png`), fullPage: true });
}

async function apiOrder(id) {
  const res = await fetch(`${config.status_api}/v1/orders/${encodeURIComponent(id)}`);
  if (!res.ok) throw new Error(`GET /v1/orders/${id}: ${res.status}`);
  return res.json();
}

async function apiStock(productId) {
  const res = await fetch(`${config.inventory_api}/v1/products`);
  const body = await res.json();
  const list = Array.isArray(body) ? body : body.products;
  const p = list.find((x) => (x.product_id ?? x.id) === productId);
  return p.stock ?? p.available;
}

async function waitLive(page) {
  await page.locator('[data-testid="connection"][data-state="open"]').first().waitFor({ timeout: 15_000 });
}

/** Fills the order form with `items` [[productId, qty], ...] and submits; returns the new order id. */
async function placeOrder(page, items) {
  await page.goto("/order/");
  await waitLive(page);
  await page.locator("select[name=product-0] option").first().waitFor({ state: "attached" });
  for (let i = 0; i < items.length; i++) {
    if (i > 0) await page.getByRole("button", { name: "+ Add item" }).click();
    await page.locator(`select[name=product-${i}]`).selectOption(items[i][0]);
    await page.locator(`input[name=quantity-${i}]`).fill(String(items[i][1]));
  }
  await page.getByRole("button", { name: "Place order" }).click();
  await page.waitForURL(/\/track\/\?id=/, { timeout: 15_000 });
  const id = new URL(page.url()).searchParams.get("id");
  assert(id, "no order id in the tracking URL");
  await page.locator('[data-testid="order-id"]').waitFor();
  return id;
}

/** Waits until the dashboard lists orders, if the server has any. */
async function waitForOrderRows(page) {
  await page.locator('[data-testid="orders-table"]').waitFor({ timeout: 10_000 });
  const res = await fetch(`${config.status_api}/v1/orders?limit=1`);
  const body = await res.json();
  const list = Array.isArray(body) ? body : Array.isArray(body.orders) ? body.orders : Object.values(body.orders ?? {});
  if (list.length > 0) await page.locator('[data-testid="orders-table"] tbody tr[data-order]').first().waitFor({ timeout: 10_000 });
}

async function statusOf(page) {
  return page.locator('[data-testid="order-status"]').getAttribute("data-status");
}

async function waitStatus(page, status, timeoutMs = 30_000) {
  await page.locator(`[data-testid="order-status"][data-status="${status}"]`).waitFor({ timeout: timeoutMs });
}

async function stepStates(page) {
  return page.locator('[data-testid="timeline"] [data-step]').evaluateAll((els) => els.map((e) => `${e.dataset.step}:${e.dataset.state}`));
}

const tests = [
  test("dashboard shows live stats, inventory and connects", async ({ page }) => {
    await page.goto("/");
    await waitLive(page);
    for (const p of ["product-1", "product-2", "product-3"]) {
      await page.locator(`[data-testid="stock-${p}"]`).waitFor({ timeout: 10_000 });
    }
    const names = await page.locator('[data-testid="inventory"] li').allTextContents();
    assert(names.some((n) => n.includes("Premium Widget")), `inventory lists Premium Widget: ${names}`);
    assert(names.some((n) => n.includes("Deluxe Gadget")) && names.some((n) => n.includes("Elite Device")), "inventory lists the catalog");
  }),

  test("create an order with several items and watch it reach shipped", async ({ page }) => {
    await page.goto("/order/");
    await waitLive(page);
    await page.locator("select[name=product-0] option").first().waitFor({ state: "attached" });
    await page.locator("select[name=product-0]").selectOption("product-1");
    await page.locator("input[name=quantity-0]").fill("2");
    await page.getByRole("button", { name: "+ Add item" }).click();
    await page.locator("select[name=product-1]").selectOption("product-2");
    await page.locator("input[name=quantity-1]").fill("1");
    const total = await page.locator('[data-testid="order-total"]').textContent();
    assert(total === "$109.97", `live price: expected $109.97, got ${total}`);
    await page.locator("input[name=quantity-1]").fill("0");
    await page.getByText("Quantity must be at least 1").waitFor();
    await page.locator("input[name=quantity-1]").fill("1");
    await screenshot(page, "order");
    await page.getByRole("button", { name: "Place order" }).click();
    await page.waitForURL(/\/track\/\?id=/, { timeout: 15_000 });
    const id = new URL(page.url()).searchParams.get("id");
    await waitStatus(page, "shipped");
    const tracking = (await page.locator('[data-testid="tracking-number"]').textContent())?.trim();
    assert(/^TRK[0-9A-F]{8}$/.test(tracking ?? ""), `tracking number: ${tracking}`);
    const carrier = (await page.locator('[data-testid="carrier"]').textContent())?.trim();
    assert(["FedEx", "UPS", "DHL", "USPS"].includes(carrier ?? ""), `carrier: ${carrier}`);
    await waitFor("every saga step done", async () => (await stepStates(page)).every((s) => s.endsWith(":done")), 10_000);
    const times = await page.locator('[data-testid="timeline"] time').count();
    assert(times === 5, `a timestamp per step: ${times}`);
    assert((await page.getByRole("button", { name: "Cancel order" }).count()) === 0, "no cancel button once shipped");
    const server = await apiOrder(id);
    assert(server.status === "shipped" && server.tracking_number === tracking, `server agrees: ${server.status} ${server.tracking_number}`);
    await screenshot(page, "tracking");
    // The dashboard lists it as shipped, live.
    await page.getByRole("link", { name: "Dashboard" }).click();
    await page.locator(`[data-order="${id}"][data-status="shipped"]`).waitFor({ timeout: 10_000 });
  }),

  test("an over-limit order shows the payment failure and the released stock", async ({ page }) => {
    const before = await apiStock("product-3");
    assert(before >= 21, `need 21 Elite Devices in stock, have ${before}`);
    await page.goto("/order/");
    await waitLive(page);
    await page.locator("select[name=product-0] option").first().waitFor({ state: "attached" });
    await page.locator("select[name=product-0]").selectOption("product-3");
    await page.locator("input[name=quantity-0]").fill("21");
    await page.locator('[data-testid="limit-warning"]').waitFor();
    await page.getByRole("button", { name: "Place order" }).click();
    await page.waitForURL(/\/track\/\?id=/, { timeout: 15_000 });
    await waitStatus(page, "payment_failed");
    const states = await stepStates(page);
    assert(states.includes("payment:failed"), `payment step failed: ${states}`);
    assert(states.includes("shipped:skipped"), `shipping skipped: ${states}`);
    await page.locator('[data-testid="compensation"] [data-step="released"][data-state="done"]').waitFor({ timeout: 15_000 });
    const detail = await page.locator('[data-testid="timeline"] [data-step="payment"]').textContent();
    assert(/amount exceeds limit/i.test(detail ?? ""), `payment failure reason shown: ${detail}`);
    await screenshot(page, "tracking-payment-failed");
    await page.getByRole("link", { name: "Dashboard" }).click();
    await waitFor(`Elite Device stock back to ${before}`, async () => Number(await page.locator('[data-testid="stock-product-3"]').textContent()) === before, 10_000);
  }),

  test("an error the API returns is shown with its message and field, and creates nothing", async ({ page, allowConsoleErrors }) => {
    // The browser itself logs every 4xx answer to the console; that one line is expected here.
    allowConsoleErrors(/status of 400/);
    const count = async () => {
      const body = await (await fetch(`${config.status_api}/v1/stats`)).json();
      return body.total_orders;
    };
    const before = await count();
    await page.goto("/order/");
    await waitLive(page);
    await page.locator("select[name=product-0] option").first().waitFor({ state: "attached" });
    await page.getByLabel("Customer id (optional)").fill("c".repeat(129));
    await page.getByRole("button", { name: "Place order" }).click();
    const msg = await page.locator('[data-testid="api-error"]').textContent({ timeout: 10_000 });
    assert(/customer_id must be at most 128 characters/.test(msg ?? ""), `API message shown: ${msg}`);
    const details = await page.getByRole("alert").filter({ hasText: "HTTP 400" }).textContent();
    assert(/field customer_id/.test(details ?? ""), `field shown: ${details}`);
    assert(new URL(page.url()).pathname === "/order/", "stays on the order form");
    assert((await count()) === before, "no order was created");
  }),

  test("cancel an order while it is cancellable", async ({ page }) => {
    const id = await placeOrder(page, [["product-2", 1]]);
    const cancel = page.getByRole("button", { name: "Cancel order" });
    await cancel.waitFor({ timeout: 5_000 });
    await cancel.click();
    await waitStatus(page, "cancelled");
    await page.locator('[data-testid="compensation"] [data-step="cancelled"][data-state="done"]').waitFor({ timeout: 10_000 });
    assert((await page.getByRole("button", { name: "Cancel order" }).count()) === 0, "no cancel button once cancelled");
    const server = await apiOrder(id);
    assert(server.status === "cancelled", `server status ${server.status}`);
    await screenshot(page, "tracking-cancelled");
  }),

  test("a dropped WebSocket reconnects, resumes and shows every missed step", async ({ page }) => {
    let blocked = false;
    let current = null;
    const sent = [];
    const received = [];
    await page.routeWebSocket(/\/v1\/ws$/, (ws) => {
      if (blocked) {
        ws.close({ code: 4001, reason: "test: server unreachable" });
        return;
      }
      current = ws;
      const server = ws.connectToServer();
      // Forward both ways, noting the frames that show the resume.
      ws.onMessage((m) => {
        sent.push(String(m));
        server.send(m);
      });
      server.onMessage((m) => {
        received.push(String(m));
        ws.send(m);
      });
    });
    const id = await placeOrder(page, [["product-1", 1]]);
    // Drop only once the page holds a position on the order's channel to resume from.
    await waitFor("the page to be subscribed to the order's channel", () =>
      page.evaluate((c) => window.__eventshop.client.cursor(c)?.epoch !== undefined, `order:${id}`), 10_000);
    const seen = await statusOf(page);
    assert(seen !== "shipped", "order already shipped before the drop; the step delay is too short");
    blocked = true;
    current.close({ code: 4000, reason: "test: connection dropped" });
    await page.locator('[data-testid="connection"][data-state="reconnecting"]').first().waitFor({ timeout: 5_000 });
    // While the browser is cut off, the saga goes on: wait until the server has shipped.
    await waitFor("the server to ship the order", async () => (await apiOrder(id)).status === "shipped", 30_000, 200);
    assert((await statusOf(page)) !== "shipped", "the page cannot know about the shipment while disconnected");
    blocked = false;
    // No user action: the client reconnects by itself (back-off at most 10 s) and resumes.
    await waitLive(page);
    await waitStatus(page, "shipped", 15_000);
    await waitFor("every saga step done after resume", async () => (await stepStates(page)).every((s) => s.endsWith(":done")), 10_000);
    const info = await page.evaluate(() => window.__eventshop.client.connectionInfo());
    assert(info.reconnects >= 1, `reconnected: ${JSON.stringify(info)}`);
    // The client resumed the order's channel from where it was, and the server recovered.
    const channel = `order:${id}`;
    const resume = sent.map((m) => JSON.parse(m)).find((f) => f.op === "subscribe" && f.channel === channel && f.since);
    assert(resume && typeof resume.since.offset === "number" && resume.since.epoch, `resubscribed with since: ${JSON.stringify(resume)}; sent: ${sent.join(" ")}; received: ${received.filter((m) => m.includes("subscribed")).join(" ")}`);
    const answer = received.map((m) => JSON.parse(m)).filter((f) => f.type === "subscribed" && f.channel === channel).pop();
    assert(answer && answer.recovered === true, `recovered: ${JSON.stringify(answer)}`);
  }),

  test("event stream shows events and filters them", async ({ page }) => {
    await page.goto("/events/");
    await waitLive(page);
    await page.locator('[data-testid="event-stream"] tr[data-type="Shipped"]').first().waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="event-stream"] tr[data-type="OrderCreated"]').first().waitFor();
    await screenshot(page, "events");
    await page.getByLabel("Type").selectOption("PaymentFailed");
    const types = await page.locator('[data-testid="event-stream"] tbody tr[data-type]').evaluateAll((rows) => rows.map((r) => r.dataset.type));
    assert(types.length > 0 && types.every((t) => t === "PaymentFailed"), `filtered by type: ${types}`);
    await page.getByLabel("Type").selectOption("");
    await page.getByLabel("shipping").check();
    const topics = await page.locator('[data-testid="event-stream"] tbody tr[data-type]').evaluateAll((rows) => rows.map((r) => r.dataset.type));
    assert(topics.length > 0 && topics.every((t) => t === "Shipped"), `filtered by topic: ${topics}`);
  }),

  test("admin restocks a product and the inventory updates", async ({ page }) => {
    const before = await apiStock("product-2");
    await page.goto("/admin/");
    await waitLive(page);
    await page.locator('[data-testid="stock-product-2"]').waitFor({ timeout: 10_000 });
    await page.getByLabel("Product", { exact: true }).selectOption("product-2");
    await page.getByLabel("Quantity to add").fill("7");
    await page.getByRole("button", { name: "Restock" }).click();
    const msg = await page.locator('[data-testid="restock-result"]').textContent({ timeout: 10_000 });
    assert(msg.includes(String(before + 7)), `restock result shows the new stock ${before + 7}: ${msg}`);
    await waitFor("inventory shows the new stock", async () => Number(await page.locator('[data-testid="stock-product-2"]').textContent()) === before + 7, 10_000);
    assert((await apiStock("product-2")) === before + 7, "server stock");
    await page.getByRole("heading", { name: "Dead-lettered events" }).waitFor();
    await waitFor("dead letters loaded", async () => (await page.locator('[data-testid="dead-letters"], [data-testid="dlq-missing"]').count()) > 0, 10_000);
    await screenshot(page, "admin");
    await page.getByLabel("Quantity to add").fill("0");
    await page.getByRole("button", { name: "Restock" }).click();
    await page.getByText("Quantity must be at least 1").waitFor();
  }),

  test("a low-stock warning appears live and goes away after a restock", async ({ page }) => {
    const stock = await apiStock("product-3");
    const take = stock - 5; // Elite Device's alert level is 5
    assert(take >= 1 && take * 99.99 <= 2000, `test needs 6..25 Elite Devices in stock, have ${stock}`);
    const dash = await page.context().newPage();
    try {
      await dash.goto("/");
      await waitLive(dash);
      await dash.locator('[data-product="product-3"][data-low="false"]').waitFor({ timeout: 10_000 });
      const id = await placeOrder(page, [["product-3", take]]);
      await waitStatus(page, "shipped");
      // The other tab, untouched, shows the warning through the live channels alone.
      await dash.locator('[data-product="product-3"][data-low="true"]').waitFor({ timeout: 10_000 });
      await dash.locator('[data-product="product-3"]').getByText("Low stock").waitFor();
      assert(Number(await dash.locator('[data-testid="stock-product-3"]').textContent()) === 5, "5 left");
      await screenshot(dash, "dashboard-low-stock");
      assert(id, "order placed");
    } finally {
      await dash.close();
    }
    await page.goto("/admin/");
    await waitLive(page);
    await page.getByLabel("Product", { exact: true }).selectOption("product-3");
    await page.getByLabel("Quantity to add").fill("20");
    await page.getByRole("button", { name: "Restock" }).click();
    await page.locator('[data-testid="restock-result"]').getByText("25 in stock").waitFor({ timeout: 10_000 });
    await page.locator('[data-product="product-3"][data-low="false"]').waitFor({ timeout: 10_000 });
  }),

  test("tracking an unknown order id says so", async ({ page }) => {
    await page.goto("/track/");
    await waitLive(page);
    await page.getByLabel("Order id").fill("no-such-order");
    await page.getByLabel("Order id").press("Enter");
    await page.waitForURL(/\/track\/\?id=no-such-order$/);
    const text = await page.locator('[data-testid="order-unknown"]').textContent({ timeout: 10_000 });
    assert(/No order with id no-such-order is known/.test(text ?? ""), `message: ${text}`);
  }),

  test("dashboard screenshots and keyboard navigation", async ({ page }) => {
    await page.goto("/");
    await waitLive(page);
    await waitForOrderRows(page);
    await screenshot(page, "dashboard");
    await page.keyboard.press("Tab");
    const first = await page.evaluate(() => document.activeElement?.textContent);
    assert(first === "Skip to content", `first Tab reaches the skip link: ${first}`);
    // Reach "New order" with the keyboard and follow it.
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press("Tab");
      if ((await page.evaluate(() => document.activeElement?.textContent)) === "New order") break;
    }
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/order\/$/);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto("/");
    await waitLive(page);
    await waitForOrderRows(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert(overflow <= 0, `no horizontal page scroll on a phone: ${overflow}px`);
    await screenshot(page, "dashboard-mobile");
  }),
];

const ok = await runSuite(tests, { baseUrl, only });
process.exit(ok ? 0 : 1);
