/* Ringround caller app: IndexedDB outbox, offline batch, guided questions.
 *
 * One classic script for two places: the page (UI) and the service worker (which
 * importScripts() it for Background Sync). Results always go through the outbox, online too,
 * each with an id made here (crypto.randomUUID), so a resend after a cut-off sync is harmless:
 * the server records a client id once. No inline code anywhere (strict CSP).
 */
(function (self) {
  'use strict';
  var DB_NAME = 'ringround-caller';
  var SHELL_CACHE = 'ringround-shell';
  // Words the service worker says itself (sw.js), kept apart from the pages it may serve.
  var WORDS_CACHE = 'ringround-words';
  var OFFLINE_WORDS = '/call/offline-words';
  var dbPromise = null, wiped = false;

  function openDb() {
    // After sign-out nothing may bring the database back before the page goes.
    if (wiped) return Promise.reject(new Error('signed out'));
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var req = self.indexedDB.open(DB_NAME, 1);
        req.onupgradeneeded = function () {
          var db = req.result;
          db.createObjectStore('outbox', { keyPath: 'client_id' });
          db.createObjectStore('batch', { keyPath: 'target_id' });
          db.createObjectStore('meta', { keyPath: 'key' });
        };
        req.onsuccess = function () {
          var db = req.result;
          // Another tab or the service worker deletes the database: let it.
          db.onversionchange = function () { db.close(); dbPromise = null; };
          resolve(db);
        };
        req.onerror = function () { dbPromise = null; reject(req.error); };
      });
    }
    return dbPromise;
  }

  // Run fn(store) in one transaction; resolves with fn's request result when it completes.
  function tx(name, mode, fn) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(name, mode);
        var req = fn(t.objectStore(name));
        t.oncomplete = function () { resolve(req ? req.result : undefined); };
        t.onerror = t.onabort = function () { reject(t.error); };
      });
    });
  }
  function all(name) { return tx(name, 'readonly', function (s) { return s.getAll(); }); }
  function get(name, key) { return tx(name, 'readonly', function (s) { return s.get(key); }); }
  function put(name, value) { return tx(name, 'readwrite', function (s) { return s.put(value); }); }
  function del(name, key) { return tx(name, 'readwrite', function (s) { return s.delete(key); }); }
  function getMeta(key) {
    return tx('meta', 'readonly', function (s) { return s.get(key); })
      .then(function (row) { return row ? row.value : undefined; });
  }
  function setMeta(key, value) { return put('meta', { key: key, value: value }); }

  function freshToken(op) {
    return fetch('/api/call/' + op + '/token', { credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error('token ' + r.status); return r.json(); })
      .then(function (body) { return setMeta('csrf', body.csrf_token).then(function () { return body.csrf_token; }); });
  }

  // POST JSON with the CSRF token; on an expired token fetch a fresh one and retry once.
  function postJson(op, path, payload) {
    function send(token) {
      return fetch('/api/call/' + op + path, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRFToken': token || '' },
        body: JSON.stringify(payload)
      });
    }
    return getMeta('csrf').then(send).then(function (r) {
      return r.status === 400 ? freshToken(op).then(send) : r;
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) { var e = new Error(body.detail || body.error || ('HTTP ' + r.status)); e.status = r.status; throw e; }
        return body;
      });
    });
  }

  var syncing = null;
  // The next card a sync brought back, by operation (see takeNextCard).
  var nextCards = {};
  // Send every waiting entry, per operation, in small batches. Entries leave the outbox only
  // once the server answered for them (accepted, or refused for good), so nothing is lost.
  // With `nextFor` (an operation id: the phone is online, on the card just finished), the
  // last batch of that operation also asks for the next card: one round trip for both.
  function syncOutbox(nextFor) {
    if (syncing) return syncing;
    if (nextFor) delete nextCards[nextFor];
    syncing = all('outbox').then(function (entries) {
      var byOp = {};
      entries.sort(function (a, b) { return a.queued_at < b.queued_at ? -1 : 1; });
      entries.forEach(function (e) { (byOp[e.operation_id] = byOp[e.operation_id] || []).push(e); });
      return Object.keys(byOp).reduce(function (chain, op) {
        return chain.then(function () { return sendChunks(op, byOp[op], String(op) === String(nextFor)); });
      }, Promise.resolve());
    }).then(function () { return all('outbox'); }, function (err) {
      return all('outbox').then(function (left) { err.pending = left.length; throw err; });
    }).then(function (left) { return left.length; });
    var done = function () { syncing = null; };
    syncing.then(done, done);
    return syncing;
  }

  function sendChunks(op, entries, wantNext) {
    var chunk = entries.slice(0, 25);
    if (!chunk.length) return Promise.resolve();
    var payload = { entries: chunk };
    if (wantNext && entries.length <= 25) payload.next = true;
    return postJson(op, '/sync', payload).then(function (body) {
      if (payload.next && body.next) nextCards[op] = body.next;
      var gone = (body.accepted || []).concat((body.rejected || []).map(function (r) { return r.client_id; }));
      return Promise.all(gone.map(function (id) { return del('outbox', id); }))
        .then(function () {
          return (body.rejected || []).length ? setMeta('rejected', body.rejected) : null;
        });
    }).then(function () { return sendChunks(op, entries.slice(25), wantNext); });
  }

  // The next card the last sync of this operation brought ({lease: ...}), once; else undefined.
  function takeNextCard(op) {
    var next = nextCards[op];
    delete nextCards[op];
    return next;
  }

  // Forget everything this browser holds for the caller app: the IndexedDB database (outbox,
  // batch, meta), the service worker's caches and registration, local storage. The sign-out
  // answer's Clear-Site-Data header does the same; this does not depend on the browser
  // honouring it.
  function wipe() {
    var open = dbPromise;
    wiped = true;
    dbPromise = null;
    return (open ? open.then(function (db) { db.close(); }, function () {}) : Promise.resolve())
      .then(function () {
        return new Promise(function (resolve) {
          var req = self.indexedDB.deleteDatabase(DB_NAME);
          req.onsuccess = req.onerror = function () { resolve(); };
          // A tab running an older script may hold it open: do not hang the sign-out.
          self.setTimeout(resolve, 3000);
        });
      }).then(function () {
        return self.caches ? self.caches.keys().then(function (keys) {
          return Promise.all(keys.filter(function (key) { return key.indexOf('ringround-') === 0; })
            .map(function (key) { return self.caches.delete(key); }));
        }) : null;
      }).then(function () {
        try { if (self.localStorage) self.localStorage.clear(); } catch (e) { /* blocked */ }
        try { if (self.sessionStorage) self.sessionStorage.clear(); } catch (e) { /* blocked */ }
        var sw = self.navigator && self.navigator.serviceWorker;
        return sw && sw.getRegistrations ? sw.getRegistrations().then(function (regs) {
          return Promise.all(regs.map(function (reg) { return reg.unregister(); }));
        }) : null;
      }).catch(function () {});
  }

  self.RingroundCaller = { openDb: openDb, syncOutbox: syncOutbox, wipe: wipe };
  if (typeof document === 'undefined') return; // inside the service worker: no UI

  /* ---------------------------------------------------------------- the page */
  var root, op, cardUrl, batchMode = false;
  var $ = function (sel, el) { return (el || document).querySelector(sel); };
  var $$ = function (sel, el) { return Array.prototype.slice.call((el || document).querySelectorAll(sel)); };
  var t = function (key) { return (root && root.dataset['t' + key]) || key; };

  function say(text, kind) {
    var box = $('#caller-status');
    if (!box) return;
    box.textContent = text;
    box.className = 'caller-status' + (kind ? ' is-' + kind : '');
    box.hidden = !text;
  }

  function showPending() {
    return all('outbox').then(function (entries) {
      var n = entries.filter(function (e) { return String(e.operation_id) === op; }).length;
      var el = $('#pending');
      if (!el) return n;
      el.textContent = n ? t(n === 1 ? 'PendingOne' : 'Pending').replace('{n}', n) : t('Synced');
      el.classList.toggle('has-pending', n > 0);
      return n;
    });
  }

  function refreshProgress() {
    return fetch(root.dataset.progress, { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) return;
      return r.text().then(function (html) {
        var old = $('#progress'), box = document.createElement('div');
        box.innerHTML = html;
        if (old && box.firstElementChild) old.replaceWith(box.firstElementChild);
      });
    }).catch(function () {});
  }

  function showRejected() {
    return getMeta('rejected').then(function (rows) {
      if (!rows || !rows.length) return;
      say(t('Rejected') + ' ' +
          rows.map(function (r) { return r.error; }).join(' '), 'error');
      return setMeta('rejected', []);
    });
  }

  // A failed sync is tried again after 5 s, then 10, 20... at most every minute.
  var retryTimer = null, retryDelay = 5000;
  function retryLater() {
    if (retryTimer) return;
    retryTimer = self.setTimeout(function () {
      retryTimer = null;
      retryDelay = Math.min(retryDelay * 2, 60000);
      sync().catch(function () {});
    }, retryDelay);
  }

  function sync(nextFor) {
    return syncOutbox(nextFor).then(function () {
      retryDelay = 5000;
      showRejected();
      if (batchMode) refreshProgress();
      showEditLast();
      return showPending();
    }, function (err) {
      showPending().then(function (n) { if (n) retryLater(); });
      if (err.status === 403 || err.status === 401) say(t('SignedOut'), 'error');
      throw err;
    });
  }

  function requestBackgroundSync() {
    if (!('serviceWorker' in navigator)) return;
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.sync) return reg.sync.register('outbox');
    }).catch(function () {});
  }

  /* ----- cards */
  function currentForm() { return $('#call form.result-form'); }

  // The id the server gave the card (the same for its lease): a tap on the campaign line
  // before this script prepared the card already used it, so the result must too.
  function cardClientId(form) {
    var given = form.querySelector('input[name="client_id"]');
    return (given && given.value) || self.crypto.randomUUID();
  }

  // A notice about the last card ("Your last result is changed.") goes with it.
  var firstCard = true;
  function clearNotices() {
    $$('p.flash:not(.password-prompt)').forEach(function (el) { el.remove(); });
  }

  function prepareCard() {
    if (!firstCard) clearNotices();
    firstCard = false;
    var form = currentForm();
    if (!form) return;
    if (!form.dataset.clientId) form.dataset.clientId = cardClientId(form);
    // The bridged call (campaign line) and the result share this id: one attempt.
    $$('#call input[name="client_id"]').forEach(function (input) { input.value = form.dataset.clientId; });
    form.dataset.shownAt = new Date().toISOString();
    $$('.js-only', $('#call')).forEach(function (el) { el.hidden = false; });
    $$('.questions', form).forEach(function (q) { q.hidden = true; });
    guide(form);
  }

  function showBatchCard() {
    return all('batch').then(function (rows) {
      var now = Date.now();
      rows = rows.filter(function (r) { return String(r.operation_id) === op; });
      var expired = rows.filter(function (r) { return Date.parse(r.expires_at) <= now; });
      var live = rows.filter(function (r) { return Date.parse(r.expires_at) > now; });
      return Promise.all(expired.map(function (r) { return del('batch', r.target_id); })).then(function () {
        batchMode = live.length > 0;
        var bar = $('#batch-bar');
        if (bar) {
          bar.hidden = !batchMode;
          $('#batch-left').textContent = t(live.length === 1 ? 'BatchLeftOne' : 'BatchLeft').replace('{n}', live.length);
        }
        $('#offline-take') && ($('#offline-take').hidden = batchMode);
        if (expired.length) say(t('LeaseEnded'), 'info');
        if (!batchMode) return false;
        live.sort(function (a, b) { return (a.skipped ? 1 : 0) - (b.skipped ? 1 : 0) || a.position - b.position; });
        var open = currentForm();
        // Already on screen (the open card, or a check every minute): keep what was typed.
        if (open && open.dataset.target === String(live[0].target_id)) {
          open.dataset.fromBatch = '1';
          return true;
        }
        $('#call').innerHTML = live[0].card_html;
        if (self.htmx) self.htmx.process($('#call'));
        currentForm().dataset.fromBatch = '1';
        prepareCard();
        return true;
      });
    });
  }

  function loadNextCard() {
    if (batchMode) return showBatchCard().then(function (shown) { if (!shown) return loadOnlineCard(); });
    return loadOnlineCard();
  }

  function loadOnlineCard() {
    return fetch(cardUrl, { credentials: 'same-origin', headers: { 'HX-Request': 'true' } })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })
      .then(function (html) {
        var box = $('#call');
        // htmx swaps the card in and the progress out of band (hx-swap-oob).
        if (self.htmx) self.htmx.swap(box, html, { swapStyle: 'innerHTML' });
        else box.innerHTML = html;
        prepareCard();
        focusCard();
      }, function () {
        $('#call').innerHTML = '';
        var tpl = $('#offline-empty');
        if (tpl) $('#call').appendChild(tpl.content.cloneNode(true));
        say(t('Offline'), 'info');
      });
  }

  // Online, the sync that sent the result brought the next card: show it (the progress box
  // follows). Nobody to call, a limit, or no card in the answer: ask for the card as before.
  function showNextCard() {
    var next = takeNextCard(op);
    if (!next || !next.lease) return loadOnlineCard();
    var box = $('#call');
    box.innerHTML = next.lease.card_html;
    if (self.htmx) self.htmx.process(box);
    prepareCard();
    focusCard();
    refreshProgress();
  }

  function focusCard() {
    var box = $('#call');
    box.focus({ preventScroll: true });
    box.scrollIntoView({ block: 'start' });
  }

  /* ----- guided questionnaire and outcome details */
  function guide(form) {
    var group = ($('input[name="group"]:checked', form) || {}).value;
    var questions = $('.questions', form);
    if (questions) questions.hidden = group !== 'contacted';
    if (!questions || form.dataset.mode !== 'guided') return;
    var sets = $$('fieldset[data-q]', questions);
    var byId = {};
    sets.forEach(function (fs) { byId[fs.dataset.q] = fs; fs.hidden = true; });
    var fs = sets[0], seen = {};
    while (fs && !seen[fs.dataset.q]) {
      seen[fs.dataset.q] = true;
      fs.hidden = false;
      var chosen = $('input:checked', fs);
      var text = $('textarea', fs);
      var answered = chosen || (text && text.value.trim());
      if (!answered) break;
      var next = chosen && chosen.dataset.next ? chosen.dataset.next : fs.dataset.next;
      fs = next && next !== 'end' ? byId[next] : null;
    }
  }

  // The code chosen: the group's only code, or the one ticked under the group. The form
  // carries what to say when something is missing (the server's rule, calling.py).
  function chosenCode(form) {
    var group = $('input[name="group"]:checked', form);
    if (!group) return { missing: $('.outcome', form).dataset.missing, focus: $('input[name="group"]', form) };
    if (group.dataset.only) return { code: group.dataset.only };
    var details = $('.details-' + group.value, form);
    var picked = details && $('input[name="disposition"]:checked', details);
    if (picked) return { code: picked.value };
    return { missing: details ? details.dataset.missing : $('.outcome', form).dataset.missing,
             focus: details ? $('input[name="disposition"]', details) : group };
  }

  function showMissing(form, missing) {
    var box = $('.outcome-error', form), outcome = $('.outcome', form);
    if (!box) return;
    box.textContent = missing ? missing.missing : '';
    box.hidden = !missing;
    outcome.classList.toggle('has-error', !!missing);
    if (missing && missing.focus) {
      missing.focus.focus({ preventScroll: true });
      outcome.scrollIntoView({ block: 'center' });
    }
  }

  function collect(form) {
    var data = new FormData(form);
    var group = data.get('group');
    var disposition = chosenCode(form).code || null;
    var answers = {}, fields = {};
    if (group === 'contacted') {
      $$('fieldset[data-q]', form).forEach(function (fs) {
        if (fs.hidden && form.dataset.mode === 'guided') return;
        var key = 'q.' + fs.dataset.q, value = data.get(key);
        if (value !== null && String(value).trim() !== '') answers[fs.dataset.q] = String(value).trim();
      });
    }
    $$('[data-field]', form).forEach(function (input) {
      if (input.value !== input.defaultValue) fields[input.dataset.field] = input.value;
    });
    var callback = data.get('callback_local');
    return {
      kind: 'result', client_id: form.dataset.clientId || cardClientId(form),
      operation_id: Number(op),
      target_id: Number(form.dataset.target), lease_proof: data.get('lease_proof'),
      disposition: disposition, group: group,
      answers: answers, notes: (data.get('notes') || '').trim(), field_updates: fields,
      callback_local: disposition === 'call_back' && callback ? callback : null,
      method: 'own_phone', started_at: form.dataset.startedAt || form.dataset.shownAt,
      ended_at: new Date().toISOString(), queued_at: new Date().toISOString()
    };
  }

  function afterQueued(targetId) {
    showPending();
    showEditLast();
    requestBackgroundSync();
    if (batchMode) {
      return del('batch', targetId).then(function () {
        sync().catch(function () {});
        return showBatchCard();
      }).then(function (shown) {
        if (!shown) { say(t('BatchDone'), 'ok'); return loadOnlineCard(); }
        focusCard();
      });
    }
    return sync(op).then(showNextCard, function () {
      say(t('SavedOffline'), 'info');
      $('#call').innerHTML = '';
      var tpl = $('#offline-empty');
      if (tpl) $('#call').appendChild(tpl.content.cloneNode(true));
    });
  }

  /* ----- changing the last result, offline too */
  function rememberLast(entry, cardHtml) {
    return setMeta('last-' + op, { client_id: entry.client_id, entry: entry, card_html: cardHtml });
  }

  // The button shows while the last result still waits on this phone; once sent, the
  // server's own "Change my last result" page (in the progress box) takes over.
  function showEditLast() {
    var button = $('#edit-last');
    if (!button) return Promise.resolve();
    return getMeta('last-' + op).then(function (last) {
      if (!last || !last.card_html) return false;
      return get('outbox', last.client_id).then(function (row) { return !!row; });
    }).then(function (waiting) { button.hidden = !waiting; });
  }

  function setChoice(form, name, value) {
    var input = value == null ? null : $$('input[name="' + name + '"]', form).filter(function (i) {
      return i.value === String(value);
    })[0];
    if (input) input.checked = true;
  }

  function editLast() {
    return getMeta('last-' + op).then(function (last) {
      if (!last || !last.card_html) return;
      var entry = last.entry;
      $('#call').innerHTML = last.card_html;
      if (self.htmx) self.htmx.process($('#call'));
      var form = currentForm();
      prepareCard();
      form.dataset.clientId = entry.client_id;
      form.dataset.editing = '1';
      setChoice(form, 'group', entry.group);
      setChoice(form, 'disposition', entry.disposition);
      Object.keys(entry.answers || {}).forEach(function (q) {
        var text = $('textarea[name="q.' + q + '"]', form);
        if (text) text.value = entry.answers[q]; else setChoice(form, 'q.' + q, entry.answers[q]);
      });
      Object.keys(entry.field_updates || {}).forEach(function (key) {
        var input = $('[data-field="' + key + '"]', form);
        if (input) input.value = entry.field_updates[key];
      });
      var notes = $('[name="notes"]', form);
      if (notes) notes.value = entry.notes || '';
      var callback = $('[name="callback_local"]', form);
      if (callback && entry.callback_local) callback.value = entry.callback_local;
      guide(form);
      $('#edit-last').hidden = true;
      say(t('Editing'), 'info');
      focusCard();
    });
  }

  // Saving a changed result: if it still waits in the outbox it is replaced there; if it
  // was sent meanwhile, an edit goes out instead (the server allows ten minutes).
  function saveEdit(entry, cardHtml) {
    return get('outbox', entry.client_id).then(function (waiting) {
      if (waiting) {
        entry.queued_at = waiting.queued_at;
        entry.started_at = waiting.started_at;
        entry.ended_at = waiting.ended_at;
        return put('outbox', entry);
      }
      return put('outbox', {
        kind: 'edit', client_id: self.crypto.randomUUID(), result_client_id: entry.client_id,
        operation_id: entry.operation_id, disposition: entry.disposition, group: entry.group,
        answers: entry.answers, notes: entry.notes, callback_local: entry.callback_local,
        queued_at: new Date().toISOString()
      });
    }).then(function () { return rememberLast(entry, cardHtml); }).then(function () {
      say(t('Changed'), 'ok');
      showPending();
      requestBackgroundSync();
      sync().catch(function () {});
      return loadNextCard();
    });
  }

  function onSubmit(event) {
    var form = event.target;
    if (form.matches('.result-form')) {
      event.preventDefault();
      var entry = collect(form);
      if (!entry.disposition) { showMissing(form, chosenCode(form)); return; }
      showMissing(form, null);
      say('');
      var cardHtml = $('#call').innerHTML;
      if (form.dataset.editing) { saveEdit(entry, cardHtml); return; }
      put('outbox', entry).then(function () {
        return rememberLast(entry, cardHtml);
      }).then(function () { return afterQueued(entry.target_id); });
    } else if (form.matches('.skip-form')) {
      event.preventDefault();
      var reason = new FormData(form).get('reason') || 'other';
      var target = Number(form.dataset.target);
      var skip = { kind: 'skip', client_id: self.crypto.randomUUID(), operation_id: Number(op),
                   target_id: target, reason: reason, queued_at: new Date().toISOString() };
      put('outbox', skip).then(function () { return afterQueued(target); });
    } else if (form.matches('.bridge-form')) {
      event.preventDefault();
      bridge(form);
    } else if (form.matches('.take-batch')) {
      event.preventDefault();
      takeBatch(Number(new FormData(form).get('n')) || 20);
    } else if (form.matches('.return-batch')) {
      event.preventDefault();
      returnBatch();
    }
  }

  // Call through the campaign line without leaving the card. The call is placed by a job:
  // the answer may say "calling your phone…"; then ask how it went until it is known.
  function bridge(form) {
    var result = currentForm();
    if (result) result.dataset.startedAt = new Date().toISOString();
    fetch(form.action, { method: 'POST', body: new FormData(form), credentials: 'same-origin',
                         headers: { Accept: 'application/json' } })
      .then(function (r) { return r.json(); })
      .then(function (body) { bridgeSaid(body, 0); },
            function () { say(t('NeedNetwork'), 'error'); });
  }

  function bridgeSaid(body, polls) {
    say(body.message, body.ok ? (body.pending ? 'info' : 'ok') : 'error');
    if (!body.ok) {
      // Not placed: the card's own Call button dials from the volunteer's phone.
      var call = $('#call .call-button');
      if (call) call.focus();
      return;
    }
    if (body.pending && body.status_url && polls < 40) {
      var url = body.status_url;
      setTimeout(function () {
        fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
          .then(function (r) { return r.json(); })
          .then(function (next) { next.status_url = url; bridgeSaid(next, polls + 1); },
                function () { say(t('NeedNetwork'), 'error'); });
      }, 1500);
    }
  }

  function takeBatch(n) {
    say(t('Taking'));
    postJson(op, '/batch', { n: n }).then(function (body) {
      var rows = body.leases || [];
      if (!rows.length) { say(body.message || t('NoneToTake'), 'info'); return; }
      return Promise.all(rows.map(function (row, i) {
        row.operation_id = Number(op); row.position = i;
        return put('batch', row);
      })).then(function () {
        say(t(rows.length === 1 ? 'TakenOne' : 'Taken').replace('{n}', rows.length), 'ok');
        return showBatchCard();
      });
    }).catch(function (err) { say(err.message || t('Offline'), 'error'); });
  }

  function returnBatch() {
    sync().then(function () { return all('batch'); }).then(function (rows) {
      var ids = rows.filter(function (r) { return String(r.operation_id) === op; })
        .map(function (r) { return r.target_id; });
      return postJson(op, '/return', { target_ids: ids }).then(function () {
        return Promise.all(ids.map(function (id) { return del('batch', id); }));
      });
    }).then(function () {
      batchMode = false;
      $('#batch-bar').hidden = true;
      $('#offline-take').hidden = false;
      say(t('Returned'), 'ok');
      return loadOnlineCard();
    }).catch(function () { say(t('NeedNetwork'), 'error'); });
  }

  // An operation that now calls through the campaign line only: a batch taken before holds
  // numbers to dial by hand. The phone forgets it; the server gets the people back if it can,
  // but for the person on the card the server just gave (without a number).
  function dropBatch() {
    var open = currentForm(), onCard = open ? open.dataset.target : null;
    return all('batch').then(function (rows) {
      var ids = rows.filter(function (r) { return String(r.operation_id) === op; })
        .map(function (r) { return r.target_id; });
      if (!ids.length) return;
      var back = ids.filter(function (id) { return String(id) !== onCard; });
      if (back.length) postJson(op, '/return', { target_ids: back }).catch(function () {});
      return Promise.all(ids.map(function (id) { return del('batch', id); }));
    });
  }

  // Give back the people taken for offline calling (per operation), if the network allows.
  function returnBatches() {
    return all('batch').then(function (rows) {
      var byOp = {};
      rows.forEach(function (r) { (byOp[r.operation_id] = byOp[r.operation_id] || []).push(r.target_id); });
      return Promise.all(Object.keys(byOp).map(function (id) {
        return postJson(id, '/return', { target_ids: byOp[id] }).catch(function () {});
      }));
    });
  }

  // Signing out: send what waits first. Offline it cannot be done (the server must end the
  // session), so nothing is wiped and the volunteer is told to come back online. Results the
  // server cannot take are lost only after the volunteer says so. Then the batch goes back,
  // this browser forgets everything, and the form posts.
  function signOut(form) {
    var button = $('button', form), failed = null;
    if (button) button.disabled = true;
    var stay = function (text) {
      if (button) button.disabled = false;
      if (root) showPending();
      if (!text) return;
      if ($('#caller-status')) say(text, 'error'); else self.alert(text);
    };
    var leave = function () { form.dataset.wiped = '1'; form.submit(); };
    syncOutbox().catch(function (err) { failed = err; }).then(function () {
      return all('outbox');
    }).then(function (left) {
      if (!navigator.onLine || (left.length && failed && !failed.status)) {
        stay(form.dataset.offline);
        return;
      }
      var text = (left.length === 1 ? form.dataset.unsentOne : form.dataset.unsent) || '';
      if (left.length && !self.confirm(text.replace('{n}', left.length))) {
        stay();
        return;
      }
      return returnBatches().catch(function () {}).then(wipe).then(leave);
    }, function () { wipe().then(leave); });
  }

  function onSignOut(event) {
    var form = event.target;
    if (!form.matches('[data-wipe]') || form.dataset.wiped) return;
    event.preventDefault();
    signOut(form);
  }

  function onChange(event) {
    var form = event.target.form;
    if (form && form.matches('.result-form')) {
      guide(form);
      // A choice made after "what is missing" was shown: say it again only if still missing.
      if ($('.outcome', form).classList.contains('has-error') && event.target.matches('input[type="radio"]')) {
        var missing = chosenCode(form);
        showMissing(form, missing.code ? null : { missing: missing.missing });
      }
    }
  }

  function onClick(event) {
    if (event.target.closest('#edit-last')) { editLast(); return; }
    var call = event.target.closest('a.call-button');
    if (call) {
      var form = currentForm();
      if (form) form.dataset.startedAt = new Date().toISOString();
    }
  }

  function cacheShell() {
    if (!self.caches || !root.dataset.shell) return;
    self.caches.open(SHELL_CACHE).then(function (cache) {
      return cache.add(root.dataset.shell);
    }).catch(function () {});
    // What the service worker answers when it has no page to show, in the page's language.
    if (root.dataset.tSwOffline) {
      self.caches.open(WORDS_CACHE).then(function (cache) {
        return cache.put(OFFLINE_WORDS, new Response(root.dataset.tSwOffline, { headers: {
          'Content-Type': 'text/plain; charset=utf-8',
          'Content-Language': document.documentElement.lang || 'en'
        } }));
      }).catch(function () {});
    }
  }

  function start() {
    // Every caller page has the sign-out form, with or without the calling machinery.
    document.addEventListener('submit', onSignOut);
    // Changing the last result: its questions follow the outcome and the branches, as on
    // the card.
    var edit = $('form.edit-form');
    if (edit) {
      guide(edit);
      edit.addEventListener('change', function () { guide(edit); });
    }
    root = $('#caller');
    if (!root) return;
    op = root.dataset.op;
    cardUrl = root.dataset.card;
    // Under our strict CSP htmx must never copy a style attribute while settling a swap.
    if (self.htmx) self.htmx.config.attributesToSettle = ['class', 'width', 'height'];
    var token = $('meta[name="csrf-token"]');
    if (token && navigator.onLine) setMeta('csrf', token.content);
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(function () {});
    }
    cacheShell();
    document.addEventListener('submit', onSubmit);
    document.addEventListener('change', onChange);
    document.addEventListener('input', onChange);
    document.addEventListener('click', onClick);
    // A card htmx brought in ("Check again") is prepared like any other.
    document.addEventListener('htmx:afterSwap', function (event) {
      if (event.target.id === 'call') prepareCard();
    });
    self.addEventListener('online', function () {
      say('');
      retryDelay = 5000;
      sync().catch(function () {});
    });
    self.addEventListener('offline', function () { say(t('Offline'), 'info'); });
    if (!navigator.onLine) say(t('Offline'), 'info');
    $$('.js-only').forEach(function (el) { el.hidden = false; });
    (root.dataset.lineOnly ? dropBatch() : Promise.resolve()).then(showBatchCard).then(function (shown) {
      if (!shown && root.dataset.shellOnly) return loadOnlineCard();
      if (!shown) prepareCard();
    }).then(function () {
      showPending();
      return sync();
    }).catch(function () {});
    // A batch's lease ends by itself: check every minute and forget what expired.
    self.setInterval(function () { if (batchMode) showBatchCard(); }, 60000);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})(self);
