/* "Add someone": a card shared from the phone's share sheet (kept by the service worker, sw.js)
 * is put in the form's file input; where the browser has the Contact Picker API (Chrome on
 * Android), a button fills the typed name and number from the phone's contacts. Without either
 * the page works as is (a .vcf file or typed fields). No inline code (strict CSP). */
(function () {
  'use strict';
  var SHARED_CACHE = 'ringround-shared', SHARED_CARD = '/call/shared-card';

  function takeSharedCard() {
    var input = document.getElementById('card');
    var note = document.getElementById('shared-card');
    if (!input || !note || !('caches' in window) || typeof DataTransfer === 'undefined') return;
    caches.has(SHARED_CACHE).then(function (exists) {
      if (!exists) return null;
      return caches.open(SHARED_CACHE).then(function (cache) {
        return cache.match(SHARED_CARD).then(function (hit) {
          if (!hit) return null;
          return hit.blob().then(function (blob) {
            var name = decodeURIComponent(hit.headers.get('X-Filename') || 'contact.vcf');
            var files = new DataTransfer();
            files.items.add(new File([blob], name, { type: blob.type || 'text/vcard' }));
            input.files = files.files;
            note.hidden = false;
            return cache.delete(SHARED_CARD);  // in the form now: not kept on the phone
          });
        });
      });
    }).catch(function () { /* nothing shared, or no cache storage: the form as it is */ });
  }
  takeSharedCard();

  var button = document.getElementById('pick-contact');
  if (!button || !('contacts' in navigator) || typeof navigator.contacts.select !== 'function') {
    return;
  }
  button.hidden = false;
  function set(id, value) {
    var input = document.getElementById(id);
    if (input) input.value = value || '';
  }
  button.addEventListener('click', function () {
    navigator.contacts.select(['name', 'tel'], { multiple: false }).then(function (people) {
      if (!people || !people.length) return;
      var person = people[0];
      var words = ((person.name && person.name[0]) || '').trim().split(/\s+/);
      set('first_name', words.shift());
      set('last_name', words.join(' '));
      set('phone', person.tel && person.tel[0]);
      var purpose = document.getElementById('purpose');
      if (purpose) purpose.focus();
    }).catch(function () { /* the person closed the picker: nothing to do */ });
  });
})();
