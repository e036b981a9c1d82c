/* "Add someone": where the browser has the Contact Picker API (Chrome on Android), a button
 * fills the typed name and number from the phone's contacts. Without it the page works as is
 * (a .vcf file or typed fields). No inline code (strict CSP). */
(function () {
  'use strict';
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
