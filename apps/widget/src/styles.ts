/**
 * The widget's styles, inside its shadow root. Colours are CSS custom properties the host page can set
 * (`--parley-accent` and friends inherit into the shadow tree); both themes meet WCAG AA contrast.
 */
export const CSS = `
:host{all:initial;position:fixed;z-index:2147483000;bottom:20px;right:20px;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color-scheme:light;
--bg:var(--parley-bg,#fff);--fg:var(--parley-fg,#1d2330);--muted:var(--parley-muted,#596273);--accent:var(--parley-accent,#2450d3);--on-accent:var(--parley-on-accent,#fff);--bubble:var(--parley-bubble,#eef1f6);--line:var(--parley-line,#d5dae3);--danger:var(--parley-danger,#b3261e);--link:var(--parley-link,#1f47c0)}
:host([data-position=left]){right:auto;left:20px}
:host([data-theme=dark]){color-scheme:dark;--bg:var(--parley-bg,#16191f);--fg:var(--parley-fg,#e8ebf1);--muted:var(--parley-muted,#a3acbb);--accent:var(--parley-accent,#8fb0ff);--on-accent:var(--parley-on-accent,#0d1526);--bubble:var(--parley-bubble,#252a33);--line:var(--parley-line,#3a404b);--danger:var(--parley-danger,#ffb4ab);--link:var(--parley-link,#9dbbff)}
*{box-sizing:border-box}
button,textarea{font:inherit;color:inherit}
button{cursor:pointer;border:0;border-radius:8px;background:none;padding:6px 10px}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.launcher{width:56px;height:56px;border-radius:50%;background:var(--accent);color:var(--on-accent);box-shadow:0 4px 14px #0004;display:grid;place-items:center;padding:0}
.launcher[aria-expanded=true]{display:none}
svg{width:26px;height:26px;fill:currentColor}
.panel{position:absolute;bottom:0;right:0;width:min(380px,calc(100vw - 40px));height:min(600px,calc(100vh - 40px));display:flex;flex-direction:column;background:var(--bg);color:var(--fg);border:1px solid var(--line);border-radius:14px;box-shadow:0 10px 40px #0005;overflow:hidden;animation:in .18s ease-out}
:host([data-position=left]) .panel{right:auto;left:0}
.panel[hidden]{display:none}
@keyframes in{from{opacity:0;transform:translateY(12px)}}
header{display:flex;align-items:center;gap:4px;padding:10px 10px 10px 16px;background:var(--accent);color:var(--on-accent)}
h2{flex:1;margin:0;font-size:16px;font-weight:600}
header button{color:var(--on-accent);font-size:13px}
header button:hover{background:#fff3}
.log{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px;overscroll-behavior:contain}
.msg{max-width:86%;padding:8px 12px;border-radius:12px;overflow-wrap:anywhere}
.msg p,.msg ul,.msg ol,.msg pre{margin:0 0 .5em}.msg>:last-child{margin-bottom:0}
.msg ul,.msg ol{padding-left:1.3em}
.msg pre{background:#0000000f;padding:8px;border-radius:6px;overflow-x:auto;white-space:pre-wrap}
.msg code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace}
.msg a{color:var(--link);text-decoration:underline}
.user{align-self:flex-end;background:var(--accent);color:var(--on-accent)}
.user a{color:inherit}
.assistant{align-self:flex-start;background:var(--bubble)}
.note{align-self:center;color:var(--muted);font-size:13px;text-align:center}
.error{color:var(--danger)}
.note button{color:var(--link);text-decoration:underline;padding:2px 6px}
.typing{display:inline-flex;gap:4px;padding:12px}
.typing i{width:7px;height:7px;border-radius:50%;background:var(--muted);animation:blink 1.2s infinite}
.typing i:nth-child(2){animation-delay:.2s}.typing i:nth-child(3){animation-delay:.4s}
@keyframes blink{50%{opacity:.25}}
form{display:flex;gap:8px;padding:10px;border-top:1px solid var(--line);align-items:flex-end}
textarea{flex:1;resize:none;max-height:120px;min-height:40px;padding:9px 10px;border:1px solid var(--line);border-radius:10px;background:var(--bg)}
form button{background:var(--accent);color:var(--on-accent);min-height:40px;font-weight:600}
form button:disabled{opacity:.6;cursor:default}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:640px){:host{bottom:12px;right:12px}:host([data-position=left]){left:12px}
.panel{position:fixed;inset:0;width:100%;height:var(--vvh,100dvh);border-radius:0;border:0}}
@media (prefers-reduced-motion:reduce){*{animation:none!important;transition:none!important}}
`;
