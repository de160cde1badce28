// The focused element and whether a sighted keyboard user can see it.
() => {
            const el = document.activeElement;
            const cs = getComputedStyle(el);
            const r = el.getBoundingClientRect();
            const header = document.getElementById('topbar').getBoundingClientRect();
            return {
              programmatic: el.getAttribute('tabindex') === '-1',
              tag: el.tagName, id: el.id, name: el.getAttribute('name'),
              label: (el.labels && el.labels[0] && el.labels[0].textContent) || el.textContent.trim().slice(0, 40),
              outline: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2,
              inHeader: document.getElementById('topbar').contains(el),
              top: r.top, bottom: r.bottom, headerBottom: header.bottom,
              viewport: window.innerHeight,
              // Not obscured: the topmost element at the control's centre is the control.
              // A wrapped link has several boxes: probe the first one.
              onTop: (() => {
                const b = el.getClientRects()[0] || r;
                const hit = document.elementFromPoint(b.left + b.width / 2, b.top + Math.min(b.height / 2, 10));
                return Boolean(hit) && (el === hit || el.contains(hit) || hit.contains(el) ||
                                 Boolean(el.labels && [...el.labels].some(l => l.contains(hit))));
              })(),
            };
        }
