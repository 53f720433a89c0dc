// Starts Swagger UI on Veedor's own OpenAPI document. Every asset is served by Veedor, so
// the page works without internet access. Cookie-authenticated writes carry the session's
// CSRF token, read from /api/v1/me just before the first write (so logging in through the
// page itself works without a reload).
(function () {
  function csrfToken() {
    return fetch("/api/v1/me", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (me) { return me && me.csrf_token; })
      .catch(function () { return null; });
  }
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor: function (req) {
      var method = (req.method || "GET").toUpperCase();
      if (method === "GET" || method === "HEAD" || req.headers["Authorization"]) {
        return req;
      }
      return csrfToken().then(function (token) {
        if (token) { req.headers["X-CSRF-Token"] = token; }
        return req;
      });
    }
  });
})();
