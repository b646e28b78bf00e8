/*
 * app.js: searchd's search page (served at GET /, docs/WEB.md).
 *
 * Results as you type: every input schedules a search after a short pause; each search gets a
 * sequence number, the one before it is aborted, and an answer is drawn only if it is the newest
 * asked for, so a slow stale answer never overwrites a newer one.
 *
 * Safe by construction: text from documents reaches the page only through text nodes
 * (textContent, append(string)); highlighted strings from the server go through
 * searchd.marked (searchd.js), which splits them on the literal <mark>...</mark> pairs the
 * server puts around HTML-escaped text and inserts the unescaped pieces as text. No string is
 * ever parsed as HTML (daemon/web/web_test.c checks the scripts for HTML sinks).
 *
 * API keys: when the server answers 401 (it has keys on), the page asks for a key and sends
 * it as "Authorization: Bearer" from then on. The key is kept in the tab's sessionStorage (gone
 * when the tab closes), never in the URL, which lands in logs and history.
 */
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  /* from /searchd.js, loaded before this script: the highlight renderer, fetch and the
   * answer's JSON with their failures put into words, and a facet's buckets in order */
  const { marked, request, answer, clip, buckets } = window.searchd;
  /* The tab's sessionStorage, which a browser blocking site data refuses by throwing (reading
   * window.sessionStorage itself throws): then the key lives as long as the page. */
  const keyStore = {
    get() {
      try {
        return sessionStorage.getItem('searchd-key') || '';
      } catch (e) {
        return '';
      }
    },
    set(key) {
      try {
        sessionStorage.setItem('searchd-key', key);
      } catch (e) {
        /* kept in st.key only */
      }
    },
  };
  const DEBOUNCE_MS = 40;
  const LIMIT = 10;
  /* The largest offset searchd takes (docs/PROTOCOL.md): a link past it shows the page past the
   * end, with its way back, not a bad_request; Next stops at the last page it can ask for. */
  const MAX_OFFSET = 100000;
  const st = {
    index: 'default', q: '', offset: 0, sort: '', scores: false,
    filters: new Map(), /* field -> Set of chosen keyword values */
    fields: {},         /* the index's declared fields: name -> {type, ...} */
    seq: 0, timer: 0, inflight: null,
    total: 0,           /* the last answer's total, for Prev from a page past the end */
    isTyping: false,    /* the history entry now shown was made by typing (see saveState) */
    isNewEntry: false,  /* the next search starts a new history entry */
    docSeq: 0,          /* the newest document view asked for (openDoc) */
    key: keyStore.get(),
  };

  /* path is relative (search?…, not /search?…): behind a proxy that serves searchd under a
   * prefix (https://example.org/find/), the API is under the same prefix as the page. */
  async function api(path, signal) {
    const headers = { Accept: 'application/json' };
    if (st.key) headers.Authorization = `Bearer ${st.key}`;
    const res = await request(path, { signal, headers });
    if (res.status === 401) askKey(st.key ? 'That key is not known here.' : '');
    return answer(res);
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /* A keyword value as a filter term: always quoted, so any value is one term, with `"` and `\`
   * escaped by a backslash, the only two escapes of a quoted value (docs/QUERY.md "Quoting a
   * keyword value"): the clause matches exactly the bucket's value, whatever its bytes. */
  const quote = (v) => `"${String(v).replace(/["\\]/g, '\\$&')}"`;

  function filterText() {
    const parts = [];
    for (const [field, vals] of st.filters) {
      if (vals.size) parts.push(`${field}:(${[...vals].map(quote).join(' OR ')})`);
    }
    return parts.join(' ');
  }

  const keywordFields = () => Object.keys(st.fields).filter((f) => st.fields[f].type === 'keyword');

  function searchParams() {
    const p = new URLSearchParams({
      q: clip(st.q), index: st.index, limit: LIMIT, offset: st.offset, highlight: 'true',
      syntax: 'simple', prefix_last: 'true', proximity: 'true', fragments: 2,
    });
    const filter = filterText();
    if (filter) p.set('filter', filter);
    if (st.sort) p.set('sort', st.sort);
    const facets = keywordFields();
    if (facets.length) p.set('facets', facets.join(','));
    return p;
  }

  function schedule() {
    clearTimeout(st.timer);
    st.timer = setTimeout(run, DEBOUNCE_MS);
  }

  /* isStep: a step the visitor took (a page, a facet, a sort, Enter...), kept in history. */
  async function run(isStep = false) {
    const seq = ++st.seq;
    if (st.inflight) st.inflight.abort();
    saveState(isStep || st.isNewEntry);
    st.isNewEntry = false;
    if (isStep) st.isTyping = false;
    if (!st.q.trim() && !filterText()) {
      draw(seq, null);
      return;
    }
    const ctl = new AbortController();
    st.inflight = ctl;
    try {
      const r = await api(`search?${searchParams()}`, ctl.signal);
      draw(seq, r);
    } catch (e) {
      if (e.name !== 'AbortError' && seq === st.seq) fail(e.message);
    }
  }

  /* The notices belonged to the answer before: a "did you mean" beside an error misleads. */
  function fail(msg) {
    $('status').textContent = msg;
    $('hits').replaceChildren();
    $('notice').hidden = true;
    $('pager').hidden = true;
  }

  function draw(seq, r) {
    if (seq !== st.seq) return; /* a newer search was asked for: this answer is stale */
    const hits = $('hits');
    hits.replaceChildren();
    $('notice').hidden = true;
    $('pager').hidden = true;
    if (!r) {
      $('status').textContent = '';
      drawFacets(null);
      return;
    }
    st.total = r.total;
    $('status').textContent = `${statusText(r)} · ${Number(r.took_ms).toFixed(2)} ms`;
    drawNotice(r);
    for (const h of r.hits) hits.append(drawHit(h));
    /* Also on a page past the end (an old link, a shorter list since): Prev leads back. */
    if (r.total > LIMIT || st.offset > 0) {
      $('pager').hidden = false;
      $('prev').disabled = st.offset === 0;
      $('next').disabled = st.offset + LIMIT >= r.total || st.offset + LIMIT > MAX_OFFSET;
      $('page').textContent = `page ${Math.floor(st.offset / LIMIT) + 1}`;
    }
    drawFacets(r.facets ? r : null);
  }

  function statusText(r) {
    const total = r.total_exact === false ? `${r.total}+` : `${r.total}`;
    if (r.hits.length) return `${st.offset + 1}–${st.offset + r.hits.length} of ${total}`;
    if (!r.total) return 'No results';
    return `No results on this page: ${total} in all`;
  }

  /* The first result of the last page that has any: where Prev goes from past the end. */
  const lastPage = () => Math.max(0, Math.floor((st.total - 1) / LIMIT) * LIMIT);

  /* The server's highlight (title and fragments with <mark> around escaped text) when it sent
   * one, else the plain strings as text. */
  function drawHit(h) {
    const hl = h.highlight;
    const li = el('li', 'hit');
    const t = el('button', 't');
    t.type = 'button';
    t.append(hl && hl.title ? marked(hl.title) : h.title || h.id);
    t.addEventListener('click', () => openDoc(h.id));
    li.append(t);
    const snippets = hl ? hl.snippets || [] : h.snippet ? [h.snippet] : [];
    if (snippets.length) {
      const p = el('p', 's');
      snippets.forEach((text, i) => {
        if (i) p.append(' ');
        p.append(hl ? marked(text) : text);
      });
      li.append(p);
    }
    const meta = el('div', 'm', h.id);
    if (st.scores) meta.textContent += ` · score ${Number(h.score).toFixed(3)}`;
    if (h.missing && h.missing.length) meta.append(' · Missing: ', el('s', '', h.missing.join(' ')));
    li.append(meta);
    return li;
  }

  /* "did you mean", wrong-layout and missing-words notices, when the answer carries them. */
  function drawNotice(r) {
    const box = $('notice');
    box.replaceChildren();
    if (r.layout && r.layout.used !== false && r.layout.query) {
      box.append(`Showing results for “${r.layout.query}” (keyboard layout corrected). `);
    }
    if (r.typos && !r.did_you_mean) box.append('Including words spelled a little differently. ');
    if (r.did_you_mean) {
      const b = el('button', '', r.did_you_mean);
      b.type = 'button';
      b.addEventListener('click', () => setQuery(r.did_you_mean));
      box.append('Did you mean ', b, '? ');
    }
    /* The server cut a long query (32 words, 4096 bytes), or the page did, past more words. */
    if (r.truncated || /\S/.test(st.q.slice(clip(st.q).length))) {
      box.append('Only the beginning of this long query was searched. ');
    }
    if (r.dropped && r.dropped.length) {
      box.append('No page has every word: these have most of them. ');
    } else if (r.every_word > 0) {
      box.append(`${r.every_word} with every word, then pages with most of them. `);
    }
    box.hidden = !box.childNodes.length;
  }

  /* r: a search answer with facets, or null. */
  function drawFacets(r) {
    const side = $('facets');
    side.replaceChildren();
    if (!r || !Object.keys(r.facets).length) {
      side.hidden = true;
      return;
    }
    for (const field of Object.keys(r.facets)) {
      /* A chosen value stays listed, with 0 when the query has no match in it (the query
       * changed since it was chosen): else it filtered every hit away out of sight, with
       * nothing to click to unchoose it. A field with no value at all is not listed. */
      const chosen = st.filters.get(field) || new Set();
      const values = buckets(r, field); /* the server's order: by count, then value */
      const listed = new Set(values.map(([v]) => v));
      for (const v of chosen) {
        if (!listed.has(v)) values.push([v, 0]);
      }
      if (!values.length) continue;
      side.append(el('h3', '', field));
      for (const [value, n] of values) {
        const b = el('button', '', value);
        b.type = 'button';
        b.dataset.field = field;
        b.dataset.value = value;
        b.setAttribute('aria-pressed', chosen.has(value) ? 'true' : 'false');
        b.append(el('span', 'n', String(n)));
        b.addEventListener('click', () => toggleFilter(field, value));
        side.append(b);
      }
    }
    side.hidden = !side.childNodes.length;
  }

  function toggleFilter(field, value) {
    const vals = st.filters.get(field) || new Set();
    if (vals.has(value)) vals.delete(value);
    else vals.add(value);
    st.filters.set(field, vals);
    st.offset = 0;
    run(true);
  }

  function setQuery(q) {
    $('q').value = q;
    st.q = q;
    st.offset = 0;
    run(true);
  }

  /* The view is filled from the newest click's answer only, in one go: a double click (or a
   * click on another title) before the first answer came must not add its rows to the same
   * table twice. */
  async function openDoc(id) {
    const seq = ++st.docSeq;
    let title = id;
    const rows = [];
    try {
      const r = await api(`docs/${encodeURIComponent(id)}?index=${encodeURIComponent(st.index)}`);
      for (const [k, v] of Object.entries(r.doc)) {
        const tr = el('tr');
        tr.append(el('th', '', k), el('td', '', typeof v === 'string' ? v : JSON.stringify(v)));
        rows.push(tr);
      }
      if (typeof r.doc.title === 'string') title = r.doc.title;
    } catch (e) {
      const tr = el('tr');
      tr.append(el('td', '', e.message));
      rows.push(tr);
    }
    if (seq !== st.docSeq) return;
    $('doc-title').textContent = title;
    $('doc-fields').replaceChildren(...rows);
    if (!$('doc').open) $('doc').showModal();
  }

  /* The index's declared fields give the facet sidebar and the sort choices. Returns false
   * when another index was chosen meanwhile (arrow keys on the index menu change it at each
   * press): then its answer is stale and the newer call fills them and searches. */
  async function loadSettings() {
    const index = st.index;
    let fields = {};
    try {
      const r = await api(`indexes/${encodeURIComponent(index)}`);
      fields = (r.settings && r.settings.fields) || {};
    } catch (e) {
      /* an index without stored settings: text search only */
    }
    if (index !== st.index) return false;
    st.fields = fields;
    const sort = $('sort');
    sort.replaceChildren(new Option('Relevance', ''));
    for (const [name, f] of Object.entries(st.fields)) {
      if (['int', 'float', 'date', 'keyword', 'bool'].includes(f.type)) {
        sort.append(new Option(`${name} ↓`, `${name}:desc`), new Option(`${name} ↑`, `${name}:asc`));
      }
    }
    sort.value = [...sort.options].some((o) => o.value === st.sort) ? st.sort : '';
    st.sort = sort.value;
    return true;
  }

  /* Shows the key form (hint: why again). On submit the key is kept and everything the page
   * asked for is asked again with it. */
  function askKey(hint) {
    $('keyform').hidden = false;
    $('key-hint').textContent = hint || 'This server needs an API key (a search key is enough).';
  }

  async function useKey(key) {
    if (/[^\x20-\x7e]/.test(key)) { /* fetch could not send it: ask again, saying why */
      askKey('That key holds a character HTTP cannot carry: a key is printable ASCII.');
      return;
    }
    st.key = key;
    keyStore.set(key);
    $('keyform').hidden = true;
    await loadIndexes();
    await loadSettings();
    run();
  }

  async function loadIndexes() {
    let names = [];
    try {
      const r = await api('indexes');
      names = r.indexes.map((i) => i.name);
    } catch (e) {
      /* older server or no indexes yet */
    }
    if (!names.length) names = ['default'];
    if (!names.includes(st.index)) st.index = names.includes('default') ? 'default' : names[0];
    $('index').replaceChildren(...names.map((n) => new Option(n, n)));
    $('index').value = st.index;
  }

  /* The URL holds what is shown, so a link shares it: q, index, sort, offset and each chosen
   * facet value as f=field:value. History: each step the visitor takes is a new entry, so Back
   * shows again what was shown before it; typing makes one entry at its first keystroke and
   * then replaces it, so Back does not step through the letters typed. */
  function saveState(isStep) {
    const p = new URLSearchParams();
    if (st.q) p.set('q', clip(st.q));
    if (st.index !== 'default') p.set('index', st.index);
    if (st.sort) p.set('sort', st.sort);
    if (st.offset) p.set('offset', st.offset);
    for (const [field, vals] of st.filters) {
      for (const v of vals) p.append('f', `${field}:${v}`);
    }
    const s = p.toString();
    const url = new URL(s ? `?${s}` : location.pathname, location.href).href;
    if (isStep && url !== location.href) history.pushState(null, '', url);
    else history.replaceState(null, '', url);
  }

  /* The state the URL holds (saveState's form), into st and the form's fields. */
  function readState() {
    const p = new URLSearchParams(location.search);
    st.q = p.get('q') || '';
    st.index = p.get('index') || 'default';
    st.sort = p.get('sort') || '';
    st.offset = Math.min(MAX_OFFSET, Math.max(0, parseInt(p.get('offset') || '0', 10) || 0));
    st.filters = new Map();
    for (const f of p.getAll('f')) {
      const colon = f.indexOf(':'); /* a field name has none; a value may */
      if (colon > 0) {
        const field = f.slice(0, colon);
        st.filters.set(field, (st.filters.get(field) || new Set()).add(f.slice(colon + 1)));
      }
    }
    $('q').value = st.q;
  }

  /* Back and Forward: show the entry's state, searched again. */
  async function popState() {
    const index = st.index;
    readState();
    st.isTyping = false;
    clearTimeout(st.timer);
    if (st.index !== index) {
      $('index').value = st.index;
      if (!(await loadSettings())) return;
    } else {
      $('sort').value = st.sort;
    }
    run();
  }

  async function start() {
    readState();
    /* Listening before the index list and settings arrive: what is typed meanwhile (the page
     * is usable as soon as it is drawn) is kept, and searched once they are here. */
    let isReady = false;
    $('q').addEventListener('input', () => {
      st.q = $('q').value;
      st.offset = 0;
      if (!st.isTyping) st.isNewEntry = true;
      st.isTyping = true;
      if (isReady) schedule();
    });
    await loadIndexes();
    await loadSettings();
    isReady = true;
    $('keyform').addEventListener('submit', (e) => {
      e.preventDefault();
      useKey($('key').value.trim());
    });
    $('form').addEventListener('submit', (e) => {
      e.preventDefault();
      clearTimeout(st.timer);
      run(true);
    });
    $('index').addEventListener('change', async () => {
      st.index = $('index').value;
      st.filters.clear();
      st.offset = 0;
      if (await loadSettings()) run(true);
    });
    $('sort').addEventListener('change', () => {
      st.sort = $('sort').value;
      st.offset = 0;
      run(true);
    });
    $('scores').addEventListener('change', () => {
      st.scores = $('scores').checked;
      run();
    });
    /* A new page is read from its top, as after a link: not from the pager at its bottom. */
    $('prev').addEventListener('click', () => {
      st.offset = Math.max(0, Math.min(st.offset - LIMIT, lastPage()));
      run(true);
      window.scrollTo(0, 0);
    });
    $('next').addEventListener('click', () => {
      st.offset += LIMIT;
      run(true);
      window.scrollTo(0, 0);
    });
    window.addEventListener('popstate', popState);
    run(); /* the URL's search (none: an empty page) */
  }

  start();
})();
