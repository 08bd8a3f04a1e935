// The demo host page: what a host's own page does with the widget. Its server
// signs the customer's session (here /demo/identity), the page opens the modal.
(function () {
  "use strict";
  var form = document.getElementById("demo-cancel");
  var status = document.getElementById("demo-outcome");
  if (!form || !window.Cancelflow) return;
  function say(text) { status.textContent = text; }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    fetch(form.getAttribute("data-identity"), { method: "POST", body: new FormData(form) })
      .then(function (response) { return response.json(); })
      .then(function (signed) {
        window.Cancelflow.open({ signed: signed }, {
          onSaved: function (offer, terms) { say("Saved by the offer " + offer.name + ": " + JSON.stringify(terms)); },
          onCancelled: function () { say("The customer cancelled."); },
          onKept: function () { say("The customer kept the subscription."); },
          onClose: function () { say(status.textContent || "The customer closed the dialog."); },
          onError: function (error) { say("The widget could not open: " + error.message); }
        });
      });
  });
})();
