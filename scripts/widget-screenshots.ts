/**
 * Regenerates the README's widget screenshots (docs/images/) from a running product: `npm start`, then
 * `node scripts/widget-screenshots.ts`. The simulator is told to reply with a little Markdown first.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from '../libs/testing/src/browser.ts';
import { ROOT } from './local.ts';

const PARLEY_URL = process.env.PARLEY_URL ?? 'http://localhost:3000';
const SIM_URL = process.env.LLM_SIM_URL ?? 'http://127.0.0.1:8000';
const OUT = join(ROOT, 'docs/images');

const REPLY = [
  'You can track your order from **My account → Orders**. For order *#10423*:',
  '',
  '1. It left our warehouse yesterday.',
  '2. Delivery is expected on `Thursday`.',
  '',
  'Need to change the address? See [delivery help](https://example.com/help).',
].join('\n');

const sim = await fetch(`${SIM_URL}/sim/config`, {
  method: 'PUT',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ replyText: REPLY, ttftMs: 200, interTokenMs: 15, burst: 1, fault: null }),
});
if (!sim.ok) throw new Error(`llm-sim at ${SIM_URL}: HTTP ${sim.status} (is npm start running with the simulator?)`);

mkdirSync(OUT, { recursive: true });
const browser = await launchChromium();
try {
  const shots = [
    {
      name: 'widget-desktop.png',
      viewport: { width: 1100, height: 760 },
      colorScheme: 'light' as const,
      mobile: false,
    },
    {
      name: 'widget-desktop-dark.png',
      viewport: { width: 1100, height: 760 },
      colorScheme: 'dark' as const,
      mobile: false,
    },
    { name: 'widget-mobile.png', viewport: { width: 390, height: 760 }, colorScheme: 'light' as const, mobile: true },
  ];
  for (const shot of shots) {
    const context = await browser.newContext({
      viewport: shot.viewport,
      colorScheme: shot.colorScheme,
      isMobile: shot.mobile,
      hasTouch: shot.mobile,
      deviceScaleFactor: 1,
    });
    const page = await context.newPage();
    await page.goto(PARLEY_URL);
    await page.locator('.launcher').click();
    await page.locator('textarea').fill('Where is my order?');
    await page.locator('textarea').press('Enter');
    // The reply is complete when the input is enabled again and the send button is no longer "Stop".
    await page.locator('.msg.assistant >> text=delivery help').waitFor({ timeout: 15_000 });
    await page.locator('.send:not(.stop)').waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(OUT, shot.name) });
    await context.close();
    console.log(`docs/images/${shot.name}`);
  }
} finally {
  await browser.close();
}
