// Card entry with Stripe.js: the card number goes to Stripe, our server gets a token.
// The server decides whether the order is paid by asking Stripe itself.
(function () {
  "use strict";
  var cardForm = document.getElementById("card-form");
  if (typeof window.Stripe !== "function") {
    // Stripe.js did not load (the card service out of reach): say so where the card would be.
    if (cardForm) {
      document.getElementById("card-errors").textContent = cardForm.getAttribute("data-unreadable");
    }
    return;
  }

  if (cardForm) {
    var stripe = window.Stripe(cardForm.getAttribute("data-stripe-key"));
    var card = stripe.elements().create("card");
    card.mount("#card-element");
    var errors = document.getElementById("card-errors");
    var submitting = false;
    cardForm.addEventListener("submit", function (event) {
      if (cardForm.elements.token.value) { return; }  // the token is in: let the form go
      event.preventDefault();
      if (submitting) { return; }
      submitting = true;
      errors.textContent = "";
      stripe.createToken(card).then(function (result) {
        if (result.error || !result.token) {
          errors.textContent = (result.error && result.error.message) || cardForm.getAttribute("data-unreadable");
          submitting = false;
          cardForm.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
          return;
        }
        cardForm.elements.token.value = result.token.id;
        cardForm.submit();
      });
    });
  }

  var authForm = document.getElementById("authenticate-form");
  if (authForm) {
    var stripeAuth = window.Stripe(authForm.getAttribute("data-stripe-key"));
    stripeAuth.confirmCardPayment(authForm.getAttribute("data-client-secret")).then(function () {
      // Success or not, the server asks Stripe what happened.
      authForm.submit();
    });
  }
})();
