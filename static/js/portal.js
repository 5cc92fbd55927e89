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

// Finding help: "Use my location instead". The browser asks its permission; the position is
// rounded to about 1 km, sent with this search only (a ZIP code typed is cleared) and not saved.
(function () {
  "use strict";
  var form = document.querySelector("[data-resource-search]");
  if (!form || !("geolocation" in navigator)) { return; }
  var box = form.querySelector("[data-locate]");
  var button = form.querySelector("[data-locate-button]");
  var status = form.querySelector("[data-locate-status]");
  var lat = form.querySelector("[data-lat]");
  var lon = form.querySelector("[data-lon]");
  var zip = form.querySelector("input[name=zip]");
  if (!box || !button || !status || !lat || !lon) { return; }
  box.hidden = false;
  if (zip) {
    zip.addEventListener("input", function () { lat.value = ""; lon.value = ""; });
  }
  button.addEventListener("click", function () {
    status.textContent = box.getAttribute("data-finding") || "…";
    navigator.geolocation.getCurrentPosition(function (position) {
      lat.value = position.coords.latitude.toFixed(2);
      lon.value = position.coords.longitude.toFixed(2);
      if (zip) { zip.value = ""; }
      form.submit();
    }, function () {
      status.textContent = box.getAttribute("data-failed") || "";
    }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 });
  });
})();

// "Leave quickly": the session ends (a beacon, so leaving never waits for the answer) and an
// ordinary site takes this page's place in the history (Back does not return to it). Shift
// pressed three times does the same, as GOV.UK's "Exit this page". Without JavaScript the
// button posts the form, and the server ends the session and redirects.
(function () {
  "use strict";
  var form = document.querySelector("[data-quick-exit]");
  if (!form) { return; }
  var away = form.getAttribute("data-quick-exit");
  var gone = false;
  function leave(event) {
    if (event) { event.preventDefault(); }
    if (gone) { return; }
    gone = true;
    document.body.hidden = true;  // nothing left on screen while the next site loads
    try {
      if (!navigator.sendBeacon || !navigator.sendBeacon(form.action, new FormData(form))) {
        fetch(form.action, { method: "POST", body: new FormData(form), keepalive: true, credentials: "same-origin" });
      }
    } catch (e) { /* the session still ends when it times out; leaving comes first */ }
    window.location.replace(away);
  }
  form.addEventListener("submit", leave);
  // Shift alone, three times within a second, nothing else pressed between: typing capitals
  // ("SSI", "ID") never leaves the page.
  var presses = [];
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Shift" || event.repeat) { presses = []; return; }
    var now = Date.now();
    presses = presses.filter(function (t) { return now - t < 1000; });
    presses.push(now);
    if (presses.length >= 3) { leave(); }
  });
  // A page brought back from the browser's back/forward cache is asked for again: with the
  // session gone, the server answers with the sign-in page, never the page as it was.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { window.location.reload(); }
  });
})();

// A search's answer: the page opens at its results ("#results", without JavaScript too); the
// heading takes the focus, so a screen reader reads how many places were found first.
(function () {
  "use strict";
  if (window.location.hash !== "#results") { return; }
  var heading = document.getElementById("results");
  if (heading) { heading.focus(); }
})();

// Uploads: a progress bar while the file goes up (phones on slow data). Without JavaScript,
// or where XMLHttpRequest upload events are missing, the form posts as usual.
// - Sent: the page the server answered (its "Sent" notice, the list) takes this page's place.
// - Refused (4xx/5xx): the answer's errors take this page's place, and the file the person
//   chose stays chosen (the same input element moves into the new form).
// - Too large, or the connection breaks: a message, the form as it was, nothing re-sent.
(function () {
  "use strict";
  function show(form, selector, on) {
    var element = form.querySelector(selector);
    if (element) element.hidden = !on;
    return element;
  }
  function bind(form) {
    var box = form.querySelector("[data-upload-progress]");
    var bar = box && box.querySelector("progress");
    var input = form.querySelector("input[type=file]");
    if (!bar || !input || !window.FormData || !window.DOMParser) return;
    if (!("upload" in new XMLHttpRequest())) return;
    form.addEventListener("submit", function (event) {
      var button = form.querySelector("button[type=submit]");
      var limit = parseInt(form.getAttribute("data-max-bytes") || "0", 10);
      show(form, "[data-upload-failed]", false);
      var file = input.files && input.files[0];
      if (file && limit && file.size > limit) {
        event.preventDefault();
        show(form, "[data-upload-too-large]", true).focus();
        return;
      }
      show(form, "[data-upload-too-large]", false);
      event.preventDefault();
      var target = form.action || window.location.href;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", target);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
      });
      function broken() {
        box.hidden = true;
        if (button) button.disabled = false;
        var note = show(form, "[data-upload-failed]", true);
        if (note) note.focus();
      }
      xhr.addEventListener("error", broken);
      xhr.addEventListener("abort", broken);
      xhr.addEventListener("timeout", broken);
      xhr.addEventListener("load", function () {
        var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var main = page.querySelector("main");
        if (!main) {
          broken();
          return;
        }
        var sent = xhr.status >= 200 && xhr.status < 300;
        if (!sent) {
          var fresh = main.querySelector("form[data-upload] input[type=file]");
          if (fresh) {
            // Keep the person's choice, and what the server said about it.
            input.setAttribute("aria-describedby", fresh.getAttribute("aria-describedby") || "");
            if (fresh.hasAttribute("aria-invalid")) input.setAttribute("aria-invalid", "true");
            fresh.replaceWith(input);
          }
        }
        document.querySelector("main").replaceWith(main);
        document.title = page.title;
        if (sent && xhr.responseURL && window.history.replaceState) {
          window.history.replaceState(null, "", xhr.responseURL);
        }
        var focus = main.querySelector("[data-error-summary]") || main.querySelector(".notice") || main;
        if (!focus.hasAttribute("tabindex")) focus.setAttribute("tabindex", "-1");
        focus.focus();
        main.querySelectorAll("form[data-upload]").forEach(bind);
      });
      box.hidden = false;
      bar.value = 0;
      if (button) button.disabled = true;
      xhr.send(new FormData(form));
    });
  }
  document.querySelectorAll("form[data-upload]").forEach(bind);
})();

