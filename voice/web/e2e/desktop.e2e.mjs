// End-to-end: the web client in real headless Chromium against a running stack.
// Usage: HYBRIDBOT_URL=http://127.0.0.1:7860/ SCREENSHOT=out.png node e2e/desktop.e2e.mjs
// (connects with no microphone; e2e/speech.e2e.mjs speaks to it).
// With OFFLINE=1 (no model, no OpenClaw) the research steps are replaced by checking that a
// request only a model could answer gets the spoken "no language model" explanation. With
// TEXT_ONLY=1 (a voice service with no TTS) the page must say once that speech output is off.
// (tests/test_browser_client.py starts the stack with a fake model and a fake OpenClaw and
// runs this). Exits 0 when every step held, 1 with the failing step otherwise.
import { connect, openBrowser, timeout } from "./harness.mjs";

const screenshot = process.env.SCREENSHOT ?? "test-results/desktop.png";
const research = process.env.RESEARCH ?? "research the best GPUs";
const offline = process.env.OFFLINE === "1";
const textOnly = process.env.TEXT_ONLY === "1";

const { browser, page, step } = await openBrowser(screenshot);
await connect(page, step);
if (textOnly) {
  await step("the page says once that speech output is off, and how to turn it on", async () => {
    const notice = page.locator("#transcript .notice", { hasText: "Speech output is off" });
    await notice.waitFor({ timeout });
    if ((await notice.count()) !== 1) throw new Error("the notice was shown more than once");
    if (!(await notice.textContent()).includes("espeak-ng")) throw new Error("no fix named");
  });
}
await step('"open my notes" opens the notes panel', async () => {
  await page.locator("#text").fill("open my notes");
  await page.locator("#text").press("Enter");
  await page.locator("#transcript .user", { hasText: "open my notes" }).waitFor({ timeout });
  await page.locator("#notes:not([hidden])").waitFor({ timeout });
  await page.locator("#note-list li", { hasText: process.env.NOTE ?? "" }).first().waitFor({ timeout });
  await page.locator("#transcript .bot.done").first().waitFor({ timeout });
});
async function say(text) {
  await page.locator("#text").fill(text);
  await page.locator("#text").press("Enter");
}
await step('"open note 2" shows that note', async () => {
  await say("open note 2");
  await page.locator("#note-title", { hasText: process.env.NOTE ?? "" }).waitFor({ timeout });
  await page.locator("#note-position", { hasText: "2 of 2" }).waitFor({ timeout });
});
await step('"open the browser" opens a focused window', async () => {
  await say("open the browser");
  await page.locator('#windows .window[data-app="browser"].focused').waitFor({ timeout });
});
await step('"play lofi on youtube" shows a now-playing card', async () => {
  await say("play lofi on youtube");
  await page.locator('#now-playing:not([hidden]) #youtube[data-state="playing"]', { hasText: "lofi" }).waitFor({ timeout });
});
await step('"switch to focus view" changes the view', async () => {
  await say("switch to focus view");
  await page.locator("#view", { hasText: "focus" }).waitFor({ timeout });
});
if (offline) {
  await step("a request only a model could answer is explained, not dropped", async () => {
    await say("tell me a joke");
    await page.locator("#transcript .bot", { hasText: "No language model is configured" }).waitFor({ timeout });
  });
} else {
  await step(`"${research}" shows a running task card`, async () => {
    await say(research);
    await page.locator('.task[data-status="running"]').waitFor({ timeout });
  });
  await step("the task card goes to done with the result text", async () => {
    await page.locator('.task[data-status="done"] .result', { hasText: process.env.RESULT ?? "" }).waitFor({ timeout });
    await page.locator("#transcript .bot.task", { hasText: process.env.RESULT ?? "" }).waitFor({ timeout });
  });
}
await step("screenshot", async () => {
  await page.screenshot({ path: screenshot });
});
await browser.close();
