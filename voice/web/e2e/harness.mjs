// What the e2e scripts share: headless Chromium as a user's browser on loopback, and steps that
// print ok/FAIL (with the page's last console lines and a screenshot) and stop at the first
// failure with exit code 1.
import { chromium } from "playwright-core";

export const timeout = 30_000;

export async function openBrowser(screenshot, extraArgs = []) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      // Let WebRTC offer plain host addresses on loopback (no mDNS names the server can't resolve).
      "--disable-features=WebRtcHideLocalIpsWithMdns",
      ...extraArgs,
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  const log = [];
  page.on("console", (message) => log.push(`console.${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => log.push(`pageerror: ${error.message}`));

  async function step(name, action) {
    try {
      await action();
      console.log(`ok   ${name}`);
    } catch (error) {
      console.log(`FAIL ${name}: ${error.message.split("\n")[0]}`);
      await page.screenshot({ path: screenshot.replace(/\.png$/, "-failed.png") }).catch(() => {});
      console.log(log.slice(-30).join("\n"));
      await browser.close();
      process.exit(1);
    }
  }
  return { browser, page, step };
}

export async function connect(page, step) {
  await step("page loads with its controls", async () => {
    await page.goto(process.env.HYBRIDBOT_URL ?? "http://127.0.0.1:7860/");
    await page.getByRole("button", { name: "Connect" }).waitFor({ timeout });
  });
  await step("connects over WebRTC", async () => {
    await page.getByRole("button", { name: "Connect" }).click();
    await page.locator('#status[data-state="ready"]').waitFor({ timeout });
  });
}