// Signing: draw a signature with a finger (optional; the typed name alone is the signature
// without JavaScript). The drawing goes into a hidden field as SVG path data.
(function () {
  "use strict";
  document.querySelectorAll("form[data-sign]").forEach(function (form) {
    var pad = form.querySelector("[data-signature-pad]");
    var canvas = pad && pad.querySelector("canvas");
    var field = form.querySelector("input[name=drawn]");
    if (!canvas || !field || !canvas.getContext) return;
    pad.hidden = false;
    var ctx = canvas.getContext("2d");
    ctx.lineWidth = 3;
    ctx.lineCap = "round";
    var path = [];
    var drawing = false;
    function point(event) {
      var box = canvas.getBoundingClientRect();
      var x = Math.round(((event.clientX - box.left) / box.width) * canvas.width);
      var y = Math.round(((event.clientY - box.top) / box.height) * canvas.height);
      return [x, y];
    }
    canvas.addEventListener("pointerdown", function (event) {
      drawing = true;
      canvas.setPointerCapture(event.pointerId);
      var p = point(event);
      path.push("M" + p[0] + " " + p[1]);
      ctx.beginPath();
      ctx.moveTo(p[0], p[1]);
      event.preventDefault();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) return;
      var p = point(event);
      path.push("L" + p[0] + " " + p[1]);
      ctx.lineTo(p[0], p[1]);
      ctx.stroke();
      event.preventDefault();
    });
    function stop() {
      drawing = false;
      field.value = path.join(" ").slice(0, 20000);
    }
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    pad.querySelector("[data-clear]").addEventListener("click", function () {
      path = [];
      field.value = "";
      ctx.clearRect(0, 0, canvas.width, canvas.height);
    });
  });
})();

// Passkeys (WebAuthn): a button carries the options the server made; the browser asks the
// device (its screen lock), and its signed answer goes back in the form's hidden field. Without
// JavaScript or WebAuthn the button stays hidden: the authenticator app works everywhere.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) return;
  function toBytes(text) {
    var plain = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var bytes = new Uint8Array(plain.length);
    for (var i = 0; i < plain.length; i++) bytes[i] = plain.charCodeAt(i);
    return bytes.buffer;
  }
  function toText(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer), plain = "";
    for (var i = 0; i < bytes.length; i++) plain += String.fromCharCode(bytes[i]);
    return btoa(plain).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function creation(o) {
    o.challenge = toBytes(o.challenge);
    o.user.id = toBytes(o.user.id);
    (o.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return o;
  }
  function request(o) {
    o.challenge = toBytes(o.challenge);
    (o.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return o;
  }
  function answer(credential) {
    var r = credential.response, out = {
      id: credential.id, rawId: toText(credential.rawId), type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toText(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toText(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toText(r.authenticatorData);
      out.response.signature = toText(r.signature);
      out.response.userHandle = toText(r.userHandle);
    }
    return JSON.stringify(out);
  }
  document.querySelectorAll("[data-passkey]").forEach(function (button) {
    var form = button.form;
    var field = form.querySelector("[data-passkey-answer]");
    var problem = form.querySelector("[data-passkey-error]");
    var creating = button.getAttribute("data-passkey") === "create";
    button.hidden = false;
    button.addEventListener("click", function () {
      var options = JSON.parse(button.getAttribute("data-passkey-options"));
      var asked = creating
        ? navigator.credentials.create({ publicKey: creation(options) })
        : navigator.credentials.get({ publicKey: request(options) });
      button.disabled = true;
      asked.then(function (credential) {
        field.value = answer(credential);
        if (button.hasAttribute("data-passkey-done")) {
          // Part of a bigger form (re-authentication): the person presses its own button.
          button.textContent = button.getAttribute("data-passkey-done");
          if (problem) { problem.hidden = true; }
        } else {
          form.submit();
        }
      }).catch(function () {
        button.disabled = false;
        if (problem) { problem.textContent = problem.getAttribute("data-message"); problem.hidden = false; }
      });
    });
  });
})();
