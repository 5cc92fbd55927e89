// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Move focus to the error summary so screen readers announce it.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }

  // Printed sheets: a print button (without JavaScript, the browser's own Print works).
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  // Show / hide password toggles (the button stays hidden without JavaScript).
  document.querySelectorAll("[data-toggle-password]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-toggle-password"));
    if (!input) { return; }
    button.hidden = false;
    button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", function () {
      var show = input.type === "password";
      input.type = show ? "text" : "password";
      button.textContent = show ? button.getAttribute("data-hide") : button.getAttribute("data-show");
      button.setAttribute("aria-pressed", show ? "true" : "false");
    });
  });
})();

// Idle timeout warning (R24): two minutes before the server would end the session, offer
// "Stay signed in". Without JavaScript the server's timeout simply applies.
(function () {
  "use strict";
  var idle = parseInt(document.body.getAttribute("data-idle-seconds") || "0", 10);
  var dialog = document.getElementById("timeout-warning");
  if (!idle || !dialog) { return; }
  var warnBefore = Math.min(120, Math.floor(idle / 2));
  var button = dialog.querySelector("[data-stay-signed-in]");
  var token = document.querySelector("input[name=csrf_token]");
  var warnTimer, endTimer;

  function schedule() {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    warnTimer = setTimeout(function () {
      dialog.hidden = false;
      button.focus();
    }, (idle - warnBefore) * 1000);
    endTimer = setTimeout(function () { window.location.reload(); }, idle * 1000 + 1000);
  }

  button.addEventListener("click", function () {
    var body = new FormData();
    if (token) { body.append("csrf_token", token.value); }
    fetch(dialog.getAttribute("data-keep-alive"), { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { window.location.reload(); return; }
        dialog.hidden = true;
        schedule();
      })
      .catch(function () { window.location.reload(); });
  });
  schedule();
})();

// "Also share my phone's location": asked only after the person ticks the box; the browser
// asks its own permission; coordinates are rounded here and again on the server (~100 m).
(function () {
  "use strict";
  var box = document.querySelector("[data-geolocation]");
  if (!box || !("geolocation" in navigator)) { return; }
  var tick = box.querySelector("input[type=checkbox]");
  var status = document.getElementById("geolocation-status");
  var lat = document.querySelector("input[name=latitude]");
  var lon = document.querySelector("input[name=longitude]");
  if (!tick || !status || !lat || !lon) { return; }
  box.hidden = false;
  tick.addEventListener("change", function () {
    lat.value = "";
    lon.value = "";
    if (!tick.checked) { status.textContent = ""; return; }
    status.textContent = box.getAttribute("data-finding");
    navigator.geolocation.getCurrentPosition(function (position) {
      lat.value = position.coords.latitude.toFixed(3);
      lon.value = position.coords.longitude.toFixed(3);
      status.textContent = box.getAttribute("data-found");
    }, function () {
      tick.checked = false;
      status.textContent = box.getAttribute("data-failed");
    }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 });
  });
})();

// Uploads: a progress bar while the file goes up (phones on slow data). Without JavaScript,
// or where XMLHttpRequest upload events are missing, the form posts as usual.
(function () {
  "use strict";
  function bind(form) {
    var box = form.querySelector("[data-upload-progress]");
    var bar = box && box.querySelector("progress");
    if (!bar || !window.FormData || !("upload" in new XMLHttpRequest())) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
      });
      xhr.addEventListener("load", function () {
        var landed = xhr.responseURL || "";
        if (xhr.status === 200 && landed && landed.split("#")[0] !== (form.action || window.location.href).split("#")[0]) {
          window.location.assign(landed); // sent: the redirect's page (with its message)
          return;
        }
        // Refused (or an error page): show what the server said in place of this page.
        var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var main = page.querySelector("main");
        if (main) {
          document.querySelector("main").replaceWith(main);
          document.title = page.title;
          var summary = main.querySelector("[data-error-summary]");
          if (summary) summary.focus();
          main.querySelectorAll("form[data-upload]").forEach(bind);
        } else {
          form.submit();
        }
      });
      xhr.addEventListener("error", function () {
        box.hidden = true;
        if (button) button.disabled = false;
        form.submit(); // the network failed: let the browser try the plain way
      });
      box.hidden = false;
      bar.value = 0;
      if (button) button.disabled = true;
      xhr.send(new FormData(form));
    });
  }
  document.querySelectorAll("form[data-upload]").forEach(bind);
})();
