// Renders the OpenAPI document named by <main id="reference" data-openapi-url> with Swagger UI.
// A file, not an inline script: the page is served under a CSP without 'unsafe-inline'.
(function () {
  "use strict";
  const root = document.getElementById("reference");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    domNode: root,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null, // never ask validator.swagger.io: the page makes no outside request
    defaultModelsExpandDepth: 0,
  });
})();
