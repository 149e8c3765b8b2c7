// Starts Swagger UI on /api/docs. A separate file, not an inline script, so the page's
// Content-Security-Policy can forbid inline scripts.
"use strict";

window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    // The default sends the document to an online validator: this page works offline.
    validatorUrl: null,
    // The token pasted into "Authorize" stays in memory, never in localStorage.
    persistAuthorization: false,
    displayRequestDuration: true,
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "BaseLayout",
  });
});
