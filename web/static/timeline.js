// Moving the year slider sets `as_of` to that year and redraws the page.
(function () {
  var slider = document.getElementById("as_of_year");
  var field = document.getElementById("as_of");
  var form = document.getElementById("controls");
  if (!slider || !field || !form) return;
  slider.addEventListener("change", function () {
    field.value = slider.value;
    form.submit();
  });
})();
