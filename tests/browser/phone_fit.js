// Issue 17: what a 375 x 667 touch screen needs of a client page (tests/browser/conftest.py,
// assert_fits_phone). Returns the problems found, in words.
() => {
  const W = window.innerWidth, H = window.innerHeight, problems = [];
  const seen = e => { const r = e.getBoundingClientRect(), s = getComputedStyle(e);
    return r.width > 1 && r.height > 1 && s.visibility !== 'hidden' && s.clip !== 'rect(0px, 0px, 0px, 0px)'
      && r.right > 0 && r.bottom + window.scrollY > 0 && !e.closest('[hidden], .visually-hidden'); };
  const name = e => (e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' "'
    + (e.innerText || e.value || e.getAttribute('aria-label') || e.name || '').trim().slice(0, 40) + '"');
  const size = r => `${Math.round(r.width)}x${Math.round(r.height)}`;
  if (document.documentElement.scrollWidth > W) problems.push(`scrolls sideways: ${document.documentElement.scrollWidth} px wide`);
  const main = document.querySelector('main');
  const first = main && [...main.querySelectorAll('*')].find(seen);
  if (!first) problems.push('no visible main content');
  else { const top = first.getBoundingClientRect().top + window.scrollY;
    if (top > H * 0.2) problems.push(`main content starts ${Math.round(top)} px down (over a fifth of ${H})`); }
  const box = e => { let r = e.getBoundingClientRect();
    if (e.matches('input[type=checkbox], input[type=radio]') && e.labels && e.labels[0]) {
      const l = e.labels[0].getBoundingClientRect(), p = (e.closest('.radio, .checkbox') || e.labels[0]).getBoundingClientRect();
      const left = Math.min(r.left, l.left), top = Math.min(r.top, l.top, p.top);
      r = {width: Math.max(r.right, l.right) - left, height: Math.max(r.bottom, l.bottom, p.bottom) - top}; }
    return r; };
  const controls = 'button, select, textarea, input:not([type=hidden]), .button, .button-secondary, .button-danger, [role=button]';
  for (const e of document.querySelectorAll(controls)) {
    if (!seen(e) && !(e.matches('input[type=checkbox], input[type=radio]') && e.labels && e.labels[0] && seen(e.labels[0]))) continue;
    const r = box(e);
    if (r.width < 44 || r.height < 44) problems.push(`control ${name(e)} is ${size(r)}, under 44x44`);
  }
  const inline = a => { const s = getComputedStyle(a); if (s.display !== 'inline') return false;
    const block = a.parentElement.closest('p, li, dd, td, th, label, legend, h1, h2, h3, div, span');
    return block && block.textContent.trim().length > a.textContent.trim().length; };
  for (const e of document.querySelectorAll('a[href], summary, button, select, input:not([type=hidden])')) {
    if (!seen(e) || e.matches('.skip-link') || (e.matches('a') && inline(e))) continue;
    const r = box(e);
    if (r.width < 24 || r.height < 24) problems.push(`target ${name(e)} is ${size(r)}, under 24x24`);
  }
  const emoji = /\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F/u;
  const texts = [document.title, document.body.innerText,
    ...[...document.querySelectorAll('[aria-label], [title], [alt], [placeholder]')].map(e =>
      ['aria-label', 'title', 'alt', 'placeholder'].map(a => e.getAttribute(a) || '').join(' '))];
  for (const t of texts) { const m = t.match(emoji); if (m) { problems.push(`needs an emoji font: ${m[0]} in "${t.slice(Math.max(0, m.index - 20), m.index + 20)}"`); break; } }
  return problems;
}
