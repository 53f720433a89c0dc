// Starts Swagger UI on Veedor's own OpenAPI document. Every asset is served by Veedor, so
// the page works without internet access. Cookie-authenticated writes carry the session's
// CSRF token, fetched from /api/v1/me when the browser is logged in.
(function () {
  var csrf = null;
  fetch("/api/v1/me", { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (me) { csrf = me && me.csrf_token; })
    .catch(function () {});
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor: function (req) {
      if (csrf && req.method && req.method.toUpperCase() !== "GET") {
        req.headers["X-CSRF-Token"] = csrf;
      }
      return req;
    }
  });
})();
