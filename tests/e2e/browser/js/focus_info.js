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
              onTop: (() => {
                const hit = document.elementFromPoint(r.left + r.width / 2, r.top + Math.min(r.height / 2, 10));
                return !!hit && (el === hit || el.contains(hit) || hit.contains(el) ||
                                 (el.labels && [...el.labels].some(l => l.contains(hit))));
              })(),
            };
        }
