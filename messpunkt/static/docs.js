// Start Swagger UI on the sandbox's own OpenAPI document (an external file, for the CSP).
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    validatorUrl: null,
    // The popup returns to this origin, where the page that opened it can read the code.
    oauth2RedirectUrl: new URL(root.dataset.oauth2RedirectPath, window.location.href).href,
  });
  // A public client: authorization code with PKCE (S256), no secret.
  window.ui.initOAuth({
    clientId: root.dataset.clientId,
    usePkceWithAuthorizationCodeGrant: true,
    scopes: root.dataset.scopes,
  });
});
