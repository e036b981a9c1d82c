/* Ringround service worker, served at /sw.js (root scope).
 *
 * Keeps the caller app's shell (pages under /call/<id>/shell, htmx, CSS, JS, icons) so the app
 * opens with no network after one visit. Never caches API answers or a contact's card: those
 * live only in IndexedDB (the offline batch), which the page wipes on sign-out, on returning
 * the batch and when a lease ends. The server fills in VERSION from the assets' contents.
 */
/* global RingroundCaller */
'use strict';
importScripts('/static/js/caller.js');

var VERSION = '__VERSION__';
var STATIC_CACHE = 'ringround-static-' + VERSION;
var SHELL_CACHE = 'ringround-shell';
var PRECACHE = [
  '/vendor/htmx.min.js', '/static/css/app.css', '/static/css/caller.css',
  '/static/js/caller.js', '/static/manifest.webmanifest', '/static/icons/icon.svg',
  '/static/icons/icon-192.png', '/static/icons/icon-512.png'
];
var CALLER_PAGE = /^\/call\/(\d+)(\/shell)?\/?$/;

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(STATIC_CACHE).then(function (cache) {
    return cache.addAll(PRECACHE);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) {
      return key.indexOf('ringround-static-') === 0 && key !== STATIC_CACHE;
    }).map(function (key) { return caches.delete(key); }));
  }).then(function () { return self.clients.claim(); }));
});

function fromStaticCache(request) {
  return caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(request, { ignoreSearch: true }).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        if (response.ok) cache.put(request, response.clone());
        return response;
      });
    });
  });
}

// Network first; offline, the operation's cached shell (no personal data in it).
function callerPage(request, opId) {
  return fetch(request).catch(function () {
    return caches.open(SHELL_CACHE).then(function (cache) {
      var shell = '/call/' + opId + '/shell';
      return cache.match(shell).then(function (hit) {
        return hit || cache.keys().then(function (keys) {
          return keys.length ? cache.match(keys[0]) : offlineAnswer();
        });
      });
    });
  });
}

// The caller page leaves this sentence in its own language (caller.js, cacheShell); English
// only before any caller page was ever opened.
var WORDS_CACHE = 'ringround-words';
var OFFLINE_WORDS = '/call/offline-words';

function offlineAnswer() {
  return caches.open(WORDS_CACHE).then(function (cache) {
    return cache.match(OFFLINE_WORDS);
  }).then(function (words) {
    if (words) {
      return words.text().then(function (text) {
        return new Response(text, { status: 503, headers: {
          'Content-Type': 'text/plain; charset=utf-8',
          'Content-Language': words.headers.get('Content-Language') || 'en'
        } });
      });
    }
    return new Response('You are offline. Open Ringround once with a connection to use it ' +
      'offline.', { status: 503, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
  });
}

self.addEventListener('fetch', function (event) {
  var request = event.request;
  if (request.method !== 'GET') return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.indexOf('/api/') === 0) return;
  if (PRECACHE.indexOf(url.pathname) >= 0) {
    event.respondWith(fromStaticCache(request));
    return;
  }
  if (request.mode === 'navigate') {
    var page = CALLER_PAGE.exec(url.pathname);
    if (page) event.respondWith(callerPage(request, page[1]));
    else if (url.pathname === '/call/' || url.pathname === '/call') {
      event.respondWith(callerPage(request, ''));
    }
  }
});

// Background Sync: the browser wakes us when the network is back, even with the tab closed.
self.addEventListener('sync', function (event) {
  if (event.tag === 'outbox') event.waitUntil(RingroundCaller.syncOutbox());
});

// A contact card shared from the phone's share sheet (the manifest's share_target) arrives as
// a POST without a CSRF token: it never reaches the server. The card waits in this cache
// (wiped on sign-out with every ringround-* cache) until "Add someone" puts it in its form
// (share_contact.js), where the volunteer still gives the consent and sends it themselves.
var SHARED_CACHE = 'ringround-shared';
var SHARED_CARD = '/call/shared-card';

function keepSharedCard(request) {
  return request.formData().then(function (form) {
    var card = form.get('card');
    if (!card || typeof card === 'string') return null;
    return caches.open(SHARED_CACHE).then(function (cache) {
      return cache.put(SHARED_CARD, new Response(card, { headers: {
        'Content-Type': card.type || 'text/vcard',
        'X-Filename': encodeURIComponent(card.name || 'contact.vcf')
      } }));
    });
  }).catch(function () { return null; }).then(function () {
    return Response.redirect('/call/share', 303);
  });
}

self.addEventListener('fetch', function (event) {
  var url = new URL(event.request.url);
  if (event.request.method === 'POST' && url.origin === self.location.origin &&
      url.pathname === '/call/share-target') {
    event.respondWith(keepSharedCard(event.request));
  }
});
