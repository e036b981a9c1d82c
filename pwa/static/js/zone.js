// Preselect the browser's time zone, and its country, in fields marked data-guess="zone"
// (first-run set-up). Only on a fresh form: a re-shown form keeps what the person chose.
(function () {
  "use strict";
  var zoneSelect = document.querySelector('select[name="time_zone"][data-guess="zone"]');
  if (!zoneSelect) { return; }
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  var option = zone && Array.prototype.find.call(zoneSelect.options, function (o) {
    return o.value === zone;
  });
  if (!option) { return; }
  zoneSelect.value = zone;
  var country = option.getAttribute("data-country");
  var countrySelect = document.querySelector('select[name="country"][data-guess="zone"]');
  if (country && countrySelect && Array.prototype.some.call(countrySelect.options, function (o) {
    return o.value === country;
  })) {
    countrySelect.value = country;
  }
})();
