// End-to-end by voice: Chromium's microphone is a WAV file (a spoken command between moments of
// silence, played in a loop), the page connects and turns the microphone on as a user would;
// the voice service hears it (VAD, Smart Turn, local Whisper), the routers act, and the bot's
// spoken answer reaches the page, where its samples are measured.
// Usage: HYBRIDBOT_URL=... MIC_WAV=command.wav HEARD="open my notes" node e2e/speech.e2e.mjs
// HEARD: words the transcript must hold (any case); SHOWS: a selector the answer must make
// visible (e.g. "#notes:not([hidden])"); REPLY: text the bot's answer must hold.
// (tests/test_browser_client.py starts the stack and runs this.) Exit 0 when every step held.
import { connect, openBrowser, timeout } from "./harness.mjs";

const screenshot = process.env.SCREENSHOT ?? "test-results/speech.png";
const heard = (process.env.HEARD ?? "").toLowerCase();
const { browser, page, step } = await openBrowser(screenshot, [
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream",
  `--use-file-for-fake-audio-capture=${process.env.MIC_WAV}`,
  "--autoplay-policy=no-user-gesture-required",
]);
await connect(page, step);
await step("the page listens to the bot's audio track", async () => {
  await page.waitForFunction(() => document.getElementById("bot-audio").srcObject, null, { timeout });
  await page.evaluate(async () => {
    // The loudest sample of the bot's track so far, read every 20 ms (Web Audio, in the page).
    const context = new AudioContext();
    await context.resume();
    const analyser = context.createAnalyser();
    analyser.fftSize = 2048;
    const stream = document.getElementById("bot-audio").srcObject;
    context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    window.loudestBotSample = 0;
    setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      for (const sample of samples) {
        window.loudestBotSample = Math.max(window.loudestBotSample, Math.abs(sample));
      }
    }, 20);
  });
});
await step("the microphone turns on", async () => {
  await page.locator("#mute").click();
  await page.locator("#mute", { hasText: "Mic on" }).waitFor({ timeout });
});
await step(`the transcript shows what was said ("${heard}")`, async () => {
  await page.waitForFunction(
    (words) =>
      [...document.querySelectorAll("#transcript .user")].some((line) =>
        line.textContent.toLowerCase().replace(/[^a-z0-9 ]/g, "").includes(words),
      ),
    heard,
    { timeout },
  );
});
if (process.env.SHOWS) {
  await step(`the answer acts on the desktop (${process.env.SHOWS})`, async () => {
    await page.locator(process.env.SHOWS).first().waitFor({ timeout });
  });
}
if (process.env.REPLY) {
  await step(`the bot answers "${process.env.REPLY}"`, async () => {
    await page.locator("#transcript .bot", { hasText: process.env.REPLY }).first().waitFor({ timeout });
  });
}
await step("the bot's answer is heard: non-silent samples arrive at the page", async () => {
  await page.waitForFunction(() => window.loudestBotSample >= 0.05, null, { timeout });
  const loudest = await page.evaluate(() => window.loudestBotSample);
  console.log(`     loudest bot sample: ${loudest.toFixed(3)}`);
});
await step("screenshot", async () => {
  await page.screenshot({ path: screenshot });
});
await browser.close();
