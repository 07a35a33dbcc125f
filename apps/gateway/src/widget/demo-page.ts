/** The page at `/`: a plain host page with the widget embedded the way a customer's site would embed it. */

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function demoPage({ origin, key, version }: { origin: string; key?: string; version?: string }): string {
  const embed =
    key && version
      ? `<script src="/widget.js?v=${escapeHtml(version)}" data-parley-key="${escapeHtml(key)}" ` +
        `data-title="Parley demo" data-greeting="Hi! Ask me anything about your order." async></script>`
      : '';
  const problem = !version
    ? '<p class="warn">The widget is not built: run <code>npm run build</code>.</p>'
    : !key
      ? `<p class="warn">No widget key allows <code>${escapeHtml(origin)}</code>: add it to <code>PARLEY_WIDGET_KEYS</code> ` +
        `(<code>pk_…=${escapeHtml(origin)}</code>).</p>`
      : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, interactive-widget=resizes-content">
<title>Parley demo</title>
<style>
  body { font: 16px/1.6 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
  main { max-width: 42rem; margin: 0 auto; padding: 3rem 1.25rem; }
  h1 { font-size: 1.8rem; margin: 0 0 .5rem; }
  code { background: #e8ebf0; padding: .1em .35em; border-radius: 4px; font-size: .9em; }
  .warn { background: #fff4d6; border: 1px solid #e0b84c; padding: .75rem 1rem; border-radius: 8px; }
  @media (prefers-color-scheme: dark) {
    body { color: #e6e9ef; background: #14171c; } code { background: #262b33; } a { color: #9dbbff; }
    .warn { background: #3a3019; border-color: #8a6d1f; }
  }
</style>
</head>
<body>
<main>
  <h1>Parley demo</h1>
  <p>This page embeds the Parley chat widget with one script tag. Open it with the button in the corner:
  replies stream token by token, survive a reload, and can be stopped.</p>
  ${problem}
  <p>Embed it on your own site with:</p>
  <p><code>&lt;script src="${escapeHtml(origin)}/widget.js" data-parley-key="pk_…" async&gt;&lt;/script&gt;</code></p>
  <p>The API is described at <a href="/openapi.json">/openapi.json</a>.</p>
</main>
${embed}
</body>
</html>
`;
}
