// Progressive enhancement only: the page works without this file.
// Shows the chosen reason's follow-up question as the text box's label.
(function () {
  var label = document.getElementById("text-label");
  if (!label) return;
  var fallback = label.textContent;
  function update(input) {
    var prompt = input && input.getAttribute("data-follow-up");
    label.textContent = prompt ? prompt : fallback;
  }
  var radios = document.querySelectorAll('input[name="reason"]');
  radios.forEach(function (radio) {
    radio.addEventListener("change", function () { update(radio); });
    if (radio.checked) update(radio);
  });
})();
