#!/usr/bin/env node
// Opens an fb-report page in headless Chromium (playwright-core driving
// Debian's /usr/bin/chromium) and checks what a reader would see:
//   no console errors or page errors, no network request at all,
//   every <img> decoded (naturalWidth > 0),
//   the confusion grid's counts equal fb-eval --json's,
//   each misclassified record shown has its three pictures decoded.
// Also saves a full-page screenshot.  Prints one line per problem and exits
// 1 when there is any; 0 and a summary line otherwise.
//
//   node report-check.js REPORT.html EVAL.json SCREENSHOT.png [--no-js]
'use strict';
const path = require('path');
const fs = require('fs');
const os = require('os');

let chromium;
try {
    ({ chromium } = require('playwright-core'));
} catch (e) {
    console.error('report-check: playwright-core is not installed (scripts/setup-deps puts it in ~/.cache/fb/node)');
    process.exit(3);
}

async function main() {
    const [report, evalJson, shot, flag] = process.argv.slice(2);
    const expected = JSON.parse(fs.readFileSync(evalJson, 'utf8'));
    const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-chromium-'));
    // A fresh profile each run (playwright passes it as --user-data-dir).
    const context = await chromium.launchPersistentContext(userData, {
        executablePath: process.env.FB_CHROMIUM || '/usr/bin/chromium',
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        javaScriptEnabled: flag !== '--no-js',
        viewport: { width: 1280, height: 900 },
    });
    const problems = [];
    try {
        const page = await context.newPage();
        page.on('console', (m) => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
        page.on('pageerror', (e) => problems.push('page error: ' + e.message));
        // The page must need nothing but itself.
        await page.route('**/*', (route) => {
            const url = route.request().url();
            if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
            problems.push('network request: ' + url);
            return route.abort();
        });
        await page.goto('file://' + path.resolve(report), { waitUntil: 'load' });

        const imgs = await page.$$eval('img', (all) => all.map((i) => ({
            ok: i.complete && i.naturalWidth > 0, alt: i.alt })));
        imgs.filter((i) => !i.ok).forEach((i) => problems.push('image not decoded: ' + i.alt));

        const cells = await page.$$eval('table.confusion td[data-count]', (tds) => tds.map((td) => ({
            t: +td.dataset.true, p: +td.dataset.pred, text: td.textContent.trim() })));
        const k = expected.classes.length;
        if (cells.length !== k * k) problems.push(`confusion grid has ${cells.length} cells, want ${k * k}`);
        for (const c of cells) {
            const want = expected.confusion[c.t][c.p];
            if (+c.text !== want) problems.push(`confusion cell ${c.t},${c.p} shows ${c.text}, fb-eval says ${want}`);
        }

        const records = await page.$$eval('.record.mistake', (rs) => rs.map((r) => ({
            row: r.dataset.row,
            pictures: Array.from(r.querySelectorAll('img')).filter((i) => i.complete && i.naturalWidth > 0).length,
            alts: Array.from(r.querySelectorAll('img')).map((i) => i.alt).join(', '),
            notes: Array.from(r.querySelectorAll('.missing, .note')).map((n) => n.textContent.trim()).join(' | '),
            placeholders: r.querySelectorAll('.missing').length })));
        const wantShown = Math.min(expected.misclassified.length, 24);
        if (records.length !== wantShown)
            problems.push(`${records.length} misclassified records shown, want ${wantShown}`);
        for (const r of records)
            if (r.pictures !== 3)
                problems.push(`misclassified record ${r.row} has ${r.pictures} pictures, not 3 (${r.alts}; ${r.notes})`);

        const sortable = flag === '--no-js' ? 'n/a' : await page.$eval('#filter', (f) => !f.hidden);
        await page.screenshot({ path: shot, fullPage: true });
        for (const p of problems) console.log(p);
        console.log(`checked ${imgs.length} images, ${cells.length} cells, ${records.length} ` +
                    `misclassified records; filter shown: ${sortable}`);
    } finally {
        await context.close();
        fs.rmSync(userData, { recursive: true, force: true });
    }
    process.exit(problems.length ? 1 : 0);
}

main().catch((e) => { console.error('report-check: ' + e.message); process.exit(2); });
