// Applies the stored theme before first paint. Kept tiny and synchronous on purpose.
(function () {
  try {
    var t = window.localStorage.getItem("aion-theme");
    if (t === "light" || t === "dark") document.documentElement.setAttribute("data-theme", t);
  } catch (e) {
    /* storage blocked: fall back to the system theme */
  }
})();
