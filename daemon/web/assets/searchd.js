/*
 * searchd.js: a search box any site can embed (docs/WEB.md).
 *
 *   <script src="https://search.example.org/searchd.js" defer></script>
 *   <searchd-search server="https://search.example.org" index="articles"
 *                   href="/articles/{id}" key="SEARCH_ONLY_KEY"></searchd-search>
 *
 * The element draws an input and a dropdown of hits in its own shadow root, so the site's CSS
 * cannot break it and it cannot break the site. It asks `server` (default: where this script
 * came from) over HTTP with CORS; `key`, when given, is sent as `Authorization: Bearer` and must
 * be a search-only key: every visitor can read it in the page's source, so the server refuses an
 * admin key on a request that names a page's Origin (forbidden), and the box shows why. Choosing a hit goes to `href` with {id} replaced, or, without `href`,
 * fires a `searchd-select` event whose detail is the hit.
 *
 * The same rules as the search page keep it safe: document text becomes text nodes; the server's
 * <mark> pairs around escaped text become <mark> elements made here (searchd.marked, which the
 * page at / uses too). Stale answers are dropped by sequence number.
 */
'use strict';
(() => {
  const ENTITIES = { lt: '<', gt: '>', amp: '&', quot: '"', '#39': "'", '#x27': "'", apos: "'" };
  const unescape = (s) => s.replace(/&(lt|gt|amp|quot|#39|#x27|apos);/g, (_, e) => ENTITIES[e]);

  /* Text the server highlighted -> a fragment of text nodes and <mark> elements. */
  function marked(s) {
    const frag = document.createDocumentFragment();
    const re = /<mark>([\s\S]*?)<\/mark>/g;
    let last = 0;
    let m;
    while ((m = re.exec(s)) !== null) {
      if (m.index > last) frag.append(unescape(s.slice(last, m.index)));
      const mk = document.createElement('mark');
      mk.textContent = unescape(m[1]);
      frag.append(mk);
      last = re.lastIndex;
    }
    if (last < s.length) frag.append(unescape(s.slice(last)));
    return frag;
  }

  /* The buckets of the facet on `field` in a search answer `r`, as [value, count] pairs in the
   * server's order (by count for top values, by value for intervals, as given for values=).
   * Not Object.entries(r.facets[field]): a JavaScript object lists integer-like keys ("1999",
   * "2005") first, in ascending order, whatever order the JSON had them in. The answer's
   * facet_order gives the order as arrays (docs/PROTOCOL.md). */
  function buckets(r, field) {
    const counts = r.facets[field];
    return r.facet_order[field].map((v) => [v, counts[v]]);
  }

  /* fetch, with its rejection (server down, network gone, CORS refused: the browser does not
   * say which) turned into a message that says so, not the browser's "Failed to fetch". */
  async function request(url, init) {
    /* fetch refuses a header it cannot send as it refuses a lost network, with a TypeError: a
     * key of other characters (a Cyrillic letter, a line break) is said to be the cause. */
    const auth = (init.headers && init.headers.Authorization) || '';
    if (/[^\x20-\x7e]/.test(auth)) {
      throw new Error('The API key holds a character HTTP cannot carry: a key is printable ASCII.');
    }
    try {
      return await fetch(url, init);
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new Error(`Cannot reach the search server (${new URL(url, location.href).origin}): ` +
                      'it is down, or the network or a CORS rule stops the request.');
    }
  }

  /* The JSON body of a searchd answer; a reply that is not JSON (a proxy's error page) or an
   * error answer becomes an Error naming the HTTP status or searchd's error code. */
  async function answer(res) {
    let body;
    try {
      body = await res.json();
    } catch (e) {
      throw new Error(`The search server answered HTTP ${res.status} ${res.statusText}`.trim() +
                      ', not a searchd answer.');
    }
    if (!body.ok) {
      const e = body.error;
      throw new Error(e ? `${e.code}: ${e.message}` : `HTTP ${res.status}`);
    }
    return body;
  }

  /* searchd reads the first 4096 bytes of a search box's query (docs/QUERY.md "Long input"):
   * 4096 characters are at least as many bytes, and percent-encoded they stay well under the
   * 64 KiB request line (head_too_large), so a long paste searches its beginning, not fails. */
  const MAX_QUERY_CHARS = 4096;
  function clip(q) {
    if (q.length <= MAX_QUERY_CHARS) return q;
    return Array.from(q).slice(0, MAX_QUERY_CHARS).join(''); /* whole code points */
  }

  /* The default server: where this script came from, its file name taken off, so that behind
   * a proxy serving searchd under a prefix (https://example.org/find/searchd.js) the box asks
   * https://example.org/find, not the site's root. */
  const scriptBase = (() => {
    const src = document.currentScript && document.currentScript.src;
    try {
      return src ? new URL('.', src).href : location.origin;
    } catch (e) {
      return location.origin;
    }
  })();

  const STYLE = `
    :host { display: block; position: relative; font: inherit; max-width: 36rem; }
    input { width: 100%; box-sizing: border-box; font: inherit; padding: .45rem .6rem;
            border: 1px solid #c9d0d8; border-radius: 6px; }
    ul { list-style: none; margin: .25rem 0 0; padding: 0; position: absolute; left: 0; right: 0;
         z-index: 10; background: #fff; border: 1px solid #c9d0d8; border-radius: 6px;
         box-shadow: 0 6px 18px rgba(0,0,0,.12); max-height: 70vh; overflow: auto; }
    li { padding: .45rem .6rem; cursor: pointer; }
    a { display: block; color: inherit; text-decoration: none; }
    li[aria-selected="true"], li:hover { background: #eef3fb; }
    .t { font-weight: 600; }
    .s { font-size: .88em; color: #4a525c; overflow-wrap: anywhere; }
    .e { color: #a33; font-size: .88em; }
    .n { font-size: .85em; color: #4a525c; cursor: default; }
    li.n:hover { background: none; }
    mark { background: #ffe58a; color: inherit; }
    .sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }`;

  /* A constructed style sheet, not a <style> element: a site whose Content-Security-Policy has
   * style-src without 'unsafe-inline' (common) blocks <style> in the box's shadow root too,
   * and the dropdown then lay in the page's flow, unstyled; CSP does not cover constructed
   * sheets. A browser without them (Safari before 16.4) gets the <style>. */
  let sheet = null;
  function adoptStyle(root) {
    const canAdopt = root.adoptedStyleSheets && window.CSSStyleSheet &&
                     'replaceSync' in CSSStyleSheet.prototype;
    if (canAdopt) {
      if (!sheet) {
        sheet = new CSSStyleSheet();
        sheet.replaceSync(STYLE);
      }
      root.adoptedStyleSheets = [sheet];
      return;
    }
    const style = document.createElement('style');
    style.textContent = STYLE;
    root.prepend(style);
  }

  /* What the answer searched instead of the text typed, said above the hits as the page says
   * it: a spelling corrected (did_you_mean), or the other keyboard layout's reading; '' when
   * it searched what was typed. */
  function readingOf(r) {
    const layout = r.layout && r.layout.used !== false ? r.layout.query : '';
    return (r.typos && r.did_you_mean) || layout || '';
  }

  class SearchdSearch extends HTMLElement {
    connectedCallback() {
      if (this.shadowRoot) return;
      const root = this.attachShadow({ mode: 'open' });
      this.input = document.createElement('input');
      this.input.type = 'search';
      this.input.placeholder = this.getAttribute('placeholder') || 'Search…';
      /* The ARIA combobox pattern: focus stays in the input, aria-activedescendant names the
       * option the arrows chose, so a screen reader reads it; the placeholder is no label. */
      this.input.setAttribute('role', 'combobox');
      this.input.setAttribute('aria-label', this.input.placeholder);
      this.input.setAttribute('aria-expanded', 'false');
      this.input.setAttribute('aria-autocomplete', 'list');
      this.input.setAttribute('aria-controls', 'searchd-hits');
      this.list = document.createElement('ul');
      this.list.id = 'searchd-hits'; /* ids are per shadow root: two boxes do not clash */
      this.list.setAttribute('role', 'listbox');
      this.list.setAttribute('aria-label', 'Results');
      this.list.hidden = true;
      /* What a screen reader says after each answer: the count, "No results" or the error. The
       * list cannot say it (a listbox holds options only, and focus stays in the input). */
      this.status = document.createElement('div');
      this.status.className = 'sr';
      this.status.setAttribute('role', 'status');
      root.append(this.input, this.list, this.status);
      adoptStyle(root);
      this.seq = 0;
      this.hits = [];
      this.active = -1;
      this.input.addEventListener('input', () => {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.search(), 80);
      });
      this.input.addEventListener('keydown', (e) => this.key(e));
      this.input.addEventListener('blur', () => setTimeout(() => {
        if (!this.hasFocus()) this.close(); /* not when focus came back meanwhile */
      }, 150));
      this.input.addEventListener('focus', () => {
        if (this.list.childNodes.length && this.input.value.trim()) this.open();
      });
    }

    async search() {
      const seq = ++this.seq;
      const q = clip(this.input.value);
      if (!q.trim()) {
        this.close();
        return;
      }
      const server = (this.getAttribute('server') || scriptBase).replace(/\/+$/, '');
      const p = new URLSearchParams({
        q, index: this.getAttribute('index') || 'default', limit: this.getAttribute('limit') || '8',
        highlight: 'true', syntax: 'simple', prefix_last: 'true',
      });
      const headers = { Accept: 'application/json' };
      const key = (this.getAttribute('key') || '').trim();
      if (key) headers.Authorization = `Bearer ${key}`;
      let r;
      try {
        r = await answer(await request(`${server}/search?${p}`, { headers, mode: 'cors' }));
      } catch (e) {
        if (seq === this.seq) this.show([], e.message);
        return;
      }
      if (seq === this.seq) this.show(r.hits, r.hits.length ? '' : 'No results', readingOf(r));
    }

    show(hits, message, reading) {
      this.hits = hits;
      this.list.replaceChildren();
      this.move(-1);
      if (reading && hits.length) {
        const li = document.createElement('li');
        li.className = 'n';
        li.setAttribute('role', 'presentation'); /* not an option the arrows reach */
        li.textContent = `Showing results for “${reading}”`;
        li.addEventListener('mousedown', (e) => e.preventDefault()); /* the input keeps focus */
        this.list.append(li);
      }
      hits.forEach((h, i) => {
        const li = document.createElement('li');
        li.id = `searchd-hit-${i}`;
        li.setAttribute('role', 'option');
        li.setAttribute('aria-selected', 'false');
        /* With href, a hit is a real link: a middle or Ctrl click opens it in a new tab, its
         * address shows and can be copied, and the browser follows a plain click itself. */
        const link = this.link(h);
        const item = link ? document.createElement('a') : li;
        if (link) {
          item.href = link;
          item.tabIndex = -1; /* the arrows choose, from the input */
          li.append(item);
        }
        const hl = h.highlight;
        const t = document.createElement('div');
        t.className = 't';
        t.append(hl && hl.title ? marked(hl.title) : h.title || h.id);
        item.append(t);
        const snippet = hl ? (hl.snippets || [])[0] : h.snippet;
        if (snippet) {
          const s = document.createElement('div');
          s.className = 's';
          s.append(hl ? marked(snippet) : snippet);
          item.append(s);
        }
        li.addEventListener('mousedown', (e) => {
          e.preventDefault(); /* the input keeps the focus */
          if (!link) this.choose(i);
        });
        this.list.append(li);
      });
      if (message) {
        const li = document.createElement('li');
        li.className = 'e';
        li.textContent = message;
        this.list.append(li);
      }
      const count = hits.length === 1 ? '1 result' : `${hits.length} results`;
      this.status.textContent =
        message || (reading ? `${count} for “${reading}”` : count);
      /* An answer that comes after the visitor left the box (Tab, a click elsewhere) waits for
       * the next focus: it must not open over the site's page. */
      if (this.hasFocus()) this.open();
    }

    hasFocus() {
      return this.shadowRoot.activeElement === this.input;
    }

    open() {
      this.list.hidden = false;
      this.input.setAttribute('aria-expanded', 'true');
    }

    close() {
      this.list.hidden = true;
      this.input.setAttribute('aria-expanded', 'false');
      this.move(-1);
    }

    /* Keys act on the list the visitor sees: with it closed (Esc), the arrows open it again and
     * Enter chooses nothing, rather than a hit moved to out of sight. */
    key(e) {
      const n = this.hits.length;
      const isOpen = !this.list.hidden;
      if ((e.key === 'ArrowDown' || e.key === 'ArrowUp') && n && !isOpen) {
        this.open();
        this.move(e.key === 'ArrowDown' ? 0 : n - 1);
      } else if (e.key === 'ArrowDown' && n) this.move((this.active + 1) % n);
      else if (e.key === 'ArrowUp' && n) this.move((this.active - 1 + n) % n);
      else if (e.key === 'Enter' && isOpen && this.active >= 0) this.choose(this.active);
      else if (e.key === 'Escape' && isOpen) this.close();
      else return;
      e.preventDefault();
    }

    /* Makes option i the chosen one (-1: none), for the eye and for a screen reader. */
    move(i) {
      const items = this.list.querySelectorAll('li[role="option"]');
      items.forEach((li, j) => li.setAttribute('aria-selected', j === i ? 'true' : 'false'));
      this.active = i;
      if (i < 0) {
        this.input.removeAttribute('aria-activedescendant');
        return;
      }
      this.input.setAttribute('aria-activedescendant', items[i].id);
      items[i].scrollIntoView({ block: 'nearest' });
    }

    /* The hit's address: href with each {id} replaced, or '' without href. */
    link(hit) {
      const href = this.getAttribute('href');
      return href ? href.split('{id}').join(encodeURIComponent(hit.id)) : '';
    }

    choose(i) {
      const hit = this.hits[i];
      const link = this.link(hit);
      this.close();
      if (link) {
        location.href = link;
      } else {
        this.dispatchEvent(new CustomEvent('searchd-select', { detail: hit, bubbles: true }));
      }
    }
  }

  window.searchd = Object.freeze({ marked, request, answer, clip, buckets });
  if (!customElements.get('searchd-search')) customElements.define('searchd-search', SearchdSearch);
})();
